"""Bad-input rows of the 2-D game, gan_extras/game2d.py (tests/test_bad_inputs.py)."""

from __future__ import annotations

import numpy as np

from gan_extras import game2d as g2

NO_ARGUMENTS: set[str] = {"ring_centres", "LiveFigure"}


def _game():
    return g2.Game(seed=0)


ROWS = [
    ("sample_points", lambda t: g2.sample_points("circle"), ValueError, "name must be one of"),
    ("sample_points", lambda t: g2.sample_points("ring", 0), ValueError, "n must be >= 1"),
    ("build_toy_generator", lambda t: g2.build_toy_generator(latent_dim=0), ValueError, "latent_dim must be >= 1"),
    ("build_toy_discriminator", lambda t: g2.build_toy_discriminator(width=1.5), TypeError, "width must be an integer"),
    ("new_toy_state", lambda t: g2.new_toy_state(minibatch_std="yes"), TypeError, "minibatch_std must be True or False"),
    ("new_toy_state", lambda t: g2.new_toy_state(g_learning_rate=0), ValueError, "learning_rate must be a number in"),
    ("make_step", lambda t: g2.make_step(_game().state, g_loss="wasserstein"), ValueError, "g_loss must be one of"),
    ("make_step", lambda t: g2.make_step(_game().state, d_steps=0), ValueError, "d_steps must be >= 1"),
    ("ring_coverage", lambda t: g2.ring_coverage(np.zeros((5, 3))), ValueError, r"points must be an \(n, 2\) array"),
    ("generated_points", lambda t: g2.generated_points(_game().state, n=0), ValueError, "n must be >= 1"),
    ("d_surface", lambda t: g2.d_surface(g2.build_toy_discriminator(), steps=1), ValueError, "steps must be >= 2"),
    ("g_push", lambda t: g2.g_push(g2.build_toy_discriminator(), np.zeros((3, 2)), "hinge"), ValueError,
     "g_loss must be one of"),
    ("Game", lambda t: g2.Game("circle"), ValueError, "name must be one of"),
    ("Game", lambda t: g2.Game(batch_size=0), ValueError, "batch_size must be >= 1"),
    ("play", lambda t: g2.play(_game(), steps=0), ValueError, "steps must be >= 1"),
    ("draw", lambda t: g2.draw("not a game"), TypeError, "game must be a g2.Game"),
    ("png", lambda t: g2.png("not a figure"), TypeError, "fig must be a matplotlib figure"),
    ("Playground", lambda t: g2.Playground(steps_per_frame=0), ValueError, "steps_per_frame must be >= 1"),
]
