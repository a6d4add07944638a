"""gan_extras/runs.py: one train_run for every switch, falling back from a damaged checkpoint, loading,
averaging and exporting run folders.

Training runs here use small random or MNIST slices: the point is the bookkeeping, not the digits.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import gan_helpers as gh
from gan_extras import runs

N_TRAIN, BATCH = 512, 64


@pytest.fixture(scope="module")
def mnist():
    (x, y), _ = gh.load_mnist()
    return x[:N_TRAIN], y[:N_TRAIN]


@pytest.fixture(scope="module")
def tiny_x() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (2 * BATCH, 28, 28), dtype=np.uint8)


def _config(out) -> dict:
    return json.loads((out / "config.json").read_text())


# --- train_run: which lesson trains a run -------------------------------------------------------

def test_a_plain_run_records_its_speed_settings(tmp_path, tiny_x):
    run = runs.train_run(tmp_path, architecture="vanilla", epochs=1, batch_size=BATCH, x_train=tiny_x, verbose=0)
    assert run.history["epoch"] == [1] and gh.checkpoint_epochs(tmp_path) == [1]
    config = _config(tmp_path)
    assert (config["architecture"], config["precision"], config["replicas"], config["jit_compile"]) == \
        ("vanilla", "float32", 1, False)


def test_a_dynamics_switch_trains_the_variant_and_records_it(tmp_path, tiny_x):
    runs.train_run(tmp_path, architecture="vanilla", epochs=1, batch_size=BATCH, x_train=tiny_x, d_steps=2,
                   g_loss="minimax", label_smoothing=0.1, verbose=0)
    config = _config(tmp_path)
    assert {k: config[k] for k in ("g_loss", "label_smoothing", "d_steps")} == \
        {"g_loss": "minimax", "label_smoothing": 0.1, "d_steps": 2}
    with pytest.raises(ValueError, match="d_steps: saved 2, now 1"):
        runs.train_run(tmp_path, architecture="vanilla", epochs=2, batch_size=BATCH, x_train=tiny_x,
                       g_loss="minimax", label_smoothing=0.1, verbose=0)


def test_dynamics_and_speed_switches_together_are_refused_by_name(tmp_path, tiny_x):
    with pytest.raises(ValueError, match=r"dynamics switches \{'minibatch_std': True\}.*speed switches "
                                         r"\{'jit_compile': True\}"):
        runs.train_run(tmp_path, epochs=1, x_train=tiny_x, minibatch_std=True, jit_compile=True)
    with pytest.raises(ValueError, match=r"architecture='conditional'.*\{'d_steps': 2\}.*takes an unconditional"):
        runs.train_run(tmp_path, architecture="conditional", epochs=1, x_train=tiny_x, d_steps=2)
    assert gh.checkpoint_epochs(tmp_path) == [] and not (tmp_path / "config.json").exists()
    # float32 is what a dynamics run computes in anyway: that combination trains.
    runs.train_run(tmp_path, architecture="vanilla", epochs=1, batch_size=BATCH, x_train=tiny_x, d_steps=2,
                   precision="float32", verbose=0)
    assert _config(tmp_path)["d_steps"] == 2


def test_a_conditional_run_measures_frechet_and_label_accuracy_and_loads_back(tmp_path, mnist):
    x, y = mnist
    run = runs.train_run(tmp_path, architecture="conditional", epochs=2, batch_size=128, x_train=x, y_train=y,
                         checkpoint_every=1, frechet_every=2, frechet_n=64, verbose=0)
    assert _config(tmp_path)["architecture"] == "conditional"
    assert run.history["frechet"][0] is None and run.history["frechet"][1] > 0
    assert 0 <= run.history["label_accuracy"][1] <= 1 and len(run.history["digit_shares"][1]) == 10
    restored = runs.load_generator_from_checkpoint(tmp_path)
    assert gh.is_conditional(restored)
    z = gh.latent_vectors(4)
    np.testing.assert_allclose(gh.generate(restored, z, [0, 1, 2, 3]), gh.generate(run.generator, z, [0, 1, 2, 3]),
                               atol=1e-5)
    with pytest.raises(ValueError, match="gan_extras.runs.load_generator_from_checkpoint"):
        gh.load_generator_from_checkpoint(tmp_path)  # the core builds only its own pairs, and says where to go
    one, two = (runs.load_generator_from_checkpoint(tmp_path, e) for e in (1, 2))
    mean = runs.average_generator(tmp_path, [1, 2])
    for a, b, m in zip(one.get_weights(), two.get_weights(), mean.get_weights()):
        np.testing.assert_allclose(m, (a + b) / 2, rtol=1e-6, atol=1e-7)


# --- falling back from a damaged checkpoint -------------------------------------------------------

def test_truncated_latest_checkpoint_is_named_and_falls_back(tmp_path, mnist, capsys):
    x_train, _ = mnist
    out = tmp_path / "run"
    # vanilla: the loop and its checkpoints are the same for every architecture, and it trains fastest
    common = dict(architecture="vanilla", n_train=N_TRAIN, batch_size=BATCH, checkpoint_every=1, x_train=x_train)
    runs.train_run(out, epochs=3, verbose=0, **common)
    data = next((out / "checkpoints").glob("ckpt-3.data-*"))
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    with pytest.raises(gh.CheckpointDamaged, match=r"ckpt-3 cannot be read.*previous checkpoint is epoch 2"):
        runs.train_run(out, epochs=4, verbose=0, **common)
    assert gh.checkpoint_epochs(out) == [1, 2, 3], "a failed resume changes nothing"
    run = runs.train_run(out, epochs=4, verbose=2, fall_back=True, **common)
    assert run.resumed_from == 2 and run.history["epoch"] == [1, 2, 3, 4]
    assert gh.checkpoint_epochs(out) == [1, 2, 3, 4]
    assert list((out / "checkpoints" / "damaged").glob("ckpt-3.data-*")), "the damaged files are kept"
    assert (f"The latest checkpoint could not be read; set it aside in {out / 'checkpoints' / 'damaged'} "
            "and resuming from epoch 2.") in capsys.readouterr().out


def test_fall_back_needs_an_earlier_checkpoint(tmp_path, mnist):
    runs.train_run(tmp_path, architecture="vanilla", epochs=1, n_train=N_TRAIN, batch_size=BATCH, x_train=mnist[0],
                   verbose=0)
    with pytest.raises(FileNotFoundError, match="falling back needs an earlier one"):
        runs.fall_back_checkpoint(tmp_path)


# --- trained generators, pretrained paths, export ------------------------------------------------

def test_trained_generator_prefers_your_full_run_and_can_ask_for_the_conditional_one(tmp_path, monkeypatch, tiny_x):
    monkeypatch.setenv("GAN_OUTPUTS", str(tmp_path))
    generator, about = runs.trained_generator(conditional=True)
    assert gh.is_conditional(generator) and "pretrained conditional generator" in about
    assert "no full run in outputs/conditional" in about
    assert "asked for" in runs.trained_generator("pretrained")[1]
    with pytest.raises(FileNotFoundError, match="source='yours'.*08_conditional_gan"):
        runs.trained_generator("yours", conditional=True)
    gh.train(tmp_path / "dcgan", epochs=1, batch_size=BATCH, x_train=tiny_x, verbose=0)
    mine, about = runs.trained_generator()
    assert "your generator from 04_train_dcgan" in about and "epoch 1" in about and not gh.is_conditional(mine)


def test_export_of_a_vanilla_run_goes_to_its_own_file(tmp_path, tiny_x):
    assert runs.pretrained_path("vanilla").name == "vanilla_generator.keras"
    assert runs.pretrained_path("dcgan") == gh.PRETRAINED_GENERATOR_PATH
    assert runs.pretrained_path("conditional") == gh.CONDITIONAL_GENERATOR_PATH
    gh.train(tmp_path / "run", architecture="vanilla", epochs=2, batch_size=BATCH, checkpoint_every=1,
             x_train=tiny_x, verbose=0)
    record = runs.export_generator(tmp_path / "run", tmp_path / "v.keras", n_eval=8, average=2)
    assert "--architecture vanilla" in record["trained_with"] and "--average 2" in record["trained_with"]
    assert record["weights_averaged_over_epochs"] == [1, 2] and record["epochs"] == 2
    assert record["parameters"] == 1_486_352 and record["last_checkpoint_evaluation"]["generator"]["n"] == 8
    assert "conditional_evaluation" not in record
    saved = json.loads((tmp_path / "v.json").read_text())
    assert list(saved) == [k for k in record if k != "path"] and saved["settings"]["architecture"] == "vanilla"
    exported = gh.load_pretrained_generator(tmp_path / "v.keras")
    assert exported.name == "vanilla_generator"
    averaged = runs.average_generator(tmp_path / "run", [1, 2])
    np.testing.assert_allclose(exported.get_weights()[0], averaged.get_weights()[0], rtol=1e-6)
    assert gh.gif_info(tmp_path / "v_progress.gif")["frames"] == 3
    with pytest.raises(ValueError, match="average: 5 checkpoints up to epoch 2 asked for"):
        runs.export_generator(tmp_path / "run", tmp_path / "x.keras", epoch=2, average=5)
