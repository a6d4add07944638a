"""The latent explorer in a real browser: JupyterLab on loopback, Debian's Chromium driven by Playwright.

The test copies 07_latent_explorer into a temporary folder, starts JupyterLab
there (loopback, a random token, its own settings and workspaces folders),
opens the notebook in headless Chromium, runs all cells from the Run menu,
drags the first slider of the explorer and checks that the digit on the page
changed. It always stops the server it started.

Chromium is Debian's package (`apt-get install chromium`): Playwright's own
browser download cannot work without internet. When GAN_BROWSER_TESTS=1
(.ci/run sets it) a missing browser fails the test instead of skipping it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS, drag_slider, free_port, require_chromium_and_playwright

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "07_latent_explorer.ipynb"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 with a token, serving a copy of the explorer notebook."""
    require_chromium_and_playwright()

    home = tmp_path_factory.mktemp("lab")
    root, settings = home / "root", home / "settings"
    root.mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, root / NOTEBOOK)
    # No news or update checks: this machine has no internet, and the toast would cover the page.
    notification = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    # Render every cell: JupyterLab 4 otherwise leaves cells outside the window out of the page.
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "GAN_QUICK": "1", "PYTHONPATH": str(ROOT)}
    log = (home / "jupyterlab.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", f"--LabApp.user_settings_dir={settings}",
         f"--LabApp.workspaces_dir={home / 'workspaces'}", "--LabApp.extension_manager=readonly",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not start:\n{(home / 'jupyterlab.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield {"url": url, "token": token, "log": home / "jupyterlab.log"}
    finally:
        _stop(server, url, token)
        log.close()
    assert server.poll() is not None, "the JupyterLab server must be stopped"


def _stop(server: subprocess.Popen, url: str, token: str) -> None:
    """Ask the server to shut down (it stops its kernels), then make sure its process group is gone."""
    try:
        request = urllib.request.Request(f"{url}/api/shutdown?token={token}", method="POST")
        urllib.request.urlopen(request, timeout=10).close()
        server.wait(timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if server.poll() is not None:
            break
        try:
            os.killpg(server.pid, sig)
            server.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass


ALL_CELLS_DONE = """() => {
  const outputs = [...document.querySelectorAll('.jp-OutputArea')].map(o => o.innerText).join(' ');
  if (outputs.includes('Traceback')) return 'error';
  const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.innerText.trim());
  return prompts.length > 0 && prompts.every(p => /^\\[\\d+\\]:$/.test(p)) ? 'done' : false;
}"""


ANY_CELL_STARTED = """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
  .some(p => p.innerText.trim() !== '[ ]:')"""


def _run_all_cells(page) -> None:
    """Run > Run All Cells, as a teacher would; retried while the new kernel is still connecting."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(6):
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
        item = page.locator(".lm-Menu-item[data-command='runmenu:run-all']")
        item.click()
        try:
            page.wait_for_function(ANY_CELL_STARTED, timeout=20_000)
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    pytest.fail("Run All Cells never started the notebook's cells")


def test_explorer_slider_changes_the_digit_in_jupyterlab(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        try:
            page.goto(f"{lab['url']}/lab/tree/{NOTEBOOK}?token={lab['token']}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
            page.get_by_text(re.compile(r"\| Idle$")).first.wait_for(timeout=120_000)  # the status bar's kernel
            _run_all_cells(page)
            outcome = page.wait_for_function(ALL_CELLS_DONE, timeout=600_000, polling=1_000).json_value()
            assert outcome == "done", page.locator(".jp-Notebook").inner_text()[-3_000:]

            explorer = page.locator(".gan-explorer")
            digit = explorer.locator("img").first
            digit.scroll_into_view_if_needed()
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=digit.element_handle())
            assert digit.evaluate("img => img.naturalWidth") == 28 * 8
            # The notebook's last cell resets the sliders; wait until the page has caught up with it.
            first_readout = explorer.locator(".widget-readout").first
            page.wait_for_function("el => el.innerText.trim() === '+0.0'", arg=first_readout.element_handle(),
                                   timeout=60_000)
            page.wait_for_timeout(1_000)
            before_src, before_png = digit.get_attribute("src"), digit.screenshot()
            readout = explorer.locator(".widget-html-content").first.inner_text()

            drag_slider(page, explorer.locator(".noUi-handle").first, 60, steps=6)  # the first slider: thickness

            page.wait_for_function("([img, src]) => img.src !== src && img.complete",
                                   arg=[digit.element_handle(), before_src], timeout=30_000)
            value = first_readout.inner_text()
            assert float(value) > 0, f"dragging right must raise the slider, readout says {value!r}"
            assert digit.screenshot() != before_png, "the digit on the page must change"
            assert explorer.locator(".widget-html-content").first.inner_text() != readout, "|z| must change"
        except Exception:
            shot = lab["log"].with_name("failure.png")
            page.screenshot(path=str(shot), full_page=True)
            shot.with_suffix(".txt").write_text(page.locator(".jp-Notebook").inner_text())
            print(f"browser test failed: page screenshot {shot}, server log {lab['log']}")
            raise
        finally:
            browser.close()
