"""Bad-input rows of gan_extras.cli (``python -m gan_helpers ...``), read by tests/test_bad_inputs.py."""

from __future__ import annotations

from gan_extras import cli

#: Public names that take no argument a user could get wrong.
NO_ARGUMENTS = {"build_parser"}

ROWS = [
    ("main", lambda t: cli.main(["train", "--epochs", "0", "--out", str(t)]), ValueError, "epochs must be >= 1"),
    ("main", lambda t: cli.main("train --epochs 1"), TypeError, "argv must be a list of strings"),
    ("run", lambda t: cli.run("train --epochs 1"), TypeError, "argv must be a list of strings"),
    ("run", lambda t: cli.run(["train", "--epochs", "0", "--out", str(t), "--debug"]), ValueError,
     "epochs must be >= 1"),
    ("main", lambda t: cli.main(["compare", str(t)]), ValueError, "runs: each must be NAME=RUN_DIR"),
]
