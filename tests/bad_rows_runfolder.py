"""Bad-input rows of the run folder's machinery, gan_extras/runfolder.py (tests/test_bad_inputs.py)."""

from __future__ import annotations

#: exception classes; the rest is private, reached through gh.train and export (tests/test_nothing_lost.py)
NO_ARGUMENTS: set[str] = {"CheckpointDamaged", "RunInUse"}

ROWS: list = []
