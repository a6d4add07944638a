"""Section 3 of gan_helpers: the DCGAN models, latent vectors and sampling."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import gan_helpers as gh


@pytest.fixture(scope="module")
def generator():
    keras.utils.set_random_seed(7)
    return gh.build_generator()


@pytest.fixture(scope="module")
def discriminator():
    keras.utils.set_random_seed(8)
    return gh.build_discriminator()


def test_generator_output_shape_and_tanh_range(generator):
    z = np.random.default_rng(0).standard_normal((5, gh.LATENT_DIM)).astype(np.float32) * 30
    images = generator(z, training=False).numpy()
    assert images.shape == (5, 28, 28, 1)
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert images.std() > 0.01  # not a constant picture
    assert not np.array_equal(images[0], images[1])  # different z, different image


def test_generate_matches_one_call_and_batches(generator):
    z = gh.latent_vectors(10, seed=3)
    whole = gh.generate(generator, z)
    pieces = gh.generate(generator, z, batch_size=4)  # batches of 4, 4, 2
    assert whole.shape == pieces.shape == (10, 28, 28, 1)
    np.testing.assert_allclose(pieces, whole, atol=1e-5)
    np.testing.assert_allclose(whole, generator(z, training=False).numpy(), atol=1e-5)


def test_discriminator_gives_one_logit_per_image(discriminator):
    images = gh.to_float(np.random.default_rng(0).integers(0, 256, (6, 28, 28), dtype=np.uint8))
    logits = discriminator(images, training=False).numpy()
    assert logits.shape == (6, 1)
    assert np.isfinite(logits).all()
    assert discriminator.input_shape == (None, 28, 28, 1)


@pytest.mark.parametrize("latent_dim", [2, 16])
def test_other_latent_dims(latent_dim):
    g = gh.build_generator(latent_dim)
    assert gh.latent_dim_of(g) == latent_dim
    assert gh.latent_vectors(3, latent_dim).shape == (3, latent_dim)
    digits = gh.sample_digits(g, 3, seed=1)
    assert digits.shape == (3, 28, 28) and digits.dtype == np.uint8
    with pytest.raises(ValueError, match=f"z must have shape \\(n, {latent_dim}\\)"):
        gh.generate(g, np.zeros((3, gh.LATENT_DIM), np.float32))


def test_latent_vectors_are_seeded_numpy_normals():
    z = gh.latent_vectors(4, 5, seed=9)
    assert z.dtype == np.float32
    expected = np.random.default_rng(9).standard_normal((4, 5)).astype(np.float32)
    assert np.array_equal(z, expected)  # the documented recipe: same on every machine
    assert not np.array_equal(z, gh.latent_vectors(4, 5, seed=10))


def test_sample_digits_uint8_and_seeded(generator):
    a = gh.sample_digits(generator, 6, seed=0)
    assert a.shape == (6, 28, 28) and a.dtype == np.uint8
    assert np.array_equal(a, gh.sample_digits(generator, 6, seed=0))
    assert not np.array_equal(a, gh.sample_digits(generator, 6, seed=1))
    assert len(np.unique(a)) > 10  # real pictures, not one grey level


def test_sample_digits_n_not_a_multiple_of_the_batch(generator, monkeypatch):
    reference = gh.sample_digits(generator, 10, seed=4)
    seen = []
    real_generate = gh.generate

    def small_batches(g, z, batch_size=1_000):
        seen.append(len(z))
        out = real_generate(g, z, batch_size=4)
        return out

    monkeypatch.setattr(gh, "generate", small_batches)
    batched = gh.sample_digits(generator, 10, seed=4)
    assert seen == [10]
    assert batched.shape == (10, 28, 28)
    # Batch sizes may change float rounding in the last bit; at most one grey level apart.
    assert np.abs(batched.astype(int) - reference.astype(int)).max() <= 1


@pytest.mark.parametrize("n, error", [(0, ValueError), (-1, ValueError), (2.5, TypeError),
                                      ("3", TypeError), (True, TypeError)])
def test_sample_digits_bad_n(generator, n, error):
    with pytest.raises(error, match=r"\bn\b"):
        gh.sample_digits(generator, n)


def test_sample_digits_bad_seed(generator):
    with pytest.raises(ValueError, match="seed"):
        gh.sample_digits(generator, 2, seed=-1)


def test_not_a_model_is_refused():
    for bad in (None, "generator", np.zeros((3, 100))):
        with pytest.raises(TypeError, match="generator"):
            gh.sample_digits(bad, 2)
        with pytest.raises(TypeError, match="generator"):
            gh.generate(bad, np.zeros((2, 100), np.float32))


def test_generator_of_wrong_output_shape_is_refused():
    wrong = keras.Sequential([keras.Input(shape=(100,)), keras.layers.Dense(10)])
    with pytest.raises(ValueError, match="generator") as info:
        gh.sample_digits(wrong, 2)
    assert "(None, 10)" in str(info.value)
    image_to_image = keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Identity()])
    with pytest.raises(ValueError, match="generator"):
        gh.latent_dim_of(image_to_image)


@pytest.mark.parametrize("shape", [(3, 99), (3, 101), (100,), (3, 100, 1)])
def test_generate_refuses_z_of_wrong_shape(generator, shape):
    with pytest.raises(ValueError, match=r"^z must have shape \(n, 100\)"):
        gh.generate(generator, np.zeros(shape, np.float32))


def test_build_generator_bad_latent_dim():
    with pytest.raises(ValueError, match="latent_dim"):
        gh.build_generator(0)
    with pytest.raises(TypeError, match="latent_dim"):
        gh.build_generator(10.0)


# --- Same seed, same digits: across processes ---------------------------------------

SAMPLE = """
import hashlib, sys, keras, gan_helpers as gh
g = keras.models.load_model(sys.argv[1])
for seed in (0, 1):
    print(seed, hashlib.sha256(gh.sample_digits(g, 8, seed=seed).tobytes()).hexdigest())
"""


def _hashes(stdout: str) -> dict[str, str]:
    return dict(line.split() for line in stdout.splitlines() if line[:2] in ("0 ", "1 "))


def test_sample_digits_identical_across_processes(tmp_path):
    """A generator built and saved in this process samples the same bytes in a fresh interpreter, and here."""
    model = tmp_path / "generator.keras"
    keras.utils.set_random_seed(123)
    gh.build_generator().save(model)
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(SAMPLE), str(model)], capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=150)
    assert done.returncode == 0, done.stderr[-3000:]
    there = _hashes(done.stdout)
    assert set(there) == {"0", "1"} and there["0"] != there["1"]
    here = keras.models.load_model(model)
    assert {str(s): hashlib.sha256(gh.sample_digits(here, 8, seed=s).tobytes()).hexdigest() for s in (0, 1)} == there
