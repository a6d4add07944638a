"""Weight averaging: an exponential moving average of the generator's weights, kept while it trains (10_training_dynamics).

G's weights jitter from step to step as it chases a moving discriminator; the average of the
recent weights sits near the middle of that jitter and draws cleaner digits (Yazıcı et al. 2019,
"The unusual effectiveness of averaging in GAN training"; ProGAN, StyleGAN and BigGAN sample from
such an average). The average never trains: it is a second copy of G whose weights follow G's,

    average = decay * average + (1 - decay) * G        after every step,

so it forgets a step's weights after about 1 / (1 - decay) steps (1,000 for 0.999, two epochs of
MNIST). The run's frames, Fréchet distances and export all sample the average.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

import gan_helpers as gh
from gan_extras import conditional as cond
from gan_extras import dynamics as dyn
from gan_extras import evaluation as ev

#: The decay the shipped generators were trained with (1 / (1 - 0.999) = 1,000 steps remembered).
EMA_DECAY = 0.999


@dataclasses.dataclass
class AveragedState(gh.GANState):
    """A GANState plus the moving average of G's weights, checkpointed with the run (10_training_dynamics)."""

    average: keras.Model | None = None
    decay: float = EMA_DECAY

    @property
    def sampler(self) -> keras.Model:
        """The moving average: what frames, evaluations and the export draw from."""
        return self.average

    def checkpoint(self) -> tf.train.Checkpoint:
        """The core state's checkpoint, tracking the average as ``average_generator`` too."""
        checkpoint = super().checkpoint()
        checkpoint.average_generator = self.average
        return checkpoint


def _check_decay(decay: Any) -> float:
    if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0 < decay < 1:
        raise ValueError(f"decay must be a number between 0 and 1 (exclusive), e.g. {EMA_DECAY}, got {decay!r}")
    return float(decay)


def _without_average(state: AveragedState) -> gh.GANState:
    return gh.GANState(**{f.name: getattr(state, f.name) for f in dataclasses.fields(gh.GANState)})


def with_averaging(state: gh.GANState, decay: float = EMA_DECAY) -> AveragedState:
    """The same state plus a copy of G whose weights will follow G's moving average (10_training_dynamics)."""
    if not isinstance(state, gh.GANState) or isinstance(state, AveragedState):
        raise TypeError(f"state must be a gh.GANState without an average yet, got {type(state).__name__}")
    average = keras.models.clone_model(state.generator)
    average.set_weights(state.generator.get_weights())
    return AveragedState(**vars(_without_average(state)), average=average, decay=_check_decay(decay))


def make_averaging_step(step: Callable, state: AveragedState) -> Callable:
    """Run ``step``, then move the average a little toward G's weights (10_training_dynamics)."""
    if not isinstance(state, AveragedState):
        raise TypeError(f"state must come from with_averaging(state), got {type(state).__name__}")
    if not callable(step):
        raise TypeError(f"step must be a train step (e.g. gh.make_train_step(...)), got {step}")
    pairs = list(zip(state.average.weights, state.generator.weights))  # BatchNorm's statistics too
    steps_done = state.g_optimizer.iterations

    @tf.function
    def averaging_step(*batch: tf.Tensor) -> dict[str, tf.Tensor]:
        figures = step(*batch)
        # A short memory at first, decay (1 + t) / (10 + t): early frames are not the random start.
        t = tf.cast(steps_done, tf.float32)
        decay = tf.minimum(state.decay, (1.0 + t) / (10.0 + t))
        for average, weight in pairs:
            average.assign(decay * average + (1.0 - decay) * tf.cast(weight, average.dtype))
        return figures

    return averaging_step


def cool_down_schedule(learning_rate: float, hold_steps: int, cool_steps: int) -> Callable[[Any], tf.Tensor]:
    """The learning rate held for ``hold_steps`` optimizer steps, then falling linearly to 0 over ``cool_steps`` (10_training_dynamics)."""
    gh._check_rate("learning_rate", learning_rate, 1e-12, 1)
    gh._check_int("hold_steps", hold_steps, minimum=0)
    line = dyn.lr_schedule(learning_rate, gh._check_int("cool_steps", cool_steps))  # 10's linear decay to 0

    def cool_down(step: Any) -> tf.Tensor:  # constant, then the line, as in CycleGAN's last epochs
        return line(tf.maximum(tf.cast(step, tf.float32) - hold_steps, 0.0))

    return cool_down


def make_cool_down_step(step: Callable, state: gh.GANState, schedule: Callable[[Any], tf.Tensor]) -> Callable:
    """Set both learning rates from ``schedule`` at G's step count, then run ``step`` (10_training_dynamics)."""
    if not callable(schedule):
        raise TypeError(f"schedule must come from cool_down_schedule(...), got {type(schedule).__name__}")
    optimizers = (state.g_optimizer, state.d_optimizer)  # their rates are checkpointed variables: a resumed
    steps_done = state.g_optimizer.iterations            # run takes up the line exactly where it stopped

    @tf.function
    def cool_down_step(*batch: tf.Tensor) -> dict[str, tf.Tensor]:
        rate = schedule(steps_done)
        for optimizer in optimizers:
            optimizer.learning_rate.assign(rate)
        return step(*batch)

    return cool_down_step


def new_averaged_state(architecture: str = "dcgan", decay: float = EMA_DECAY, **state_kwargs: Any) -> AveragedState:
    """A fresh pair of ``architecture`` ("vanilla", "dcgan" or 08's "conditional") with an average of G (10_training_dynamics)."""
    if architecture == "conditional":
        return with_averaging(cond.new_conditional_state(**state_kwargs), decay)
    if architecture not in gh.ARCHITECTURES:
        raise ValueError(f"architecture must be one of {[*gh.ARCHITECTURES, 'conditional']}, got {architecture!r}")
    return with_averaging(gh.new_gan_state(architecture=architecture, **state_kwargs), decay)


def train_averaged(out_dir: str | os.PathLike[str] | None = None, *, decay: float = EMA_DECAY,
                   architecture: str = "dcgan", epochs: int = gh.EPOCHS, learning_rate: float = gh.LEARNING_RATE,
                   beta_1: float = gh.BETA_1, latent_dim: int = gh.LATENT_DIM, seed: int = 0,
                   kernel_size: int = gh.KERNEL_SIZE, projection_channels: int = gh.PROJECTION_CHANNELS,
                   cool_down_epochs: int = 0, callbacks: Sequence[Callable] = (),
                   **train_kwargs: Any) -> gh.TrainingRun:
    """Train (or resume) a run whose frames and checkpoints carry G's moving average, with the core loop (10_training_dynamics).

    The rest of ``train_kwargs`` are ``gh.train``'s; config.json records ``ema_decay`` (and
    ``cool_down_epochs``: over that many last epochs of ``epochs`` both learning rates fall linearly
    to 0), so a run resumes only with the same settings, and the average continues exactly.
    """
    if gh._check_int("cool_down_epochs", cool_down_epochs, minimum=0) >= gh._check_int("epochs", epochs):
        raise ValueError(f"cool_down_epochs must be fewer than epochs ({epochs}), got {cool_down_epochs}")
    size = {} if architecture == "vanilla" else {"kernel_size": kernel_size, "projection_channels": projection_channels}
    state = new_averaged_state(architecture, decay, latent_dim=latent_dim, learning_rate=learning_rate,
                               beta_1=beta_1, seed=seed, **size)
    make_step = cond.make_conditional_step if architecture == "conditional" else gh.make_train_step
    step = make_averaging_step(make_step(state.generator, state.discriminator, state.g_optimizer,
                                         state.d_optimizer, state.rng), state)
    if cool_down_epochs:
        steps = _steps_per_epoch(train_kwargs)
        schedule = cool_down_schedule(learning_rate, (epochs - cool_down_epochs) * steps, cool_down_epochs * steps)
        step = make_cool_down_step(step, state, schedule)
    settings = {"ema_decay": state.decay, **({"cool_down_epochs": cool_down_epochs} if cool_down_epochs else {})}
    return gh.train(out_dir if out_dir is not None else gh.output_dir(f"{architecture}_averaged"), epochs=epochs,
                    learning_rate=learning_rate, beta_1=beta_1, latent_dim=latent_dim, seed=seed,
                    architecture=architecture, **size, state=state, step=step, callbacks=callbacks,
                    settings=settings, **train_kwargs)


def _steps_per_epoch(train_kwargs: dict[str, Any]) -> int:
    """How many steps gh.train will run per epoch with these arguments (full batches of its training images)."""
    x_train, n_train = train_kwargs.get("x_train"), train_kwargs.get("n_train")
    n = len(x_train) if x_train is not None else len(gh.load_mnist()[0][0])
    n = n if n_train is None else min(n, gh._check_int("n_train", n_train))
    return max(1, n // gh._check_int("batch_size", train_kwargs.get("batch_size", gh.BATCH_SIZE)))


def load_averaged_generator(out_dir: str | os.PathLike[str], epoch: int | None = None) -> keras.Model:
    """The moving average of G at a checkpointed epoch (latest if None) of a ``train_averaged`` run (10_training_dynamics)."""
    config = gh.load_config(out_dir)
    if not config.get("ema_decay"):
        raise ValueError(f"out_dir: {out_dir} was trained without weight averaging (no ema_decay in its "
                         "config.json); load its generator with gan_extras.runs.load_generator_from_checkpoint")
    epochs = gh.checkpoint_epochs(out_dir)
    if not epochs:
        raise FileNotFoundError(f"out_dir: no checkpoints in {Path(out_dir) / 'checkpoints'}")
    epoch = epochs[-1] if epoch is None else gh._check_int("epoch", epoch)
    if epoch not in epochs:
        raise ValueError(f"epoch: no checkpoint for epoch {epoch} in {out_dir}; saved epochs are {epochs}")
    size = {k: config[k] for k in ("kernel_size", "projection_channels") if k in config}
    latent_dim = config.get("latent_dim", gh.LATENT_DIM)
    if config.get("architecture") == "conditional":
        generator = cond.build_conditional_generator(latent_dim, **size)
    else:
        generator = gh.build_pair(config.get("architecture", "dcgan"), latent_dim, **size)[0]
    path = str(Path(out_dir) / "checkpoints" / f"ckpt-{epoch}")
    try:
        tf.train.Checkpoint(average_generator=generator).restore(path).expect_partial() \
            .assert_existing_objects_matched()
    except (AssertionError, ValueError, IndexError, tf.errors.OpError) as error:
        raise ValueError(f"checkpoint {path} holds no average of this generator: "
                         f"{str(error).splitlines()[0]}") from error
    return generator


def comparison_callback(x_reference: Any, n: int = 1_000, every: int = 1, seed: int = 1234,
                        epochs: int | None = None,
                        path: str | os.PathLike[str] | None = None) -> Callable[[int, gh.GANState, dict[str, Any]], None]:
    """A ``gh.train`` callback: Fréchet distance of G and of its average side by side, in ``.figures`` and ``path`` (10_training_dynamics).

    ``record["frechet"]`` (history.json) is the average's, as for every run that samples it; with
    ``path`` the figures are also written there (JSON) after each measurement and read back when a
    run resumes, so an interrupted comparison loses nothing.
    """
    averaged, raw = (ev.frechet_callback(x_reference, n, every, seed, epochs) for _ in range(2))
    path = None if path is None else Path(path)
    figures: dict[str, list[Any]] = {"epoch": [], "averaged": [], "generator": []}
    if path is not None and path.is_file():
        figures.update(gh._read_json(path))

    def measure(epoch: int, state: gh.GANState, record: dict[str, Any]) -> None:
        if not isinstance(state, AveragedState):
            raise TypeError("comparison_callback needs a run of train_averaged (an AveragedState)")
        plain: dict[str, Any] = {}
        raw(epoch, _without_average(state), plain)  # the same measurement of G's own weights
        averaged(epoch, state, record)
        if "frechet" not in plain:
            return
        keep = sum(1 for e in figures["epoch"] if e < epoch)  # a resumed run measures again from here
        for key, value in (("epoch", epoch), ("averaged", record["frechet"]), ("generator", plain["frechet"])):
            figures[key][keep:] = [value]
        if path is not None:
            gh._atomic_write_json(path, figures)

    measure.figures = figures  # type: ignore[attr-defined]
    return measure


def averaging_experiment(out_dir: str | os.PathLike[str], *, decay: float = EMA_DECAY, architecture: str = "vanilla",
                         epochs: int = 10, n_train: int | None = None, batch_size: int = gh.BATCH_SIZE,
                         frechet_n: int = 1_000, x_train: np.ndarray | None = None,
                         verbose: int = 0) -> dict[str, list[Any]]:
    """One averaged run with the Fréchet distance of G and of its average every epoch, read back when done (10_training_dynamics)."""
    if x_train is None:
        (x_train, _), _ = gh.load_mnist()
    path = Path(out_dir) / "comparison.json"
    done = gh.checkpoint_epochs(out_dir) if Path(out_dir).is_dir() else []
    if done and done[-1] >= epochs and path.is_file() and gh.load_config(out_dir).get("ema_decay") == decay:
        figures = gh._read_json(path)
        return {key: values[:sum(1 for e in figures["epoch"] if e <= epochs)] for key, values in figures.items()}
    measure = comparison_callback(x_train[:n_train][:frechet_n], frechet_n, 1, epochs=epochs, path=path)
    train_averaged(out_dir, decay=decay, architecture=architecture, epochs=epochs, n_train=n_train,
                   batch_size=batch_size, x_train=x_train, checkpoint_every=min(5, epochs), verbose=verbose,
                   callbacks=[measure])
    return measure.figures


def plot_comparison(figures: dict[str, list[Any]], title: str = "Fréchet distance, with and without averaging"):
    """Fréchet distance per epoch of G and of its moving average (10_training_dynamics)."""
    import matplotlib.pyplot as plt

    if not isinstance(figures, dict) or not {"epoch", "averaged", "generator"} <= set(figures):
        raise ValueError("figures must be comparison_callback(...).figures: epoch, averaged and generator lists")
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(figures["epoch"], figures["generator"], "o-", label="G's own weights")
    ax.plot(figures["epoch"], figures["averaged"], "s-", label="moving average of G")
    ax.set(xlabel="epoch", ylabel="Fréchet distance (lower is better)", title=title)
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    return fig
