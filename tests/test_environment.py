"""requirements.txt (pip/venv) and environment.yml (conda) must install the same thing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent

#: Lines allowed in environment.yml's pip section that are not version pins.
ENV_ONLY = {"-e ."}


def _strip_comment(line: str) -> str:
    # pip treats "#" as a comment only at the start or after whitespace.
    return re.split(r"(?:^|\s)#", line, maxsplit=1)[0].strip()


def _pins(lines: list[str], source: str) -> dict[tuple[str, str], Requirement]:
    """{(name, marker): requirement} for every requirement line; fails on anything unparsable."""
    pins: dict[tuple[str, str], Requirement] = {}
    for line in lines:
        try:
            req = Requirement(line)
        except InvalidRequirement as error:
            pytest.fail(f"{source}: cannot parse {line!r}: {error}")
        key = (canonicalize_name(req.name), str(req.marker) if req.marker else "")
        assert key not in pins, f"{source}: {req.name} listed twice for marker {key[1]!r}"
        pins[key] = req
    return pins


def _requirements_lines(text: str) -> list[str]:
    return [s for s in (_strip_comment(line) for line in text.splitlines()) if s]


def _environment(text: str) -> tuple[list[str], list[str]]:
    """(conda dependencies, pip lines) of an environment.yml."""
    env = yaml.safe_load(text)
    conda, pip = [], []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            assert set(dep) == {"pip"}, f"unexpected dependency section {set(dep)}"
            pip.extend(str(line).strip() for line in dep["pip"])
        else:
            conda.append(str(dep).strip())
    return conda, pip


@pytest.fixture(scope="module")
def requirements() -> dict[tuple[str, str], Requirement]:
    return _pins(_requirements_lines((ROOT / "requirements.txt").read_text()), "requirements.txt")


@pytest.fixture(scope="module")
def environment() -> tuple[list[str], dict[tuple[str, str], Requirement], list[str]]:
    conda, pip = _environment((ROOT / "environment.yml").read_text())
    extras = [line for line in pip if line in ENV_ONLY]
    return conda, _pins([line for line in pip if line not in ENV_ONLY], "environment.yml"), extras


def test_same_packages_versions_and_markers(requirements, environment):
    _, env_pins, _ = environment
    assert set(requirements) == set(env_pins), (
        f"only in requirements.txt: {sorted(set(requirements) - set(env_pins))}; "
        f"only in environment.yml: {sorted(set(env_pins) - set(requirements))}")
    for key, req in requirements.items():
        other = env_pins[key]
        assert req.specifier == other.specifier, f"{key}: {req} vs {other}"
        assert req.extras == other.extras, f"{key}: {req} vs {other}"


def test_every_pin_is_exact(requirements, environment):
    _, env_pins, _ = environment
    for source, pins in (("requirements.txt", requirements), ("environment.yml", env_pins)):
        for req in pins.values():
            specs = list(req.specifier)
            assert len(specs) == 1 and specs[0].operator == "==" and "*" not in specs[0].version, \
                f"{source}: {req} is not an exact == pin"


def test_environment_pip_section_installs_the_kit(environment):
    conda, _, extras = environment
    assert extras == ["-e ."]
    assert "pip" in conda  # the pip section needs conda's pip


def test_tensorflow_pinned_for_every_platform(requirements):
    """Exactly one TensorFlow wheel applies on any platform, all at the same version."""
    tf_pins = [req for (name, _), req in requirements.items() if name in ("tensorflow", "tensorflow-cpu")]
    versions = {spec.version for req in tf_pins for spec in req.specifier}
    assert len(versions) == 1, versions
    for platform in ("linux", "darwin", "win32"):
        applicable = [req for req in tf_pins if req.marker is None or req.marker.evaluate({"sys_platform": platform})]
        assert len(applicable) == 1, (platform, [str(r) for r in applicable])


def test_conda_python_fits_pyproject(environment):
    import tomllib

    conda, _, _ = environment
    (python,) = [dep for dep in conda if re.match(r"python\s*[=<>]", dep)]
    version = re.sub(r"^python\s*=+\s*", "", python).rstrip(".*")
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert Version(version) in SpecifierSet(requires), f"environment.yml {python} vs requires-python {requires}"


# --- The parser itself: it must see the differences the tests above look for ------------------

REQ = """\
# comment
numpy==2.4.6        # trailing comment
tensorflow-cpu==2.21.0; sys_platform == "linux"
"""


def test_parser_spots_a_version_difference():
    a = _pins(_requirements_lines(REQ), "a")
    b = _pins(_requirements_lines(REQ.replace("2.4.6", "2.4.5")), "b")
    assert set(a) == set(b)
    assert a[("numpy", "")].specifier != b[("numpy", "")].specifier


def test_parser_spots_a_marker_difference():
    a = _pins(_requirements_lines(REQ), "a")
    b = _pins(_requirements_lines(REQ.replace('== "linux"', '!= "win32"')), "b")
    assert set(a) != set(b)


def test_parser_reads_environment_pip_comments():
    text = """\
name: x
dependencies:
  - python=3.11
  - pip
  - pip:
      - numpy==2.4.6   # NumPy
      - -e .           # the kit
"""
    conda, pip = _environment(text)
    assert conda == ["python=3.11", "pip"]
    assert pip == ["numpy==2.4.6", "-e ."]
