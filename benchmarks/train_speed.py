"""The kit's DCGAN train step against the TensorFlow DCGAN tutorial's, on this machine (issue: speed).

Builds, in one process, the tutorial's generator, discriminator and train step
(https://www.tensorflow.org/tutorials/generative/dcgan: Adam 1e-4, batch 256,
float32) and the kit's (gh.new_gan_state + gh.make_train_step at the kit's
batch size), warms both up, then times them in alternating rounds so that both
see the same machine load. Prints images/second for each (median over rounds),
their ratio, seconds per 60,000-image epoch, and the FLOPs-based utilization:
multiply-adds of both networks counted layer by layer, forward and backward,
divided by a measured float32 matrix-multiply peak of this machine.

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

TUTORIAL_BATCH = 256
NOISE_DIM = 100


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


def multiply_adds(model: keras.Model) -> int:
    """Multiply-adds of one forward pass for one image: Dense, Conv2D and Conv2DTranspose layers."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            total += int(layer.kernel.shape[0]) * int(layer.kernel.shape[1])
        elif isinstance(layer, keras.layers.Conv2DTranspose):  # each input position scatters k×k×cin×cout
            _, h, w, _ = layer.input.shape
            kh, kw, cout, cin = layer.kernel.shape
            total += int(h) * int(w) * int(kh) * int(kw) * int(cin) * int(cout)
        elif isinstance(layer, keras.layers.Conv2D):
            _, h, w, _ = layer.output.shape
            kh, kw, cin, cout = layer.kernel.shape
            total += int(h) * int(w) * int(kh) * int(kw) * int(cin) * int(cout)
    return total


def step_flops_per_image(generator: keras.Model, discriminator: keras.Model) -> float:
    """FLOPs of one GAN step per image: G forward + backward (input and weight gradients) = 3 G;
    D on real: forward + weight gradients = 2 D; D on fake: forward + weight gradients + the input
    gradient the generator's tape needs = 3 D. One multiply-add = 2 FLOPs."""
    return 2.0 * (3 * multiply_adds(generator) + 5 * multiply_adds(discriminator))


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


def timed(step, batch, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        out = step(batch)
    tf.nest.map_structure(lambda t: t.numpy(), out)  # wait for the last step
    return time.perf_counter() - start


def main(rounds: int = 6, steps: int = 10) -> None:
    print(gh.device_report())
    peak = matmul_peak()
    print(f"float32 matmul peak (2048², best of 5): {peak / 1e9:.0f} GFLOP/s")

    tut_g, tut_d = tutorial_models()
    tut_step = tutorial_step(tut_g, tut_d)
    tut_batch = tf.random.uniform([TUTORIAL_BATCH, 28, 28, 1], -1, 1)

    state = gh.new_gan_state()
    kit_step = gh.make_train_step(state.generator, state.discriminator, state.g_optimizer,
                                  state.d_optimizer, state.rng)
    kit_batch = tf.random.uniform([gh.BATCH_SIZE, 28, 28, 1], -1, 1)

    for step, batch in ((tut_step, tut_batch), (kit_step, kit_batch)):  # trace and warm up
        timed(step, batch, 3)

    rates = {"tutorial": [], "kit": []}
    for r in range(rounds):
        order = [("tutorial", tut_step, tut_batch), ("kit", kit_step, kit_batch)]
        for name, step, batch in (order if r % 2 == 0 else order[::-1]):
            rates[name].append(steps * int(batch.shape[0]) / timed(step, batch, steps))

    flops = {"tutorial": step_flops_per_image(tut_g, tut_d),
             "kit": step_flops_per_image(state.generator, state.discriminator)}
    print(f"\n{'':<10}{'batch':>7}{'images/s':>11}{'(min-max)':>16}{'s/epoch':>10}{'MFLOP/img':>11}{'utilization':>13}")
    for name, batch in (("tutorial", TUTORIAL_BATCH), ("kit", gh.BATCH_SIZE)):
        ips = float(np.median(rates[name]))
        print(f"{name:<10}{batch:>7}{ips:>11.0f}{f'({min(rates[name]):.0f}-{max(rates[name]):.0f})':>16}"
              f"{60_000 / ips:>10.0f}{flops[name] / 1e6:>11.0f}{ips * flops[name] / peak:>12.0%}")
    ratio = np.median(rates["kit"]) / np.median(rates["tutorial"])
    print(f"\nkit / tutorial images per second: {ratio:.2f}x  ({rounds} alternating rounds of {steps} steps)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    main(args.rounds, args.steps)
