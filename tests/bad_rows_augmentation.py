"""Bad-input rows of gan_extras.augmentation (09_augmentation), read by tests/test_bad_inputs.py."""

from __future__ import annotations

import numpy as np
from bad_rows_common import CG, G, IMAGES

from gan_extras import augmentation as aug

#: Public names that take no argument a user could get wrong.
NO_ARGUMENTS = {"build_small_classifier"}

ROWS = [
    ("train_small_classifier", lambda t: aug.train_small_classifier(IMAGES, np.zeros(8), steps=1), TypeError,
     "y must be integer digits"),
    ("train_small_classifier", lambda t: aug.train_small_classifier(IMAGES, np.zeros(8, int), steps=0), ValueError,
     "steps must be >= 1"),
    ("real_test_accuracy", lambda t: aug.real_test_accuracy(None, IMAGES, np.zeros(7, int)), ValueError,
     "y_test must have one label per image"),
    ("real_subset", lambda t: aug.real_subset(IMAGES, np.zeros(8, int), 0), ValueError, "n_per_class must be >= 1"),
    ("real_subset", lambda t: aug.real_subset(IMAGES, np.zeros(8, int), 2), ValueError, "n_per_class: digit 1"),
    ("augmentation_experiment", lambda t: aug.augmentation_experiment(CG(), t / "a.csv", ratios=(0,)),
     ValueError, "ratios must be positive"),
    ("augmentation_experiment", lambda t: aug.augmentation_experiment(G(), t / "a.csv"), ValueError,
     "generator must be conditional"),
    ("augmentation_experiment", lambda t: aug.augmentation_experiment(CG(), t / "a.csv", seeds=(-1,)), ValueError,
     "seeds must be >= 0"),
    ("summarize_augmentation", lambda t: aug.summarize_augmentation([]), ValueError, "rows must be"),
    ("summarize_augmentation", lambda t: aug.summarize_augmentation([{"n": 1}]), ValueError, "rows must be"),
    ("plot_augmentation", lambda t: aug.plot_augmentation(None), ValueError, "rows must be"),
]
