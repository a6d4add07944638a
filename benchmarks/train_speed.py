"""The kit's DCGAN train step against the TensorFlow DCGAN tutorial's, on this machine (README, "Speed").

Builds, in one process, the tutorial's generator, discriminator and train step
(https://www.tensorflow.org/tutorials/generative/dcgan: 5×5 kernels, a 7×7×256
projection, Adam 1e-4, batch 256, float32) and the kit's (speed.new_fast_state +
speed.make_fast_step of gan_extras/speed.py with the kit's defaults, float32: in
float32 on one device that is gh.make_train_step's step, a test pins it), plus
variants of the kit's step that each change one speed setting (the tutorial's
network size, batch 256, mixed_bfloat16, XLA). Warms all up, then times them in alternating rounds so
that all see the same machine load. Prints images/second for each (median over
rounds), the ratio to the tutorial, seconds per 60,000-image epoch, and the
FLOPs-based utilization: multiply-adds of both networks counted layer by layer,
forward and backward, divided by a measured matrix-multiply peak of this machine.

With MNIST available it also times the kit's real input pipeline and per-step
host work (gh.make_dataset + what gh.train does every step) against a constant
batch. With --replicas N it instead splits the CPU into N logical devices and
times the kit's step under tf.distribute.MirroredStrategy against one device.

Run: make bench-train   (or .venv/bin/python benchmarks/train_speed.py --rounds 8 --steps 10)
It prints figures and asserts nothing; close other programs first.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import gan_helpers as gh  # noqa: E402
from gan_extras import speed  # noqa: E402

TUTORIAL_BATCH = 256
NOISE_DIM = 100

#: The kit's step with one speed setting changed each: name → (new_fast_state options, make_fast_step options, batch).
VARIANTS = {
    "kit": ({}, {}, gh.BATCH_SIZE),
    "kit, tutorial size": ({"kernel_size": 5, "projection_channels": 256}, {}, gh.BATCH_SIZE),
    "kit, batch 256": ({}, {}, 256),
    "kit, mixed_bfloat16": ({"precision": "mixed_bfloat16"}, {}, gh.BATCH_SIZE),
    "kit, XLA": ({}, {"jit_compile": True}, gh.BATCH_SIZE),
}


def tutorial_models() -> tuple[keras.Model, keras.Model]:
    """The tutorial's make_generator_model and make_discriminator_model, verbatim in Keras 3 form."""
    layers = keras.layers
    generator = keras.Sequential([
        keras.Input((NOISE_DIM,)),
        layers.Dense(7 * 7 * 256, use_bias=False), layers.BatchNormalization(), layers.LeakyReLU(),
        layers.Reshape((7, 7, 256)),
        layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
        layers.BatchNormalization(), layers.LeakyReLU(),
        layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
        layers.BatchNormalization(), layers.LeakyReLU(),
        layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False, activation="tanh"),
    ])
    discriminator = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(64, 5, strides=2, padding="same"), layers.LeakyReLU(), layers.Dropout(0.3),
        layers.Conv2D(128, 5, strides=2, padding="same"), layers.LeakyReLU(), layers.Dropout(0.3),
        layers.Flatten(), layers.Dense(1),
    ])
    return generator, discriminator


def tutorial_step(generator: keras.Model, discriminator: keras.Model):
    """The tutorial's train_step: two tapes, BCE on logits, Adam(1e-4) for both players."""
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
    g_opt, d_opt = keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)

    @tf.function
    def train_step(images):
        noise = tf.random.normal([TUTORIAL_BATCH, NOISE_DIM])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated = generator(noise, training=True)
            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated, training=True)
            gen_loss = cross_entropy(tf.ones_like(fake_output), fake_output)
            disc_loss = (cross_entropy(tf.ones_like(real_output), real_output)
                         + cross_entropy(tf.zeros_like(fake_output), fake_output))
        g_grads = gen_tape.gradient(gen_loss, generator.trainable_variables)
        d_grads = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        g_opt.apply_gradients(zip(g_grads, generator.trainable_variables))
        d_opt.apply_gradients(zip(d_grads, discriminator.trainable_variables))
        return gen_loss

    return train_step


def step_flops_per_image(generator: keras.Model, discriminator: keras.Model) -> float:
    """FLOPs of one GAN step per image: G forward + backward (input and weight gradients) = 3 G;
    D on real: forward + weight gradients = 2 D; D on fake: forward + weight gradients + the input
    gradient the generator's tape needs = 3 D. One multiply-add = 2 FLOPs."""
    return 2.0 * (3 * speed.multiply_adds(generator) + 5 * speed.multiply_adds(discriminator))


def matmul_peak(dtype: tf.DType = tf.float32, n: int = 2_048, repeats: int = 20) -> float:
    """Measured matrix-multiply throughput of this machine in FLOP/s (best of 5)."""
    a = tf.random.normal([n, n], dtype=tf.float32)
    a = tf.cast(a, dtype)

    @tf.function
    def chain(x):
        for _ in range(repeats):
            x = tf.matmul(x, a) * tf.cast(1e-2, dtype)
        return x

    chain(a).numpy()
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        chain(a).numpy()
        best = min(best, time.perf_counter() - start)
    return 2.0 * n ** 3 * repeats / best


def timed(step, batches, steps: int) -> float:
    """Seconds for ``steps`` calls of ``step``; ``batches`` is one batch or an iterator of batches."""
    source = batches if hasattr(batches, "__next__") else None
    start = time.perf_counter()
    for _ in range(steps):
        out = step(next(source) if source else batches)
    tf.nest.map_structure(lambda t: t.numpy(), out)  # wait for the last step
    return time.perf_counter() - start


def kit_step(state_options: dict, step_options: dict, strategy=None):
    """The kit's train step (and its models) with some of speed.new_fast_state's / speed.make_fast_step's options
    (float32 unless a precision is given)."""
    state = speed.new_fast_state(**{"precision": "float32", **state_options}, strategy=strategy)
    step = speed.make_fast_step(state, strategy=strategy, **step_options)
    return step, state


def alternate(steps: dict, inputs: dict, rounds: int, n: int) -> dict[str, list[float]]:
    """Images per second of each step, timed in alternating rounds (reversed every other round).

    ``inputs[name]`` is (a batch or an iterator of batches, images per batch)."""
    for name, step in steps.items():  # trace and warm up
        timed(step, inputs[name][0], 3)
    rates = {name: [] for name in steps}
    for r in range(rounds):
        for name in (list(steps) if r % 2 == 0 else list(steps)[::-1]):
            source, size = inputs[name]
            rates[name].append(n * size / timed(steps[name], source, n))
    return rates


def constant_batch(size: int) -> tuple[tf.Tensor, int]:
    return tf.random.uniform([size, 28, 28, 1], -1, 1), size


def host_work(step):
    """What gh.train does on the host every step besides the step: read the values, check them."""
    def run(batch):
        values = {k: float(v) for k, v in step(batch).items()}
        if not all(np.isfinite(list(values.values()))):
            raise FloatingPointError(values)
        return tf.constant(0.0)
    return run


def main(rounds: int = 6, steps: int = 10) -> None:
    print(gh.device_report())
    peak = matmul_peak()
    print(f"matmul peak (2048², best of 5): float32 {peak / 1e9:.0f} GFLOP/s, "
          f"bfloat16 {matmul_peak(tf.bfloat16) / 1e9:.0f} GFLOP/s")

    tut_g, tut_d = tutorial_models()
    steps_ = {"tutorial": tutorial_step(tut_g, tut_d)}
    inputs = {"tutorial": constant_batch(TUTORIAL_BATCH)}
    flops = {"tutorial": step_flops_per_image(tut_g, tut_d)}
    for name, (state_options, step_options, batch) in VARIANTS.items():
        steps_[name], state = kit_step(state_options, step_options)
        inputs[name] = constant_batch(batch)
        flops[name] = step_flops_per_image(state.generator, state.discriminator)
    try:  # the real input pipeline and per-step host work of gh.train, on MNIST
        (x_train, _), _ = gh.load_mnist()
        steps_["kit, real input + host work"] = host_work(steps_["kit"])
        inputs["kit, real input + host work"] = (iter(gh.make_dataset(x_train).repeat()), gh.BATCH_SIZE)
        flops["kit, real input + host work"] = flops["kit"]
    except (OSError, ConnectionError) as error:
        print(f"(no MNIST, so no pipeline line: {error})")

    rates = alternate(steps_, inputs, rounds, steps)
    base = float(np.median(rates["tutorial"]))
    print(f"\n{'':<30}{'batch':>6}{'images/s':>10}{'(min-max)':>13}{'ratio':>7}{'s/epoch':>9}"
          f"{'MFLOP/img':>11}{'utilization':>13}")
    for name, r in rates.items():
        ips = float(np.median(r))
        print(f"{name:<30}{inputs[name][1]:>6}{ips:>10.0f}{f'({min(r):.0f}-{max(r):.0f})':>13}"
              f"{ips / base:>6.2f}x{60_000 / ips:>9.0f}{flops[name] / 1e6:>11.0f}{ips * flops[name] / peak:>12.0%}")
    print(f"\nkit / tutorial images per second: {np.median(rates['kit']) / base:.2f}x  "
          f"({rounds} alternating rounds of {steps} steps; utilization against the float32 peak)")


def distributed(replicas: int, rounds: int, steps: int) -> None:
    """The kit's step on one device against the same step under MirroredStrategy over ``replicas`` CPU halves."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * replicas)
    print(gh.device_report())
    strategy = tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(replicas)])
    mirrored = f"MirroredStrategy, {replicas} replicas"
    steps_, inputs = {}, {"one device": constant_batch(gh.BATCH_SIZE)}
    steps_["one device"], _ = kit_step({}, {})
    steps_[mirrored], _ = kit_step({}, {}, strategy)
    dataset = tf.data.Dataset.from_tensors(inputs["one device"][0]).repeat()
    inputs[mirrored] = (iter(strategy.experimental_distribute_dataset(dataset)), gh.BATCH_SIZE)
    rates = alternate(steps_, inputs, rounds, steps)
    for name, r in rates.items():
        print(f"{name:<34}{np.median(r):>8.0f} images/s  ({min(r):.0f}-{max(r):.0f})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--replicas", type=int, default=0,
                        help="time MirroredStrategy over this many logical CPU devices instead")
    args = parser.parse_args()
    if args.replicas:
        distributed(args.replicas, args.rounds, args.steps)
    else:
        main(args.rounds, args.steps)
