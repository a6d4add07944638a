"""Publishing the kit for Colab: its public address, the "Open in Colab" badges and the Setup cell's clone address.

Colab gives a notebook no way to learn which GitHub repository it was opened from, so the address is
written in when the kit is published, as tensorflow/docs, keras-io and d2l do. The address is one
setting, ``[project.urls] Repository`` in ``pyproject.toml``; ``make colab REPO=OWNER/NAME`` writes it
and stamps a badge under each notebook's title, one under the README's, and the clone address into
every Setup cell. Running it again changes nothing; ``--remove`` takes it all out again. Standard
library only, so it runs before ``make setup``::

    python3 -m gan_extras.colab OWNER/NAME [--branch main]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
BADGE = re.compile(r"^\[!\[Open In Colab\]\([^)]*\)\]\(([^)]*)\)\n\n?", re.M)
SETTING = re.compile(r'^Repository = "https://github\.com/([^"/]+/[^"/]+?)(?:/tree/([^"]+))?"\n', re.M)
URLS = re.compile(r'\n\[project\.urls\]\nRepository = "[^"]*"\n')
CLONE = re.compile(r'^(    KIT_REPO = )"[^"]*"', re.M)
REPO = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")


def check_repo(repo: str) -> str:
    """OWNER/NAME from ``OWNER/NAME`` or a github.com address, or an error saying what was expected (every notebook's Setup cell)."""
    if not isinstance(repo, str):
        raise TypeError(f"repo must be a string like 'OWNER/NAME', got {type(repo).__name__}")
    name = re.sub(r"^(https?://)?github\.com/", "", repo.strip()).removesuffix(".git").strip("/")
    if not REPO.match(name) or name.endswith((".", "-")):
        raise ValueError(f"repo must be a GitHub repository as OWNER/NAME (or its github.com address), got {repo!r}")
    return name


def published_address(root: Path = ROOT) -> tuple[str, str] | None:
    """(OWNER/NAME, branch) from pyproject.toml's ``[project.urls] Repository``, or None before publishing (every notebook's Setup cell)."""
    found = SETTING.search(_pyproject(root).read_text())
    return (found.group(1), found.group(2) or "main") if found else None


def badge_url(repo: str, branch: str, notebook: str) -> str:
    """The address that opens a notebook of the published kit in Colab (every notebook's Setup cell)."""
    if not isinstance(notebook, str) or not notebook.endswith(".ipynb") or notebook.startswith("/"):
        raise ValueError(f"notebook must be a notebook's path in the kit, like 'notebooks/01_mnist_data.ipynb', "
                         f"got {notebook!r}")
    return f"https://colab.research.google.com/github/{check_repo(repo)}/blob/{_check_branch(branch)}/{notebook}"


def _check_branch(branch: str) -> str:
    if not isinstance(branch, str) or not re.fullmatch(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*", branch):
        raise ValueError(f"branch must be a branch name like 'main', got {branch!r}")
    return branch


def _pyproject(root: Path) -> Path:
    path = Path(root) / "pyproject.toml"
    if not path.is_file():
        raise FileNotFoundError(f"root: no pyproject.toml in {root}; give the kit's folder")
    return path


def _write_setting(text: str, address: tuple[str, str] | None) -> str:
    """pyproject.toml's text with its ``[project.urls]`` Repository set to ``address``, or without it for None."""
    text = URLS.sub("", text)
    if address is None:
        return text
    repo, branch = address
    url = f"https://github.com/{repo}" + ("" if branch == "main" else f"/tree/{branch}")
    return text.replace("\n[tool.setuptools]", f'\n[project.urls]\nRepository = "{url}"\n\n[tool.setuptools]', 1)


def _stamp_title(text: str, url: str | None) -> str:
    """A title cell's or the README's text with its badge (on the line after the H1 title) set to ``url`` or removed."""
    text = BADGE.sub("", text)
    if url is None:
        return text
    title, _, rest = text.partition("\n")
    return f"{title}\n\n[![Open In Colab]({BADGE_IMAGE})]({url})\n" + (rest if rest.startswith("\n") else "\n" + rest)


def _stamp_notebook(path: Path, root: Path, address: tuple[str, str] | None) -> str:
    """A notebook's JSON text with its title badge and its Setup cell's clone address set from ``address``."""
    nb = json.loads(path.read_text())
    url = badge_url(*address, path.relative_to(root).as_posix()) if address else None
    title = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
    setup = next(c for c in nb["cells"] if c["cell_type"] == "code")
    clone = f'"https://github.com/{address[0]}"' if address else '""'
    for cell, new in ((title, _stamp_title("".join(title["source"]), url)),
                      (setup, CLONE.sub(lambda m: m.group(1) + clone, "".join(setup["source"])))):
        cell["source"] = new.splitlines(keepends=True)
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def stamp(root: Path = ROOT, repo: str | None = None, branch: str = "main") -> list[Path]:
    """Write the address (None: remove it) into pyproject.toml, the badges and the Setup cells; the files changed (every notebook's Setup cell)."""
    root = _pyproject(root).parent
    address = (check_repo(repo), _check_branch(branch)) if repo is not None else None
    readme_url = badge_url(*address, "notebooks/01_mnist_data.ipynb") if address else None
    notebooks = sorted(root.glob("notebooks/[0-9][0-9]_*.ipynb")) + sorted(root.glob("solutions/[0-9][0-9]_*.ipynb"))
    updates = {root / "pyproject.toml": _write_setting((root / "pyproject.toml").read_text(), address),
               root / "README.md": _stamp_title((root / "README.md").read_text(), readme_url),
               **{path: _stamp_notebook(path, root, address) for path in notebooks}}
    changed = [path for path, text in updates.items() if path.read_text() != text]
    for path in changed:
        path.write_text(updates[path])
    return changed


def main(argv: list[str] | None = None) -> int:
    """``make colab REPO=OWNER/NAME``: stamp the published address into the kit and say what changed (every notebook's Setup cell)."""
    if argv is not None and (isinstance(argv, str) or not all(isinstance(a, str) for a in argv)):
        raise TypeError(f"argv must be a list of strings (the command line's words), got {argv!r}")
    parser = argparse.ArgumentParser(prog="make colab", description=__doc__.splitlines()[0])
    parser.add_argument("repo", nargs="?", help="the kit's GitHub repository, OWNER/NAME")
    parser.add_argument("--branch", default="main", help="the branch the badges open (default: main)")
    parser.add_argument("--remove", action="store_true", help="take the address, badges and clone address out")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if bool(args.repo) == args.remove:
        parser.error("give the repository as REPO=OWNER/NAME (make colab REPO=OWNER/NAME), or --remove")
    try:
        changed = stamp(args.root, None if args.remove else args.repo, args.branch)
    except (ValueError, TypeError, FileNotFoundError) as error:
        parser.error(str(error))
    where = published_address(args.root)
    print(f"{'Published as ' + where[0] + ' (' + where[1] + ')' if where else 'No public address'}: "
          f"{len(changed)} files changed" + "".join(f"\n  {p.relative_to(args.root)}" for p in changed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
