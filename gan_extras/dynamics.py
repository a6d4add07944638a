"""Training dynamics: controlled runs that show why GANs fail, and the switches that fix them (10_training_dynamics).

Each switch of the old ``train`` lives here: the generator loss (``G_LOSSES``, WGAN-GP), one-sided
label smoothing, a decaying learning rate, several discriminator steps per generator step and the
minibatch-standard-deviation feature. ``make_dynamics_step`` is the variant's own train step and
``train_variant`` runs it in the core's loop ``gh.train``, recording the switches in config.json.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

import gan_helpers as gh
from gan_extras import evaluation as ev

# --- The minibatch standard deviation (Karras et al., 2018) ---------------------------------------

# Registered under the old package name, so .keras files saved before the split still load.
@keras.saving.register_keras_serializable(package="gan_helpers")
class MinibatchStdDev(keras.layers.Layer):
    """Appends the batch's mean standard deviation: D sees a batch's variety (10_training_dynamics).

    Karras et al. (2018): a collapsed generator's batch has almost no spread,
    which no single image shows but this feature does. The layer has no weights.
    """

    def call(self, features: tf.Tensor) -> tf.Tensor:
        spread = tf.reduce_mean(tf.math.reduce_std(features, axis=0))
        return tf.concat([features, tf.fill([tf.shape(features)[0], 1], spread)], axis=-1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape[:-1], input_shape[-1] + 1)

def with_minibatch_std(discriminator: keras.Model) -> keras.Model:
    """The discriminator with a ``MinibatchStdDev`` just before its logit (10_training_dynamics).

    Layers, names and order are those of minibatch_std runs saved before the split (… → Flatten
    → minibatch_std → logit), so their checkpoints restore; the new logit starts from the old
    logit's initializer seed. Works for the conditional discriminator (two inputs) too.
    """
    if not isinstance(discriminator, keras.Model):
        raise TypeError(f"discriminator must be a keras.Model, got {type(discriminator).__name__}")
    if not discriminator.layers or discriminator.layers[-1].name != "logit":
        raise ValueError("discriminator must end in the kit's Dense layer named 'logit'")
    if any(isinstance(layer, MinibatchStdDev) for layer in discriminator.layers):
        raise ValueError("discriminator already has a MinibatchStdDev layer")
    return _with_minibatch_std(discriminator)

def _with_minibatch_std(discriminator: keras.Model) -> keras.Model:
    old = discriminator.layers[-1]
    logit = keras.layers.Dense(1, name="logit", dtype="float32", kernel_initializer=old.kernel_initializer,
                               bias_initializer=old.bias_initializer)
    spread = MinibatchStdDev(name="minibatch_std")
    if isinstance(discriminator, keras.Sequential):  # vanilla and DCGAN: Sequential, as before
        shape, name = tuple(discriminator.input_shape)[1:], discriminator.inputs[0].name  # digits, or 00's points
        return keras.Sequential([keras.Input(shape=shape, name=name), *discriminator.layers[:-1],
                                 spread, logit], name=discriminator.name)
    return keras.Model(discriminator.inputs, logit(spread(old.input)), name=discriminator.name)

def _build_discriminator(architecture: str, minibatch_std: bool, kernel_size: int) -> keras.Model:
    plain = (gh.build_vanilla_discriminator() if architecture == "vanilla"
             else gh.build_discriminator(kernel_size=kernel_size))
    return _with_minibatch_std(plain) if minibatch_std else plain

def _check_architecture(architecture: Any) -> str:
    if architecture not in gh.ARCHITECTURES:
        raise ValueError(f"architecture must be one of {list(gh.ARCHITECTURES)}: this lesson takes an unconditional "
                         f"architecture (a conditional run: gan_extras.conditional), got {architecture!r}")
    return architecture

# --- Losses and the learning-rate schedule --------------------------------------------------------

def smoothed_discriminator_loss(real_logits: tf.Tensor, fake_logits: tf.Tensor, label_smoothing: float) -> tf.Tensor:
    """BCE that pushes D(real) → 1 − label_smoothing and D(fake) → 0: one-sided label smoothing (10_training_dynamics)."""
    real_logits, fake_logits = gh._logits("real_logits", real_logits), gh._logits("fake_logits", fake_logits)
    label_smoothing = _check_smoothing(label_smoothing)
    return (gh._bce(tf.fill(tf.shape(real_logits), 1.0 - label_smoothing), real_logits)
            + gh._bce(tf.zeros_like(fake_logits), fake_logits))

def _check_smoothing(label_smoothing: Any) -> float:
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float, np.floating)):
        raise TypeError(f"label_smoothing must be a number in [0, 0.5), got {type(label_smoothing).__name__}")
    if not 0 <= label_smoothing < 0.5:
        raise ValueError(f"label_smoothing must be in [0, 0.5) (real images' target is 1 − it), got {label_smoothing}")
    return float(label_smoothing)

def wasserstein_generator_loss(fake_scores: tf.Tensor) -> tf.Tensor:
    """WGAN's generator loss −E[critic(G(z))]: raise the critic's score of the fakes (10_training_dynamics)."""
    return -tf.reduce_mean(gh._logits("fake_scores", fake_scores))

def critic_loss(real_scores: tf.Tensor, fake_scores: tf.Tensor, penalty: tf.Tensor,
                weight: float = 10.0) -> tf.Tensor:
    """WGAN-GP's critic loss E[f(fake)] − E[f(real)] + weight × penalty (10_training_dynamics)."""
    real_scores = gh._logits("real_scores", real_scores)
    fake_scores = gh._logits("fake_scores", fake_scores)
    return tf.reduce_mean(fake_scores) - tf.reduce_mean(real_scores) + weight * penalty

#: The generator's loss by the name ``train_variant(g_loss=...)`` takes (10_training_dynamics compares them).
#: "wasserstein" also turns D into a WGAN-GP critic (``critic_loss``, penalty weight ``GRADIENT_PENALTY``).
G_LOSSES: dict[str, Callable[[tf.Tensor], tf.Tensor]] = {
    "non_saturating": gh.generator_loss, "minimax": gh.minimax_generator_loss,
    "wasserstein": wasserstein_generator_loss}
GRADIENT_PENALTY = 10.0   # Gulrajani et al. (2017)

def lr_schedule(learning_rate: float, decay_steps: int) -> keras.optimizers.schedules.LearningRateSchedule:
    """The learning rate falling linearly from ``learning_rate`` to 0 over ``decay_steps`` optimizer steps (10_training_dynamics)."""
    gh._check_rate("learning_rate", learning_rate, 1e-12, 1)
    gh._check_int("decay_steps", decay_steps)
    return keras.optimizers.schedules.PolynomialDecay(learning_rate, decay_steps, end_learning_rate=0.0)

# --- The variant's train step and state -----------------------------------------------------------

def make_dynamics_step(generator: keras.Model, discriminator: keras.Model,
                       g_optimizer: keras.optimizers.Optimizer, d_optimizer: keras.optimizers.Optimizer,
                       rng: tf.random.Generator, g_loss_fn: Callable[[tf.Tensor], tf.Tensor] = gh.generator_loss,
                       *, label_smoothing: float = 0.0, d_steps: int = 1, gradient_penalty: float = 0.0) -> Callable:
    """``gh.make_train_step`` with the switches of 10: ``d_steps`` D updates per G update, one-sided ``label_smoothing``, a WGAN-GP critic if ``gradient_penalty`` > 0 (10_training_dynamics)."""
    if gh.is_conditional(generator) or not isinstance(discriminator, keras.Model) or len(discriminator.inputs) != 1:
        raise ValueError("generator, discriminator: this step takes an unconditional pair "
                         "(a conditional one: gan_extras.conditional.make_conditional_step)")
    if not callable(g_loss_fn):
        raise TypeError(f"g_loss_fn must be a function of the fake logits (e.g. gh.generator_loss), got {g_loss_fn!r}")
    label_smoothing = _check_smoothing(label_smoothing)
    gh._check_int("d_steps", d_steps)
    if isinstance(gradient_penalty, bool) or not isinstance(gradient_penalty, (int, float)) or gradient_penalty < 0:
        raise ValueError(f"gradient_penalty must be a number >= 0 (0: the usual discriminator), got {gradient_penalty!r}")
    if gradient_penalty and label_smoothing:
        raise ValueError("gradient_penalty: the WGAN-GP critic here takes no label_smoothing")
    return _dynamics_step(generator, discriminator, g_optimizer, d_optimizer, rng, g_loss_fn,
                          label_smoothing, d_steps, float(gradient_penalty))

def _gradient_penalty(discriminator: keras.Model, rng: tf.random.Generator, real_images: tf.Tensor,
                      fake_images: tf.Tensor) -> tf.Tensor:
    """WGAN-GP: the critic's gradient norm should be 1 on random points between real and fake images."""
    mix = rng.uniform([tf.shape(real_images)[0], 1, 1, 1])
    between = mix * real_images + (1 - mix) * fake_images
    with tf.GradientTape() as inner:
        inner.watch(between)
        scores = discriminator(between, training=True)
    slopes = tf.sqrt(tf.reduce_sum(tf.square(inner.gradient(scores, between)), axis=[1, 2, 3]) + 1e-12)
    return tf.reduce_mean(tf.square(slopes - 1.0))

def _dynamics_step(generator: keras.Model, discriminator: keras.Model, g_optimizer: keras.optimizers.Optimizer,
                   d_optimizer: keras.optimizers.Optimizer, rng: tf.random.Generator, g_loss_fn: Callable,
                   label_smoothing: float, d_steps: int, gradient_penalty: float) -> Callable:
    latent_dim = gh.check_pair(generator, discriminator)  # digits (10) or 2-D points (00)

    def play(real_images):  # the logits of a real batch and of a fresh batch of fakes
        fake_images = generator(rng.normal([tf.shape(real_images)[0], latent_dim]), training=True)
        return discriminator(real_images, training=True), discriminator(fake_images, training=True), fake_images

    def d_loss_of(real_images, real_logits, fake_logits, fake_images):
        if not gradient_penalty:
            return smoothed_discriminator_loss(real_logits, fake_logits, label_smoothing)
        penalty = _gradient_penalty(discriminator, rng, real_images, fake_images)
        return critic_loss(real_logits, fake_logits, penalty, gradient_penalty)

    @tf.function
    def train_step(real_images: tf.Tensor) -> dict[str, tf.Tensor]:
        for _ in tf.range(d_steps - 1) if d_steps > 1 else ():  # extra D-only updates: a graph loop, traced once
            with tf.GradientTape() as d_tape:
                d_loss = d_loss_of(real_images, *play(real_images))
            d_grads = d_tape.gradient(d_loss, discriminator.trainable_variables)
            d_optimizer.apply_gradients(zip(d_grads, discriminator.trainable_variables))
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            real_logits, fake_logits, fake_images = play(real_images)
            g_loss = g_loss_fn(fake_logits)
            d_loss = d_loss_of(real_images, real_logits, fake_logits, fake_images)
        g_grads = g_tape.gradient(g_loss, generator.trainable_variables)
        d_grads = d_tape.gradient(d_loss, discriminator.trainable_variables)
        g_optimizer.apply_gradients(zip(g_grads, generator.trainable_variables))
        d_optimizer.apply_gradients(zip(d_grads, discriminator.trainable_variables))
        return {"g_loss": g_loss, "d_loss": d_loss,
                "d_real": tf.reduce_mean(tf.sigmoid(real_logits)),  # for a critic: σ of its scores
                "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits)),
                "g_grad_norm": tf.linalg.global_norm(g_grads), "d_grad_norm": tf.linalg.global_norm(d_grads)}

    return train_step

def new_dynamics_state(latent_dim: int = gh.LATENT_DIM, learning_rate: float = gh.LEARNING_RATE,
                       beta_1: float = gh.BETA_1, seed: int = 0, architecture: str = "dcgan", *,
                       minibatch_std: bool = False, decay_steps: int = 0, kernel_size: int = gh.KERNEL_SIZE,
                       projection_channels: int = gh.PROJECTION_CHANNELS) -> gh.GANState:
    """``gh.new_gan_state`` with a ``MinibatchStdDev`` discriminator and Adams whose rate falls to 0 over ``decay_steps`` (0: constant) (10_training_dynamics)."""
    _check_state_arguments(latent_dim, learning_rate, beta_1, seed, architecture, kernel_size, projection_channels)
    gh._check_bool("minibatch_std", minibatch_std)
    gh._check_int("decay_steps", decay_steps, minimum=0)
    return _new_state(latent_dim, learning_rate, beta_1, seed, architecture, minibatch_std, decay_steps,
                      kernel_size, projection_channels)

def _check_state_arguments(latent_dim: Any, learning_rate: Any, beta_1: Any, seed: Any, architecture: Any,
                           kernel_size: Any, projection_channels: Any) -> None:
    gh._check_int("latent_dim", latent_dim)
    gh._check_rate("learning_rate", learning_rate, 1e-12, 1)
    gh._check_rate("beta_1", beta_1, 0, 1)
    gh._check_int("seed", seed, minimum=0)
    _check_architecture(architecture)
    gh._check_size(kernel_size, projection_channels)

def _new_state(latent_dim: int, learning_rate: float, beta_1: float, seed: int, architecture: str,
               minibatch_std: bool, decay_steps: int, kernel_size: int, projection_channels: int) -> gh.GANState:
    keras.utils.set_random_seed(seed)  # as gh.new_gan_state: weights and dropout masks follow the seed
    generator = (gh.build_vanilla_generator(latent_dim) if architecture == "vanilla" else
                 gh.build_generator(latent_dim, kernel_size=kernel_size, projection_channels=projection_channels))
    discriminator = _build_discriminator(architecture, minibatch_std, kernel_size)
    rate = lr_schedule(learning_rate, decay_steps) if decay_steps else learning_rate
    optimizers = tuple(keras.optimizers.Adam(learning_rate=rate, beta_1=beta_1) for _ in range(2))
    return gh.new_gan_state(latent_dim, learning_rate, beta_1, seed, generator, discriminator,
                            architecture, optimizers=optimizers)

# --- A run with the switches, in the core's loop --------------------------------------------------

#: gh.train's own keyword arguments and defaults (train_variant passes them on).
_TRAIN_DEFAULTS = {name: p.default for name, p in inspect.signature(gh.train).parameters.items()
                   if p.kind is p.KEYWORD_ONLY and name not in ("state", "step", "callbacks", "settings")}

def train_variant(out_dir: str | os.PathLike[str] | None = None, *, g_loss: str = "non_saturating",
                  label_smoothing: float = 0.0, lr_decay: bool = False, d_steps: int = 1,
                  minibatch_std: bool = False, callbacks: Sequence[Callable] = (), **train_kwargs: Any) -> gh.TrainingRun:
    """``gh.train`` with the switches of 10 (``g_loss`` a ``G_LOSSES`` name, ``label_smoothing``, ``lr_decay`` linear to 0 over the run, ``d_steps``, ``minibatch_std``), all recorded in config.json (10_training_dynamics)."""
    unknown = sorted(set(train_kwargs) - set(_TRAIN_DEFAULTS))
    if unknown:
        raise TypeError(f"train_variant got unexpected arguments {unknown} (it builds its own state, step and "
                        f"settings); it passes on gh.train's {sorted(_TRAIN_DEFAULTS)}")
    run = {**_TRAIN_DEFAULTS, **train_kwargs}
    if g_loss not in G_LOSSES:
        raise ValueError(f"g_loss must be one of {sorted(G_LOSSES)}, got {g_loss!r}")
    label_smoothing = _check_smoothing(label_smoothing)
    if g_loss == "wasserstein" and (label_smoothing or run["architecture"] not in gh.ARCHITECTURES):
        raise ValueError("g_loss='wasserstein' (WGAN-GP) takes an unconditional architecture and no label_smoothing")
    gh._check_bool("lr_decay", lr_decay)
    gh._check_int("d_steps", d_steps)
    gh._check_bool("minibatch_std", minibatch_std)
    _check_state_arguments(*(run[k] for k in ("latent_dim", "learning_rate", "beta_1", "seed", "architecture",
                                              "kernel_size", "projection_channels")))
    if run["x_train"] is None:  # loaded here: the number of steps sets the schedule's length
        (run["x_train"], _), _ = gh.load_mnist()
    n_train = None if run["n_train"] is None else gh._check_int("n_train", run["n_train"])
    n_images = len(gh._check_images("x_train", run["x_train"])[:n_train])
    steps = gh._check_int("epochs", run["epochs"]) * (n_images // gh._check_int("batch_size", run["batch_size"]))
    settings = {"g_loss": g_loss, "label_smoothing": label_smoothing, "d_steps": int(d_steps),
                "lr_decay_steps": steps if lr_decay else 0, "minibatch_std": bool(minibatch_std)}
    state = _new_state(*(run[k] for k in ("latent_dim", "learning_rate", "beta_1", "seed", "architecture")),
                       settings["minibatch_std"], settings["lr_decay_steps"], run["kernel_size"],
                       run["projection_channels"])
    step = _dynamics_step(state.generator, state.discriminator, state.g_optimizer, state.d_optimizer, state.rng,
                          G_LOSSES[g_loss], label_smoothing, int(d_steps),
                          GRADIENT_PENALTY if g_loss == "wasserstein" else 0.0)
    return gh.train(out_dir, **{**train_kwargs, "x_train": run["x_train"]}, state=state, step=step,
                    callbacks=callbacks, settings=settings)

# --- The controlled runs of 10_training_dynamics --------------------------------------------------

#: One change each against the baseline (the kit's recipe), by name: (what it shows, ``train_variant`` settings).
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
    """Length of each controlled run: full, class or quick mode (10_training_dynamics)."""
    if gh.quick_mode():
        return {"architecture": "vanilla", "epochs": 2, "n_train": 384, "batch_size": 128, "frechet_n": 256}
    if gh.class_mode():  # minutes per run, so a class sees each setting's effect; the batch of 04's class mode
        return {"architecture": "vanilla", "epochs": 3, "n_train": 2_400, "batch_size": 16, "frechet_n": 1_000}
    return {"architecture": "vanilla", "epochs": 10, "n_train": None, "batch_size": 128, "frechet_n": 1_000}

def run_experiments(names: Sequence[str], out_root: str | os.PathLike[str], *, architecture: str = "vanilla",
                    epochs: int = 10, n_train: int | None = None, batch_size: int = gh.BATCH_SIZE,
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
    gh._check_int("epochs", epochs)
    n_train = None if n_train is None else gh._check_int("n_train", n_train)
    if x_train is None:
        (x_train, _), _ = gh.load_mnist()
    histories = {}
    for name in names:
        run_dir = Path(out_root) / name
        if verbose:
            print(f"── {name}: {DYNAMICS_EXPERIMENTS[name][0]}", flush=True)
        done = gh.checkpoint_epochs(run_dir)
        finished = bool(done) and done[-1] >= epochs and (run_dir / "history.json").is_file()
        if finished and verbose:  # still through train_variant: a run of other settings is refused by name
            print(f"   already trained ({done[-1]} epochs): read from {run_dir}", flush=True)
        # The Fréchet distance (06) of frechet_n samples to the first frechet_n training images, each epoch.
        measure = ev.frechet_callback(x_train[:n_train], frechet_n, 1, 1234, epochs=epochs)
        run = train_variant(run_dir, architecture=architecture, epochs=epochs, n_train=n_train,
                            batch_size=batch_size, seed=seed, x_train=x_train, checkpoint_every=min(5, epochs),
                            verbose=0 if finished else verbose, callbacks=[measure], **DYNAMICS_EXPERIMENTS[name][1])
        histories[name] = gh._history_up_to(run_dir, epochs, gh.HISTORY_KEYS) if finished else run.history
    return histories

def gradient_probe(steps: int = 200, *, g_loss: str = "non_saturating", architecture: str = "vanilla",
                   batch_size: int = gh.BATCH_SIZE, seed: int = 0, x_train: np.ndarray | None = None,
                   d_steps: int = 1) -> dict[str, np.ndarray]:
    """Per-step generator gradient norm, D(G(z)) and losses over the first ``steps`` updates of a fresh GAN (10_training_dynamics)."""
    gh._check_int("steps", steps)
    if g_loss not in G_LOSSES:
        raise ValueError(f"g_loss must be one of {sorted(G_LOSSES)}, got {g_loss!r}")
    _check_architecture(architecture)
    gh._check_int("batch_size", batch_size)
    gh._check_int("d_steps", d_steps)
    if x_train is None:
        (x_train, _), _ = gh.load_mnist()
    x_train = gh._check_images("x_train", x_train)
    state = gh.new_gan_state(seed=seed, architecture=architecture)
    step = _dynamics_step(state.generator, state.discriminator, state.g_optimizer, state.d_optimizer, state.rng,
                          G_LOSSES[g_loss], 0.0, d_steps, GRADIENT_PENALTY if g_loss == "wasserstein" else 0.0)
    dataset = gh.make_dataset(x_train[: steps * batch_size], batch_size, seed=seed).repeat()
    trace: dict[str, list[float]] = {k: [] for k in ("g_grad_norm", "d_fake", "d_real", "g_loss", "d_loss")}
    for batch in dataset.take(steps):
        values = step(batch)
        for key in trace:
            trace[key].append(float(values[key]))
    return {key: np.array(v) for key, v in trace.items()}

def _check_histories(histories: Any) -> None:
    if not isinstance(histories, dict) or not histories:
        raise ValueError("histories must be a non-empty dict of name -> history (dyn.run_experiments)")

#: Axis labels in words, with units, for the per-epoch history keys.
AXIS_LABELS = {"frechet": "Fréchet distance (lower is better)", "d_fake": "D(G(z)), mean probability 'real'",
               "d_real": "D(x), mean probability 'real'", "seconds": "seconds per epoch", "images_per_second":
               "images per second", "g_grad_norm": "‖∇ generator loss‖", "d_grad_norm": "‖∇ discriminator loss‖"}

def plot_experiments(histories: dict[str, dict[str, list]], key: str = "frechet", title: str = "",
                     log: bool | None = None, ax: Any = None):
    """One curve per run of a history key against the epoch, e.g. the Fréchet distance (10_training_dynamics)."""
    import matplotlib.pyplot as plt
    _check_histories(histories)
    numbers = [k for k in gh.HISTORY_KEYS if k not in ("epoch", "digit_shares")]
    if key not in numbers:
        raise ValueError(f"key must be a per-epoch number in the history, one of {numbers}, got {key!r}")
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 3.8))
    for i, (name, h) in enumerate(histories.items()):
        points = [(e, v) for e, v in zip(h["epoch"], h.get(key, [])) if v is not None]
        if points:
            ax.plot(*zip(*points), "o-" if i < 10 else "s--", ms=3, label=name)
    log = key == "frechet" if log is None else log
    label = AXIS_LABELS.get(key, key.replace("_", " "))
    ax.set(xlabel="epoch", ylabel=label + (", log scale" if log else ""), title=title or label,
           yscale="log" if log else "linear")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig

def plot_digit_shares_over_epochs(histories: dict[str, dict[str, list]]):
    """For each run, a heat map of how often each digit is drawn, epoch by epoch: a missing digit is a dark column (10_training_dynamics)."""
    import matplotlib.pyplot as plt
    _check_histories(histories)
    fig, axes = plt.subplots(1, len(histories), figsize=(4.2 * len(histories), 3.4), squeeze=False)
    for ax, (name, h) in zip(axes[0], histories.items()):
        rows = [(e, s) for e, s in zip(h["epoch"], h.get("digit_shares", [])) if s is not None]
        if not rows:
            plt.close(fig)
            raise ValueError(f"histories[{name!r}] has no digit_shares: train with the callback ev.frechet_callback")
        epochs, shares = zip(*rows)
        image = ax.imshow(np.array(shares), aspect="auto", cmap="magma", vmin=0, vmax=0.3,
                          extent=(-0.5, 9.5, epochs[-1] + 0.5, epochs[0] - 0.5))
        ax.set(xticks=range(10), xlabel="digit (as the classifier reads it)", ylabel="epoch", title=name,
               yticks=epochs[:: max(1, len(epochs) // 10)])  # whole epochs: the automatic ticks fall between
    fig.colorbar(image, ax=axes[0].tolist(), label="share of samples (0.1 = fair)")
    return fig
