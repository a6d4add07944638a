"""Short comparison runs for issue 22's next DCGAN recipe: the shipped run's settings with one change.

    MNIST_NPZ=... nohup .venv/bin/python data/pretrained/in_training/recipe_probe.py wide_d 30 >> wide_d.log 2>&1 &

``wide_d``: a discriminator of 128 and 256 channels without Dropout (the kit's: 64 and 128, Dropout 0.3).
``ttur``: separate learning rates, G 1e-4 and D 4e-4 (the kit's: 2e-4 both).
Everything else is the shipped DCGAN's run (the tutorial's network size, a moving average of G with
decay 0.999, batch 128, seed 0), trained by the core loop with a checkpoint every epoch into
``probes/NAME/`` beside this file, resuming when run again. Its history's ``frechet`` (1,000 samples,
the average's) compares epoch by epoch with the shipped record's ``history["frechet"]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import keras

import gan_helpers as gh
from gan_extras import averaging as avg
from gan_extras import evaluation as ev

VARIANTS = {"wide_d": (2e-4, 2e-4), "ttur": (1e-4, 4e-4)}  # (G's learning rate, D's)


def wide_discriminator() -> keras.Model:
    """The DCGAN discriminator with twice the channels and no Dropout."""
    layers = keras.layers
    return keras.Sequential([
        keras.Input((28, 28, 1), name="image"),
        layers.Conv2D(128, 5, strides=2, padding="same", name="conv_14x14x128"), layers.LeakyReLU(0.2),
        layers.Conv2D(256, 5, strides=2, padding="same", name="conv_7x7x256"), layers.LeakyReLU(0.2),
        layers.Flatten(), layers.Dense(1, name="logit", dtype="float32")], name="wide_discriminator")


def main(name: str, epochs: int) -> None:
    """Train (or resume) the probe ``name`` for ``epochs`` epochs."""
    if name not in VARIANTS:
        raise SystemExit(f"usage: recipe_probe.py {{{'|'.join(VARIANTS)}}} EPOCHS, got {name!r}")
    gh.quiet_tensorflow()
    lr_g, lr_d = VARIANTS[name]
    keras.utils.set_random_seed(0)
    g, d = gh.build_pair("dcgan", gh.LATENT_DIM, kernel_size=5, projection_channels=256)
    state = gh.new_gan_state(discriminator=wide_discriminator() if name == "wide_d" else d, generator=g,
                             optimizers=(gh.make_optimizer(lr_g), gh.make_optimizer(lr_d)))
    state = avg.with_averaging(state, avg.EMA_DECAY)
    step = avg.make_averaging_step(gh.make_train_step(state.generator, state.discriminator, state.g_optimizer,
                                                      state.d_optimizer, state.rng), state)
    (x, _), _ = gh.load_mnist()
    gh.train(Path(__file__).resolve().parent / "probes" / name, epochs=epochs, kernel_size=5,
             projection_channels=256, state=state, step=step, checkpoint_every=1, x_train=x, verbose=2,
             callbacks=[ev.frechet_callback(x[:1_000], 1_000, 1, 1234, epochs)],
             settings={"ema_decay": avg.EMA_DECAY, "variant": name, "lr_g": lr_g, "lr_d": lr_d})


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "", int(sys.argv[2]) if len(sys.argv) > 2 else 30)
