"""Bad-input rows of gan_extras.speed (11_training_faster), read by tests/test_bad_inputs.py."""

from __future__ import annotations

import tensorflow as tf
from bad_rows_common import CG, D, G, IMAGES

import gan_helpers as gh
from gan_extras import speed

#: Public names that take no argument a user could get wrong.
NO_ARGUMENTS = {"default_precision", "default_strategy"}


def _state(generator=G, discriminator=D) -> gh.GANState:
    return gh.new_gan_state(generator=generator(), discriminator=discriminator())


def _conditional_state() -> gh.GANState:
    from gan_extras import conditional as cond
    return gh.new_gan_state(generator=CG(), discriminator=cond.build_conditional_discriminator())


ROWS = [
    # Speed settings (README "Speed", tests/test_speed_settings.py)
    ("multiply_adds", lambda t: speed.multiply_adds("generator"), TypeError, "model must be a keras.Model"),
    ("dtype_policy", lambda t: speed.dtype_policy("half"), ValueError, "precision must be 'auto' or one of"),
    ("new_fast_state", lambda t: speed.new_fast_state(precision="float8"), ValueError,
     "precision must be 'auto' or one of"),
    ("new_fast_state", lambda t: speed.new_fast_state(strategy="mirrored"), TypeError,
     "strategy must be a tf.distribute.Strategy"),
    ("train_fast", lambda t: speed.train_fast(t, epochs=1, x_train=IMAGES, precision="half"), ValueError,
     "precision must be"),
    ("train_fast", lambda t: speed.train_fast(t, epochs=1, x_train=IMAGES, strategy="mirrored"), TypeError,
     "strategy must be a tf.distribute.Strategy"),
    ("train_fast", lambda t: speed.train_fast(t, epochs=1, x_train=IMAGES, jit_compile=1), TypeError,
     "jit_compile must be True or False"),
    ("train_fast", lambda t: speed.train_fast(t, epochs=1, x_train=IMAGES, batch_size=0), ValueError,
     "batch_size must be >= 1"),
    ("make_fast_step", lambda t: speed.make_fast_step(_state(), strategy=tf.distribute), TypeError,
     "strategy must be a tf.distribute.Strategy"),
    ("make_fast_step", lambda t: speed.make_fast_step((G(), D())), TypeError, "state must be a gh.GANState"),
    ("make_fast_step", lambda t: speed.make_fast_step(_conditional_state()), ValueError,
     "make_fast_step trains an unconditional pair"),
    ("estimate_epoch_seconds", lambda t: speed.estimate_epoch_seconds(steps=0), ValueError, "steps must be >= 1"),
]
