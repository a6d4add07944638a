"""The conditional DCGAN (08_conditional_gan) and synthetic data for augmentation (09_augmentation)."""

from __future__ import annotations

import csv
import json

import imageio.v3 as iio
import numpy as np
import pytest
import tensorflow as tf

import gan_helpers as gh

_cache: dict[str, object] = {}


def CG():  # noqa: N802 - an untrained conditional generator, built once
    if "g" not in _cache:
        gh.set_seed(0)
        _cache["g"] = gh.build_conditional_generator()
    return _cache["g"]


def pretrained():
    if "p" not in _cache:
        _cache["p"] = gh.load_pretrained_conditional_generator()
    return _cache["p"]


# --- models and labels -------------------------------------------------------------------------

def test_conditional_models_shapes_and_label_inputs():
    g, d = CG(), gh.build_conditional_discriminator()
    z = gh.latent_vectors(6, seed=1)
    labels = np.array([0, 1, 2, 7, 8, 9], np.int32)
    images = g([z, labels], training=False)
    assert tuple(images.shape) == (6, 28, 28, 1)
    assert float(np.abs(images).max()) <= 1.0
    assert tuple(d([images, tf.constant(labels)], training=False).shape) == (6, 1)
    assert gh.is_conditional(g) and not gh.is_conditional(gh.build_generator())
    assert gh.latent_dim_of(g) == 100 and gh.latent_dim_of(gh.build_conditional_generator(16)) == 16
    # The label is an input like z: the embedding adds 10 × 50 numbers to the generator.
    extra = g.count_params() - gh.build_generator().count_params()
    assert extra == gh.N_CLASSES * gh.LABEL_EMBEDDING + gh.LABEL_EMBEDDING * 7 * 7 * gh.PROJECTION_CHANNELS


def test_the_label_changes_the_image_for_the_same_z():
    z = np.repeat(gh.latent_vectors(1, seed=3), 10, axis=0)
    images = gh.generate(CG(), z, np.arange(10))
    assert all(np.abs(images[i] - images[0]).max() > 1e-4 for i in range(1, 10))


def test_generate_insists_on_labels_exactly_when_the_generator_is_conditional():
    z = gh.latent_vectors(3)
    with pytest.raises(ValueError, match="labels: this generator is conditional"):
        gh.generate(CG(), z)
    with pytest.raises(ValueError, match="not conditional"):
        gh.generate(gh.build_generator(), z, [1, 2, 3])
    with pytest.raises(ValueError, match="one label per image: 3 expected, got 2"):
        gh.generate(CG(), z, [1, 2])


@pytest.mark.parametrize("labels, error, words", [
    (10, ValueError, "digits 0-9, got 10"), ([-1, 3], ValueError, "got -1"),
    ([2.0], TypeError, "integer digits"), (["3"], TypeError, "integer digits"),
    ([True, False], TypeError, "booleans|integer digits"), (True, TypeError, "booleans"),
    ([[1, 2]], ValueError, r"shape \(n,\)"), (None, TypeError, "integer digits"),
])
def test_bad_labels_are_named(labels, error, words):
    with pytest.raises(error, match=words):
        gh.generate_digits(CG(), labels)


def test_generate_digits_is_deterministic_for_a_seed_and_needs_a_conditional_generator():
    a = gh.generate_digits(CG(), [3, 3, 5], seed=7)
    assert a.shape == (3, 28, 28) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, gh.generate_digits(CG(), [3, 3, 5], seed=7))
    assert gh.generate_digits(CG(), 4).shape == (1, 28, 28)
    assert gh.generate_digits(CG(), []).shape == (0, 28, 28)
    with pytest.raises(ValueError, match="generator must be conditional"):
        gh.generate_digits(gh.build_generator(), [1])


def test_balanced_labels_and_frame_inputs():
    assert gh.balanced_labels(gh.build_generator(), 5) is None
    np.testing.assert_array_equal(gh.balanced_labels(CG(), 12), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1])
    z, labels = gh.frame_inputs(CG())
    assert z.shape == (100, 100) and labels.shape == (100,)
    # rows = digits, columns = the same ten z's
    assert (labels.reshape(10, 10) == np.arange(10)[:, None]).all()
    np.testing.assert_array_equal(z[0], z[10])
    z_plain, none = gh.frame_inputs(gh.build_generator())
    assert z_plain.shape == (16, 100) and none is None


# --- training ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    (x, y), _ = gh.load_mnist()
    out = tmp_path_factory.mktemp("conditional")
    run = gh.train(out, architecture="conditional", x_train=x[:512], y_train=y[:512], epochs=2, batch_size=128,
                   checkpoint_every=1, frechet_every=1, frechet_n=100, verbose=0)
    return run, x, y


def test_conditional_training_writes_checkpoints_frames_and_label_accuracy(short_run):
    run, _, _ = short_run
    assert gh.checkpoint_epochs(run.out_dir) == [1, 2]
    assert json.loads((run.out_dir / "config.json").read_text())["architecture"] == "conditional"
    accuracy = run.history["label_accuracy"]
    assert len(accuracy) == 2 and all(0 <= a <= 1 for a in accuracy)
    frame = iio.imread(run.out_dir / "frames" / "epoch_0002.png")
    assert frame.shape == ((10 * 30 + 2) * 3,) * 2  # 10 × 10 digits, rows = 0-9
    restored = gh.load_generator_from_checkpoint(run.out_dir)
    assert gh.is_conditional(restored)
    z = gh.latent_vectors(4)
    np.testing.assert_allclose(gh.generate(restored, z, [0, 1, 2, 3]),
                               gh.generate(run.generator, z, [0, 1, 2, 3]), atol=1e-5)


def test_average_generator_is_the_mean_of_the_checkpoints_weights(short_run, tmp_path, monkeypatch):
    run, _, _ = short_run
    # The evaluations themselves are tested elsewhere; here only which generator each one sees.
    seen = []
    monkeypatch.setattr(gh, "evaluate_generator", lambda g, n: seen.append(g.get_weights()[0].copy()) or {"n": n})
    monkeypatch.setattr(gh, "evaluate_conditional", lambda g, n: {"n_per_class": n})
    one, two = (gh.load_generator_from_checkpoint(run.out_dir, e) for e in (1, 2))
    mean = gh.average_generator(run.out_dir, [1, 2])
    for a, b, m in zip(one.get_weights(), two.get_weights(), mean.get_weights()):
        np.testing.assert_allclose(m, (a + b) / 2, rtol=1e-6, atol=1e-7)
    record = gh.export_generator(run.out_dir, tmp_path / "avg.keras", epoch=2, n_eval=20, average=2)
    assert record["weights_averaged_over_epochs"] == [1, 2] and "--average 2" in record["trained_with"]
    assert record["conditional_evaluation"]["n_per_class"] == 2
    assert record["last_checkpoint_conditional_evaluation"]["n_per_class"] == 2
    np.testing.assert_allclose(seen[0], mean.get_weights()[0], rtol=1e-6)   # the export: the average
    np.testing.assert_allclose(seen[1], two.get_weights()[0], rtol=1e-6)    # beside it: epoch 2 alone
    assert gh.gif_info(tmp_path / "avg_progress.gif")["frames"] == 3
    with pytest.raises(ValueError, match="average: 5 checkpoints up to epoch 2 asked for"):
        gh.export_generator(run.out_dir, tmp_path / "x.keras", epoch=2, average=5)


def test_conditional_training_resumes_and_refuses_another_architecture(short_run):
    run, x, y = short_run
    resumed = gh.train(run.out_dir, architecture="conditional", x_train=x[:512], y_train=y[:512], epochs=3,
                       batch_size=128, checkpoint_every=1, verbose=0)
    assert resumed.resumed_from == 2 and resumed.history["epoch"][-1] == 3
    with pytest.raises(ValueError, match="architecture: saved conditional, now dcgan"):
        gh.train(run.out_dir, x_train=x[:512], epochs=4, batch_size=128, verbose=0)


def test_conditional_training_needs_labels_and_a_known_architecture(tmp_path):
    images = np.zeros((256, 28, 28), np.uint8)
    with pytest.raises(ValueError, match="y_train: architecture='conditional' needs the labels"):
        gh.train(tmp_path, architecture="conditional", x_train=images, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="architecture must be one of"):
        gh.train(tmp_path, architecture="vae", x_train=images, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="one label per image"):
        gh.make_dataset(images, 128, labels=np.zeros(3, np.int64))


def test_a_mixed_pair_is_refused():
    with pytest.raises(ValueError, match="both be conditional"):
        state = gh.new_gan_state()
        gh.make_train_step(CG(), state.discriminator, state.g_optimizer, state.d_optimizer, state.rng)


# --- synthetic datasets ------------------------------------------------------------------------

def test_make_synthetic_dataset_round_trip_through_load_mnist(tmp_path):
    path = tmp_path / "synthetic" / "digits.npz"
    record = gh.make_synthetic_dataset(CG(), 6, path, n_test_per_class=2, seed=3, png_dir=tmp_path / "png")
    (x, y), (xt, yt) = gh.load_mnist(path)
    assert x.shape == (60, 28, 28) and x.dtype == np.uint8 and y.dtype == np.uint8
    assert xt.shape == (20, 28, 28) and yt.dtype == np.uint8
    assert np.bincount(y, minlength=10).tolist() == [6] * 10 == record["train_counts"]
    assert np.bincount(yt, minlength=10).tolist() == [2] * 10
    assert not (np.diff(y.astype(int)) == 1).all()  # shuffled, not sorted by digit
    # the images are the generator's digits for those labels
    assert json.loads(path.with_suffix(".json").read_text())["n_per_class"] == 6
    pngs = sorted((tmp_path / "png").rglob("*.png"))
    assert len(pngs) == record["pngs"] == 80
    assert len(list((tmp_path / "png" / "train" / "7").glob("*.png"))) == 6
    assert iio.imread(pngs[0]).shape == (28, 28)
    # same seed, same data
    gh.make_synthetic_dataset(CG(), 6, tmp_path / "again.npz", n_test_per_class=2, seed=3)
    np.testing.assert_array_equal(gh.load_mnist(tmp_path / "again.npz")[0][0], x)


def test_make_synthetic_dataset_refuses_bad_input_and_keeps_an_older_file(tmp_path):
    path = tmp_path / "kept.npz"
    gh.make_synthetic_dataset(CG(), 1, path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="generator must be conditional"):
        gh.make_synthetic_dataset(gh.build_generator(), 1, path)
    with pytest.raises(ValueError, match="n_per_class must be >= 1"):
        gh.make_synthetic_dataset(CG(), 0, path)
    with pytest.raises(ValueError, match="ending in .npz"):
        gh.make_synthetic_dataset(CG(), 1, tmp_path / "digits.csv")
    assert path.read_bytes() == before


def test_load_mnist_layout_checks_still_apply_to_smaller_files(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, x_train=np.zeros((5, 28, 28), np.uint8), y_train=np.zeros(4, np.uint8),
             x_test=np.zeros((0, 28, 28), np.uint8), y_test=np.zeros(0, np.uint8))
    with pytest.raises(ValueError, match=r"y_train has shape \(4,\).*expected \(5,\)"):
        gh.load_mnist(bad)


# --- the pretrained conditional generator --------------------------------------------------------

def test_pretrained_conditional_generator_draws_the_digit_asked_for():
    record = json.loads(gh.CONDITIONAL_GENERATOR_PATH.with_suffix(".json").read_text())
    per_class = record["conditional_evaluation"]["accuracy"]
    assert len(per_class) == 10 and min(per_class) >= 0.95, per_class
    assert record["conditional_evaluation"]["n_per_class"] >= 1_000
    # and it still does: 100 samples of every digit, read by the kit's classifier
    images = gh.generate_digits(pretrained(), np.repeat(np.arange(10), 100), seed=5)
    read = gh.classifier_probabilities(images).argmax(1).reshape(10, 100)
    assert ((read == np.arange(10)[:, None]).mean(1) >= 0.9).all()
    gif = gh.gif_info(gh.CONDITIONAL_GENERATOR_PATH.with_name("conditional_generator_progress.gif"))
    assert gif["frames"] == record["epochs"] + 1 and gif["loop"] == 0


def test_trained_generator_can_ask_for_the_conditional_one(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_OUTPUTS", str(tmp_path))
    generator, about = gh.trained_generator(conditional=True)
    assert gh.is_conditional(generator) and "pretrained conditional generator" in about
    with pytest.raises(TypeError, match="conditional must be True or False"):
        gh.trained_generator(conditional="yes")
    with pytest.raises(ValueError, match="takes no labels"):
        gh.load_pretrained_conditional_generator(gh.PRETRAINED_GENERATOR_PATH)


# --- the explorer's digit picker -----------------------------------------------------------------

def test_explorer_digit_picker_redraws_and_only_exists_for_conditional_generators():
    directions = {"a": np.eye(100)[0], "b": np.eye(100)[1]}
    explorer = gh.LatentExplorer(CG(), directions, classify=True, digit=2)
    assert explorer.digit == 2 and "asked for 2" in explorer.readout.value
    before, updates = explorer.image.value, explorer.updates
    explorer.digit_picker.value = 6
    assert explorer.updates == updates + 1 and explorer.image.value != before
    assert "asked for 6" in explorer.readout.value
    assert "gan-digit-picker" in explorer.digit_picker._dom_classes
    images = explorer.show_neighbourhood(steps=3)
    assert images.shape == (9, 28, 28, 1)
    plain = gh.LatentExplorer(gh.build_generator(), directions, classify=False)
    assert plain.digit_picker is None and plain.digit is None
    with pytest.raises(ValueError, match="digit must be digits 0-9"):
        gh.LatentExplorer(CG(), directions, digit=12)


def test_explorer_directions_work_for_a_conditional_generator():
    directions = gh.explorer_directions(CG(), n=300)
    assert set(directions) == {"thickness", "slant", "width", "PC 1", "PC 2"}
    assert all(abs(np.linalg.norm(v) - 1) < 1e-5 for v in directions.values())


# --- the augmentation experiment -----------------------------------------------------------------

def test_real_subset_is_balanced_and_seeded():
    (x, y), _ = gh.load_mnist()
    xs, ys = gh.real_subset(x[:2_000], y[:2_000], 7, seed=1)
    assert xs.shape == (70, 28, 28) and np.bincount(ys, minlength=10).tolist() == [7] * 10
    np.testing.assert_array_equal(xs, gh.real_subset(x[:2_000], y[:2_000], 7, seed=1)[0])
    assert not np.array_equal(xs, gh.real_subset(x[:2_000], y[:2_000], 7, seed=2)[0])
    with pytest.raises(ValueError, match="n_per_class: digit"):
        gh.real_subset(x[:100], y[:100], 50)


def test_augmentation_experiment_writes_rows_as_it_goes_and_resumes(tmp_path):
    (x, y), (xt, yt) = gh.load_mnist()
    mnist = ((x[:3_000], y[:3_000]), (xt[:500], yt[:500]))
    path = tmp_path / "augmentation.csv"
    rows = gh.augmentation_experiment(CG(), path, n_values=(5,), ratios=(2,), seeds=(0,), steps=20,
                                      mnist=mnist, verbose=False)
    conditions = [r["condition"] for r in rows]
    assert conditions == ["real only", "real + shifts/rotations", "real + 2× synthetic", "synthetic only"]
    with path.open(newline="") as f:
        saved = list(csv.DictReader(f))
    assert [r["condition"] for r in saved] == conditions
    assert {int(r["n_synthetic"]) for r in saved} == {0, 100, 50}
    assert all(0 <= float(r["test_accuracy"]) <= 1 for r in saved)
    # a second call finds every row done and trains nothing
    again = gh.augmentation_experiment(CG(), path, n_values=(5,), ratios=(2,), seeds=(0,), steps=20,
                                       mnist=mnist, verbose=False)
    assert [r["test_accuracy"] for r in again] == [r["test_accuracy"] for r in rows]
    summary = gh.summarize_augmentation(again)
    assert summary["real only"][5][2] == 1
    table = gh.format_augmentation(again, markdown=True)
    assert table.startswith("| condition | n = 5/class |") and table.count("\n") == 5
    gh.plot_augmentation(again)


def test_small_classifier_learns_from_real_digits():
    (x, y), (xt, yt) = gh.load_mnist()
    model = gh.train_small_classifier(x[:2_000], y[:2_000], steps=150, seed=0)
    assert model.count_params() == 34_826
    assert gh.real_test_accuracy(model, xt[:1_000], yt[:1_000]) > 0.85
