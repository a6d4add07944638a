"""Training faster: precision, several devices (tf.distribute) and XLA, for the core's loop (11_training_faster).

Speed settings change how fast a run trains, not what it trains (``gh.SPEED_SETTINGS``): a run may
resume with others. ``new_fast_state`` builds the models under a Keras dtype policy (each network's
last layer stays float32) inside a strategy's scope, ``make_fast_step`` is the train step with loss
scaling, replica division and XLA, and ``train_fast`` runs both through ``gh.train``. The measured
figures are in the README, "Speed".
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import keras
import numpy as np
import tensorflow as tf

import gan_helpers as gh

#: Numeric precisions a run takes. "mixed_*": layers compute in 16 bits and keep float32 weights;
#: mixed_float16 also scales the loss so that small gradients do not underflow.
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def default_precision() -> str:
    """What ``precision="auto"`` trains in: mixed_float16 on a GPU, float32 on a CPU (README, "Speed") (11_training_faster)."""
    return "mixed_float16" if tf.config.list_physical_devices("GPU") else "float32"


def default_strategy() -> tf.distribute.Strategy:
    """MirroredStrategy when TensorFlow sees several GPUs, else the default one-device strategy (11_training_faster)."""
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()  # one replica per GPU; gradients summed across them
    return tf.distribute.get_strategy()  # the default strategy: one device, no distribution


def _check_precision(precision: Any) -> str:
    if precision == "auto":
        return default_precision()
    if not isinstance(precision, str) or precision not in PRECISIONS:
        raise ValueError(f"precision must be 'auto' or one of {list(PRECISIONS)}, got {precision!r}")
    return precision


def _check_strategy(strategy: Any) -> tf.distribute.Strategy:
    if strategy is None:
        return tf.distribute.get_strategy()  # the strategy whose scope we are in, else one device
    if not isinstance(strategy, tf.distribute.Strategy):
        raise TypeError("strategy must be a tf.distribute.Strategy (e.g. tf.distribute.MirroredStrategy()) "
                        f"or None, got {type(strategy).__name__}")
    return strategy


def _check_jit(jit_compile: Any, replicas: int) -> bool:
    gh._check_bool("jit_compile", jit_compile)
    if jit_compile and replicas > 1:
        raise ValueError("jit_compile: XLA compilation of the step is for one device; "
                         f"leave it off with several replicas (this strategy has {replicas})")
    return bool(jit_compile)


def dtype_policy(precision: str = "auto") -> contextlib.AbstractContextManager:
    """A ``with`` block in which Keras builds layers in ``precision``; the global policy comes back after it (11_training_faster)."""
    return _policy_scope(_check_precision(precision))


@contextlib.contextmanager
def _policy_scope(precision: str) -> Iterator[None]:
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def multiply_adds(model: keras.Model) -> int:
    """Multiply-adds of one forward pass for one image: a network's cost (11_training_faster)."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            total += int(np.prod(layer.kernel.shape))
        elif isinstance(layer, keras.layers.Conv2DTranspose):  # input pixels scatter k×k×out
            total += int(np.prod(layer.input.shape[1:3])) * int(np.prod(layer.kernel.shape))
        elif isinstance(layer, keras.layers.Conv2D):  # each output pixel gathers k×k×in
            total += int(np.prod(layer.output.shape[1:3])) * int(np.prod(layer.kernel.shape))
    return total


def new_fast_state(precision: str = "auto", strategy: tf.distribute.Strategy | None = None,
                   **state_kwargs: Any) -> gh.GANState:
    """``gh.new_gan_state`` in a precision (loss-scaled Adams for mixed_float16) inside a strategy's scope (11_training_faster)."""
    precision, strategy = _check_precision(precision), _check_strategy(strategy)
    if "optimizers" in state_kwargs:
        raise TypeError("optimizers: new_fast_state makes the optimizers (loss-scaled for mixed_float16); "
                        "use gh.new_gan_state to bring your own")
    return _fast_state(precision, strategy, **state_kwargs)


def _fast_state(precision: str, strategy: tf.distribute.Strategy, **state_kwargs: Any) -> gh.GANState:
    rate = state_kwargs.get("learning_rate", gh.LEARNING_RATE)
    beta_1 = state_kwargs.get("beta_1", gh.BETA_1)

    def optimizer() -> keras.optimizers.Optimizer:
        adam = gh.make_optimizer(rate, beta_1)
        return keras.optimizers.LossScaleOptimizer(adam) if precision == "mixed_float16" else adam

    # Variables (mirrored over the replicas under a strategy), the noise generator and the layers' dtypes.
    with strategy.scope(), _policy_scope(precision):
        return gh.new_gan_state(**state_kwargs, optimizers=(optimizer(), optimizer()))


class _FastStep:
    """A compiled train step that also spreads a dataset over its strategy's replicas (``gh.train`` calls distribute)."""

    def __init__(self, step: Callable, strategy: tf.distribute.Strategy) -> None:
        self.step, self.strategy = step, strategy
        self.replicas = strategy.num_replicas_in_sync

    def __call__(self, real_images: Any) -> dict[str, tf.Tensor]:
        return self.step(real_images)

    def distribute(self, dataset: tf.data.Dataset) -> Any:
        """The dataset unchanged on one replica; else each batch split over the replicas."""
        if self.replicas == 1:
            return dataset
        return self.strategy.experimental_distribute_dataset(dataset)


def make_fast_step(state: gh.GANState, *, strategy: tf.distribute.Strategy | None = None,
                   jit_compile: bool = False, g_loss_fn: Callable = gh.generator_loss) -> _FastStep:
    """The train step of an unconditional pair with loss scaling, the batch split over a strategy's replicas, and XLA (11_training_faster)."""
    if not isinstance(state, gh.GANState):
        raise TypeError(f"state must be a gh.GANState (speed.new_fast_state), got {type(state).__name__}")
    if gh.is_conditional(state.generator) or len(state.discriminator.inputs) == 2:
        raise ValueError("state: make_fast_step trains an unconditional pair; a conditional state (08) trains "
                         "with gan_extras.conditional (make_conditional_step, train_conditional)")
    strategy = _check_strategy(strategy)
    jit_compile = _check_jit(jit_compile, strategy.num_replicas_in_sync)
    if not callable(g_loss_fn):
        raise TypeError(f"g_loss_fn must be a function of the fake logits (e.g. gh.generator_loss), got {g_loss_fn!r}")
    return _fast_step(state, strategy, jit_compile, g_loss_fn)


def _fast_step(state: gh.GANState, strategy: tf.distribute.Strategy, jit_compile: bool,
               g_loss_fn: Callable) -> _FastStep:
    """make_fast_step's step: gh.make_train_step's, plus loss scaling, replicas and XLA."""
    g, d, g_opt, d_opt = state.generator, state.discriminator, state.g_optimizer, state.d_optimizer
    latent_dim, replicas = gh.latent_dim_of(g), strategy.num_replicas_in_sync

    def target(optimizer, loss):
        # The optimizers sum the replicas' gradients, so each replica's loss counts 1/replicas;
        # mixed_float16's LossScaleOptimizer also scales it up (undone when it applies them).
        return optimizer.scale_loss(loss / replicas)

    def norm(optimizer, grads):  # the size of the gradient of the unscaled mean loss
        scale = getattr(optimizer, "dynamic_scale", 1.0)  # a LossScaleOptimizer's scale
        return tf.linalg.global_norm(grads) * replicas / tf.cast(scale, tf.float32)

    def replica_step(real_images):
        z = state.rng.normal([tf.shape(real_images)[0], latent_dim])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake_images = g(z, training=True)
            real_logits = d(real_images, training=True)
            fake_logits = d(fake_images, training=True)
            g_loss, d_loss = g_loss_fn(fake_logits), gh.discriminator_loss(real_logits, fake_logits)
            g_target, d_target = target(g_opt, g_loss), target(d_opt, d_loss)
        g_grads = g_tape.gradient(g_target, g.trainable_variables)
        d_grads = d_tape.gradient(d_target, d.trainable_variables)
        g_opt.apply_gradients(zip(g_grads, g.trainable_variables))
        d_opt.apply_gradients(zip(d_grads, d.trainable_variables))
        return {"g_loss": g_loss, "d_loss": d_loss,
                "d_real": tf.reduce_mean(tf.sigmoid(real_logits)),
                "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits)),
                "g_grad_norm": norm(g_opt, g_grads), "d_grad_norm": norm(d_opt, d_grads)}

    @tf.function(jit_compile=jit_compile)
    def step(real_images):
        if replicas == 1:
            return replica_step(real_images)
        per_replica = strategy.run(replica_step, args=(real_images,))  # each replica: its share
        return {k: strategy.reduce("MEAN", v, axis=None) for k, v in per_replica.items()}

    return _FastStep(step, strategy)


#: gh.new_gan_state's arguments among gh.train's: train_fast builds the state from them.
_STATE_KEYS = ("latent_dim", "learning_rate", "beta_1", "seed", "architecture", "kernel_size", "projection_channels")


def train_fast(out_dir: Any = None, *, precision: str = "auto", strategy: tf.distribute.Strategy | None = None,
               jit_compile: bool = False, **train_kwargs: Any) -> gh.TrainingRun:
    """``gh.train`` in a precision, over a strategy's replicas, optionally with XLA; config.json records all three (11_training_faster).

    ``precision="auto"`` is ``default_precision()``; ``strategy=None`` is ``default_strategy()`` (all GPUs
    when there are several). They change how fast, not what is trained: a run may resume with others.
    """
    precision = _check_precision(precision)
    strategy = default_strategy() if strategy is None else _check_strategy(strategy)
    replicas = strategy.num_replicas_in_sync
    jit_compile = _check_jit(jit_compile, replicas)
    taken = sorted({"state", "step"} & set(train_kwargs))
    if taken:
        raise TypeError(f"{', '.join(taken)}: train_fast builds the state and step itself; use gh.train to pass them")
    batch_size = gh._check_int("batch_size", train_kwargs.get("batch_size", gh.BATCH_SIZE))
    if batch_size % replicas:
        raise ValueError(f"batch_size must split evenly over the strategy's {replicas} replicas, got {batch_size}")
    if train_kwargs.get("architecture", "dcgan") not in gh.ARCHITECTURES:
        raise ValueError(f"architecture must be one of {list(gh.ARCHITECTURES)} (train_fast trains an "
                         f"unconditional pair), got {train_kwargs['architecture']!r}")
    state = _fast_state(precision, strategy, **{k: train_kwargs[k] for k in _STATE_KEYS if k in train_kwargs})
    step = _fast_step(state, strategy, jit_compile, gh.generator_loss)
    speed = {"precision": precision, "replicas": replicas, "jit_compile": jit_compile}
    if train_kwargs.get("verbose", 1):
        print(f"{gh.device_report()}\n{precision}, {replicas} replica(s), XLA {'on' if jit_compile else 'off'}")
    settings = {**(train_kwargs.pop("settings", None) or {}), **speed}
    return gh.train(out_dir, state=state, step=step, settings=settings, **train_kwargs)


def estimate_epoch_seconds(batch_size: int = gh.BATCH_SIZE, steps: int = 8, n_train: int = 60_000,
                           architecture: str = "dcgan") -> float:
    """Time a few train steps after warm-up and extrapolate to one epoch of n_train images (``make run``; 02_vanilla_gan, 11_training_faster)."""
    gh._check_int("batch_size", batch_size)
    gh._check_int("steps", steps)
    gh._check_int("n_train", n_train, minimum=batch_size)
    if architecture not in gh.ARCHITECTURES:
        raise ValueError(f"architecture: the estimate times an unconditional pair {list(gh.ARCHITECTURES)}, "
                         f"got {architecture!r}")
    strategy = tf.distribute.get_strategy()
    state = _fast_state(default_precision(), strategy, architecture=architecture)  # as train_fast would
    step = _fast_step(state, strategy, False, gh.generator_loss)
    batch = tf.random.uniform([batch_size, 28, 28, 1], -1, 1)
    step(batch)  # trace
    start = time.perf_counter()
    for _ in range(steps):
        step(batch)["g_loss"].numpy()
    return (time.perf_counter() - start) / steps * (n_train // batch_size)
