"""Section 5 of gan_helpers: image grids, frames, the progress GIF and the plots."""

from __future__ import annotations

import imageio.v3 as iio
import matplotlib

matplotlib.use("Agg")  # before pyplot: no window, whatever MPLBACKEND says

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import gan_helpers as gh  # noqa: E402


def _digits(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 28, 28), dtype=np.uint8)


@pytest.fixture(scope="module")
def generator():
    return gh.build_generator()


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# --- image_grid ---------------------------------------------------------------------

@pytest.mark.parametrize("rows, cols, pad, scale", [(1, 1, 0, 1), (2, 3, 2, 1), (4, 4, 2, 3), (3, 2, 5, 2)])
def test_image_grid_shape(rows, cols, pad, scale):
    grid = gh.image_grid(_digits(rows * cols + 1), rows, cols, pad=pad, scale=scale)
    assert grid.dtype == np.uint8
    assert grid.shape == ((rows * (28 + pad) + pad) * scale, (cols * (28 + pad) + pad) * scale)


def test_image_grid_places_images_row_by_row():
    images = _digits(6)
    grid = gh.image_grid(images, 2, 3, pad=2)
    for i, image in enumerate(images):
        r, c = divmod(i, 3)
        top, left = 2 + r * 30, 2 + c * 30
        assert np.array_equal(grid[top:top + 28, left:left + 28], image), i
    assert (grid[:2] == 64).all() and (grid[:, :2] == 64).all()  # grey gutters


def test_image_grid_scale_repeats_pixels():
    images = _digits(4)
    small = gh.image_grid(images, 2, 2)
    big = gh.image_grid(images, 2, 2, scale=3)
    assert np.array_equal(big[::3, ::3], small)
    assert np.array_equal(big[1::3, 2::3], small)


def test_image_grid_accepts_generator_floats():
    floats = gh.to_float(_digits(4))
    assert np.array_equal(gh.image_grid(floats, 2, 2), gh.image_grid(_digits(4), 2, 2))


def test_image_grid_errors():
    with pytest.raises(ValueError, match="rows\\*cols = 6"):
        gh.image_grid(_digits(5), 2, 3)
    with pytest.raises(ValueError, match="pad"):
        gh.image_grid(_digits(4), 2, 2, pad=-1)
    with pytest.raises(ValueError, match="scale"):
        gh.image_grid(_digits(4), 2, 2, scale=0)
    with pytest.raises(TypeError, match="rows"):
        gh.image_grid(_digits(4), 2.0, 2)


# --- save_frame -----------------------------------------------------------------------

def test_save_frame_writes_fixed_size_png(generator, tmp_path):
    paths = [gh.save_frame(generator, gh.latent_vectors(16, seed=s), tmp_path / "frames" / f"epoch_{s:04d}.png")
             for s in (0, 1)]
    assert [p.name for p in paths] == ["epoch_0000.png", "epoch_0001.png"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pictures = [iio.imread(p) for p in paths]
    side = (4 * 30 + 2) * 3  # 4x4 digits, pad 2, scale 3
    assert pictures[0].shape == pictures[1].shape == (side, side)
    assert not np.array_equal(pictures[0], pictures[1])
    z = gh.latent_vectors(16, seed=0)
    assert np.array_equal(pictures[0], gh.image_grid(gh.generate(generator, z), 4, 4, scale=3))
    assert not list((tmp_path / "frames").glob(".*"))  # no temporary file left behind


# --- make_gif and gif_info ---------------------------------------------------------------

BAND = 12  # rows of the label "epoch N" above each GIF frame


def _write_frames(folder, n: int, shape=(62, 62)) -> list[np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    pictures = [np.random.default_rng(i).integers(0, 256, shape, dtype=np.uint8) for i in range(n)]
    for i, picture in enumerate(pictures):
        iio.imwrite(folder / f"epoch_{i:04d}.png", picture)
    return pictures


def test_make_gif_loops_and_holds_last_frame(tmp_path):
    pictures = _write_frames(tmp_path / "frames", 5)
    iio.imwrite(tmp_path / "frames" / "grid.png", pictures[0])  # not an epoch frame: ignored
    gif = gh.make_gif(tmp_path / "frames", tmp_path / "out" / "progress.gif", duration_ms=120, hold_last_ms=900)
    assert gif == tmp_path / "out" / "progress.gif"
    info = gh.gif_info(gif)
    assert info["frames"] == 5
    assert info["loop"] == 0
    assert info["durations_ms"] == [120, 120, 120, 120, 900]
    assert tuple(info["shape"][:2]) == (62 + BAND, 62), "each frame under its epoch band"
    # Read back independently with imageio.v3: the frames in epoch order, each under its label.
    frames = iio.imread(gif, index=None)
    assert len(frames) == 5
    for i, picture in enumerate(pictures):
        shown = frames[i] if frames[i].ndim == 2 else frames[i][..., 0]
        assert np.array_equal(shown[BAND:], picture), i
        assert shown[:BAND].max() > 200 and (shown[:BAND] == 0).mean() > 0.5, "white text on black"
    bands = [(f if f.ndim == 2 else f[..., 0])[:BAND] for f in frames]
    assert len({b.tobytes() for b in bands}) == 5, "every frame names another epoch"
    assert iio.immeta(gif)["loop"] == 0


def test_make_gif_orders_frames_by_epoch(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for epoch, level in [(10, 200), (2, 50), (0, 0)]:  # written out of order
        iio.imwrite(folder / f"epoch_{epoch:04d}.png", np.full((30, 30), level, np.uint8))
    frames = iio.imread(gh.make_gif(folder, tmp_path / "a.gif"), index=None)
    assert [int(f[BAND:].reshape(-1)[0]) for f in frames] == [0, 50, 200]


def test_make_gif_last_frame_never_shorter(tmp_path):
    _write_frames(tmp_path / "frames", 3)
    info = gh.gif_info(gh.make_gif(tmp_path / "frames", tmp_path / "a.gif", duration_ms=500, hold_last_ms=100))
    assert info["durations_ms"] == [500, 500, 500]


def test_make_gif_single_frame(tmp_path):
    _write_frames(tmp_path / "frames", 1)
    info = gh.gif_info(gh.make_gif(tmp_path / "frames", tmp_path / "a.gif"))
    assert info["frames"] == 1 and info["durations_ms"] == [1500]


def test_make_gif_empty_folder(tmp_path):
    (tmp_path / "frames").mkdir()
    with pytest.raises(FileNotFoundError, match="frames_dir"):
        gh.make_gif(tmp_path / "frames", tmp_path / "a.gif")
    with pytest.raises(FileNotFoundError, match="frames_dir"):
        gh.make_gif(tmp_path / "missing", tmp_path / "a.gif")
    assert not (tmp_path / "a.gif").exists()


def test_make_gif_frames_of_different_sizes(tmp_path):
    _write_frames(tmp_path / "frames", 2)
    iio.imwrite(tmp_path / "frames" / "epoch_0002.png", np.zeros((70, 62), np.uint8))
    with pytest.raises(ValueError, match="differ in size"):
        gh.make_gif(tmp_path / "frames", tmp_path / "a.gif")
    assert not (tmp_path / "a.gif").exists()


def test_make_gif_bad_duration(tmp_path):
    _write_frames(tmp_path / "frames", 2)
    with pytest.raises(ValueError, match="duration_ms"):
        gh.make_gif(tmp_path / "frames", tmp_path / "a.gif", duration_ms=0)


# --- Plots -----------------------------------------------------------------------------------

def test_plot_grid_returns_figure():
    fig = gh.plot_grid(_digits(7), 2, 3, titles=list("abcdef"), suptitle="Digits")
    assert isinstance(fig, Figure)
    axes = fig.get_axes()
    assert len(axes) == 6
    assert [ax.get_title() for ax in axes] == list("abcdef")
    assert np.array_equal(axes[4].images[0].get_array(), _digits(7)[4])
    assert fig._suptitle.get_text() == "Digits"


def test_plot_grid_errors():
    with pytest.raises(ValueError, match="images"):
        gh.plot_grid(_digits(3), 2, 2)
    with pytest.raises(ValueError, match="titles"):
        gh.plot_grid(_digits(4), 2, 2, titles=["a"])


def test_plot_history_returns_figure():
    history = {"epoch": [1, 2, 3], "g_loss": [2.0, 1.5, 1.2], "d_loss": [0.5, 0.9, 1.1],
               "d_real": [0.8, 0.7, 0.6], "d_fake": [0.2, 0.3, 0.4]}
    fig = gh.plot_history(history)
    assert isinstance(fig, Figure)
    ax_loss, ax_d = fig.get_axes()[:2]
    lines = {line.get_label(): line for line in ax_loss.get_lines()}
    assert list(lines["generator"].get_ydata()) == history["g_loss"]
    assert list(lines["discriminator"].get_xdata()) == history["epoch"]
    d_lines = {line.get_label(): line for line in ax_d.get_lines()}
    assert list(d_lines["D(G(z)), fake"].get_ydata()) == history["d_fake"]
    assert ax_d.get_ylim() == (0.0, 1.0)
