"""Bad-input rows of gan_extras.latent (07_latent_explorer), read by tests/test_bad_inputs.py."""

from __future__ import annotations

import numpy as np
from bad_rows_common import D, G, IMAGES

from gan_extras import latent as lat

#: Public names that take no argument a user could get wrong.
NO_ARGUMENTS: set[str] = set()

ROWS = [
    ("interpolate", lambda t: lat.interpolate(np.zeros(3), np.zeros(4)), ValueError, "z1 must be one latent vector"),
    ("attribute_directions", lambda t: lat.attribute_directions(G(), n=50), ValueError, "n must be >= 102"),
    ("principal_directions", lambda t: lat.principal_directions(G(), k=0), ValueError, "k must be >= 1"),
    ("explorer_directions", lambda t: lat.explorer_directions(D()), ValueError, "generator must map"),
    ("neighbourhood", lambda t: lat.neighbourhood(np.zeros(3), np.zeros(3), np.ones(3)), ValueError, "d1 is zero"),
    ("png_bytes", lambda t: lat.png_bytes(IMAGES, scale=2), ValueError, "one 28×28 image"),
    ("LatentExplorer", lambda t: lat.LatentExplorer(G(), {"a": np.ones(5)}), ValueError, r"shape \(100,\)"),
    ("InterpolationExplorer", lambda t: lat.InterpolationExplorer(G(), scale=0), ValueError, "scale must be >= 1"),
]
