"""The kit's layout holds its shape (README, "Layout"): a small core, one short module per later lesson.

- ``gan_helpers.py`` (what 01-05 teach) at most 750 lines; each ``gan_extras`` module at most 400;
- no function over 60 lines (the training loop, ``gh.train``, over 80);
- every function a notebook displays with ``show_source`` at most 40 lines of at most 100 characters;
- the core imports nothing from the lesson modules outside its ``__main__`` block (checked with ``ast``),
  only the shared checks of ``gan_extras/checks.py`` and the quiet start-up of ``quiet.py``;
- each notebook imports the lesson modules it uses by name, never with a star.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "gan_helpers.py"
MODULES = sorted((ROOT / "gan_extras").glob("[a-z]*.py"))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
LONGEST_LOOP = 80
LONGEST = 60


def _functions(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node.end_lineno - node.lineno + 1


def _code(path: Path) -> str:
    return "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")


def test_the_core_is_small():
    lines = len(CORE.read_text().splitlines())
    assert lines <= 750, f"gan_helpers.py has {lines} lines; move what a later lesson teaches into its module"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_each_lesson_module_is_short(path):
    lines = len(path.read_text().splitlines())
    assert lines <= 400, f"{path.name} has {lines} lines"


@pytest.mark.parametrize("path", [CORE, *MODULES], ids=lambda p: p.stem)
def test_no_function_is_long(path):
    long = {name: n for name, n in _functions(path) if n > (LONGEST_LOOP if (path, name) == (CORE, "train") else LONGEST)}
    assert not long, f"{path.name}: functions over {LONGEST} lines: {long}"


def test_the_core_imports_no_lesson_module():
    tree = ast.parse(CORE.read_text())
    main_blocks = [n for n in tree.body if isinstance(n, ast.If) and "__main__" in ast.unparse(n.test)]
    inside_main = {id(n) for block in main_blocks for n in ast.walk(block)}
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) and id(n) not in inside_main]
    names = [a.name for n in imports for a in n.names] + [n.module or "" for n in imports if isinstance(n, ast.ImportFrom)]
    assert not [n for n in names if n.startswith("gan_extras") and n not in ("gan_extras.checks", "gan_extras.runfolder", "gan_extras.quiet")], names


def test_no_star_imports_and_no_side_effects_on_import():
    for path in [CORE, *MODULES]:
        tree = ast.parse(path.read_text())
        assert not [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names)]
        calls = [ast.unparse(n) for n in tree.body if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call)]
        assert not calls, f"{path.name} runs code on import: {calls}"


def test_every_public_function_names_the_notebook_that_teaches_it():
    stems = {p.stem for p in NOTEBOOKS}
    for path in [CORE, *MODULES]:
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                doc = ast.get_docstring(node) or ""
                named = set(re.findall(r"\b\d\d_[a-z0-9_]+", doc.splitlines()[0] if doc else ""))
                setup = "every notebook's Setup cell" in doc.splitlines()[0]
                assert (named or setup) and named <= stems, f"{path.name}:{node.name}: first docstring line names no notebook"


def _shown_functions():
    for nb in NOTEBOOKS:
        for match in re.finditer(r"show_source\((\w+)\.([\w.]+)\)", _code(nb)):
            yield nb.stem, match.group(1), match.group(2)
    for nb in NOTEBOOKS:  # "for helper in (gh.a, gh.b): gh.show_source(helper)"
        for group in re.findall(r"for \w+ in \(([^)]*)\):\s*\n\s*gh\.show_source", _code(nb)):
            for name in re.findall(r"(\w+)\.(\w+)", group):
                yield nb.stem, *name


ALIASES = {"gh": "gan_helpers", "ev": "gan_extras.evaluation", "lat": "gan_extras.latent", "rp": "gan_extras.reports",
           "cond": "gan_extras.conditional", "aug": "gan_extras.augmentation", "dyn": "gan_extras.dynamics",
           "speed": "gan_extras.speed", "runs": "gan_extras.runs", "avg": "gan_extras.averaging",
           "g2": "gan_extras.game2d"}


def test_what_a_notebook_shows_fits_on_a_slide():
    shown = sorted(set(_shown_functions()))
    assert shown, "no notebook shows a helper's source"
    for notebook, alias, dotted in shown:
        obj = importlib.import_module(ALIASES[alias])
        for part in dotted.split("."):
            obj = getattr(obj, part)
        lines = inspect.getsource(obj).splitlines()
        wide = [line for line in lines if len(line) > 100]
        assert len(lines) <= 40 and not wide, f"{notebook} shows {alias}.{dotted}: {len(lines)} lines, {len(wide)} wider than 100"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_import_lesson_modules_by_name(path):
    code = _code(path)
    used = set(re.findall(r"\b(ev|lat|rp|cond|aug|dyn|speed|runs|avg)\.[a-zA-Z_]", code))
    imported = set(re.findall(r"from gan_extras import \w+ as (\w+)|from gan_extras import (\w+)", code))
    imported = {a or b for a, b in imported}
    assert used <= imported, f"{path.name} uses {sorted(used - imported)} without importing them"
    assert "import *" not in code


def test_the_test_schedule_names_files_that_exist():
    """conftest.py orders ``make test``'s files longest first by name: a renamed file must be renamed there too."""
    import conftest
    missing = [name for name in [*conftest.SECONDS, *conftest.RUN_TOGETHER, *conftest.RUN_TOGETHER.values()]
               if not (ROOT / name).is_file()]
    assert not missing, f"conftest.py names files that are not in the kit: {missing}"
    assert "notebooks/05_progress_gif.ipynb" not in conftest.SECONDS, "05 runs after 04, as part of 04's unit"
