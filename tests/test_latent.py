"""The pretrained generator and the latent-space tools of 07_latent_explorer (gan_extras/latent.py), run headless."""

from __future__ import annotations

import json
import shutil

import imageio.v3 as iio
import numpy as np
import pytest

import gan_helpers as gh
from gan_extras import evaluation as ev
from gan_extras import latent as lat


@pytest.fixture(scope="module")
def generator():
    return gh.load_pretrained_generator()


@pytest.fixture(scope="module")
def directions(generator):
    return lat.explorer_directions(generator, n=512, seed=0)


# --- the pretrained generator ---------------------------------------------------------------

def test_pretrained_generator_loads_with_its_record(generator):
    assert gh.latent_dim_of(generator) == gh.LATENT_DIM
    record = json.loads(gh.PRETRAINED_GENERATOR_PATH.with_suffix(".json").read_text())
    assert record["evaluation"]["generator"]["n"] == 10_000
    assert record["settings"]["latent_dim"] == gh.LATENT_DIM and record["epochs"] >= 1
    for key in ("train_seconds", "machine", "images_per_epoch", "trained_with", "frechet_by_epoch", "history"):
        assert record[key], key
    progress = gh.gif_info(gh.PRETRAINED_GENERATOR_PATH.with_name("dcgan_generator_progress.gif"))
    assert progress["frames"] == record["epochs"] + 1 and progress["loop"] == 0


def test_pretrained_generator_draws_every_digit_fairly(generator):
    """The kit's promise: a digit in nearly every sample, all ten present in fair shares."""
    digits = gh.sample_digits(generator, 2_000, seed=5)
    probs = ev.classifier_probabilities(digits)
    assert np.mean(probs.max(1) > 0.5) > 0.9, "most samples must be read confidently as some digit"
    shares = np.bincount(probs.argmax(1), minlength=10) / len(digits)
    assert shares.min() > 0.04 and shares.max() < 0.2, shares


def test_trained_generator_prefers_a_full_run_in_outputs(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_OUTPUTS", str(tmp_path))
    _, which = gh.trained_generator()
    assert "pretrained" in which
    x = np.random.default_rng(0).integers(0, 256, (256, 28, 28), dtype=np.uint8)
    gh.train(tmp_path / "dcgan", epochs=1, x_train=x, verbose=0)  # a "full-mode" run folder, written directly
    mine, which = gh.trained_generator()
    assert "your generator" in which and "epoch 1" in which
    assert gh.latent_dim_of(mine) == gh.LATENT_DIM
    _, which = gh.trained_generator("pretrained")
    assert "pretrained" in which


def test_trained_generator_never_uses_a_quick_run(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_OUTPUTS", str(tmp_path))
    x = np.random.default_rng(0).integers(0, 256, (256, 28, 28), dtype=np.uint8)
    gh.train(gh.output_dir("dcgan"), epochs=1, x_train=x, verbose=0)  # quick mode: outputs/quick/dcgan
    assert "pretrained" in gh.trained_generator()[1]
    with pytest.raises(FileNotFoundError, match="source='yours'"):
        gh.trained_generator("yours")
    with pytest.raises(ValueError, match="source must be"):
        gh.trained_generator("mine")


def test_export_round_trip(tmp_path):
    from gan_extras import runs  # exporting is the run folders' code

    x = np.random.default_rng(1).integers(0, 256, (256, 28, 28), dtype=np.uint8)
    run = gh.train(tmp_path / "run", epochs=2, checkpoint_every=1, x_train=x, verbose=0).out_dir
    target = tmp_path / "exported" / "g.keras"
    record = runs.export_generator(run, target, epoch=1, n_eval=50)
    assert record["epochs"] == 1 and record["evaluation"]["generator"]["n"] == 50
    saved = json.loads(target.with_suffix(".json").read_text())
    assert saved["images_per_epoch"] == 256 and saved["history"]["epoch"] == [1]
    assert gh.gif_info(tmp_path / "exported" / "g_progress.gif")["frames"] == 2, "frames of epochs 0 and 1 only"
    z = gh.latent_vectors(3, seed=2)
    np.testing.assert_allclose(gh.generate(gh.load_pretrained_generator(target), z),
                               gh.generate(gh.load_generator_from_checkpoint(run, 1), z), atol=1e-6)
    assert not list(target.parent.glob(".tmp-*")), "no temporary file is left behind"


def test_bad_pretrained_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no pretrained generator at .*missing.keras"):
        gh.load_pretrained_generator(tmp_path / "missing.keras")
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(gh.PRETRAINED_GENERATOR_PATH.read_bytes()[:100_000])
    with pytest.raises(ValueError, match="truncated.keras is not a loadable Keras file"):
        gh.load_pretrained_generator(truncated)
    not_a_generator = tmp_path / "classifier.keras"
    shutil.copy(ev.CLASSIFIER_PATH, not_a_generator)
    with pytest.raises(ValueError, match="does not hold a generator"):
        gh.load_pretrained_generator(not_a_generator)


# --- interpolation, directions, neighbourhoods ---------------------------------------------

def test_slerp_keeps_the_norm_and_ends_at_both_points():
    z0, z1 = gh.latent_vectors(2, seed=4)
    path = lat.interpolate(z0, z1, 11, "slerp")
    np.testing.assert_allclose(path[[0, -1]], [z0, z1], atol=1e-5)
    # For equal norms, slerp stays exactly on the sphere; the straight line dips inside it.
    u0, u1 = z0 / np.linalg.norm(z0) * 10, z1 / np.linalg.norm(z1) * 10
    np.testing.assert_allclose(np.linalg.norm(lat.interpolate(u0, u1, 11, "slerp"), axis=1), 10, rtol=1e-5)
    assert np.linalg.norm(lat.interpolate(u0, u1, 11, "linear")[5]) < 8
    np.testing.assert_allclose(lat.interpolate(z0, z1, [0.5], "linear")[0], (z0 + z1) / 2, atol=1e-6)


def test_slerp_of_parallel_vectors_falls_back_to_the_line():
    z = np.ones(4)
    np.testing.assert_allclose(lat.interpolate(z, 3 * z, 3), [[1] * 4, [2] * 4, [3] * 4], atol=1e-6)


def test_image_statistics_slant_and_width_of_drawn_strokes():
    strokes = np.zeros((3, 28, 28), np.uint8)
    for r in range(4, 24):
        strokes[0, r, 14] = 255              # upright
        strokes[1, r, 14 + (24 - r) // 2] = 255   # top to the right: leans right
    strokes[2, 4:24, 8:20] = 255             # a wide block
    stats = ev.image_statistics(strokes)
    assert abs(stats["slant"][0]) < 1e-6 and 0.4 < stats["slant"][1] < 0.6
    assert stats["width"][0] < 1e-6 and stats["width"][2] > 3


def test_directions_are_unit_vectors_that_do_what_they_say(generator, directions):
    assert set(directions) == {"thickness", "slant", "width", "PC 1", "PC 2"}
    for d in directions.values():
        assert d.shape == (gh.LATENT_DIM,) and abs(np.linalg.norm(d) - 1) < 1e-5
    z = gh.latent_vectors(40, seed=9)
    for name in ("thickness", "slant", "width"):
        low = ev.image_statistics(gh.generate(generator, z - 2 * directions[name]))[name]
        high = ev.image_statistics(gh.generate(generator, z + 2 * directions[name]))[name]
        assert high.mean() > low.mean(), name
    _, r2 = lat.attribute_directions(generator, n=512)
    assert all(0 <= v <= 1 for v in r2.values())


def test_neighbourhood_grid_is_centred_on_z():
    z, d1, d2 = gh.latent_vectors(3, seed=1)
    grid = lat.neighbourhood(z, d1, d2, steps=5, span=2.0)
    assert grid.shape == (25, gh.LATENT_DIM)
    np.testing.assert_allclose(grid[12], z, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(grid[0] - z), np.linalg.norm(-2 * d1 / np.linalg.norm(d1)
                                                                        - 2 * d2 / np.linalg.norm(d2)), rtol=1e-5)


def test_png_bytes_decode_to_the_enlarged_digit():
    digit = np.zeros((28, 28), np.uint8)
    digit[10, 12] = 255
    picture = iio.imread(lat.png_bytes(digit, scale=4))
    assert picture.shape == (112, 112) and picture[40:44, 48:52].min() == 255 and picture.sum() == 255 * 16


# --- the explorer widgets, driven from code ---------------------------------------------------

def test_explorer_slider_redraws_the_digit(generator, directions):
    explorer = lat.LatentExplorer(generator, directions, seed=3)
    assert explorer.updates == 1
    before = explorer.image.value
    explorer.sliders["thickness"].value = 2.5
    assert explorer.updates == 2 and explorer.image.value != before
    assert iio.imread(explorer.image.value).shape == (224, 224)
    np.testing.assert_allclose(explorer.z, gh.latent_vectors(1, seed=3)[0] + 2.5 * directions["thickness"],
                               atol=1e-5)
    assert "classifier reads" in explorer.readout.value and "seed 3" in explorer.readout.value


def test_explorer_seed_box_random_button_reset_and_grid(generator, directions):
    explorer = lat.LatentExplorer(generator, directions, seed=0)
    explorer.seed_box.value = 12
    np.testing.assert_allclose(explorer.z, gh.latent_vectors(1, seed=12)[0], atol=1e-6)
    first = explorer.image.value
    explorer.random_button.click()
    assert explorer.seed_box.value != 12 and explorer.image.value != first
    explorer.sliders["slant"].value = -1.0
    updates = explorer.updates
    explorer.reset()
    assert explorer.updates == updates + 1, "reset redraws once, not once per slider"
    assert all(s.value == 0 for s in explorer.sliders.values())
    images = explorer.show_neighbourhood(steps=3)
    assert images.shape == (9, 28, 28, 1) and iio.imread(explorer.grid_image.value).ndim == 2
    assert "gan-explorer" in explorer.widget._dom_classes
    # The seed box itself refuses negative seeds: ipywidgets clamps to its bounds.
    explorer.seed_box.value = -5
    assert explorer.seed_box.value == 0


def test_interpolation_explorer_draws_both_paths(generator):
    walk = lat.InterpolationExplorer(generator, seed_a=1, seed_b=2)
    before = {m: w.value for m, w in walk.images.items()}
    walk.t.value = 0.9
    assert walk.updates == 2 and all(walk.images[m].value != before[m] for m in before)
    assert "linear: |z|" in walk.readout.value and "slerp: |z|" in walk.readout.value


BAD_INPUTS = [
    (lambda g, d: lat.LatentExplorer(gh.build_generator(latent_dim=8), d), ValueError,
     r"directions\['thickness'\] must be one latent vector of shape \(8,\)"),
    (lambda g, d: lat.LatentExplorer(g, d, seed=-1), ValueError, "seed must be >= 0"),
    (lambda g, d: lat.LatentExplorer(g, d, seed=1.5), TypeError, "seed must be an integer"),
    (lambda g, d: lat.LatentExplorer(g, {}), ValueError, "directions must be a non-empty dict"),
    (lambda g, d: lat.LatentExplorer(g, {"zero": np.zeros(100)}), ValueError, "is zero"),
    (lambda g, d: lat.LatentExplorer(gh.build_discriminator(), d), ValueError, "generator must map"),
    (lambda g, d: lat.InterpolationExplorer(g, seed_a=-2), ValueError, "seed_a must be >= 0"),
    (lambda g, d: lat.interpolate(np.zeros(100), np.zeros(50)), ValueError, r"z1 must be one latent vector"),
    (lambda g, d: lat.interpolate(np.ones(3), np.ones(3), method="cubic"), ValueError, "method must be"),
    (lambda g, d: lat.interpolate(np.ones(3), np.ones(3), [0.5, 2.0]), ValueError, "t values in"),
    (lambda g, d: lat.interpolate(np.ones(3), [1, np.nan, 1]), ValueError, "z1 holds NaN"),
    (lambda g, d: lat.attribute_directions(g, n=512, attributes=("beauty",)), ValueError, "attributes must name"),
    (lambda g, d: lat.principal_directions(g, k=0), ValueError, "k must be >= 1"),
    (lambda g, d: lat.neighbourhood(np.zeros(100), d["slant"], d["width"], span=0), ValueError, "span must be > 0"),
    (lambda g, d: lat.png_bytes(np.zeros((2, 28, 28))), ValueError, "one 28×28 image"),
]


@pytest.mark.parametrize("call, error, message", BAD_INPUTS)
def test_bad_inputs_raise_clear_errors(generator, directions, call, error, message):
    with pytest.raises(error, match=message):
        call(generator, directions)
