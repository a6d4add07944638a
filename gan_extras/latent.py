"""The latent space of 07_latent_explorer: interpolation, meaningful directions, neighbourhoods, the explorers.

Notebook 07 imports it as ``from gan_extras import latent as lat``; the Voilà app (``app/explorer.ipynb``)
uses the same explorer. The widgets are ones ipywidgets 7.7 (Colab) and 8 (JupyterLab 4) both have.
Importing this module has no side effects beyond importing its libraries (ipywidgets only when an
explorer is built, the classifier of ``gan_extras.evaluation`` only when it is used).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import imageio.v3 as iio
import keras
import numpy as np
import tensorflow as tf

import gan_helpers as gh

# ---------------------------------------------------------------------------
# Interpolation
# ---------------------------------------------------------------------------

def _latent_vector(name: str, z: Any, latent_dim: int | None = None) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 1 or (latent_dim is not None and z.shape[0] != latent_dim):
        expected = f"({latent_dim},)" if latent_dim is not None else "(latent_dim,)"
        raise ValueError(f"{name} must be one latent vector of shape {expected}, got shape {z.shape}")
    if not np.isfinite(z).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return z

def _check_span(span: Any) -> float:
    if isinstance(span, bool) or not isinstance(span, (int, float, np.integer, np.floating)) or not span > 0:
        raise ValueError(f"span must be > 0, got {span!r}")
    return float(span)

def interpolate(z0: Any, z1: Any, steps: int | Sequence[float] = 8, method: str = "slerp") -> np.ndarray:
    """Points from z0 to z1 on the straight line ('linear') or the great circle ('slerp'); steps is a count or a list of t in [0, 1] (07_latent_explorer).

    Spherical interpolation keeps |z| near the ≈ √latent_dim shell where a
    Gaussian z almost always lies; the straight line cuts through the less
    likely inside (|z| dips by √2 half-way between two independent z).
    """
    z0 = _latent_vector("z0", z0)
    z1 = _latent_vector("z1", z1, z0.shape[0])
    if isinstance(steps, (int, np.integer)) and not isinstance(steps, bool):
        t = np.linspace(0.0, 1.0, gh._check_int("steps", steps, minimum=2))
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


# ---------------------------------------------------------------------------
# Directions: named (from measurements) and principal (from PCA of the images)
# ---------------------------------------------------------------------------

def _unit(name: str, v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v)
    if not np.isfinite(norm) or norm < 1e-12:
        raise ValueError(f"{name} is zero (or not finite) and has no direction")
    return (v / norm).astype(np.float32)

#: The image measurements (``gan_extras.evaluation.image_statistics``) the explorer has sliders for.
ATTRIBUTES = ("thickness", "slant", "width")

def attribute_directions(generator: keras.Model, n: int = 4_096, seed: int = 0,
                         attributes: Sequence[str] = ATTRIBUTES) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Unit z directions along which measured attributes grow, by least squares on n samples, and each fit's R² (07_latent_explorer).

    Label n generated digits with a measurement (``evaluation.image_statistics``),
    fit attribute ≈ w·z + b, and take w/|w| (the idea of InterFaceGAN, Shen et al. 2020).
    """
    latent_dim = gh.latent_dim_of(generator)
    gh._check_int("n", n, minimum=latent_dim + 2)
    z, images = _direction_samples(generator, n, seed)
    return _fit_attribute_directions(z, images, attributes)

def _direction_samples(generator: keras.Model, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n latent vectors and their images (every digit equally often for a conditional generator)."""
    z = gh.latent_vectors(n, gh.latent_dim_of(generator), seed)
    return z, gh.generate(generator, z, gh.balanced_labels(generator, n))

def _fit_attribute_directions(z: np.ndarray, images: np.ndarray,
                              attributes: Sequence[str]) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    from gan_extras import evaluation  # the measurements are 06's

    n = len(z)
    stats = evaluation.image_statistics(gh.to_uint8(images))
    unknown = [a for a in attributes if a not in stats]
    if unknown or not attributes or isinstance(attributes, str):
        raise ValueError(f"attributes must name some of {sorted(stats)}, got {attributes!r}")
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
    latent_dim = gh.latent_dim_of(generator)
    gh._check_int("k", k)
    gh._check_int("n", n, minimum=max(latent_dim, k) + 2)
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
    gh._check_int("n", n, minimum=gh.latent_dim_of(generator) + 2)
    z, images = _direction_samples(generator, n, seed)  # one set of samples for both fits
    named, _ = _fit_attribute_directions(z, images, ATTRIBUTES)
    principal, _ = _fit_principal_directions(z, images, 2)
    return {**named, "PC 1": principal[0], "PC 2": principal[1]}

def neighbourhood(z: Any, d1: Any, d2: Any, steps: int = 5, span: float = 2.0) -> np.ndarray:
    """A steps×steps grid of z's around z: rows move along d1, columns along d2, ±span (07_latent_explorer)."""
    z = _latent_vector("z", z)
    d1, d2 = (_unit(name, _latent_vector(name, d, z.shape[0])) for name, d in (("d1", d1), ("d2", d2)))
    gh._check_int("steps", steps, minimum=2)
    a = np.linspace(-_check_span(span), span, steps)
    return np.stack([z + r * d1 + c * d2 for r in a for c in a]).astype(np.float32)


# ---------------------------------------------------------------------------
# Drawing fast: one tf.function per update, PNG bytes for ipywidgets.Image
# ---------------------------------------------------------------------------

def png_bytes(image: Any, scale: int = 8) -> bytes:
    """One 28×28 digit as PNG bytes, enlarged scale× with crisp pixels, for ipywidgets.Image (07_latent_explorer)."""
    shape = np.shape(image)
    if shape not in ((28, 28), (28, 28, 1), (1, 28, 28), (1, 28, 28, 1)):
        raise ValueError(f"image must be one 28×28 image, got shape {shape}")
    picture = gh.to_uint8(np.reshape(image, (1, 28, 28)))[0]
    gh._check_int("scale", scale)
    return iio.imwrite("<bytes>", picture.repeat(scale, 0).repeat(scale, 1), extension=".png")

class _DigitDrawer:
    """Draws one z (and digit, for a conditional generator) fast: the generator (and optionally the classifier) under one tf.function."""

    def __init__(self, generator: keras.Model, classify: bool) -> None:
        self.latent_dim = gh.latent_dim_of(generator)
        conditional = gh.is_conditional(generator)
        classifier = None
        if classify:
            from gan_extras import evaluation  # 06's classifier reads the digit
            classifier = evaluation.load_classifier()[0]

        @tf.function(input_signature=[tf.TensorSpec([1, self.latent_dim], tf.float32),
                                      tf.TensorSpec([1], tf.int32)])
        def draw(z: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            image = generator([z, label] if conditional else z, training=False)
            probs = (tf.nn.softmax(classifier(image, training=False)) if classifier is not None
                     else tf.zeros([1, gh.N_CLASSES]))
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

def _seed_box(widgets: Any, value: int, description: str) -> Any:
    """A seed entry that ipywidgets itself keeps within 0 ... 2**31 - 1."""
    return widgets.BoundedIntText(value=value, min=0, max=2**31 - 1, description=description)


# ---------------------------------------------------------------------------
# The explorers
# ---------------------------------------------------------------------------

class LatentExplorer(_Displayed):
    """Sliders along named z directions, a seed box, 'new random z', a neighbourhood grid and, for a conditional generator, a digit picker; drawn as PNG in ipywidgets.Image (07_latent_explorer).

    Uses only widgets that exist in ipywidgets 7.7 (Colab) and 8 (JupyterLab 4).
    Display it by leaving it as a cell's last expression, or ``display(explorer)``.
    """

    def __init__(self, generator: keras.Model, directions: dict[str, Any] | None = None, *,
                 seed: int = 0, span: float = 3.0, scale: int = 8, classify: bool = True,
                 digit: int = 0) -> None:
        self.latent_dim = gh.latent_dim_of(generator)
        self.generator = generator
        gh._check_int("seed", seed, minimum=0)
        span, self.scale = _check_span(span), gh._check_int("scale", scale)
        digit = int(gh.check_labels(digit, 1, "digit")[0])
        directions = explorer_directions(generator) if directions is None else directions
        if not isinstance(directions, dict) or not directions:
            raise ValueError("directions must be a non-empty dict of name -> latent vector")
        self.directions = {str(name): _unit(f"directions[{name!r}]",
                                            _latent_vector(f"directions[{name!r}]", d, self.latent_dim))
                           for name, d in directions.items()}
        self._drawer = _DigitDrawer(generator, gh._check_bool("classify", classify))
        self._rng = np.random.default_rng(seed)
        self.updates = 0
        self._build_widgets(seed, span, digit)
        self._connect()
        self._base = gh.latent_vectors(1, self.latent_dim, seed)[0]
        self.update()

    def _build_widgets(self, seed: int, span: float, digit: int) -> None:
        import ipywidgets as widgets

        self.sliders = {name: widgets.FloatSlider(value=0.0, min=-span, max=span, step=0.1, description=name,
                                                  continuous_update=True, readout_format="+.1f")
                        for name in self.directions}
        self.seed_box = _seed_box(widgets, seed, "seed")
        self.random_button = widgets.Button(description="new random z")
        self.reset_button = widgets.Button(description="reset sliders")
        self.grid_button = widgets.Button(description="neighbourhood grid")
        self.image = widgets.Image(format="png")
        self.grid_image = widgets.Image(format="png", layout=widgets.Layout(display="none"))  # until asked for
        self.readout = widgets.HTML()
        # The digit picker exists only for a conditional generator: z is then the style, the label the class.
        self.digit_picker = (widgets.ToggleButtons(options=list(range(gh.N_CLASSES)), value=digit,
                                                   description="digit", style={"button_width": "2.6em"})
                             if gh.is_conditional(self.generator) else None)
        self.widget = widgets.VBox([
            *([self.digit_picker] if self.digit_picker is not None else []),
            widgets.HBox([self.image, widgets.VBox([self.readout, *self.sliders.values()])]),
            widgets.HBox([self.seed_box, self.random_button, self.reset_button, self.grid_button]),
            self.grid_image])
        self.widget.add_class("gan-explorer")

    def _connect(self) -> None:
        """Every slider (and the digit picker) redraws; the seed box takes a new z; the buttons act."""
        for slider in self.sliders.values():
            slider.observe(self.update, names="value")
        self.seed_box.observe(self._new_seed, names="value")
        if self.digit_picker is not None:
            self.digit_picker.observe(self.update, names="value")
            self.digit_picker.add_class("gan-digit-picker")
        self.random_button.on_click(lambda _: self.new_random_z())
        self.reset_button.on_click(lambda _: self.reset())
        self.grid_button.on_click(lambda _: self.show_neighbourhood())

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
        self._base = gh.latent_vectors(1, self.latent_dim, int(change["new"]))[0]
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
        labels = None if self.digit is None else np.full(len(grid), self.digit)
        images = gh.generate(self.generator, grid, labels)
        picture = gh.image_grid(images, steps, steps, scale=3)
        self.grid_image.value = iio.imwrite("<bytes>", picture, extension=".png")
        self.grid_image.layout.display = ""
        return images

class InterpolationExplorer(_Displayed):
    """A slider t from 0 to 1 between two seeds' z, drawing the linear and the spherical path side by side (07_latent_explorer)."""

    def __init__(self, generator: keras.Model, seed_a: int = 0, seed_b: int = 1, *, scale: int = 6,
                 digit: int = 0) -> None:
        import ipywidgets as widgets

        self.latent_dim = gh.latent_dim_of(generator)
        self.scale = gh._check_int("scale", scale)
        self.digit = int(gh.check_labels(digit, 1, "digit")[0])  # used by a conditional generator only
        seed_a, seed_b = (gh._check_int(n, s, minimum=0) for n, s in (("seed_a", seed_a), ("seed_b", seed_b)))
        self._drawer = _DigitDrawer(generator, classify=False)
        self.seed_a, self.seed_b = _seed_box(widgets, seed_a, "seed A"), _seed_box(widgets, seed_b, "seed B")
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
        za, zb = (gh.latent_vectors(1, self.latent_dim, s.value)[0] for s in (self.seed_a, self.seed_b))
        norms = []
        for method, widget in self.images.items():
            z = interpolate(za, zb, [self.t.value], method)[0]
            widget.value = png_bytes(self._drawer(z, self.digit)[0], self.scale)
            norms.append(f"{method}: |z| = {np.linalg.norm(z):.1f}")
        self.readout.value = " · ".join(norms)
        self.updates += 1
