"""Take the README's screenshot of the explorer app: data/results/app_screenshot.png.

    .venv/bin/python app/screenshot.py                     # starts Voilà on a free loopback port, then stops it
    .venv/bin/python app/screenshot.py --url http://127.0.0.1:8866/   # a running `make app` instead

Opens the page in headless Chromium (Debian's package, /usr/bin/chromium, driven
by Playwright), waits until both explorers have drawn their digits, and saves
the page as it first appears (seed 42, nothing moved), 1100 px wide and as tall
as the page, as a PNG with a 256-colour palette (the page is flat grey levels).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app" / "explorer.ipynb"
OUT = ROOT / "data" / "results" / "app_screenshot.png"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: Headless Chromium in a container, with no calls home (the browser tests use the same).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_server(server: subprocess.Popen) -> None:
    """SIGTERM to the server's process group (Voilà then shuts its kernels down), SIGKILL if that is not enough."""
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 15)):
        if server.poll() is not None:
            break
        try:
            os.killpg(server.pid, sig)
            server.wait(timeout=wait)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass


@contextmanager
def voila_server():
    """Voilà serving a copy of the app on 127.0.0.1 in its own process group; yields its URL, always stops it."""
    with tempfile.TemporaryDirectory(prefix="gan-app-") as home:
        home = Path(home)
        (home / "app").mkdir()
        shutil.copy(APP, home / "app" / APP.name)
        port = free_port()
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
               "JUPYTER_DATA_DIR": str(home / "data"), "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
        log_path = home / "voila.log"
        with log_path.open("w") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "voila", APP.name, "--no-browser", "--Voila.ip=127.0.0.1", f"--port={port}",
                 "--Voila.port_retries=0", "--strip_sources=True"],
                cwd=home / "app", env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                deadline = time.monotonic() + 60
                while "Voilà is running at" not in log_path.read_text():
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"Voilà did not start:\n{log_path.read_text()[-3000:]}")
                    time.sleep(0.2)
                yield f"http://127.0.0.1:{port}/"
            finally:
                stop_server(server)


def screenshot(url: str, out: Path, width: int = 1100, height: int = 800) -> Path:
    """Save the app at url as a PNG: width px wide, as tall as the page (at least height)."""
    from PIL import Image
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(url, wait_until="commit", timeout=60_000)  # Voilà streams the page while the notebook runs
            page.wait_for_function("""() => {
              const explorers = [...document.querySelectorAll('.gan-explorer')];
              return explorers.length === 2 && explorers.every(e => {
                const img = e.querySelector('img'); return img && img.complete && img.naturalWidth > 0; });
            }""", timeout=180_000, polling=250)
            # Voilà's lab template scrolls inside #rendered_cells: grow the window to the whole page instead.
            full = page.evaluate("() => document.querySelector('#rendered_cells')?.scrollHeight || 0")
            page.set_viewport_size({"width": width, "height": max(height, int(full))})
            page.wait_for_timeout(500)
            png = page.screenshot()
        finally:
            browser.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.png")
    Image.open(io.BytesIO(png)).convert("RGB").quantize(256).save(tmp, optimize=True)
    tmp.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running app (e.g. `make app`'s http://127.0.0.1:8866/); default: start one")
    parser.add_argument("--out", type=Path, default=OUT, help=f"PNG to write (default {OUT.relative_to(ROOT)})")
    parser.add_argument("--width", type=int, default=1100)
    parser.add_argument("--height", type=int, default=800, help="the window's height; the PNG is the whole page")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).is_file():
        parser.error(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    if args.url:
        out = screenshot(args.url, args.out, args.width, args.height)
    else:
        with voila_server() as url:
            out = screenshot(url, args.out, args.width, args.height)
    from PIL import Image
    with Image.open(out) as image:
        print(f"{out}: {image.width}×{image.height} px, {out.stat().st_size / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
