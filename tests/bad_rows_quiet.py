"""Bad-input rows of the quiet start-up, gan_extras/quiet.py (tests/test_bad_inputs.py)."""

from __future__ import annotations

from gan_extras.quiet import notices_hidden

NO_ARGUMENTS = {"quiet_tensorflow"}

ROWS = [
    ("notices_hidden", lambda t: notices_hidden("oneDNN").__enter__(), TypeError,
     "notices must be a sequence of non-empty strings"),
    ("notices_hidden", lambda t: notices_hidden(["oneDNN", ""]).__enter__(), TypeError,
     "notices must be a sequence of non-empty strings"),
]
