"""Every public function of the kit, fed bad input, raises a clear error naming the argument.

One table, assembled from one file of rows per module (``tests/bad_rows_<module>.py``: the core
``gan_helpers`` and each ``gan_extras`` module): (function, call, expected exception, words the
message must contain). test_every_public_function_is_in_the_table keeps it complete as the
modules grow; the last test prints the summary line (tried / clear errors).
"""

from __future__ import annotations

import importlib
import inspect
import os
from pathlib import Path

import pytest

import gan_helpers as gh
from bad_rows_common import IMAGES, read_only_dir

HERE = Path(__file__).resolve().parent
#: module name → its rows file
ROW_FILES = {("gan_helpers" if p.stem == "bad_rows_core" else f"gan_extras.{p.stem.removeprefix('bad_rows_')}"):
             importlib.import_module(p.stem) for p in sorted(HERE.glob("bad_rows_*.py")) if p.stem != "bad_rows_common"}
TABLE = [(f"{module}.{name}", call, error, words)
         for module, rows in ROW_FILES.items() for name, call, error, words in rows.ROWS]
DENIED = (TypeError, ValueError, FileNotFoundError, PermissionError, FileExistsError)
_results: list[bool] = []


def _public(module) -> set[str]:
    return {name for name, obj in vars(module).items()
            if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
            and getattr(obj, "__module__", "") == module.__name__}


def test_every_module_has_rows():
    modules = {"gan_helpers", *(f"gan_extras.{p.stem}" for p in (HERE.parent / "gan_extras").glob("[a-z]*.py"))}
    assert set(ROW_FILES) == modules, f"rows files missing for {sorted(modules - set(ROW_FILES))}"


@pytest.mark.parametrize("module_name", sorted(ROW_FILES))
def test_every_public_function_is_in_the_table(module_name):
    module = importlib.import_module(module_name)
    public, rows = _public(module), ROW_FILES[module_name]
    covered = {name for name, *_ in rows.ROWS}
    assert not covered - public, f"table names unknown functions: {sorted(covered - public)}"
    missing = public - covered - rows.NO_ARGUMENTS
    assert not missing, f"public functions without a bad-input case: {sorted(missing)}"


@pytest.mark.parametrize("name, call, error, words", TABLE, ids=[f"{row[0]}-{i}" for i, row in enumerate(TABLE)])
def test_bad_input_gives_a_clear_error(name, call, error, words, tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_OUTPUTS", str(tmp_path / "outputs"))
    clear = False
    try:
        with pytest.raises(error, match=words) as info:
            call(tmp_path)
        assert isinstance(info.value, DENIED)
        clear = True
    finally:
        _results.append(clear)
        for folder in tmp_path.glob("read-only"):
            folder.chmod(0o700)


def test_summary_line(capsys):
    if not _results:
        pytest.skip("run with the table's tests to get the summary")
    line = (f"bad inputs: {len(_results)} tried on {len({r[0] for r in TABLE})} public functions, "
            f"{sum(_results)} gave a clear error")
    with capsys.disabled():
        print("\n" + line)
    assert sum(_results) == len(_results), line


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_read_only_folder_is_refused_before_training(tmp_path):
    with pytest.raises(PermissionError, match="not writable"):
        gh.train(read_only_dir(tmp_path), epochs=1, x_train=IMAGES)
