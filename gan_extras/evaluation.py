"""06_evaluate: a classifier's feature space, the Fréchet distance, coverage, precision/recall, copying.

Every metric judges images in the feature space of the kit's small MNIST classifier (shipped in
``data/pretrained/``). ``frechet_callback`` measures the Fréchet distance during ``gh.train``.
Tables of these figures are in ``gan_extras/reports.py``.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

import gan_helpers as gh

CLASSIFIER_PATH = gh.PRETRAINED_DIR / "mnist_classifier.keras"
#: path → (classifier, feature extractor, both outputs in one model)
_classifier_cache: dict[str, tuple[keras.Model, keras.Model, keras.Model]] = {}
#: Features and logits of the last image sets seen, by content: a lesson measures the same real digits
#: many times (Fréchet distance, precision and recall, the floor), and the classifier is the slow part.
_feature_cache: OrderedDict[bytes, tuple[np.ndarray, np.ndarray]] = OrderedDict()

# ---------------------------------------------------------------------------
# The classifier and its feature space
# ---------------------------------------------------------------------------

def build_classifier() -> keras.Model:
    """Small all-convolutional CNN; its 128-d 'features' layer (global average pool) is the kit's feature space (06_evaluate)."""
    # Pooled convolutional features, rather than a fully connected hidden layer,
    # keep noise and blobs far from real digits, which precision/recall rely on.
    layers = keras.layers

    def block(filters: int, name: str) -> list[keras.layers.Layer]:
        return [layers.Conv2D(filters, 3, padding="same", use_bias=False, name=name),
                layers.BatchNormalization(name=f"{name}_bn"), layers.ReLU(name=f"{name}_relu")]

    return keras.Sequential([
        keras.Input(shape=(28, 28, 1), name="image"),
        *block(32, "conv1"), *block(32, "conv2"), layers.MaxPooling2D(name="pool1"),
        *block(64, "conv3"), *block(64, "conv4"), layers.MaxPooling2D(name="pool2"),
        *block(128, "conv5"),
        layers.GlobalAveragePooling2D(name="features"),
        layers.Dropout(0.2, name="dropout"),
        layers.Dense(10, name="logits"),
    ], name="mnist_classifier")

def train_classifier(path: str | os.PathLike[str] = CLASSIFIER_PATH, *, epochs: int = 6,
                     batch_size: int = 128, seed: int = 0, n_train: int | None = None,
                     verbose: int = 2) -> dict[str, Any]:
    """Train the evaluation classifier on MNIST, save it (.keras) and a JSON record beside it (06_evaluate)."""
    gh._check_int("epochs", epochs)
    gh._check_int("batch_size", batch_size)
    gh.set_seed(seed)
    (x_train, y_train), (x_test, y_test) = gh.load_mnist()
    if n_train is not None:
        x_train, y_train = x_train[:gh._check_int("n_train", n_train)], y_train[:n_train]
    model = build_classifier()
    schedule = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=epochs * (len(x_train) // batch_size))
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    # Small random shifts and rotations: generated digits are rarely perfectly centred.
    augment = keras.Sequential([keras.layers.RandomTranslation(0.08, 0.08, seed=seed),
                                keras.layers.RandomRotation(0.04, seed=seed)])
    train_ds = (tf.data.Dataset.from_tensor_slices((gh.to_float(x_train), y_train.astype(np.int32)))
                .shuffle(len(x_train), seed=seed).batch(batch_size)
                .map(lambda x, y: (augment(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
                .prefetch(tf.data.AUTOTUNE))
    start = time.perf_counter()
    model.fit(train_ds, epochs=epochs, verbose=verbose, shuffle=False)  # train_ds shuffles itself
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(gh.to_float(x_test), y_test.astype(np.int32), batch_size=1000, verbose=0)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{path.name}")
    _without_optimizer(model, build_classifier).save(tmp)  # weights only: 1.9 MB instead of 5.7
    os.replace(tmp, path)
    record = {"test_accuracy": round(float(accuracy), 4), "epochs": epochs, "batch_size": batch_size,
              "optimizer": "Adam 1e-3, cosine decay to 0", "augmentation": "translate ±8%, rotate ±0.04 turn",
              "n_train": len(x_train), "seed": seed, "seconds": round(seconds, 1),
              "parameters": model.count_params(), "machine": gh.device_report(),
              "builder": {"model": "classifier", "arguments": {}},  # rebuilt from it by a Keras older than the file's
              "trained_with": f"gan_extras.evaluation.train_classifier(epochs={epochs}, "
                              f"batch_size={batch_size}, seed={seed})"}
    gh._atomic_write_json(path.with_suffix(".json"), record)
    _classifier_cache.pop(str(path), None)
    _feature_cache.clear()
    return record

def _without_optimizer(model: keras.Model, build: Callable[[], keras.Model]) -> keras.Model:
    """An uncompiled copy with the same weights, so the saved file carries no optimizer state."""
    copy = build()
    copy.set_weights(model.get_weights())
    return copy

def _load(path: str | os.PathLike[str] | None = None) -> tuple[keras.Model, keras.Model, keras.Model]:
    path = Path(path) if path is not None else CLASSIFIER_PATH
    if str(path) not in _classifier_cache:
        model = gh.load_keras_file(path, "classifier", "retrain it with `python -m gan_helpers train-classifier`")
        features = keras.Model(model.inputs[0], model.get_layer("features").output, name="features")
        both = keras.Model(model.inputs[0], [features.outputs[0], model.outputs[0]])
        _classifier_cache[str(path)] = (model, features, both)
    return _classifier_cache[str(path)]

def load_classifier(path: str | os.PathLike[str] | None = None) -> tuple[keras.Model, keras.Model]:
    """The shipped classifier and its feature extractor (the 'features' layer), cached (06_evaluate)."""
    return _load(path)[:2]

def _forward(x: np.ndarray, batch_size: int = 1_000) -> tuple[np.ndarray, np.ndarray]:
    """Features and logits of checked images (uint8 or [-1, 1]), one forward pass a batch at a time."""
    key = hashlib.blake2b(f"{x.dtype}{x.shape}".encode() + np.ascontiguousarray(x).tobytes(), digest_size=16).digest()
    if key in _feature_cache:
        _feature_cache.move_to_end(key)
        return _feature_cache[key]
    x = gh.to_float(x) if x.dtype == np.uint8 else x[..., None].astype(np.float32)
    parts = [_load()[2](x[i:i + batch_size], training=False) for i in range(0, len(x), batch_size)]
    found = ((np.concatenate([f.numpy() for f, _ in parts]), np.concatenate([g.numpy() for _, g in parts]))
             if parts else (np.zeros((0, 128), np.float32), np.zeros((0, 10), np.float32)))
    for array in found:
        array.setflags(write=False)  # shared by every caller that passes these images again
    _feature_cache[key] = found
    while len(_feature_cache) > 32:
        _feature_cache.popitem(last=False)
    return found

def _probabilities(x: np.ndarray) -> np.ndarray:
    return tf.nn.softmax(_forward(x)[1]).numpy()

def classifier_features(images: Any) -> np.ndarray:
    """(n, 128) penultimate-layer features (pooled conv5) of uint8 or [-1, 1] images (06_evaluate)."""
    return _forward(gh._check_images("images", images))[0].copy()

def classifier_probabilities(images: Any) -> np.ndarray:
    """(n, 10) softmax probabilities p(y|x) from the kit's classifier (06_evaluate)."""
    return _probabilities(gh._check_images("images", images))

def _at_least(name: str, images: Any, n: int) -> np.ndarray:
    images = gh._check_images(name, images)
    if len(images) < n:
        raise ValueError(f"{name} needs at least {n} images, got {len(images)}")
    return images

# ---------------------------------------------------------------------------
# The metrics
# ---------------------------------------------------------------------------

def frechet_distance(images_a: Any, images_b: Any) -> float:
    """Fréchet distance between Gaussians fitted to two image sets in the classifier's feature space (06_evaluate)."""
    a, b = _at_least("images_a", images_a, 2), _at_least("images_b", images_b, 2)
    return _frechet(_forward(a)[0], _forward(b)[0])

def frechet_from_features(fa: np.ndarray, fb: np.ndarray) -> float:
    """‖μa − μb‖² + Tr(Σa + Σb − 2(Σa Σb)^½), computed with symmetric eigendecompositions (06_evaluate)."""
    fa, fb = np.asarray(fa, dtype=np.float64), np.asarray(fb, dtype=np.float64)
    if fa.ndim != 2 or fb.ndim != 2 or fa.shape[1] != fb.shape[1] or min(len(fa), len(fb)) < 2:
        raise ValueError(f"fa and fb must be (n, d) feature arrays with the same d and n >= 2, "
                         f"got {fa.shape} and {fb.shape}")
    return _frechet(fa, fb)

def _frechet(fa: np.ndarray, fb: np.ndarray) -> float:
    fa, fb = fa.astype(np.float64), fb.astype(np.float64)
    mu_a, mu_b = fa.mean(0), fb.mean(0)
    cov_a, cov_b = np.cov(fa, rowvar=False), np.cov(fb, rowvar=False)
    # Tr((Σa Σb)^½) = Σ sqrt(eig(Σa^½ Σb Σa^½)), which is symmetric PSD: stable, no scipy needed.
    w, v = np.linalg.eigh(cov_a)
    sqrt_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(sqrt_a @ cov_b @ sqrt_a), 0, None)).sum()
    return float(max(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * cross, 0.0))

def classifier_score(images: Any) -> float:
    """exp E_x[KL(p(y|x) ‖ p(y))], the Inception-score analogue: 1 (useless) to 10 (confident and varied) (06_evaluate)."""
    return _score(_probabilities(_at_least("images", images, 1)))

def _score(p: np.ndarray) -> float:
    p = p.astype(np.float64)
    p_y = p.mean(0, keepdims=True)
    kl = (p * (np.log(p + 1e-12) - np.log(p_y + 1e-12))).sum(1)
    return float(np.exp(kl.mean()))

def digit_histogram(images: Any) -> dict[str, Any]:
    """Share of each predicted digit, normalized entropy (1 = all ten equally) and smallest share (06_evaluate)."""
    return _histogram(_probabilities(_at_least("images", images, 1)).argmax(1))

def _histogram(labels: np.ndarray) -> dict[str, Any]:
    shares = np.bincount(labels, minlength=10) / len(labels)
    nonzero = shares[shares > 0]
    return {"shares": shares, "coverage_entropy": max(0.0, float(-(nonzero * np.log(nonzero)).sum() / np.log(10))),
            "min_share": float(shares.min()), "n": int(len(labels))}

def _pairwise_sq_dists(a: np.ndarray, b: np.ndarray, chunk: int = 2_048) -> Callable[[int], np.ndarray]:
    """Squared distances ‖a − b‖² a block of rows at a time, so 10k × 60k never sits in memory."""
    b_sq = (b ** 2).sum(1)

    def rows(i: int) -> np.ndarray:
        block = a[i:i + chunk]
        return np.maximum((block ** 2).sum(1)[:, None] + b_sq[None, :] - 2 * block @ b.T, 0)
    return rows

def _kth_radius(features: np.ndarray, k: int, chunk: int = 2_048) -> np.ndarray:
    rows = _pairwise_sq_dists(features, features, chunk)
    # column k of the sorted row: index 0 is the point itself (distance 0)
    return np.concatenate([np.sqrt(np.partition(rows(i), k, axis=1)[:, k])
                           for i in range(0, len(features), chunk)])

def _coverage_of(points: np.ndarray, centres: np.ndarray, radii: np.ndarray, chunk: int = 2_048) -> float:
    rows = _pairwise_sq_dists(points, centres, chunk)
    inside = [(rows(i) <= radii[None, :] ** 2).any(1) for i in range(0, len(points), chunk)]
    return float(np.concatenate(inside).mean())

def precision_recall(real: Any, fake: Any, k: int = 3) -> dict[str, float]:
    """k-NN manifold precision (fakes that look real) and recall (real variety covered), Kynkäänniemi et al. 2019 (06_evaluate)."""
    gh._check_int("k", k)
    real, fake = _at_least("real", real, k + 1), _at_least("fake", fake, k + 1)
    return _precision_recall(_forward(real)[0], _forward(fake)[0], k)

def _precision_recall(fr: np.ndarray, ff: np.ndarray, k: int) -> dict[str, float]:
    fr, ff = fr.astype(np.float32), ff.astype(np.float32)
    precision = _coverage_of(ff, fr, _kth_radius(fr, k))
    recall = _coverage_of(fr, ff, _kth_radius(ff, k))
    return {"precision": precision, "recall": recall, "k": k}

def nearest_training_neighbours(images: Any, x_train: Any, chunk: int = 1_024) -> tuple[np.ndarray, np.ndarray]:
    """For each image, the index of and pixel L2 distance (0-1 scale) to its nearest training image (06_evaluate)."""
    gh._check_int("chunk", chunk)
    a = gh.to_uint8(_at_least("images", images, 1))
    b = gh.to_uint8(_at_least("x_train", x_train, 1))
    a, b = (x.reshape(len(x), -1).astype(np.float32) / 255 for x in (a, b))
    rows = _pairwise_sq_dists(a, b, chunk)
    index, dist = [], []
    for i in range(0, len(a), chunk):
        j = rows(i).argmin(1)
        index.append(j)
        # exact distance for the chosen pair (the fast expansion above loses precision near 0)
        dist.append(np.linalg.norm(a[i:i + chunk] - b[j], axis=1))
    return np.concatenate(index), np.concatenate(dist)

def image_statistics(images: Any) -> dict[str, np.ndarray]:
    """Per-image ink, area, stroke thickness, slant and width, all from pixels (06_evaluate)."""
    return _statistics(gh.to_uint8(_at_least("images", images, 1)))

def _statistics(images: np.ndarray) -> dict[str, np.ndarray]:
    """ink: mean intensity (0-1); area: pixels above 50%; thickness ≈ 2·area/perimeter; slant: horizontal
    shift of ink per row upwards (>0 leans right, ≈ tan of the lean); width: ink-weighted standard
    deviation of the column (pixels)."""
    x = images.astype(np.float32) / 255
    mass = np.maximum(x.sum((1, 2)), 1e-6)
    rows, cols = np.arange(28, dtype=np.float32)[:, None], np.arange(28, dtype=np.float32)[None, :]
    r_mean = (x * rows).sum((1, 2)) / mass
    c_mean = (x * cols).sum((1, 2)) / mass
    dr, dc = rows - r_mean[:, None, None], cols - c_mean[:, None, None]
    r_var = np.maximum((x * dr * dr).sum((1, 2)) / mass, 1e-6)
    slant = -(x * dr * dc).sum((1, 2)) / mass / r_var   # rows grow downwards, hence the minus
    width = np.sqrt((x * dc * dc).sum((1, 2)) / mass)
    on = x > 0.5
    # perimeter: edges between an 'on' pixel and an 'off' neighbour (4-connectivity), borders padded off
    padded = np.pad(on, ((0, 0), (1, 1), (1, 1)))
    perimeter = sum((padded[:, 1:-1, 1:-1] & ~np.roll(padded, s, axis=a)[:, 1:-1, 1:-1]).sum((1, 2))
                    for a in (1, 2) for s in (1, -1))
    area = on.sum((1, 2))
    return {"ink": x.mean((1, 2)), "area": area.astype(np.float32),
            "thickness": 2 * area / np.maximum(perimeter, 1), "slant": slant, "width": width}

# ---------------------------------------------------------------------------
# Everything at once, and during training
# ---------------------------------------------------------------------------

def evaluate_images(fake: Any, real: Any, *, k: int = 3) -> dict[str, Any]:
    """Every figure for one fake set against a real reference set (06_evaluate)."""
    gh._check_int("k", k)
    return _evaluate(_at_least("fake", fake, k + 1), _at_least("real", real, k + 1), k)

def _evaluate(fake: np.ndarray, real: np.ndarray, k: int = 3) -> dict[str, Any]:
    (f_fake, logits), f_real = _forward(fake), _forward(real)[0]
    hist = _histogram(logits.argmax(1))
    pr = _precision_recall(f_real, f_fake, k)
    return {"n": len(fake), "frechet_distance": _frechet(f_real, f_fake),
            "classifier_score": _score(tf.nn.softmax(logits).numpy()), "coverage_entropy": hist["coverage_entropy"],
            "min_digit_share": hist["min_share"], "precision": pr["precision"], "recall": pr["recall"]}

def evaluate_generator(generator: keras.Model, n: int = 10_000, seed: int = 0,
                       mnist: gh.MnistSplits | None = None) -> dict[str, Any]:
    """All metrics for n generated digits vs the real test set, beside the real-vs-real floor (06_evaluate)."""
    # The floor compares n training images with the same test images: no generator can be expected
    # to beat it at this n.
    gh._check_int("n", n, minimum=4)
    (x_train, _), (x_test, _) = mnist if mnist is not None else gh.load_mnist()
    if n > len(x_test):
        raise ValueError(f"n must be at most {len(x_test)} (the size of the test set), got {n}")
    real = x_test[:n]
    fake = gh.sample_digits(generator, n, seed)
    floor_images = x_train[np.random.default_rng(seed).permutation(len(x_train))[:n]]
    _, fake_nn = nearest_training_neighbours(fake[:1_000], x_train)
    _, real_nn = nearest_training_neighbours(real[:1_000], x_train)
    return {"generator": _evaluate(fake, real), "real_vs_real": _evaluate(floor_images, real),
            "nearest_neighbour_distance": {"generated_median": float(np.median(fake_nn)),
                                           "test_median": float(np.median(real_nn)), "n": min(n, 1_000)}}

def frechet_callback(x_reference: Any, n: int = 1_000, every: int = 1, seed: int = 1234,
                     epochs: int | None = None) -> Callable[[int, gh.GANState, dict[str, Any]], None]:
    """A ``gh.train`` callback: Fréchet distance and digit shares of n samples every ``every`` epochs and at ``epochs`` (06_evaluate)."""
    # The reference is the features of x_reference[:n]; the samples are gh.sample_digits(G, n, seed),
    # the frames' seed. A conditional generator draws each digit equally often, and
    # record["label_accuracy"] is the share the classifier reads as the digit asked for (08).
    reference_images = _at_least("x_reference", x_reference, 2)[:gh._check_int("n", n, minimum=2)]
    gh._check_int("every", every)
    gh._check_int("seed", seed, minimum=0)
    if epochs is not None:
        gh._check_int("epochs", epochs)
    reference: list[np.ndarray] = []  # computed at the first measurement

    def measure(epoch: int, state: gh.GANState, record: dict[str, Any]) -> None:
        if epoch % every and epoch != epochs:
            return
        if not reference:
            reference.append(_forward(reference_images)[0].astype(np.float64))
        fake, logits = _forward(gh.sample_digits(state.sampler, n, seed))
        read_as = logits.argmax(1)
        record["frechet"] = _frechet(reference[0], fake.astype(np.float64))
        record["digit_shares"] = (np.bincount(read_as, minlength=gh.N_CLASSES) / len(read_as)).round(4).tolist()
        if gh.is_conditional(state.sampler):
            record["label_accuracy"] = float((read_as == gh.balanced_labels(state.sampler, n)).mean())
    return measure

# ---------------------------------------------------------------------------
# Pictures
# ---------------------------------------------------------------------------

def plot_digit_shares(shares: dict[str, np.ndarray]):
    """Grouped bars: share of each predicted digit for several image sets (06_evaluate)."""
    import matplotlib.pyplot as plt

    if not isinstance(shares, dict) or not shares or any(np.shape(v) != (10,) for v in shares.values()):
        raise ValueError("shares must be a non-empty dict of name -> 10 digit shares "
                         "(ev.digit_histogram(images)['shares'])")
    fig, ax = plt.subplots(figsize=(9, 3.4))
    width = 0.8 / max(len(shares), 1)
    for i, (name, values) in enumerate(shares.items()):
        ax.bar(np.arange(10) + (i - (len(shares) - 1) / 2) * width, values, width, label=name)
    ax.axhline(0.1, color="grey", ls="--", lw=0.8)
    ax.set(xticks=range(10), xlabel="digit (as the classifier reads it)", ylabel="share of images")
    ax.legend()
    fig.tight_layout()
    return fig

def plot_image_statistics(real: Any, fake: Any, labels: Sequence[str] = ("real", "generated")):
    """Pixel-intensity histogram, ink per image and stroke thickness, real against generated (06_evaluate)."""
    import matplotlib.pyplot as plt

    real, fake = gh.to_uint8(_at_least("real", real, 1)), gh.to_uint8(_at_least("fake", fake, 1))
    stats = [_statistics(real), _statistics(fake)]
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.4))
    bins = np.arange(0, 257, 8)
    for images, name in zip((real, fake), labels):
        axes[0].hist(images.ravel(), bins=bins, density=True, histtype="step", lw=1.5, label=name)
    axes[0].set(yscale="log", xlabel="pixel value", ylabel="density", title="Pixel intensities")
    for key, ax, title in [("ink", axes[1], "Ink per image (mean intensity)"),
                           ("thickness", axes[2], "Stroke thickness (pixels)")]:
        lo = min(s[key].min() for s in stats)
        hi = max(s[key].max() for s in stats)
        for st, name in zip(stats, labels):
            ax.hist(st[key], bins=np.linspace(lo, hi, 40), density=True, histtype="step", lw=1.5,
                    label=f"{name}: mean {st[key].mean():.3f}")
        ax.set(xlabel=key, title=title)
    for ax in axes:
        ax.legend()
    fig.tight_layout()
    return fig
