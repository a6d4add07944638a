"""Known-answer tests for the evaluation metrics taught in 06_evaluate."""

from __future__ import annotations

import json
import types

import keras
import numpy as np
import pytest

import gan_helpers as gh
from gan_extras import evaluation as ev
from gan_extras import reports as rp


@pytest.fixture(scope="module")
def mnist():
    return gh.load_mnist()


@pytest.fixture(scope="module")
def noise():
    return np.random.default_rng(0).integers(0, 256, size=(500, 28, 28), dtype=np.uint8)


def test_classifier_is_accurate_on_real_digits(mnist):
    _, (x_test, y_test) = mnist
    accuracy = (ev.classifier_probabilities(x_test[:2_000]).argmax(1) == y_test[:2_000]).mean()
    assert accuracy >= 0.985
    record = json.loads(ev.CLASSIFIER_PATH.with_suffix(".json").read_text())
    assert record["test_accuracy"] >= 0.99


def test_features_accept_uint8_and_minus_one_to_one_alike(mnist):
    _, (x_test, _) = mnist
    f_uint8 = ev.classifier_features(x_test[:20])
    f_float = ev.classifier_features(gh.to_float(x_test[:20]))
    assert f_uint8.shape == (20, 128)
    np.testing.assert_allclose(f_uint8, f_float, rtol=1e-5, atol=1e-5)


def test_frechet_of_known_gaussians():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((4_000, 8))
    # shifting every feature by 3 moves the mean by 3 in 8 dimensions and keeps the covariance
    assert ev.frechet_from_features(a, a + 3.0) == pytest.approx(9.0 * 8, rel=1e-6)
    assert ev.frechet_from_features(a, a) == pytest.approx(0.0, abs=1e-6)
    # doubling the spread: ‖μ − 2μ‖² + Tr(Σ + 4Σ − 2·2Σ) = ‖μ‖² + Tr(Σ), exactly, for sample statistics
    expected = (a.mean(0) ** 2).sum() + np.trace(np.cov(a, rowvar=False))
    assert ev.frechet_from_features(a, 2 * a) == pytest.approx(expected, rel=1e-6)


def test_frechet_distance_orders_real_and_noise(mnist, noise):
    (x_train, _), (x_test, _) = mnist
    to_itself = ev.frechet_distance(x_test[:500], x_test[:500])
    real_real = ev.frechet_distance(x_test[:500], x_train[:500])
    real_noise = ev.frechet_distance(x_test[:500], noise)
    assert to_itself == pytest.approx(0.0, abs=1e-6)
    assert real_real * 20 < real_noise


def test_classifier_score_and_coverage_of_one_digit(mnist):
    _, (x_test, y_test) = mnist
    ones = x_test[y_test == 1][:300]
    varied = x_test[:1_000]
    assert ev.classifier_score(ones) < 1.2
    assert ev.classifier_score(varied) > 8.5
    one_hist, varied_hist = ev.digit_histogram(ones), ev.digit_histogram(varied)
    assert one_hist["coverage_entropy"] < 0.05 and one_hist["min_share"] == 0.0
    assert varied_hist["coverage_entropy"] > 0.98 and varied_hist["min_share"] > 0.06
    assert varied_hist["shares"].sum() == pytest.approx(1.0)
    assert varied_hist["n"] == 1_000


def test_precision_recall_real_vs_real_and_noise(mnist, noise):
    (x_train, _), (x_test, _) = mnist
    real_real = ev.precision_recall(x_test[:500], x_train[:500], k=3)
    real_noise = ev.precision_recall(x_test[:500], noise, k=3)
    assert real_real["precision"] > 0.7 and real_real["recall"] > 0.7
    assert real_noise["precision"] < 0.02 and real_noise["recall"] < 0.02


def test_nearest_training_neighbours_finds_copies(mnist):
    (x_train, _), _ = mnist
    picks = np.array([5, 17, 40_000])
    index, distance = ev.nearest_training_neighbours(x_train[picks], x_train)
    np.testing.assert_array_equal(index, picks)
    np.testing.assert_allclose(distance, 0, atol=1e-3)


def test_image_statistics_of_a_drawn_bar():
    bars = np.zeros((2, 28, 28), np.uint8)
    bars[0, 10:12, 2:26] = 255   # 2 px thick
    bars[1, 10:16, 2:26] = 255   # 6 px thick
    stats = ev.image_statistics(bars)
    np.testing.assert_allclose(stats["area"], [48, 144])
    # 2·area / perimeter for w×L rectangles: 2wL / 2(w + L)
    np.testing.assert_allclose(stats["thickness"], [2 * 48 / 52, 2 * 144 / 60], rtol=1e-6)
    np.testing.assert_allclose(stats["ink"], [48 / 784, 144 / 784], rtol=1e-6)


def test_mean_images_by_digit(mnist):
    _, (x_test, y_test) = mnist
    means = gh.mean_images_by_digit(x_test[:200], y_test[:200])
    assert means.shape == (10, 28, 28)
    np.testing.assert_allclose(means[y_test[0]], x_test[:200][y_test[:200] == y_test[0]].mean(0), rtol=1e-5)
    with pytest.raises(ValueError, match="labels"):
        gh.mean_images_by_digit(x_test[:10], y_test[:9])


def test_evaluate_generator_reports_every_figure_with_its_floor(mnist):
    gh.set_seed(0)
    result = ev.evaluate_generator(gh.build_generator(), n=200, mnist=mnist)
    keys = {"n", "frechet_distance", "classifier_score", "coverage_entropy", "min_digit_share",
            "precision", "recall"}
    assert set(result["generator"]) == keys and set(result["real_vs_real"]) == keys
    assert result["generator"]["n"] == 200
    # an untrained generator draws grey blobs: far worse than real against real
    assert result["generator"]["frechet_distance"] > 5 * result["real_vs_real"]["frechet_distance"]
    assert result["nearest_neighbour_distance"]["n"] == 200
    assert "real vs real" in rp.format_evaluation(result)


@pytest.mark.parametrize("call, error, words", [
    (lambda x: ev.frechet_distance(x[:1], x[:10]), ValueError, "images_a needs at least 2"),
    (lambda x: ev.frechet_distance(x[:10], x[:1]), ValueError, "images_b needs at least 2"),
    (lambda x: ev.frechet_distance(x[:10].reshape(10, 784), x[:10]), ValueError, "shape"),
    (lambda x: ev.frechet_distance(x[:10].astype(np.int64), x[:10]), TypeError, "dtype"),
    (lambda x: ev.frechet_distance(list(x[:10]), x[:10]), TypeError, "NumPy array"),
    (lambda x: ev.precision_recall(x[:10], x[:10], k=0), ValueError, "k must be"),
    (lambda x: ev.precision_recall(x[:3], x[:10], k=3), ValueError, "real needs at least 4"),
    (lambda x: ev.classifier_score(x[:0]), ValueError, "at least 1"),
    (lambda x: ev.nearest_training_neighbours(x[:3], x[:0]), ValueError, "x_train"),
    (lambda x: ev.evaluate_generator(gh.build_generator(), n=20_000), ValueError, "at most 10000"),
    (lambda x: ev.load_classifier("/nonexistent/classifier.keras"), FileNotFoundError, "no classifier"),
])
def test_bad_inputs_raise_clear_errors(mnist, call, error, words):
    _, (x_test, _) = mnist
    with pytest.raises(error, match=words):
        call(x_test)


def test_frechet_callback_measures_into_the_checkpointed_history(tmp_path, mnist):
    (x_train, _), _ = mnist
    x = x_train[:256]

    def fit():  # what old gh.train(frechet_every=2, frechet_n=64) did, as a callback
        return gh.train(tmp_path, architecture="vanilla", epochs=3, batch_size=64, checkpoint_every=2, x_train=x,
                        verbose=0, callbacks=[ev.frechet_callback(x, n=64, every=2, epochs=3)])

    run = fit()
    measured = run.history["frechet"]
    assert measured[0] is None and measured[2] is not None     # epochs 2 and 3 (the final one)
    assert all(v > 0 and np.isfinite(v) for v in measured[1:])
    # resuming from the epoch-2 checkpoint keeps the figures measured up to it
    resumed = fit()
    assert resumed.resumed_from == 3 and resumed.history["frechet"] == measured
    assert json.loads((tmp_path / "history.json").read_text())["frechet"] == measured


def test_frechet_callback_writes_every_epoch_into_history_json(tmp_path, mnist):
    (x_train, _), _ = mnist
    seen = []

    def spy(epoch, state, record):  # runs after the Fréchet callback: history.json is written after both
        seen.append(record["frechet"])

    run = gh.train(tmp_path, epochs=2, batch_size=64, checkpoint_every=2, x_train=x_train[:128], verbose=0,
                   callbacks=[ev.frechet_callback(x_train[:128], n=32), spy])
    saved = json.loads((tmp_path / "history.json").read_text())
    assert saved["frechet"] == run.history["frechet"] == seen and all(v > 0 for v in seen)
    assert all(len(s) == 10 and abs(sum(s) - 1) < 1e-3 for s in saved["digit_shares"])
    assert saved["label_accuracy"] == [None, None]
    # the same figure as measuring the samples by hand
    by_hand = ev.frechet_distance(x_train[:32], gh.sample_digits(run.generator, 32, 1234))
    assert seen[-1] == pytest.approx(by_hand, rel=1e-5)


def test_frechet_callback_reads_the_digits_of_a_conditional_generator():
    z, label = keras.Input((gh.LATENT_DIM,)), keras.Input((), dtype="int32")
    joined = keras.layers.Concatenate()([z, keras.layers.Embedding(10, 4)(label)])
    image = keras.layers.Reshape((28, 28, 1))(keras.layers.Dense(784, activation="tanh")(joined))
    generator = keras.Model([z, label], image)
    record: dict = {}
    callback = ev.frechet_callback(np.zeros((40, 28, 28), np.uint8), n=20, every=5)
    callback(3, types.SimpleNamespace(generator=generator, sampler=generator), record)
    assert record == {}                                          # not a multiple of every
    callback(5, types.SimpleNamespace(generator=generator, sampler=generator), record)
    assert 0 <= record["label_accuracy"] <= 1 and record["frechet"] >= 0 and len(record["digit_shares"]) == 10
