"""solutions/ holds a worked solution for every exercise of every lesson (`make test-solutions` runs them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from notebook_support import LESSONS, ROOT, cells, source


def exercises(lesson: Path) -> list[str]:
    """The numbers of the exercises in a lesson's ``## Exercises`` section."""
    text = next(source(c) for c in cells(lesson) if c["cell_type"] == "markdown" and "## Exercises" in source(c))
    return re.findall(r"^(\d+)\. ", text.split("## Exercises", 1)[1], re.M)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_exercise_has_a_timed_worked_solution(lesson):
    numbers = exercises(lesson)
    assert numbers == [str(i) for i in range(1, len(numbers) + 1)] and numbers, f"{lesson.name}: exercises {numbers}"
    text = next(source(c) for c in cells(lesson) if c["cell_type"] == "markdown" and "## Exercises" in source(c))
    untimed = [n for n in numbers if not re.search(rf"^{n}\. (\*\*[^*]+\*\* )?\*\(\d+(-\d+)? (min|h)[^)]*\)\*", text, re.M)]
    assert not untimed, f"{lesson.name}: exercises {untimed} do not say how long they take, '*(10 min)*'"
    solution = ROOT / "solutions" / lesson.name
    assert solution.is_file(), f"no solutions/{lesson.name}"
    headings = [m for c in cells(solution) if c["cell_type"] == "markdown"
                for m in re.findall(r"^### Exercise (\d+)\b", source(c), re.M)]
    assert headings == numbers, f"solutions/{lesson.name} has '### Exercise' sections {headings}, the lesson {numbers}"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_solutions_follow_the_lesson_format(lesson):
    solution = ROOT / "solutions" / lesson.name
    if not solution.is_file():
        pytest.fail(f"no solutions/{lesson.name}")
    nb = cells(solution)
    markdown = [source(c) for c in nb if c["cell_type"] == "markdown"]
    code = [source(c) for c in nb if c["cell_type"] == "code"]
    titles = [line for text in markdown for line in text.splitlines() if re.match(r"# \S", line)]
    assert titles == [titles[0]] and titles[0].startswith(f"# Solutions · {lesson.name[:2]} · "), titles
    setup = next(source(c) for c in cells(lesson) if c["cell_type"] == "code")
    assert code[0] == setup, "the Setup cell is the lessons' one"
    assert not [c for c in nb if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))], \
        "committed without outputs"
    assert all(c.get("id") for c in nb), "every cell has an id"
    for n in exercises(lesson):  # every solution checks what it found
        part = "\n".join(source(c) for c in nb).split(f"### Exercise {n}", 1)[1].split("### Exercise ", 1)[0]
        assert "assert " in part and "What you should find" in part, f"exercise {n}: an assert and a finding"
