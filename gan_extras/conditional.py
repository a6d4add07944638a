"""A conditional GAN: ask for a digit, get it; and labelled synthetic datasets (08_conditional_gan).

The conditional pair is the DCGAN of 03 with a learned label embedding on both sides; its step is
04's two-tape step with labels, run by the core's loop ``gh.train``. Importing this module has no
side effects beyond importing its libraries.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import imageio.v3 as iio
import keras
import numpy as np
import tensorflow as tf

import gan_helpers as gh
from gan_extras import evaluation as ev

#: Length of the learned label vector of the conditional GAN (08_conditional_gan).
LABEL_EMBEDDING = 50

# ---------------------------------------------------------------------------
# Models: the DCGAN of 03 with a label input on both sides
# ---------------------------------------------------------------------------

def build_conditional_generator(latent_dim: int = gh.LATENT_DIM, *, kernel_size: int = gh.KERNEL_SIZE,
                                projection_channels: int = gh.PROJECTION_CHANNELS) -> keras.Model:
    """(z, digit) → image: a learned 50-number embedding of the digit is appended to z, then the DCGAN generator (08_conditional_gan)."""
    gh._check_int("latent_dim", latent_dim)
    gh._check_size(kernel_size, projection_channels)
    layers, k, c = keras.layers, kernel_size, projection_channels
    z = keras.Input(shape=(latent_dim,), name="z")
    label = keras.Input(shape=(), dtype="int32", name="label")
    embedded = layers.Embedding(gh.N_CLASSES, LABEL_EMBEDDING, name="label_embedding")(label)
    x = layers.Concatenate(name="z_and_label")([z, embedded])
    # From here on the layers of gh.build_generator, with the same names (checkpoints depend on them).
    x = layers.Dense(7 * 7 * c, use_bias=False, name="project")(x)
    x = layers.BatchNormalization(name="project_bn")(x)
    x = layers.LeakyReLU(0.2, name="project_lrelu")(x)
    x = layers.Reshape((7, 7, c), name=f"to_7x7x{c}")(x)
    x = layers.Conv2DTranspose(128, k, strides=1, padding="same", use_bias=False, name="deconv_7x7x128")(x)
    x = layers.BatchNormalization(name="deconv1_bn")(x)
    x = layers.LeakyReLU(0.2, name="deconv1_lrelu")(x)
    x = layers.Conv2DTranspose(64, k, strides=2, padding="same", use_bias=False, name="deconv_14x14x64")(x)
    x = layers.BatchNormalization(name="deconv2_bn")(x)
    x = layers.LeakyReLU(0.2, name="deconv2_lrelu")(x)
    # float32 even under mixed precision (11_training_faster): pixels keep full precision.
    x = layers.Conv2DTranspose(1, k, strides=2, padding="same", activation="tanh", name="image_28x28x1",
                               dtype="float32")(x)
    return keras.Model([z, label], x, name="conditional_generator")

def build_conditional_discriminator(*, kernel_size: int = gh.KERNEL_SIZE) -> keras.Model:
    """(image, digit) → logit: the digit's embedding becomes a learned 28×28 plane stacked on the image as a second channel (08_conditional_gan)."""
    gh._check_size(kernel_size)
    layers, k = keras.layers, kernel_size
    image = keras.Input(shape=(28, 28, 1), name="image")
    label = keras.Input(shape=(), dtype="int32", name="label")
    plane = layers.Embedding(gh.N_CLASSES, LABEL_EMBEDDING, name="label_embedding")(label)
    plane = layers.Reshape((28, 28, 1), name="label_plane")(layers.Dense(28 * 28, name="label_to_pixels")(plane))
    x = layers.Concatenate(axis=-1, name="image_and_label")([image, plane])
    # From here on the layers of gh.build_discriminator, with the same names.
    x = layers.Conv2D(64, k, strides=2, padding="same", name="conv_14x14x64")(x)
    x = layers.LeakyReLU(0.2, name="conv1_lrelu")(x)
    x = layers.Dropout(0.3, name="conv1_dropout")(x)
    x = layers.Conv2D(128, k, strides=2, padding="same", name="conv_7x7x128")(x)
    x = layers.LeakyReLU(0.2, name="conv2_lrelu")(x)
    x = layers.Dropout(0.3, name="conv2_dropout")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(1, name="logit", dtype="float32")(x)
    return keras.Model([image, label], x, name="conditional_discriminator")

# ---------------------------------------------------------------------------
# Training: 04's step with labels, the core's loop
# ---------------------------------------------------------------------------

def make_conditional_step(generator: keras.Model, discriminator: keras.Model,
                          g_optimizer: keras.optimizers.Optimizer,
                          d_optimizer: keras.optimizers.Optimizer, rng: tf.random.Generator,
                          g_loss_fn: Callable = gh.generator_loss) -> Callable:
    """One conditional GAN update: 04's two-tape step, with labels (08_conditional_gan)."""
    latent_dim = gh.latent_dim_of(generator)
    if not (gh.is_conditional(generator) and gh.is_conditional(discriminator)):
        raise ValueError("generator and discriminator must both be conditional (take labels)")

    @tf.function
    def train_step(real_images: tf.Tensor, real_labels: tf.Tensor) -> dict[str, tf.Tensor]:
        n = tf.shape(real_images)[0]
        z = rng.normal([n, latent_dim])
        # fakes of uniformly drawn digits
        fake_labels = rng.uniform([n], 0, gh.N_CLASSES, dtype=tf.int32)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake_images = generator([z, fake_labels], training=True)
            # D judges each image with its label: the real one's, or the one G was asked for
            real_logits = discriminator([real_images, real_labels], training=True)
            fake_logits = discriminator([fake_images, fake_labels], training=True)
            g_loss = g_loss_fn(fake_logits)
            d_loss = gh.discriminator_loss(real_logits, fake_logits)
        g_grads = g_tape.gradient(g_loss, generator.trainable_variables)
        d_grads = d_tape.gradient(d_loss, discriminator.trainable_variables)
        g_optimizer.apply_gradients(zip(g_grads, generator.trainable_variables))
        d_optimizer.apply_gradients(zip(d_grads, discriminator.trainable_variables))
        return {"g_loss": g_loss, "d_loss": d_loss,
                "d_real": tf.reduce_mean(tf.sigmoid(real_logits)),
                "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits)),
                "g_grad_norm": tf.linalg.global_norm(g_grads),
                "d_grad_norm": tf.linalg.global_norm(d_grads)}

    return train_step

def new_conditional_state(latent_dim: int = gh.LATENT_DIM, learning_rate: float = gh.LEARNING_RATE,
                          beta_1: float = gh.BETA_1, seed: int = 0, *, kernel_size: int = gh.KERNEL_SIZE,
                          projection_channels: int = gh.PROJECTION_CHANNELS) -> gh.GANState:
    """A fresh conditional pair initialized from ``seed`` and two Adams, ready for a checkpoint (08_conditional_gan)."""
    keras.utils.set_random_seed(gh._check_int("seed", seed, minimum=0))  # weights and dropout follow the seed
    generator = build_conditional_generator(latent_dim, kernel_size=kernel_size,
                                            projection_channels=projection_channels)
    discriminator = build_conditional_discriminator(kernel_size=kernel_size)
    return gh.new_gan_state(latent_dim, learning_rate, beta_1, seed, generator=generator,
                            discriminator=discriminator)

def train_conditional(out_dir: str | os.PathLike[str] | None = None, *, epochs: int = gh.EPOCHS,
                      batch_size: int = gh.BATCH_SIZE, learning_rate: float = gh.LEARNING_RATE,
                      beta_1: float = gh.BETA_1, latent_dim: int = gh.LATENT_DIM,
                      checkpoint_every: int = gh.CHECKPOINT_EVERY, n_train: int | None = None, seed: int = 0,
                      x_train: np.ndarray | None = None, y_train: np.ndarray | None = None,
                      kernel_size: int = gh.KERNEL_SIZE, projection_channels: int = gh.PROJECTION_CHANNELS,
                      frame_seed: int = 1234, verbose: int = 1, callbacks: Sequence[Callable] = (),
                      g_loss_fn: Callable = gh.generator_loss) -> gh.TrainingRun:
    """Train (or resume) the conditional GAN with the core's loop; frames get one row per digit (08_conditional_gan).

    Labels are ``y_train`` (loaded with MNIST when ``x_train`` is None); the run folder defaults to
    ``gh.output_dir("conditional")`` and its config.json records ``architecture: "conditional"``.
    """
    if x_train is not None and y_train is None:
        raise ValueError("y_train: architecture='conditional' needs the labels of x_train")
    if not callable(g_loss_fn):
        raise TypeError(f"g_loss_fn must be a function of the fake logits (e.g. gh.generator_loss), got {g_loss_fn!r}")
    state = new_conditional_state(latent_dim, learning_rate, beta_1, seed, kernel_size=kernel_size,
                                  projection_channels=projection_channels)
    step = make_conditional_step(state.generator, state.discriminator, state.g_optimizer, state.d_optimizer,
                                 state.rng, g_loss_fn)
    return gh.train(out_dir, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, beta_1=beta_1,
                    latent_dim=latent_dim, checkpoint_every=checkpoint_every, n_train=n_train, seed=seed,
                    x_train=x_train, y_train=y_train, architecture="conditional", kernel_size=kernel_size,
                    projection_channels=projection_channels, frame_seed=frame_seed, verbose=verbose,
                    state=state, step=step, callbacks=callbacks)

# ---------------------------------------------------------------------------
# Trained conditional generators
# ---------------------------------------------------------------------------

def load_pretrained_conditional_generator(path: str | os.PathLike[str] | None = None) -> keras.Model:
    """The conditional generator the kit ships (trained on all 60k digits); its record is the .json beside it (08_conditional_gan)."""
    return gh.load_pretrained_generator(path, conditional=True)

def _checkpointed_generator(run: Path, epoch: int | None = None) -> keras.Model:
    """A conditional run's generator at a checkpoint, rebuilt from its config.json."""
    config = gh.load_config(run)
    generator = build_conditional_generator(config.get("latent_dim", gh.LATENT_DIM),
                                            kernel_size=config["kernel_size"],
                                            projection_channels=config["projection_channels"])
    return gh.load_generator_from_checkpoint(run, epoch, generator=generator)

def trained_conditional_generator(source: str = "auto") -> tuple[keras.Model, str]:
    """A trained conditional generator and a sentence saying which: your full run of 08 when present, else the pretrained one (08_conditional_gan).

    Quick-mode runs are never used ("auto"), because 4 short epochs draw blobs.
    """
    if source not in ("auto", "yours", "pretrained"):
        raise ValueError(f"source must be 'auto', 'yours' or 'pretrained', got {source!r}")
    run = gh.outputs_root() / "conditional"  # the full-mode run, also in quick mode
    epochs = gh.checkpoint_epochs(run)
    if source == "yours" or (source == "auto" and epochs):
        if not epochs:
            raise FileNotFoundError(f"source='yours': no checkpoints in {run}; run 08_conditional_gan (full mode) first")
        return _checkpointed_generator(run), f"your generator from 08_conditional_gan ({run}, epoch {epochs[-1]})"
    return (load_pretrained_conditional_generator(),
            f"the kit's pretrained conditional generator ({gh.describe_pretrained(source, conditional=True)})")

# ---------------------------------------------------------------------------
# Asking for digits, synthetic datasets, the per-digit evaluation
# ---------------------------------------------------------------------------

def _conditional(generator: Any) -> keras.Model:
    if not gh.is_conditional(generator):
        raise ValueError("generator must be conditional (take a digit label as well as z), e.g. "
                         "cond.trained_conditional_generator()[0]; this one takes z alone")
    return generator

def generate_digits(generator: keras.Model, labels: Any, seed: int = 0) -> np.ndarray:
    """uint8 images (n, 28, 28) of the digits asked for, one per label, from a conditional generator; deterministic for a seed (08_conditional_gan)."""
    labels = gh.check_labels(labels)
    z = gh.latent_vectors(max(len(labels), 1), gh.latent_dim_of(_conditional(generator)), seed)[:len(labels)]
    return gh.to_uint8(gh.generate(generator, z, labels))

def make_synthetic_dataset(generator: keras.Model, n_per_class: int, path: str | os.PathLike[str], *,
                           n_test_per_class: int = 0, seed: int = 0,
                           png_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Write labelled synthetic digits as an .npz in the Keras MNIST layout (``gh.load_mnist(path)`` reads it), a JSON record beside it and, on request, PNGs per digit (08_conditional_gan).

    ``x_train``/``y_train`` hold ``n_per_class`` images of every digit, shuffled; ``x_test``/``y_test``
    hold ``n_test_per_class`` more, drawn from other z's (empty by default). Images and labels are
    uint8. Written atomically: an interrupted call leaves no half file and keeps an older one.
    """
    _conditional(generator)
    gh._check_int("n_per_class", n_per_class)
    gh._check_int("n_test_per_class", n_test_per_class, minimum=0)
    gh._check_int("seed", seed, minimum=0)
    if not isinstance(path, (str, os.PathLike)) or Path(path).suffix != ".npz":
        raise ValueError(f"path must be a file name ending in .npz, got {path!r}")
    path = Path(path)
    rng = np.random.default_rng(seed)
    splits = {}
    for split, count, z_seed in (("train", n_per_class, seed), ("test", n_test_per_class, seed + 1)):
        labels = rng.permutation(np.repeat(np.arange(gh.N_CLASSES), count)).astype(np.uint8)
        images = generate_digits(generator, labels, z_seed) if len(labels) else np.zeros((0, 28, 28), np.uint8)
        splits[f"x_{split}"], splits[f"y_{split}"] = images, labels
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **splits)
    gh._atomic_write_bytes(path, buffer.getvalue())
    pngs = _write_pngs(splits, Path(png_dir)) if png_dir is not None else 0
    record = {"path": str(path), "n_per_class": n_per_class, "n_test_per_class": n_test_per_class,
              "seed": seed, "generator": generator.name, "generator_parameters": generator.count_params(),
              "train_counts": np.bincount(splits["y_train"], minlength=gh.N_CLASSES).tolist(),
              "test_counts": np.bincount(splits["y_test"], minlength=gh.N_CLASSES).tolist(),
              "png_dir": str(png_dir) if png_dir is not None else None, "pngs": pngs,
              "created": time.strftime("%Y-%m-%d %H:%M:%S"),
              "read_with": f"gh.load_mnist({str(path)!r})"}
    gh._atomic_write_json(path.with_suffix(".json"), record)
    return record

def _write_pngs(splits: dict[str, np.ndarray], png_dir: Path) -> int:
    """One PNG per image in ``png_dir/<split>/<digit>/``; returns how many."""
    pngs = 0
    for split in ("train", "test"):
        for i, (image, label) in enumerate(zip(splits[f"x_{split}"], splits[f"y_{split}"])):
            gh._atomic_write_bytes(png_dir / split / str(label) / f"{i:06d}.png",
                                   iio.imwrite("<bytes>", image, extension=".png"))
            pngs += 1
    return pngs

def evaluate_conditional(generator: keras.Model, n_per_class: int = 1_000, seed: int = 0,
                         mnist: gh.MnistSplits | None = None) -> dict[str, Any]:
    """Per digit k: how often the classifier reads k when k is asked for, and the Fréchet distance to the real test k's, beside the real-vs-real floor (08_conditional_gan)."""
    _conditional(generator)
    gh._check_int("n_per_class", n_per_class, minimum=2)
    (x_train, y_train), (x_test, y_test) = mnist if mnist is not None else gh.load_mnist()
    rng = np.random.default_rng(seed)
    accuracy, confusion, frechet, floor = [], np.zeros((gh.N_CLASSES, gh.N_CLASSES), np.int64), [], []
    for digit in range(gh.N_CLASSES):
        features, logits = ev._forward(generate_digits(generator, np.full(n_per_class, digit), seed + digit))
        read = logits.argmax(1)
        confusion[digit] = np.bincount(read, minlength=gh.N_CLASSES)
        accuracy.append(float((read == digit).mean()))
        # the real test k's (as many as asked for, when there are that many), and as many training k's
        real = ev._forward(x_test[y_test == digit][:n_per_class])[0]
        same = x_train[y_train == digit]
        frechet.append(ev.frechet_from_features(features, real))
        floor.append(ev.frechet_from_features(ev._forward(same[rng.permutation(len(same))[:len(real)]])[0], real))
    return {"n_per_class": n_per_class, "accuracy": accuracy, "frechet": frechet, "real_vs_real_frechet": floor,
            "min_accuracy": min(accuracy), "mean_accuracy": float(np.mean(accuracy)),
            "confusion": confusion.tolist()}
