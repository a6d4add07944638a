"""Bad-input rows of gan_extras.dynamics (10_training_dynamics), read by tests/test_bad_inputs.py."""

from __future__ import annotations

import numpy as np
from bad_rows_common import D, G, IMAGES

from gan_extras import dynamics as dyn

#: Public names that take no argument a user could get wrong.
NO_ARGUMENTS = {"MinibatchStdDev", "dynamics_settings"}

_LOGITS = np.zeros((2, 1), np.float32)

ROWS = [
    ("with_minibatch_std", lambda t: dyn.with_minibatch_std("discriminator"), TypeError,
     "discriminator must be a keras.Model"),
    ("with_minibatch_std", lambda t: dyn.with_minibatch_std(G()), ValueError, "must end in the kit's Dense layer"),
    ("smoothed_discriminator_loss", lambda t: dyn.smoothed_discriminator_loss(_LOGITS, _LOGITS, label_smoothing=0.7),
     ValueError, r"label_smoothing must be in \[0, 0.5\)"),
    ("smoothed_discriminator_loss", lambda t: dyn.smoothed_discriminator_loss(_LOGITS, np.zeros((2, 3)), 0.1),
     ValueError, "fake_logits must have shape"),
    ("wasserstein_generator_loss", lambda t: dyn.wasserstein_generator_loss(np.zeros((2, 3), np.float32)), ValueError,
     "fake_scores must have shape"),
    ("critic_loss", lambda t: dyn.critic_loss("high", _LOGITS, 0.0), TypeError, "real_scores must be floating-point"),
    ("lr_schedule", lambda t: dyn.lr_schedule(2e-4, 0), ValueError, "decay_steps must be >= 1"),
    ("lr_schedule", lambda t: dyn.lr_schedule(2.0, 10), ValueError, "learning_rate must be a number in"),
    ("make_dynamics_step", lambda t: dyn.make_dynamics_step(G(), D(), None, None, None, d_steps=0), ValueError,
     "d_steps must be >= 1"),
    ("make_dynamics_step", lambda t: dyn.make_dynamics_step(G(), D(), None, None, None, gradient_penalty=-1),
     ValueError, "gradient_penalty must be a number >= 0"),
    ("make_dynamics_step", lambda t: dyn.make_dynamics_step(G(), D(), None, None, None, gradient_penalty=10.0,
                                                            label_smoothing=0.1), ValueError, "takes no label_smoothing"),
    ("make_dynamics_step", lambda t: dyn.make_dynamics_step(G(), D(), None, None, None, g_loss_fn="minimax"),
     TypeError, "g_loss_fn must be a function"),
    ("new_dynamics_state", lambda t: dyn.new_dynamics_state(decay_steps=-1), ValueError, "decay_steps must be >= 0"),
    ("new_dynamics_state", lambda t: dyn.new_dynamics_state(architecture="conditional"), ValueError,
     "architecture must be one of"),
    ("new_dynamics_state", lambda t: dyn.new_dynamics_state(minibatch_std="yes"), TypeError,
     "minibatch_std must be True or False"),
    ("train_variant", lambda t: dyn.train_variant(t, epochs=1, x_train=IMAGES, g_loss="hinge"), ValueError,
     "g_loss must be one of"),
    ("train_variant", lambda t: dyn.train_variant(t, epochs=1, x_train=IMAGES, label_smoothing=-0.1), ValueError,
     "label_smoothing must be in"),
    ("train_variant", lambda t: dyn.train_variant(t, epochs=1, x_train=IMAGES, d_steps=0), ValueError,
     "d_steps must be >= 1"),
    ("train_variant", lambda t: dyn.train_variant(t, epochs=1, x_train=IMAGES, minibatch_std=1), TypeError,
     "minibatch_std must be True or False"),
    ("train_variant", lambda t: dyn.train_variant(t, epochs=1, x_train=IMAGES, step=print), TypeError,
     "unexpected arguments"),
    ("train_variant", lambda t: dyn.train_variant(t, epochs=0, x_train=IMAGES), ValueError, "epochs must be >= 1"),
    ("run_experiments", lambda t: dyn.run_experiments(["baseline", "no_such_run"], t), ValueError,
     "unknown experiment"),
    ("run_experiments", lambda t: dyn.run_experiments("baseline", t), TypeError, "names must be a non-empty list"),
    ("gradient_probe", lambda t: dyn.gradient_probe(0), ValueError, "steps must be >= 1"),
    ("gradient_probe", lambda t: dyn.gradient_probe(5, g_loss="hinge", x_train=IMAGES), ValueError,
     "g_loss must be one of"),
    ("plot_experiments", lambda t: dyn.plot_experiments({"a": {"epoch": [1]}}, key="colour"), ValueError,
     "key must be a per-epoch number"),
    ("plot_experiments", lambda t: dyn.plot_experiments({}), ValueError, "histories must be a non-empty dict"),
    ("plot_digit_shares_over_epochs", lambda t: dyn.plot_digit_shares_over_epochs(
        {"a": {"epoch": [1], "digit_shares": [None]}}), ValueError, "has no digit_shares"),
]
