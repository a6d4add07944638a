"""What the two real-browser tests share: Debian's Chromium, the skip-or-fail rule, a free loopback port, stopping a server.

tests/test_browser.py drives JupyterLab, tests/test_app.py the Voilà app. Chromium is
Debian's package (`apt-get install chromium`): Playwright's own browser download cannot
work without internet. When GAN_BROWSER_TESTS=1 (.ci/run sets it) a missing browser
fails a test instead of skipping it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# The browser, its flags, a free port and stopping a server's process group are the app's own
# (app/screenshot.py, stdlib only), so the tests drive Chromium exactly as the screenshot does.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "app"))
from screenshot import CHROMIUM, CHROMIUM_ARGS, free_port, stop_server  # noqa: E402

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "drag_slider", "free_port", "require_chromium_and_playwright",
           "stop_server", "unavailable"]
REQUIRED = os.environ.get("GAN_BROWSER_TESTS", "") == "1"


def unavailable(reason: str) -> None:
    """Skip the test, or fail it when GAN_BROWSER_TESTS=1 requires it to run."""
    if REQUIRED:
        pytest.fail(f"{reason} (GAN_BROWSER_TESTS=1 requires the browser test to run)")
    pytest.skip(reason)


def require_chromium_and_playwright() -> None:
    """Skip (or fail) unless Debian's Chromium and the playwright package are there."""
    if not Path(CHROMIUM).is_file():
        unavailable(f"no Chromium at {CHROMIUM}: install Debian's package (apt-get install chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        unavailable("the playwright package is not installed (it is in requirements.txt)")


def drag_slider(page, handle, dx: float, steps: int = 4) -> None:
    """Drag an ipywidgets slider's handle (a noUiSlider element) dx pixels to the right, as a user would."""
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    assert box is not None, "the slider handle must be visible"
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y, steps=steps)
    page.mouse.up()
