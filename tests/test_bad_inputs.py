"""Every public function of gan_helpers, fed bad input, raises a clear error naming the argument.

One table: (function, call, expected exception, words the message must contain).
test_every_public_function_is_in_the_table keeps the table complete as the module
grows; the last test prints the summary line (tried / clear errors).
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import gan_helpers as gh

#: Public names that take no argument a user could get wrong.
NO_ARGUMENTS = {"quick_mode", "data_dir", "run_settings", "device_report", "build_discriminator",
                "build_classifier", "TrainingDiverged", "TrainingRun", "GANState", "CheckpointDamaged",
                "build_conditional_discriminator", "build_small_classifier", "dynamics_settings", "MinibatchStdDev",
                "default_precision", "default_strategy"}

_cache: dict[str, object] = {}


def G():  # noqa: N802 - a tiny shared generator, built once
    if "g" not in _cache:
        _cache["g"] = gh.build_generator()
    return _cache["g"]


def CG():  # noqa: N802 - a conditional generator
    if "cg" not in _cache:
        _cache["cg"] = gh.build_conditional_generator()
    return _cache["cg"]


def D():  # noqa: N802
    if "d" not in _cache:
        _cache["d"] = gh.build_discriminator()
    return _cache["d"]


IMAGES = np.zeros((8, 28, 28), np.uint8)
MISSING = "/nonexistent/gan-kit/nothing"
DENIED = (TypeError, ValueError, FileNotFoundError, PermissionError)


def _read_only_dir(tmp: Path) -> Path:
    folder = tmp / "read-only"
    folder.mkdir(exist_ok=True)
    folder.chmod(0o500)
    return folder


# (function name, call taking tmp_path, exception, regex the message must match)
TABLE = [
    ("output_dir", lambda t: gh.output_dir(5), TypeError, "name must be a string"),
    ("set_seed", lambda t: gh.set_seed(-1), ValueError, "seed must be >= 0"),
    ("set_seed", lambda t: gh.set_seed("1"), TypeError, "seed must be an integer"),
    ("show_source", lambda t: gh.show_source(42), TypeError, "function must be a Python function"),
    ("load_mnist", lambda t: gh.load_mnist(MISSING + ".npz"), FileNotFoundError, "nothing.npz"),
    ("to_float", lambda t: gh.to_float(np.zeros((2, 28, 28), np.float32)), TypeError, "images must be uint8"),
    ("to_uint8", lambda t: gh.to_uint8(np.zeros((2, 27, 28))), ValueError, "images must have shape"),
    ("mean_images_by_digit", lambda t: gh.mean_images_by_digit(IMAGES, np.zeros(3)), ValueError, "labels"),
    ("make_dataset", lambda t: gh.make_dataset(IMAGES, 0), ValueError, "batch_size must be >= 1"),
    ("make_dataset", lambda t: gh.make_dataset(IMAGES, 16), ValueError, "batch_size"),
    ("build_generator", lambda t: gh.build_generator(0), ValueError, "latent_dim must be >= 1"),
    ("latent_dim_of", lambda t: gh.latent_dim_of("generator"), TypeError, "generator must be a keras.Model"),
    ("latent_vectors", lambda t: gh.latent_vectors(0), ValueError, "n must be >= 1"),
    ("generate", lambda t: gh.generate(G(), np.zeros((2, 7))), ValueError, r"z must have shape \(n, 100\)"),
    ("sample_digits", lambda t: gh.sample_digits(G(), -3), ValueError, "n must be >= 1"),
    ("discriminator_loss", lambda t: gh.discriminator_loss(np.zeros((4, 1)), np.zeros((4, 3))),
     ValueError, "fake_logits must have shape"),
    ("generator_loss", lambda t: gh.generator_loss(np.zeros((4, 2))), ValueError, "fake_logits must have shape"),
    ("minimax_generator_loss", lambda t: gh.minimax_generator_loss("x"), TypeError, "fake_logits"),
    ("make_optimizer", lambda t: gh.make_optimizer(learning_rate=0), ValueError, "learning_rate must be in"),
    ("make_optimizer", lambda t: gh.make_optimizer(beta_1=1.0), ValueError, r"beta_1 must be in \[0, 1\)"),
    ("make_train_step", lambda t: gh.make_train_step(D(), G(), gh.make_optimizer(), gh.make_optimizer(),
                                                     None), ValueError, "generator must map"),
    ("new_gan_state", lambda t: gh.new_gan_state(latent_dim=-5), ValueError, "latent_dim must be >= 1"),
    ("load_history", lambda t: gh.load_history(MISSING), FileNotFoundError, "history.json"),
    ("train", lambda t: gh.train(t, epochs=0, x_train=IMAGES), ValueError, "epochs must be >= 1"),
    ("restore_or_initialize", lambda t: gh.restore_or_initialize("state", t), TypeError, "state must be a GANState"),
    ("checkpoint_epochs", lambda t: gh.checkpoint_epochs(None), TypeError, "out_dir"),
    ("fall_back_checkpoint", lambda t: gh.fall_back_checkpoint(t), FileNotFoundError,
     "falling back needs an earlier one"),
    ("load_generator_from_checkpoint", lambda t: gh.load_generator_from_checkpoint(t), FileNotFoundError,
     "out_dir: no checkpoints"),
    ("trained_run_dir", lambda t: gh.trained_run_dir(train_if_missing="no"), TypeError, "train_if_missing"),
    ("load_keras_file", lambda t: gh.load_keras_file(MISSING, "model", "retrain it"), FileNotFoundError,
     "no model at"),
    ("load_pretrained_generator", lambda t: gh.load_pretrained_generator(MISSING), FileNotFoundError,
     "no pretrained generator"),
    ("trained_generator", lambda t: gh.trained_generator("best"), ValueError, "source must be"),
    ("export_generator", lambda t: gh.export_generator(t, t / "g.keras"), FileNotFoundError, "no checkpoints"),
    ("image_grid", lambda t: gh.image_grid(IMAGES, 3, 3), ValueError, "fewer than rows"),
    ("save_frame", lambda t: gh.save_frame(G(), np.zeros((4, 3)), t / "f.png"), ValueError, "z must have shape"),
    ("make_gif", lambda t: gh.make_gif(t, t / "x.gif"), FileNotFoundError, "frames_dir: no epoch_"),
    ("gif_info", lambda t: gh.gif_info(MISSING + ".gif"), FileNotFoundError, "gif_path"),
    ("plot_grid", lambda t: gh.plot_grid(IMAGES, 1, 2, titles=["a"]), ValueError, "titles has 1 entries"),
    ("plot_history", lambda t: gh.plot_history({"g_loss": [1.0]}), ValueError, "history must have"),
    ("train_classifier", lambda t: gh.train_classifier(t / "c.keras", epochs=0), ValueError,
     "epochs must be >= 1"),
    ("load_classifier", lambda t: gh.load_classifier(MISSING), FileNotFoundError, "no classifier"),
    ("classifier_features", lambda t: gh.classifier_features(np.zeros((2, 14, 14))), ValueError, "images"),
    ("classifier_probabilities", lambda t: gh.classifier_probabilities("digits"), TypeError, "images"),
    ("frechet_distance", lambda t: gh.frechet_distance(IMAGES[:1], IMAGES), ValueError, "images_a"),
    ("frechet_from_features", lambda t: gh.frechet_from_features(np.zeros((5, 4)), np.zeros((5, 3))),
     ValueError, "fa and fb"),
    ("classifier_score", lambda t: gh.classifier_score(np.zeros((0, 28, 28), np.uint8)), ValueError, "images"),
    ("digit_histogram", lambda t: gh.digit_histogram(np.zeros((3, 28)), ), ValueError, "images"),
    ("precision_recall", lambda t: gh.precision_recall(IMAGES, IMAGES, k=0), ValueError, "k must be >= 1"),
    ("nearest_training_neighbours", lambda t: gh.nearest_training_neighbours(IMAGES, np.zeros((0, 28, 28))),
     ValueError, "x_train"),
    ("image_statistics", lambda t: gh.image_statistics(np.zeros((2, 28, 29))), ValueError, "images"),
    ("evaluate_images", lambda t: gh.evaluate_images(IMAGES[:2], IMAGES), ValueError, "fake"),
    ("evaluate_generator", lambda t: gh.evaluate_generator(G(), n=2), ValueError, "n must be >= 4"),
    ("format_evaluation", lambda t: gh.format_evaluation({"n": 3}), ValueError, "result must come from"),
    ("compare_runs", lambda t: gh.compare_runs({"a": t}), FileNotFoundError, "evaluation.json"),
    ("format_comparison", lambda t: gh.format_comparison({}), ValueError, "comparison must come from"),
    ("plot_digit_shares", lambda t: gh.plot_digit_shares({"a": np.ones(3)}), ValueError, "shares"),
    ("plot_image_statistics", lambda t: gh.plot_image_statistics(IMAGES, np.zeros((2, 5, 5))), ValueError, "fake"),
    ("interpolate", lambda t: gh.interpolate(np.zeros(3), np.zeros(4)), ValueError, "z1 must be one latent vector"),
    ("attribute_directions", lambda t: gh.attribute_directions(G(), n=50), ValueError, "n must be >= 102"),
    ("principal_directions", lambda t: gh.principal_directions(G(), k=0), ValueError, "k must be >= 1"),
    ("explorer_directions", lambda t: gh.explorer_directions(D()), ValueError, "generator must map"),
    ("neighbourhood", lambda t: gh.neighbourhood(np.zeros(3), np.zeros(3), np.ones(3)), ValueError, "d1 is zero"),
    ("png_bytes", lambda t: gh.png_bytes(IMAGES, scale=2), ValueError, "one 28×28 image"),
    ("LatentExplorer", lambda t: gh.LatentExplorer(G(), {"a": np.ones(5)}), ValueError, r"shape \(100,\)"),
    ("InterpolationExplorer", lambda t: gh.InterpolationExplorer(G(), scale=0), ValueError, "scale must be >= 1"),
    ("estimate_epoch_seconds", lambda t: gh.estimate_epoch_seconds(steps=0), ValueError, "steps must be >= 1"),
    ("check_labels", lambda t: gh.check_labels([1.5]), TypeError, "labels must be integer digits"),
    ("build_conditional_generator", lambda t: gh.build_conditional_generator(0), ValueError,
     "latent_dim must be >= 1"),
    ("is_conditional", lambda t: gh.is_conditional("G"), TypeError, "generator must be a keras.Model"),
    ("balanced_labels", lambda t: gh.balanced_labels(CG(), -1), ValueError, "n must be >= 0"),
    ("frame_inputs", lambda t: gh.frame_inputs(CG(), seed=-2), ValueError, "seed must be >= 0"),
    ("load_pretrained_conditional_generator", lambda t: gh.load_pretrained_conditional_generator(MISSING),
     FileNotFoundError, "no pretrained conditional generator"),
    ("generate_digits", lambda t: gh.generate_digits(CG(), [3, 11]), ValueError, "labels must be digits 0-9, got 11"),
    ("make_synthetic_dataset", lambda t: gh.make_synthetic_dataset(G(), 5, t / "s.npz"), ValueError,
     "generator must be conditional"),
    ("evaluate_conditional", lambda t: gh.evaluate_conditional(CG(), n_per_class=1), ValueError,
     "n_per_class must be >= 2"),
    ("format_conditional_evaluation", lambda t: gh.format_conditional_evaluation({"accuracy": []}), ValueError,
     "result must be gh.evaluate_conditional"),
    ("train_small_classifier", lambda t: gh.train_small_classifier(IMAGES, np.zeros(8), steps=1), TypeError,
     "y must be integer digits"),
    ("real_test_accuracy", lambda t: gh.real_test_accuracy(None, IMAGES, np.zeros(7, int)), ValueError,
     "y_test must have one label per image"),
    ("real_subset", lambda t: gh.real_subset(IMAGES, np.zeros(8, int), 0), ValueError, "n_per_class must be >= 1"),
    ("augmentation_experiment", lambda t: gh.augmentation_experiment(CG(), t / "a.csv", ratios=(0,)),
     ValueError, "ratios must be positive"),
    ("summarize_augmentation", lambda t: gh.summarize_augmentation([]), ValueError, "rows must be"),
    ("format_augmentation", lambda t: gh.format_augmentation([{"n": 1}]), ValueError, "rows must be"),
    ("plot_augmentation", lambda t: gh.plot_augmentation(None), ValueError, "rows must be"),
    ("average_generator", lambda t: gh.average_generator(t, []), ValueError, "at least one checkpointed epoch"),
    ("main", lambda t: gh.main(["train", "--epochs", "0", "--out", str(t)]), ValueError, "epochs must be >= 1"),
    # 02_vanilla_gan and 10_training_dynamics
    ("build_vanilla_generator", lambda t: gh.build_vanilla_generator(0), ValueError, "latent_dim must be >= 1"),
    ("build_vanilla_discriminator", lambda t: gh.build_vanilla_discriminator(minibatch_std="yes"), TypeError,
     "minibatch_std must be True or False"),
    ("build_discriminator", lambda t: gh.build_discriminator(minibatch_std=1), TypeError,
     "minibatch_std must be True or False"),
    ("discriminator_loss", lambda t: gh.discriminator_loss(np.zeros((2, 1), np.float32), np.zeros((2, 1), np.float32),
                                                           label_smoothing=0.7), ValueError, r"label_smoothing must be in \[0, 0.5\)"),
    ("make_optimizer", lambda t: gh.make_optimizer(decay_steps=-1), ValueError, "decay_steps must be >= 0"),
    ("lr_schedule", lambda t: gh.lr_schedule(2e-4, 0), ValueError, "decay_steps must be >= 1"),
    ("make_train_step", lambda t: gh.make_train_step(G(), D(), None, None, None, d_steps=0), ValueError,
     "d_steps must be >= 1"),
    ("train", lambda t: gh.train(t, epochs=1, x_train=IMAGES, g_loss="hinge"), ValueError,
     "g_loss must be one of"),
    ("train", lambda t: gh.train(t, epochs=1, x_train=IMAGES, label_smoothing=-0.1), ValueError,
     "label_smoothing must be in"),
    ("pretrained_path", lambda t: gh.pretrained_path("gpt"), ValueError, "architecture must be one of"),
    ("wasserstein_generator_loss", lambda t: gh.wasserstein_generator_loss(np.zeros((2, 3), np.float32)), ValueError,
     "fake_scores must have shape"),
    ("critic_loss", lambda t: gh.critic_loss("high", np.zeros((2, 1), np.float32), 0.0), TypeError,
     "real_scores must be floating-point"),
    ("make_train_step", lambda t: gh.make_train_step(G(), D(), None, None, None, gradient_penalty=-1), ValueError,
     "gradient_penalty must be a number >= 0"),
    ("architecture_entry", lambda t: gh.architecture_entry({}, {}, {}), ValueError, "evaluation must be a dict"),
    ("format_architectures", lambda t: gh.format_architectures({}), ValueError, "entries must be a non-empty dict"),
    ("vanilla_vs_dcgan", lambda t: gh.vanilla_vs_dcgan(t), ValueError, "holds no vanilla run"),
    ("run_experiments", lambda t: gh.run_experiments(["baseline", "no_such_run"], t), ValueError,
     "unknown experiment"),
    ("run_experiments", lambda t: gh.run_experiments("baseline", t), TypeError, "names must be a non-empty list"),
    ("gradient_probe", lambda t: gh.gradient_probe(0), ValueError, "steps must be >= 1"),
    ("gradient_probe", lambda t: gh.gradient_probe(5, g_loss="hinge", x_train=IMAGES), ValueError,
     "g_loss must be one of"),
    ("format_experiments", lambda t: gh.format_experiments({}), ValueError, "histories must be a non-empty dict"),
    ("plot_experiments", lambda t: gh.plot_experiments({"a": {"epoch": [1]}}, key="colour"), ValueError,
     "key must be a per-epoch number"),
    ("plot_digit_shares_over_epochs", lambda t: gh.plot_digit_shares_over_epochs(
        {"a": {"epoch": [1], "digit_shares": [None]}}), ValueError, "has no digit_shares"),
    # Speed settings (README "Speed", tests/test_speed.py)
    ("multiply_adds", lambda t: gh.multiply_adds("generator"), TypeError, "model must be a keras.Model"),
    ("build_pair", lambda t: gh.build_pair("dcgan", kernel_size=9), ValueError, "kernel_size must be an int from 2 to 7"),
    ("build_pair", lambda t: gh.build_pair("gan"), ValueError, "architecture must be one of"),
    ("build_generator", lambda t: gh.build_generator(projection_channels=0), ValueError,
     "projection_channels must be >= 1"),
    ("build_discriminator", lambda t: gh.build_discriminator(kernel_size=4.0), ValueError, "kernel_size must be an int"),
    ("new_gan_state", lambda t: gh.new_gan_state(precision="float8"), ValueError, "precision must be 'auto' or one of"),
    ("train", lambda t: gh.train(t, epochs=1, x_train=IMAGES, precision="half"), ValueError, "precision must be"),
    ("train", lambda t: gh.train(t, epochs=1, x_train=IMAGES, strategy="mirrored"), TypeError,
     "strategy must be a tf.distribute.Strategy"),
    ("train", lambda t: gh.train(t, epochs=1, x_train=IMAGES, jit_compile=1), TypeError, "jit_compile must be True or False"),
    ("make_train_step", lambda t: gh.make_train_step(G(), D(), None, None, None, strategy=tf.distribute), TypeError,
     "strategy must be a tf.distribute.Strategy"),
]

_results: list[bool] = []


def test_every_public_function_is_in_the_table():
    public = {name for name, obj in vars(gh).items()
              if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
              and getattr(obj, "__module__", "") == "gan_helpers"}
    covered = {name for name, *_ in TABLE}
    assert not covered - public, f"table names unknown functions: {sorted(covered - public)}"
    missing = public - covered - NO_ARGUMENTS
    assert not missing, f"public functions without a bad-input case: {sorted(missing)}"


@pytest.mark.parametrize("name, call, error, words", TABLE, ids=[f"{row[0]}-{i}" for i, row in enumerate(TABLE)])
def test_bad_input_gives_a_clear_error(name, call, error, words, tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_OUTPUTS", str(tmp_path / "outputs"))
    clear = False
    try:
        with pytest.raises(error, match=words) as info:
            call(tmp_path)
        assert isinstance(info.value, DENIED)
        clear = True
    finally:
        _results.append(clear)
        for folder in tmp_path.glob("read-only"):
            folder.chmod(0o700)


def test_summary_line(capsys):
    if not _results:
        pytest.skip("run with the table's tests to get the summary")
    line = (f"bad inputs: {len(_results)} tried on {len({r[0] for r in TABLE})} public functions, "
            f"{sum(_results)} gave a clear error")
    with capsys.disabled():
        print("\n" + line)
    assert sum(_results) == len(_results), line


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_read_only_folder_is_refused_before_training(tmp_path):
    with pytest.raises(PermissionError, match="not writable"):
        gh.train(_read_only_dir(tmp_path), epochs=1, x_train=IMAGES)
