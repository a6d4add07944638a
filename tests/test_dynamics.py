"""The vanilla GAN (02) and the training-dynamics switches (10): each variant builds, trains a step and is recorded."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import gan_helpers as gh


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
    assert gh.ARCHITECTURES["vanilla"] == (gh.build_vanilla_generator, gh.build_vanilla_discriminator)


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
    assert gh.pretrained_path("vanilla").name == "vanilla_generator.keras"
    assert gh.pretrained_path("dcgan") == gh.PRETRAINED_GENERATOR_PATH
    assert gh.pretrained_path("conditional") == gh.CONDITIONAL_GENERATOR_PATH
    gh.train(tmp_path / "run", architecture="vanilla", epochs=1, x_train=digits, batch_size=128, verbose=0)
    record = gh.export_generator(tmp_path / "run", tmp_path / "v.keras", n_eval=8)
    assert "--architecture vanilla" in record["trained_with"]
    assert gh.load_pretrained_generator(tmp_path / "v.keras").name == "vanilla_generator"
    comparison = gh.vanilla_vs_dcgan(tmp_path / "run", n=8, samples_png=tmp_path / "s.png")
    vanilla, dcgan = comparison["entries"]
    assert vanilla == "vanilla (1 epochs)" and dcgan.startswith("DCGAN (")
    assert comparison["entries"][vanilla]["generator_params"] == 1_486_352 and (tmp_path / "s.png").stat().st_size > 0


def test_architecture_table(tmp_path):
    floor = {"frechet_distance": 0.03, "classifier_score": 9.7, "coverage_entropy": 1.0, "min_digit_share": 0.09,
             "precision": 0.9, "recall": 0.9}
    evaluation = {"generator": {**floor, "frechet_distance": 5.0, "n": 100}, "real_vs_real": floor}
    entry = gh.architecture_entry(evaluation, {"epoch": [1, 2], "seconds": [10.0, 12.0]},
                                  {"generator_params": 10, "discriminator_params": 20})
    assert entry["seconds_per_epoch"] == 11.0 and entry["epochs"] == 2 and entry["frechet_distance"] == 5.0
    table = gh.format_architectures({"a": entry, "b": entry}, markdown=True)
    assert table.count("\n") == 13 and "| seconds per epoch (median as recorded) | 11.0 | 11.0 |  |" in table
    timed = gh.format_architectures({"a": {**entry, "seconds_timed_alone": 3.0}})
    assert [line.split()[-1] for line in timed.splitlines() if "timed alone here" in line] == ["3.0"]
    assert "timed alone" not in table
    assert gh.estimate_epoch_seconds(32, steps=1, n_train=64, architecture="vanilla") > 0


def test_shipped_vanilla_comparison_is_complete():
    full = json.loads((gh.data_dir() / "results" / "vanilla_vs_dcgan.json").read_text())
    vanilla, dcgan = full["entries"].values()
    assert vanilla["epochs"] == dcgan["epochs"] and vanilla["n"] == dcgan["n"] == 10_000
    assert (gh.data_dir() / "results" / "vanilla_vs_dcgan_samples.png").is_file()
    gh.format_architectures(full["entries"])


# -- the switches of 10_training_dynamics ------------------------------------------------------

def _step(d_steps=1, **recipe):
    state = gh.new_gan_state(architecture="vanilla", minibatch_std=recipe.pop("minibatch_std", False))
    name = recipe.pop("g_loss", "non_saturating")
    penalty = gh.GRADIENT_PENALTY if name == "wasserstein" else 0.0
    step = gh.make_train_step(state.generator, state.discriminator, state.g_optimizer, state.d_optimizer,
                              state.rng, gh.G_LOSSES[name], d_steps=d_steps, gradient_penalty=penalty, **recipe)
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


def test_the_dcgan_and_conditional_discriminators_take_minibatch_std_too():
    assert any(isinstance(layer, gh.MinibatchStdDev) for layer in gh.build_discriminator(minibatch_std=True).layers)
    d = gh.build_conditional_discriminator(minibatch_std=True)
    assert d([np.zeros((2, 28, 28, 1), np.float32), np.array([1, 2])]).shape == (2, 1)


def test_minibatch_std_sees_a_collapsed_batch(tmp_path):
    layer = gh.MinibatchStdDev()
    same = layer(np.ones((6, 3), np.float32)).numpy()
    varied = layer(np.arange(18, dtype=np.float32).reshape(6, 3)).numpy()
    assert same.shape == (6, 4) and np.all(same[:, -1] == 0)
    assert np.allclose(varied[:, -1], np.std(np.arange(0, 18, 3)))   # each column's spread, averaged
    d = gh.build_vanilla_discriminator(minibatch_std=True)            # saved and loaded by name, no code
    d.save(tmp_path / "d.keras")
    assert isinstance(keras.models.load_model(tmp_path / "d.keras").layers[-2], gh.MinibatchStdDev)


def test_one_sided_label_smoothing_changes_only_the_real_target():
    real, fake = tf.constant([[3.0], [-1.0]]), tf.constant([[0.5], [-2.0]])
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    expected = bce(tf.fill([2, 1], 0.9), real) + bce(tf.zeros([2, 1]), fake)
    np.testing.assert_allclose(gh.discriminator_loss(real, fake, label_smoothing=0.1), expected, rtol=1e-6)
    np.testing.assert_allclose(gh.discriminator_loss(real, fake), bce(tf.ones([2, 1]), real) + bce(tf.zeros([2, 1]), fake),
                               rtol=1e-6)


def test_minimax_loss_saturates_where_the_non_saturating_one_does_not():
    logits = tf.Variable([[-9.0]])   # D rejects the fake: D(G(z)) = 0.0001
    norms = {}
    for name, loss in gh.G_LOSSES.items():
        with tf.GradientTape() as tape:
            value = loss(logits)
        norms[name] = float(tf.norm(tape.gradient(value, logits)))
    assert norms["minimax"] < 1e-3 < 0.9 < norms["non_saturating"]


def test_wgan_gp_critic_loss_and_its_limits(digits):
    real, fake = tf.constant([[2.0], [4.0]]), tf.constant([[-1.0], [1.0]])
    assert float(gh.critic_loss(real, fake, tf.constant(0.5))) == pytest.approx(0.0 - 3.0 + 5.0)
    assert float(gh.wasserstein_generator_loss(fake)) == 0.0
    state = gh.new_gan_state(architecture="vanilla")
    step = gh.make_train_step(state.generator, state.discriminator, state.g_optimizer, state.d_optimizer, state.rng,
                              gh.wasserstein_generator_loss, gradient_penalty=10.0)
    assert np.isfinite(float(step(tf.constant(gh.to_float(digits[:16])))["d_loss"]))
    with pytest.raises(ValueError, match="takes an unconditional architecture"):
        gh.train(None, architecture="conditional", g_loss="wasserstein", epochs=1, x_train=digits)


def test_lr_decay_is_linear_to_zero_and_survives_resume(tmp_path, digits):
    schedule = gh.lr_schedule(2e-4, 100)
    assert [round(float(schedule(s)), 8) for s in (0, 50, 100, 150)] == [2e-4, 1e-4, 0.0, 0.0]
    run = gh.train(tmp_path, architecture="vanilla", epochs=2, x_train=digits, batch_size=64, lr_decay=True,
                   checkpoint_every=1, verbose=0)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["lr_decay_steps"] == 2 * 4 and int(run.state.g_optimizer.iterations) == 8
    assert float(run.state.g_optimizer.learning_rate) == 0.0
    with pytest.raises(ValueError, match="lr_decay_steps: saved 8, now 12"):   # extending would bend the schedule
        gh.train(tmp_path, architecture="vanilla", epochs=3, x_train=digits, batch_size=64, lr_decay=True, verbose=0)


def test_recipe_is_recorded_and_a_changed_recipe_is_refused(tmp_path, digits):
    gh.train(tmp_path, architecture="vanilla", epochs=1, x_train=digits, batch_size=128, d_steps=2,
             label_smoothing=0.1, g_loss="minimax", minibatch_std=True, verbose=0)
    config = json.loads((tmp_path / "config.json").read_text())
    assert {k: config[k] for k in ("g_loss", "label_smoothing", "d_steps", "minibatch_std")} == \
        {"g_loss": "minimax", "label_smoothing": 0.1, "d_steps": 2, "minibatch_std": True}
    with pytest.raises(ValueError, match="d_steps: saved 2, now 1"):
        gh.train(tmp_path, architecture="vanilla", epochs=2, x_train=digits, batch_size=128,
                 label_smoothing=0.1, g_loss="minimax", minibatch_std=True, verbose=0)


def test_a_run_saved_before_the_switches_existed_resumes(tmp_path, digits):
    gh.train(tmp_path, architecture="vanilla", epochs=1, x_train=digits, batch_size=128, verbose=0)
    config = json.loads((tmp_path / "config.json").read_text())
    for key in ("g_loss", "label_smoothing", "d_steps", "minibatch_std", "lr_decay_steps"):
        del config[key]
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert gh.train(tmp_path, architecture="vanilla", epochs=2, x_train=digits, batch_size=128,
                    verbose=0).resumed_from == 1


def test_history_records_gradients_and_digit_shares(tmp_path, digits):
    run = gh.train(tmp_path, architecture="vanilla", epochs=1, x_train=digits, batch_size=128, frechet_every=1,
                   frechet_n=64, verbose=0)
    shares = run.history["digit_shares"][0]
    assert len(shares) == 10 and abs(sum(shares) - 1) < 1e-3
    assert run.history["g_grad_norm"][0] > 0 and run.history["d_grad_norm"][0] > 0


def test_gradient_probe_records_every_step(digits):
    trace = gh.gradient_probe(6, g_loss="minimax", x_train=digits, batch_size=32, d_steps=2)
    assert set(trace) == {"g_grad_norm", "d_fake", "d_real", "g_loss", "d_loss"}
    assert all(v.shape == (6,) and np.isfinite(v).all() for v in trace.values())


def test_run_experiments_trains_each_once_then_reads_it_back(tmp_path, digits, capsys):
    names = ["baseline", "label_smoothing"]
    first = gh.run_experiments(names, tmp_path, epochs=1, x_train=digits, frechet_n=32, verbose=1)
    assert list(first) == names and all(h["epoch"] == [1] for h in first.values())
    capsys.readouterr()
    again = gh.run_experiments(names, tmp_path, epochs=1, x_train=digits, frechet_n=32, verbose=1)
    assert capsys.readouterr().out.count("already trained") == 2 and again["baseline"]["frechet"] == first["baseline"]["frechet"]
    assert json.loads((tmp_path / "label_smoothing" / "config.json").read_text())["label_smoothing"] == 0.1
    table = gh.format_experiments(again, markdown=True)
    assert table.count("\n") == 3 and "| label_smoothing |" in table
    import matplotlib.pyplot as plt
    for fig in (gh.plot_experiments(again, "g_grad_norm"), gh.plot_digit_shares_over_epochs(again)):
        plt.close(fig)


def test_every_experiment_changes_exactly_what_it_says():
    defaults = {"beta_1": gh.BETA_1, "learning_rate": gh.LEARNING_RATE, "g_loss": "non_saturating",
                "label_smoothing": 0.0, "lr_decay": False, "d_steps": 1, "minibatch_std": False}
    for name, (what, change) in gh.DYNAMICS_EXPERIMENTS.items():
        assert set(change) <= set(defaults) and what
        assert all(change[k] != defaults[k] for k in change), name
    assert gh.DYNAMICS_EXPERIMENTS["baseline"][1] == {}


def test_shipped_dynamics_results_cover_every_experiment():
    full = json.loads((gh.data_dir() / "results" / "dynamics_full.json").read_text())
    assert set(full["histories"]) == set(gh.DYNAMICS_EXPERIMENTS)
    for name, history in full["histories"].items():
        assert len(history["epoch"]) == full["settings"]["epochs"] == 10, name
        assert all(f is not None for f in history["frechet"]) and all(len(s) == 10 for s in history["digit_shares"])


def test_cli_trains_a_variant_and_runs_the_dynamics_set(tmp_path, capsys):
    assert gh.main(["train", "--architecture", "vanilla", "--epochs", "1", "--n-train", "128", "--out",
                    str(tmp_path / "v"), "--d-steps", "2", "--label-smoothing", "0.1", "--lr-decay",
                    "--minibatch-std", "--g-loss", "minimax"]) == 0
    config = json.loads((tmp_path / "v" / "config.json").read_text())
    assert (config["d_steps"], config["g_loss"], config["minibatch_std"]) == (2, "minimax", True)
    assert gh.main(["dynamics", "--out", str(tmp_path / "d"), "--only", "label_smoothing", "--epochs", "1",
                    "--n-train", "128", "--save", str(tmp_path / "d.json")]) == 0
    assert "| label_smoothing |" in capsys.readouterr().out
    saved = json.loads((tmp_path / "d.json").read_text())
    assert saved["configs"]["label_smoothing"]["label_smoothing"] == 0.1 and saved["settings"]["epochs"] == 1
    assert saved["histories"]["label_smoothing"]["epoch"] == [1]
