"""Shared code of the GAN teaching kit.

Every function here is taught in one of the numbered notebooks; its docstring
names the notebook. Sections follow the teaching order:

1. Settings and set-up            (every notebook's Setup cell)
2. Data: MNIST and tf.data        (01_mnist_data)
3. Models: the vanilla GAN (02_vanilla_gan), the DCGAN (03_dcgan_models), its conditional twin (08)
4. Losses, train step, training   (04_train_dcgan)
5. Pictures: grids, frames, GIF   (05_progress_gif)
6. Evaluation: metrics            (06_evaluate)
7. Latent space and explorer      (07_latent_explorer)
8. Conditional GAN, synthetic data (08_conditional_gan, 09_augmentation)
9. Training dynamics              (10_training_dynamics)
10. Command line                  (``python -m gan_helpers train ...``)

Importing this module has no side effects beyond importing its libraries.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import inspect
import io
import json
import os
import platform
import shutil
import sys
import time
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import imageio.v3 as iio
import keras
import numpy as np
import tensorflow as tf

# ---------------------------------------------------------------------------
# 1. Settings and set-up
# ---------------------------------------------------------------------------

PROJECT_ROOT = Path(__file__).resolve().parent

#: The real settings. Quick mode (GAN_QUICK=1) shrinks only the run length and data.
LATENT_DIM = 100
N_CLASSES = 10           # digits 0-9
LABEL_EMBEDDING = 50     # length of the learned label vector of the conditional GAN (08)
BATCH_SIZE = 128
LEARNING_RATE = 2e-4
BETA_1 = 0.5
EPOCHS = 50
CHECKPOINT_EVERY = 15
#: The DCGAN's size (03_dcgan_models). TensorFlow's DCGAN tutorial uses 5×5 kernels and a 7×7×256
#: projection; 4×4 kernels (the DCGAN paper's code; stride 2 divides them, so no uneven overlap) and
#: 128 channels do 2.3× fewer multiply-adds per image and train 1.7× faster on a CPU (README, "Speed").
KERNEL_SIZE = 4
PROJECTION_CHANNELS = 128

#: Quick mode: enough to execute every cell of the series in minutes on a laptop CPU.
QUICK_EPOCHS = 4
QUICK_N_TRAIN = 1_280
QUICK_CHECKPOINT_EVERY = 2


def quick_mode() -> bool:
    """True when GAN_QUICK is set to 1/true/yes (every notebook's Setup cell)."""
    return os.environ.get("GAN_QUICK", "").strip().lower() in {"1", "true", "yes", "on"}


def data_dir() -> Path:
    """Folder that notebooks read from: $GAN_DATA or ``data/`` (01_mnist_data)."""
    return Path(os.environ.get("GAN_DATA", PROJECT_ROOT / "data"))


def output_dir(name: str = "") -> Path:
    """Folder for what runs write: $GAN_OUTPUTS or ``outputs/``, plus ``quick/`` in quick mode (04_train_dcgan)."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a string (a folder name), got {type(name).__name__}")
    root = _outputs_root()
    if quick_mode():
        root = root / "quick"
    return root / name if name else root


def _outputs_root() -> Path:
    return Path(os.environ.get("GAN_OUTPUTS", PROJECT_ROOT / "outputs"))


def run_settings() -> dict[str, Any]:
    """Epochs, data size and checkpoint interval for this mode (04_train_dcgan)."""
    if quick_mode():
        return {"epochs": QUICK_EPOCHS, "n_train": QUICK_N_TRAIN,
                "checkpoint_every": QUICK_CHECKPOINT_EVERY, "frechet_every": 1, "frechet_n": 256}
    return {"epochs": EPOCHS, "n_train": None, "checkpoint_every": CHECKPOINT_EVERY,
            "frechet_every": 1, "frechet_n": 1_000}


def set_seed(seed: int = 42) -> None:
    """Seed Python, NumPy and TensorFlow in one call (every notebook's Setup cell)."""
    _check_int("seed", seed, minimum=0)
    keras.utils.set_random_seed(seed)


def device_report() -> str:
    """One line naming the device TensorFlow will train on (every notebook's Setup cell)."""
    gpus = tf.config.list_physical_devices("GPU")
    versions = f"TensorFlow {tf.__version__}, Keras {keras.__version__}"
    if gpus:
        names = ", ".join(tf.config.experimental.get_device_details(g).get("device_name", g.name)
                          for g in gpus)
        return f"Training on GPU: {names} ({versions})"
    return f"Training on CPU: {os.cpu_count()} cores, {platform.processor() or platform.machine()} ({versions})"


def show_source(function: Callable[..., Any]) -> None:
    """Display a helper's source in the notebook, so the lesson shows the code it runs (04_train_dcgan)."""
    if not (inspect.isfunction(function) or inspect.ismethod(function) or inspect.isclass(function)):
        raise TypeError(f"function must be a Python function or class, got {type(function).__name__}")
    source = inspect.getsource(function)
    try:
        from IPython.display import Code, display
        display(Code(source, language="python"))
    except ImportError:  # plain Python: just print it
        print(source)


def _check_int(name: str, value: Any, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary name, then rename: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _atomic_write_json(path: Path, obj: Any) -> None:
    _atomic_write_bytes(path, json.dumps(obj, indent=1).encode())


# ---------------------------------------------------------------------------
# 2. Data: MNIST and tf.data
# ---------------------------------------------------------------------------

MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
_MNIST_LAYOUT = {"x_train": (60_000, 28, 28), "y_train": (60_000,),
                 "x_test": (10_000, 28, 28), "y_test": (10_000,)}

MnistSplits = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def load_mnist(path: str | os.PathLike[str] | None = None) -> MnistSplits:
    """MNIST as uint8 arrays ``(x_train, y_train), (x_test, y_test)`` in the Keras layout (01_mnist_data).

    Looks in order at ``path``, $MNIST_NPZ and ``data/mnist.npz``; when none is
    given or present it downloads the canonical file into ``data/`` and checks
    its sha256. A local file is not required to match that hash (offline copies
    differ), but its arrays must have the Keras layout.
    """
    if path is not None:
        source = Path(path)
        if not source.is_file():
            raise FileNotFoundError(f"path: no MNIST file at {source}")
    elif os.environ.get("MNIST_NPZ"):
        source = Path(os.environ["MNIST_NPZ"])
        if not source.is_file():
            raise FileNotFoundError(f"MNIST_NPZ points to {source}, which does not exist")
    else:
        source = data_dir() / "mnist.npz"
        if not source.is_file():
            source = _download_mnist(source)
    return _read_mnist_npz(source)


def _download_mnist(target: Path) -> Path:
    """Fetch the canonical mnist.npz with a checked sha256, atomically (01_mnist_data)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        fetched = keras.utils.get_file(
            fname=target.name + ".download", origin=MNIST_URL, file_hash=MNIST_SHA256,
            hash_algorithm="sha256", cache_dir=str(target.parent), cache_subdir="")
    except Exception as error:  # no network, proxy, HTTP error...
        raise ConnectionError(
            f"MNIST is not at {target} and downloading it from {MNIST_URL} failed ({error}). "
            "Put a copy there, or set MNIST_NPZ=/path/to/mnist.npz.") from error
    os.replace(fetched, target)
    return target


def _read_mnist_npz(source: Path) -> MnistSplits:
    try:  # ValueError: neither .npz nor .npy (numpy then suspects a pickle), e.g. a saved HTML page
        f = np.load(source, allow_pickle=False)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        raise ValueError(f"{source} is truncated or not an .npz file ({error})") from error
    if not isinstance(f, np.lib.npyio.NpzFile):
        raise ValueError(f"{source} holds a single .npy array, not an .npz file of MNIST arrays")
    with f:
        missing = sorted(set(_MNIST_LAYOUT) - set(f.files))
        if missing:
            raise ValueError(f"{source} is not an MNIST file: arrays {missing} are missing "
                             f"(expected {sorted(_MNIST_LAYOUT)})")
        arrays = {}
        for key in _MNIST_LAYOUT:
            try:  # a damaged member, or an object array (refused without pickle)
                arrays[key] = f[key]
            except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error) as error:
                raise ValueError(f"{source}: {key} cannot be read as a uint8 array ({error})") from error
    # MNIST itself has exactly the canonical sizes; other files in its layout (make_synthetic_dataset) any size.
    canonical = arrays["x_train"].shape[0] == _MNIST_LAYOUT["x_train"][0]
    for key, shape in _MNIST_LAYOUT.items():
        a = arrays[key]
        expected = shape if canonical else (len(arrays["x" + key[1:]]), *shape[1:])
        if a.shape != expected or a.dtype != np.uint8:
            raise ValueError(f"{source}: {key} has shape {a.shape} and dtype {a.dtype}; "
                             f"expected {expected} uint8")
        if key.startswith("y") and a.size and a.max() > 9:
            raise ValueError(f"{source}: {key} has label {a.max()}; expected labels 0-9")
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _check_images(name: str, images: Any) -> np.ndarray:
    """Accept (n, 28, 28) or (n, 28, 28, 1) as uint8 or floats in [-1, 1]."""
    if isinstance(images, tf.Tensor):
        images = images.numpy()
    if not isinstance(images, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array of images, got {type(images).__name__}")
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"{name} must have shape (n, 28, 28) or (n, 28, 28, 1), got {images.shape}")
    if images.dtype != np.uint8 and not np.issubdtype(images.dtype, np.floating):
        raise TypeError(f"{name} must be uint8 (0-255) or float in [-1, 1], got dtype {images.dtype}")
    return images


def to_float(images: np.ndarray) -> np.ndarray:
    """uint8 pixels 0..255 → float32 in [-1, 1] with a channel axis, the tanh range (01_mnist_data)."""
    images = _check_images("images", images)
    if images.dtype != np.uint8:
        raise TypeError(f"images must be uint8 to scale to [-1, 1], got {images.dtype}")
    return (images.astype(np.float32)[..., None] - 127.5) / 127.5


def to_uint8(images: Any) -> np.ndarray:
    """Floats in [-1, 1] → uint8 pixels 0..255, shape (n, 28, 28) (01_mnist_data)."""
    images = _check_images("images", images)
    if images.dtype == np.uint8:
        return images
    return np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def mean_images_by_digit(images: Any, labels: Any) -> np.ndarray:
    """(10, 28, 28) mean image of each digit 0-9 (zeros where a digit is absent) (01_mnist_data)."""
    x = to_uint8(_check_images("images", images)).astype(np.float32)
    labels = np.asarray(labels)
    if labels.shape != (len(x),):
        raise ValueError(f"labels must have shape ({len(x)},) to match images, got {labels.shape}")
    return np.stack([x[labels == d].mean(0) if (labels == d).any() else np.zeros((28, 28), np.float32)
                     for d in range(10)])


def check_labels(labels: Any, n: int | None = None, name: str = "labels") -> np.ndarray:
    """Digit labels as an int32 array of 0-9 (a single int becomes one label), or an error saying what is wrong (08_conditional_gan)."""
    if isinstance(labels, (bool, np.bool_)) or (isinstance(labels, np.ndarray) and labels.dtype == bool):
        raise TypeError(f"{name} must be integer digits 0-9, got booleans")
    if isinstance(labels, tf.Tensor):
        labels = labels.numpy()
    array = np.asarray(labels)
    if array.ndim == 0:
        array = array[None]
    if array.shape == (0,):  # [] is float64 to NumPy
        array = array.astype(np.int32)
    if array.dtype == object or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must be integer digits 0-9, got {array.dtype} values such as {array.ravel()[:3].tolist()}")
    if array.ndim != 1:
        raise ValueError(f"{name} must be one digit per image, shape (n,), got shape {array.shape}")
    if array.size and (array.min() < 0 or array.max() >= N_CLASSES):
        bad = array[(array < 0) | (array >= N_CLASSES)][0]
        raise ValueError(f"{name} must be digits 0-9, got {bad}")
    if n is not None and len(array) != n:
        raise ValueError(f"{name} must have one label per image: {n} expected, got {len(array)}")
    return array.astype(np.int32)


def make_dataset(x: np.ndarray, batch_size: int = BATCH_SIZE, *, labels: Any = None, seed: int = 0,
                 shuffle: bool = True) -> tf.data.Dataset:
    """Scaled, cached, shuffled, full batches, prefetched; (image, label) pairs when labels are given: the input pipeline (01_mnist_data)."""
    _check_int("batch_size", batch_size)
    images = to_float(_check_images("x", x)) if x.dtype == np.uint8 else _check_images("x", x)[..., None]
    if len(images) < batch_size:
        raise ValueError(f"x holds {len(images)} images, fewer than one batch of batch_size={batch_size}")
    items = images.astype(np.float32) if labels is None else (images.astype(np.float32),
                                                              check_labels(labels, len(images)))
    ds = tf.data.Dataset.from_tensor_slices(items).cache()
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    # drop_remainder: every batch has the same shape, so the train step is traced once.
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


# ---------------------------------------------------------------------------
# 3. Models: the vanilla GAN, the DCGAN and its conditional twin
# ---------------------------------------------------------------------------

def _check_size(kernel_size: Any, projection_channels: Any = PROJECTION_CHANNELS) -> None:
    if not isinstance(kernel_size, (int, np.integer)) or isinstance(kernel_size, bool) or not 2 <= kernel_size <= 7:
        raise ValueError(f"kernel_size must be an int from 2 to 7 (4: the kit's, 5: the TF tutorial's), got {kernel_size!r}")
    _check_int("projection_channels", projection_channels)


def _generator_layers(kernel_size: int = KERNEL_SIZE,
                      projection_channels: int = PROJECTION_CHANNELS) -> list[keras.layers.Layer]:
    """The DCGAN generator's layers after its input, shared by the plain and the conditional generator."""
    _check_size(kernel_size, projection_channels)
    layers, k, c = keras.layers, kernel_size, projection_channels
    return [
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
        # float32 even under mixed precision: pixels and logits keep full precision (as do the next three).
        layers.Conv2DTranspose(1, k, strides=2, padding="same", activation="tanh", name="image_28x28x1", dtype="float32"),
    ]


def build_generator(latent_dim: int = LATENT_DIM, *, kernel_size: int = KERNEL_SIZE,
                    projection_channels: int = PROJECTION_CHANNELS) -> keras.Model:
    """z (latent_dim,) → 28×28×1 image in [-1, 1]: Dense → Reshape → Conv2DTranspose blocks (03_dcgan_models)."""
    _check_int("latent_dim", latent_dim)
    return keras.Sequential([keras.Input(shape=(latent_dim,), name="z"),
                             *_generator_layers(kernel_size, projection_channels)], name="generator")


def _discriminator_layers(minibatch_std: bool = False, kernel_size: int = KERNEL_SIZE) -> list[keras.layers.Layer]:
    """The DCGAN discriminator's layers after its input, shared by the plain and the conditional discriminator."""
    _check_size(kernel_size)
    layers, k = keras.layers, kernel_size
    return [
        layers.Conv2D(64, k, strides=2, padding="same", name="conv_14x14x64"),
        layers.LeakyReLU(0.2, name="conv1_lrelu"),
        layers.Dropout(0.3, name="conv1_dropout"),
        layers.Conv2D(128, k, strides=2, padding="same", name="conv_7x7x128"),
        layers.LeakyReLU(0.2, name="conv2_lrelu"),
        layers.Dropout(0.3, name="conv2_dropout"),
        layers.Flatten(name="flatten"),
        *([MinibatchStdDev(name="minibatch_std")] if minibatch_std else []),
        layers.Dense(1, name="logit", dtype="float32"),
    ]


def build_discriminator(minibatch_std: bool = False, *, kernel_size: int = KERNEL_SIZE) -> keras.Model:
    """28×28×1 image → one logit (real > 0): strided Conv2D + LeakyReLU + Dropout (03_dcgan_models)."""
    _check_bool("minibatch_std", minibatch_std)
    return keras.Sequential([keras.Input(shape=(28, 28, 1), name="image"),
                             *_discriminator_layers(minibatch_std, kernel_size)], name="discriminator")


@keras.saving.register_keras_serializable(package="gan_helpers")
class MinibatchStdDev(keras.layers.Layer):
    """Appends one feature, the batch's mean standard deviation, so D can see a batch with no variety (10_training_dynamics).

    Karras et al. (2018): a collapsed generator's batch has almost no spread,
    which no single image shows but this feature does. The layer has no weights.
    """

    def call(self, features: tf.Tensor) -> tf.Tensor:
        spread = tf.reduce_mean(tf.math.reduce_std(features, axis=0))
        return tf.concat([features, tf.fill([tf.shape(features)[0], 1], spread)], axis=-1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape[:-1], input_shape[-1] + 1)


def build_vanilla_generator(latent_dim: int = LATENT_DIM) -> keras.Model:
    """The fully connected GAN generator of 2014: z → 256 → 512 → 1024 → 784 (tanh) → 28×28×1 (02_vanilla_gan)."""
    _check_int("latent_dim", latent_dim)
    layers = keras.layers
    hidden = [layer for i, width in enumerate((256, 512, 1024), start=1)
              for layer in (layers.Dense(width, name=f"dense{i}_{width}"), layers.LeakyReLU(0.2, name=f"lrelu{i}"))]
    return keras.Sequential([keras.Input(shape=(latent_dim,), name="z"), *hidden,
                             layers.Dense(28 * 28, activation="tanh", name="pixels_784", dtype="float32"),
                             layers.Reshape((28, 28, 1), name="image_28x28x1", dtype="float32")], name="vanilla_generator")


def build_vanilla_discriminator(minibatch_std: bool = False) -> keras.Model:
    """The fully connected discriminator: 784 → 1024 → 512 → 256 → 1 logit, LeakyReLU + Dropout(0.3) (02_vanilla_gan)."""
    _check_bool("minibatch_std", minibatch_std)
    layers = keras.layers
    hidden = [layer for i, width in enumerate((1024, 512, 256), start=1)
              for layer in (layers.Dense(width, name=f"dense{i}_{width}"), layers.LeakyReLU(0.2, name=f"lrelu{i}"),
                            layers.Dropout(0.3, name=f"dropout{i}"))]
    return keras.Sequential([keras.Input(shape=(28, 28, 1), name="image"), layers.Flatten(name="pixels_784"),
                             *hidden, *([MinibatchStdDev(name="minibatch_std")] if minibatch_std else []),
                             layers.Dense(1, name="logit", dtype="float32")], name="vanilla_discriminator")


def build_conditional_generator(latent_dim: int = LATENT_DIM, *, kernel_size: int = KERNEL_SIZE,
                                projection_channels: int = PROJECTION_CHANNELS) -> keras.Model:
    """(z, digit) → image: a learned 50-number embedding of the digit is appended to z, then the DCGAN generator (08_conditional_gan)."""
    _check_int("latent_dim", latent_dim)
    layers = keras.layers
    z = keras.Input(shape=(latent_dim,), name="z")
    label = keras.Input(shape=(), dtype="int32", name="label")
    x = layers.Concatenate(name="z_and_label")([z, layers.Embedding(N_CLASSES, LABEL_EMBEDDING,
                                                                    name="label_embedding")(label)])
    for layer in _generator_layers(kernel_size, projection_channels):
        x = layer(x)
    return keras.Model([z, label], x, name="conditional_generator")


def build_conditional_discriminator(minibatch_std: bool = False, *, kernel_size: int = KERNEL_SIZE) -> keras.Model:
    """(image, digit) → logit: the digit's embedding becomes a learned 28×28 plane stacked on the image as a second channel (08_conditional_gan)."""
    _check_bool("minibatch_std", minibatch_std)
    layers = keras.layers
    image = keras.Input(shape=(28, 28, 1), name="image")
    label = keras.Input(shape=(), dtype="int32", name="label")
    plane = layers.Embedding(N_CLASSES, LABEL_EMBEDDING, name="label_embedding")(label)
    plane = layers.Reshape((28, 28, 1), name="label_plane")(layers.Dense(28 * 28, name="label_to_pixels")(plane))
    x = layers.Concatenate(axis=-1, name="image_and_label")([image, plane])
    for layer in _discriminator_layers(minibatch_std, kernel_size):
        x = layer(x)
    return keras.Model([image, label], x, name="conditional_discriminator")


#: Model pairs ``train`` can build, by the name stored in a run's config.json.
ARCHITECTURES: dict[str, tuple[Callable[..., keras.Model], Callable[..., keras.Model]]] = {
    "vanilla": (build_vanilla_generator, build_vanilla_discriminator),
    "dcgan": (build_generator, build_discriminator),
    "conditional": (build_conditional_generator, build_conditional_discriminator),
}


def _check_architecture(architecture: Any) -> str:
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {sorted(ARCHITECTURES)}, got {architecture!r}")
    return architecture


#: The convolutional pairs, whose builders also take ``kernel_size`` (and G ``projection_channels``).
CONVOLUTIONAL = ("dcgan", "conditional")


#: Numeric precisions ``train(precision=...)`` takes. "mixed_*": layers compute in 16 bits and keep
#: float32 weights; mixed_float16 also scales the loss so small gradients do not underflow.
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def default_precision() -> str:
    """What ``precision="auto"`` trains in: mixed_float16 on a GPU, float32 on a CPU (measured: README, "Speed") (04_train_dcgan)."""
    return "mixed_float16" if tf.config.list_physical_devices("GPU") else "float32"


def _check_precision(precision: Any) -> str:
    if precision == "auto":
        return default_precision()
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be 'auto' or one of {list(PRECISIONS)}, got {precision!r}")
    return precision


@contextlib.contextmanager
def _dtype_policy(precision: str):
    """Keras's global dtype policy set to ``precision`` while models are built, then restored."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def build_pair(architecture: str = "dcgan", latent_dim: int = LATENT_DIM, *, minibatch_std: bool = False,
               kernel_size: int = KERNEL_SIZE, projection_channels: int = PROJECTION_CHANNELS,
               precision: str = "float32") -> tuple[keras.Model, keras.Model]:
    """A fresh (generator, discriminator) of an ``ARCHITECTURES`` pair; the size arguments apply to the convolutional ones (04_train_dcgan)."""
    build_g, build_d = ARCHITECTURES[_check_architecture(architecture)]
    _check_size(kernel_size, projection_channels)
    with _dtype_policy(_check_precision(precision)):
        if architecture not in CONVOLUTIONAL:
            return build_g(latent_dim), build_d(minibatch_std=minibatch_std)
        return (build_g(latent_dim, kernel_size=kernel_size, projection_channels=projection_channels),
                build_d(minibatch_std=minibatch_std, kernel_size=kernel_size))


def multiply_adds(model: keras.Model) -> int:
    """Multiply-adds of one forward pass for one image, over Dense and convolution layers: the arithmetic a network costs (03_dcgan_models)."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            total += int(np.prod(layer.kernel.shape))
        elif isinstance(layer, keras.layers.Conv2DTranspose):  # every input pixel scatters a k×k×out patch
            total += int(np.prod(layer.input.shape[1:3])) * int(np.prod(layer.kernel.shape))
        elif isinstance(layer, keras.layers.Conv2D):  # every output pixel gathers a k×k×in patch
            total += int(np.prod(layer.output.shape[1:3])) * int(np.prod(layer.kernel.shape))
    return total


def is_conditional(generator: keras.Model) -> bool:
    """True for a generator that takes (z, digit label), False for one that takes z alone (08_conditional_gan)."""
    if not isinstance(generator, keras.Model):
        raise TypeError(f"generator must be a keras.Model, got {type(generator).__name__}")
    return len(generator.inputs) == 2


def latent_dim_of(generator: keras.Model) -> int:
    """The size of z a generator expects, checking it draws 28×28×1 images (03_dcgan_models)."""
    conditional = is_conditional(generator)  # also checks it is a keras.Model
    in_shape, out_shape = generator.input_shape, tuple(generator.output_shape)
    if conditional:
        z_shape, label_shape = (tuple(s) for s in in_shape)
        ok = len(z_shape) == 2 and tuple(label_shape) == (None,)
    else:
        z_shape = tuple(in_shape)
        ok = len(z_shape) == 2
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
    """Images in [-1, 1] for given z (and, for a conditional generator, one digit label per z), in batches, BatchNorm in inference mode (03_dcgan_models)."""
    latent_dim = latent_dim_of(generator)
    z = np.asarray(z, dtype=np.float32)
    if z.ndim != 2 or z.shape[1] != latent_dim:
        raise ValueError(f"z must have shape (n, {latent_dim}) for this generator, got {z.shape}")
    if is_conditional(generator):
        if labels is None:
            raise ValueError("labels: this generator is conditional; pass one digit 0-9 per z")
        labels = check_labels(labels, len(z))
        out = [generator([z[i:i + batch_size], labels[i:i + batch_size]], training=False).numpy()
               for i in range(0, len(z), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, 28, 28, 1), np.float32)
    if labels is not None:
        raise ValueError("labels: this generator is not conditional (it takes z alone); leave labels out")
    out = [generator(z[i:i + batch_size], training=False).numpy() for i in range(0, len(z), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, 28, 28, 1), np.float32)


def balanced_labels(generator: keras.Model, n: int) -> np.ndarray | None:
    """Labels 0, 1, ..., 9, 0, 1, ... for n samples of a conditional generator; None for a plain one (08_conditional_gan)."""
    _check_int("n", n, minimum=0)
    return (np.arange(n) % N_CLASSES).astype(np.int32) if is_conditional(generator) else None


def sample_digits(generator: keras.Model, n: int, seed: int = 0) -> np.ndarray:
    """n generated digits as uint8 (n, 28, 28), deterministic for a seed, batched; a conditional generator draws every digit equally often (03_dcgan_models)."""
    z = latent_vectors(_check_int("n", n), latent_dim_of(generator), seed)
    return to_uint8(generate(generator, z, balanced_labels(generator, n)))


# ---------------------------------------------------------------------------
# 4. Losses, the train step and the training loop
# ---------------------------------------------------------------------------

def _bce(targets: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Mean binary cross-entropy on logits. (The ``keras.losses.BinaryCrossentropy`` object would also
    divide by the replica count under tf.distribute; the train step does that itself for every loss.)"""
    return tf.reduce_mean(keras.losses.binary_crossentropy(targets, logits, from_logits=True))


def _logits(name: str, logits: Any) -> tf.Tensor:
    """The discriminator's logits as a float tensor of shape (n, 1) or (n,), or a clear error."""
    try:
        logits = tf.convert_to_tensor(logits, dtype_hint=tf.float32)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be numbers (the discriminator's logits), got {type(logits).__name__}") from error
    if not logits.dtype.is_floating:
        raise TypeError(f"{name} must be floating-point logits, got dtype {logits.dtype.name}")
    if logits.shape.rank not in (1, 2) or (logits.shape.rank == 2 and logits.shape[1] != 1):
        raise ValueError(f"{name} must have shape (n, 1) or (n,), one logit per image, got {logits.shape}")
    return logits


def discriminator_loss(real_logits: tf.Tensor, fake_logits: tf.Tensor, label_smoothing: float = 0.0) -> tf.Tensor:
    """BCE that pushes D(real) → 1 − label_smoothing and D(fake) → 0 (04_train_dcgan; one-sided smoothing: 10_training_dynamics)."""
    real_logits, fake_logits = _logits("real_logits", real_logits), _logits("fake_logits", fake_logits)
    label_smoothing = _check_smoothing(label_smoothing)
    return (_bce(tf.fill(tf.shape(real_logits), 1.0 - label_smoothing), real_logits)
            + _bce(tf.zeros_like(fake_logits), fake_logits))


def _check_smoothing(label_smoothing: Any) -> float:
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float, np.floating)):
        raise TypeError(f"label_smoothing must be a number in [0, 0.5), got {type(label_smoothing).__name__}")
    if not 0 <= label_smoothing < 0.5:
        raise ValueError(f"label_smoothing must be in [0, 0.5) (real images' target is 1 − it), got {label_smoothing}")
    return float(label_smoothing)


def generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """Non-saturating generator loss −log D(G(z)): strong gradients while D wins (04_train_dcgan)."""
    fake_logits = _logits("fake_logits", fake_logits)
    return _bce(tf.ones_like(fake_logits), fake_logits)


def minimax_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """The original minimax form log(1 − D(G(z))), which saturates early in training (04_train_dcgan)."""
    fake_logits = _logits("fake_logits", fake_logits)
    return -_bce(tf.zeros_like(fake_logits), fake_logits)


def wasserstein_generator_loss(fake_scores: tf.Tensor) -> tf.Tensor:
    """WGAN's generator loss −E[critic(G(z))]: raise the critic's score of the fakes (10_training_dynamics)."""
    return -tf.reduce_mean(_logits("fake_scores", fake_scores))


def critic_loss(real_scores: tf.Tensor, fake_scores: tf.Tensor, penalty: tf.Tensor,
                weight: float = 10.0) -> tf.Tensor:
    """WGAN-GP's critic loss E[critic(fake)] − E[critic(real)] + weight × gradient penalty (10_training_dynamics)."""
    real_scores, fake_scores = _logits("real_scores", real_scores), _logits("fake_scores", fake_scores)
    return tf.reduce_mean(fake_scores) - tf.reduce_mean(real_scores) + weight * penalty


#: The generator's loss by the name ``train(g_loss=...)`` takes (10_training_dynamics compares them).
#: "wasserstein" also turns D into a WGAN-GP critic (``critic_loss``, penalty weight ``GRADIENT_PENALTY``).
G_LOSSES: dict[str, Callable[[tf.Tensor], tf.Tensor]] = {
    "non_saturating": generator_loss, "minimax": minimax_generator_loss, "wasserstein": wasserstein_generator_loss}
GRADIENT_PENALTY = 10.0   # Gulrajani et al. (2017)


def make_optimizer(learning_rate: float = LEARNING_RATE, beta_1: float = BETA_1,
                   decay_steps: int = 0) -> keras.optimizers.Optimizer:
    """Adam with the DCGAN paper's settings by default; ``decay_steps`` > 0 lowers the rate linearly to 0 over that many steps (04_train_dcgan, 10_training_dynamics)."""
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) or not 0 < learning_rate < 1:
        raise ValueError(f"learning_rate must be in (0, 1) (a number), got {learning_rate!r}")
    if isinstance(beta_1, bool) or not isinstance(beta_1, (int, float)) or not 0 <= beta_1 < 1:
        raise ValueError(f"beta_1 must be in [0, 1) (a number), got {beta_1!r}")
    rate = lr_schedule(learning_rate, decay_steps) if _check_int("decay_steps", decay_steps, minimum=0) else learning_rate
    return keras.optimizers.Adam(learning_rate=rate, beta_1=beta_1)


def lr_schedule(learning_rate: float, decay_steps: int) -> keras.optimizers.schedules.LearningRateSchedule:
    """The learning rate falling linearly from ``learning_rate`` to 0 over ``decay_steps`` optimizer steps (10_training_dynamics)."""
    _check_int("decay_steps", decay_steps)
    return keras.optimizers.schedules.PolynomialDecay(learning_rate, decay_steps, end_learning_rate=0.0)


def make_train_step(generator: keras.Model, discriminator: keras.Model,
                    g_optimizer: keras.optimizers.Optimizer, d_optimizer: keras.optimizers.Optimizer,
                    rng: tf.random.Generator,
                    g_loss_fn: Callable[[tf.Tensor], tf.Tensor] = generator_loss, *,
                    label_smoothing: float = 0.0, d_steps: int = 1, gradient_penalty: float = 0.0,
                    strategy: tf.distribute.Strategy | None = None, jit_compile: bool = False) -> Callable:
    """One GAN update with two GradientTapes, compiled by tf.function; a conditional pair also gets the batch's labels (04_train_dcgan).

    ``d_steps`` > 1 gives D that many updates (each on fresh fakes) per G update,
    ``label_smoothing`` lowers D's target for real images, and ``gradient_penalty``
    > 0 makes D a WGAN-GP critic with that penalty weight (10_training_dynamics).
    The step also returns both gradients' global norms.

    Under a ``tf.distribute`` ``strategy`` with several replicas (GPUs, or CPU
    halves in the tests) each replica runs the step on its share of the batch
    and the optimizers sum the replicas' gradients; ``jit_compile`` compiles
    the step with XLA (README, "Speed").
    """
    latent_dim = latent_dim_of(generator)
    conditional = is_conditional(generator)
    if conditional != (len(discriminator.inputs) == 2):
        raise ValueError("generator and discriminator must both be conditional (take labels) or both not")
    if not callable(g_loss_fn):
        raise TypeError(f"g_loss_fn must be a function of the fake logits (e.g. gh.generator_loss), got {g_loss_fn!r}")
    label_smoothing = _check_smoothing(label_smoothing)
    _check_int("d_steps", d_steps)
    if isinstance(gradient_penalty, bool) or not isinstance(gradient_penalty, (int, float)) or gradient_penalty < 0:
        raise ValueError(f"gradient_penalty must be a number >= 0 (0: the usual discriminator), got {gradient_penalty!r}")
    if gradient_penalty and (conditional or label_smoothing):
        raise ValueError("gradient_penalty: the WGAN-GP critic here takes an unconditional pair and no label_smoothing")
    strategy = _check_strategy(strategy)
    _check_bool("jit_compile", jit_compile)
    replicas = strategy.num_replicas_in_sync
    if jit_compile and replicas > 1:
        raise ValueError("jit_compile: XLA compilation of the step is for one device; leave it off with several replicas")

    def logits(real_images, real_labels):  # fakes of uniformly drawn digits when conditional
        n = tf.shape(real_images)[0]
        z = rng.normal([n, latent_dim])
        if conditional:  # D judges each image with its label
            fake_labels = rng.uniform([n], 0, N_CLASSES, dtype=tf.int32)
            fake_images = generator([z, fake_labels], training=True)
            return (discriminator([real_images, real_labels], training=True),
                    discriminator([fake_images, fake_labels], training=True), fake_images)
        fake_images = generator(z, training=True)
        return discriminator(real_images, training=True), discriminator(fake_images, training=True), fake_images

    def d_loss_of(real_images, real_logits, fake_logits, fake_images):
        if not gradient_penalty:
            return discriminator_loss(real_logits, fake_logits, label_smoothing)
        # WGAN-GP: the critic's gradient norm should be 1 on random points between real and fake images.
        mix = rng.uniform([tf.shape(real_images)[0], 1, 1, 1])
        between = mix * real_images + (1 - mix) * fake_images
        with tf.GradientTape() as inner:
            inner.watch(between)
            scores = discriminator(between, training=True)
        slopes = tf.sqrt(tf.reduce_sum(tf.square(inner.gradient(scores, between)), axis=[1, 2, 3]) + 1e-12)
        return critic_loss(real_logits, fake_logits, tf.reduce_mean(tf.square(slopes - 1.0)), gradient_penalty)

    def target(optimizer, loss):
        # What the tape differentiates: the optimizers sum the replicas' gradients, so each replica's
        # loss counts 1/replicas; mixed_float16's LossScaleOptimizer also scales it up (undone on apply).
        return optimizer.scale_loss(loss / replicas)

    def norm(optimizer, grads):  # the size of the gradient of the unscaled loss
        scale = optimizer.dynamic_scale if isinstance(optimizer, keras.optimizers.LossScaleOptimizer) else 1.0
        return tf.linalg.global_norm(grads) * replicas / tf.cast(scale, tf.float32)

    def replica_step(real_images: tf.Tensor, real_labels: tf.Tensor | None = None) -> dict[str, tf.Tensor]:
        for _ in range(d_steps - 1):  # extra discriminator-only updates (unrolled when traced)
            with tf.GradientTape() as d_tape:
                real_logits, fake_logits, fake_images = logits(real_images, real_labels)
                d_loss = target(d_optimizer, d_loss_of(real_images, real_logits, fake_logits, fake_images))
            d_grads = d_tape.gradient(d_loss, discriminator.trainable_variables)
            d_optimizer.apply_gradients(zip(d_grads, discriminator.trainable_variables))
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            real_logits, fake_logits, fake_images = logits(real_images, real_labels)
            g_loss = g_loss_fn(fake_logits)
            d_loss = d_loss_of(real_images, real_logits, fake_logits, fake_images)
            g_target, d_target = target(g_optimizer, g_loss), target(d_optimizer, d_loss)
        g_grads = g_tape.gradient(g_target, generator.trainable_variables)
        d_grads = d_tape.gradient(d_target, discriminator.trainable_variables)
        g_optimizer.apply_gradients(zip(g_grads, generator.trainable_variables))
        d_optimizer.apply_gradients(zip(d_grads, discriminator.trainable_variables))
        return {"g_loss": g_loss, "d_loss": d_loss,
                # D's average belief that a real / fake image is real: 0.5 is equilibrium.
                "d_real": tf.reduce_mean(tf.sigmoid(real_logits)),
                "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits)),
                # How hard each player is pushed: the size of its whole gradient.
                "g_grad_norm": norm(g_optimizer, g_grads), "d_grad_norm": norm(d_optimizer, d_grads)}

    @tf.function(jit_compile=jit_compile)
    def train_step(real_images: tf.Tensor, real_labels: tf.Tensor | None = None) -> dict[str, tf.Tensor]:
        if replicas == 1:
            return replica_step(real_images, real_labels)
        per_replica = strategy.run(replica_step, args=(real_images, real_labels) if conditional else (real_images,))
        return {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None) for k, v in per_replica.items()}

    return train_step


def default_strategy() -> tf.distribute.Strategy:
    """What ``train`` spreads a batch over: MirroredStrategy when TensorFlow sees several GPUs, else one device (04_train_dcgan)."""
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()  # one replica per GPU; gradients summed across them
    return tf.distribute.get_strategy()  # the default strategy: one device, no distribution


def _check_strategy(strategy: Any) -> tf.distribute.Strategy:
    if strategy is None:
        return tf.distribute.get_strategy()  # the strategy whose scope we are in, else one device
    if not isinstance(strategy, tf.distribute.Strategy):
        raise TypeError(f"strategy must be a tf.distribute.Strategy (e.g. tf.distribute.MirroredStrategy()) or None, "
                        f"got {type(strategy).__name__}")
    return strategy


@dataclasses.dataclass
class GANState:
    """Everything a training run checkpoints: models, optimizers, epoch counter, noise generator (04_train_dcgan)."""

    generator: keras.Model
    discriminator: keras.Model
    g_optimizer: keras.optimizers.Optimizer
    d_optimizer: keras.optimizers.Optimizer
    epoch: tf.Variable
    rng: tf.random.Generator

    def checkpoint(self) -> tf.train.Checkpoint:
        """A tf.train.Checkpoint tracking every piece of state."""
        # A mixed_float16 run's LossScaleOptimizer saves its inner Adam (the scale re-adapts in a few
        # steps), so a run can resume in another precision, e.g. a GPU run on a CPU.
        inner = lambda optimizer: getattr(optimizer, "inner_optimizer", optimizer)  # noqa: E731
        return tf.train.Checkpoint(generator=self.generator, discriminator=self.discriminator,
                                   g_optimizer=inner(self.g_optimizer), d_optimizer=inner(self.d_optimizer),
                                   epoch=self.epoch, rng=self.rng)


def new_gan_state(latent_dim: int = LATENT_DIM, learning_rate: float = LEARNING_RATE,
                  beta_1: float = BETA_1, seed: int = 0,
                  generator: keras.Model | None = None,
                  discriminator: keras.Model | None = None, architecture: str = "dcgan", *,
                  minibatch_std: bool = False, decay_steps: int = 0, kernel_size: int = KERNEL_SIZE,
                  projection_channels: int = PROJECTION_CHANNELS, precision: str = "float32") -> GANState:
    """Fresh models of an ``ARCHITECTURES`` pair (initialized from ``seed``) and optimizers, built so a checkpoint restores into them (04_train_dcgan).

    Under a ``tf.distribute`` strategy, call it inside ``strategy.scope()`` (``train`` does).
    """
    _check_int("seed", seed, minimum=0)
    _check_architecture(architecture)
    precision = _check_precision(precision)
    if generator is None or discriminator is None:
        keras.utils.set_random_seed(seed)  # weights and dropout masks follow the seed
        # Both are built even when one is given, so the missing one starts as in a fresh pair of this seed.
        built_g, built_d = build_pair(architecture, latent_dim, minibatch_std=minibatch_std, kernel_size=kernel_size,
                                      projection_channels=projection_channels, precision=precision)
        generator = generator if generator is not None else built_g
        discriminator = discriminator if discriminator is not None else built_d

    def optimizer() -> keras.optimizers.Optimizer:
        adam = make_optimizer(learning_rate, beta_1, decay_steps)
        return keras.optimizers.LossScaleOptimizer(adam) if precision == "mixed_float16" else adam

    state = GANState(generator, discriminator, optimizer(), optimizer(), tf.Variable(0, dtype=tf.int64, name="epoch"),
                     tf.random.Generator.from_seed(seed))
    # Keras 3 creates optimizer slots lazily; build them so restore fills them at once.
    state.g_optimizer.build(generator.trainable_variables)
    state.d_optimizer.build(discriminator.trainable_variables)
    return state


#: One entry per epoch; "frechet" is None on epochs where the Fréchet distance was not measured.
#: "label_accuracy" (conditional runs): share of those samples the classifier reads as the digit asked for.
#: "digit_shares": how often the classifier reads each digit 0-9 in those samples (mode collapse, 10).
HISTORY_KEYS = ("epoch", "g_loss", "d_loss", "d_real", "d_fake", "g_grad_norm", "d_grad_norm", "seconds",
                "images_per_second", "frechet", "label_accuracy", "digit_shares")


class TrainingDiverged(FloatingPointError):
    """Raised when a loss becomes NaN or infinite; the last good checkpoint is kept (04_train_dcgan)."""


@dataclasses.dataclass
class TrainingRun:
    """What ``train`` returns: the state, the per-epoch history and where files went (04_train_dcgan)."""

    state: GANState
    history: dict[str, list[float]]
    out_dir: Path
    checkpoints: list[str]
    resumed_from: int

    @property
    def generator(self) -> keras.Model:
        return self.state.generator


def load_history(out_dir: str | os.PathLike[str]) -> dict[str, list[float]]:
    """The per-epoch history a run wrote to ``history.json`` (05_progress_gif)."""
    path = Path(out_dir) / "history.json"
    if not path.is_file():
        raise FileNotFoundError(f"out_dir: no history.json in {out_dir}; train there first")
    try:
        history = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error})") from error
    return history


#: Settings of runs saved before a setting existed: such a run resumes as what it was.
_CONFIG_DEFAULTS = {"architecture": "dcgan", "g_loss": "non_saturating", "label_smoothing": 0.0,
                    "lr_decay_steps": 0, "d_steps": 1, "minibatch_std": False,
                    "kernel_size": 5, "projection_channels": 256}


def _size_of(config: dict[str, Any]) -> dict[str, int]:
    """The convolutional size settings a run's config records (none for the vanilla GAN)."""
    if config.get("architecture", "dcgan") not in CONVOLUTIONAL:
        return {}
    return {k: config.get(k, _CONFIG_DEFAULTS[k]) for k in ("kernel_size", "projection_channels")}


def _run_config(state: GANState, batch_size: int, learning_rate: float, beta_1: float,
                architecture: str, **recipe: Any) -> dict[str, Any]:
    return {"architecture": architecture, "latent_dim": latent_dim_of(state.generator), "batch_size": batch_size,
            "learning_rate": learning_rate, "beta_1": beta_1, **recipe,
            "generator_params": state.generator.count_params(),
            "discriminator_params": state.discriminator.count_params()}


def train(out_dir: str | os.PathLike[str] | None = None, *, epochs: int = EPOCHS,
          batch_size: int = BATCH_SIZE, learning_rate: float = LEARNING_RATE, beta_1: float = BETA_1,
          latent_dim: int = LATENT_DIM, checkpoint_every: int = CHECKPOINT_EVERY,
          n_train: int | None = None, seed: int = 0, x_train: np.ndarray | None = None,
          frame_seed: int = 1234, frechet_every: int = 0, frechet_n: int = 1_000,
          verbose: int = 1, fall_back: bool = False, architecture: str = "dcgan",
          y_train: np.ndarray | None = None, g_loss: str = "non_saturating", label_smoothing: float = 0.0,
          lr_decay: bool = False, d_steps: int = 1, minibatch_std: bool = False,
          kernel_size: int = KERNEL_SIZE, projection_channels: int = PROJECTION_CHANNELS,
          precision: str = "auto", strategy: tf.distribute.Strategy | None = None,
          jit_compile: bool = False) -> TrainingRun:
    """Train (or resume) a GAN of ``ARCHITECTURES`` (the DCGAN by default), checkpointing every ``checkpoint_every`` epochs and at the end (04_train_dcgan).

    ``out_dir`` receives ``checkpoints/`` (tf.train.CheckpointManager),
    ``frames/epoch_NNNN.png`` (a fixed-z sample grid per epoch), ``history.json``
    and ``config.json``. If it already holds checkpoints, training continues
    from the latest one; history and frames newer than that checkpoint are
    dropped so everything stays consistent with it.

    With ``frechet_every`` > 0 the Fréchet distance of ``frechet_n`` samples to ``frechet_n``
    training images is measured every ``frechet_every`` epochs and at the end
    (06_evaluate explains it); its time is not counted in the epoch's seconds.

    A latest checkpoint that cannot be read (truncated, damaged) stops training
    with an error naming it; ``fall_back=True`` sets it aside in
    ``checkpoints/damaged/`` and resumes from the previous one (``fall_back_checkpoint``).

    ``architecture="conditional"`` trains the class-conditional pair on
    (image, label) batches (labels: ``y_train``, loaded with MNIST when
    ``x_train`` is None); its frames have one row per digit (08_conditional_gan).

    The recipe switches of 10_training_dynamics: ``g_loss`` (a ``G_LOSSES`` name),
    one-sided ``label_smoothing``, ``lr_decay`` (linear to 0 over ``epochs``),
    ``d_steps`` discriminator updates per generator update, and ``minibatch_std``
    (a ``MinibatchStdDev`` feature in D). All are recorded in ``config.json``, as are
    the convolutional pairs' ``kernel_size`` and ``projection_channels`` (03_dcgan_models;
    ``kernel_size=5, projection_channels=256`` is the TensorFlow tutorial's DCGAN).

    Speed switches (README, "Speed"): ``precision`` ("auto": ``default_precision()``),
    ``strategy`` (a ``tf.distribute`` strategy, the batch split over its replicas;
    None: ``default_strategy()``, all GPUs when there are several) and ``jit_compile`` (XLA).
    They change how fast, not what is trained, so a run may resume with others;
    ``config.json`` records the latest.
    """
    _check_int("epochs", epochs)
    _check_int("batch_size", batch_size)
    _check_int("checkpoint_every", checkpoint_every)
    _check_int("seed", seed, minimum=0)
    _check_int("frechet_every", frechet_every, minimum=0)
    _check_int("frechet_n", frechet_n, minimum=2)
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0 (silent), 1 (progress bar) or 2 (one line per epoch), got {verbose}")
    if g_loss not in G_LOSSES:
        raise ValueError(f"g_loss must be one of {sorted(G_LOSSES)}, got {g_loss!r}")
    _check_smoothing(label_smoothing)
    if g_loss == "wasserstein" and (label_smoothing or architecture == "conditional"):
        raise ValueError("g_loss='wasserstein' (WGAN-GP) takes an unconditional architecture and no label_smoothing")
    _check_bool("lr_decay", lr_decay)
    _check_int("d_steps", d_steps)
    _check_bool("minibatch_std", minibatch_std)
    _check_size(kernel_size, projection_channels)
    precision = _check_precision(precision)
    strategy = default_strategy() if strategy is None else _check_strategy(strategy)
    _check_bool("jit_compile", jit_compile)
    if batch_size % strategy.num_replicas_in_sync:
        raise ValueError(f"batch_size must split evenly over the strategy's {strategy.num_replicas_in_sync} "
                         f"replicas, got {batch_size}")
    conditional = _check_architecture(architecture) == "conditional"
    out = Path(out_dir) if out_dir is not None else output_dir(architecture)
    out.mkdir(parents=True, exist_ok=True)
    if not os.access(out, os.W_OK):
        raise PermissionError(f"out_dir: {out} is not writable")

    if x_train is None:
        (x_train, y_loaded), _ = load_mnist()
        y_train = y_loaded if y_train is None else y_train
    x_train = _check_images("x_train", x_train)
    if conditional and y_train is None:
        raise ValueError("y_train: architecture='conditional' needs the labels of x_train")
    if conditional:
        y_train = check_labels(y_train, len(x_train), "y_train")
    if n_train is not None:
        x_train = x_train[:_check_int("n_train", n_train)]
        y_train = y_train[:n_train] if y_train is not None else None
    dataset = make_dataset(x_train, batch_size, labels=y_train if conditional else None, seed=seed)
    steps_per_epoch = len(x_train) // batch_size

    recipe = {"g_loss": g_loss, "label_smoothing": float(label_smoothing), "d_steps": int(d_steps),
              "lr_decay_steps": epochs * steps_per_epoch if lr_decay else 0, "minibatch_std": bool(minibatch_std),
              **_size_of({"architecture": architecture, "kernel_size": kernel_size,
                          "projection_channels": projection_channels})}

    def rebuild() -> GANState:
        with strategy.scope():  # variables (mirrored over the replicas under a strategy) and the noise generator
            return new_gan_state(latent_dim, learning_rate, beta_1, seed, architecture=architecture,
                                 minibatch_std=recipe["minibatch_std"], decay_steps=recipe["lr_decay_steps"],
                                 kernel_size=kernel_size, projection_channels=projection_channels, precision=precision)

    state = rebuild()
    config = _run_config(state, batch_size, learning_rate, beta_1, architecture, **recipe, precision=precision,
                         replicas=strategy.num_replicas_in_sync, jit_compile=jit_compile)
    # Before restoring: a changed latent_dim is then named, not reported as a tensor-shape clash.
    _check_config(out / "config.json", config, len(checkpoint_epochs(out)))
    try:
        manager, resumed_from = restore_or_initialize(state, out)
    except CheckpointDamaged:
        if not fall_back:
            raise
        previous = fall_back_checkpoint(out)
        if verbose:
            print(f"The latest checkpoint could not be read; set it aside in {out / 'checkpoints' / 'damaged'} "
                  f"and resuming from epoch {previous}.")
        state = rebuild()
        manager, resumed_from = restore_or_initialize(state, out)
    _atomic_write_json(out / "config.json", config)

    history = _history_up_to(out, resumed_from)
    if (out / "history.json").is_file():  # drop records newer than the checkpoint now, like the frames
        _atomic_write_json(out / "history.json", history)
    frames = out / "frames"
    _drop_frames_after(frames, resumed_from)
    fixed_z, frame_labels = frame_inputs(state.generator, frame_seed)
    if resumed_from == 0:
        save_frame(state.generator, fixed_z, frames / "epoch_0000.png", frame_labels)

    train_step = make_train_step(state.generator, state.discriminator, state.g_optimizer, state.d_optimizer,
                                 state.rng, G_LOSSES[g_loss], label_smoothing=label_smoothing, d_steps=d_steps,
                                 gradient_penalty=GRADIENT_PENALTY if g_loss == "wasserstein" else 0.0,
                                 strategy=strategy, jit_compile=jit_compile)
    batches = strategy.experimental_distribute_dataset(dataset) if strategy.num_replicas_in_sync > 1 else dataset
    reference = classifier_features(x_train[:frechet_n]).astype(np.float64) if frechet_every else None
    if verbose:
        where = f"resuming after epoch {resumed_from}" if resumed_from else "starting"
        spread = f" over {strategy.num_replicas_in_sync} replicas" if strategy.num_replicas_in_sync > 1 else ""
        print(f"{device_report()}\n{where}: epochs {resumed_from + 1}-{epochs}, "
              f"{steps_per_epoch} steps of {batch_size} images per epoch{spread}, {precision}, writing to {out}")

    for epoch in range(resumed_from + 1, epochs + 1):
        progress = keras.utils.Progbar(steps_per_epoch, verbose=1 if verbose == 1 else 0,
                                       stateful_metrics=["g_loss", "d_loss"])
        start = time.perf_counter()
        sums = dict.fromkeys(("g_loss", "d_loss", "d_real", "d_fake", "g_grad_norm", "d_grad_norm"), 0.0)
        for step, batch in enumerate(batches, start=1):
            values = {k: float(v) for k, v in (train_step(*batch) if conditional else train_step(batch)).items()}
            if not all(np.isfinite(list(values.values()))):
                raise TrainingDiverged(
                    f"non-finite loss at epoch {epoch}, step {step}: {values}. Weights from this epoch "
                    f"were not saved; the last good checkpoint in {out / 'checkpoints'} is kept.")
            for k in sums:
                sums[k] += values[k]
            progress.update(step, [("g_loss", values["g_loss"]), ("d_loss", values["d_loss"])])
        seconds = time.perf_counter() - start
        record = {k: v / steps_per_epoch for k, v in sums.items()}
        record.update(epoch=epoch, seconds=seconds,
                      images_per_second=steps_per_epoch * batch_size / seconds, frechet=None, label_accuracy=None,
                      digit_shares=None)
        if frechet_every and (epoch % frechet_every == 0 or epoch == epochs):
            samples = sample_digits(state.generator, frechet_n, frame_seed)
            fake, read_as = _features_and_digits(samples)
            record["frechet"] = frechet_from_features(reference, fake.astype(np.float64))
            record["digit_shares"] = (np.bincount(read_as, minlength=N_CLASSES) / len(read_as)).round(4).tolist()
            if conditional:
                record["label_accuracy"] = float((read_as == balanced_labels(state.generator, frechet_n)).mean())
        for key in HISTORY_KEYS:
            history.setdefault(key, []).append(record[key])
        state.epoch.assign(epoch)
        save_frame(state.generator, fixed_z, frames / f"epoch_{epoch:04d}.png", frame_labels)
        _atomic_write_json(out / "history.json", history)
        if epoch % checkpoint_every == 0 or epoch == epochs:
            manager.save(checkpoint_number=epoch)
        if verbose == 2 or (verbose == 1 and not sys.stdout.isatty()):
            print(f"epoch {epoch:3d}/{epochs}  g_loss {record['g_loss']:.3f}  d_loss {record['d_loss']:.3f}  "
                  f"D(x) {record['d_real']:.2f}  D(G(z)) {record['d_fake']:.2f}  "
                  f"{seconds:.1f} s  {record['images_per_second']:.0f} img/s"
                  + (f"  FD {record['frechet']:.2f}" if record["frechet"] is not None else "")
                  + (f"  label acc {record['label_accuracy']:.3f}" if record["label_accuracy"] is not None else ""),
                  flush=True)

    return TrainingRun(state, history, out, list(manager.checkpoints), resumed_from)


def restore_or_initialize(state: GANState, out_dir: Path) -> tuple[tf.train.CheckpointManager, int]:
    """Open the run's CheckpointManager and restore its latest checkpoint; returns (manager, epoch) (04_train_dcgan)."""
    if not isinstance(state, GANState):
        raise TypeError(f"state must be a GANState (gh.new_gan_state()), got {type(state).__name__}")
    ckpt_dir = Path(out_dir) / "checkpoints"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    for orphan in ckpt_dir.glob("*_temp*"):  # left by a save killed half-way
        shutil.rmtree(orphan, ignore_errors=True) if orphan.is_dir() else orphan.unlink()
    manager = tf.train.CheckpointManager(state.checkpoint(), str(ckpt_dir), max_to_keep=None)
    latest = manager.latest_checkpoint
    if latest is None:
        return manager, 0
    try:
        # through the manager's own checkpoint, so its save counter is restored too
        manager.checkpoint.restore(latest).assert_existing_objects_matched()
    except (AssertionError, ValueError, IndexError, tf.errors.OpError) as error:  # IndexError: truncated data
        epochs = checkpoint_epochs(out_dir)
        offer = (f" The previous checkpoint is epoch {epochs[-2]}: gh.train(..., fall_back=True) or "
                 f"`python -m gan_helpers train ... --fall-back` sets this one aside (it is kept in "
                 f"checkpoints/damaged/) and resumes from it." if len(epochs) > 1 else "")
        raise CheckpointDamaged(f"checkpoint {latest} cannot be restored into these models (damaged or "
                                f"truncated, or saved by another architecture or latent size): "
                                f"{str(error).splitlines()[0]}.{offer}") from error
    return manager, int(state.epoch.numpy())


class CheckpointDamaged(ValueError):
    """The latest checkpoint of a run cannot be restored (04_train_dcgan)."""


def fall_back_checkpoint(out_dir: str | os.PathLike[str]) -> int:
    """Move the latest checkpoint's files into ``checkpoints/damaged/`` and make the previous one the latest; returns its epoch (04_train_dcgan)."""
    ckpt_dir = Path(out_dir) / "checkpoints"
    epochs = checkpoint_epochs(out_dir)
    if len(epochs) < 2:
        raise FileNotFoundError(f"out_dir: {ckpt_dir} holds {len(epochs)} checkpoint(s); "
                                "falling back needs an earlier one")
    damaged = ckpt_dir / "damaged"
    damaged.mkdir(exist_ok=True)
    for part in ckpt_dir.glob(f"ckpt-{epochs[-1]}.*"):
        os.replace(part, damaged / f"{part.name}.{time.strftime('%Y%m%d-%H%M%S')}")
    # Keep the manager's timestamps: without them a new CheckpointManager would forget the older checkpoints.
    saved = tf.train.get_checkpoint_state(str(ckpt_dir))
    kept = list(saved.all_model_checkpoint_paths)[:-1]
    tf.compat.v1.train.update_checkpoint_state(
        str(ckpt_dir), kept[-1], all_model_checkpoint_paths=kept,
        all_model_checkpoint_timestamps=list(saved.all_model_checkpoint_timestamps)[:-1] or None,
        last_preserved_timestamp=saved.last_preserved_timestamp)
    return epochs[-2]


#: Settings that change how fast a run trains, not what it trains: a run may resume with others.
_SPEED_SETTINGS = ("precision", "replicas", "jit_compile")


def _check_config(path: Path, config: dict[str, Any], resumed_from: int) -> None:
    if not resumed_from or not path.is_file():
        return
    saved = {**_CONFIG_DEFAULTS, **json.loads(path.read_text())}
    changed = {k: (saved.get(k), v) for k, v in config.items() if saved.get(k) != v and k not in _SPEED_SETTINGS}
    if changed:
        detail = ", ".join(f"{k}: saved {a}, now {b}" for k, (a, b) in changed.items())
        raise ValueError(f"{path.parent} holds a run with other settings ({detail}); "
                         "use another out_dir or the same settings to resume")


def _history_up_to(out_dir: Path, epoch: int) -> dict[str, list[float]]:
    if epoch == 0 or not (out_dir / "history.json").is_file():
        return {key: [] for key in HISTORY_KEYS}
    history = load_history(out_dir)
    keep = sum(1 for e in history.get("epoch", []) if e <= epoch)
    return {key: list(history.get(key, [None] * keep))[:keep] for key in HISTORY_KEYS}


def _drop_frames_after(frames_dir: Path, epoch: int) -> None:
    for frame in frames_dir.glob("epoch_*.png"):
        if int(frame.stem.split("_")[1]) > epoch:
            frame.unlink()


def checkpoint_epochs(out_dir: str | os.PathLike[str]) -> list[int]:
    """Epochs at which a run saved a checkpoint, oldest first (05_progress_gif)."""
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"out_dir must be a path to a run folder, got {type(out_dir).__name__}")
    ckpt_dir = Path(out_dir) / "checkpoints"
    state = tf.train.get_checkpoint_state(str(ckpt_dir)) if ckpt_dir.is_dir() else None
    if state is None:
        return []
    return sorted(int(p.rsplit("-", 1)[1]) for p in state.all_model_checkpoint_paths)


def load_generator_from_checkpoint(out_dir: str | os.PathLike[str], epoch: int | None = None,
                                   latent_dim: int | None = None) -> keras.Model:
    """The generator as it was at a checkpointed epoch (latest if None) (05_progress_gif)."""
    epochs = checkpoint_epochs(out_dir)
    if not epochs:
        raise FileNotFoundError(f"out_dir: no checkpoints in {Path(out_dir) / 'checkpoints'}")
    epoch = epochs[-1] if epoch is None else _check_int("epoch", epoch)
    if epoch not in epochs:
        raise ValueError(f"epoch: no checkpoint for epoch {epoch} in {out_dir}; saved epochs are {epochs}")
    config_path = Path(out_dir) / "config.json"
    config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    latent_dim = config.get("latent_dim", LATENT_DIM) if latent_dim is None else latent_dim
    generator = ARCHITECTURES[config.get("architecture", "dcgan")][0](latent_dim, **_size_of(config))
    path = str(Path(out_dir) / "checkpoints" / f"ckpt-{epoch}")
    try:
        tf.train.Checkpoint(generator=generator).restore(path).expect_partial().assert_existing_objects_matched()
    except (AssertionError, ValueError, IndexError, tf.errors.OpError) as error:  # IndexError: truncated data
        raise ValueError(f"checkpoint {path} does not hold a generator with latent_dim={latent_dim}: "
                         f"{str(error).splitlines()[0]}") from error
    return generator


def average_generator(out_dir: str | os.PathLike[str], epochs: Sequence[int]) -> keras.Model:
    """A generator whose weights are the mean of its weights at several checkpointed epochs (08_conditional_gan).

    Averaging the generator over the last few epochs (Polyak averaging; Yazıcı et
    al. 2019) smooths out the oscillation of the two-player game: the average
    often draws better digits than any single checkpoint it was made from.
    """
    epochs = [_check_int("epochs", e) for e in epochs]
    if not epochs:
        raise ValueError("epochs must name at least one checkpointed epoch")
    generators = [load_generator_from_checkpoint(out_dir, e) for e in epochs]
    average = generators[-1]
    average.set_weights([np.mean(ws, axis=0) for ws in zip(*(g.get_weights() for g in generators))])
    return average


def trained_run_dir(train_if_missing: bool = True) -> Path:
    """04's run folder when it holds checkpoints, else a short quick-settings run of its own (05_progress_gif)."""
    if not isinstance(train_if_missing, bool):
        raise TypeError(f"train_if_missing must be True or False, got {train_if_missing!r}")
    run = output_dir("dcgan")
    if checkpoint_epochs(run):
        return run
    short = output_dir("dcgan_short")
    if not checkpoint_epochs(short):
        if not train_if_missing:
            raise FileNotFoundError(f"no trained run in {run} or {short}; run 04_train_dcgan first")
        print(f"No checkpoints in {run} (04_train_dcgan has not run): training a short run in {short}.")
        train(short, epochs=QUICK_EPOCHS, n_train=QUICK_N_TRAIN, checkpoint_every=QUICK_CHECKPOINT_EVERY,
              verbose=2)
    return short


PRETRAINED_GENERATOR_PATH = PROJECT_ROOT / "data" / "pretrained" / "dcgan_generator.keras"


def pretrained_path(architecture: str = "dcgan") -> Path:
    """Where the kit keeps (and ``export`` writes) the trained generator of an architecture (04_train_dcgan)."""
    return PROJECT_ROOT / "data" / "pretrained" / f"{_check_architecture(architecture)}_generator.keras"


def load_keras_file(path: str | os.PathLike[str], what: str, remedy: str) -> keras.Model:
    """Load a ``.keras`` file, or raise an error naming the file, what it should hold and how to get it (06_evaluate)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: no {what} at {path}; {remedy}")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as error:  # truncated zip, HTML error page, another format...
        raise ValueError(f"path: {path} is not a loadable Keras file ({type(error).__name__}: "
                         f"{str(error).splitlines()[0] if str(error) else ''}); {remedy}") from error


def load_pretrained_generator(path: str | os.PathLike[str] | None = None) -> keras.Model:
    """The generator the kit ships, trained by ``train`` on all 60k digits; its record is the .json beside it (07_latent_explorer)."""
    return _load_generator_file(path if path is not None else PRETRAINED_GENERATOR_PATH, conditional=False)


def _load_generator_file(path: str | os.PathLike[str], conditional: bool) -> keras.Model:
    """A shipped (or exported) generator file, checked to be a generator of the expected kind."""
    kind, run = ("conditional generator", "conditional") if conditional else ("generator", "dcgan")
    generator = load_keras_file(path, f"pretrained {kind}",
                                "restore it with `git checkout -- data/pretrained` or export your own run with "
                                f"`python -m gan_helpers export --run outputs/{run}`")
    try:
        latent_dim_of(generator)
    except (TypeError, ValueError) as error:
        raise ValueError(f"path: {path} does not hold a generator: {error}") from error
    if conditional and not is_conditional(generator):
        raise ValueError(f"path: {path} holds a generator that takes no labels; a conditional one was expected")
    return generator


def trained_generator(source: str = "auto", conditional: bool = False) -> tuple[keras.Model, str]:
    """A trained generator and a sentence saying which: your full run from 04 (08 if ``conditional``) when present, else the pretrained one (06_evaluate).

    ``source="auto"`` takes the latest checkpoint of the full-mode run in
    ``outputs/dcgan`` (04_train_dcgan; ``outputs/conditional``, 08_conditional_gan)
    and otherwise the kit's pretrained generator; quick-mode runs are never
    used, because 4 short epochs draw blobs. ``"yours"`` or ``"pretrained"`` force one.
    """
    if source not in ("auto", "yours", "pretrained"):
        raise ValueError(f"source must be 'auto', 'yours' or 'pretrained', got {source!r}")
    if not isinstance(conditional, bool):
        raise TypeError(f"conditional must be True or False, got {conditional!r}")
    name, notebook, path = (("conditional", "08_conditional_gan", CONDITIONAL_GENERATOR_PATH) if conditional
                            else ("dcgan", "04_train_dcgan", PRETRAINED_GENERATOR_PATH))
    run = _outputs_root() / name  # the full-mode run, also in quick mode
    epochs = checkpoint_epochs(run)
    if source == "yours" or (source == "auto" and epochs):
        if not epochs:
            raise FileNotFoundError(f"source='yours': no checkpoints in {run}; run {notebook} (full mode) first")
        return (load_generator_from_checkpoint(run),
                f"your generator from {notebook} ({run}, epoch {epochs[-1]})")
    generator = load_pretrained_conditional_generator() if conditional else load_pretrained_generator()
    record_path = path.with_suffix(".json")
    about = ""
    if record_path.is_file():
        record = json.loads(record_path.read_text())
        about = (f", {record['epochs']} epochs of {record['images_per_epoch']:,} digits, Fréchet distance "
                 f"{record['evaluation']['generator']['frechet_distance']:.2f} at n = 10,000")
    why = f"no full run in outputs/{name}" if source == "auto" else "asked for"
    kind = "conditional generator" if conditional else "generator"
    return generator, f"the kit's pretrained {kind} ({why}; {path.name}{about})"


def export_generator(run_dir: str | os.PathLike[str], path: str | os.PathLike[str] | None = None,
                     *, epoch: int | None = None, n_eval: int = 10_000, average: int = 1) -> dict[str, Any]:
    """Save a run's generator in Keras' native format, a JSON record (settings, epochs, time, machine, history, evaluation; per digit for a conditional one) and the run's progress GIF (04_train_dcgan).

    ``path`` defaults to the kit's pretrained file for the run's architecture.
    ``average`` > 1 exports the mean of the generator's weights over the last
    ``average`` checkpoints up to ``epoch`` (``average_generator``), which works
    best with a checkpoint every epoch (``--checkpoint-every 1``).
    """
    run_dir = Path(run_dir)
    _check_int("average", average)
    saved = checkpoint_epochs(run_dir)
    epoch = epoch if epoch is not None else (saved[-1] if saved else None)
    generator = last = load_generator_from_checkpoint(run_dir, epoch)
    averaged = [e for e in saved if e <= epoch][-average:]
    if average > 1:
        if len(averaged) < average:
            raise ValueError(f"average: {average} checkpoints up to epoch {epoch} asked for, {run_dir} has {len(averaged)}")
        generator = average_generator(run_dir, averaged)  # a model of its own; `last` stays the checkpoint
    config = json.loads((run_dir / "config.json").read_text()) if (run_dir / "config.json").is_file() else {}
    conditional = is_conditional(generator)
    architecture = config.get("architecture", "dcgan")
    path = Path(path) if path is not None else pretrained_path(architecture)
    history = _history_up_to(run_dir, epoch)
    evaluation = evaluate_generator(generator, n_eval)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{path.name}")
    generator.save(tmp)
    os.replace(tmp, path)
    if (run_dir / "frames").is_dir():
        make_gif(run_dir / "frames", path.with_name(f"{path.stem}_progress.gif"), last_epoch=epoch)
    seconds = sum(history.get("seconds", []))
    per_epoch = [round(r * t) for r, t in zip(history.get("images_per_second", []), history.get("seconds", []))]
    record = {"epochs": epoch, "images_per_epoch": per_epoch[-1] if per_epoch else None, "settings": config,
              "train_seconds": round(seconds, 1),
              "images_per_second": round(float(np.median(history["images_per_second"])), 1)
              if history.get("images_per_second") else None,
              "machine": f"{device_report()}; {platform.platform()}",
              "frechet_by_epoch": dict(zip(history.get("epoch", []), history.get("frechet", []))),
              "history": history,
              "evaluation": evaluation, "parameters": generator.count_params(),
              "weights_averaged_over_epochs": averaged if average > 1 else None,
              "exported": time.strftime("%Y-%m-%d"),
              "trained_with": f"python -m gan_helpers train --architecture {architecture} "
                              f"--epochs {epoch} --out RUN (the settings above), "
                              f"then python -m gan_helpers export --run RUN"
                              + (f" --average {average}" if average > 1 else "")}
    if conditional:
        record["conditional_evaluation"] = evaluate_conditional(generator, max(2, n_eval // N_CLASSES))
    if average > 1:  # what averaging bought: the same evaluation of the last checkpoint alone
        record["last_checkpoint_evaluation"] = evaluate_generator(last, n_eval)
        if conditional:
            record["last_checkpoint_conditional_evaluation"] = evaluate_conditional(last, max(2, n_eval // N_CLASSES))
    _atomic_write_json(path.with_suffix(".json"), record)
    return {**record, "path": str(path)}


# ---------------------------------------------------------------------------
# 5. Pictures: grids, frames, the GIF, plots
# ---------------------------------------------------------------------------

def image_grid(images: Any, rows: int, cols: int, pad: int = 2, scale: int = 1) -> np.ndarray:
    """Tile images into one uint8 picture, white digits on black, optional pixel scaling (05_progress_gif)."""
    images = to_uint8(images)
    _check_int("rows", rows)
    _check_int("cols", cols)
    _check_int("pad", pad, minimum=0)
    _check_int("scale", scale)
    if len(images) < rows * cols:
        raise ValueError(f"images holds {len(images)} images, fewer than rows*cols = {rows * cols}")
    cell = 28 + pad
    grid = np.full((rows * cell + pad, cols * cell + pad), 64, np.uint8)  # grey gutters
    for i in range(rows * cols):
        r, c = divmod(i, cols)
        grid[pad + r * cell: pad + r * cell + 28, pad + c * cell: pad + c * cell + 28] = images[i]
    return np.kron(grid, np.ones((scale, scale), np.uint8)) if scale > 1 else grid


def frame_inputs(generator: keras.Model, seed: int = 1234) -> tuple[np.ndarray, np.ndarray | None]:
    """The fixed inputs of every training frame: 16 z's (4×4), or for a conditional generator 10 z's × digits 0-9 (rows = digits) (05_progress_gif)."""
    latent_dim = latent_dim_of(generator)
    if not is_conditional(generator):
        return latent_vectors(16, latent_dim, seed), None
    z = latent_vectors(N_CLASSES, latent_dim, seed)
    return np.tile(z, (N_CLASSES, 1)), np.repeat(np.arange(N_CLASSES, dtype=np.int32), N_CLASSES)


def save_frame(generator: keras.Model, z: np.ndarray, path: str | os.PathLike[str], labels: Any = None) -> Path:
    """Write the square grid the generator draws for a fixed z (and labels), as a PNG, atomically (04_train_dcgan)."""
    images = generate(generator, z, labels)
    side = int(np.sqrt(len(images)))
    picture = image_grid(images, side, side, scale=3)
    path = Path(path)
    _atomic_write_bytes(path, iio.imwrite("<bytes>", picture, extension=".png"))
    return path


def make_gif(frames_dir: str | os.PathLike[str], gif_path: str | os.PathLike[str],
             duration_ms: int = 200, hold_last_ms: int = 1_500, last_epoch: int | None = None) -> Path:
    """Looping GIF of every ``epoch_*.png`` in order (up to ``last_epoch``), written atomically with imageio.v3 (05_progress_gif)."""
    frames = sorted(Path(frames_dir).glob("epoch_*.png"))
    if last_epoch is not None:
        _check_int("last_epoch", last_epoch, minimum=0)
        frames = [f for f in frames if int(f.stem.split("_")[1]) <= last_epoch]
    if not frames:
        raise FileNotFoundError(f"frames_dir: no epoch_*.png frames in {frames_dir}")
    _check_int("duration_ms", duration_ms)
    pictures = [iio.imread(f) for f in frames]
    shapes = {p.shape for p in pictures}
    if len(shapes) != 1:
        raise ValueError(f"frames in {frames_dir} differ in size ({sorted(shapes)}); a GIF needs one size")
    durations = [duration_ms] * (len(pictures) - 1) + [max(duration_ms, hold_last_ms)]
    gif_path = Path(gif_path)
    # Pillow writes a one-frame GIF by another path that takes only a number as duration.
    _atomic_write_bytes(gif_path, iio.imwrite("<bytes>", np.stack(pictures), extension=".gif",
                                              duration=durations if len(durations) > 1 else durations[0],
                                              loop=0))
    return gif_path


def gif_info(gif_path: str | os.PathLike[str]) -> dict[str, Any]:
    """Frame count, loop setting, frame durations (ms) and frame shape of a GIF (05_progress_gif)."""
    if not Path(gif_path).is_file():
        raise FileNotFoundError(f"gif_path: no GIF at {gif_path}")
    # mode="RGB": Pillow reads a GIF's first frame as palette (→ RGB) and later all-grey frames as L,
    # so without one mode the frames of a grey GIF can come back in two shapes.
    frames = iio.imread(gif_path, index=None, mode="RGB")
    meta = iio.immeta(gif_path)
    durations = [iio.immeta(gif_path, index=i).get("duration") for i in range(len(frames))]
    return {"frames": len(frames), "loop": meta.get("loop"), "durations_ms": durations,
            "shape": frames.shape[1:]}


def plot_grid(images: Any, rows: int, cols: int, titles: Sequence[str] | None = None,
              suptitle: str | None = None, scale: float = 1.0):
    """A matplotlib figure of images in a rows×cols grid with optional per-image titles (01_mnist_data)."""
    import matplotlib.pyplot as plt

    images = to_uint8(images)
    if len(images) < rows * cols:
        raise ValueError(f"images holds {len(images)} images, fewer than rows*cols = {rows * cols}")
    if titles is not None and len(titles) < rows * cols:
        raise ValueError(f"titles has {len(titles)} entries, fewer than rows*cols = {rows * cols}")
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


def plot_history(history: dict[str, list[float]]):
    """Loss curves, D's beliefs and (when measured) the Fréchet distance per epoch (05_progress_gif)."""
    import matplotlib.pyplot as plt

    needed = ("epoch", "g_loss", "d_loss", "d_real", "d_fake")
    if not isinstance(history, dict) or any(k not in history for k in needed):
        raise ValueError(f"history must have the keys {needed} (gh.load_history or TrainingRun.history), "
                         f"got {sorted(history) if isinstance(history, dict) else type(history).__name__}")

    measured = [(e, f) for e, f in zip(history["epoch"], history.get("frechet", [])) if f is not None]
    fig, axes = plt.subplots(1, 3 if measured else 2, figsize=(16 if measured else 11, 3.6))
    ax_loss, ax_d = axes[0], axes[1]
    epochs = history["epoch"]
    ax_loss.plot(epochs, history["g_loss"], "o-", label="generator")
    ax_loss.plot(epochs, history["d_loss"], "s-", label="discriminator")
    ax_loss.set(xlabel="epoch", ylabel="mean loss", title="Losses")
    ax_loss.legend()
    ax_d.plot(epochs, history["d_real"], "o-", label="D(x), real")
    ax_d.plot(epochs, history["d_fake"], "s-", label="D(G(z)), fake")
    ax_d.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax_d.set(xlabel="epoch", ylabel="mean probability 'real'", ylim=(0, 1), title="What D believes")
    ax_d.legend()
    for ax in axes:
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    if measured:
        axes[2].plot(*zip(*measured), "o-", color="C2")
        axes[2].set(xlabel="epoch", ylabel="Fréchet distance (lower is better)", yscale="log",
                    title="Sample quality")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------
# 6. Evaluation: a classifier's feature space, Fréchet distance, coverage
# ---------------------------------------------------------------------------

CLASSIFIER_PATH = PROJECT_ROOT / "data" / "pretrained" / "mnist_classifier.keras"
_classifier_cache: dict[str, tuple[keras.Model, keras.Model]] = {}


def build_classifier() -> keras.Model:
    """Small all-convolutional CNN; its 128-d 'features' layer (global average pool) is the kit's feature space (06_evaluate).

    Pooled convolutional features, rather than a fully connected hidden layer,
    keep noise and blobs far from real digits, which precision/recall rely on.
    """
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
    _check_int("epochs", epochs)
    set_seed(seed)
    (x_train, y_train), (x_test, y_test) = load_mnist()
    if n_train is not None:
        x_train, y_train = x_train[:_check_int("n_train", n_train)], y_train[:n_train]
    model = build_classifier()
    steps = epochs * (len(x_train) // batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    # Small random shifts and rotations: generated digits are rarely perfectly centred.
    augment = keras.Sequential([keras.layers.RandomTranslation(0.08, 0.08, seed=seed),
                                keras.layers.RandomRotation(0.04, seed=seed)])
    train_ds = (tf.data.Dataset.from_tensor_slices((to_float(x_train), y_train.astype(np.int32)))
                .shuffle(len(x_train), seed=seed).batch(batch_size)
                .map(lambda x, y: (augment(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
                .prefetch(tf.data.AUTOTUNE))
    start = time.perf_counter()
    model.fit(train_ds, epochs=epochs, verbose=verbose)
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(to_float(x_test), y_test.astype(np.int32), batch_size=1000, verbose=0)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{path.name}")
    _without_optimizer(model, build_classifier).save(tmp)  # weights only: 1.9 MB instead of 5.7
    os.replace(tmp, path)
    record = {"test_accuracy": round(float(accuracy), 4), "epochs": epochs, "batch_size": batch_size,
              "optimizer": "Adam 1e-3, cosine decay to 0", "augmentation": "translate ±8%, rotate ±0.04 turn",
              "n_train": len(x_train), "seed": seed, "seconds": round(seconds, 1),
              "parameters": model.count_params(), "machine": device_report(),
              "trained_with": f"gan_helpers.train_classifier(epochs={epochs}, batch_size={batch_size}, seed={seed})"}
    _atomic_write_json(path.with_suffix(".json"), record)
    _classifier_cache.pop(str(path), None)
    return record


def _without_optimizer(model: keras.Model, build: Callable[[], keras.Model]) -> keras.Model:
    """An uncompiled copy with the same weights, so the saved file carries no optimizer state."""
    copy = build()
    copy.set_weights(model.get_weights())
    return copy


def load_classifier(path: str | os.PathLike[str] | None = None) -> tuple[keras.Model, keras.Model]:
    """The shipped classifier and its feature extractor (the 'features' layer), cached (06_evaluate)."""
    path = Path(path) if path is not None else CLASSIFIER_PATH
    key = str(path)
    if key not in _classifier_cache:
        model = load_keras_file(path, "classifier", "retrain it with `python -m gan_helpers train-classifier`")
        features = keras.Model(model.inputs[0], model.get_layer("features").output, name="features")
        _classifier_cache[key] = (model, features)
    return _classifier_cache[key]


def _batched_predict(model: keras.Model, images: Any, name: str, batch_size: int = 1_000) -> np.ndarray:
    x = _check_images(name, images)
    x = to_float(x) if x.dtype == np.uint8 else x[..., None].astype(np.float32)
    return np.concatenate([model(x[i:i + batch_size], training=False).numpy()
                           for i in range(0, len(x), batch_size)])


def classifier_features(images: Any) -> np.ndarray:
    """(n, 128) penultimate-layer features (pooled conv5) of uint8 or [-1, 1] images (06_evaluate)."""
    return _batched_predict(load_classifier()[1], images, "images")


def classifier_probabilities(images: Any) -> np.ndarray:
    """(n, 10) softmax probabilities p(y|x) from the kit's classifier (06_evaluate)."""
    return tf.nn.softmax(_batched_predict(load_classifier()[0], images, "images")).numpy()


def _features_and_digits(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The classifier's features and the digit it reads, from one forward pass (training's per-epoch check)."""
    model, features = load_classifier()
    both = keras.Model(model.inputs[0], [features.outputs[0], model.outputs[0]])
    x = to_float(_check_images("images", images))
    parts = [both(x[i:i + 1_000], training=False) for i in range(0, len(x), 1_000)]
    return (np.concatenate([f.numpy() for f, _ in parts]),
            np.concatenate([logits.numpy() for _, logits in parts]).argmax(1))


def _at_least(name: str, images: Any, n: int) -> np.ndarray:
    images = _check_images(name, images)
    if len(images) < n:
        raise ValueError(f"{name} needs at least {n} images, got {len(images)}")
    return images


def frechet_distance(images_a: Any, images_b: Any) -> float:
    """Fréchet distance between Gaussians fitted to two image sets in the classifier's feature space (06_evaluate)."""
    fa = classifier_features(_at_least("images_a", images_a, 2)).astype(np.float64)
    fb = classifier_features(_at_least("images_b", images_b, 2)).astype(np.float64)
    return frechet_from_features(fa, fb)


def frechet_from_features(fa: np.ndarray, fb: np.ndarray) -> float:
    """‖μa − μb‖² + Tr(Σa + Σb − 2(Σa Σb)^½), computed with symmetric eigendecompositions (06_evaluate)."""
    fa, fb = np.asarray(fa, dtype=np.float64), np.asarray(fb, dtype=np.float64)
    if fa.ndim != 2 or fb.ndim != 2 or fa.shape[1] != fb.shape[1] or min(len(fa), len(fb)) < 2:
        raise ValueError(f"fa and fb must be (n, d) feature arrays with the same d and n >= 2, "
                         f"got {fa.shape} and {fb.shape}")
    mu_a, mu_b = fa.mean(0), fb.mean(0)
    cov_a, cov_b = np.cov(fa, rowvar=False), np.cov(fb, rowvar=False)
    # Tr((Σa Σb)^½) = Σ sqrt(eig(Σa^½ Σb Σa^½)), which is symmetric PSD: stable, no scipy needed.
    w, v = np.linalg.eigh(cov_a)
    sqrt_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(sqrt_a @ cov_b @ sqrt_a), 0, None)).sum()
    return float(max(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * cross, 0.0))


def classifier_score(images: Any) -> float:
    """exp E_x[KL(p(y|x) ‖ p(y))], the Inception-score analogue: 1 (useless) to 10 (confident and varied) (06_evaluate)."""
    p = classifier_probabilities(_at_least("images", images, 1)).astype(np.float64)
    p_y = p.mean(0, keepdims=True)
    kl = (p * (np.log(p + 1e-12) - np.log(p_y + 1e-12))).sum(1)
    return float(np.exp(kl.mean()))


def digit_histogram(images: Any) -> dict[str, Any]:
    """Share of each predicted digit, normalized entropy (1 = all ten equally) and smallest share (06_evaluate)."""
    labels = classifier_probabilities(_at_least("images", images, 1)).argmax(1)
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
    _check_int("k", k)
    fr = classifier_features(_at_least("real", real, k + 1)).astype(np.float32)
    ff = classifier_features(_at_least("fake", fake, k + 1)).astype(np.float32)
    precision = _coverage_of(ff, fr, _kth_radius(fr, k))
    recall = _coverage_of(fr, ff, _kth_radius(ff, k))
    return {"precision": precision, "recall": recall, "k": k}


def nearest_training_neighbours(images: Any, x_train: Any, chunk: int = 1_024) -> tuple[np.ndarray, np.ndarray]:
    """For each image, the index of and pixel L2 distance (0-1 scale) to its nearest training image (06_evaluate)."""
    a = to_uint8(_at_least("images", images, 1)).reshape(len(images), -1).astype(np.float32) / 255
    b = to_uint8(_at_least("x_train", x_train, 1)).reshape(len(x_train), -1).astype(np.float32) / 255
    rows = _pairwise_sq_dists(a, b, chunk)
    index, dist = [], []
    for i in range(0, len(a), chunk):
        j = rows(i).argmin(1)
        index.append(j)
        # exact distance for the chosen pair (the fast expansion above loses precision near 0)
        dist.append(np.linalg.norm(a[i:i + chunk] - b[j], axis=1))
    return np.concatenate(index), np.concatenate(dist)


def image_statistics(images: Any) -> dict[str, np.ndarray]:
    """Per-image ink, area, stroke thickness, slant and width, all from pixels (06_evaluate).

    ink: mean intensity (0-1); area: pixels above 50%; thickness ≈ 2·area/perimeter;
    slant: horizontal shift of ink per row upwards (>0 leans right, ≈ tan of the lean);
    width: ink-weighted standard deviation of the column (pixels).
    """
    x = to_uint8(_at_least("images", images, 1)).astype(np.float32) / 255
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


def evaluate_images(fake: Any, real: Any, *, k: int = 3) -> dict[str, Any]:
    """Every figure for one fake set against a real reference set (06_evaluate)."""
    fake, real = _at_least("fake", fake, k + 1), _at_least("real", real, k + 1)
    hist = digit_histogram(fake)
    pr = precision_recall(real, fake, k)
    return {"n": len(fake), "frechet_distance": frechet_distance(real, fake),
            "classifier_score": classifier_score(fake), "coverage_entropy": hist["coverage_entropy"],
            "min_digit_share": hist["min_share"], "precision": pr["precision"], "recall": pr["recall"]}


def evaluate_generator(generator: keras.Model, n: int = 10_000, seed: int = 0,
                       mnist: MnistSplits | None = None) -> dict[str, Any]:
    """All metrics for n generated digits vs the real test set, beside the real-vs-real floor (06_evaluate).

    The floor compares n training images with the same test images: no
    generator can be expected to beat it at this n.
    """
    _check_int("n", n, minimum=4)
    (x_train, _), (x_test, _) = mnist if mnist is not None else load_mnist()
    if n > len(x_test):
        raise ValueError(f"n must be at most {len(x_test)} (the size of the test set), got {n}")
    real = x_test[:n]
    fake = sample_digits(generator, n, seed)
    floor_images = x_train[np.random.default_rng(seed).permutation(len(x_train))[:n]]
    _, fake_nn = nearest_training_neighbours(fake[:1_000], x_train)
    _, real_nn = nearest_training_neighbours(real[:1_000], x_train)
    return {"generator": evaluate_images(fake, real), "real_vs_real": evaluate_images(floor_images, real),
            "nearest_neighbour_distance": {"generated_median": float(np.median(fake_nn)),
                                           "test_median": float(np.median(real_nn)), "n": min(n, 1_000)}}


def format_evaluation(result: dict[str, Any]) -> str:
    """A plain-text table of evaluate_generator's figures beside the real-vs-real floor (06_evaluate)."""
    if not isinstance(result, dict) or not {"generator", "real_vs_real", "nearest_neighbour_distance"} <= set(result):
        raise ValueError("result must come from gh.evaluate_generator (keys generator, real_vs_real, "
                         "nearest_neighbour_distance)")
    g, r = result["generator"], result["real_vs_real"]
    lines = [f"{'metric':<22}{'generator':>12}{'real vs real':>14}   (n = {g['n']:,})"]
    for key, better in [("frechet_distance", "lower"), ("classifier_score", "higher, max 10"),
                        ("coverage_entropy", "higher, max 1"), ("min_digit_share", "ideal ~0.1"),
                        ("precision", "higher"), ("recall", "higher")]:
        lines.append(f"{key:<22}{g[key]:>12.3f}{r[key]:>14.3f}   {better}")
    nn = result["nearest_neighbour_distance"]
    lines.append(f"{'nearest-train dist.':<22}{nn['generated_median']:>12.3f}{nn['test_median']:>14.3f}   "
                 f"median pixel L2 (n = {nn['n']:,}); far below the test value means copying")
    return "\n".join(lines)


_COMPARED = [("frechet_distance", "Fréchet distance ↓"), ("classifier_score", "classifier score ↑"),
             ("coverage_entropy", "coverage ↑"), ("min_digit_share", "smallest digit share"),
             ("precision", "precision ↑"), ("recall", "recall ↑")]


def compare_runs(run_dirs: dict[str, str | os.PathLike[str]], time_alone: bool = False) -> dict[str, Any]:
    """Settings, training seconds and evaluation.json figures of several runs, side by side (06_evaluate).

    ``seconds`` is what the runs recorded; with ``time_alone`` each run's
    batch size is also timed here, one at a time, for seconds on an idle machine.
    """
    if not run_dirs:
        raise ValueError("run_dirs must name at least one run folder")
    runs: dict[str, Any] = {}
    for name, folder in run_dirs.items():
        folder = Path(folder)
        evaluation_path = folder / "evaluation.json"
        if not evaluation_path.is_file():
            raise FileNotFoundError(f"run_dirs[{name!r}]: no evaluation.json in {folder}; "
                                    f"run `python -m gan_helpers evaluate --out {folder}` first")
        evaluation = json.loads(evaluation_path.read_text())
        history = load_history(folder)
        config = json.loads((folder / "config.json").read_text())
        runs[name] = {"settings": {k: config[k] for k in ("learning_rate", "beta_1", "batch_size")},
                      "epochs": len(history["epoch"]), "seconds": round(sum(history["seconds"]), 1),
                      **{k: evaluation["generator"][k] for k, _ in _COMPARED}, "n": evaluation["generator"]["n"]}
        if time_alone:
            epoch = estimate_epoch_seconds(config["batch_size"], steps=20)
            runs[name]["seconds_timed_alone"] = round(epoch * runs[name]["epochs"], 1)
        floor = evaluation["real_vs_real"]
    return {"runs": runs, "real_vs_real": {k: floor[k] for k, _ in _COMPARED}}


def format_comparison(comparison: dict[str, Any], markdown: bool = False) -> str:
    """compare_runs' result as a plain-text or Markdown table, with the real-vs-real floor (06_evaluate)."""
    if not isinstance(comparison, dict) or "runs" not in comparison or not comparison["runs"]:
        raise ValueError("comparison must come from gh.compare_runs (a dict with non-empty 'runs')")
    runs = comparison["runs"]
    header = ["", *runs, "real vs real"]
    rows = [["Adam learning rate, β1", *(f"{r['settings']['learning_rate']:g}, {r['settings']['beta_1']:g}"
                                        for r in runs.values()), ""],
            ["batch size", *(str(r["settings"]["batch_size"]) for r in runs.values()), ""],
            ["epochs", *(str(r["epochs"]) for r in runs.values()), ""]]
    rows += [[label, *(f"{r[key]:.3f}" for r in runs.values()), f"{comparison['real_vs_real'][key]:.3f}"]
             for key, label in _COMPARED]
    if all("seconds_timed_alone" in r for r in runs.values()):
        rows.append(["training seconds, timed alone", *(f"{r['seconds_timed_alone']:,.0f}" for r in runs.values()), ""])
    rows.append(["training seconds, as recorded", *(f"{r['seconds']:,.0f}" for r in runs.values()), ""])
    rows.append(["n (images evaluated)", *(f"{r['n']:,}" for r in runs.values()), ""])
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                               enumerate(zip(row, widths))) for row in [header, *rows])


def architecture_entry(evaluation: dict[str, Any], history: dict[str, list], config: dict[str, Any]) -> dict[str, Any]:
    """One column of ``format_architectures``: a run's sizes and speed (history, config.json) with its ``evaluate_generator`` result (02_vanilla_gan)."""
    for name, value, keys in (("evaluation", evaluation, ("generator", "real_vs_real")),
                              ("history", history, ("epoch", "seconds")),
                              ("config", config, ("generator_params", "discriminator_params"))):
        if not isinstance(value, dict) or any(k not in value for k in keys):
            raise ValueError(f"{name} must be a dict with the keys {keys}, got "
                             f"{sorted(value) if isinstance(value, dict) else type(value).__name__}")
    return {"epochs": len(history["epoch"]), "generator_params": config["generator_params"],
            "discriminator_params": config["discriminator_params"],
            "seconds_per_epoch": float(np.median(history["seconds"])),
            "fastest_epoch_seconds": float(np.min(history["seconds"])),
            **{k: evaluation["generator"][k] for k, _ in _COMPARED}, "n": evaluation["generator"]["n"],
            "floor": {k: evaluation["real_vs_real"][k] for k, _ in _COMPARED}}


def format_architectures(entries: dict[str, dict[str, Any]], markdown: bool = False) -> str:
    """Architectures side by side: epochs, parameters, seconds per epoch and every metric, with the real-vs-real floor (02_vanilla_gan)."""
    if not isinstance(entries, dict) or not entries or not all(isinstance(e, dict) and "floor" in e
                                                              for e in entries.values()):
        raise ValueError("entries must be a non-empty dict of name -> gh.architecture_entry(...)")
    header = ["", *entries, "real vs real"]
    floor = next(iter(entries.values()))["floor"]
    rows = [["epochs", *(str(e["epochs"]) for e in entries.values()), ""],
            ["generator parameters", *(f"{e['generator_params']:,}" for e in entries.values()), ""],
            ["discriminator parameters", *(f"{e['discriminator_params']:,}" for e in entries.values()), ""],
            ["seconds per epoch (median as recorded)", *(f"{e['seconds_per_epoch']:.1f}" for e in entries.values()), ""],
            ["seconds per epoch (fastest recorded)", *(f"{e['fastest_epoch_seconds']:.1f}" for e in entries.values()), ""]]
    if all("seconds_timed_alone" in e for e in entries.values()):
        rows.append(["seconds per epoch (timed alone here)", *(f"{e['seconds_timed_alone']:.1f}" for e in entries.values()), ""])
    rows += [[label, *(f"{e[key]:.3f}" for e in entries.values()), f"{floor[key]:.3f}"] for key, label in _COMPARED]
    rows.append(["n (images evaluated)", *(f"{e['n']:,}" for e in entries.values()), ""])
    if markdown:
        return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
                         + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                     for r in [header, *rows])


def vanilla_vs_dcgan(run_dir: str | os.PathLike[str], n: int = 10_000, samples_png: str | os.PathLike[str] | None = None,
                     seed: int = 0, time_alone: bool = False) -> dict[str, Any]:
    """A vanilla run's latest generator beside the kit's pretrained DCGAN: table entries, Fréchet distance per epoch and, optionally, a figure of samples and both steps timed here (02_vanilla_gan)."""
    run_dir = Path(run_dir)
    config_path = run_dir / "config.json"
    config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    if config.get("architecture") != "vanilla":
        raise ValueError(f"run_dir: {run_dir} holds no vanilla run (config.json architecture: "
                         f"{config.get('architecture')!r}); train one with gh.train(..., architecture='vanilla')")
    _check_int("n", n, minimum=4)
    vanilla = load_generator_from_checkpoint(run_dir)
    dcgan = load_pretrained_generator()
    record = json.loads(PRETRAINED_GENERATOR_PATH.with_suffix(".json").read_text())
    history = load_history(run_dir)
    dcgan_evaluation = record["evaluation"] if n == record["evaluation"]["generator"]["n"] and seed == 0 \
        else evaluate_generator(dcgan, n, seed)
    entries = {f"vanilla ({len(history['epoch'])} epochs)": architecture_entry(evaluate_generator(vanilla, n, seed),
                                                                               history, config),
               f"DCGAN ({record['epochs']} epochs)": architecture_entry(dcgan_evaluation, record["history"],
                                                                       record["settings"])}
    if _check_bool("time_alone", time_alone):  # recorded seconds depend on what else ran; this times both now
        for entry, architecture in zip(entries.values(), ("vanilla", "dcgan")):
            entry["seconds_timed_alone"] = estimate_epoch_seconds(config.get("batch_size", BATCH_SIZE), steps=30,
                                                                  architecture=architecture)
    result = {"entries": entries, "machine": device_report(),
              "frechet_by_epoch": {"vanilla": dict(zip(history["epoch"], history["frechet"])),
                                   "dcgan": {int(e): f for e, f in record["frechet_by_epoch"].items()}}}
    if samples_png is not None:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(9, 4.8))
        for ax, (name, generator) in zip(axes, zip(entries, (vanilla, dcgan))):
            ax.imshow(image_grid(sample_digits(generator, 64, seed), 8, 8), cmap="gray")
            ax.set(title=f"{name}: 64 samples", xticks=[], yticks=[])
        fig.tight_layout()
        Path(samples_png).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(samples_png, dpi=80)
        plt.close(fig)
    return result


def plot_digit_shares(shares: dict[str, np.ndarray]):
    """Grouped bars: share of each predicted digit for several image sets (06_evaluate)."""
    import matplotlib.pyplot as plt

    if not isinstance(shares, dict) or not shares or any(np.shape(v) != (10,) for v in shares.values()):
        raise ValueError("shares must be a non-empty dict of name -> 10 digit shares "
                         "(gh.digit_histogram(images)['shares'])")

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

    real, fake = to_uint8(_at_least("real", real, 1)), to_uint8(_at_least("fake", fake, 1))
    stats = [image_statistics(real), image_statistics(fake)]
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


# ---------------------------------------------------------------------------
# 7. Latent space: directions, interpolation, the explorer
# ---------------------------------------------------------------------------

def _latent_vector(name: str, z: Any, latent_dim: int | None = None) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 1 or (latent_dim is not None and z.shape[0] != latent_dim):
        expected = f"({latent_dim},)" if latent_dim is not None else "(latent_dim,)"
        raise ValueError(f"{name} must be one latent vector of shape {expected}, got shape {z.shape}")
    if not np.isfinite(z).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return z


def interpolate(z0: Any, z1: Any, steps: int | Sequence[float] = 8, method: str = "slerp") -> np.ndarray:
    """Points from z0 to z1 on the straight line ('linear') or the great circle ('slerp'); steps is a count or a list of t in [0, 1] (07_latent_explorer).

    Spherical interpolation keeps |z| near the ≈ √latent_dim shell where a
    Gaussian z almost always lies; the straight line cuts through the less
    likely inside (|z| dips by √2 half-way between two independent z).
    """
    z0 = _latent_vector("z0", z0)
    z1 = _latent_vector("z1", z1, z0.shape[0])
    if isinstance(steps, (int, np.integer)) and not isinstance(steps, bool):
        t = np.linspace(0.0, 1.0, _check_int("steps", steps, minimum=2))
    else:
        t = np.asarray(steps, dtype=np.float64)
        if t.ndim != 1 or not len(t) or not ((t >= 0) & (t <= 1)).all():
            raise ValueError(f"steps must be a count >= 2 or a list of t values in [0, 1], got {steps!r}")
    if method not in ("linear", "slerp"):
        raise ValueError(f"method must be 'linear' or 'slerp', got {method!r}")
    t = t[:, None]
    cos = np.dot(z0, z1) / max(np.linalg.norm(z0) * np.linalg.norm(z1), 1e-12)
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if method == "linear" or np.sin(omega) < 1e-6:  # (anti)parallel: the circle is not defined
        return ((1 - t) * z0 + t * z1).astype(np.float32)
    return ((np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)).astype(np.float32)


def _unit(name: str, v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v)
    if not np.isfinite(norm) or norm < 1e-12:
        raise ValueError(f"{name} is zero (or not finite) and has no direction")
    return (v / norm).astype(np.float32)


ATTRIBUTES = ("thickness", "slant", "width")


def attribute_directions(generator: keras.Model, n: int = 4_096, seed: int = 0,
                         attributes: Sequence[str] = ATTRIBUTES) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Unit z directions along which measured attributes grow, by least squares on n samples, and each fit's R² (07_latent_explorer).

    Label n generated digits with a measurement (``image_statistics``), fit
    attribute ≈ w·z + b, and take w/|w| (the idea of InterFaceGAN, Shen et al. 2020).
    """
    latent_dim = latent_dim_of(generator)
    _check_int("n", n, minimum=latent_dim + 2)
    z, images = _direction_samples(generator, n, seed)
    return _fit_attribute_directions(z, images, attributes)


def _direction_samples(generator: keras.Model, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n latent vectors and their images (every digit equally often for a conditional generator)."""
    z = latent_vectors(n, latent_dim_of(generator), seed)
    return z, generate(generator, z, balanced_labels(generator, n))


def _fit_attribute_directions(z: np.ndarray, images: np.ndarray,
                              attributes: Sequence[str]) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    n = len(z)
    stats = image_statistics(to_uint8(images))
    unknown = [a for a in attributes if a not in stats]
    if unknown or not attributes:
        raise ValueError(f"attributes must name some of {sorted(stats)}, got {list(attributes)}")
    design = np.hstack([z, np.ones((n, 1), np.float32)]).astype(np.float64)
    directions, r2 = {}, {}
    for name in attributes:
        a = stats[name].astype(np.float64)
        coef, *_ = np.linalg.lstsq(design, a, rcond=None)
        residual = a - design @ coef
        r2[name] = float(1 - residual.var() / max(a.var(), 1e-12))
        directions[name] = _unit(f"the fitted {name} direction", coef[:-1])
    return directions, r2


def principal_directions(generator: keras.Model, k: int = 2, n: int = 4_096,
                         seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """k unit z directions that move the images along their top principal components, and each PC's share of variance (07_latent_explorer).

    PCA of n generated images, then a least-squares map from PC coordinates back
    to z (the idea of GANSpace, Härkönen et al. 2020, applied to the output).
    """
    latent_dim = latent_dim_of(generator)
    _check_int("k", k)
    _check_int("n", n, minimum=max(latent_dim, k) + 2)
    return _fit_principal_directions(*_direction_samples(generator, n, seed), k)


def _fit_principal_directions(z: np.ndarray, images: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    z = z.astype(np.float64)
    x = images.reshape(len(z), -1).astype(np.float64)
    x -= x.mean(0)
    _, singular, vt = np.linalg.svd(x, full_matrices=False)
    coords = x @ vt[:k].T                                   # (n, k) PC coordinates
    basis, *_ = np.linalg.lstsq(coords, z, rcond=None)      # z ≈ coords @ basis
    share = singular[:k] ** 2 / (singular ** 2).sum()
    return np.stack([_unit(f"principal direction {i + 1}", b) for i, b in enumerate(basis)]), share


def explorer_directions(generator: keras.Model, n: int = 4_096, seed: int = 0) -> dict[str, np.ndarray]:
    """The explorer's sliders: thickness, slant, width and the top two principal directions (07_latent_explorer)."""
    _check_int("n", n, minimum=latent_dim_of(generator) + 2)
    z, images = _direction_samples(generator, n, seed)  # one set of samples for both fits
    named, _ = _fit_attribute_directions(z, images, ATTRIBUTES)
    principal, _ = _fit_principal_directions(z, images, 2)
    return {**named, "PC 1": principal[0], "PC 2": principal[1]}


def neighbourhood(z: Any, d1: Any, d2: Any, steps: int = 5, span: float = 2.0) -> np.ndarray:
    """A steps×steps grid of z's around z: rows move along d1, columns along d2, ±span (07_latent_explorer)."""
    z = _latent_vector("z", z)
    d1, d2 = (_unit(name, _latent_vector(name, d, z.shape[0])) for name, d in (("d1", d1), ("d2", d2)))
    _check_int("steps", steps, minimum=2)
    if not span > 0:
        raise ValueError(f"span must be > 0, got {span}")
    a = np.linspace(-span, span, steps)
    return np.stack([z + r * d1 + c * d2 for r in a for c in a]).astype(np.float32)


def png_bytes(image: Any, scale: int = 8) -> bytes:
    """One 28×28 digit as PNG bytes, enlarged scale× with crisp pixels, for ipywidgets.Image (07_latent_explorer)."""
    shape = np.shape(image)
    if shape not in ((28, 28), (28, 28, 1), (1, 28, 28), (1, 28, 28, 1)):
        raise ValueError(f"image must be one 28×28 image, got shape {shape}")
    picture = to_uint8(np.reshape(image, (1, 28, 28)))[0]
    _check_int("scale", scale)
    return iio.imwrite("<bytes>", picture.repeat(scale, 0).repeat(scale, 1), extension=".png")


class _DigitDrawer:
    """Draws one z (and digit, for a conditional generator) fast: the generator (and optionally the classifier) under one tf.function."""

    def __init__(self, generator: keras.Model, classify: bool) -> None:
        self.latent_dim = latent_dim_of(generator)
        conditional = is_conditional(generator)
        classifier = load_classifier()[0] if classify else None

        @tf.function(input_signature=[tf.TensorSpec([1, self.latent_dim], tf.float32),
                                      tf.TensorSpec([1], tf.int32)])
        def draw(z: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            image = generator([z, label] if conditional else z, training=False)
            probs = (tf.nn.softmax(classifier(image, training=False)) if classifier is not None
                     else tf.zeros([1, 10]))
            return image, probs

        self._draw = draw

    def __call__(self, z: np.ndarray, digit: int = 0) -> tuple[np.ndarray, np.ndarray]:
        image, probs = self._draw(tf.constant(z[None], tf.float32), tf.constant([digit], tf.int32))
        return image.numpy()[0, :, :, 0], probs.numpy()[0]


class _Displayed:
    """Shows ``self.widget`` when the object is a cell's last expression (ipywidgets 7 and 8)."""

    widget: Any

    def _ipython_display_(self) -> None:
        from IPython.display import display
        display(self.widget)


class LatentExplorer(_Displayed):
    """Sliders along named z directions, a seed box, 'new random z', a neighbourhood grid and, for a conditional generator, a digit picker; drawn as PNG in ipywidgets.Image (07_latent_explorer).

    Uses only widgets that exist in ipywidgets 7.7 (Colab) and 8 (JupyterLab 4).
    Display it by leaving it as a cell's last expression, or ``display(explorer)``.
    """

    def __init__(self, generator: keras.Model, directions: dict[str, Any] | None = None, *,
                 seed: int = 0, span: float = 3.0, scale: int = 8, classify: bool = True,
                 digit: int = 0) -> None:
        import ipywidgets as widgets

        self.latent_dim = latent_dim_of(generator)
        self.generator = generator
        directions = explorer_directions(generator) if directions is None else directions
        if not isinstance(directions, dict) or not directions:
            raise ValueError("directions must be a non-empty dict of name -> latent vector")
        self.directions = {str(name): _unit(f"directions[{name!r}]",
                                            _latent_vector(f"directions[{name!r}]", d, self.latent_dim))
                           for name, d in directions.items()}
        _check_int("seed", seed, minimum=0)
        if not span > 0:
            raise ValueError(f"span must be > 0, got {span}")
        self.scale = _check_int("scale", scale)
        self._drawer = _DigitDrawer(generator, classify)
        self._rng = np.random.default_rng(seed)
        self.updates = 0

        self.sliders = {name: widgets.FloatSlider(value=0.0, min=-span, max=span, step=0.1, description=name,
                                                  continuous_update=True, readout_format="+.1f")
                        for name in self.directions}
        self.seed_box = widgets.BoundedIntText(value=seed, min=0, max=2**31 - 1, description="seed")
        self.random_button = widgets.Button(description="new random z")
        self.reset_button = widgets.Button(description="reset sliders")
        self.grid_button = widgets.Button(description="neighbourhood grid")
        self.image = widgets.Image(format="png")
        self.grid_image = widgets.Image(format="png", layout=widgets.Layout(display="none"))  # until asked for
        self.readout = widgets.HTML()
        # The digit picker exists only for a conditional generator: z is then the style, the label the class.
        self.digit_picker = (widgets.ToggleButtons(options=list(range(N_CLASSES)),
                                                   value=int(check_labels(digit, 1, "digit")[0]),
                                                   description="digit", style={"button_width": "2.6em"})
                             if is_conditional(generator) else None)
        for slider in self.sliders.values():
            slider.observe(self.update, names="value")
        self.seed_box.observe(self._new_seed, names="value")
        if self.digit_picker is not None:
            self.digit_picker.observe(self.update, names="value")
            self.digit_picker.add_class("gan-digit-picker")
        self.random_button.on_click(lambda _: self.new_random_z())
        self.reset_button.on_click(lambda _: self.reset())
        self.grid_button.on_click(lambda _: self.show_neighbourhood())
        self.widget = widgets.VBox([
            *([self.digit_picker] if self.digit_picker is not None else []),
            widgets.HBox([self.image, widgets.VBox([self.readout, *self.sliders.values()])]),
            widgets.HBox([self.seed_box, self.random_button, self.reset_button, self.grid_button]),
            self.grid_image])
        self.widget.add_class("gan-explorer")
        self._base = latent_vectors(1, self.latent_dim, seed)[0]
        self.update()

    @property
    def z(self) -> np.ndarray:
        """The current latent vector: the seed's z plus each slider's value times its direction."""
        z = self._base.astype(np.float64).copy()
        for name, slider in self.sliders.items():
            z += slider.value * self.directions[name]
        return z.astype(np.float32)

    @property
    def digit(self) -> int | None:
        """The digit asked of a conditional generator (None for a plain one)."""
        return int(self.digit_picker.value) if self.digit_picker is not None else None

    def update(self, change: Any = None) -> None:
        """Redraw the digit for the current z (called by every slider and the digit picker)."""
        z = self.z
        image, probs = self._drawer(z, self.digit or 0)
        self.image.value = png_bytes(image, self.scale)
        asked = f"asked for {self.digit}, " if self.digit is not None else ""
        read = (f"{asked}classifier reads <b>{probs.argmax()}</b> ({probs.max():.0%})<br>" if probs.any() else "")
        self.readout.value = f"{read}seed {self.seed_box.value} · |z| = {np.linalg.norm(z):.1f}"
        self.updates += 1

    def _new_seed(self, change: Any) -> None:
        self._base = latent_vectors(1, self.latent_dim, int(change["new"]))[0]
        self.update()

    def new_random_z(self) -> None:
        """Pick a new seed (the "new random z" button); the seed box shows it, so it can be typed back."""
        self.seed_box.value = int(self._rng.integers(2**31 - 1))

    def reset(self) -> None:
        """Put every slider back to 0, redrawing once."""
        for slider in self.sliders.values():
            slider.unobserve(self.update, names="value")
            slider.value = 0.0
            slider.observe(self.update, names="value")
        self.update()

    def show_neighbourhood(self, steps: int = 5, span: float = 2.0) -> np.ndarray:
        """Draw the grid around the current z along the first two directions; returns the images."""
        d1, *others = self.directions.values()
        # With a single slider, the columns move along a fixed random direction instead.
        d2 = others[0] if others else _unit("d2", np.random.default_rng(0).standard_normal(self.latent_dim))
        grid = neighbourhood(self.z, d1, d2, steps, span)
        images = generate(self.generator, grid, None if self.digit is None else np.full(len(grid), self.digit))
        self.grid_image.value = iio.imwrite("<bytes>", image_grid(images, steps, steps, scale=3), extension=".png")
        self.grid_image.layout.display = ""
        return images



class InterpolationExplorer(_Displayed):
    """A slider t from 0 to 1 between two seeds' z, drawing the linear and the spherical path side by side (07_latent_explorer)."""

    def __init__(self, generator: keras.Model, seed_a: int = 0, seed_b: int = 1, *, scale: int = 6,
                 digit: int = 0) -> None:
        import ipywidgets as widgets

        self.latent_dim = latent_dim_of(generator)
        self.scale = _check_int("scale", scale)
        self.digit = int(check_labels(digit, 1, "digit")[0])  # used by a conditional generator only
        self._drawer = _DigitDrawer(generator, classify=False)
        self.seed_a = widgets.BoundedIntText(value=_check_int("seed_a", seed_a, minimum=0), min=0,
                                             max=2**31 - 1, description="seed A")
        self.seed_b = widgets.BoundedIntText(value=_check_int("seed_b", seed_b, minimum=0), min=0,
                                             max=2**31 - 1, description="seed B")
        self.t = widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.02, description="t",
                                     continuous_update=True, readout_format=".2f")
        self.images = {m: widgets.Image(format="png") for m in ("linear", "slerp")}
        self.readout = widgets.HTML()
        for w in (self.t, self.seed_a, self.seed_b):
            w.observe(self.update, names="value")
        self.widget = widgets.VBox([
            widgets.HBox([widgets.VBox([widgets.HTML(f"<b>{m}</b>"), img]) for m, img in self.images.items()]),
            self.readout, self.t, widgets.HBox([self.seed_a, self.seed_b])])
        self.widget.add_class("gan-interpolation")
        self.updates = 0
        self.update()

    def update(self, change: Any = None) -> None:
        """Redraw both paths' digits at the slider's t."""
        za, zb = (latent_vectors(1, self.latent_dim, s.value)[0] for s in (self.seed_a, self.seed_b))
        norms = []
        for method, widget in self.images.items():
            z = interpolate(za, zb, [self.t.value], method)[0]
            widget.value = png_bytes(self._drawer(z, self.digit)[0], self.scale)
            norms.append(f"{method}: |z| = {np.linalg.norm(z):.1f}")
        self.readout.value = " · ".join(norms)
        self.updates += 1



# ---------------------------------------------------------------------------
# 8. Conditional GAN and synthetic data (08_conditional_gan, 09_augmentation)
# ---------------------------------------------------------------------------

CONDITIONAL_GENERATOR_PATH = PROJECT_ROOT / "data" / "pretrained" / "conditional_generator.keras"


def load_pretrained_conditional_generator(path: str | os.PathLike[str] | None = None) -> keras.Model:
    """The conditional generator the kit ships (``train(architecture="conditional")`` on all 60k digits); its record is the .json beside it (08_conditional_gan)."""
    return _load_generator_file(path if path is not None else CONDITIONAL_GENERATOR_PATH, conditional=True)


def _conditional(generator: Any) -> keras.Model:
    if not is_conditional(generator):
        raise ValueError("generator must be conditional (take a digit label as well as z), e.g. "
                         "gh.trained_generator(conditional=True)[0]; this one takes z alone")
    return generator


def generate_digits(generator: keras.Model, labels: Any, seed: int = 0) -> np.ndarray:
    """uint8 images (n, 28, 28) of the digits asked for, one per label, from a conditional generator; deterministic for a seed (08_conditional_gan)."""
    labels = check_labels(labels)
    z = latent_vectors(max(len(labels), 1), latent_dim_of(_conditional(generator)), seed)[:len(labels)]
    return to_uint8(generate(generator, z, labels))


def make_synthetic_dataset(generator: keras.Model, n_per_class: int, path: str | os.PathLike[str], *,
                           n_test_per_class: int = 0, seed: int = 0,
                           png_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Write labelled synthetic digits as an .npz in the Keras MNIST layout (``gh.load_mnist(path)`` reads it), a JSON record beside it and, on request, PNGs per digit (08_conditional_gan).

    ``x_train``/``y_train`` hold ``n_per_class`` images of every digit,
    shuffled; ``x_test``/``y_test`` hold ``n_test_per_class`` more, drawn from
    other z's (empty by default). Images and labels are uint8. Written
    atomically: an interrupted call leaves no half file and keeps an older one.
    """
    _conditional(generator)
    _check_int("n_per_class", n_per_class)
    _check_int("n_test_per_class", n_test_per_class, minimum=0)
    _check_int("seed", seed, minimum=0)
    if not isinstance(path, (str, os.PathLike)) or Path(path).suffix != ".npz":
        raise ValueError(f"path must be a file name ending in .npz, got {path!r}")
    path = Path(path)
    rng = np.random.default_rng(seed)
    splits = {}
    for split, count, z_seed in (("train", n_per_class, seed), ("test", n_test_per_class, seed + 1)):
        labels = rng.permutation(np.repeat(np.arange(N_CLASSES), count)).astype(np.uint8)
        images = generate_digits(generator, labels, z_seed) if len(labels) else np.zeros((0, 28, 28), np.uint8)
        splits[f"x_{split}"], splits[f"y_{split}"] = images, labels
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **splits)
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write_bytes(path, buffer.getvalue())
    pngs = 0
    if png_dir is not None:
        for split in ("train", "test"):
            for i, (image, label) in enumerate(zip(splits[f"x_{split}"], splits[f"y_{split}"])):
                folder = Path(png_dir) / split / str(label)
                folder.mkdir(parents=True, exist_ok=True)
                _atomic_write_bytes(folder / f"{i:06d}.png", iio.imwrite("<bytes>", image, extension=".png"))
                pngs += 1
    record = {"path": str(path), "n_per_class": n_per_class, "n_test_per_class": n_test_per_class,
              "seed": seed, "generator": generator.name, "generator_parameters": generator.count_params(),
              "train_counts": np.bincount(splits["y_train"], minlength=N_CLASSES).tolist(),
              "test_counts": np.bincount(splits["y_test"], minlength=N_CLASSES).tolist(),
              "png_dir": str(png_dir) if png_dir is not None else None, "pngs": pngs,
              "created": time.strftime("%Y-%m-%d %H:%M:%S"),
              "read_with": f"gh.load_mnist({str(path)!r})"}
    _atomic_write_json(path.with_suffix(".json"), record)
    return record


def evaluate_conditional(generator: keras.Model, n_per_class: int = 1_000, seed: int = 0,
                         mnist: MnistSplits | None = None) -> dict[str, Any]:
    """Per digit k: how often the classifier reads k when k is asked for, and the Fréchet distance to the real test k's, beside the real-vs-real floor (08_conditional_gan)."""
    _conditional(generator)
    _check_int("n_per_class", n_per_class, minimum=2)
    (x_train, y_train), (x_test, y_test) = mnist if mnist is not None else load_mnist()
    rng = np.random.default_rng(seed)
    accuracy, confusion, frechet, floor = [], np.zeros((N_CLASSES, N_CLASSES), np.int64), [], []
    for digit in range(N_CLASSES):
        fake = generate_digits(generator, np.full(n_per_class, digit), seed + digit)
        read = classifier_probabilities(fake).argmax(1)
        confusion[digit] = np.bincount(read, minlength=N_CLASSES)
        accuracy.append(float((read == digit).mean()))
        real = x_test[y_test == digit]
        frechet.append(frechet_distance(fake, real))
        same = x_train[y_train == digit]
        floor.append(frechet_distance(same[rng.permutation(len(same))[:n_per_class]], real))
    return {"n_per_class": n_per_class, "accuracy": accuracy, "frechet": frechet, "real_vs_real_frechet": floor,
            "min_accuracy": min(accuracy), "mean_accuracy": float(np.mean(accuracy)),
            "confusion": confusion.tolist()}


def format_conditional_evaluation(result: dict[str, Any]) -> str:
    """``evaluate_conditional``'s result as a per-digit text table (08_conditional_gan)."""
    needed = ("accuracy", "frechet", "real_vs_real_frechet", "n_per_class")
    if not isinstance(result, dict) or any(k not in result for k in needed):
        raise ValueError(f"result must be gh.evaluate_conditional's dict with keys {needed}")
    lines = [f"asked for   classifier agrees   Fréchet distance   real-vs-real floor   (n = {result['n_per_class']:,} per digit)"]
    for digit, (acc, fd, fl) in enumerate(zip(result["accuracy"], result["frechet"], result["real_vs_real_frechet"])):
        lines.append(f"{digit:>9}   {acc:>17.1%}   {fd:>16.2f}   {fl:>18.2f}")
    lines.append(f"{'all':>9}   {np.mean(result['accuracy']):>17.1%}   {np.mean(result['frechet']):>16.2f}   "
                 f"{np.mean(result['real_vs_real_frechet']):>18.2f}")
    return "\n".join(lines)


def build_small_classifier() -> keras.Model:
    """The augmentation experiment's student: two conv + pool blocks, dropout, softmax logits; 34,826 parameters (09_augmentation)."""
    layers = keras.layers
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1), name="image"),
        layers.Conv2D(32, 3, activation="relu", name="conv1"), layers.MaxPooling2D(name="pool1"),
        layers.Conv2D(64, 3, activation="relu", name="conv2"), layers.MaxPooling2D(name="pool2"),
        layers.Flatten(name="flatten"), layers.Dropout(0.5, name="dropout"),
        layers.Dense(N_CLASSES, name="logits"),
    ], name="small_classifier")


def train_small_classifier(x: Any, y: Any, *, steps: int = 1_000, batch_size: int = 64, seed: int = 0,
                           shift_augment: bool = False) -> keras.Model:
    """Train ``build_small_classifier`` for a fixed number of steps (the same budget whatever the data size), optionally with random shifts and rotations (09_augmentation)."""
    x = _check_images("x", x)
    y = check_labels(y, len(x), "y")
    _check_int("steps", steps)
    _check_int("batch_size", batch_size)
    _check_int("seed", seed, minimum=0)
    keras.utils.set_random_seed(seed)
    model = build_small_classifier()
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ds = (tf.data.Dataset.from_tensor_slices((to_float(to_uint8(x)), y)).cache()
          .shuffle(len(x), seed=seed, reshuffle_each_iteration=True).repeat().batch(batch_size))
    if shift_augment:  # the classical augmentation, as a baseline for synthetic digits
        augment = keras.Sequential([keras.layers.RandomTranslation(0.1, 0.1, seed=seed),
                                    keras.layers.RandomRotation(0.04, seed=seed)])
        ds = ds.map(lambda a, b: (augment(a, training=True), b), num_parallel_calls=tf.data.AUTOTUNE)
    model.fit(ds.prefetch(tf.data.AUTOTUNE), steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
    return model


def real_test_accuracy(model: keras.Model, x_test: Any, y_test: Any) -> float:
    """Share of real test digits a classifier gets right (09_augmentation)."""
    x_test = to_float(to_uint8(_check_images("x_test", x_test)))
    y_test = check_labels(y_test, len(x_test), "y_test")
    return float((_batched_predict(model, x_test, "x_test").argmax(1) == y_test).mean())


def real_subset(x: Any, y: Any, n_per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n_per_class real images of every digit, drawn at random for a seed (09_augmentation)."""
    x = _check_images("x", x)
    y = check_labels(y, len(x), "y")
    _check_int("n_per_class", n_per_class)
    rng = np.random.default_rng(seed)
    picked = []
    for digit in range(N_CLASSES):
        pool = np.flatnonzero(y == digit)
        if len(pool) < n_per_class:
            raise ValueError(f"n_per_class: digit {digit} has only {len(pool)} images, {n_per_class} asked for")
        picked.append(rng.choice(pool, n_per_class, replace=False))
    index = rng.permutation(np.concatenate(picked))
    return x[index], y[index]


AUGMENTATION_FIELDS = ("n_per_class", "condition", "synthetic_ratio", "seed", "n_real", "n_synthetic",
                       "steps", "test_accuracy", "seconds")


def _condition_name(ratio: float | None, shifts: bool = False) -> str:
    if shifts:
        return "real + shifts/rotations"
    if ratio is None:
        return "real only"
    return "synthetic only" if ratio == float("inf") else f"real + {ratio:g}× synthetic"


def augmentation_experiment(generator: keras.Model, csv_path: str | os.PathLike[str], *,
                            n_values: Sequence[int] = (10, 50, 100, 500), ratios: Sequence[float] = (1, 4, 10),
                            seeds: Sequence[int] = (0, 1, 2), steps: int = 1_000, synthetic_only: bool = True,
                            shifts: bool = True, mnist: MnistSplits | None = None,
                            verbose: bool = True) -> list[dict[str, Any]]:
    """Train the small classifier on n real digits per class, alone, with synthetic digits at each ratio, with classical shifts, and on synthetic digits alone; test each on all 10,000 real test digits (09_augmentation).

    Every row is appended to ``csv_path`` as soon as it is measured, and rows
    already there are skipped: an interrupted experiment resumes where it stopped.
    "synthetic only" uses n synthetic digits per class (the Classification
    Accuracy Score of Ravuri & Vinyals 2019, at the same size as the real set).
    """
    import csv

    _conditional(generator)
    n_values = [_check_int("n_values", n) for n in n_values]
    seeds = [_check_int("seeds", s, minimum=0) for s in seeds]
    if any(not r > 0 for r in ratios):
        raise ValueError(f"ratios must be positive numbers of synthetic images per real one, got {list(ratios)}")
    _check_int("steps", steps)
    (x_train, y_train), (x_test, y_test) = mnist if mnist is not None else load_mnist()
    csv_path = Path(csv_path)
    rows = []
    if csv_path.is_file():
        with csv_path.open(newline="") as f:
            rows = [r for r in csv.DictReader(f) if r.get("test_accuracy")]
    done = {(int(r["n_per_class"]), r["condition"], int(r["seed"]), int(r["steps"])) for r in rows}
    plan = [(n, _condition_name(None), None, False) for n in n_values]
    plan += [(n, _condition_name(None, True), None, True) for n in n_values] if shifts else []
    plan += [(n, _condition_name(r), float(r), False) for n in n_values for r in ratios]
    plan += [(n, _condition_name(float("inf")), float("inf"), False) for n in n_values] if synthetic_only else []
    for seed in seeds:
        for n, condition, ratio, shift in plan:
            if (n, condition, seed, steps) in done:
                continue
            start = time.perf_counter()
            x_real, y_real = real_subset(x_train, y_train, n, seed)
            n_synth = 0 if ratio is None else (n if ratio == float("inf") else int(round(n * ratio)))
            if n_synth:
                y_synth = np.repeat(np.arange(N_CLASSES), n_synth)
                x_synth = generate_digits(generator, y_synth, seed=10_000 + seed)
                if ratio == float("inf"):
                    x_real, y_real = x_synth, y_synth
                else:
                    x_real, y_real = np.concatenate([x_real, x_synth]), np.concatenate([y_real, y_synth])
            model = train_small_classifier(x_real, y_real, steps=steps, seed=seed, shift_augment=shift)
            row = {"n_per_class": n, "condition": condition, "synthetic_ratio": "" if ratio is None else ratio,
                   "seed": seed, "n_real": 0 if ratio == float("inf") else n * N_CLASSES,
                   "n_synthetic": n_synth * N_CLASSES, "steps": steps,
                   "test_accuracy": round(real_test_accuracy(model, x_test, y_test), 4),
                   "seconds": round(time.perf_counter() - start, 1)}
            rows.append(row)
            csv_path.parent.mkdir(parents=True, exist_ok=True)
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=AUGMENTATION_FIELDS)
            writer.writeheader()
            writer.writerows(rows)
            _atomic_write_bytes(csv_path, buffer.getvalue().encode())
            if verbose:
                print(f"n={n:>4}/class  {condition:<24} seed {seed}: {row['test_accuracy']:.2%}  "
                      f"({row['seconds']:.0f} s)", flush=True)
    return [{**r, "n_per_class": int(r["n_per_class"]), "seed": int(r["seed"]),
             "test_accuracy": float(r["test_accuracy"])} for r in rows]


def summarize_augmentation(rows: Sequence[dict[str, Any]]) -> dict[str, dict[int, tuple[float, float, int]]]:
    """Mean and standard deviation of test accuracy over seeds: {condition: {n: (mean, std, seeds)}} (09_augmentation)."""
    if not rows or any("condition" not in r or "test_accuracy" not in r for r in rows):
        raise ValueError("rows must be augmentation_experiment's rows (dicts with condition, n_per_class, test_accuracy)")
    groups: dict[str, dict[int, list[float]]] = {}
    for r in rows:
        groups.setdefault(r["condition"], {}).setdefault(int(r["n_per_class"]), []).append(float(r["test_accuracy"]))
    return {c: {n: (float(np.mean(a)), float(np.std(a, ddof=1)) if len(a) > 1 else 0.0, len(a))
                for n, a in sorted(by_n.items())} for c, by_n in groups.items()}


def format_augmentation(rows: Sequence[dict[str, Any]], markdown: bool = False) -> str:
    """The experiment as a table of accuracy mean ± std over seeds, conditions × n per class (09_augmentation)."""
    summary = summarize_augmentation(rows)
    ns = sorted({n for by_n in summary.values() for n in by_n})
    cell = lambda m: f"{m[0]:.1%} ± {m[1]:.1%}" if m else "—"  # noqa: E731
    head = ["condition"] + [f"n = {n}/class" for n in ns]
    body = [[c] + [cell(by_n.get(n)) for n in ns] for c, by_n in summary.items()]
    if markdown:
        return "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
                         + ["| " + " | ".join(r) + " |" for r in body])
    width = max(len(r[0]) for r in body + [head])
    return "\n".join(f"{r[0]:<{width}}  " + "  ".join(f"{v:>15}" for v in r[1:]) for r in [head] + body)


def plot_augmentation(rows: Sequence[dict[str, Any]], title: str = "Small classifier on real test digits"):
    """Test accuracy against real images per class, one line per condition, error bars = std over seeds (09_augmentation)."""
    import matplotlib.pyplot as plt

    summary = summarize_augmentation(rows)
    fig, ax = plt.subplots(figsize=(8, 4.6))
    for i, (condition, by_n) in enumerate(summary.items()):
        ns = list(by_n)
        means, stds = zip(*[(by_n[n][0] * 100, by_n[n][1] * 100) for n in ns])
        style = "--" if condition == "synthetic only" else ":" if "shifts" in condition else "-"
        ax.errorbar(ns, means, yerr=stds, fmt="o" + style, capsize=3, label=condition)
    ax.set(xscale="log", xlabel="real training images per class (n)", ylabel="test accuracy (%)", title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------
# 9. Training dynamics: controlled runs that show why GANs fail (10_training_dynamics)
# ---------------------------------------------------------------------------

#: One change each against the baseline (the kit's recipe), by name: (what it shows, ``train`` settings).
DYNAMICS_EXPERIMENTS: dict[str, tuple[str, dict[str, Any]]] = {
    "baseline": ("Adam lr 2e-4, β1 0.5, non-saturating loss (the DCGAN paper's recipe, the kit's default)", {}),
    "beta1_0.9": ("Adam's default momentum β1 = 0.9 instead of 0.5", {"beta_1": 0.9}),
    "lr_1e-4": ("half the learning rate: 1e-4 instead of 2e-4", {"learning_rate": 1e-4}),
    "tutorial": ("the TensorFlow tutorial's optimizer: lr 1e-4 and β1 0.9", {"learning_rate": 1e-4, "beta_1": 0.9}),
    "minimax": ("the original minimax generator loss log(1 − D(G(z)))", {"g_loss": "minimax"}),
    "label_smoothing": ("one-sided label smoothing: real images' target 0.9", {"label_smoothing": 0.1}),
    "lr_decay": ("learning rate lowered linearly to 0 over the run", {"lr_decay": True}),
    "d_steps_5": ("a too-strong discriminator: 5 D updates per G update", {"d_steps": 5}),
    "minibatch_std": ("a remedy for collapse: D sees the batch's spread (minibatch standard deviation)",
                      {"minibatch_std": True}),
    "wgan_gp": ("a remedy for collapse: a Wasserstein critic with gradient penalty, 5 critic steps, lr 1e-4",
                {"g_loss": "wasserstein", "d_steps": 5, "learning_rate": 1e-4}),
}


def dynamics_settings() -> dict[str, Any]:
    """Length of each controlled run: full or quick mode (10_training_dynamics)."""
    if quick_mode():
        return {"architecture": "vanilla", "epochs": 2, "n_train": 640, "batch_size": 128, "frechet_n": 256}
    return {"architecture": "vanilla", "epochs": 10, "n_train": None, "batch_size": 128, "frechet_n": 1_000}


def run_experiments(names: Sequence[str], out_root: str | os.PathLike[str], *, architecture: str = "vanilla",
                    epochs: int = 10, n_train: int | None = None, batch_size: int = BATCH_SIZE,
                    frechet_n: int = 1_000, seed: int = 0, x_train: np.ndarray | None = None,
                    verbose: int = 2) -> dict[str, dict[str, list]]:
    """Train each named ``DYNAMICS_EXPERIMENTS`` run (same seed, data and budget) in ``out_root/NAME``; finished runs are read back, interrupted ones resume (10_training_dynamics)."""
    if isinstance(names, str) or not isinstance(names, Sequence) or not names:
        raise TypeError(f"names must be a non-empty list of experiment names from {sorted(DYNAMICS_EXPERIMENTS)}, "
                        f"got {names!r}")
    unknown = [n for n in names if n not in DYNAMICS_EXPERIMENTS]
    if unknown:
        raise ValueError(f"names: unknown experiment(s) {unknown}; choose from {sorted(DYNAMICS_EXPERIMENTS)}")
    if not isinstance(out_root, (str, os.PathLike)):
        raise TypeError(f"out_root must be a folder path, got {type(out_root).__name__}")
    _check_int("epochs", epochs)
    if x_train is None:
        (x_train, _), _ = load_mnist()
    histories = {}
    for name in names:
        run_dir = Path(out_root) / name
        if verbose:
            print(f"── {name}: {DYNAMICS_EXPERIMENTS[name][0]}", flush=True)
        done = checkpoint_epochs(run_dir)
        if done and done[-1] >= epochs and (run_dir / "history.json").is_file():
            histories[name] = _history_up_to(run_dir, epochs)
            if verbose:
                print(f"   already trained ({done[-1]} epochs): read from {run_dir}", flush=True)
            continue
        run = train(run_dir, architecture=architecture, epochs=epochs, n_train=n_train, batch_size=batch_size,
                    seed=seed, x_train=x_train, frechet_every=1, frechet_n=frechet_n,
                    checkpoint_every=min(5, epochs), verbose=verbose, **DYNAMICS_EXPERIMENTS[name][1])
        histories[name] = run.history
    return histories


def gradient_probe(steps: int = 200, *, g_loss: str = "non_saturating", architecture: str = "vanilla",
                   batch_size: int = BATCH_SIZE, seed: int = 0, x_train: np.ndarray | None = None,
                   d_steps: int = 1) -> dict[str, np.ndarray]:
    """Per-step generator gradient norm, D(G(z)) and losses over the first ``steps`` updates of a fresh GAN (10_training_dynamics)."""
    _check_int("steps", steps)
    if g_loss not in G_LOSSES:
        raise ValueError(f"g_loss must be one of {sorted(G_LOSSES)}, got {g_loss!r}")
    if x_train is None:
        (x_train, _), _ = load_mnist()
    x_train = _check_images("x_train", x_train)
    state = new_gan_state(seed=seed, architecture=_check_architecture(architecture))
    if is_conditional(state.generator):
        raise ValueError("architecture: the probe takes an unconditional architecture ('vanilla' or 'dcgan')")
    step = make_train_step(state.generator, state.discriminator, state.g_optimizer, state.d_optimizer,
                           state.rng, G_LOSSES[g_loss], d_steps=d_steps,
                           gradient_penalty=GRADIENT_PENALTY if g_loss == "wasserstein" else 0.0)
    dataset = make_dataset(x_train[: steps * batch_size], batch_size, seed=seed).repeat()
    trace: dict[str, list[float]] = {k: [] for k in ("g_grad_norm", "d_fake", "d_real", "g_loss", "d_loss")}
    for batch in dataset.take(steps):
        values = step(batch)
        for key in trace:
            trace[key].append(float(values[key]))
    return {key: np.array(v) for key, v in trace.items()}


def format_experiments(histories: dict[str, dict[str, list]], markdown: bool = False) -> str:
    """A table of the controlled runs: final and best Fréchet distance, rarest digit, G's gradient, D(G(z)), seconds per epoch (10_training_dynamics)."""
    if not isinstance(histories, dict) or not histories:
        raise ValueError("histories must be a non-empty dict of name -> history (gh.run_experiments)")
    head = ["run", "final FD ↓", "best FD (epoch)", "rarest digit share", "G grad norm", "D(G(z))", "s / epoch"]
    rows = []
    for name, h in histories.items():
        fds = [(f, e) for e, f in zip(h["epoch"], h["frechet"]) if f is not None]
        shares = next((s for s in reversed(h.get("digit_shares", [])) if s is not None), None)
        rows.append([name, f"{fds[-1][0]:.1f}" if fds else "-",
                     f"{min(fds)[0]:.1f} ({min(fds)[1]})" if fds else "-",
                     f"{min(shares):.3f}" if shares else "-",
                     f"{h['g_grad_norm'][-1]:.2f}" if h.get("g_grad_norm") and h["g_grad_norm"][-1] is not None else "-",
                     f"{h['d_fake'][-1]:.2f}", f"{np.median(h['seconds']):.1f}"])
    if markdown:
        return "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
                         + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in [head, *rows])


def plot_experiments(histories: dict[str, dict[str, list]], key: str = "frechet", title: str = "",
                     log: bool | None = None, ax: Any = None):
    """One curve per run of a history key against the epoch, e.g. the Fréchet distance (10_training_dynamics)."""
    import matplotlib.pyplot as plt

    if not isinstance(histories, dict) or not histories:
        raise ValueError("histories must be a non-empty dict of name -> history (gh.run_experiments)")
    if key not in HISTORY_KEYS or key in ("epoch", "digit_shares"):
        raise ValueError(f"key must be a per-epoch number in the history, one of "
                         f"{[k for k in HISTORY_KEYS if k not in ('epoch', 'digit_shares')]}, got {key!r}")
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 3.8))
    for i, (name, h) in enumerate(histories.items()):
        points = [(e, v) for e, v in zip(h["epoch"], h.get(key, [])) if v is not None]
        if points:
            ax.plot(*zip(*points), "o-" if i < 10 else "s--", ms=3, label=name)
    log = key == "frechet" if log is None else log
    ax.set(xlabel="epoch", ylabel=key.replace("_", " ") + (" (log)" if log else ""), title=title or key,
           yscale="log" if log else "linear")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_digit_shares_over_epochs(histories: dict[str, dict[str, list]]):
    """For each run, a heat map of how often each digit is drawn, epoch by epoch: a missing digit is a dark column (10_training_dynamics)."""
    import matplotlib.pyplot as plt

    if not isinstance(histories, dict) or not histories:
        raise ValueError("histories must be a non-empty dict of name -> history (gh.run_experiments)")
    fig, axes = plt.subplots(1, len(histories), figsize=(4.2 * len(histories), 3.4), squeeze=False)
    for ax, (name, h) in zip(axes[0], histories.items()):
        rows = [(e, s) for e, s in zip(h["epoch"], h.get("digit_shares", [])) if s is not None]
        if not rows:
            raise ValueError(f"histories[{name!r}] has no digit_shares: train with frechet_every > 0")
        epochs, shares = zip(*rows)
        image = ax.imshow(np.array(shares), aspect="auto", cmap="magma", vmin=0, vmax=0.3,
                          extent=(-0.5, 9.5, epochs[-1] + 0.5, epochs[0] - 0.5))
        ax.set(xticks=range(10), xlabel="digit (as the classifier reads it)", ylabel="epoch", title=name)
    fig.colorbar(image, ax=axes[0].tolist(), label="share of samples (0.1 = fair)")
    return fig


# ---------------------------------------------------------------------------
# 10. Command line: python -m gan_helpers train --epochs N --out DIR
# ---------------------------------------------------------------------------

def estimate_epoch_seconds(batch_size: int = BATCH_SIZE, steps: int = 8,
                           n_train: int = 60_000, architecture: str = "dcgan") -> float:
    """Time a few train steps after warm-up and extrapolate to one epoch of n_train images (``make run``; 02_vanilla_gan compares architectures)."""
    _check_int("batch_size", batch_size)
    _check_int("steps", steps)
    _check_int("n_train", n_train, minimum=batch_size)
    if _check_architecture(architecture) == "conditional":
        raise ValueError("architecture: the estimate times an unconditional pair ('vanilla' or 'dcgan')")
    state = new_gan_state(architecture=architecture, precision="auto")  # as train() would
    step = make_train_step(state.generator, state.discriminator, state.g_optimizer,
                           state.d_optimizer, state.rng)
    batch = tf.random.uniform([batch_size, 28, 28, 1], -1, 1)
    step(batch)  # trace
    start = time.perf_counter()
    for _ in range(steps):
        step(batch)["g_loss"].numpy()
    return (time.perf_counter() - start) / steps * (n_train // batch_size)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m gan_helpers`` for scripts and cluster jobs."""
    parser = argparse.ArgumentParser(prog="python -m gan_helpers", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train or resume the DCGAN (or another architecture)")
    t.add_argument("--out", type=Path, default=None, help="run folder (default: outputs/ARCHITECTURE)")
    t.add_argument("--architecture", choices=sorted(ARCHITECTURES), default="dcgan")
    t.add_argument("--epochs", type=int, default=EPOCHS)
    t.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    t.add_argument("--learning-rate", type=float, default=LEARNING_RATE)
    t.add_argument("--beta-1", type=float, default=BETA_1)
    t.add_argument("--latent-dim", type=int, default=LATENT_DIM)
    t.add_argument("--checkpoint-every", type=int, default=CHECKPOINT_EVERY)
    t.add_argument("--n-train", type=int, default=None, help="use only the first N training images")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--frechet-every", type=int, default=0,
                   help="measure the Fréchet distance every N epochs (0: never)")
    t.add_argument("--frechet-n", type=int, default=1_000)
    t.add_argument("--mnist", type=Path, default=None, help="path to mnist.npz")
    t.add_argument("--gif", action="store_true", help="write progress.gif from the frames at the end")
    t.add_argument("--fall-back", action="store_true",
                   help="if the latest checkpoint is damaged, set it aside and resume from the previous one")
    t.add_argument("--g-loss", choices=sorted(G_LOSSES), default="non_saturating")
    t.add_argument("--label-smoothing", type=float, default=0.0, help="real images' target is 1 - this")
    t.add_argument("--lr-decay", action="store_true", help="lower the learning rate linearly to 0 over the epochs")
    t.add_argument("--d-steps", type=int, default=1, help="discriminator updates per generator update")
    t.add_argument("--minibatch-std", action="store_true", help="give D the batch's spread as a feature")
    t.add_argument("--kernel-size", type=int, default=KERNEL_SIZE,
                   help="convolution kernel of the DCGAN pairs (5: the TensorFlow tutorial's)")
    t.add_argument("--projection-channels", type=int, default=PROJECTION_CHANNELS,
                   help="channels of G's 7x7 projection (256: the TensorFlow tutorial's)")
    t.add_argument("--precision", choices=["auto", *PRECISIONS], default="auto",
                   help="auto: mixed_float16 on a GPU, float32 on a CPU")
    t.add_argument("--jit-compile", action="store_true", help="compile the train step with XLA")
    e = sub.add_parser("estimate", help="time a few steps and predict how long `make run` takes")
    e.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    v = sub.add_parser("evaluate", help="evaluate a run's latest generator; writes evaluation.json there")
    v.add_argument("--out", type=Path, required=True, help="run folder with checkpoints/")
    v.add_argument("--n", type=int, default=10_000)
    m = sub.add_parser("compare", help="tabulate evaluated runs side by side (06_evaluate's table)")
    m.add_argument("runs", nargs="+", help="NAME=RUN_DIR, each evaluated with `evaluate` first")
    m.add_argument("--save", type=Path, default=None, help="also write the comparison as JSON here")
    m.add_argument("--description", default="")
    m.add_argument("--time-alone", action="store_true", help="also time each run's step alone here")
    x = sub.add_parser("export", help="save a run's generator as .keras with a record (default: the kit's pretrained file)")
    x.add_argument("--run", type=Path, required=True, help="run folder with checkpoints/")
    x.add_argument("--to", type=Path, default=None,
                   help="default: data/pretrained/dcgan_generator.keras or conditional_generator.keras")
    x.add_argument("--epoch", type=int, default=None, help="checkpointed epoch (default: the latest)")
    x.add_argument("--n", type=int, default=10_000, help="samples for the recorded evaluation")
    x.add_argument("--average", type=int, default=1,
                   help="export the mean of the generator's weights over the last N checkpoints")
    y = sub.add_parser("synthesize", help="write labelled synthetic digits as an .npz in the MNIST layout")
    y.add_argument("--to", type=Path, required=True, help="output .npz (a .json record is written beside it)")
    y.add_argument("--n-per-class", type=int, default=1_000)
    y.add_argument("--n-test-per-class", type=int, default=0)
    y.add_argument("--seed", type=int, default=0)
    y.add_argument("--png-dir", type=Path, default=None, help="also write one PNG per image, a folder per digit")
    y.add_argument("--generator", type=Path, default=None,
                   help="a conditional generator .keras (default: the kit's pretrained one)")
    a = sub.add_parser("augment", help="the augmentation experiment of 09_augmentation; resumes from its CSV")
    a.add_argument("--csv", type=Path, required=True)
    a.add_argument("--n", type=int, nargs="+", default=[10, 50, 100, 500], help="real images per class")
    a.add_argument("--ratios", type=float, nargs="+", default=[1, 4, 10])
    a.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    a.add_argument("--steps", type=int, default=1_000)
    a.add_argument("--generator", type=Path, default=None,
                   help="a conditional generator .keras (default: the kit's pretrained one)")
    w = sub.add_parser("vanilla-vs-dcgan", help="02's side-by-side table: a vanilla run against the pretrained DCGAN")
    w.add_argument("--run", type=Path, required=True, help="a vanilla run folder")
    w.add_argument("--n", type=int, default=10_000)
    w.add_argument("--save", type=Path, default=None, help="write the comparison as JSON here")
    w.add_argument("--samples", type=Path, default=None, help="write a PNG of both generators' samples here")
    w.add_argument("--time-alone", action="store_true", help="also time one epoch of each architecture here")
    d = sub.add_parser("dynamics", help="the controlled runs of 10_training_dynamics; finished runs are kept, interrupted ones resume")
    d.add_argument("--out", type=Path, default=None, help="default: outputs/dynamics")
    d.add_argument("--only", nargs="+", default=list(DYNAMICS_EXPERIMENTS), choices=list(DYNAMICS_EXPERIMENTS),
                   metavar="NAME", help=f"experiments to run (default: all of {', '.join(DYNAMICS_EXPERIMENTS)})")
    d.add_argument("--architecture", choices=["vanilla", "dcgan"], default="vanilla")
    d.add_argument("--epochs", type=int, default=None, help="default: 10 (2 in quick mode)")
    d.add_argument("--n-train", type=int, default=None)
    d.add_argument("--mnist", type=Path, default=None, help="path to mnist.npz")
    d.add_argument("--save", type=Path, default=None,
                   help="also write every run's settings and history as one JSON (like data/results/dynamics_full.json)")
    c = sub.add_parser("train-classifier", help="retrain the evaluation classifier (data/pretrained/)")
    c.add_argument("--out", type=Path, default=CLASSIFIER_PATH)
    c.add_argument("--epochs", type=int, default=6)
    c.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    if args.command == "evaluate":
        generator = load_generator_from_checkpoint(args.out)
        result = evaluate_generator(generator, args.n)
        result["epoch"] = checkpoint_epochs(args.out)[-1]
        print(format_evaluation(result))
        _atomic_write_json(args.out / "evaluation.json", result)
        return 0
    if args.command == "compare":
        pairs = dict(item.split("=", 1) for item in args.runs)
        comparison = {"description": args.description, "machine": device_report(),
                      **compare_runs(pairs, args.time_alone)}
        print(format_comparison(comparison) + "\n\n" + format_comparison(comparison, markdown=True))
        if args.save:
            _atomic_write_json(args.save, comparison)
        return 0
    if args.command == "export":
        record = export_generator(args.run, args.to, epoch=args.epoch, n_eval=args.n, average=args.average)
        print(format_evaluation(record["evaluation"]))
        if "conditional_evaluation" in record:
            print(format_conditional_evaluation(record["conditional_evaluation"]))
        print(f"wrote {record['path']} and its .json record (epoch {record['epochs']})")
        return 0
    if args.command in ("synthesize", "augment"):
        generator = load_pretrained_conditional_generator(args.generator)
        if args.command == "synthesize":
            record = make_synthetic_dataset(generator, args.n_per_class, args.to, seed=args.seed,
                                            n_test_per_class=args.n_test_per_class, png_dir=args.png_dir)
            print(json.dumps(record, indent=1))
        else:
            rows = augmentation_experiment(generator, args.csv, n_values=args.n, ratios=args.ratios,
                                           seeds=args.seeds, steps=args.steps)
            print(format_augmentation(rows) + "\n\n" + format_augmentation(rows, markdown=True))
        return 0
    if args.command == "vanilla-vs-dcgan":
        comparison = vanilla_vs_dcgan(args.run, args.n, args.samples, time_alone=args.time_alone)
        print(format_architectures(comparison["entries"]) + "\n\n" + format_architectures(comparison["entries"], True))
        if args.save:
            _atomic_write_json(args.save, comparison)
        return 0
    if args.command == "dynamics":
        settings = dynamics_settings()
        settings.update(architecture=args.architecture, **{k: v for k, v in (("epochs", args.epochs),
                                                                            ("n_train", args.n_train)) if v is not None})
        out = args.out or output_dir("dynamics")
        histories = run_experiments(args.only, out, x_train=load_mnist(args.mnist)[0][0], **settings)
        print(format_experiments(histories) + "\n\n" + format_experiments(histories, markdown=True))
        if args.save:
            _atomic_write_json(args.save, {
                "settings": {**settings, "seed": 0}, "machine": f"{device_report()}; {platform.platform()}",
                "made_with": f"python -m gan_helpers dynamics --only {' '.join(args.only)}",
                "experiments": {n: DYNAMICS_EXPERIMENTS[n][0] for n in histories},
                "configs": {n: json.loads((Path(out) / n / "config.json").read_text()) for n in histories},
                "histories": histories})
        return 0
    if args.command == "train-classifier":
        print(json.dumps(train_classifier(args.out, epochs=args.epochs, seed=args.seed), indent=1))
        return 0

    if args.command == "estimate":
        epoch = estimate_epoch_seconds(args.batch_size)
        full = epoch * EPOCHS
        quick = epoch * QUICK_EPOCHS * QUICK_N_TRAIN / 60_000
        notebooks = len(list((PROJECT_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
        print(f"{device_report()}\nOne epoch on 60,000 images: about {epoch / 60:.1f} min here, "
              f"so the full series (training {EPOCHS} epochs) takes about {full / 3600:.1f} h.\n"
              f"Quick mode (GAN_QUICK=1 make run): {QUICK_EPOCHS} epochs on {QUICK_N_TRAIN:,} images, "
              f"about {quick / 60 + notebooks:.0f} min for its {notebooks} notebooks (about a minute each besides training).")
        return 0

    (x_train, y_train), _ = load_mnist(args.mnist)
    run = train(args.out, architecture=args.architecture, y_train=y_train, epochs=args.epochs, batch_size=args.batch_size,
                learning_rate=args.learning_rate, beta_1=args.beta_1, latent_dim=args.latent_dim,
                checkpoint_every=args.checkpoint_every, n_train=args.n_train, seed=args.seed,
                x_train=x_train, frechet_every=args.frechet_every, frechet_n=args.frechet_n, verbose=2,
                fall_back=args.fall_back, g_loss=args.g_loss, label_smoothing=args.label_smoothing,
                lr_decay=args.lr_decay, d_steps=args.d_steps, minibatch_std=args.minibatch_std,
                kernel_size=args.kernel_size, projection_channels=args.projection_channels,
                precision=args.precision, jit_compile=args.jit_compile)
    if args.gif:
        print("wrote", make_gif(run.out_dir / "frames", run.out_dir / "progress.gif"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
