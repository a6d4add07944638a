"""The small core of the GAN teaching kit: what notebooks 01-05 teach and every later one reuses.

Sections follow the teaching order; each docstring names the notebook that teaches it. Later lessons keep
their code in ``gan_extras/``, one module per lesson, which this file never imports but for the checks of
``checks.py`` and the quiet start-up of ``quiet.py`` (README, "Layout"). Importing it only loads TensorFlow.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import platform
import shutil
import sys
import time
if __name__ == "__main__":  # the command line: level 1 hides TensorFlow's C++ start-up INFO lines, keeps warnings
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import imageio.v3 as iio
import numpy as np
from gan_extras.quiet import notices_hidden, quiet_tensorflow  # TensorFlow's C++ notices (README, "Quiet output")
with notices_hidden():  # TensorFlow loads here; its oneDNN start-up notice is dropped, all else still shows
    import keras
    import tensorflow as tf
from gan_extras.checks import (  # argument, file and record checks, shared with every lesson module
    MNIST_SHA256, MNIST_URL, SPEED_SETTINGS, MnistSplits, _atomic_write_bytes, _atomic_write_json, _check_bool,
    _check_config, _check_generator_file, _check_grid, _check_history, _check_images, _check_int, _check_loop,
    check_pair, _check_rate, _check_size, _logits, _mnist_file, _read_json, _read_mnist_npz, check_labels,
    load_config, load_keras_file)
from gan_extras.runfolder import (CheckpointDamaged, RunInUse, _history_up_to, _keep_on_interrupt,  # the run folder
                                  _lock_run, _prepare_run_folder, _restore_error, _unlock_run)

# --- 1. Settings and set-up -----------------------------------------------------------------------

PROJECT_ROOT = Path(__file__).resolve().parent

#: The real settings. Quick mode (GAN_QUICK=1) shrinks only the run length and data.
LATENT_DIM = 100
N_CLASSES = 10           # digits 0-9
BATCH_SIZE = 128
LEARNING_RATE = 2e-4
BETA_1 = 0.5
EPOCHS = 50
CHECKPOINT_EVERY = 15
#: The DCGAN's size (03): 4×4 kernels and a 7×7×128 projection; the TF tutorial's 5×5 and 256 (11 compares).
KERNEL_SIZE = 4
PROJECTION_CHANNELS = 128

#: Quick mode: enough to execute every cell of the series in minutes on a laptop CPU.
QUICK_EPOCHS = 4
QUICK_N_TRAIN = 640
QUICK_CHECKPOINT_EVERY = 2
#: Class mode (GAN_CLASS=1): a run a class watches learn within a lesson; 04 explains the small batches.
CLASS_EPOCHS = 9
CLASS_N_TRAIN = 4_000
CLASS_BATCH_SIZE = 16
CLASS_CHECKPOINT_EVERY = 3

def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}

def quick_mode() -> bool:
    """True when GAN_QUICK is set to 1/true/yes (every notebook's Setup cell)."""
    return _flag("GAN_QUICK")

def class_mode() -> bool:
    """True when GAN_CLASS is set (and GAN_QUICK is not): runs that learn visibly within a lesson (every notebook's Setup cell)."""
    return _flag("GAN_CLASS") and not quick_mode()

def mode() -> str:
    """"quick", "class" or "full": the settings this session runs with (every notebook's Setup cell)."""
    return "quick" if quick_mode() else "class" if class_mode() else "full"

def data_dir() -> Path:
    """Folder that notebooks read from: $GAN_DATA or ``data/`` (01_mnist_data)."""
    return Path(os.environ.get("GAN_DATA", PROJECT_ROOT / "data"))

def output_dir(name: str = "") -> Path:
    """Folder for what runs write: $GAN_OUTPUTS or ``outputs/``, plus ``quick/`` or ``class/`` in those modes (04_train_dcgan)."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a string (a folder name), got {type(name).__name__}")
    root = outputs_root() / mode() if mode() != "full" else outputs_root()
    return root / name if name else root

def outputs_root() -> Path:
    """$GAN_OUTPUTS (a relative one is taken from the kit's folder, whatever the working folder) or ``outputs/`` (04_train_dcgan)."""
    return PROJECT_ROOT / os.environ.get("GAN_OUTPUTS", "outputs")

def run_settings() -> dict[str, Any]:
    """Epochs, data size, batch size and checkpoint interval for this mode (04_train_dcgan)."""
    settings = {"quick": (QUICK_EPOCHS, QUICK_N_TRAIN, QUICK_CHECKPOINT_EVERY, BATCH_SIZE),
                "class": (CLASS_EPOCHS, CLASS_N_TRAIN, CLASS_CHECKPOINT_EVERY, CLASS_BATCH_SIZE),
                "full": (EPOCHS, None, CHECKPOINT_EVERY, BATCH_SIZE)}[mode()]
    return dict(zip(("epochs", "n_train", "checkpoint_every", "batch_size"), settings))

def set_seed(seed: int = 42) -> None:
    """Seed Python, NumPy and TensorFlow in one call (every notebook's Setup cell)."""
    keras.utils.set_random_seed(_check_int("seed", seed, minimum=0))

def device_report() -> str:
    """One line naming the device TensorFlow will train on (every notebook's Setup cell)."""
    versions = f"TensorFlow {tf.__version__}, Keras {keras.__version__}"
    if gpus := tf.config.list_physical_devices("GPU"):
        names = ", ".join(tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus)
        return f"Training on GPU: {names} ({versions})"
    return f"Training on CPU: {os.cpu_count()} cores, {platform.processor() or platform.machine()} ({versions})"

def show_source(function: Callable[..., Any]) -> None:
    """Display a helper's source in the notebook, so the lesson shows the code it runs (03_dcgan_models)."""
    if not (inspect.isfunction(function) or inspect.ismethod(function) or inspect.isclass(function)):
        raise TypeError(f"function must be a Python function or class, got {type(function).__name__}")
    source = inspect.getsource(function)
    try:
        from IPython.display import Code, display
        display(Code(source, language="python"))
    except ImportError:  # plain Python: just print it
        print(source)

# --- 2. Data: MNIST and tf.data -------------------------------------------------------------------

def load_mnist(path: str | os.PathLike[str] | None = None) -> MnistSplits:
    """MNIST as uint8 arrays ``(x_train, y_train), (x_test, y_test)`` in the Keras layout (01_mnist_data).

    Looks in order at ``path``, $MNIST_NPZ and ``data/mnist.npz``; when none is given or present it
    downloads the canonical file into ``data/`` and checks its sha256.
    """
    return _read_mnist_npz(_mnist_file(path, data_dir() / "mnist.npz"))

def to_float(images: np.ndarray) -> np.ndarray:
    """uint8 pixels 0..255 → float32 in [-1, 1] with a channel axis, the tanh range (01_mnist_data)."""
    images = _check_images("images", images)
    if images.dtype != np.uint8:
        raise TypeError(f"images must be uint8 to scale to [-1, 1], got {images.dtype}")
    return (images.astype(np.float32)[..., None] - 127.5) / 127.5

def to_uint8(images: Any) -> np.ndarray:
    """Floats in [-1, 1] → uint8 pixels 0..255, shape (n, 28, 28) (01_mnist_data)."""
    images = _check_images("images", images)
    return images if images.dtype == np.uint8 else np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8)

def mean_images_by_digit(images: Any, labels: Any) -> np.ndarray:
    """(10, 28, 28) mean image of each digit 0-9 (zeros where a digit is absent) (01_mnist_data)."""
    x = to_uint8(_check_images("images", images)).astype(np.float32)
    labels = check_labels(labels, len(x))
    return np.stack([x[labels == d].mean(0) if (labels == d).any() else np.zeros((28, 28), np.float32)
                     for d in range(N_CLASSES)])

def make_dataset(x: np.ndarray, batch_size: int = BATCH_SIZE, *, labels: Any = None, seed: int = 0,
                 shuffle: bool = True) -> tf.data.Dataset:
    """The input pipeline: scaled, cached, shuffled, full batches, prefetched (01_mnist_data)."""
    _check_int("batch_size", batch_size)
    images = _check_images("x", x)
    images = to_float(images) if images.dtype == np.uint8 else images[..., None].astype(np.float32)
    if len(images) < batch_size:
        raise ValueError(f"x: {len(images)} images, fewer than one batch (batch_size={batch_size})")
    labels = None if labels is None else check_labels(labels, len(images))
    items = images if labels is None else (images, labels)  # (image, label) pairs
    ds = tf.data.Dataset.from_tensor_slices(items).cache()
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    # drop_remainder: every batch has the same shape, so the train step is traced once.
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)

# --- 3. Models and sampling -----------------------------------------------------------------------

def build_vanilla_generator(latent_dim: int = LATENT_DIM) -> keras.Model:
    """The fully connected GAN generator of 2014: z → 256 → 512 → 1024 → 784 (tanh) → 28×28×1 (02_vanilla_gan)."""
    layers = keras.layers
    return keras.Sequential([
        keras.Input(shape=(_check_int("latent_dim", latent_dim),), name="z"),
        layers.Dense(256, name="dense1_256"), layers.LeakyReLU(0.2, name="lrelu1"),
        layers.Dense(512, name="dense2_512"), layers.LeakyReLU(0.2, name="lrelu2"),
        layers.Dense(1024, name="dense3_1024"), layers.LeakyReLU(0.2, name="lrelu3"),
        layers.Dense(28 * 28, activation="tanh", name="pixels_784", dtype="float32"),
        layers.Reshape((28, 28, 1), name="image_28x28x1", dtype="float32"),
    ], name="vanilla_generator")

def build_vanilla_discriminator() -> keras.Model:
    """The fully connected discriminator: 784 → 1024 → 512 → 256 → 1 logit, LeakyReLU + Dropout(0.3) (02_vanilla_gan)."""
    layers = keras.layers
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1), name="image"), layers.Flatten(name="pixels_784"),
        layers.Dense(1024, name="dense1_1024"), layers.LeakyReLU(0.2, name="lrelu1"), layers.Dropout(0.3, name="dropout1"),
        layers.Dense(512, name="dense2_512"), layers.LeakyReLU(0.2, name="lrelu2"), layers.Dropout(0.3, name="dropout2"),
        layers.Dense(256, name="dense3_256"), layers.LeakyReLU(0.2, name="lrelu3"), layers.Dropout(0.3, name="dropout3"),
        layers.Dense(1, name="logit", dtype="float32"),
    ], name="vanilla_discriminator")

def build_generator(latent_dim: int = LATENT_DIM, *, kernel_size: int = KERNEL_SIZE,
                    projection_channels: int = PROJECTION_CHANNELS) -> keras.Model:
    """z (latent_dim,) → 28×28×1 image in [-1, 1]: Dense → Reshape → Conv2DTranspose blocks (03_dcgan_models)."""
    _check_size(kernel_size, projection_channels)
    layers, k, c = keras.layers, kernel_size, projection_channels
    return keras.Sequential([
        keras.Input(shape=(_check_int("latent_dim", latent_dim),), name="z"),
        layers.Dense(7 * 7 * c, use_bias=False, name="project"),
        layers.BatchNormalization(name="project_bn"),
        layers.LeakyReLU(0.2, name="project_lrelu"),
        layers.Reshape((7, 7, c), name=f"to_7x7x{c}"),
        layers.Conv2DTranspose(128, k, strides=1, padding="same", use_bias=False, name="deconv_7x7x128"),
        layers.BatchNormalization(name="deconv1_bn"),
        layers.LeakyReLU(0.2, name="deconv1_lrelu"),
        layers.Conv2DTranspose(64, k, strides=2, padding="same", use_bias=False, name="deconv_14x14x64"),
        layers.BatchNormalization(name="deconv2_bn"),
        layers.LeakyReLU(0.2, name="deconv2_lrelu"),
        # float32 even under mixed precision (11_training_faster): pixels keep full precision.
        layers.Conv2DTranspose(1, k, strides=2, padding="same", activation="tanh", name="image_28x28x1",
                               dtype="float32"),
    ], name="generator")

def build_discriminator(*, kernel_size: int = KERNEL_SIZE) -> keras.Model:
    """28×28×1 image → one logit (real > 0): strided Conv2D + LeakyReLU + Dropout (03_dcgan_models)."""
    _check_size(kernel_size)
    layers, k = keras.layers, kernel_size
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1), name="image"),
        layers.Conv2D(64, k, strides=2, padding="same", name="conv_14x14x64"),
        layers.LeakyReLU(0.2, name="conv1_lrelu"),
        layers.Dropout(0.3, name="conv1_dropout"),
        layers.Conv2D(128, k, strides=2, padding="same", name="conv_7x7x128"),
        layers.LeakyReLU(0.2, name="conv2_lrelu"),
        layers.Dropout(0.3, name="conv2_dropout"),
        layers.Flatten(name="flatten"),
        layers.Dense(1, name="logit", dtype="float32"),
    ], name="discriminator")

#: The pairs ``train`` builds, by the name config.json stores (08's conditional pair: gan_extras/conditional.py).
ARCHITECTURES = ("vanilla", "dcgan")

def build_pair(architecture: str = "dcgan", latent_dim: int = LATENT_DIM, *, kernel_size: int = KERNEL_SIZE,
               projection_channels: int = PROJECTION_CHANNELS) -> tuple[keras.Model, keras.Model]:
    """A fresh (generator, discriminator): ``"dcgan"`` (of the given size) or ``"vanilla"`` (02_vanilla_gan)."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {list(ARCHITECTURES)}, got {architecture!r}")
    if architecture == "vanilla":
        return build_vanilla_generator(latent_dim), build_vanilla_discriminator()
    return (build_generator(latent_dim, kernel_size=kernel_size, projection_channels=projection_channels),
            build_discriminator(kernel_size=kernel_size))

def is_conditional(generator: keras.Model) -> bool:
    """True for a generator that takes (z, digit label), False for one that takes z alone (03_dcgan_models)."""
    if not isinstance(generator, keras.Model):
        raise TypeError(f"generator must be a keras.Model, got {type(generator).__name__}")
    return len(generator.inputs) == 2

def latent_dim_of(generator: keras.Model) -> int:
    """The size of z a generator expects, checking it draws 28×28×1 images (03_dcgan_models)."""
    conditional = is_conditional(generator)  # also checks it is a keras.Model
    in_shape, out_shape = generator.input_shape, tuple(generator.output_shape)
    z_shape = tuple(in_shape[0]) if conditional else tuple(in_shape)
    ok = len(z_shape) == 2 and (not conditional or tuple(in_shape[1]) == (None,))
    if not ok or out_shape[1:] != (28, 28, 1):
        raise ValueError(f"generator must map (batch, latent_dim) [and (batch,) labels] to (batch, 28, 28, 1); "
                         f"this one maps {in_shape} to {out_shape}")
    return int(z_shape[1])

def latent_vectors(n: int, latent_dim: int = LATENT_DIM, seed: int = 0) -> np.ndarray:
    """n standard-normal z vectors, the same for a seed on every machine (03_dcgan_models)."""
    _check_int("n", n)
    _check_int("latent_dim", latent_dim)
    _check_int("seed", seed, minimum=0)
    return np.random.default_rng(seed).standard_normal((n, latent_dim)).astype(np.float32)

def generate(generator: keras.Model, z: np.ndarray, labels: Any = None, batch_size: int = 1_000) -> np.ndarray:
    """Images in [-1, 1] for given z (and for a conditional generator one digit per z), batched, BatchNorm in inference mode (03_dcgan_models)."""
    latent_dim, conditional = latent_dim_of(generator), is_conditional(generator)
    z = np.asarray(z, dtype=np.float32)
    if z.ndim != 2 or z.shape[1] != latent_dim:
        raise ValueError(f"z must have shape (n, {latent_dim}) for this generator, got {z.shape}")
    if conditional and labels is None:
        raise ValueError("labels: this generator is conditional; pass one digit 0-9 per z")
    if not conditional and labels is not None:
        raise ValueError("labels: this generator is not conditional (it takes z alone); leave labels out")
    labels = check_labels(labels, len(z)) if conditional else None
    out = [generator([z[i:i + batch_size], labels[i:i + batch_size]] if conditional else z[i:i + batch_size],
                     training=False).numpy() for i in range(0, len(z), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, 28, 28, 1), np.float32)

def balanced_labels(generator: keras.Model, n: int) -> np.ndarray | None:
    """Labels 0, 1, ..., 9, 0, 1, ... for n samples of a conditional generator; None for a plain one (03_dcgan_models)."""
    _check_int("n", n, minimum=0)
    return (np.arange(n) % N_CLASSES).astype(np.int32) if is_conditional(generator) else None

def sample_digits(generator: keras.Model, n: int, seed: int = 0) -> np.ndarray:
    """n generated digits as uint8 (n, 28, 28), the same for a seed; a conditional generator draws each digit equally often (03_dcgan_models)."""
    z = latent_vectors(_check_int("n", n), latent_dim_of(generator), seed)
    return to_uint8(generate(generator, z, balanced_labels(generator, n)))

# --- 4. Losses and the train step -----------------------------------------------------------------

def _bce(targets: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Mean binary cross-entropy on logits (the ``BinaryCrossentropy`` object would also divide by replicas)."""
    return tf.reduce_mean(keras.losses.binary_crossentropy(targets, logits, from_logits=True))

def discriminator_loss(real_logits: tf.Tensor, fake_logits: tf.Tensor) -> tf.Tensor:
    """BCE that pushes D(real) → 1 and D(fake) → 0 (04_train_dcgan)."""
    real_logits = _logits("real_logits", real_logits)
    fake_logits = _logits("fake_logits", fake_logits)
    real_loss = _bce(tf.ones_like(real_logits), real_logits)  # real images: target 1
    return real_loss + _bce(tf.zeros_like(fake_logits), fake_logits)  # fakes: target 0

def generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """The non-saturating generator loss −log D(G(z)): strong while D wins (04_train_dcgan)."""
    fake_logits = _logits("fake_logits", fake_logits)
    return _bce(tf.ones_like(fake_logits), fake_logits)

def minimax_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """The minimax form log(1 − D(G(z))), which saturates early in training (04_train_dcgan)."""
    fake_logits = _logits("fake_logits", fake_logits)
    return -_bce(tf.zeros_like(fake_logits), fake_logits)

def make_optimizer(learning_rate: float = LEARNING_RATE, beta_1: float = BETA_1) -> keras.optimizers.Optimizer:
    """Adam with the DCGAN paper's settings by default (04_train_dcgan)."""
    return keras.optimizers.Adam(learning_rate=_check_rate("learning_rate", learning_rate, 1e-12, 1),
                                 beta_1=_check_rate("beta_1", beta_1, 0, 1))

def make_train_step(generator: keras.Model, discriminator: keras.Model,
                    g_optimizer: keras.Optimizer, d_optimizer: keras.Optimizer,
                    rng: tf.random.Generator, g_loss_fn: Callable = generator_loss) -> Callable:
    """One GAN update: two GradientTapes in one tf.function (04_train_dcgan, 00_gan_2d)."""
    latent_dim = check_pair(generator, discriminator)  # z's size; G's samples are what D takes

    @tf.function
    def train_step(real_images: tf.Tensor) -> dict[str, tf.Tensor]:
        z = rng.normal([tf.shape(real_images)[0], latent_dim])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake_images = generator(z, training=True)
            real_logits = discriminator(real_images, training=True)
            fake_logits = discriminator(fake_images, training=True)
            g_loss = g_loss_fn(fake_logits)
            d_loss = discriminator_loss(real_logits, fake_logits)
        g_grads = g_tape.gradient(g_loss, generator.trainable_variables)
        d_grads = d_tape.gradient(d_loss, discriminator.trainable_variables)
        g_optimizer.apply_gradients(zip(g_grads, generator.trainable_variables))
        d_optimizer.apply_gradients(zip(d_grads, discriminator.trainable_variables))
        return {"g_loss": g_loss, "d_loss": d_loss,  # D's mean beliefs: 0.5 at equilibrium
                "d_real": tf.reduce_mean(tf.sigmoid(real_logits)),
                "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits)),
                # how hard each player is pushed: the size of its whole gradient
                "g_grad_norm": tf.linalg.global_norm(g_grads),
                "d_grad_norm": tf.linalg.global_norm(d_grads)}

    return train_step

# --- 5. The training loop: state, checkpoints, resume, frames, history ----------------------------

@dataclasses.dataclass
class GANState:
    """Everything a training run checkpoints: models, optimizers, epoch counter, noise generator (04_train_dcgan)."""

    generator: keras.Model
    discriminator: keras.Model
    g_optimizer: keras.optimizers.Optimizer
    d_optimizer: keras.optimizers.Optimizer
    epoch: tf.Variable
    rng: tf.random.Generator

    sampler = property(lambda self: self.generator, doc="The G frames and evaluations draw from (10: its average).")

    def checkpoint(self) -> tf.train.Checkpoint:
        """A tf.train.Checkpoint tracking every piece of state."""
        inner = lambda opt: getattr(opt, "inner_optimizer", opt)  # noqa: E731  (11: loss scaling)
        return tf.train.Checkpoint(generator=self.generator, discriminator=self.discriminator,
                                   g_optimizer=inner(self.g_optimizer),
                                   d_optimizer=inner(self.d_optimizer),
                                   epoch=self.epoch, rng=self.rng)

def new_gan_state(latent_dim: int = LATENT_DIM, learning_rate: float = LEARNING_RATE, beta_1: float = BETA_1,
                  seed: int = 0, generator: keras.Model | None = None, discriminator: keras.Model | None = None,
                  architecture: str = "dcgan", *, kernel_size: int = KERNEL_SIZE,
                  projection_channels: int = PROJECTION_CHANNELS,
                  optimizers: tuple[keras.optimizers.Optimizer, keras.optimizers.Optimizer] | None = None) -> GANState:
    """Fresh models (initialized from ``seed``; or the ones given) and two Adams (or ``optimizers``), built so a checkpoint restores into them (04_train_dcgan)."""
    _check_int("seed", seed, minimum=0)
    if generator is None or discriminator is None:
        keras.utils.set_random_seed(seed)  # weights and dropout masks follow the seed
        # Both are built even when one is given, so the missing one starts as in a fresh pair of this seed.
        built = build_pair(architecture, latent_dim, kernel_size=kernel_size, projection_channels=projection_channels)
        generator, discriminator = generator or built[0], discriminator or built[1]
    g_opt, d_opt = optimizers or (make_optimizer(learning_rate, beta_1), make_optimizer(learning_rate, beta_1))
    state = GANState(generator, discriminator, g_opt, d_opt, tf.Variable(0, dtype=tf.int64, name="epoch"),
                     tf.random.Generator.from_seed(seed))
    # Keras 3 creates optimizer slots lazily; build them so restore fills them at once.
    state.g_optimizer.build(generator.trainable_variables)
    state.d_optimizer.build(discriminator.trainable_variables)
    return state

#: One entry per epoch. Per-epoch callbacks fill the last three (None where not measured):
#: "frechet" (06), "label_accuracy" (conditional runs, 08), "digit_shares" (mode collapse, 10).
HISTORY_KEYS = ("epoch", "g_loss", "d_loss", "d_real", "d_fake", "g_grad_norm", "d_grad_norm", "seconds",
                "images_per_second", "frechet", "label_accuracy", "digit_shares")
_STEP_KEYS = HISTORY_KEYS[1:7]

class TrainingDiverged(FloatingPointError):
    """Raised when a loss becomes NaN or infinite; the last good checkpoint is kept (04_train_dcgan)."""

@dataclasses.dataclass
class TrainingRun:
    """What ``train`` returns: the state, the per-epoch history and where files went (04_train_dcgan)."""

    state: GANState
    history: dict[str, list[Any]]
    out_dir: Path
    checkpoints: list[str]
    resumed_from: int

    @property
    def generator(self) -> keras.Model:
        return self.state.generator

def load_history(out_dir: str | os.PathLike[str]) -> dict[str, list[Any]]:
    """The per-epoch history a run wrote to ``history.json`` (05_progress_gif)."""
    if not (Path(out_dir) / "history.json").is_file():
        raise FileNotFoundError(f"out_dir: no history.json in {out_dir}; train there first")
    return _read_json(Path(out_dir) / "history.json")

def checkpoint_epochs(out_dir: str | os.PathLike[str]) -> list[int]:
    """Epochs at which a run saved a checkpoint, oldest first (05_progress_gif)."""
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"out_dir must be a path to a run folder, got {type(out_dir).__name__}")
    state = tf.train.get_checkpoint_state(str(Path(out_dir) / "checkpoints"))  # None when there are none
    return [] if state is None else sorted(int(p.rsplit("-", 1)[1]) for p in state.all_model_checkpoint_paths)

def restore_or_initialize(state: GANState, out_dir: str | os.PathLike[str]) -> tuple[tf.train.CheckpointManager, int]:
    """Open the run's CheckpointManager and restore its latest checkpoint; returns (manager, epoch) (04_train_dcgan)."""
    if not isinstance(state, GANState):
        raise TypeError(f"state must be a GANState (gh.new_gan_state()), got {type(state).__name__}")
    ckpt_dir = Path(out_dir) / "checkpoints"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    for orphan in ckpt_dir.glob("*_temp*"):  # left by a save killed half-way
        shutil.rmtree(orphan, ignore_errors=True) if orphan.is_dir() else orphan.unlink()
    if not checkpoint_epochs(out_dir) and any(ckpt_dir.glob("ckpt-*.index")):  # never overwrite them
        raise CheckpointDamaged(f"{ckpt_dir / 'checkpoint'} is missing or unreadable, but {ckpt_dir} holds ckpt-N "
                                "files; nothing was changed. Restore that file, or move the ckpt-N files away.")
    manager = tf.train.CheckpointManager(state.checkpoint(), str(ckpt_dir), max_to_keep=None)
    latest = manager.latest_checkpoint
    if latest is None:
        return manager, 0
    try:  # through the manager's own checkpoint, so its save counter is restored too
        manager.checkpoint.restore(latest).assert_existing_objects_matched()
    except (AssertionError, ValueError, IndexError, tf.errors.OpError) as error:  # IndexError: truncated data
        raise _restore_error(latest, error) from error  # unreadable files, or models of other settings
    return manager, int(state.epoch.numpy())

def _training_data(x_train: Any, y_train: Any, n_train: int | None) -> tuple[np.ndarray, np.ndarray | None]:
    if x_train is None:
        (x_train, loaded), _ = load_mnist()
        y_train = loaded if y_train is None else y_train
    x_train = _check_images("x_train", x_train)
    y_train = None if y_train is None else check_labels(y_train, len(x_train), "y_train")
    n = len(x_train) if n_train is None else _check_int("n_train", n_train)
    return x_train[:n], None if y_train is None else y_train[:n]

def _run_epoch(step: Callable, batches: Any, steps: int, verbose: int, epoch: int) -> dict[str, float]:
    """Run one epoch of steps with a progress bar; the mean of each figure the step returns."""
    progress = keras.utils.Progbar(steps, verbose=1 if verbose == 1 else 0, stateful_metrics=["g_loss", "d_loss"])
    sums = dict.fromkeys(_STEP_KEYS, 0.0)
    for i, batch in enumerate(batches, start=1):
        values = {k: float(v) for k, v in (step(*batch) if isinstance(batch, tuple) else step(batch)).items()}
        if not all(np.isfinite(list(values.values()))):
            raise TrainingDiverged(f"non-finite loss at epoch {epoch}, step {i}: {values}. Weights from this "
                                   "epoch were not saved; the last good checkpoint is kept.")
        for k in sums:
            sums[k] += values.get(k, 0.0)
        progress.update(i, [("g_loss", values["g_loss"]), ("d_loss", values["d_loss"])])
    return {k: v / steps for k, v in sums.items()}

def train(out_dir: str | os.PathLike[str] | None = None, *, epochs: int = EPOCHS, batch_size: int = BATCH_SIZE,
          learning_rate: float = LEARNING_RATE, beta_1: float = BETA_1, latent_dim: int = LATENT_DIM,
          checkpoint_every: int = CHECKPOINT_EVERY, n_train: int | None = None, seed: int = 0,
          x_train: np.ndarray | None = None, y_train: np.ndarray | None = None, architecture: str = "dcgan",
          kernel_size: int = KERNEL_SIZE, projection_channels: int = PROJECTION_CHANNELS, frame_seed: int = 1234,
          verbose: int = 1, state: GANState | None = None, step: Callable | None = None,
          callbacks: Sequence[Callable] = (), settings: dict[str, Any] | None = None) -> TrainingRun:
    """Train (or resume) a GAN, checkpointing every ``checkpoint_every`` epochs and at the end (04_train_dcgan).

    ``out_dir`` gets ``checkpoints/``, ``frames/epoch_NNNN.png`` (a fixed-z grid), ``history.json`` and
    ``config.json``; a folder with checkpoints resumes from the latest. Later lessons pass their own
    ``state``, ``step`` (called with each batch, (image, label) pairs for a conditional generator) and
    ``settings`` (recorded in config.json), and ``callbacks(epoch, state, record)`` run after each epoch.
    """
    out = Path(out_dir) if out_dir is not None else output_dir(architecture)
    _check_loop(epochs, batch_size, checkpoint_every, verbose, out)
    state = state or new_gan_state(latent_dim, learning_rate, beta_1, seed, architecture=architecture,
                                   kernel_size=kernel_size, projection_channels=projection_channels)
    labelled = is_conditional(state.generator)
    x, y = _training_data(x_train, y_train, n_train)
    if labelled and y is None:
        raise ValueError("y_train: a conditional generator needs the labels of x_train")
    batches = make_dataset(x, batch_size, labels=y if labelled else None, seed=seed)
    batches = step.distribute(batches) if hasattr(step, "distribute") else batches  # several devices (11)
    step = step or make_train_step(state.generator, state.discriminator, state.g_optimizer, state.d_optimizer, state.rng)
    steps = len(x) // batch_size
    size = {} if architecture == "vanilla" else {"kernel_size": kernel_size, "projection_channels": projection_channels}
    config = {"architecture": architecture, "latent_dim": latent_dim_of(state.generator), "batch_size": batch_size,
              "learning_rate": learning_rate, "beta_1": beta_1, **size, **(settings or {}), "n_train": len(x),
              "generator_params": state.generator.count_params(),
              "discriminator_params": state.discriminator.count_params()}
    if checkpoint_epochs(out):  # before restoring: a changed setting is named, not reported as a shape clash
        _check_config(out, config)
    lock = _lock_run(out, "training")  # a second process training here is refused, naming this one
    manager, resumed_from = restore_or_initialize(state, out)
    history = _prepare_run_folder(out, resumed_from, config, HISTORY_KEYS)
    fixed_z, frame_labels = frame_inputs(state.generator, frame_seed)
    if resumed_from == 0:
        save_frame(state.sampler, fixed_z, out / "frames" / "epoch_0000.png", frame_labels)
    if verbose:
        where = f"resuming after epoch {resumed_from}" if resumed_from else "starting"
        print(f"{where}: epochs {resumed_from + 1}-{epochs}, {steps} steps of {batch_size} images, writing to {out}")
    finished = resumed_from  # the last epoch whose history and frame are written
    try:
        for epoch in range(resumed_from + 1, epochs + 1):
            start = time.perf_counter()
            record = _run_epoch(step, batches, steps, verbose, epoch)
            seconds = time.perf_counter() - start
            record.update(epoch=epoch, seconds=seconds, images_per_second=steps * batch_size / seconds)
            state.epoch.assign(epoch)
            for callback in callbacks:  # e.g. the Fréchet distance (06): not counted in the epoch's seconds
                callback(epoch, state, record)
            for key in HISTORY_KEYS:
                history[key].append(record.get(key))
            save_frame(state.sampler, fixed_z, out / "frames" / f"epoch_{epoch:04d}.png", frame_labels)
            _atomic_write_json(out / "history.json", history)
            finished = epoch
            if epoch % checkpoint_every == 0 or epoch == epochs:
                manager.save(checkpoint_number=epoch)
            if verbose == 2 or (verbose == 1 and not sys.stdout.isatty()):
                print(_epoch_line(record, epochs), flush=True)
    except KeyboardInterrupt:  # Ctrl-C, a notebook's interrupt, or SIGTERM on the command line
        _keep_on_interrupt(state, manager, out, finished)
        raise
    finally:
        _unlock_run(lock)
    return TrainingRun(state, history, out, list(manager.checkpoints), resumed_from)

def _epoch_line(record: dict[str, Any], epochs: int) -> str:
    """One line of an epoch's figures, as ``train(verbose=2)`` prints it (04_train_dcgan)."""
    extra = {"frechet": "FD {:.2f}", "label_accuracy": "label acc {:.3f}"}
    return (f"epoch {record['epoch']:3d}/{epochs}  g_loss {record['g_loss']:.3f}  d_loss {record['d_loss']:.3f}  "
            f"D(x) {record['d_real']:.2f}  D(G(z)) {record['d_fake']:.2f}  {record['seconds']:.1f} s  "
            f"{record['images_per_second']:.0f} img/s"
            + "".join("  " + f.format(record[k]) for k, f in extra.items() if record.get(k) is not None))

def load_generator_from_checkpoint(out_dir: str | os.PathLike[str], epoch: int | None = None,
                                   generator: keras.Model | None = None) -> keras.Model:
    """The generator as it was at a checkpointed epoch (latest if None), rebuilt from config.json unless given (05_progress_gif)."""
    epochs = checkpoint_epochs(out_dir)
    if not epochs:
        raise FileNotFoundError(f"out_dir: no checkpoints in {Path(out_dir) / 'checkpoints'}")
    epoch = epochs[-1] if epoch is None else _check_int("epoch", epoch)
    if epoch not in epochs:
        raise ValueError(f"epoch: no checkpoint for epoch {epoch} in {out_dir}; saved epochs are {epochs}")
    config = load_config(out_dir)
    if generator is None:
        if config.get("architecture", "dcgan") not in ARCHITECTURES:
            raise ValueError(f"out_dir: {out_dir} holds a {config['architecture']} run; load it with "
                             "gan_extras.runs.load_generator_from_checkpoint")
        size = {k: config[k] for k in ("kernel_size", "projection_channels") if k in config}
        generator = build_pair(config.get("architecture", "dcgan"), config.get("latent_dim", LATENT_DIM), **size)[0]
    path = str(Path(out_dir) / "checkpoints" / f"ckpt-{epoch}")
    try:
        tf.train.Checkpoint(generator=generator).restore(path).expect_partial().assert_existing_objects_matched()
    except (AssertionError, ValueError, IndexError, tf.errors.OpError) as error:  # IndexError: truncated data
        raise ValueError(f"checkpoint {path} does not hold this generator (latent_dim="
                         f"{latent_dim_of(generator)}): {str(error).splitlines()[0]}") from error
    return generator

# --- 6. Loaders and pictures: trained generators, grids, frames, the GIF, plots -------------------

PRETRAINED_DIR = PROJECT_ROOT / "data" / "pretrained"
PRETRAINED_GENERATOR_PATH = PRETRAINED_DIR / "dcgan_generator.keras"
CONDITIONAL_GENERATOR_PATH = PRETRAINED_DIR / "conditional_generator.keras"

def load_pretrained_generator(path: str | os.PathLike[str] | None = None, conditional: bool = False) -> keras.Model:
    """The generator the kit ships (the conditional one of 08 if ``conditional``); its record is the .json beside it (05_progress_gif)."""
    _check_bool("conditional", conditional)
    kind, run = ("conditional generator", "conditional") if conditional else ("generator", "dcgan")
    path = path if path is not None else (CONDITIONAL_GENERATOR_PATH if conditional else PRETRAINED_GENERATOR_PATH)
    generator = load_keras_file(path, f"pretrained {kind}", "restore it with `git checkout -- data/pretrained` "
                                f"or export your own run with `python -m gan_helpers export --run outputs/{run} --to FILE`")
    return _check_generator_file(generator, path, conditional)

def trained_generator(source: str = "auto") -> tuple[keras.Model, str]:
    """A trained generator and a sentence saying which: your full run from 04 if there is one, else the pretrained one (05_progress_gif)."""
    if source not in ("auto", "yours", "pretrained"):
        raise ValueError(f"source must be 'auto', 'yours' or 'pretrained', got {source!r}")
    run = outputs_root() / "dcgan"  # the full-mode run, also in quick mode (4 short epochs draw blobs)
    epochs = checkpoint_epochs(run)
    if source == "yours" or (source == "auto" and epochs):
        if not epochs:
            raise FileNotFoundError(f"source='yours': no checkpoints in {run}; run 04_train_dcgan (full mode) first")
        return load_generator_from_checkpoint(run), f"your generator from 04_train_dcgan ({run}, epoch {epochs[-1]})"
    return load_pretrained_generator(), f"the kit's pretrained generator ({describe_pretrained(source)})"

def describe_pretrained(source: str = "auto", conditional: bool = False) -> str:
    """Why a pretrained generator was taken and what its record says, in one phrase (05_progress_gif)."""
    _check_bool("conditional", conditional)
    name, path = ("conditional", CONDITIONAL_GENERATOR_PATH) if conditional else ("dcgan", PRETRAINED_GENERATOR_PATH)
    record = json.loads(path.with_suffix(".json").read_text()) if path.with_suffix(".json").is_file() else None
    about = (f", {record['epochs']} epochs of {record['images_per_epoch']:,} digits, Fréchet distance "
             f"{record['evaluation']['generator']['frechet_distance']:.2f} at n = 10,000") if record else ""
    return f"{f'no full run in outputs/{name}' if source == 'auto' else 'asked for'}; {path.name}{about}"

def trained_run_dir(train_if_missing: bool = True) -> Path:
    """04's run folder when it holds checkpoints, else a short quick-settings run of its own (05_progress_gif)."""
    _check_bool("train_if_missing", train_if_missing)
    run, short = output_dir("dcgan"), output_dir("dcgan_short")
    if checkpoint_epochs(run):
        return run
    if not checkpoint_epochs(short):
        if not train_if_missing:
            raise FileNotFoundError(f"no trained run in {run} or {short}; run 04_train_dcgan first")
        print(f"No checkpoints in {run} (04_train_dcgan has not run): training a short run in {short}.")
        train(short, epochs=QUICK_EPOCHS, n_train=QUICK_N_TRAIN, checkpoint_every=QUICK_CHECKPOINT_EVERY, verbose=2)
    return short

def image_grid(images: Any, rows: int, cols: int, pad: int = 2, scale: int = 1) -> np.ndarray:
    """Tile images into one uint8 picture, white digits on black, optional pixel scaling (05_progress_gif)."""
    images = to_uint8(images)
    _check_grid(images, rows, cols, pad=pad, scale=scale)
    cell = 28 + pad
    grid = np.full((rows * cell + pad, cols * cell + pad), 64, np.uint8)  # grey gutters
    for i in range(rows * cols):
        r, c = divmod(i, cols)
        grid[pad + r * cell: pad + r * cell + 28, pad + c * cell: pad + c * cell + 28] = images[i]
    return np.kron(grid, np.ones((scale, scale), np.uint8)) if scale > 1 else grid

def frame_inputs(generator: keras.Model, seed: int = 1234) -> tuple[np.ndarray, np.ndarray | None]:
    """The fixed inputs of every training frame: 16 z's (4×4), or 10 z's × digits 0-9 (rows = digits) for a conditional generator (05_progress_gif)."""
    latent_dim = latent_dim_of(generator)
    if not is_conditional(generator):
        return latent_vectors(16, latent_dim, seed), None
    z = latent_vectors(N_CLASSES, latent_dim, seed)
    return np.tile(z, (N_CLASSES, 1)), np.repeat(np.arange(N_CLASSES, dtype=np.int32), N_CLASSES)

def save_frame(generator: keras.Model, z: np.ndarray, path: str | os.PathLike[str], labels: Any = None) -> Path:
    """Write the square grid the generator draws for a fixed z (and labels), as a PNG, atomically (04_train_dcgan)."""
    images = generate(generator, z, labels)
    side = int(np.sqrt(len(images)))
    _atomic_write_bytes(Path(path), iio.imwrite("<bytes>", image_grid(images, side, side, scale=3), extension=".png"))
    return Path(path)

def _with_epoch(picture: np.ndarray, epoch: int) -> np.ndarray:
    """A frame under a band that names its epoch, so a paused GIF says when it is (05_progress_gif)."""
    from PIL import Image, ImageDraw  # Pillow is imageio's image library
    band = Image.new("L", (picture.shape[1], 12))
    ImageDraw.Draw(band).text((2, 0), f"epoch {epoch}", fill=255)
    return np.concatenate([np.asarray(band), picture if picture.ndim == 2 else picture[..., 0]])

def make_gif(frames_dir: str | os.PathLike[str], gif_path: str | os.PathLike[str],
             duration_ms: int = 200, hold_last_ms: int = 1_500, last_epoch: int | None = None) -> Path:
    """Looping GIF of every ``epoch_*.png`` in order (up to ``last_epoch``), each labelled with its epoch, written atomically with imageio.v3 (05_progress_gif)."""
    frames = sorted(Path(frames_dir).glob("epoch_*.png"))
    if last_epoch is not None:
        _check_int("last_epoch", last_epoch, minimum=0)
        frames = [f for f in frames if int(f.stem.split("_")[1]) <= last_epoch]
    if not frames:
        raise FileNotFoundError(f"frames_dir: no epoch_*.png frames in {frames_dir}")
    _check_int("duration_ms", duration_ms)
    pictures = [_with_epoch(iio.imread(f), int(f.stem.split("_")[1])) for f in frames]
    if len({p.shape for p in pictures}) != 1:
        raise ValueError(f"frames in {frames_dir} differ in size ({sorted({p.shape for p in pictures})}); "
                         "a GIF needs one size")
    durations = [duration_ms] * (len(pictures) - 1) + [max(duration_ms, hold_last_ms)]
    # Pillow writes a one-frame GIF by another path that takes only a number as duration.
    _atomic_write_bytes(Path(gif_path), iio.imwrite("<bytes>", np.stack(pictures), extension=".gif", loop=0,
                                                    duration=durations if len(durations) > 1 else durations[0]))
    return Path(gif_path)

def gif_info(gif_path: str | os.PathLike[str]) -> dict[str, Any]:
    """Frame count, loop setting, frame durations (ms) and frame shape of a GIF (05_progress_gif)."""
    if not Path(gif_path).is_file():
        raise FileNotFoundError(f"gif_path: no GIF at {gif_path}")
    # mode="RGB": Pillow reads a GIF's first frame as palette and later all-grey frames as L.
    frames = iio.imread(gif_path, index=None, mode="RGB")
    durations = [iio.immeta(gif_path, index=i).get("duration") for i in range(len(frames))]
    return {"frames": len(frames), "loop": iio.immeta(gif_path).get("loop"), "durations_ms": durations,
            "shape": frames.shape[1:]}

def plot_grid(images: Any, rows: int, cols: int, titles: Sequence[str] | None = None,
              suptitle: str | None = None, scale: float = 1.0):
    """A matplotlib figure of images in a rows×cols grid with optional per-image titles (01_mnist_data)."""
    import matplotlib.pyplot as plt
    images = to_uint8(images)
    _check_grid(images, rows, cols, titles)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1 * scale, rows * 1.2 * scale), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.imshow(images[i], cmap="gray", vmin=0, vmax=255)
        ax.axis("off")
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig

def plot_history(history: dict[str, list[Any]]):
    """Loss curves, D's beliefs and (when measured) the Fréchet distance per epoch (05_progress_gif)."""
    import matplotlib.pyplot as plt
    _check_history(history, ("epoch", "g_loss", "d_loss", "d_real", "d_fake"))
    measured = [(e, f) for e, f in zip(history["epoch"], history.get("frechet", [])) if f is not None]
    fig, axes = plt.subplots(1, 3 if measured else 2, figsize=(16 if measured else 11, 3.6))
    epochs = history["epoch"]
    axes[0].plot(epochs, history["g_loss"], "o-", label="generator")
    axes[0].plot(epochs, history["d_loss"], "s-", label="discriminator")
    axes[0].set(xlabel="epoch", ylabel="mean loss", title="Losses")
    axes[1].plot(epochs, history["d_real"], "o-", label="D(x), real")
    axes[1].plot(epochs, history["d_fake"], "s-", label="D(G(z)), fake")
    axes[1].axhline(0.5, color="grey", lw=0.8, ls="--")
    axes[1].set(xlabel="epoch", ylabel="mean probability 'real'", ylim=(0, 1), title="What D believes")
    if measured:
        axes[2].plot(*zip(*measured), "o-", color="C2")
        axes[2].set(xlabel="epoch", ylabel="Fréchet distance (lower is better)", yscale="log", title="Sample quality")
    for ax in axes:
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    fig.tight_layout()
    return fig

def live_view(every: int = 1) -> Callable[[int, GANState, dict[str, Any]], None]:
    """A ``train`` callback redrawing one output area in place: the fixed-z samples and the curves so far (04_train_dcgan)."""
    import matplotlib.pyplot as plt
    from IPython.display import HTML, display
    _check_int("every", every)
    handle, history = display(HTML("<i>The first epoch is running…</i>"), display_id=True), {k: [] for k in HISTORY_KEYS}

    def show(epoch: int, state: GANState, record: dict[str, Any]) -> None:
        for key, values in history.items():
            values.append(record.get(key))
        if epoch % every == 0:  # after the other callbacks, so a Fréchet distance measured this epoch is drawn
            z, labels = frame_inputs(state.sampler)
            fig = plot_history(history)
            fig.subplots_adjust(left=0.22)
            side = int(np.sqrt(len(z)))
            samples = fig.add_axes((0.01, 0.12, 0.17, 0.76))
            samples.imshow(image_grid(generate(state.sampler, z, labels), side, side), cmap="gray")
            samples.set(title=f"epoch {epoch}", xticks=[], yticks=[])
            handle.update(fig)
            plt.close(fig)
    return show

if __name__ == "__main__":  # python -m gan_helpers ...: the command line lives with the lessons' code
    from gan_extras.cli import run
    sys.exit(run())
