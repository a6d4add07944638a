"""Every cross-reference between lessons points to the notebook that teaches what it names.

A reference is "(NN)", "(NN, ...)", "NN's", "see NN", "in NN", "from NN" or a notebook's name
(``04_train_dcgan``). A reference next to a term of ``TEACHES`` (in the same clause, just before it)
must name the notebook that teaches that term; ``test_the_map_is_true`` checks that each of those
notebooks does teach it (its text says the term).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from notebook_support import LESSONS, ROOT, cells, source

NOTEBOOKS = LESSONS
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))

#: A term, and the number of the notebook whose lesson teaches it (matched case-insensitively, "-" as " ").
TEACHES = {
    "mean_images_by_digit": "01", "drop_remainder": "01", "load_mnist": "01", "tf.data": "01",
    "vanilla": "02", "equilibrium": "02",
    "batchnorm": "03", "moving averages": "03",
    "small batches": "04", "checkpoint": "04", "beta_1": "04", "train step": "04",
    "gif": "05", "plot_history": "05",
    "fréchet": "06", "classifier": "06", "precision": "06", "recall": "06",
    "latent space": "07", "shell": "07",
    "conditional": "08", "label accuracy": "08",
    "augmentation": "09",
    "d_steps": "10", "minibatch standard deviation": "10", "heat map": "10", "learning rate decay": "10",
    "multiply adds": "11", "mixed precision": "11", "xla": "11",
}
NUMBER = r"(0\d|1[01])"
UNITS = r"(?:%|ms\b|s\b|min|epoch|step|digit|image|seed|update|sample|class|time|×)"  # "in 10 epochs" is no reference
REFERENCE = re.compile(
    rf"\({NUMBER}(?:\)|, |'s | explains| shows| proves| compares| owns| has)"  # (06), (06, ...), (10's x)
    rf"|\b(?:see|in|from) {NUMBER}\b(?!\d|[.,]\d|[%×-]|\s*{UNITS})"                   # see 05, in 04
    rf"|\b{NUMBER}'s\b"                                                       # 10's `d_steps`
    rf"|`{NUMBER}_[a-z0-9_]+`")                                              # `04_train_dcgan`
CLAUSE_END = re.compile(r"[.;:!?]\s|\n\n|[()]")


def markdown(path: Path) -> list[str]:
    return [source(c) for c in cells(path) if c["cell_type"] == "markdown"]


def references(text: str) -> list[tuple[str, str, str]]:
    """Each reference in ``text``: (notebook number, the clause before it, the rest of its brackets)."""
    found = []
    for match in REFERENCE.finditer(text):
        number = next(g for g in match.groups() if g)
        before = text[max(0, match.start() - 90):match.start()]
        ends = [m.end() for m in CLAUSE_END.finditer(before)]
        if match.group(0).startswith("("):  # "(04 explains the small batches)": the rest of the brackets
            inside = re.match(r"[^()]*\)", text[match.end():])
        elif match.group(0).endswith("'s"):  # "06's classifier": the next words
            inside = re.match(r"[^.;:()\n]{0,30}", text[match.end():])
        else:  # "see 05", "from 07 notices …": what follows is not the subject
            inside = None
        found.append((number, before[ends[-1]:] if ends else before, inside.group(0) if inside else ""))
    return found


def nearest_term(before: str, inside: str = "") -> str | None:
    """The ``TEACHES`` term just after the number ("(04 explains the small batches)", "06's classifier"),
    else the one that ends closest before it."""
    for text, pick in ((inside, min), (before, max)):
        text = text.lower().replace("-", " ")  # "mixed-precision" is "mixed precision", not "precision"
        hits = [(text.rfind(term) + len(term), len(term), term) for term in TEACHES if term in text]
        if hits:
            return pick(hits)[2]
    return None


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_references_point_to_the_teaching_notebook(path):
    numbers = {p.name[:2]: p.stem for p in NOTEBOOKS}
    wrong = []
    for text in markdown(path):
        for number, clause, inside in references(text):
            if number not in numbers:
                wrong.append(f"({number}): no such notebook, in {clause!r}")
                continue
            term = nearest_term(clause, inside)
            if term and TEACHES[term] != number and number != path.name[:2]:
                wrong.append(f"{clause.strip()!r} ({number}): {term!r} is taught in {numbers[TEACHES[term]]}")
        for name in re.findall(rf"`({NUMBER}_[a-z0-9_]+)`", text):
            if not (ROOT / "notebooks" / f"{name[0]}.ipynb").exists():
                wrong.append(f"`{name[0]}`: no such notebook")
    assert not wrong, "\n".join(wrong)


def test_the_map_is_true():
    """Each notebook ``TEACHES`` names does teach the term: its markdown says it."""
    by_number = {p.name[:2]: p for p in NOTEBOOKS}
    missing = [f"{term!r} is not in {by_number[number].stem}'s text" for term, number in TEACHES.items()
               if term not in "\n".join(markdown(by_number[number])).lower().replace("-", " ")]
    assert not missing, "\n".join(missing)


def test_the_reference_finder_finds_references():
    """The patterns catch the forms the lessons use, and skip numbers that are not notebooks."""
    text = ("The classifier (06) and BatchNorm (03). As 10's `d_steps` do; see 05, in 04. "
            "Read `04_train_dcgan`. Not these: (10 %) of 30 (0.15), 10 epochs, in 10,000 samples.")
    assert [n for n, _, _ in references(text)] == ["06", "03", "10", "05", "04", "04"]
    assert nearest_term("the kit's conditional generator ") == "conditional"
    assert nearest_term("the vanilla GAN runs in batches of 32 ", " explains the small batches)") == "small batches"
    (_, before, after), = references("digits from the latest checkpoint, labelled by 06's classifier.")
    assert nearest_term(before, after) == "classifier"
