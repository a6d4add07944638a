"""Bad-input rows of the Colab publishing tool, gan_extras/colab.py (tests/test_bad_inputs.py)."""

from __future__ import annotations

from gan_extras import colab

NO_ARGUMENTS: set[str] = set()

ROWS = [
    ("check_repo", lambda t: colab.check_repo("gan-kit"), ValueError, "repo must be a GitHub repository as OWNER/NAME"),
    ("check_repo", lambda t: colab.check_repo(None), TypeError, "repo must be a string like 'OWNER/NAME'"),
    ("published_address", lambda t: colab.published_address(t), FileNotFoundError, "root: no pyproject.toml in"),
    ("badge_url", lambda t: colab.badge_url("a/b", "main", "README.md"), ValueError,
     "notebook must be a notebook's path in the kit"),
    ("badge_url", lambda t: colab.badge_url("a/b", "two words", "notebooks/01_mnist_data.ipynb"), ValueError,
     "branch must be a branch name like 'main'"),
    ("stamp", lambda t: colab.stamp(t, "a/b"), FileNotFoundError, "root: no pyproject.toml in"),
    ("main", lambda t: colab.main("a/b"), TypeError, "argv must be a list of strings"),
]
