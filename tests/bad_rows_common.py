"""Shared fixtures of the bad-input rows (tests/bad_rows_*.py, read by tests/test_bad_inputs.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import gan_helpers as gh

_cache: dict[str, object] = {}


def G():  # noqa: N802 - a shared generator, built once
    if "g" not in _cache:
        _cache["g"] = gh.build_generator()
    return _cache["g"]


def CG():  # noqa: N802 - a conditional generator
    if "cg" not in _cache:
        from gan_extras import conditional
        _cache["cg"] = conditional.build_conditional_generator()
    return _cache["cg"]


def D():  # noqa: N802
    if "d" not in _cache:
        _cache["d"] = gh.build_discriminator()
    return _cache["d"]


IMAGES = np.zeros((8, 28, 28), np.uint8)
MISSING = "/nonexistent/gan-kit/nothing"


def read_only_dir(tmp: Path) -> Path:
    folder = tmp / "read-only"
    folder.mkdir(exist_ok=True)
    folder.chmod(0o500)
    return folder
