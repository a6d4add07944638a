"""Bad-input rows of gan_extras/evaluation.py (06_evaluate), read by tests/test_bad_inputs.py."""

from __future__ import annotations

import numpy as np

from bad_rows_common import IMAGES, MISSING, G
from gan_extras import evaluation as ev

#: Public names that take no argument a user could get wrong.
NO_ARGUMENTS = {"build_classifier"}

ROWS = [
    ("train_classifier", lambda t: ev.train_classifier(t / "c.keras", epochs=0), ValueError,
     "epochs must be >= 1"),
    ("load_classifier", lambda t: ev.load_classifier(MISSING), FileNotFoundError, "no classifier"),
    ("classifier_features", lambda t: ev.classifier_features(np.zeros((2, 14, 14))), ValueError, "images"),
    ("classifier_probabilities", lambda t: ev.classifier_probabilities("digits"), TypeError, "images"),
    ("frechet_distance", lambda t: ev.frechet_distance(IMAGES[:1], IMAGES), ValueError, "images_a"),
    ("frechet_from_features", lambda t: ev.frechet_from_features(np.zeros((5, 4)), np.zeros((5, 3))),
     ValueError, "fa and fb"),
    ("classifier_score", lambda t: ev.classifier_score(np.zeros((0, 28, 28), np.uint8)), ValueError, "images"),
    ("digit_histogram", lambda t: ev.digit_histogram(np.zeros((3, 28)), ), ValueError, "images"),
    ("precision_recall", lambda t: ev.precision_recall(IMAGES, IMAGES, k=0), ValueError, "k must be >= 1"),
    ("nearest_training_neighbours", lambda t: ev.nearest_training_neighbours(IMAGES, np.zeros((0, 28, 28))),
     ValueError, "x_train"),
    ("image_statistics", lambda t: ev.image_statistics(np.zeros((2, 28, 29))), ValueError, "images"),
    ("evaluate_images", lambda t: ev.evaluate_images(IMAGES[:2], IMAGES), ValueError, "fake"),
    ("evaluate_generator", lambda t: ev.evaluate_generator(G(), n=2), ValueError, "n must be >= 4"),
    ("plot_digit_shares", lambda t: ev.plot_digit_shares({"a": np.ones(3)}), ValueError, "shares"),
    ("plot_image_statistics", lambda t: ev.plot_image_statistics(IMAGES, np.zeros((2, 5, 5))), ValueError, "fake"),
    ("frechet_callback", lambda t: ev.frechet_callback(IMAGES, n=1), ValueError, "n must be >= 2"),
    ("frechet_callback", lambda t: ev.frechet_callback(list(IMAGES)), TypeError, "x_reference must be a NumPy array"),
    ("frechet_callback", lambda t: ev.frechet_callback(IMAGES, every=0), ValueError, "every must be >= 1"),
]
