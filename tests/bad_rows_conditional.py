"""Bad-input rows of gan_extras.conditional (08_conditional_gan), read by tests/test_bad_inputs.py."""

from __future__ import annotations

import numpy as np
from bad_rows_common import CG, D, G, IMAGES, MISSING

import gan_helpers as gh
from gan_extras import conditional as cond

#: Public names that take no argument a user could get wrong.
NO_ARGUMENTS: set[str] = set()

ROWS = [
    ("build_conditional_generator", lambda t: cond.build_conditional_generator(0), ValueError,
     "latent_dim must be >= 1"),
    ("build_conditional_generator", lambda t: cond.build_conditional_generator(kernel_size=9), ValueError,
     "kernel_size must be an int from 2 to 7"),
    ("build_conditional_discriminator", lambda t: cond.build_conditional_discriminator(kernel_size=1.5), ValueError,
     "kernel_size must be an int from 2 to 7"),
    ("make_conditional_step", lambda t: cond.make_conditional_step(G(), D(), gh.make_optimizer(), gh.make_optimizer(),
                                                                   None), ValueError, "both be conditional"),
    ("make_conditional_step", lambda t: cond.make_conditional_step(D(), D(), None, None, None), ValueError,
     "generator must map"),
    ("new_conditional_state", lambda t: cond.new_conditional_state(seed=-1), ValueError, "seed must be >= 0"),
    ("new_conditional_state", lambda t: cond.new_conditional_state(beta_1=1.0), ValueError, r"beta_1 must be a number in \[0, 1\)"),
    ("train_conditional", lambda t: cond.train_conditional(t, epochs=1, x_train=IMAGES), ValueError,
     "y_train: architecture='conditional' needs the labels"),
    ("train_conditional", lambda t: cond.train_conditional(t, epochs=0, x_train=IMAGES, y_train=np.zeros(8, int)),
     ValueError, "epochs must be >= 1"),
    ("train_conditional", lambda t: cond.train_conditional(t, x_train=IMAGES, y_train=np.zeros(8, int),
                                                           g_loss_fn="hinge"), TypeError, "g_loss_fn must be a function"),
    ("load_pretrained_conditional_generator", lambda t: cond.load_pretrained_conditional_generator(MISSING),
     FileNotFoundError, "no pretrained conditional generator"),
    ("load_pretrained_conditional_generator",
     lambda t: cond.load_pretrained_conditional_generator(gh.PRETRAINED_GENERATOR_PATH), ValueError, "takes no labels"),
    ("trained_conditional_generator", lambda t: cond.trained_conditional_generator("best"), ValueError,
     "source must be"),
    ("trained_conditional_generator", lambda t: cond.trained_conditional_generator("yours"), FileNotFoundError,
     "source='yours': no checkpoints"),
    ("generate_digits", lambda t: cond.generate_digits(CG(), [3, 11]), ValueError, "labels must be digits 0-9, got 11"),
    ("generate_digits", lambda t: cond.generate_digits(G(), [3]), ValueError, "generator must be conditional"),
    ("make_synthetic_dataset", lambda t: cond.make_synthetic_dataset(G(), 5, t / "s.npz"), ValueError,
     "generator must be conditional"),
    ("make_synthetic_dataset", lambda t: cond.make_synthetic_dataset(CG(), 1, t / "s.csv"), ValueError,
     "ending in .npz"),
    ("evaluate_conditional", lambda t: cond.evaluate_conditional(CG(), n_per_class=1), ValueError,
     "n_per_class must be >= 2"),
]
