"""Bad-input rows of gan_extras.averaging (10_training_dynamics), read by tests/test_bad_inputs.py."""

from __future__ import annotations

from bad_rows_common import IMAGES, MISSING

import gan_helpers as gh
from gan_extras import averaging as avg

#: Public names that take no argument a user could get wrong (a dataclass filled by with_averaging).
NO_ARGUMENTS: set[str] = {"AveragedState"}


def _plain_run(tmp):
    """A run folder trained without averaging (one epoch of 128 images, vanilla: a second)."""
    gh.train(tmp / "plain", epochs=1, n_train=128, x_train=IMAGES.repeat(16, 0), architecture="vanilla", verbose=0)
    return tmp / "plain"


ROWS = [
    ("with_averaging", lambda t: avg.with_averaging("state"), TypeError, "state must be a gh.GANState"),
    ("with_averaging", lambda t: avg.with_averaging(gh.new_gan_state(architecture="vanilla"), decay=1.0),
     ValueError, "decay must be a number between 0 and 1"),
    ("with_averaging", lambda t: avg.with_averaging(avg.new_averaged_state("vanilla")), TypeError,
     "without an average yet"),
    ("make_averaging_step", lambda t: avg.make_averaging_step(print, gh.new_gan_state(architecture="vanilla")),
     TypeError, "state must come from with_averaging"),
    ("make_averaging_step", lambda t: avg.make_averaging_step("step", avg.new_averaged_state("vanilla")),
     TypeError, "step must be a train step"),
    ("new_averaged_state", lambda t: avg.new_averaged_state("resnet"), ValueError, "architecture must be one of"),
    ("new_averaged_state", lambda t: avg.new_averaged_state("vanilla", decay=-0.5), ValueError,
     "decay must be a number between 0 and 1"),
    ("train_averaged", lambda t: avg.train_averaged(t, decay=True, x_train=IMAGES), ValueError,
     "decay must be a number"),
    ("train_averaged", lambda t: avg.train_averaged(t, epochs=0, architecture="vanilla", x_train=IMAGES),
     ValueError, "epochs must be >= 1"),
    ("train_averaged", lambda t: avg.train_averaged(t, epochs=3, cool_down_epochs=3, x_train=IMAGES), ValueError,
     "cool_down_epochs must be fewer than epochs"),
    ("train_averaged", lambda t: avg.train_averaged(t, cool_down_epochs=-1, x_train=IMAGES), ValueError,
     "cool_down_epochs must be >= 0"),
    ("cool_down_schedule", lambda t: avg.cool_down_schedule(0.0, 10, 10), ValueError, "learning_rate must be"),
    ("cool_down_schedule", lambda t: avg.cool_down_schedule(2e-4, -1, 10), ValueError, "hold_steps must be >= 0"),
    ("cool_down_schedule", lambda t: avg.cool_down_schedule(2e-4, 10, 0), ValueError, "cool_steps must be >= 1"),
    ("make_cool_down_step", lambda t: avg.make_cool_down_step(print, avg.new_averaged_state("vanilla"), 2e-4),
     TypeError, "schedule must come from cool_down_schedule"),
    ("load_averaged_generator", lambda t: avg.load_averaged_generator(MISSING), ValueError,
     "trained without weight averaging"),
    ("load_averaged_generator", lambda t: avg.load_averaged_generator(_plain_run(t)), ValueError,
     "trained without weight averaging"),
    ("comparison_callback", lambda t: avg.comparison_callback(IMAGES, n=1), ValueError, "n must be >= 2"),
    ("comparison_callback", lambda t: avg.comparison_callback(IMAGES[:1]), ValueError,
     "x_reference needs at least 2 images"),
    ("averaging_experiment", lambda t: avg.averaging_experiment(t, decay=2.0, x_train=IMAGES), ValueError,
     "decay must be a number between 0 and 1"),
    ("averaging_experiment", lambda t: avg.averaging_experiment(t, epochs=0, x_train=IMAGES), ValueError,
     "epochs must be >= 1"),
    ("plot_comparison", lambda t: avg.plot_comparison({"epoch": [1]}), ValueError,
     "figures must be comparison_callback"),
]
