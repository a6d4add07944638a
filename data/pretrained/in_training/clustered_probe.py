"""Issue 22's next DCGAN probe: a self-conditioned GAN (Liu et al. 2020), labels found by k-means, not given.

    MNIST_NPZ=... nohup .venv/bin/python data/pretrained/in_training/clustered_probe.py train 60 >> clustered.log 2>&1 &
    MNIST_NPZ=... .venv/bin/python data/pretrained/in_training/clustered_probe.py evaluate 30   # n = 10,000

The DCGAN's precision has stood at 0.71-0.73 through seven recipe changes (README.md here), while the
conditional GAN, of the same networks with the digit given, reaches 0.84. A self-conditioned GAN keeps
what made the conditional one precise, a label that tells G which kind of digit to draw and D what to
compare it with, without MNIST's labels: the labels are the CLUSTERS clusters of a k-means of the
training images' pixels, computed once (seed 0) and saved with the run.

G still takes z alone, so the ``.keras`` file loads and samples as the shipped DCGAN does: the cluster
is argmax(z[:CLUSTERS] + b), with a fixed bias b that makes each cluster as frequent as it is among the
training images, built from built-in layers (a fixed ``Dense``, ``Rescaling``, ``Softmax``) and then
a learned 50-number embedding of it beside z, into the tutorial-size generator. D is the conditional
GAN's: the cluster's embedding as a plane stacked on the image; a real image's cluster is its nearest
centroid, a fake's the one G drew. Everything else is the shipped DCGAN run's (the tutorial's network
size, a moving average of G with decay 0.999, batch 128, seed 0, 2e-4 for both), trained by the core loop
with a checkpoint every epoch into ``probes/clustered/``, resuming when run again.
"""

from __future__ import annotations

import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import gan_helpers as gh
from gan_extras import averaging as avg
from gan_extras import conditional as cond
from gan_extras import evaluation as ev

CLUSTERS = 50  # k of the k-means: about 1,200 training images each, finer than the ten digits
SHARPNESS = 1e4  # softmax(SHARPNESS · (z[:k] + b)) is one-hot to float precision unless two entries tie
RUN = Path(__file__).resolve().parent / "probes" / "clustered"


def kmeans(x: np.ndarray, k: int = CLUSTERS, iterations: int = 30, seed: int = 0) -> np.ndarray:
    """k centroids of the flattened images x (k-means++ start, then Lloyd's iterations)."""
    rng = np.random.default_rng(seed)
    flat = x.reshape(len(x), -1).astype(np.float32)
    centroids = [flat[rng.integers(len(flat))]]
    d2 = ((flat - centroids[0]) ** 2).sum(1)
    for _ in range(k - 1):  # k-means++: each next centroid drawn in proportion to its squared distance
        centroids.append(flat[rng.choice(len(flat), p=d2 / d2.sum())])
        d2 = np.minimum(d2, ((flat - centroids[-1]) ** 2).sum(1))
    centroids = np.stack(centroids)
    for _ in range(iterations):
        nearest = nearest_centroid(flat, centroids)
        centroids = np.stack([flat[nearest == j].mean(0) if np.any(nearest == j) else centroids[j]
                              for j in range(k)])
    return centroids


def nearest_centroid(flat: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """For each row of flat, the index of its nearest centroid."""
    scores = flat @ centroids.T * -2.0 + (centroids ** 2).sum(1)
    return scores.argmin(1)


def argmax_biases(shares: np.ndarray, n: int = 400_000, rounds: int = 60, seed: int = 0) -> np.ndarray:
    """b such that argmax(z + b), z ~ N(0, I), falls on entry j with probability shares[j]."""
    z = np.random.default_rng(seed).standard_normal((n, len(shares))).astype(np.float32)
    b = np.zeros(len(shares), np.float32)
    for _ in range(rounds):
        drawn = np.bincount((z + b).argmax(1), minlength=len(shares)) / n
        b += 0.5 * (np.log(shares) - np.log(np.maximum(drawn, 1e-6)))
    return b


def clusters(x_uint8: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The run's centroids (in [-1, 1] pixels) and argmax biases, computed once and kept in the run folder."""
    path = RUN / "clusters.npz"
    if path.is_file():
        saved = np.load(path)
        return saved["centroids"], saved["biases"]
    flat = gh.to_float(x_uint8).reshape(len(x_uint8), -1)
    centroids = kmeans(flat)
    shares = np.bincount(nearest_centroid(flat, centroids), minlength=CLUSTERS) / len(flat)
    biases = argmax_biases(shares)
    RUN.mkdir(parents=True, exist_ok=True)
    np.savez(path, centroids=centroids, biases=biases, shares=shares)
    return centroids, biases


def clustered_generator(biases: np.ndarray) -> keras.Model:
    """z → the tutorial-size G of (z, embed(one_hot(argmax(z[:k] + b)))), the cluster picked by built-in layers."""
    layers, k = keras.layers, len(biases)
    z = keras.Input((gh.LATENT_DIM,), name="z")
    pick = layers.Dense(k, trainable=False, name="first_entries_of_z_plus_bias")
    first = pick(z)
    pick.set_weights([np.eye(gh.LATENT_DIM, k, dtype="float32"), biases.astype("float32")])
    one_hot = layers.Softmax(name="cluster")(layers.Rescaling(SHARPNESS, name="sharpen")(first))
    embedded = layers.Dense(cond.LABEL_EMBEDDING, use_bias=False, name="cluster_embedding")(one_hot)
    body = gh.build_generator(gh.LATENT_DIM + cond.LABEL_EMBEDDING, kernel_size=5, projection_channels=256)
    return keras.Model(z, body(layers.Concatenate(name="z_and_cluster")([z, embedded])), name="clustered_generator")


def clustered_discriminator(k: int = CLUSTERS) -> keras.Model:
    """(image, cluster) → logit: the conditional GAN's D (08) over k clusters instead of ten digits."""
    layers = keras.layers
    image = keras.Input((28, 28, 1), name="image")
    label = keras.Input((), dtype="int32", name="cluster")
    plane = layers.Embedding(k, cond.LABEL_EMBEDDING, name="cluster_embedding")(label)
    plane = layers.Reshape((28, 28, 1), name="cluster_plane")(layers.Dense(28 * 28, name="cluster_to_pixels")(plane))
    x = layers.Concatenate(axis=-1, name="image_and_cluster")([image, plane])
    x = layers.Dropout(0.3)(layers.LeakyReLU(0.2)(layers.Conv2D(64, 5, strides=2, padding="same", name="conv_14x14x64")(x)))
    x = layers.Dropout(0.3)(layers.LeakyReLU(0.2)(layers.Conv2D(128, 5, strides=2, padding="same", name="conv_7x7x128")(x)))
    return keras.Model([image, label], layers.Dense(1, name="logit")(layers.Flatten()(x)), name="clustered_discriminator")


def make_clustered_step(state: gh.GANState, centroids: np.ndarray, biases: np.ndarray):
    """The conditional step (08) with clusters for labels: a real image's nearest centroid, a fake's drawn one."""
    g, d, rng = state.generator, state.discriminator, state.rng
    c = tf.constant(centroids, tf.float32)
    c_sq, b, k = tf.reduce_sum(tf.square(c), axis=1), tf.constant(biases, tf.float32), len(biases)

    @tf.function
    def clustered_step(real_images: tf.Tensor) -> dict[str, tf.Tensor]:
        n = tf.shape(real_images)[0]
        z = rng.normal([n, gh.LATENT_DIM])
        fake_clusters = tf.argmax(z[:, :k] + b, axis=1, output_type=tf.int32)  # as G's own layers pick it
        flat = tf.reshape(real_images, [n, -1])
        real_clusters = tf.argmin(c_sq - 2.0 * tf.matmul(flat, c, transpose_b=True), axis=1, output_type=tf.int32)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake_images = g(z, training=True)
            real_logits = d([real_images, real_clusters], training=True)
            fake_logits = d([fake_images, fake_clusters], training=True)
            g_loss = gh.generator_loss(fake_logits)
            d_loss = gh.discriminator_loss(real_logits, fake_logits)
        g_grads = g_tape.gradient(g_loss, g.trainable_variables)
        d_grads = d_tape.gradient(d_loss, d.trainable_variables)
        state.g_optimizer.apply_gradients(zip(g_grads, g.trainable_variables))
        state.d_optimizer.apply_gradients(zip(d_grads, d.trainable_variables))
        return {"g_loss": g_loss, "d_loss": d_loss, "d_real": tf.reduce_mean(tf.sigmoid(real_logits)),
                "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits)),
                "g_grad_norm": tf.linalg.global_norm(g_grads), "d_grad_norm": tf.linalg.global_norm(d_grads)}

    return clustered_step


def probe_state(x_uint8: np.ndarray) -> tuple[avg.AveragedState, object]:
    """The probe's models (seed 0), optimizers and average, and its averaging train step."""
    centroids, biases = clusters(x_uint8)
    keras.utils.set_random_seed(0)
    state = gh.new_gan_state(generator=clustered_generator(biases), discriminator=clustered_discriminator(len(biases)))
    state = avg.with_averaging(state, avg.EMA_DECAY)
    return state, avg.make_averaging_step(make_clustered_step(state, centroids, biases), state)


def train(epochs: int) -> None:
    """Train (or resume) the probe to ``epochs`` epochs."""
    gh.quiet_tensorflow()
    (x, _), _ = gh.load_mnist()
    state, step = probe_state(x)
    compare = avg.comparison_callback(x[:1_000], n=1_000, every=1, path=RUN / "comparison.json")
    gh.train(RUN, epochs=epochs, kernel_size=5, projection_channels=256, state=state, step=step,
             checkpoint_every=1, x_train=x, verbose=2, callbacks=[compare],
             settings={"ema_decay": avg.EMA_DECAY, "variant": "clustered", "clusters": CLUSTERS})


def evaluate(epoch: int) -> None:
    """The average's and G's own figures at ``epoch`` (n = 10,000), and each cluster's digit purity; saved."""
    gh.quiet_tensorflow()
    (x, y), (x_test, _) = gh.load_mnist()
    state, _ = probe_state(x)
    checkpoint = tf.train.Checkpoint(generator=state.generator, average_generator=state.average)
    checkpoint.restore(str(RUN / "checkpoints" / f"ckpt-{epoch}")).expect_partial().assert_existing_objects_matched()
    figures = {}
    for label, g in (("averaged", state.average), ("generator", state.generator)):
        result = ev.evaluate_images(gh.sample_digits(g, 10_000, 0), x_test[:10_000])
        figures[label] = {k: result[k] for k in ("frechet_distance", "precision", "recall")}
        print("clustered", epoch, label, {k: round(v, 3) for k, v in figures[label].items()}, flush=True)
    path = RUN / "evaluations.json"
    saved = gh._read_json(path) if path.is_file() else {}
    gh._atomic_write_json(path, {**saved, str(epoch): figures})


def purity(x: np.ndarray, y: np.ndarray) -> float:
    """The share of training images whose cluster's most common digit is their own."""
    centroids, _ = clusters(x)
    nearest = nearest_centroid(gh.to_float(x).reshape(len(x), -1), centroids)
    return float(sum(np.bincount(y[nearest == j], minlength=10).max() for j in np.unique(nearest)) / len(x))


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) != 2 or args[0] not in ("train", "evaluate"):
        raise SystemExit("usage: clustered_probe.py {train|evaluate} EPOCHS")
    (train if args[0] == "train" else evaluate)(int(args[1]))
