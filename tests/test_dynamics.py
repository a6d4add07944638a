"""The vanilla GAN (02) and the training-dynamics switches (10, gan_extras/dynamics.py): each variant builds, trains a step and is recorded."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import gan_helpers as gh
from gan_extras import dynamics as dyn
from gan_extras import evaluation as ev


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    (x_train, _), _ = gh.load_mnist()
    return x_train[:256]


# -- the vanilla GAN (02_vanilla_gan) ---------------------------------------------------------

def test_vanilla_networks_have_the_papers_layout():
    g, d = gh.build_vanilla_generator(), gh.build_vanilla_discriminator()
    assert [layer.units for layer in g.layers if isinstance(layer, keras.layers.Dense)] == [256, 512, 1024, 784]
    assert [layer.units for layer in d.layers if isinstance(layer, keras.layers.Dense)] == [1024, 512, 256, 1]
    assert sum(isinstance(layer, keras.layers.Dropout) for layer in d.layers) == 3
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in g.layers + d.layers)
    images = g(gh.latent_vectors(4), training=False)
    assert images.shape == (4, 28, 28, 1) and float(tf.reduce_max(tf.abs(images))) <= 1.0
    assert d(images).shape == (4, 1)
    assert (g.count_params(), d.count_params()) == (1_486_352, 1_460_225)
    assert "vanilla" in gh.ARCHITECTURES   # the pair train builds by that name
    assert [m.name for m in gh.build_pair("vanilla")] == [g.name, d.name] == ["vanilla_generator", "vanilla_discriminator"]


def test_vanilla_trains_with_the_same_loop_and_resumes(tmp_path, digits):
    run = gh.train(tmp_path, architecture="vanilla", epochs=1, x_train=digits, batch_size=64, verbose=0)
    assert json.loads((tmp_path / "config.json").read_text())["architecture"] == "vanilla"
    assert run.generator.name == "vanilla_generator" and gh.checkpoint_epochs(tmp_path) == [1]
    again = gh.train(tmp_path, architecture="vanilla", epochs=2, x_train=digits, batch_size=64, verbose=0)
    assert again.resumed_from == 1 and again.history["epoch"] == [1, 2]
    restored = gh.load_generator_from_checkpoint(tmp_path)
    z = gh.latent_vectors(3)
    np.testing.assert_allclose(gh.generate(restored, z), gh.generate(again.generator, z), atol=1e-6)
    with pytest.raises(ValueError, match="architecture: saved vanilla, now dcgan"):
        gh.train(tmp_path, epochs=3, x_train=digits, batch_size=64, verbose=0)


def test_export_of_a_vanilla_run_goes_to_its_own_file(tmp_path, digits):
    # vanilla_vs_dcgan on such a run: tests/test_reports.py
    from gan_extras import runs
    assert runs.pretrained_path("vanilla").name == "vanilla_generator.keras"
    assert runs.pretrained_path("dcgan") == gh.PRETRAINED_GENERATOR_PATH
    assert runs.pretrained_path("conditional") == gh.CONDITIONAL_GENERATOR_PATH
    gh.train(tmp_path / "run", architecture="vanilla", epochs=1, x_train=digits, batch_size=128, verbose=0)
    record = runs.export_generator(tmp_path / "run", tmp_path / "v.keras", n_eval=8)
    assert "--architecture vanilla" in record["trained_with"]
    assert gh.load_pretrained_generator(tmp_path / "v.keras").name == "vanilla_generator"


def test_the_epoch_estimate_times_the_vanilla_pair():
    # the architecture table itself: tests/test_reports.py
    from gan_extras import speed
    assert speed.estimate_epoch_seconds(32, steps=1, n_train=64, architecture="vanilla") > 0


# -- the switches of 10_training_dynamics ------------------------------------------------------

def _step(d_steps=1, **recipe):
    state = dyn.new_dynamics_state(architecture="vanilla", minibatch_std=recipe.pop("minibatch_std", False))
    name = recipe.pop("g_loss", "non_saturating")
    penalty = dyn.GRADIENT_PENALTY if name == "wasserstein" else 0.0
    step = dyn.make_dynamics_step(state.generator, state.discriminator, state.g_optimizer, state.d_optimizer,
                                  state.rng, dyn.G_LOSSES[name], d_steps=d_steps, gradient_penalty=penalty, **recipe)
    return state, step


@pytest.mark.parametrize("recipe", [{}, {"g_loss": "minimax"}, {"label_smoothing": 0.1}, {"d_steps": 3},
                                    {"minibatch_std": True}, {"g_loss": "wasserstein", "d_steps": 2}], ids=str)
def test_every_variant_trains_a_step(recipe, digits):
    d_steps = recipe.get("d_steps", 1)
    state, step = _step(**recipe)
    before = [w.copy() for w in state.generator.get_weights()]
    values = step(tf.constant(gh.to_float(digits[:32])))
    assert set(values) == {"g_loss", "d_loss", "d_real", "d_fake", "g_grad_norm", "d_grad_norm"}
    assert all(np.isfinite(float(v)) for v in values.values()) and float(values["g_grad_norm"]) > 0
    assert int(state.d_optimizer.iterations) == d_steps and int(state.g_optimizer.iterations) == 1
    assert any(not np.array_equal(a, b) for a, b in zip(before, state.generator.get_weights()))


def test_with_neutral_switches_the_step_and_state_are_the_cores(digits):
    core = gh.new_gan_state(architecture="vanilla", seed=3)
    mine = dyn.new_dynamics_state(architecture="vanilla", seed=3)
    for a, b in zip(core.discriminator.get_weights() + core.generator.get_weights(),
                    mine.discriminator.get_weights() + mine.generator.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)   # the same initial weights for the same seed
    core_step = gh.make_train_step(core.generator, core.discriminator, core.g_optimizer, core.d_optimizer, core.rng)
    step = dyn.make_dynamics_step(mine.generator, mine.discriminator, mine.g_optimizer, mine.d_optimizer, mine.rng,
                                  d_steps=1, label_smoothing=0.0, gradient_penalty=0.0)
    batch = tf.constant(gh.to_float(digits[:32]))
    for _ in range(2):   # the second step starts from the first one's updated weights
        expected, values = core_step(batch), step(batch)
        assert set(values) == set(expected)
        for key in expected:
            np.testing.assert_allclose(float(values[key]), float(expected[key]), rtol=1e-6, err_msg=key)
    for a, b in zip(core.generator.get_weights(), mine.generator.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_the_dcgan_and_conditional_discriminators_take_minibatch_std_too():
    assert any(isinstance(layer, dyn.MinibatchStdDev) for layer in dyn.with_minibatch_std(gh.build_discriminator()).layers)
    from gan_extras import conditional as cond
    d = dyn.with_minibatch_std(cond.build_conditional_discriminator())
    assert d([np.zeros((2, 28, 28, 1), np.float32), np.array([1, 2])]).shape == (2, 1)
    assert [layer.name for layer in d.layers][-3:] == ["flatten", "minibatch_std", "logit"]


def test_minibatch_std_layers_are_where_old_checkpoints_have_them():
    # Checkpoints of minibatch_std runs saved before the split restore: same layers, names and order.
    convolutional = dyn.with_minibatch_std(gh.build_discriminator())
    assert [layer.name for layer in convolutional.layers] == [
        "conv_14x14x64", "conv1_lrelu", "conv1_dropout", "conv_7x7x128", "conv2_lrelu", "conv2_dropout",
        "flatten", "minibatch_std", "logit"]
    vanilla = dyn.with_minibatch_std(gh.build_vanilla_discriminator())
    assert [layer.name for layer in vanilla.layers][-3:] == ["dropout3", "minibatch_std", "logit"]
    assert (convolutional.name, vanilla.name) == ("discriminator", "vanilla_discriminator")
    assert vanilla.count_params() == 1_460_225 + 1 and isinstance(vanilla, keras.Sequential)
    state = dyn.new_dynamics_state(architecture="dcgan", minibatch_std=True)
    assert [layer.name for layer in state.discriminator.layers] == [layer.name for layer in convolutional.layers]
    with pytest.raises(ValueError, match="already has a MinibatchStdDev"):
        dyn.with_minibatch_std(vanilla)


def test_minibatch_std_sees_a_collapsed_batch(tmp_path):
    layer = dyn.MinibatchStdDev()
    same = layer(np.ones((6, 3), np.float32)).numpy()
    varied = layer(np.arange(18, dtype=np.float32).reshape(6, 3)).numpy()
    assert same.shape == (6, 4) and np.all(same[:, -1] == 0)
    assert np.allclose(varied[:, -1], np.std(np.arange(0, 18, 3)))   # each column's spread, averaged
    d = dyn.with_minibatch_std(gh.build_vanilla_discriminator())      # saved and loaded by name, no code
    d.save(tmp_path / "d.keras")
    assert isinstance(keras.models.load_model(tmp_path / "d.keras").layers[-2], dyn.MinibatchStdDev)
    # the name .keras files saved before the split recorded
    assert keras.saving.get_registered_name(dyn.MinibatchStdDev) == "gan_helpers>MinibatchStdDev"


def test_one_sided_label_smoothing_changes_only_the_real_target():
    real, fake = tf.constant([[3.0], [-1.0]]), tf.constant([[0.5], [-2.0]])
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    expected = bce(tf.fill([2, 1], 0.9), real) + bce(tf.zeros([2, 1]), fake)
    np.testing.assert_allclose(dyn.smoothed_discriminator_loss(real, fake, label_smoothing=0.1), expected, rtol=1e-6)
    np.testing.assert_allclose(gh.discriminator_loss(real, fake), bce(tf.ones([2, 1]), real) + bce(tf.zeros([2, 1]), fake),
                               rtol=1e-6)
    np.testing.assert_allclose(dyn.smoothed_discriminator_loss(real, fake, 0.0), gh.discriminator_loss(real, fake),
                               rtol=1e-6)


def test_minimax_loss_saturates_where_the_non_saturating_one_does_not():
    logits = tf.Variable([[-9.0]])   # D rejects the fake: D(G(z)) = 0.0001
    norms = {}
    for name, loss in dyn.G_LOSSES.items():
        with tf.GradientTape() as tape:
            value = loss(logits)
        norms[name] = float(tf.norm(tape.gradient(value, logits)))
    assert norms["minimax"] < 1e-3 < 0.9 < norms["non_saturating"]


def test_wgan_gp_critic_loss_and_its_limits(digits):
    real, fake = tf.constant([[2.0], [4.0]]), tf.constant([[-1.0], [1.0]])
    assert float(dyn.critic_loss(real, fake, tf.constant(0.5))) == pytest.approx(0.0 - 3.0 + 5.0)
    assert float(dyn.wasserstein_generator_loss(fake)) == 0.0
    state = gh.new_gan_state(architecture="vanilla")
    step = dyn.make_dynamics_step(state.generator, state.discriminator, state.g_optimizer, state.d_optimizer,
                                  state.rng, dyn.wasserstein_generator_loss, gradient_penalty=10.0)
    assert np.isfinite(float(step(tf.constant(gh.to_float(digits[:16])))["d_loss"]))
    with pytest.raises(ValueError, match="takes an unconditional architecture"):
        dyn.train_variant(None, architecture="conditional", g_loss="wasserstein", epochs=1, x_train=digits)


def test_lr_decay_is_linear_to_zero_and_survives_resume(tmp_path, digits):
    schedule = dyn.lr_schedule(2e-4, 100)
    assert [round(float(schedule(s)), 8) for s in (0, 50, 100, 150)] == [2e-4, 1e-4, 0.0, 0.0]
    run = dyn.train_variant(tmp_path, architecture="vanilla", epochs=2, x_train=digits, batch_size=64, lr_decay=True,
                            checkpoint_every=1, verbose=0)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["lr_decay_steps"] == 2 * 4 and int(run.state.g_optimizer.iterations) == 8
    assert float(run.state.g_optimizer.learning_rate) == 0.0
    with pytest.raises(ValueError, match="lr_decay_steps: saved 8, now 12"):   # extending would bend the schedule
        dyn.train_variant(tmp_path, architecture="vanilla", epochs=3, x_train=digits, batch_size=64, lr_decay=True,
                          verbose=0)


def test_recipe_is_recorded_and_a_changed_recipe_is_refused(tmp_path, digits):
    dyn.train_variant(tmp_path, architecture="vanilla", epochs=1, x_train=digits, batch_size=128, d_steps=2,
                      label_smoothing=0.1, g_loss="minimax", minibatch_std=True, verbose=0)
    config = json.loads((tmp_path / "config.json").read_text())
    assert {k: config[k] for k in ("g_loss", "label_smoothing", "d_steps", "minibatch_std")} == \
        {"g_loss": "minimax", "label_smoothing": 0.1, "d_steps": 2, "minibatch_std": True}
    assert config["lr_decay_steps"] == 0 and config["discriminator_params"] == 1_460_225 + 1
    with pytest.raises(ValueError, match="d_steps: saved 2, now 1"):
        dyn.train_variant(tmp_path, architecture="vanilla", epochs=2, x_train=digits, batch_size=128,
                          label_smoothing=0.1, g_loss="minimax", minibatch_std=True, verbose=0)
    resumed = dyn.train_variant(tmp_path, architecture="vanilla", epochs=2, x_train=digits, batch_size=128, d_steps=2,
                                label_smoothing=0.1, g_loss="minimax", minibatch_std=True, verbose=0)
    assert resumed.resumed_from == 1   # the minibatch_std discriminator restores from its checkpoint


def test_a_run_saved_before_the_switches_existed_resumes(tmp_path, digits):
    dyn.train_variant(tmp_path, architecture="vanilla", epochs=1, x_train=digits, batch_size=128, verbose=0)
    config = json.loads((tmp_path / "config.json").read_text())
    for key in ("g_loss", "label_smoothing", "d_steps", "minibatch_std", "lr_decay_steps"):
        del config[key]
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert dyn.train_variant(tmp_path, architecture="vanilla", epochs=2, x_train=digits, batch_size=128,
                             verbose=0).resumed_from == 1
    # ... and a core run, which records none of them, resumes as the neutral variant and back
    assert gh.train(tmp_path, architecture="vanilla", epochs=3, x_train=digits, batch_size=128,
                    verbose=0).resumed_from == 2


def test_history_records_gradients_and_digit_shares(tmp_path, digits):
    run = gh.train(tmp_path, architecture="vanilla", epochs=1, x_train=digits, batch_size=128, verbose=0,
                   callbacks=[ev.frechet_callback(digits, 64, 1)])
    shares = run.history["digit_shares"][0]
    assert len(shares) == 10 and abs(sum(shares) - 1) < 1e-3
    assert run.history["g_grad_norm"][0] > 0 and run.history["d_grad_norm"][0] > 0


def test_gradient_probe_records_every_step(digits):
    trace = dyn.gradient_probe(6, g_loss="minimax", x_train=digits, batch_size=32, d_steps=2)
    assert set(trace) == {"g_grad_norm", "d_fake", "d_real", "g_loss", "d_loss"}
    assert all(v.shape == (6,) and np.isfinite(v).all() for v in trace.values())


def test_run_experiments_trains_each_once_then_reads_it_back(tmp_path, digits, capsys):
    from gan_extras import reports as rp
    names = ["baseline", "label_smoothing"]
    first = dyn.run_experiments(names, tmp_path, epochs=1, x_train=digits, frechet_n=32, verbose=1)
    assert list(first) == names and all(h["epoch"] == [1] for h in first.values())
    capsys.readouterr()
    again = dyn.run_experiments(names, tmp_path, epochs=1, x_train=digits, frechet_n=32, verbose=1)
    assert capsys.readouterr().out.count("already trained") == 2 and again["baseline"]["frechet"] == first["baseline"]["frechet"]
    assert json.loads((tmp_path / "label_smoothing" / "config.json").read_text())["label_smoothing"] == 0.1
    table = rp.format_experiments(again, markdown=True)
    assert table.count("\n") == 3 and "| label_smoothing |" in table
    import matplotlib.pyplot as plt
    for fig in (dyn.plot_experiments(again, "g_grad_norm"), dyn.plot_digit_shares_over_epochs(again)):
        plt.close(fig)


def test_every_experiment_changes_exactly_what_it_says():
    defaults = {"beta_1": gh.BETA_1, "learning_rate": gh.LEARNING_RATE, "g_loss": "non_saturating",
                "label_smoothing": 0.0, "lr_decay": False, "d_steps": 1, "minibatch_std": False}
    for name, (what, change) in dyn.DYNAMICS_EXPERIMENTS.items():
        assert set(change) <= set(defaults) and what
        assert all(change[k] != defaults[k] for k in change), name
    assert dyn.DYNAMICS_EXPERIMENTS["baseline"][1] == {}


def test_shipped_dynamics_results_cover_every_experiment():
    full = json.loads((gh.data_dir() / "results" / "dynamics_full.json").read_text())
    assert set(full["histories"]) == set(dyn.DYNAMICS_EXPERIMENTS)
    for name, history in full["histories"].items():
        assert len(history["epoch"]) == full["settings"]["epochs"] == 10, name
        assert all(f is not None for f in history["frechet"]) and all(len(s) == 10 for s in history["digit_shares"])


def test_cli_trains_a_variant_and_runs_the_dynamics_set(tmp_path, capsys):
    from gan_extras.cli import main
    assert main(["train", "--architecture", "vanilla", "--epochs", "1", "--n-train", "128", "--out",
                 str(tmp_path / "v"), "--d-steps", "2", "--label-smoothing", "0.1", "--lr-decay",
                 "--minibatch-std", "--g-loss", "minimax"]) == 0
    config = json.loads((tmp_path / "v" / "config.json").read_text())
    assert (config["d_steps"], config["g_loss"], config["minibatch_std"]) == (2, "minimax", True)
    assert main(["dynamics", "--out", str(tmp_path / "d"), "--only", "label_smoothing", "--epochs", "1",
                 "--n-train", "128", "--save", str(tmp_path / "d.json")]) == 0
    assert "| label_smoothing |" in capsys.readouterr().out
    saved = json.loads((tmp_path / "d.json").read_text())
    assert saved["configs"]["label_smoothing"]["label_smoothing"] == 0.1 and saved["settings"]["epochs"] == 1
    assert saved["histories"]["label_smoothing"]["epoch"] == [1]
