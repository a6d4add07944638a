"""The latent explorer as a web app: app/explorer.ipynb served by Voilà (`make app`).

Fast checks (no browser): the app notebook is committed without outputs, calls
only a few public helpers of gan_helpers (the pretrained-generator loader, for
both shipped files) and of gan_extras.latent (the explorer and its directions),
and `make app` binds to 127.0.0.1.

The browser test copies the app notebook into a temporary folder, serves it
with Voilà on a free loopback port (its own process group), opens it in
Debian's headless Chromium with Playwright, drags a slider of the DCGAN
explorer and clicks another digit in the conditional explorer, and checks that
the digit's PNG changed each time and that no code is shown. The server gets
a MNIST_NPZ that does not exist and an empty outputs folder, so the page
renders only if the app needs neither MNIST nor a training run. The server
and the kernels it started are always stopped. Without Chromium or Playwright
it skips, unless GAN_BROWSER_TESTS=1 (then it fails), as tests/test_browser.py.
"""

from __future__ import annotations

import ast
import base64
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from browser_support import (CHROMIUM, CHROMIUM_ARGS, drag_slider, free_port, require_chromium_and_playwright,
                             stop_server, unavailable)

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app" / "explorer.ipynb"

#: What the app may call, by module alias: the core's pretrained loader and 07's directions and explorers.
ALLOWED_HELPERS = {"gh": {"load_pretrained_generator", "latent_dim_of", "is_conditional"},
                   "lat": {"explorer_directions", "LatentExplorer", "InterpolationExplorer"}}
#: The files those aliases stand for.
MODULE_FILES = {"gh": ROOT / "gan_helpers.py", "lat": ROOT / "gan_extras" / "latent.py"}
#: Lines of the app's code that must never reach the page.
CODE_MARKERS = ("import gan_helpers", "from gan_extras import", "load_pretrained_generator", "LatentExplorer(",
                "explorer_directions", "OPENBLAS_NUM_THREADS")


def _notebook() -> dict:
    return json.loads(APP.read_text())


def _code(nb: dict) -> list[str]:
    return ["".join(cell["source"]) for cell in nb["cells"] if cell["cell_type"] == "code"]


# --- Fast checks -------------------------------------------------------------------------------

def test_app_notebook_is_committed_without_outputs():
    import nbformat

    nbformat.validate(nbformat.reads(APP.read_text(), as_version=4))
    nb = _notebook()
    code = [cell for cell in nb["cells"] if cell["cell_type"] == "code"]
    assert code, "the app notebook has no code cells"
    for cell in code:
        assert cell["outputs"] == [] and cell["execution_count"] is None, \
            f"clear the outputs of the app notebook (cell {cell.get('id')!r})"
    assert nb["cells"][0]["cell_type"] == "markdown" and nb["cells"][0]["source"][0].startswith("# "), \
        "the app opens with a title for students"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


def test_app_loads_only_the_pretrained_generators():
    tree = ast.parse("\n\n".join(_code(_notebook())))
    imported = {(alias.name, alias.asname) for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    assert imported == {("os", None), ("gan_helpers", "gh")}, \
        f"the app imports {sorted(imported)}: only os and gan_helpers as gh"
    from_imports = {(node.module, alias.name, alias.asname) for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert from_imports == {("gan_extras", "latent", "lat")}, \
        f"the app imports {sorted(from_imports)}: only `from gan_extras import latent as lat`"
    for alias, allowed in ALLOWED_HELPERS.items():
        used = {node.attr for node in ast.walk(tree)
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == alias}
        assert used <= allowed, f"the app calls {alias}.{sorted(used - allowed)} (train? MNIST? a run?)"
        public = {node.name for node in ast.parse(MODULE_FILES[alias].read_text()).body
                  if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_")}
        assert used <= public, f"not public API of {MODULE_FILES[alias].name}: {sorted(used - public)}"
    loaders = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
               and node.func.attr.startswith("load_pretrained_")]
    assert {node.func.attr for node in loaders} == {"load_pretrained_generator"}
    assert all(not node.args for node in loaders), "the loaders must read the shipped files"
    kinds = sorted(tuple((k.arg, ast.literal_eval(k.value)) for k in node.keywords) for node in loaders)
    assert kinds == [(), (("conditional", True),)], \
        f"the app must load the two shipped generators (plain, then conditional=True), got {kinds}"
    for name in ("dcgan_generator.keras", "conditional_generator.keras", "mnist_classifier.keras"):
        assert (ROOT / "data" / "pretrained" / name).is_file(), f"data/pretrained/{name} is missing"


def _make_n_app(**variables: str) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "MAKE")) and k != "MFLAGS"}
    out = subprocess.run(["make", "-n", "app", *(f"{k}={v}" for k, v in variables.items())], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    (line,) = [line for line in out.splitlines() if "voila" in line and "app/explorer.ipynb" in line]
    return line


def test_make_app_serves_on_loopback_with_code_hidden():
    line = _make_n_app()
    assert "--Voila.ip=127.0.0.1" in line and "--port=8866" in line, line
    assert "--no-browser" in line and "--strip_sources=False" not in line, line
    assert "--Voila.ip=0.0.0.0 " in _make_n_app(APP_HOST="0.0.0.0", APP_PORT="9999") + " "
    assert "--port=9999" in _make_n_app(APP_PORT="9999")


# --- The app in a real browser -----------------------------------------------------------------

def _children(pid: int) -> list[int]:
    """Processes whose parent is pid (Voilà's kernels: each runs in a session of its own)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    """Voilà serving a copy of app/explorer.ipynb on 127.0.0.1, in its own process group."""
    require_chromium_and_playwright()
    try:
        import voila  # noqa: F401
    except ImportError:
        unavailable("voila is not installed (it is in requirements.txt)")

    home = tmp_path_factory.mktemp("voila")
    root = home / "app"
    root.mkdir()
    shutil.copy(APP, root / APP.name)
    port = free_port()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "JUPYTER_DATA_DIR": str(home / "data"), "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2",
           # Proof that the app needs neither MNIST nor a training run: both would fail here.
           "MNIST_NPZ": str(home / "no-mnist.npz"), "GAN_OUTPUTS": str(home / "outputs"),
           "KERAS_HOME": str(home / "keras")}
    log_path = home / "voila.log"
    log = log_path.open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "voila", APP.name, "--no-browser", "--Voila.ip=127.0.0.1", f"--port={port}",
         "--Voila.port_retries=0", "--strip_sources=True"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    kernels: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while "Voilà is running at" not in log_path.read_text():
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Voilà did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        yield {"url": url, "log": log_path, "kernels": kernels, "pid": server.pid}
    finally:
        kernels.update(_children(server.pid))
        stop_server(server)
        log.close()
    _assert_gone(server, kernels)


def _assert_gone(server: subprocess.Popen, kernels: set[int]) -> None:
    assert server.poll() is not None, "the Voilà server must be stopped"
    with pytest.raises(ProcessLookupError):
        os.killpg(server.pid, 0)  # nothing is left in the server's process group
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in kernels) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [pid for pid in kernels if _alive(pid)]
    for pid in left:  # the kernels this test's server started, each in its own process group
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert not left, f"Voilà left its kernels running: {left}"


#: The PNG bytes behind an ipywidgets Image (a blob: URL, revoked when the next image arrives), as base64.
READ_IMAGE = """async img => {
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
      let text = '';
      for (const b of bytes) text += String.fromCharCode(b);
      return [img.src, btoa(text)];
    } catch (error) {
      await new Promise(resolve => setTimeout(resolve, 100));
    }
  }
  throw new Error('cannot read the image at ' + img.src);
}"""

IMAGE_SHOWN = "img => img.complete && img.naturalWidth > 0"


def _pixels(png_base64: str):
    import imageio.v3 as iio

    return iio.imread(io.BytesIO(base64.b64decode(png_base64)))


def _read_image(image) -> tuple[str, str]:
    src, data = image.evaluate(READ_IMAGE)
    return src, data


def _wait_for_new_image(page, image, before: tuple[str, str], what: str):
    """Wait until the img shows another PNG than before, and return its pixels (asserted different)."""
    page.wait_for_function(f"([img, src]) => img.src !== src && ({IMAGE_SHOWN})(img)",
                           arg=[image.element_handle(), before[0]], timeout=30_000)
    after = _read_image(image)
    old, new = _pixels(before[1]), _pixels(after[1])
    assert new.shape == old.shape == (28 * 8, 28 * 8), new.shape
    assert (new != old).any(), f"{what}: the digit's pixels must change"
    return after


@pytest.mark.browser
def test_app_in_chromium_slider_and_digit_picker_redraw(app_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 800})
        try:
            # Voilà streams the page while the kernel runs the notebook: don't wait for the load event.
            page.goto(app_server["url"], wait_until="commit", timeout=60_000)
            app_server["kernels"].update(_children(app_server["pid"]))
            page.wait_for_function("document.querySelectorAll('.gan-explorer').length === 2", timeout=120_000,
                                   polling=250)
            app_server["kernels"].update(_children(app_server["pid"]))
            explorers = page.locator(".gan-explorer")
            dcgan = explorers.filter(has_not=page.locator(".gan-digit-picker"))
            conditional = explorers.filter(has=page.locator(".gan-digit-picker"))
            assert dcgan.count() == 1 and conditional.count() == 1
            for explorer in (dcgan, conditional):
                page.wait_for_function(IMAGE_SHOWN, arg=explorer.locator("img").first.element_handle())

            # No code on the page, no error or stderr output.
            shown = page.evaluate("""() => ({
              inputs: [...document.querySelectorAll('.jp-CodeCell')].filter(c => !c.classList.contains('jp-mod-noInput')
                        || c.querySelector('.jp-InputArea, .cm-editor, .CodeMirror, .jp-InputPrompt')).length,
              editors: document.querySelectorAll('.cm-editor, .CodeMirror, .jp-CodeMirrorEditor').length,
              stderr: document.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]').length,
              text: document.body.innerText})""")
            assert shown["inputs"] == 0 and shown["editors"] == 0, "Voilà must not show code cells"
            assert shown["stderr"] == 0 and "Traceback" not in shown["text"], shown["text"][-2_000:]
            html = page.content()
            assert not [m for m in CODE_MARKERS if m in html], "the app's code reached the page"
            assert "What does a GAN know" in shown["text"]

            # DCGAN explorer: drag the first slider (thickness) to the right.
            digit = dcgan.locator("img").first
            before = _read_image(digit)
            assert _pixels(before[1]).shape == (28 * 8, 28 * 8)
            first_readout = dcgan.locator(".widget-readout").first
            assert first_readout.inner_text().strip() == "+0.0"
            drag_slider(page, dcgan.locator(".noUi-handle").first, 40)
            _wait_for_new_image(page, digit, before, "dragging the thickness slider")
            value = first_readout.inner_text()
            assert float(value) > 0, f"dragging right must raise the slider, readout says {value!r}"

            # Conditional explorer: ask for a 7 instead of the 4 it starts with.
            picker = conditional.locator(".gan-digit-picker")
            assert picker.locator("button.mod-active").inner_text().strip() == "4"
            readout = conditional.locator(".widget-html-content").first
            assert "asked for 4" in readout.inner_text()
            digit = conditional.locator("img").first
            digit.scroll_into_view_if_needed()
            before = _read_image(digit)
            picker.locator("button", has_text=re.compile(r"^\s*7\s*$")).click()
            _wait_for_new_image(page, digit, before, "picking digit 7")
            page.wait_for_function("el => el.innerText.includes('asked for 7')", arg=readout.element_handle(),
                                   timeout=10_000)
            assert picker.locator("button.mod-active").inner_text().strip() == "7"
        except Exception:
            shot = app_server["log"].with_name("failure.png")
            page.screenshot(path=str(shot))
            print(f"app test failed: page screenshot {shot}, server log {app_server['log']}")
            raise
        finally:
            browser.close()
