"""What the tests that read notebooks as JSON share: the lessons, their cells and a cell's text.

tests/test_notebooks.py checks the lesson format, tests/test_solutions.py the worked solutions.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def cells(path: Path) -> list[dict]:
    """The cells of a notebook file."""
    return json.loads(path.read_text())["cells"]


def source(cell: dict) -> str:
    """A cell's text, joined from its lines."""
    return "".join(cell["source"])
