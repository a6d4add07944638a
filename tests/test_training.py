"""The core's losses, train step and training loop (04): checkpoints and resuming.

Training runs here use 128 random images in batches of 64 (two steps per
epoch): the point is the bookkeeping, not the digits.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import tensorflow as tf

import gan_helpers as gh

BATCH = 64
FRAME_SEED = 1234  # train()'s default frame_seed


@pytest.fixture(scope="module")
def tiny_x() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (2 * BATCH, 28, 28), dtype=np.uint8)


def _train(out: Path, x: np.ndarray, **kwargs) -> gh.TrainingRun:
    settings = dict(batch_size=BATCH, checkpoint_every=2, x_train=x, verbose=0)
    settings.update(kwargs)
    return gh.train(out, **settings)


@pytest.fixture(scope="module")
def base_run(tmp_path_factory, tiny_x):
    """epochs=3, checkpoint_every=2: checkpoints at 2 (the interval) and 3 (the end). Read-only."""
    out = tmp_path_factory.mktemp("base") / "run"
    run = _train(out, tiny_x, epochs=3)
    return run, out


def _copy_run(base_run, tmp_path: Path) -> Path:
    _, out = base_run
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    return copy


def _frames(out: Path) -> list[str]:
    return sorted(p.name for p in (out / "frames").glob("*.png"))


def _weights(model) -> list[np.ndarray]:
    return [w.numpy().copy() for w in model.weights]


def _forget_checkpoint(out: Path, epoch: int) -> None:
    """Make ``epoch``'s checkpoint as if its save never happened (killed just before manager.save)."""
    ckpt_dir = out / "checkpoints"
    state = tf.train.get_checkpoint_state(str(ckpt_dir))
    kept = [(p, t) for p, t in zip(state.all_model_checkpoint_paths, state.all_model_checkpoint_timestamps)
            if not p.endswith(f"ckpt-{epoch}")]
    for f in ckpt_dir.glob(f"ckpt-{epoch}.*"):
        f.unlink()
    # The manager's state file as the previous save left it (timestamps included: without
    # them a later CheckpointManager drops the older entries from its list).
    tf.compat.v1.train.update_checkpoint_state(
        str(ckpt_dir), kept[-1][0], [p for p, _ in kept], all_model_checkpoint_timestamps=[t for _, t in kept])
    assert gh.checkpoint_epochs(out) == [e for e in (1, 2, 3) if e != epoch and (ckpt_dir / f"ckpt-{e}.index").exists()]


# --- Losses ------------------------------------------------------------------------

def _loss(fn, *logits) -> float:
    return float(fn(*[tf.constant(x, tf.float32) for x in logits]))


def test_discriminator_loss_on_known_logits():
    confident_right = _loss(gh.discriminator_loss, [[50.0], [60.0]], [[-50.0], [-70.0]])
    assert 0 <= confident_right < 1e-6
    assert _loss(gh.discriminator_loss, [[0.0]] * 4, [[0.0]] * 4) == pytest.approx(2 * math.log(2), rel=1e-6)
    confident_wrong = _loss(gh.discriminator_loss, [[-50.0]], [[50.0]])
    assert confident_wrong == pytest.approx(100.0, rel=1e-4)


def test_discriminator_loss_is_mean_bce_of_both_halves():
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(8, 1)) * 3, rng.normal(size=(8, 1)) * 3
    softplus = lambda x: np.log1p(np.exp(x))  # noqa: E731
    expected = softplus(-real).mean() + softplus(fake).mean()
    assert _loss(gh.discriminator_loss, real, fake) == pytest.approx(expected, rel=1e-5)


def test_generator_losses_on_known_logits():
    assert _loss(gh.generator_loss, [[0.0]] * 3) == pytest.approx(math.log(2), rel=1e-6)
    assert _loss(gh.generator_loss, [[50.0]]) < 1e-6  # D fooled: nothing to learn
    assert _loss(gh.generator_loss, [[-50.0]]) == pytest.approx(50.0, rel=1e-4)
    assert _loss(gh.minimax_generator_loss, [[0.0]]) == pytest.approx(-math.log(2), rel=1e-6)
    assert _loss(gh.minimax_generator_loss, [[-50.0]]) == pytest.approx(0.0, abs=1e-6)


def test_minimax_and_non_saturating_losses():
    logits = tf.constant(np.random.default_rng(2).normal(size=(16, 1)) * 4, tf.float32)
    # -log D(l) + log(1 - D(l)) = -l for every logit, so their means add up to -mean(l).
    total = float(gh.generator_loss(logits) + gh.minimax_generator_loss(logits))
    assert total == pytest.approx(-float(tf.reduce_mean(logits)), abs=1e-4)
    # When D is sure the fakes are fake, minimax saturates and the non-saturating loss does not.
    sure_fake = tf.Variable([[-10.0]])
    with tf.GradientTape(persistent=True) as tape:
        minimax = gh.minimax_generator_loss(sure_fake)
        non_saturating = gh.generator_loss(sure_fake)
    assert abs(float(tape.gradient(minimax, sure_fake)[0, 0])) < 1e-3
    assert float(tape.gradient(non_saturating, sure_fake)[0, 0]) == pytest.approx(-1.0, abs=1e-3)


# --- One train step; checkpoint round trip -------------------------------------------

@pytest.fixture(scope="module")
def stepped(tiny_x):
    """A fresh state, its weights before, and the result of one train step."""
    state = gh.new_gan_state(seed=0)
    before = {"generator": _weights(state.generator), "discriminator": _weights(state.discriminator),
              "g_trainable": [v.numpy().copy() for v in state.generator.trainable_variables],
              "d_trainable": [v.numpy().copy() for v in state.discriminator.trainable_variables]}
    step = gh.make_train_step(state.generator, state.discriminator, state.g_optimizer,
                              state.d_optimizer, state.rng)
    batch = next(iter(gh.make_dataset(tiny_x, BATCH, shuffle=False)))
    out = {k: float(v) for k, v in step(batch).items()}
    return state, before, out


def test_one_train_step_changes_both_models(stepped):
    state, before, out = stepped
    assert set(out) == {"g_loss", "d_loss", "d_real", "d_fake", "g_grad_norm", "d_grad_norm"}
    assert all(math.isfinite(v) for v in out.values())
    assert 0 < out["d_real"] < 1 and 0 < out["d_fake"] < 1
    for key, model in (("g_trainable", state.generator), ("d_trainable", state.discriminator)):
        after = [v.numpy() for v in model.trainable_variables]
        assert len(after) == len(before[key])
        unchanged = [v.path for v, a, b in zip(model.trainable_variables, after, before[key])
                     if np.array_equal(a, b)]
        assert not unchanged, f"{model.name}: not updated by the step: {unchanged}"
    assert int(state.g_optimizer.iterations) == 1 and int(state.d_optimizer.iterations) == 1


def test_checkpoint_save_restore_round_trip(stepped, tmp_path):
    saved, _, _ = stepped
    saved.epoch.assign(7)
    manager, epoch = gh.restore_or_initialize(saved, tmp_path)
    assert epoch == 0  # nothing there yet
    manager.save(checkpoint_number=7)

    fresh = gh.new_gan_state(seed=1)  # builds the optimizers, so restore fills their slots
    pairs = {
        "generator": (saved.generator.weights, fresh.generator.weights),
        "discriminator": (saved.discriminator.weights, fresh.discriminator.weights),
        "g_optimizer": (saved.g_optimizer.variables, fresh.g_optimizer.variables),
        "d_optimizer": (saved.d_optimizer.variables, fresh.d_optimizer.variables),
        "rng": ([saved.rng.state], [fresh.rng.state]),
    }
    for name, (a, b) in pairs.items():
        assert len(a) == len(b), name
        assert any(not np.array_equal(x.numpy(), y.numpy()) for x, y in zip(a, b)), \
            f"{name} already equal before the restore: the test would prove nothing"
    assert any(np.abs(v.numpy()).max() > 0 for v in saved.g_optimizer.variables if "momentum" in v.path)

    _, epoch = gh.restore_or_initialize(fresh, tmp_path)
    assert epoch == 7 and int(fresh.epoch.numpy()) == 7
    for name, (a, b) in pairs.items():
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x.numpy(), y.numpy(), err_msg=f"{name}: {getattr(x, 'path', x.name)}")
    assert int(fresh.g_optimizer.iterations) == 1 and int(fresh.d_optimizer.iterations) == 1


def test_orphaned_temp_checkpoints_are_removed(base_run, tmp_path):
    out = _copy_run(base_run, tmp_path)
    orphan_dir = out / "checkpoints" / "ckpt-4_temp"
    orphan_dir.mkdir()
    (orphan_dir / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"half a save")
    orphan_file = out / "checkpoints" / "ckpt-5_temp.index"
    orphan_file.write_bytes(b"")
    manager, epoch = gh.restore_or_initialize(gh.new_gan_state(), out)
    assert not orphan_dir.exists() and not orphan_file.exists()
    assert epoch == 3
    assert gh.checkpoint_epochs(out) == [2, 3]  # the real checkpoints are untouched


# --- train(): files, resume, truncation, settings ------------------------------------

def test_train_writes_checkpoints_frames_history(base_run):
    run, out = base_run
    assert run.resumed_from == 0
    assert gh.checkpoint_epochs(out) == [2, 3]  # every 2 epochs, and the final epoch
    assert [Path(p).name for p in run.checkpoints] == ["ckpt-2", "ckpt-3"]
    assert _frames(out) == [f"epoch_{e:04d}.png" for e in range(4)]
    history = gh.load_history(out)
    assert history == json.loads(json.dumps(run.history))
    assert set(history) == set(gh.HISTORY_KEYS)
    assert history["epoch"] == [1, 2, 3]
    for key in gh.HISTORY_KEYS:
        assert len(history[key]) == 3, key
    for key in ("g_loss", "d_loss", "d_real", "d_fake", "seconds", "images_per_second"):
        assert all(math.isfinite(v) for v in history[key]), key
    assert all(0 < p < 1 for p in history["d_real"] + history["d_fake"])
    config = json.loads((out / "config.json").read_text())
    assert config["latent_dim"] == gh.LATENT_DIM and config["batch_size"] == BATCH
    assert int(run.state.epoch.numpy()) == 3
    assert int(run.state.g_optimizer.iterations) == 3 * 2  # 3 epochs of 2 steps


def test_frames_show_the_checkpointed_generators(base_run, tmp_path):
    """Frame N is what checkpoint N's generator draws for the fixed z: frames and checkpoints agree."""
    run, out = base_run
    z = gh.latent_vectors(16, gh.LATENT_DIM, FRAME_SEED)
    for epoch in (2, 3):
        g = gh.load_generator_from_checkpoint(out, epoch)
        redrawn = iio.imread(gh.save_frame(g, z, tmp_path / f"{epoch}.png"))
        assert np.array_equal(redrawn, iio.imread(out / "frames" / f"epoch_{epoch:04d}.png")), epoch
    assert not np.array_equal(iio.imread(out / "frames" / "epoch_0002.png"),
                              iio.imread(out / "frames" / "epoch_0003.png"))


def test_resume_continues_where_it_stopped(tmp_path, tiny_x):
    out = tmp_path / "run"
    first = _train(out, tiny_x, epochs=2)
    assert first.resumed_from == 0 and gh.checkpoint_epochs(out) == [2]
    frame_bytes = {name: (out / "frames" / name).read_bytes() for name in _frames(out)}

    second = _train(out, tiny_x, epochs=4)
    assert second.resumed_from == 2
    assert gh.checkpoint_epochs(out) == [2, 4]
    history = gh.load_history(out)
    assert history["epoch"] == [1, 2, 3, 4]
    for key in ("g_loss", "d_loss", "seconds"):  # epochs 1-2 are the first run's records
        assert history[key][:2] == first.history[key], key
    assert _frames(out) == [f"epoch_{e:04d}.png" for e in range(5)]
    for name, data in frame_bytes.items():
        assert (out / "frames" / name).read_bytes() == data, f"{name} was redrawn on resume"
    # The optimizers carried on (2 steps per epoch, 4 epochs) instead of starting over.
    assert int(second.state.g_optimizer.iterations) == 8
    assert int(second.state.epoch.numpy()) == 4


def test_history_and_frames_newer_than_checkpoint_are_dropped(base_run, tmp_path, tiny_x):
    out = _copy_run(base_run, tmp_path)
    _forget_checkpoint(out, 3)  # epoch 3 finished its frame and history, then the save was lost
    history = gh.load_history(out)
    history["g_loss"][2] = 999.0  # mark the stale record and frame
    (out / "history.json").write_text(json.dumps(history))
    stale = np.zeros((366, 366), np.uint8)
    iio.imwrite(out / "frames" / "epoch_0003.png", stale)

    run = _train(out, tiny_x, epochs=3)
    assert run.resumed_from == 2
    history = gh.load_history(out)
    assert history["epoch"] == [1, 2, 3]
    assert 999.0 not in history["g_loss"]
    assert _frames(out) == [f"epoch_{e:04d}.png" for e in range(4)]
    assert not np.array_equal(iio.imread(out / "frames" / "epoch_0003.png"), stale)
    assert gh.checkpoint_epochs(out) == [2, 3]


def test_resume_with_nothing_left_to_train_still_truncates(base_run, tmp_path, tiny_x):
    out = _copy_run(base_run, tmp_path)
    _forget_checkpoint(out, 3)
    run = _train(out, tiny_x, epochs=2)  # already reached: no epoch runs
    assert run.resumed_from == 2
    assert run.history["epoch"] == [1, 2]
    assert gh.load_history(out)["epoch"] == [1, 2]  # on disk too, not only in memory
    assert _frames(out) == [f"epoch_{e:04d}.png" for e in range(3)]


def test_resume_with_other_latent_dim_names_it(base_run, tmp_path, tiny_x):
    out = _copy_run(base_run, tmp_path)
    with pytest.raises(ValueError, match="latent_dim: saved 100, now 8"):
        _train(out, tiny_x, epochs=4, latent_dim=8)
    with pytest.raises(ValueError, match="batch_size: saved 64, now 32"):
        _train(out, tiny_x, epochs=4, batch_size=32)
    assert gh.checkpoint_epochs(out) == [2, 3]
    assert json.loads((out / "config.json").read_text())["latent_dim"] == 100  # not overwritten


def test_restore_into_other_architecture_fails_clearly(base_run, tmp_path):
    out = _copy_run(base_run, tmp_path)
    (out / "config.json").unlink()  # without the settings file, the restore itself must object
    with pytest.raises(ValueError, match="is whole but holds models of other settings") as info:
        gh.restore_or_initialize(gh.new_gan_state(latent_dim=8), out)
    assert "ckpt-3" in str(info.value) and "config.json" in str(info.value)
    # a settings mismatch is not damage: no fall-back advice, which would set a good checkpoint aside
    assert not isinstance(info.value, gh.CheckpointDamaged) and "fall-back" not in str(info.value)


def test_train_argument_checks(tmp_path, tiny_x):
    with pytest.raises(ValueError, match="epochs"):
        gh.train(tmp_path, epochs=0, x_train=tiny_x)
    with pytest.raises(TypeError, match="checkpoint_every"):
        gh.train(tmp_path, epochs=1, checkpoint_every=1.5, x_train=tiny_x)
    with pytest.raises(ValueError, match="verbose"):
        gh.train(tmp_path, epochs=1, verbose=3, x_train=tiny_x)
    with pytest.raises(ValueError, match="x_train"):
        gh.train(tmp_path, epochs=1, x_train=np.zeros((128, 32, 32), np.uint8))
    assert gh.checkpoint_epochs(tmp_path) == []


def test_training_diverged_keeps_last_good_checkpoint(base_run, tmp_path):
    out = _copy_run(base_run, tmp_path)
    history_before = (out / "history.json").read_bytes()
    poisoned = np.full((2 * BATCH, 28, 28), np.nan, np.float32)
    with pytest.raises(gh.TrainingDiverged, match="epoch 4, step 1") as info:
        _train(out, poisoned, epochs=6, checkpoint_every=1)
    assert isinstance(info.value, FloatingPointError)
    assert gh.checkpoint_epochs(out) == [2, 3]  # nothing saved for the bad epoch
    assert (out / "history.json").read_bytes() == history_before
    assert _frames(out) == [f"epoch_{e:04d}.png" for e in range(4)]


# --- Loading a generator back ---------------------------------------------------------

def test_checkpoint_epochs(base_run, tmp_path):
    _, out = base_run
    assert gh.checkpoint_epochs(out) == [2, 3]
    assert gh.checkpoint_epochs(tmp_path) == []
    assert gh.checkpoint_epochs(tmp_path / "missing") == []


def test_load_generator_from_checkpoint(base_run):
    run, out = base_run
    latest = gh.load_generator_from_checkpoint(out)
    for a, b in zip(latest.weights, run.generator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    at_2 = gh.load_generator_from_checkpoint(out, 2)
    assert gh.latent_dim_of(at_2) == gh.LATENT_DIM
    assert any(not np.array_equal(a.numpy(), b.numpy()) for a, b in zip(at_2.weights, latest.weights))


def test_load_generator_from_missing_epoch_lists_saved_ones(base_run, tmp_path):
    _, out = base_run
    with pytest.raises(ValueError, match=r"epoch 1 .*\[2, 3\]"):
        gh.load_generator_from_checkpoint(out, 1)
    with pytest.raises(ValueError, match="latent_dim=8"):
        gh.load_generator_from_checkpoint(out, 2, generator=gh.build_generator(8))
    with pytest.raises(FileNotFoundError, match="out_dir"):
        gh.load_generator_from_checkpoint(tmp_path)
