"""gan_extras/averaging.py (10_training_dynamics): G's moving average, kept by a step wrapper and checkpointed with the run."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

import gan_helpers as gh
from gan_extras import averaging as avg
from gan_extras import runs

N, BATCH = 256, 64  # 4 steps an epoch


@pytest.fixture(scope="module")
def x_train():
    (x, _), _ = gh.load_mnist()
    return x[:N]


def _weights(model):
    return [w.numpy().copy() for w in model.weights]


def test_the_average_moves_toward_g_by_the_decay_and_training_is_the_core_steps():
    batch = gh.to_float(np.random.default_rng(0).integers(0, 256, (BATCH, 28, 28), dtype=np.uint8))
    plain = gh.new_gan_state(architecture="vanilla", seed=3)
    state = avg.with_averaging(gh.new_gan_state(architecture="vanilla", seed=3), decay=0.9)
    core = gh.make_train_step(plain.generator, plain.discriminator, plain.g_optimizer, plain.d_optimizer, plain.rng)
    averaging = avg.make_averaging_step(gh.make_train_step(state.generator, state.discriminator, state.g_optimizer,
                                                           state.d_optimizer, state.rng), state)
    for t in range(1, 4):
        before = _weights(state.average)
        expected, got = core(batch), averaging(batch)
        assert {k: float(v) for k, v in got.items()} == {k: float(v) for k, v in expected.items()}
        decay = min(0.9, (1 + t) / (10 + t))  # the short memory of the first steps
        for b, g, a in zip(before, _weights(state.generator), _weights(state.average)):
            np.testing.assert_allclose(a, decay * b + (1 - decay) * g, rtol=1e-5, atol=1e-7)
    for a, b in zip(_weights(plain.generator), _weights(state.generator)):
        np.testing.assert_array_equal(a, b)  # the wrapper never changes what G learns
    assert state.sampler is state.average and plain.sampler is plain.generator


def test_a_resumed_run_continues_the_average_exactly(tmp_path, x_train):
    settings = dict(architecture="vanilla", n_train=N, batch_size=BATCH, x_train=x_train, checkpoint_every=1,
                    verbose=0, decay=0.99)
    whole = avg.train_averaged(tmp_path / "whole", epochs=2, **settings)
    first = avg.train_averaged(tmp_path / "split", epochs=1, **settings)
    state = avg.new_averaged_state("vanilla", 0.99)  # what a resumed run restores, before it trains on
    _, epoch = gh.restore_or_initialize(state, tmp_path / "split")
    assert epoch == 1 and int(state.g_optimizer.iterations) == N // BATCH
    for a, b in zip(_weights(state.average), _weights(first.state.average)):
        np.testing.assert_array_equal(a, b)
    resumed = avg.train_averaged(tmp_path / "split", epochs=2, **settings)
    assert resumed.resumed_from == 1 and int(resumed.state.g_optimizer.iterations) == 2 * N // BATCH
    assert not np.array_equal(_weights(resumed.state.average)[0], _weights(first.state.average)[0])
    config = json.loads((tmp_path / "whole" / "config.json").read_text())
    assert config["ema_decay"] == 0.99
    loaded = avg.load_averaged_generator(tmp_path / "whole")
    for a, b in zip(_weights(loaded), _weights(whole.state.average)):
        np.testing.assert_array_equal(a, b)
    # the frames are the average's: the last one is what the loaded average draws for the frame inputs
    z, labels = gh.frame_inputs(loaded)
    again = gh.save_frame(loaded, z, tmp_path / "again.png", labels)
    assert again.read_bytes() == (tmp_path / "whole" / "frames" / "epoch_0002.png").read_bytes()
    own = runs._own_weights(tmp_path / "whole", None, config)
    assert not np.array_equal(_weights(own)[0], _weights(loaded)[0]), "G and its average differ"


def test_comparison_callback_measures_g_and_its_average_and_the_export_keeps_both(tmp_path, x_train):
    (_, y), _ = gh.load_mnist()  # a conditional run: its export also evaluates G's own weights per digit
    measure = avg.comparison_callback(x_train, n=128, epochs=2, path=tmp_path / "comparison.json")
    run = avg.train_averaged(tmp_path, architecture="conditional", epochs=2, n_train=N, batch_size=BATCH,
                             x_train=x_train, y_train=y[:N], verbose=0, callbacks=[measure])
    figures = measure.figures
    assert figures["epoch"] == [1, 2] and run.history["frechet"] == figures["averaged"]
    assert all(np.isfinite(figures["generator"])) and figures["generator"] != figures["averaged"]
    assert avg.plot_comparison(figures).axes[0].get_yscale() == "log"
    record = runs.export_generator(tmp_path, tmp_path / "g.keras", n_eval=20)
    assert record["averaging_comparison"] == json.loads(json.dumps(figures)), "the per-epoch comparison"
    for key in ("conditional_evaluation", "without_averaging_conditional_evaluation"):
        assert record[key]["n_per_class"] == 2 and len(record[key]["accuracy"]) == 10
    assert record["conditional_evaluation"] != record["without_averaging_conditional_evaluation"]


def test_train_run_keeps_the_decay_refuses_to_mix_and_exports_the_average(tmp_path, x_train):
    out = tmp_path / "run"
    base = dict(architecture="vanilla", epochs=1, n_train=N, batch_size=BATCH, x_train=x_train, verbose=0)
    runs.train_run(out, ema_decay=0.95, **base)
    with pytest.raises(ValueError, match="ema_decay: saved 0.95, now 0.0"):
        runs.train_run(out, **{**base, "epochs": 2})
    with pytest.raises(ValueError, match="ema_decay .* cannot be combined"):
        runs.train_run(tmp_path / "mixed", ema_decay=0.95, d_steps=2, **base)
    generator = runs.load_generator_from_checkpoint(out)
    for a, b in zip(_weights(generator), _weights(avg.load_averaged_generator(out))):
        np.testing.assert_array_equal(a, b)
    record = runs.export_generator(out, tmp_path / "exported.keras", n_eval=64)
    assert "moving average" in record["exported_weights"] and "--ema-decay 0.95" in record["trained_with"]
    assert record["without_averaging_evaluation"]["generator"]["n"] == 64
    exported = tf.keras.models.load_model(tmp_path / "exported.keras")
    np.testing.assert_array_equal(exported.get_weights()[0], generator.get_weights()[0])


def test_a_cool_down_lowers_both_rates_to_zero_over_the_last_epochs_and_resumes_on_the_line(tmp_path, x_train):
    schedule = avg.cool_down_schedule(2e-4, hold_steps=4, cool_steps=8)
    rates = [float(schedule(step)) for step in range(14)]
    np.testing.assert_allclose(rates, [2e-4] * 5 + [2e-4 * (1 - i / 8) for i in range(1, 9)] + [0.0], rtol=1e-6)
    settings = dict(architecture="vanilla", n_train=N, batch_size=BATCH, x_train=x_train, checkpoint_every=1,
                    verbose=0, decay=0.99, epochs=3, cool_down_epochs=2)  # 4 steps an epoch: held 4, cooled 8

    def stop_in_epoch_3(epoch, state, record):
        if epoch == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        avg.train_averaged(tmp_path / "split", callbacks=[stop_in_epoch_3], **settings)
    state = avg.new_averaged_state("vanilla", 0.99)
    _, epoch = gh.restore_or_initialize(state, tmp_path / "split")  # the rate is in the checkpoint
    assert epoch == 2 and float(state.g_optimizer.learning_rate) == pytest.approx(float(schedule(7)), rel=1e-6)
    with pytest.raises(ValueError, match="cool_down_epochs: saved 2, now 1"):
        avg.train_averaged(tmp_path / "split", **{**settings, "cool_down_epochs": 1})
    resumed = avg.train_averaged(tmp_path / "split", **settings)
    assert resumed.resumed_from == 2 and int(resumed.state.g_optimizer.iterations) == 12
    last = float(schedule(11))  # the rate of the last step, set just before it
    assert [float(o.learning_rate) for o in (resumed.state.g_optimizer, resumed.state.d_optimizer)] == \
        pytest.approx([last, last], rel=1e-6)
    assert json.loads((tmp_path / "split" / "config.json").read_text())["cool_down_epochs"] == 2
    record = runs.export_generator(tmp_path / "split", tmp_path / "cooled.keras", n_eval=64)
    assert "--ema-decay 0.99 --cool-down-epochs 2" in record["trained_with"]

