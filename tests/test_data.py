"""Section 2 of gan_helpers: load_mnist, pixel scaling and the tf.data pipeline."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import gan_helpers as gh

LAYOUT = {"x_train": (60_000, 28, 28), "y_train": (60_000,),
          "x_test": (10_000, 28, 28), "y_test": (10_000,)}


@pytest.fixture(scope="module")
def mnist_path() -> Path:
    path = os.environ.get("MNIST_NPZ")
    if not path or not Path(path).is_file():
        pytest.skip("no offline MNIST copy (set MNIST_NPZ)")
    return Path(path)


@pytest.fixture(scope="module")
def mnist(mnist_path):
    return gh.load_mnist(mnist_path)


def _fake_layout() -> dict[str, np.ndarray]:
    """Arrays in the right layout (all zeros): a valid MNIST file as far as the checks go."""
    return {key: np.zeros(shape, np.uint8) for key, shape in LAYOUT.items()}


# --- load_mnist: the real file -------------------------------------------------

def test_real_file_has_keras_layout(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    for array, key in [(x_train, "x_train"), (y_train, "y_train"), (x_test, "x_test"), (y_test, "y_test")]:
        assert array.shape == LAYOUT[key], key
        assert array.dtype == np.uint8, key
    for labels in (y_train, y_test):
        assert set(np.unique(labels)) == set(range(10))
    assert x_train.min() == 0 and x_train.max() == 255


def test_explicit_path_wins_over_env(mnist_path, monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_NPZ", str(tmp_path / "does-not-exist.npz"))
    (x_train, _), _ = gh.load_mnist(str(mnist_path))  # a str works as well as a Path
    assert x_train.shape == LAYOUT["x_train"]


def test_env_var_is_used(mnist_path, monkeypatch, tmp_path):
    link = tmp_path / "elsewhere.npz"
    link.symlink_to(mnist_path)
    monkeypatch.setenv("MNIST_NPZ", str(link))
    monkeypatch.setenv("GAN_DATA", str(tmp_path / "empty"))
    monkeypatch.setattr(gh.keras.utils, "get_file", _no_download)
    (_, y_train), _ = gh.load_mnist()
    assert y_train.shape == LAYOUT["y_train"]


def test_data_dir_file_is_used_without_env(mnist_path, monkeypatch, tmp_path):
    (tmp_path / "mnist.npz").symlink_to(mnist_path)
    monkeypatch.delenv("MNIST_NPZ", raising=False)
    monkeypatch.setenv("GAN_DATA", str(tmp_path))
    monkeypatch.setattr(gh.keras.utils, "get_file", _no_download)
    (_, _), (x_test, _) = gh.load_mnist()
    assert x_test.shape == LAYOUT["x_test"]


def _no_download(*args, **kwargs):
    raise AssertionError("load_mnist tried to download although a local file was there")


# --- load_mnist: missing and damaged files -------------------------------------

def test_missing_path_names_the_file(tmp_path):
    missing = tmp_path / "nope.npz"
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        gh.load_mnist(missing)


def test_missing_env_file_names_variable_and_file(monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_NPZ", str(tmp_path / "gone.npz"))
    with pytest.raises(FileNotFoundError, match="MNIST_NPZ") as info:
        gh.load_mnist()
    assert "gone.npz" in str(info.value)


@pytest.mark.parametrize("n_bytes", [0, 3, 100, 5_000_000])
def test_truncated_file_names_the_file(mnist_path, tmp_path, n_bytes):
    with open(mnist_path, "rb") as f:
        head = f.read(n_bytes)
    bad = tmp_path / f"truncated_{n_bytes}.npz"
    bad.write_bytes(head)
    with pytest.raises(ValueError, match=f"truncated_{n_bytes}.npz"):
        gh.load_mnist(bad)


def test_corrupted_member_names_file_and_array(mnist_path, tmp_path):
    data = bytearray(mnist_path.read_bytes())
    data[200:264] = bytes(64)  # inside x_train's compressed data
    bad = tmp_path / "corrupt.npz"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupt.npz") as info:
        gh.load_mnist(bad)
    assert "x_train" in str(info.value)


def test_html_page_saved_as_npz(tmp_path):
    bad = tmp_path / "mnist.npz"
    bad.write_text("<html><body>Proxy error</body></html>")
    with pytest.raises(ValueError, match="not an .npz file") as info:
        gh.load_mnist(bad)
    assert str(bad) in str(info.value)


def test_single_npy_array_is_refused(tmp_path):
    bad = tmp_path / "x.npy"
    np.save(bad, np.zeros((3, 28, 28), np.uint8))
    with pytest.raises(ValueError, match="x.npy"):
        gh.load_mnist(bad)


def _wrong_shape(arrays):
    arrays["x_test"] = np.zeros((10_000, 28, 27), np.uint8)
    return "x_test"


def _wrong_dtype(arrays):
    arrays["x_train"] = np.zeros(LAYOUT["x_train"], np.float32)
    return "x_train"


def _wrong_label_dtype(arrays):
    arrays["y_test"] = np.zeros(LAYOUT["y_test"], np.int64)
    return "y_test"


def _label_out_of_range(arrays):
    arrays["y_train"][5] = 10
    return "y_train"


def _object_array(arrays):
    arrays["y_train"] = np.array([None, 1], dtype=object)
    return "y_train"


def _missing_array(arrays):
    del arrays["y_test"]
    return "y_test"


def test_fake_layout_passes(tmp_path):
    """The zeros used below are a valid file: each failure comes from the one spoiled array."""
    (x_train, _), (_, y_test) = gh.load_mnist(_save(tmp_path / "good.npz", _fake_layout()))
    assert x_train.shape == LAYOUT["x_train"] and y_test.shape == LAYOUT["y_test"]


@pytest.mark.parametrize("spoil", [_wrong_shape, _wrong_dtype, _wrong_label_dtype, _label_out_of_range,
                                   _object_array, _missing_array], ids=lambda f: f.__name__.strip("_"))
def test_bad_arrays_are_named(tmp_path, spoil):
    arrays = _fake_layout()
    name = spoil(arrays)
    bad = _save(tmp_path / "bad.npz", arrays)
    with pytest.raises(ValueError, match=name) as info:
        gh.load_mnist(bad)
    assert "bad.npz" in str(info.value)


def _save(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    np.savez(path, **arrays)
    return path


# --- load_mnist: the download path ---------------------------------------------

def test_download_failure_explains_mnist_npz(monkeypatch, tmp_path):
    empty = tmp_path / "data"
    monkeypatch.setenv("GAN_DATA", str(empty))
    monkeypatch.delenv("MNIST_NPZ", raising=False)
    calls = []

    def offline(*args, **kwargs):
        calls.append(kwargs)
        raise OSError("Temporary failure in name resolution")

    monkeypatch.setattr(gh.keras.utils, "get_file", offline)
    with pytest.raises(ConnectionError, match="MNIST_NPZ") as info:
        gh.load_mnist()
    assert calls, "get_file was never called"
    assert "name resolution" in str(info.value)
    assert str(empty / "mnist.npz") in str(info.value)
    assert not (empty / "mnist.npz").exists()


def test_download_is_checked_moved_into_place_and_read(mnist_path, mnist, monkeypatch, tmp_path):
    data = tmp_path / "data"
    monkeypatch.setenv("GAN_DATA", str(data))
    monkeypatch.delenv("MNIST_NPZ", raising=False)
    calls = []

    def fake_get_file(fname, origin, file_hash=None, hash_algorithm=None, cache_dir=None, cache_subdir=None,
                      **kwargs):
        calls.append(dict(fname=fname, origin=origin, file_hash=file_hash, hash_algorithm=hash_algorithm))
        target = Path(cache_dir) / (cache_subdir or "") / fname
        shutil.copyfile(mnist_path, target)
        return str(target)

    monkeypatch.setattr(gh.keras.utils, "get_file", fake_get_file)
    (x_train, y_train), (x_test, y_test) = gh.load_mnist()
    assert len(calls) == 1
    assert calls[0]["origin"] == gh.MNIST_URL
    assert calls[0]["file_hash"] == gh.MNIST_SHA256 and calls[0]["hash_algorithm"] == "sha256"
    assert (data / "mnist.npz").is_file()
    assert sorted(p.name for p in data.iterdir()) == ["mnist.npz"]  # the .download name is gone
    (x_ref, y_ref), (xt_ref, yt_ref) = mnist
    assert np.array_equal(x_train, x_ref) and np.array_equal(y_test, yt_ref)
    # The second call finds the file and does not download again.
    gh.load_mnist()
    assert len(calls) == 1


# --- Pixel scaling ---------------------------------------------------------------

def test_to_float_range_shape_dtype():
    images = np.array([np.zeros((28, 28)), np.full((28, 28), 255), np.full((28, 28), 128)], np.uint8)
    scaled = gh.to_float(images)
    assert scaled.shape == (3, 28, 28, 1) and scaled.dtype == np.float32
    assert scaled[0].min() == -1.0 and scaled[1].max() == 1.0
    assert abs(float(scaled[2, 0, 0, 0]) - 0.5 / 127.5) < 1e-6


def test_to_uint8_range_and_clipping():
    floats = np.stack([np.full((28, 28, 1), v, np.float32) for v in (-1.0, 1.0, 0.0, -1.0005, 1.0005)])
    pixels = gh.to_uint8(floats)
    assert pixels.shape == (5, 28, 28) and pixels.dtype == np.uint8
    assert [int(p[0, 0]) for p in pixels] == [0, 255, 128, 0, 255]


def test_float_pixels_outside_the_tanh_range_are_refused_by_name():
    """0-255 pixels cast to float (``x.astype("float32")``) used to train, and score 262,278."""
    as_floats = np.full((4, 28, 28), 255.0, np.float32)
    for call in (gh.to_uint8, lambda x: gh.make_dataset(x, 2)):
        with pytest.raises(ValueError, match=r"float images must be in \[-1, 1\].*0-255 pixels as floats"):
            call(as_floats)
    with pytest.raises(ValueError, match="x_train: float images"):
        gh.train(epochs=1, x_train=as_floats, batch_size=2)


def test_round_trip_is_exact_for_every_grey_level():
    levels = np.resize(np.arange(256, dtype=np.uint8), (2, 28, 28))
    assert np.array_equal(gh.to_uint8(gh.to_float(levels)), levels)
    assert np.array_equal(gh.to_uint8(levels), levels)  # uint8 passes through


def test_to_float_refuses_floats_and_bad_shapes():
    with pytest.raises(TypeError, match="uint8"):
        gh.to_float(np.zeros((2, 28, 28), np.float32))
    with pytest.raises(ValueError, match="images"):
        gh.to_float(np.zeros((2, 32, 32), np.uint8))
    with pytest.raises(TypeError, match="images"):
        gh.to_uint8([[0] * 28] * 28)


# --- make_dataset ------------------------------------------------------------------

def _random_images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 28, 28), dtype=np.uint8)


@pytest.mark.parametrize("n, batch", [(100, 32), (96, 32), (70, 64)])
def test_make_dataset_full_batches_only(n, batch):
    batches = list(gh.make_dataset(_random_images(n), batch))
    assert len(batches) == n // batch
    for b in batches:
        assert tuple(b.shape) == (batch, 28, 28, 1)
        assert b.dtype.name == "float32"
        values = b.numpy()
        assert values.min() >= -1.0 and values.max() <= 1.0


def test_make_dataset_covers_the_images_once_per_epoch():
    images = _random_images(64)
    got = np.concatenate([b.numpy() for b in gh.make_dataset(images, 16, seed=3)])
    assert sorted(gh.to_uint8(got).reshape(64, -1).tolist()) == sorted(images.reshape(64, -1).tolist())
    unshuffled = np.concatenate([b.numpy() for b in gh.make_dataset(images, 16, shuffle=False)])
    assert np.array_equal(gh.to_uint8(unshuffled), images)
    assert not np.array_equal(got, unshuffled)  # shuffle=True does shuffle


def test_make_dataset_accepts_scaled_floats():
    floats = gh.to_float(_random_images(32))
    (batch,) = list(gh.make_dataset(floats, 32, shuffle=False))
    assert np.array_equal(batch.numpy(), floats)


def test_make_dataset_needs_one_full_batch():
    with pytest.raises(ValueError, match="batch_size=64"):
        gh.make_dataset(_random_images(63), 64)
    with pytest.raises(ValueError, match="batch_size"):
        gh.make_dataset(_random_images(10), 0)
