"""The GAN game in two dimensions, trained live in seconds (00_gan_2d).

Real data are points in the plane (a ring of Gaussians, two moons, a spiral); the generator and the
discriminator are tiny MLPs; the update is the kit's own train step (``gh.make_train_step``, or 10's
``dyn.make_dynamics_step`` for several D steps per G step), the same code that trains the DCGAN in 04.
What is hard to see with images is easy to see here: D's opinion of every point of the plane, the
direction G's loss pushes each sample, and which modes the samples cover.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

import gan_helpers as gh
from gan_extras import dynamics as dyn

DATASETS = ("ring", "moons", "spiral")
RING_MODES, RING_RADIUS, RING_STD = 8, 2.0, 0.05
LATENT_2D = 2          # z is 2-D too, so G is a map of the plane onto the plane
WIDTH = 128            # units in each hidden layer
BATCH_2D = 256
EXTENT = 3.0           # the figures show [-EXTENT, EXTENT]²


# --- data ------------------------------------------------------------------------------------

def ring_centres() -> np.ndarray:
    """The 8 mode centres of the ring, (8, 2) (00_gan_2d)."""
    angles = 2 * np.pi * np.arange(RING_MODES) / RING_MODES
    return (RING_RADIUS * np.stack([np.cos(angles), np.sin(angles)], 1)).astype(np.float32)


def sample_points(name: str = "ring", n: int = BATCH_2D, seed: int = 0) -> np.ndarray:
    """``n`` real points of a 2-D dataset as float32 (n, 2) (00_gan_2d)."""
    if name not in DATASETS:
        raise ValueError(f"name must be one of {list(DATASETS)}, got {name!r}")
    n, rng = gh._check_int("n", n), np.random.default_rng(gh._check_int("seed", seed, minimum=0))
    if name == "ring":
        points = ring_centres()[rng.integers(0, RING_MODES, n)] + rng.normal(0, RING_STD, (n, 2))
    elif name == "moons":
        t, upper = rng.uniform(0, np.pi, n), rng.random(n) < 0.5
        points = np.where(upper[:, None], np.stack([np.cos(t), np.sin(t)], 1),
                          np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1))
        points = 1.5 * (points - [0.5, 0.25]) + rng.normal(0, 0.05, (n, 2))
    else:
        t = np.sqrt(rng.uniform(0, 1, n)) * 3 * np.pi
        points = 0.85 * np.stack([t * np.cos(t), t * np.sin(t)], 1) / np.pi + rng.normal(0, 0.04, (n, 2))
    return points.astype(np.float32)


# --- the players -----------------------------------------------------------------------------

def build_toy_generator(latent_dim: int = LATENT_2D, width: int = WIDTH) -> keras.Model:
    """G: z in R^latent_dim → a point in the plane, two ReLU layers (00_gan_2d)."""
    gh._check_int("latent_dim", latent_dim)
    gh._check_int("width", width)
    return keras.Sequential([keras.Input(shape=(latent_dim,), name="z"),
                             keras.layers.Dense(width, activation="relu"),
                             keras.layers.Dense(width, activation="relu"),
                             keras.layers.Dense(2, name="point")], name="toy_generator")


def build_toy_discriminator(width: int = WIDTH) -> keras.Model:
    """D: a point in the plane → one logit, two LeakyReLU layers (00_gan_2d)."""
    gh._check_int("width", width)
    return keras.Sequential([keras.Input(shape=(2,), name="point"),
                             keras.layers.Dense(width), keras.layers.LeakyReLU(0.2),
                             keras.layers.Dense(width), keras.layers.LeakyReLU(0.2),
                             keras.layers.Dense(1, name="logit")], name="toy_discriminator")


def new_toy_state(seed: int = 0, g_learning_rate: float = 1e-3, d_learning_rate: float = 1e-3,
                  beta_1: float = 0.5, minibatch_std: bool = False, width: int = WIDTH) -> gh.GANState:
    """Fresh tiny players and their two Adams in the core's GANState (00_gan_2d)."""
    gh._check_bool("minibatch_std", minibatch_std)
    keras.utils.set_random_seed(gh._check_int("seed", seed, minimum=0))
    generator, discriminator = build_toy_generator(LATENT_2D, width), build_toy_discriminator(width)
    if minibatch_std:  # 10's remedy: D sees how spread out the whole batch is
        discriminator = dyn.with_minibatch_std(discriminator)
    optimizers = (gh.make_optimizer(g_learning_rate, beta_1), gh.make_optimizer(d_learning_rate, beta_1))
    return gh.new_gan_state(LATENT_2D, seed=seed, generator=generator, discriminator=discriminator,
                            optimizers=optimizers)


def make_step(state: gh.GANState, g_loss: str = "non_saturating", d_steps: int = 1) -> Callable:
    """The kit's train step for these players: 04's, or 10's with ``d_steps`` D updates per G update (00_gan_2d)."""
    parts = (state.generator, state.discriminator, state.g_optimizer, state.d_optimizer, state.rng, _loss(g_loss))
    if gh._check_int("d_steps", d_steps) == 1:
        return gh.make_train_step(*parts)
    return dyn.make_dynamics_step(*parts, d_steps=d_steps)


def _loss(g_loss: str) -> Callable:
    """G's loss by name: the two of 10's ``dyn.G_LOSSES`` that a discriminator with logits plays."""
    if g_loss not in ("non_saturating", "minimax"):
        raise ValueError(f"g_loss must be one of ['non_saturating', 'minimax'], got {g_loss!r}")
    return dyn.G_LOSSES[g_loss]


# --- what to measure -------------------------------------------------------------------------

def ring_coverage(points: Any, share: float = 0.25) -> dict[str, Any]:
    """Modes of the ring holding at least ``share`` of their fair share of ``points`` (within 3σ), and the share of good points (00_gan_2d)."""
    points = np.asarray(points, np.float32)
    if points.ndim != 2 or points.shape[1] != 2 or not len(points):
        raise ValueError(f"points must be an (n, 2) array of points, got shape {points.shape}")
    distances = np.linalg.norm(points[:, None, :] - ring_centres()[None], axis=-1)
    nearest, close = distances.argmin(1), distances.min(1) < 3 * RING_STD
    counts = np.bincount(nearest[close], minlength=RING_MODES)
    fair = len(points) / RING_MODES
    return {"modes": int((counts >= share * fair).sum()), "good": float(close.mean()),
            "counts": counts.tolist()}


def generated_points(state: gh.GANState, n: int = 1_000, seed: int = 1234) -> np.ndarray:
    """``n`` samples of G for fixed z (the same points every call, as 04's frames) (00_gan_2d)."""
    z = np.random.default_rng(gh._check_int("seed", seed, minimum=0)).normal(size=(gh._check_int("n", n), LATENT_2D))
    return state.generator(z.astype(np.float32), training=False).numpy()


def d_surface(discriminator: keras.Model, steps: int = 60) -> np.ndarray:
    """D(x) = σ(logit) on a ``steps`` × ``steps`` grid over the figure's square, rows from the bottom (00_gan_2d)."""
    axis = np.linspace(-EXTENT, EXTENT, gh._check_int("steps", steps, minimum=2), dtype=np.float32)
    grid = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
    return tf.sigmoid(discriminator(grid, training=False)).numpy().reshape(steps, steps)


def g_push(discriminator: keras.Model, points: Any, g_loss: str = "non_saturating") -> np.ndarray:
    """−∂(G's loss)/∂x at each sample: where G's update moves it (its gradient on the sample) (00_gan_2d)."""
    loss_fn = _loss(g_loss)
    x = tf.convert_to_tensor(np.asarray(points, np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = loss_fn(discriminator(x, training=False)) * tf.cast(tf.shape(x)[0], tf.float32)
    return -tape.gradient(loss, x).numpy()


# --- playing the game ------------------------------------------------------------------------

class Game:
    """A 2-D GAN being played: its state, step, data and what was measured so far (00_gan_2d).

    ``advance(n)`` runs ``n`` updates of the kit's train step on fresh real batches, then measures
    G's samples (modes covered, share of good points) and keeps the step's numbers in ``history``.
    """

    def __init__(self, data: str = "ring", *, seed: int = 0, d_steps: int = 1, g_loss: str = "non_saturating",
                 g_learning_rate: float = 1e-3, d_learning_rate: float = 1e-3, minibatch_std: bool = False,
                 batch_size: int = BATCH_2D) -> None:
        sample_points(data, 1)  # checks the name
        self.data, self.seed, self.batch_size = data, seed, gh._check_int("batch_size", batch_size)
        self.state = new_toy_state(seed, g_learning_rate, d_learning_rate, minibatch_std=minibatch_std)
        self.set_rules(g_loss, d_steps)
        self.steps, self._draws = 0, np.random.default_rng(seed)
        self.history: dict[str, list[Any]] = {k: [] for k in ("step", "modes", "good", "g_loss", "d_loss",
                                                                  "d_real", "d_fake", "g_grad_norm")}

    def set_rules(self, g_loss: str, d_steps: int) -> None:
        """Change G's loss or the D steps per G step from here on (a new step function, same players)."""
        self.step, self.g_loss, self.d_steps = make_step(self.state, g_loss, d_steps), g_loss, d_steps
        self._steps = _in_one_call(self.step)

    def set_learning_rates(self, g_learning_rate: float, d_learning_rate: float) -> None:
        """New learning rates for the two Adams, keeping their moments."""
        for optimizer, rate in ((self.state.g_optimizer, g_learning_rate), (self.state.d_optimizer, d_learning_rate)):
            optimizer.learning_rate.assign(gh._check_rate("learning_rate", rate, 1e-12, 1))

    def advance(self, n: int = 100) -> dict[str, Any]:
        """``n`` updates, then one measurement of G's samples; that measurement."""
        batches = [sample_points(self.data, self.batch_size, seed=int(self._draws.integers(2**31)))
                   for _ in range(gh._check_int("n", n))]
        numbers = self._steps(tf.constant(np.stack(batches)))
        self.steps += n
        found = {"step": self.steps, **{k: float(numbers[k]) for k in ("g_loss", "d_loss", "d_real", "d_fake",
                                                                         "g_grad_norm")}}
        if self.data == "ring":
            found.update({k: v for k, v in ring_coverage(generated_points(self.state)).items() if k != "counts"})
        for key in self.history:
            self.history[key].append(found.get(key))
        return found


def _in_one_call(step: Callable) -> Callable:
    """``step`` on each of a stack of batches, in one graph call: a 2-D update is so small that calling
    it from Python, once per update, took longer than the update (about 2.5 times as long)."""
    @tf.function(input_signature=[tf.TensorSpec([None, None, 2], tf.float32)])
    def steps(batches: tf.Tensor) -> dict[str, tf.Tensor]:
        numbers = step(batches[0])
        for i in tf.range(1, tf.shape(batches)[0]):
            numbers = step(batches[i])
        return numbers
    return steps


def play(game: Game, steps: int, every: int = 100, live: Any = None) -> Game:
    """Advance ``game`` by ``steps`` updates, measuring (and redrawing ``live``, a LiveFigure) every ``every`` (00_gan_2d)."""
    gh._check_int("steps", steps)
    gh._check_int("every", every)
    for _ in range(steps // every):
        game.advance(every)
        if live is not None:
            live.show(game)
    return game


# --- the picture -----------------------------------------------------------------------------

def draw(game: Game, title: str = "", arrows: int = 120):
    """Real (grey) and generated (orange) points over D(x) as a heat map with its 0.5 contour, and G's push on its samples (00_gan_2d)."""
    import matplotlib.pyplot as plt
    if not isinstance(game, Game):
        raise TypeError(f"game must be a g2.Game, got {type(game).__name__}")
    fig, (ax, curves) = plt.subplots(1, 2, figsize=(9.2, 4.4), gridspec_kw={"width_ratios": [1.15, 1]})
    surface = d_surface(game.state.discriminator)
    shown = ax.imshow(surface, origin="lower", extent=(-EXTENT, EXTENT, -EXTENT, EXTENT), cmap="RdBu_r",
                      vmin=0, vmax=1, alpha=0.8, interpolation="bilinear")
    axis = np.linspace(-EXTENT, EXTENT, surface.shape[0])
    ax.contour(axis, axis, surface, levels=[0.5], colors="k", linewidths=1)
    real, fake = sample_points(game.data, 500, seed=99), generated_points(game.state, 500)
    ax.scatter(*real.T, s=3, c="0.35", label="real")
    ax.scatter(*fake.T, s=4, c="tab:orange", label="generated")
    push = g_push(game.state.discriminator, fake[:arrows], game.g_loss)
    ax.quiver(*fake[:arrows].T, *push.T, color="k", alpha=0.6, angles="xy", width=0.004, scale=None)
    ax.set(xlim=(-EXTENT, EXTENT), ylim=(-EXTENT, EXTENT), aspect="equal",
           title=title or f"step {game.steps}: {game.g_loss.replace('_', '-')} loss, {game.d_steps} D step(s)")
    ax.legend(loc="lower left", fontsize=8, framealpha=0.8)
    fig.colorbar(shown, ax=ax, fraction=0.046, label="D(x): the chance D says real")
    _draw_curves(curves, game.history)
    fig.subplots_adjust(left=0.06, right=0.93, bottom=0.12, top=0.91, wspace=0.42)  # tight_layout: 3× the time
    return fig


def _draw_curves(ax: Any, history: dict[str, list[Any]]) -> None:
    ax.plot(history["step"], history["d_real"], label="D(real)")
    ax.plot(history["step"], history["d_fake"], label="D(generated)")
    ax.axhline(0.5, color="0.6", lw=0.8, ls=":")
    if any(m is not None for m in history["modes"]):
        right = ax.twinx()
        right.step(history["step"], history["modes"], where="post", color="tab:green", label="modes covered")
        right.set(ylim=(-0.3, RING_MODES + 0.3), ylabel="ring modes covered (of 8)")
        right.legend(loc="upper right", fontsize=8)
    ax.set(ylim=(0, 1), xlabel="update", ylabel="D's mean output", title="the game so far")
    ax.legend(loc="upper left", fontsize=8)


def png(fig: Any) -> bytes:
    """A matplotlib figure as PNG bytes, closed afterwards (00_gan_2d)."""
    import matplotlib.pyplot as plt
    if not hasattr(fig, "savefig"):
        raise TypeError(f"fig must be a matplotlib figure, got {type(fig).__name__}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return buffer.getvalue()


class LiveFigure:
    """One output area redrawn in place while a game is played (``play(..., live=LiveFigure())``) (00_gan_2d)."""

    def __init__(self) -> None:
        from IPython.display import HTML, Image, display
        self._image, self.frames = Image, 0
        self._handle = display(HTML("<i>the game starts…</i>"), display_id=True)

    def show(self, game: Game) -> None:
        self._handle.update(self._image(data=png(draw(game))))
        self.frames += 1


class Playground:
    """The game under your hands: play / pause, one step, learning rates, G's loss, D steps, data, reset (00_gan_2d).

    Uses only widgets that ipywidgets 7.7 (Colab) and 8 share. Each tick of the Play button runs
    ``steps_per_frame`` updates and redraws the picture.
    """

    def __init__(self, data: str = "ring", seed: int = 0, steps_per_frame: int = 25) -> None:
        import ipywidgets as widgets
        self.seed, self.steps_per_frame = seed, gh._check_int("steps_per_frame", steps_per_frame)
        self.play = widgets.Play(value=0, min=0, max=10**6, interval=400, description="play")
        self.one_step = widgets.Button(description="one step", tooltip="a single update, then redraw")
        self.reset_button = widgets.Button(description="reset", tooltip="new players, same settings")
        self.data = widgets.Dropdown(options=list(DATASETS), value=data, description="data")
        self.g_lr = widgets.FloatLogSlider(value=1e-3, base=10, min=-5, max=-2, description="G's lr")
        self.d_lr = widgets.FloatLogSlider(value=1e-3, base=10, min=-5, max=-2, description="D's lr")
        self.g_loss = widgets.ToggleButtons(options=[("non-saturating", "non_saturating"), ("minimax", "minimax")],
                                            description="G's loss")
        self.d_steps = widgets.IntSlider(value=2, min=1, max=5, description="D steps")
        self.image, self.readout = widgets.Image(format="png"), widgets.HTML()
        self.play.observe(lambda change: self.advance(self.steps_per_frame), "value")
        self.one_step.on_click(lambda button: self.advance(1))
        self.reset_button.on_click(lambda button: self.reset())
        self.data.observe(lambda change: self.reset(), "value")
        for rates in (self.g_lr, self.d_lr):
            rates.observe(lambda change: self.game.set_learning_rates(self.g_lr.value, self.d_lr.value), "value")
        for rule in (self.g_loss, self.d_steps):
            rule.observe(lambda change: self.game.set_rules(self.g_loss.value, self.d_steps.value), "value")
        controls = widgets.VBox([widgets.HBox([self.play, self.one_step, self.reset_button, self.data]),
                                 widgets.HBox([self.g_lr, self.d_lr]), widgets.HBox([self.g_loss, self.d_steps])])
        self.widget = widgets.VBox([controls, self.image, self.readout])
        self.reset()

    def reset(self) -> None:
        """New players with the current settings, drawn before any update."""
        self.game = Game(self.data.value, seed=self.seed, d_steps=self.d_steps.value, g_loss=self.g_loss.value,
                         g_learning_rate=self.g_lr.value, d_learning_rate=self.d_lr.value)
        self.redraw()

    def advance(self, n: int) -> None:
        """``n`` updates with the current settings, then redraw."""
        self.game.advance(n)
        self.redraw()

    def redraw(self) -> None:
        self.image.value = png(draw(self.game))
        last = {k: v[-1] for k, v in self.game.history.items() if v and v[-1] is not None}
        self.readout.value = (f"update {self.game.steps}" + (f" · D(real) {last['d_real']:.2f}, "
                              f"D(generated) {last['d_fake']:.2f}" if "d_real" in last else "")
                              + (f" · {last['modes']} of 8 modes covered" if "modes" in last else ""))

    def _ipython_display_(self) -> None:
        from IPython.display import display
        display(self.widget)
