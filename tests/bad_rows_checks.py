"""Bad-input rows of the shared checks, gan_extras/checks.py (tests/test_bad_inputs.py)."""

from __future__ import annotations

import gan_helpers as gh
from gan_extras.checks import builder_record, check_pair
from bad_rows_common import MISSING

NO_ARGUMENTS: set[str] = set()


def _damaged_config(t):
    (t / "config.json").write_text("{not json")
    return gh.load_config(t)


ROWS = [
    ("check_labels", lambda t: gh.check_labels([1.5]), TypeError, "labels must be integer digits"),
    ("load_config", _damaged_config, ValueError, "config.json is damaged"),
    ("builder_record", lambda t: builder_record({"architecture": "wgan"}), ValueError,
     "config\\['architecture'\\] must be 'vanilla', 'dcgan' or 'conditional'"),
    ("builder_record", lambda t: builder_record(None), TypeError, "config must be a run's settings"),
    ("check_pair", lambda t: check_pair(gh.build_discriminator(), gh.build_generator()), ValueError,
     "generator must map"),
    ("load_keras_file", lambda t: gh.load_keras_file(MISSING, "model", "retrain it"), FileNotFoundError,
     "no model at"),
]
