"""The conditional DCGAN and its labelled synthetic data (08_conditional_gan): gan_extras/conditional.py."""

from __future__ import annotations

import json
import shutil

import imageio.v3 as iio
import numpy as np
import pytest
import tensorflow as tf

import gan_helpers as gh
from gan_extras import conditional as cond
from gan_extras import evaluation as ev
from gan_extras import latent as lat
from gan_extras import runs

_cache: dict[str, object] = {}


def CG():  # noqa: N802 - an untrained conditional generator, built once
    if "g" not in _cache:
        gh.set_seed(0)
        _cache["g"] = cond.build_conditional_generator()
    return _cache["g"]


def pretrained():
    if "p" not in _cache:
        _cache["p"] = cond.load_pretrained_conditional_generator()
    return _cache["p"]


# --- models and labels -------------------------------------------------------------------------

def test_conditional_models_shapes_and_label_inputs():
    g, d = CG(), cond.build_conditional_discriminator()
    z = gh.latent_vectors(6, seed=1)
    labels = np.array([0, 1, 2, 7, 8, 9], np.int32)
    images = g([z, labels], training=False)
    assert tuple(images.shape) == (6, 28, 28, 1)
    assert float(np.abs(images).max()) <= 1.0
    assert tuple(d([images, tf.constant(labels)], training=False).shape) == (6, 1)
    assert gh.is_conditional(g) and not gh.is_conditional(gh.build_generator())
    assert gh.latent_dim_of(g) == 100 and gh.latent_dim_of(cond.build_conditional_generator(16)) == 16
    # The label is an input like z: the embedding adds 10 × 50 numbers to the generator.
    extra = g.count_params() - gh.build_generator().count_params()
    assert extra == gh.N_CLASSES * cond.LABEL_EMBEDDING + cond.LABEL_EMBEDDING * 7 * 7 * gh.PROJECTION_CHANNELS


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
        cond.generate_digits(CG(), labels)


def test_generate_digits_is_deterministic_for_a_seed_and_needs_a_conditional_generator():
    a = cond.generate_digits(CG(), [3, 3, 5], seed=7)
    assert a.shape == (3, 28, 28) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, cond.generate_digits(CG(), [3, 3, 5], seed=7))
    assert cond.generate_digits(CG(), 4).shape == (1, 28, 28)
    assert cond.generate_digits(CG(), []).shape == (0, 28, 28)
    with pytest.raises(ValueError, match="generator must be conditional"):
        cond.generate_digits(gh.build_generator(), [1])


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
    run = cond.train_conditional(out, x_train=x[:512], y_train=y[:512], epochs=2, batch_size=128, checkpoint_every=1,
                                 callbacks=[ev.frechet_callback(x[:100], n=100)], verbose=0)
    return run, x, y


def test_conditional_training_writes_checkpoints_frames_and_label_accuracy(short_run):
    run, _, _ = short_run
    assert gh.checkpoint_epochs(run.out_dir) == [1, 2]
    config = json.loads((run.out_dir / "config.json").read_text())
    assert config["architecture"] == "conditional"
    assert (config["kernel_size"], config["projection_channels"]) == (gh.KERNEL_SIZE, gh.PROJECTION_CHANNELS)
    accuracy = run.history["label_accuracy"]
    assert len(accuracy) == 2 and all(0 <= a <= 1 for a in accuracy)
    frame = iio.imread(run.out_dir / "frames" / "epoch_0002.png")
    assert frame.shape == ((10 * 30 + 2) * 3,) * 2  # 10 × 10 digits, rows = 0-9
    restored = runs.load_generator_from_checkpoint(run.out_dir)
    assert gh.is_conditional(restored)
    z = gh.latent_vectors(4)
    np.testing.assert_allclose(gh.generate(restored, z, [0, 1, 2, 3]),
                               gh.generate(run.generator, z, [0, 1, 2, 3]), atol=1e-5)


def test_average_generator_is_the_mean_of_the_checkpoints_weights(short_run, tmp_path, monkeypatch):
    run, _, _ = short_run
    # The evaluations themselves are tested elsewhere; here only which generator each one sees.
    seen = []
    monkeypatch.setattr(ev, "evaluate_generator", lambda g, n: seen.append(g.get_weights()[0].copy()) or {"n": n})
    monkeypatch.setattr(cond, "evaluate_conditional", lambda g, n: {"n_per_class": n})
    one, two = (runs.load_generator_from_checkpoint(run.out_dir, e) for e in (1, 2))
    mean = runs.average_generator(run.out_dir, [1, 2])
    for a, b, m in zip(one.get_weights(), two.get_weights(), mean.get_weights()):
        np.testing.assert_allclose(m, (a + b) / 2, rtol=1e-6, atol=1e-7)
    record = runs.export_generator(run.out_dir, tmp_path / "avg.keras", epoch=2, n_eval=20, average=2)
    assert record["weights_averaged_over_epochs"] == [1, 2] and "--average 2" in record["trained_with"]
    assert record["conditional_evaluation"]["n_per_class"] == 2
    assert record["last_checkpoint_conditional_evaluation"]["n_per_class"] == 2
    np.testing.assert_allclose(seen[0], mean.get_weights()[0], rtol=1e-6)   # the export: the average
    np.testing.assert_allclose(seen[1], two.get_weights()[0], rtol=1e-6)    # beside it: epoch 2 alone
    assert gh.gif_info(tmp_path / "avg_progress.gif")["frames"] == 3
    with pytest.raises(ValueError, match="average: 5 checkpoints up to epoch 2 asked for"):
        runs.export_generator(run.out_dir, tmp_path / "x.keras", epoch=2, average=5)


def test_conditional_training_resumes_and_refuses_another_architecture(short_run):
    run, x, y = short_run
    resumed = cond.train_conditional(run.out_dir, x_train=x[:512], y_train=y[:512], epochs=3, batch_size=128,
                                     checkpoint_every=1, verbose=0)
    assert resumed.resumed_from == 2 and resumed.history["epoch"][-1] == 3
    with pytest.raises(ValueError, match="architecture: saved conditional, now dcgan"):
        gh.train(run.out_dir, x_train=x[:512], epochs=4, batch_size=128, verbose=0)


def test_trained_conditional_generator_takes_your_full_run_when_there_is_one(short_run, tmp_path, monkeypatch):
    run, _, _ = short_run
    monkeypatch.setenv("GAN_OUTPUTS", str(tmp_path))
    shutil.copytree(run.out_dir, tmp_path / "conditional")
    generator, about = cond.trained_conditional_generator()
    epoch = gh.checkpoint_epochs(tmp_path / "conditional")[-1]
    assert about == f"your generator from 08_conditional_gan ({tmp_path / 'conditional'}, epoch {epoch})"
    z = gh.latent_vectors(3)
    np.testing.assert_allclose(gh.generate(generator, z, [4, 5, 6]),
                               gh.generate(runs.load_generator_from_checkpoint(run.out_dir, epoch), z, [4, 5, 6]),
                               atol=1e-5)
    assert "pretrained" in cond.trained_conditional_generator("pretrained")[1]


def test_conditional_training_needs_labels_and_a_known_architecture(tmp_path):
    images = np.zeros((256, 28, 28), np.uint8)
    with pytest.raises(ValueError, match="y_train: architecture='conditional' needs the labels"):
        cond.train_conditional(tmp_path, x_train=images, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="architecture must be one of"):
        gh.train(tmp_path, architecture="vae", x_train=images, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="one label per image"):
        gh.make_dataset(images, 128, labels=np.zeros(3, np.int64))


def test_a_mixed_pair_is_refused():
    with pytest.raises(ValueError, match="both be conditional"):
        state = gh.new_gan_state()
        cond.make_conditional_step(CG(), state.discriminator, state.g_optimizer, state.d_optimizer, state.rng)


def _hand_step(state, images, labels):
    """04's two-tape step written out by hand, with the labels where the conditional step puts them."""
    g, d = state.generator, state.discriminator
    n = int(images.shape[0])
    z = state.rng.normal([n, gh.latent_dim_of(g)])
    fake_labels = state.rng.uniform([n], 0, gh.N_CLASSES, dtype=tf.int32)  # drawn in this order, after z
    bce = lambda target, logits: tf.reduce_mean(  # noqa: E731
        tf.nn.sigmoid_cross_entropy_with_logits(tf.fill(tf.shape(logits), target), logits))
    with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
        fake = g([z, fake_labels], training=True)
        real_logits = d([images, labels], training=True)
        fake_logits = d([fake, fake_labels], training=True)
        g_loss = bce(1.0, fake_logits)
        d_loss = bce(1.0, real_logits) + bce(0.0, fake_logits)
    g_grads = g_tape.gradient(g_loss, g.trainable_variables)
    d_grads = d_tape.gradient(d_loss, d.trainable_variables)
    state.g_optimizer.apply_gradients(zip(g_grads, g.trainable_variables))
    state.d_optimizer.apply_gradients(zip(d_grads, d.trainable_variables))
    return {"g_loss": g_loss, "d_loss": d_loss, "d_real": tf.reduce_mean(tf.sigmoid(real_logits)),
            "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits)), "g_grad_norm": tf.linalg.global_norm(g_grads),
            "d_grad_norm": tf.linalg.global_norm(d_grads)}, fake_labels


def test_the_conditional_step_is_the_core_step_with_labels():
    """Twin states, the same batch and seeds: the step and the hand-written two-tape step agree on every
    figure and on the updated weights of both players, over two updates."""
    (x, y), _ = gh.load_mnist()
    stepped, by_hand = cond.new_conditional_state(seed=3), cond.new_conditional_state(seed=3)
    step = cond.make_conditional_step(stepped.generator, stepped.discriminator, stepped.g_optimizer,
                                      stepped.d_optimizer, stepped.rng)
    for i in range(2):
        batch = slice(32 * i, 32 * (i + 1))
        images, labels = tf.constant(gh.to_float(x[batch])), tf.constant(y[batch].astype(np.int32))
        got = {k: float(v) for k, v in step(images, labels).items()}
        expected, fake_labels = _hand_step(by_hand, images, labels)
        assert set(got) == set(gh._STEP_KEYS) == set(expected)
        for key in got:
            assert got[key] == pytest.approx(float(expected[key]), rel=1e-4, abs=1e-6), key
        assert len(set(fake_labels.numpy().tolist())) > 5  # fakes of many digits, not one
        for a, b in zip(stepped.generator.weights + stepped.discriminator.weights,
                        by_hand.generator.weights + by_hand.discriminator.weights):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6, err_msg=a.path)
    # the labels matter: from the same (twin) weights, every real label changed gives D other beliefs
    images = tf.constant(gh.to_float(x[64:96]))
    moved = step(images, tf.constant((y[64:96].astype(np.int32) + 1) % 10))
    kept, _ = _hand_step(by_hand, images, tf.constant(y[64:96].astype(np.int32)))
    assert float(moved["d_real"]) != pytest.approx(float(kept["d_real"]), abs=1e-6)


def test_the_conditional_step_takes_another_generator_loss():
    state = cond.new_conditional_state(seed=1)
    step = cond.make_conditional_step(state.generator, state.discriminator, state.g_optimizer, state.d_optimizer,
                                      state.rng, g_loss_fn=gh.minimax_generator_loss)
    (x, y), _ = gh.load_mnist()
    values = step(tf.constant(gh.to_float(x[:16])), tf.constant(y[:16].astype(np.int32)))
    assert float(values["g_loss"]) < 0  # log(1 - D(G(z))), the minimax form, is negative


def test_the_builders_keep_the_layout_of_old_checkpoints_and_the_shipped_generator():
    shipped = cond.load_pretrained_conditional_generator()
    rebuilt = cond.build_conditional_generator(kernel_size=5, projection_channels=256)  # the legacy size it has
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in shipped.layers]
    assert [w.path for w in rebuilt.weights] == [w.path for w in shipped.weights]
    rebuilt.set_weights(shipped.get_weights())
    z = gh.latent_vectors(4, seed=2)
    np.testing.assert_allclose(gh.generate(rebuilt, z, [1, 3, 5, 7]), gh.generate(shipped, z, [1, 3, 5, 7]), atol=1e-6)
    g, d = CG(), cond.build_conditional_discriminator()
    assert [layer.name for layer in g.layers] == [
        "label", "z", "label_embedding", "z_and_label", "project", "project_bn", "project_lrelu", "to_7x7x128",
        "deconv_7x7x128", "deconv1_bn", "deconv1_lrelu", "deconv_14x14x64", "deconv2_bn", "deconv2_lrelu",
        "image_28x28x1"]
    assert [layer.name for layer in d.layers] == [
        "label", "label_embedding", "label_to_pixels", "image", "label_plane", "image_and_label", "conv_14x14x64",
        "conv1_lrelu", "conv1_dropout", "conv_7x7x128", "conv2_lrelu", "conv2_dropout", "flatten", "logit"]
    # after the label, the plain DCGAN's weights: z + 50 label numbers in, a second channel into the first conv
    plain_g, plain_d = gh.build_pair()
    shapes = lambda model: [(w.path.split("/")[-2:], tuple(w.shape)) for w in model.weights]  # noqa: E731
    assert shapes(g)[0] == (["label_embedding", "embeddings"], (10, cond.LABEL_EMBEDDING))
    assert shapes(g)[1] == (["project", "kernel"], (100 + cond.LABEL_EMBEDDING, 7 * 7 * 128))
    assert shapes(g)[2:] == shapes(plain_g)[1:]
    assert shapes(d)[3] == (["conv_14x14x64", "kernel"], (4, 4, 2, 64))
    assert shapes(d)[4:] == shapes(plain_d)[1:]


# --- synthetic datasets ------------------------------------------------------------------------

def test_make_synthetic_dataset_round_trip_through_load_mnist(tmp_path):
    path = tmp_path / "synthetic" / "digits.npz"
    record = cond.make_synthetic_dataset(CG(), 6, path, n_test_per_class=2, seed=3, png_dir=tmp_path / "png")
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
    cond.make_synthetic_dataset(CG(), 6, tmp_path / "again.npz", n_test_per_class=2, seed=3)
    np.testing.assert_array_equal(gh.load_mnist(tmp_path / "again.npz")[0][0], x)


def test_make_synthetic_dataset_refuses_bad_input_and_keeps_an_older_file(tmp_path):
    path = tmp_path / "kept.npz"
    cond.make_synthetic_dataset(CG(), 1, path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="generator must be conditional"):
        cond.make_synthetic_dataset(gh.build_generator(), 1, path)
    with pytest.raises(ValueError, match="n_per_class must be >= 1"):
        cond.make_synthetic_dataset(CG(), 0, path)
    with pytest.raises(ValueError, match="ending in .npz"):
        cond.make_synthetic_dataset(CG(), 1, tmp_path / "digits.csv")
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
    images = cond.generate_digits(pretrained(), np.repeat(np.arange(10), 100), seed=5)
    read = ev.classifier_probabilities(images).argmax(1).reshape(10, 100)
    assert ((read == np.arange(10)[:, None]).mean(1) >= 0.9).all()
    gif = gh.gif_info(gh.CONDITIONAL_GENERATOR_PATH.with_name("conditional_generator_progress.gif"))
    assert gif["frames"] == record["epochs"] + 1 and gif["loop"] == 0


def test_trained_generator_can_ask_for_the_conditional_one(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_OUTPUTS", str(tmp_path))
    generator, about = cond.trained_conditional_generator()
    assert gh.is_conditional(generator) and "pretrained conditional generator" in about
    assert "no full run in outputs/conditional; conditional_generator.keras" in about
    generator, about = runs.trained_generator(conditional=True)
    assert gh.is_conditional(generator) and "pretrained conditional generator" in about
    with pytest.raises(TypeError, match="conditional must be True or False"):
        runs.trained_generator(conditional="yes")
    with pytest.raises(ValueError, match="takes no labels"):
        cond.load_pretrained_conditional_generator(gh.PRETRAINED_GENERATOR_PATH)


# --- the explorer's digit picker -----------------------------------------------------------------

def test_explorer_digit_picker_redraws_and_only_exists_for_conditional_generators():
    directions = {"a": np.eye(100)[0], "b": np.eye(100)[1]}
    explorer = lat.LatentExplorer(CG(), directions, classify=True, digit=2)
    assert explorer.digit == 2 and "asked for 2" in explorer.readout.value
    before, updates = explorer.image.value, explorer.updates
    explorer.digit_picker.value = 6
    assert explorer.updates == updates + 1 and explorer.image.value != before
    assert "asked for 6" in explorer.readout.value
    assert "gan-digit-picker" in explorer.digit_picker._dom_classes
    images = explorer.show_neighbourhood(steps=3)
    assert images.shape == (9, 28, 28, 1)
    plain = lat.LatentExplorer(gh.build_generator(), directions, classify=False)
    assert plain.digit_picker is None and plain.digit is None
    with pytest.raises(ValueError, match="digit must be digits 0-9"):
        lat.LatentExplorer(CG(), directions, digit=12)


def test_explorer_directions_work_for_a_conditional_generator():
    directions = lat.explorer_directions(CG(), n=300)
    assert set(directions) == {"thickness", "slant", "width", "PC 1", "PC 2"}
    assert all(abs(np.linalg.norm(v) - 1) < 1e-5 for v in directions.values())
