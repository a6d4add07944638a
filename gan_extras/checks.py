"""The checks every part of the kit shares: arguments, images, labels, files and records (no lesson teaches them).

The core (``gan_helpers``) and each lesson module call these at their public boundary, so a bad
argument gets one clear error naming it; the lessons' own code stays free of them. A student can
skip this file on a first reading. It imports nothing from the kit (a record's builder is imported when used).
"""

from __future__ import annotations

import importlib
import json
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

_DIGITS = 10


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


def _check_rate(name: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not low <= value < high:
        raise ValueError(f"{name} must be a number in [{low:g}, {high:g}), got {value!r}")
    return float(value)


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary name unique to this process, then rename: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _atomic_write_json(path: Path, obj: Any) -> None:
    _atomic_write_bytes(path, json.dumps(obj, indent=1).encode())


MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
_MNIST_LAYOUT = {"x_train": (60_000, 28, 28), "y_train": (60_000,),
                 "x_test": (10_000, 28, 28), "y_test": (10_000,)}

MnistSplits = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _download_mnist(target: Path) -> Path:
    """Fetch the canonical mnist.npz with a checked sha256, atomically (01_mnist_data)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        fetched = keras.utils.get_file(fname=target.name + ".download", origin=MNIST_URL, file_hash=MNIST_SHA256,
                                       hash_algorithm="sha256", cache_dir=str(target.parent), cache_subdir="")
    except Exception as error:  # no network, proxy, HTTP error...
        raise ConnectionError(f"MNIST is not at {target} and downloading it from {MNIST_URL} failed ({error}). "
                              "Put a copy there, or set MNIST_NPZ=/path/to/mnist.npz.") from error
    os.replace(fetched, target)
    return target


def _mnist_file(path: str | os.PathLike[str] | None, default: Path) -> Path:
    """The MNIST file to read: ``path``, else $MNIST_NPZ, else ``default`` (downloaded when missing) (01_mnist_data)."""
    if path is not None:
        source = Path(path)
        if not source.is_file():
            raise FileNotFoundError(f"path: no MNIST file at {source}")
    elif os.environ.get("MNIST_NPZ"):
        source = Path(os.environ["MNIST_NPZ"])
        if not source.is_file():
            raise FileNotFoundError(f"MNIST_NPZ points to {source}, which does not exist")
    else:
        source = default if default.is_file() else _download_mnist(default)
    return source


def check_pair(generator: Any, discriminator: Any) -> int:
    """The size of z for a generator whose samples the discriminator takes: digits or 2-D points (04_train_dcgan)."""
    for name, model in (("generator", generator), ("discriminator", discriminator)):
        if not isinstance(model, keras.Model):
            raise TypeError(f"{name} must be a keras.Model, got {type(model).__name__}")
    z_shape, out_shape = generator.input_shape, generator.output_shape
    takes = discriminator.input_shape
    if not isinstance(z_shape, tuple) or len(z_shape) != 2 or not isinstance(takes, tuple) \
            or tuple(out_shape)[1:] != takes[1:]:
        raise ValueError(f"generator must map (batch, latent_dim) to what the discriminator takes, {takes}; "
                         f"this one maps {z_shape} to {out_shape}")
    return int(z_shape[1])


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
    # MNIST itself has exactly the canonical sizes; other files in its layout (synthetic digits, 08) any size.
    canonical = arrays["x_train"].shape[0] == _MNIST_LAYOUT["x_train"][0]
    for key, shape in _MNIST_LAYOUT.items():
        a = arrays[key]
        expected = shape if canonical else (len(arrays["x" + key[1:]]), *shape[1:])
        if a.shape != expected or a.dtype != np.uint8:
            raise ValueError(f"{source}: {key} has shape {a.shape} and dtype {a.dtype}; expected {expected} uint8")
        if key.startswith("y") and a.size and a.max() > 9:
            raise ValueError(f"{source}: {key} has label {a.max()}; expected labels 0-9")
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _check_images(name: str, images: Any) -> np.ndarray:
    """(n, 28, 28) uint8 or float in [-1, 1] from (n, 28, 28[, 1]); floats outside [-1, 1] (0-255 pixels) are refused."""
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
    if images.dtype != np.uint8:
        finite = images[np.isfinite(images)]  # NaN passes: training reports it as divergence, by epoch and step
        if finite.size and (finite.min() < -1.001 or finite.max() > 1.001):
            raise ValueError(f"{name}: float images must be in [-1, 1] (gh.to_float scales uint8 pixels), got values "
                             f"from {finite.min():g} to {finite.max():g}" + " (0-255 pixels as floats?)" * bool(finite.max() > 1.5))
    return images


def check_labels(labels: Any, n: int | None = None, name: str = "labels") -> np.ndarray:
    """Digit labels as an int32 array of 0-9 (a single int becomes one label), or an error saying what is wrong (01_mnist_data)."""
    if isinstance(labels, tf.Tensor):
        labels = labels.numpy()
    array = np.asarray(labels)
    array = array[None] if array.ndim == 0 else array
    if array.shape == (0,):  # [] is float64 to NumPy
        array = array.astype(np.int32)
    if array.dtype == bool:
        raise TypeError(f"{name} must be integer digits 0-9, got booleans")
    if array.dtype == object or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must be integer digits 0-9, got {array.dtype} values such as {array.ravel()[:3].tolist()}")
    if array.ndim != 1:
        raise ValueError(f"{name} must be one digit per image, shape (n,), got shape {array.shape}")
    if array.size and (array.min() < 0 or array.max() >= _DIGITS):
        raise ValueError(f"{name} must be digits 0-9, got {array[(array < 0) | (array >= _DIGITS)][0]}")
    if n is not None and len(array) != n:
        raise ValueError(f"{name} must have one label per image: {n} expected, got {len(array)}")
    return array.astype(np.int32)


def _check_size(kernel_size: Any, projection_channels: Any = 1) -> None:
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, (int, np.integer)) or not 2 <= kernel_size <= 7:
        raise ValueError(f"kernel_size must be an int from 2 to 7 (4: the kit's, 5: the TF tutorial's), got {kernel_size!r}")
    _check_int("projection_channels", projection_channels)


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


#: Settings a run's config.json records. A key missing from an older config.json had the legacy
#: value (runs saved before it existed); one a run does not set has the neutral value.
_LEGACY = {"architecture": "dcgan", "kernel_size": 5, "projection_channels": 256}
_NEUTRAL = {"g_loss": "non_saturating", "label_smoothing": 0.0, "lr_decay_steps": 0, "d_steps": 1,
            "minibatch_std": False, "ema_decay": 0.0}
#: Settings that change how fast a run trains, not what it trains: a run may resume with others (11).
SPEED_SETTINGS = ("precision", "replicas", "jit_compile")


def load_config(out_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """A run's config.json with the legacy values of settings older runs did not record ({} if none) (05_progress_gif)."""
    path = Path(out_dir) / "config.json"
    if not path.is_file():
        return {}
    try:
        saved = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is damaged ({error}); restore it or use another out_dir") from error
    convolutional = saved.get("architecture", "dcgan") != "vanilla"
    return {**{k: v for k, v in _LEGACY.items() if convolutional or k == "architecture"}, **saved}


def _check_config(out: Path, config: dict[str, Any]) -> None:
    """Refuse to resume a run folder with other settings, naming each one."""
    saved = load_config(out)
    if not saved:
        raise ValueError(f"{out} holds checkpoints but no config.json, so the settings they were trained with "
                         "cannot be checked; nothing was changed. Restore config.json, or use another out_dir")
    keys = (set(saved) | set(config)) - {*SPEED_SETTINGS, "generator_params", "discriminator_params", "n_train"}
    changed = {k: (saved.get(k, _NEUTRAL.get(k)), config.get(k, _NEUTRAL.get(k))) for k in sorted(keys)}
    changed = {k: v for k, v in changed.items() if v[0] != v[1]}
    if changed:
        detail = ", ".join(f"{k}: saved {a}, now {b}" for k, (a, b) in changed.items())
        raise ValueError(f"{out} holds a run with other settings ({detail}); "
                         "use another out_dir or the same settings to resume")


def load_keras_file(path: str | os.PathLike[str], what: str, remedy: str) -> keras.Model:
    """Load a ``.keras`` file, or raise an error naming the file, what it should hold and how to get it (05_progress_gif)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: no {what} at {path}; {remedy}")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as error:  # truncated zip, HTML error page, another format, a newer Keras's file...
        model, why = _rebuild(path)
        if model is not None:
            return model
        raise ValueError(f"path: {path} is not a loadable Keras file ({type(error).__name__}: "
                         f"{str(error).splitlines()[0] if str(error) else ''}); {why}{remedy}") from error


#: What a record's "builder" may name: the kit's own builders, never arbitrary code.
BUILDERS = {"vanilla": "gan_helpers.build_vanilla_generator", "dcgan": "gan_helpers.build_generator",
            "conditional": "gan_extras.conditional.build_conditional_generator",
            "classifier": "gan_extras.evaluation.build_classifier"}


def builder_record(config: dict[str, Any]) -> dict[str, Any]:
    """How to rebuild a generator of a run's settings in code: the "builder" entry of its export's record (05_progress_gif)."""
    if not isinstance(config, dict):
        raise TypeError(f"config must be a run's settings (a dict, as in config.json), got {type(config).__name__}")
    config = {**_LEGACY, **config}
    if config["architecture"] not in ("vanilla", "dcgan", "conditional"):
        raise ValueError(f"config['architecture'] must be 'vanilla', 'dcgan' or 'conditional', "
                         f"got {config['architecture']!r}")
    arguments = {"latent_dim": config.get("latent_dim", 100)}
    if config["architecture"] != "vanilla":
        arguments.update(kernel_size=config["kernel_size"], projection_channels=config["projection_channels"])
    return {"model": config["architecture"], "arguments": arguments}


def _rebuild(path: Path) -> tuple[keras.Model | None, str]:
    """The model its .json record's builder makes, with the weights inside the .keras file (Keras older than the file's)."""
    record = path.with_suffix(".json")
    try:
        builder = json.loads(record.read_text()).get("builder") if record.is_file() else None
    except (OSError, ValueError):
        builder = None
    if not isinstance(builder, dict):  # no record to rebuild from: the load error is the whole story
        return None, ""
    try:
        module, _, name = BUILDERS[builder["model"]].rpartition(".")
        model = getattr(importlib.import_module(module), name)(**builder["arguments"])
        model.load_weights(path)  # a .keras file holds its weights as model.weights.h5
    except (OSError, ValueError, KeyError, TypeError) as error:
        return None, f"rebuilding it from {record.name} failed too ({type(error).__name__}: {error}); "
    return model, ""



def _read_json(path: Path) -> Any:
    """A JSON file's contents, or an error naming the file."""
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error})") from error


def _check_history(history: Any, needed: tuple[str, ...]) -> None:
    if not isinstance(history, dict) or any(k not in history for k in needed):
        raise ValueError(f"history must have the keys {needed} (gh.load_history or TrainingRun.history), "
                         f"got {sorted(history) if isinstance(history, dict) else type(history).__name__}")


def _check_generator_file(generator: keras.Model, path: Any, conditional: bool) -> keras.Model:
    """A loaded model, checked to be a 28×28×1 generator that takes labels exactly when ``conditional``."""
    takes_labels = len(generator.inputs) == 2
    z_shape = tuple(generator.input_shape[0] if takes_labels else generator.input_shape)
    if len(z_shape) != 2 or tuple(generator.output_shape)[1:] != (28, 28, 1):
        raise ValueError(f"path: {path} does not hold a generator: it maps {generator.input_shape} to "
                         f"{generator.output_shape}, not (batch, latent_dim) to (batch, 28, 28, 1)")
    if takes_labels != conditional:
        raise ValueError(f"path: {path} holds a generator that {'takes' if takes_labels else 'takes no'} labels; "
                         f"a{' conditional' if conditional else 'n unconditional'} one was expected")
    return generator


def _check_grid(images: np.ndarray, rows: Any, cols: Any, titles: Any = None, **more: Any) -> None:
    """Refuse a grid of rows x cols (and any ``more`` ints, e.g. pad=0) that the images or titles cannot fill."""
    for name, value in (("rows", rows), ("cols", cols), *more.items()):
        _check_int(name, value, minimum=0 if name == "pad" else 1)
    if len(images) < rows * cols:
        raise ValueError(f"images holds {len(images)} images, fewer than rows*cols = {rows * cols}")
    if titles is not None and len(titles) < rows * cols:
        raise ValueError(f"titles has {len(titles)} entries, fewer than rows*cols = {rows * cols}")


def _check_loop(epochs: Any, batch_size: Any, checkpoint_every: Any, verbose: Any, out: Path) -> None:
    """The training loop's own arguments, checked once before anything is built (04_train_dcgan)."""
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("checkpoint_every", checkpoint_every)):
        _check_int(name, value)
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0 (silent), 1 (progress bar) or 2 (one line per epoch), got {verbose!r}")
    out.mkdir(parents=True, exist_ok=True)
    if not os.access(out, os.W_OK):
        raise PermissionError(f"out_dir: {out} is not writable")
