"""The notebooks follow the kit's lesson format (README, "Style"); nbval runs them separately."""

from __future__ import annotations

import re

import pytest

from notebook_support import LESSONS as NOTEBOOKS, ROOT, cells, source


def test_notebooks_are_numbered_without_gaps():
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers[0] in (0, 1) and numbers == list(range(numbers[0], numbers[0] + len(NOTEBOOKS))), [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_lesson_format(path):
    nb = cells(path)
    markdown = [source(c) for c in nb if c["cell_type"] == "markdown"]
    titles = [line for text in markdown for line in text.splitlines() if re.match(r"# \S", line)]
    assert len(titles) == 1 and titles[0].startswith(f"# {path.name[:2]} · "), titles
    assert "**What you will learn**" in markdown[0]
    assert "**Inputs:**" in markdown[0] and "**Outputs:**" in markdown[0], "say what it uses and writes"
    for heading in ("## Summary", "## Exercises"):
        assert any(re.search(f"^{heading}", t, re.M) for t in markdown), f"no {heading!r} section"


def test_every_notebook_opens_with_the_same_setup_cell():
    setups = {p.stem: source(next(c for c in cells(p) if c["cell_type"] == "code")) for p in NOTEBOOKS}
    first = setups[NOTEBOOKS[0].stem]
    assert first.startswith("# Setup") and "import gan_helpers as gh" in first
    assert {name for name, text in setups.items() if text != first} == set()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    dirty = [i for i, c in enumerate(cells(path)) if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_checks_what_it_shows(path):
    code = "\n".join(source(c) for c in cells(path) if c["cell_type"] == "code")
    assert code.count("assert ") >= 3, "every notebook checks its results with assert cells"


def test_readme_lists_every_notebook():
    readme = (ROOT / "README.md").read_text()
    missing = [p.stem for p in NOTEBOOKS if f"`{p.stem}`" not in readme]
    assert not missing, f"README's notebook table lacks {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_cell_has_an_id(path):
    """nbformat 4.5 wants a cell id; without one nbconvert warns on every run (`make run`)."""
    missing = [i for i, c in enumerate(cells(path)) if not c.get("id")]
    assert not missing, f"{path.name}: cells {missing} have no id"


@pytest.mark.parametrize("name", ["02_vanilla_gan", "04_train_dcgan", "08_conditional_gan", "10_training_dynamics"])
def test_class_mode_is_stated_as_it_runs(name, monkeypatch):
    """Each notebook that trains says at its top how long its class-mode run is, and says it right."""
    import gan_helpers as gh
    from gan_extras import dynamics as dyn
    monkeypatch.delenv("GAN_QUICK", raising=False)
    monkeypatch.setenv("GAN_CLASS", "1")
    settings = dyn.dynamics_settings() if name.startswith("10") else gh.run_settings()
    opening = " ".join(source(next(c for c in cells(ROOT / "notebooks" / f"{name}.ipynb")
                                   if c["cell_type"] == "markdown")).split())
    stated = re.search(r"\*\*Class mode\*\* \(`GAN_CLASS=1`.*?(\d+) epochs of ([\d,]+) digits in batches of (\d+)", opening)
    assert stated, f"{name}: no class-mode sentence at the top"
    assert [int(g.replace(",", "")) for g in stated.groups()] == \
        [settings["epochs"], settings["n_train"], settings["batch_size"]], stated.group(0)
