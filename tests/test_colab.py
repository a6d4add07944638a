"""The kit on Colab (README, "Open in Colab"), checked without Colab.

- the published address: badges and the Setup cells' clone address agree with pyproject.toml, and
  ``make colab REPO=OWNER/NAME`` stamps every notebook once (running it again changes nothing);
- a simulated Colab: a fake ``google.colab`` (``drive.mount`` links a folder standing in for My Drive),
  a working folder standing in for /content and no installed kit. The Setup cell, run in a Jupyter
  kernel, finds the kit on the fake Drive, writes outputs there, and a second "runtime" resumes the
  first one's run; with an empty Drive it clones a local repository standing in for GitHub;
- Colab's own package versions, installed into side folders with ``pip install --target`` and put first
  on a subprocess's PYTHONPATH: Keras 3.13.2 loads the shipped generators and classifier (they were
  saved by a newer Keras) with the same outputs, and trains, resumes and exports; ipywidgets 7.7.1
  runs the latent explorers and the web app, a slider moving the picture.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

import gan_helpers as gh
from gan_extras import colab
from gan_extras import evaluation as ev

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) + sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
#: Colab's versions (its published package list, 2026-08; ../shared/notes/known-pitfalls.md)
COLAB_PACKAGES = ["keras==3.13.2", "ipywidgets==7.7.1", "widgetsnbextension==3.6.10", "jupyterlab_widgets==1.1.11",
                  "ipython_genutils==0.2.0", "imageio==2.37.0", "pillow==11.3.0"]


def setup_source(path: Path = NOTEBOOKS[0]) -> str:
    return "".join(next(c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")["source"])


def badges(text: str) -> list[str]:
    return [m.group(1) for m in colab.BADGE.finditer(text)]


def title_and_setup(path: Path) -> tuple[str, str]:
    cells = json.loads(path.read_text())["cells"]
    return "".join(cells[0]["source"]), setup_source(path)


# --- the published address ------------------------------------------------------------------

def check_stamped(root: Path) -> int:
    """Every badge in root matches its pyproject.toml address and opens a file that exists; the count."""
    address = colab.published_address(root)
    clone = f'KIT_REPO = "https://github.com/{address[0]}"' if address else 'KIT_REPO = ""'
    found = badges((root / "README.md").read_text())
    assert len(found) == (1 if address else 0), found
    for path in [p for p in sorted(root.glob("notebooks/[0-9][0-9]_*.ipynb")) + sorted(root.glob("solutions/*.ipynb"))]:
        title, setup = title_and_setup(path)
        assert clone in setup, f"{path.name}: the Setup cell's clone address is not {clone}"
        expected = [colab.badge_url(*address, path.relative_to(root).as_posix())] if address else []
        assert badges(title) == expected, path.name
        found += badges(title)
    prefix = f"https://colab.research.google.com/github/{address[0]}/blob/{address[1]}/" if address else ""
    for url in found:
        assert url.startswith(prefix) and (root / url.removeprefix(prefix)).is_file(), url
    return len(found)


def test_badges_match_the_published_address():
    check_stamped(ROOT)
    assert len({setup_source(p) for p in NOTEBOOKS}) == 1, "the Setup cells differ"


def test_make_colab_stamps_every_notebook_once(tmp_path):
    for name in ("notebooks", "gan_extras", "solutions"):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("README.md", "pyproject.toml", "Makefile"):
        shutil.copy2(ROOT / name, tmp_path / name)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    make = ["make", "-s", "-C", str(tmp_path), "colab", "REPO=a-teacher/gan-kit", f"PYTHON={sys.executable}"]
    first = subprocess.run(make, capture_output=True, text=True, check=True).stdout
    assert "Published as a-teacher/gan-kit (main)" in first
    assert check_stamped(tmp_path) == 1 + len(list(tmp_path.glob("notebooks/*.ipynb"))) + len(list(tmp_path.glob("solutions/*.ipynb")))
    assert colab.published_address(tmp_path) == ("a-teacher/gan-kit", "main")
    assert len({setup_source(p) for p in sorted(tmp_path.glob("notebooks/[0-9][0-9]_*.ipynb"))}) == 1
    stamped = {p: p.read_bytes() for p in before}
    again = subprocess.run(make, capture_output=True, text=True, check=True).stdout
    assert "0 files changed" in again and all(p.read_bytes() == b for p, b in stamped.items())
    # a fork re-stamps with its own address; --remove gives back the unpublished kit byte for byte
    assert colab.stamp(tmp_path, "https://github.com/a-fork/gan-kit.git", "teaching")
    assert colab.published_address(tmp_path) == ("a-fork/gan-kit", "teaching") and check_stamped(tmp_path) > 1
    colab.stamp(tmp_path, None)
    assert [p.name for p, b in before.items() if p.read_bytes() != b] == []
    refused = subprocess.run(make[:-2] + [f"PYTHON={sys.executable}"], capture_output=True, text=True)
    assert refused.returncode != 0 and "give the repository as REPO=OWNER/NAME" in refused.stderr


def test_the_setup_cell_is_inert_off_colab():
    text = setup_source()
    colab_part = text[text.index('if "google.colab" in sys.modules'):text.index("import numpy as np")]
    assert "pip install" not in text and "google.colab import" in colab_part
    assert "tensorflow" not in colab_part.replace('find_spec("tensorflow")', ""), "never install TensorFlow on Colab"


# --- a simulated Colab ----------------------------------------------------------------------

FAKE_DRIVE = '''"""A stand-in for google.colab.drive: mount() links the folder $FAKE_MY_DRIVE as MOUNTPOINT/MyDrive."""
import os

def mount(mountpoint, force_remount=False, timeout_ms=120000, readonly=False):
    os.makedirs(mountpoint, exist_ok=True)
    os.symlink(os.environ["FAKE_MY_DRIVE"], os.path.join(mountpoint, "MyDrive"))
    print("Mounted at", mountpoint)
'''

SIMULATE = '''# Simulated Colab: google.colab is loaded at start-up, and the kit installed here is out of sight.
import importlib.util, json, os, sys
import google.colab
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in getattr(f, "__module__", "")]
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != {root!r}]
assert importlib.util.find_spec("gan_helpers") is None, "the simulation still sees the installed kit"
'''


#: Run folders of generators still training (data/pretrained/in_training/README.md), 40-90 MB that no
#: notebook reads: left out of the staged kit, which then copies and commits in seconds.
IN_TRAINING = "data/pretrained/in_training/"


def stage_kit(folder: Path) -> Path:
    """What a teacher copies to Drive (or what a clone holds): the kit's tracked files as they are now."""
    files = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--cached", "--others", "--exclude-standard"],
                           capture_output=True, text=True, check=True).stdout.splitlines()
    for name in files:
        if (ROOT / name).is_file() and not name.startswith(IN_TRAINING):
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, folder / name)
    return folder


def run_in_kernel(cells: list[str], content: Path, fake: Path, my_drive: Path) -> list[str]:
    """Run cells in a fresh kernel whose working folder is ``content`` (Colab's /content); their stdout."""
    content.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    env = {k: v for k, v in os.environ.items() if k not in ("GAN_OUTPUTS", "GAN_KIT", "PYTHONPATH")}
    env.update(PYTHONPATH=str(fake), FAKE_MY_DRIVE=str(my_drive), TF_CPP_MIN_LOG_LEVEL="2")
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(content)}}).execute(env=env)
    return ["".join(o.get("text", "") for o in c.outputs if o.get("name") == "stdout") for c in nb.cells]


def last_json(stdout: str) -> object:
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def fake_colab(tmp_path_factory):
    base = tmp_path_factory.mktemp("colab")
    fake = base / "fake-packages"
    (fake / "google" / "colab").mkdir(parents=True)  # no google/__init__.py: google.protobuf stays importable
    (fake / "google" / "colab" / "__init__.py").write_text('"""A stand-in for Colab\'s google.colab package."""\n')
    (fake / "google" / "colab" / "drive.py").write_text(FAKE_DRIVE)
    return base, fake


def test_simulated_colab_finds_the_kit_on_drive_and_a_new_runtime_resumes(fake_colab):
    base, fake = fake_colab
    my_drive, stage = base / "drive-store", stage_kit(base / "stage")
    my_drive.mkdir()
    setup = setup_source()
    simulate = SIMULATE.format(root=str(ROOT))
    errors = f'''SETUP = {setup!r}
messages = []
sys.modules["tensorflow"] = None  # a TPU runtime: no TensorFlow
for _ in range(2):
    try:
        exec(SETUP)
    except RuntimeError as error:
        messages.append(str(error))
    sys.modules.pop("tensorflow", None)  # then a GPU runtime with an empty Drive
print(json.dumps(messages))'''
    copy = f'''import shutil
shutil.copytree({str(stage)!r}, "drive/MyDrive/Colab Notebooks/gan-teaching-kit")
os.makedirs("drive/MyDrive/old notes"); open("drive/MyDrive/old notes/gan_helpers.py", "w").close()  # no data/'''
    train = '''run = gh.train(gh.output_dir("dcgan"), architecture="vanilla", epochs=EPOCHS, n_train=64, batch_size=32,
               checkpoint_every=1, verbose=0)
g = gh.load_pretrained_generator(conditional=True)
print(json.dumps({"kit": gh.__file__, "outputs": str(gh.outputs_root()), "epochs": gh.checkpoint_epochs(run.out_dir),
                  "resumed_from": run.resumed_from, "samples": list(gh.sample_digits(g, 10).shape)}))'''
    first = run_in_kernel([simulate, errors, copy, setup, "EPOCHS = 1\n" + train], base / "content-1", fake, my_drive)
    messages = last_json(first[1])
    assert "no TensorFlow" in messages[0] and "T4 GPU" in messages[0]
    assert "0 kit folders on Google Drive" in messages[1] and "GAN_KIT" in messages[1]
    assert "Mounted at" in first[1]
    kit = my_drive / "Colab Notebooks" / "gan-teaching-kit"
    found = last_json(first[-1])
    assert Path(found["kit"]).resolve() == (kit / "gan_helpers.py").resolve()
    assert Path(found["outputs"]).resolve() == (kit / "outputs").resolve(), "outputs go to the kit's folder on Drive"
    assert found["epochs"] == [1] and found["samples"] == [10, 28, 28]
    # the runtime is gone (a disconnect): a new one, with a new /content, finds the run on Drive and resumes it
    second = run_in_kernel([simulate, setup, "EPOCHS = 2\n" + train], base / "content-2", fake, my_drive)
    resumed = last_json(second[-1])
    assert resumed["resumed_from"] == 1 and resumed["epochs"] == [1, 2]


def test_simulated_colab_clones_the_published_kit(fake_colab, tmp_path):
    base, fake = fake_colab
    source, bare = stage_kit(tmp_path / "source"), tmp_path / "github.git"
    git = ["git", "-c", "user.name=kit", "-c", "user.email=kit@example.org", "-c", "init.defaultBranch=main"]
    subprocess.run(git + ["init", "-q", str(source)], check=True)
    subprocess.run(git + ["-C", str(source), "add", "-A"], check=True)
    subprocess.run(git + ["-C", str(source), "commit", "-q", "-m", "the published kit"], check=True)
    subprocess.run(git + ["clone", "-q", "--bare", str(source), str(bare)], check=True)
    setup = colab.CLONE.sub(lambda m: m.group(1) + repr(bare.as_uri()).replace("'", '"'), setup_source())
    assert bare.as_uri() in setup
    my_drive = tmp_path / "empty-drive"
    my_drive.mkdir()
    simulate = SIMULATE.format(root=str(ROOT))
    check = '''g = gh.load_pretrained_generator()
print(json.dumps({"kit": gh.__file__, "outputs": str(gh.outputs_root()), "shape": list(gh.sample_digits(g, 4).shape)}))'''
    out = run_in_kernel([simulate, setup, check], tmp_path / "content", fake, my_drive)
    found = last_json(out[-1])
    assert Path(found["kit"]) == tmp_path / "content" / "gan-teaching-kit" / "gan_helpers.py"
    assert Path(found["outputs"]).resolve() == (my_drive / "gan-kit-outputs").resolve(), "a clone's outputs go to Drive"
    assert found["shape"] == [4, 28, 28]


# --- Colab's package versions ---------------------------------------------------------------

def side_folder(name: str, packages: list[str]) -> Path:
    """Colab's versions of some packages, installed once into a folder of their own (pip install --target)."""
    base = ROOT / ".venv" / "colab-side" if (ROOT / ".venv").is_dir() else Path(tempfile.gettempdir()) / "gan-kit-colab-side"
    folder = base / name
    marker = folder / ".complete"
    if not marker.is_file() or marker.read_text() != " ".join(packages):
        shutil.rmtree(folder, ignore_errors=True)
        done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
                               "--target", str(folder), *packages], capture_output=True, text=True)
        assert done.returncode == 0, f"pip could not install Colab's {packages} (it needs the package registry):\n{done.stderr[-3000:]}"
        marker.write_text(" ".join(packages))
    return folder


def run_with(folder: Path, script: str, *args: str) -> dict:
    """Run a script in a subprocess with ``folder`` first on PYTHONPATH; the JSON it prints last."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)]), "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script), *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


COLAB_SCRIPT = '''
    import json, sys
    from pathlib import Path
    import keras, numpy as np
    import gan_helpers as gh
    from gan_extras import averaging as avg, evaluation as ev, runs
    plain = {}
    for name in ("dcgan_generator", "conditional_generator", "mnist_classifier"):
        try:
            keras.models.load_model(gh.PRETRAINED_DIR / f"{name}.keras", compile=False)
            plain[name] = "loaded"
        except Exception as error:
            plain[name] = type(error).__name__
    z = gh.latent_vectors(16, seed=3)
    dcgan = gh.generate(gh.load_pretrained_generator(), z)
    conditional = gh.generate(gh.load_pretrained_generator(conditional=True), z, labels=np.arange(16) % 10)
    (_, _), (x_test, _) = gh.load_mnist()
    logits = ev.load_classifier()[0].predict(gh.to_float(x_test[:64]), verbose=0)
    np.savez(sys.argv[1], dcgan=dcgan, conditional=conditional, classifier=logits)
    # Colab's Keras trains, averages, resumes and exports with the kit's code
    out = Path(sys.argv[2])
    for epochs in (1, 2):
        run = avg.train_averaged(out / "run", epochs=epochs, n_train=64, batch_size=32, checkpoint_every=1, verbose=0)
    record = runs.export_generator(out / "run", out / "exported.keras", n_eval=200)
    again = keras.models.load_model(out / "exported.keras", compile=False)
    import imageio, PIL
    gif = gh.gif_info(next(out.glob("exported*.gif")))
    found = {"keras": keras.__version__, "imageio": imageio.__version__, "pillow": PIL.__version__,
             "gif_frames": gif["frames"], "plain": plain, "resumed_from": run.resumed_from,
             "exported_fd": record["evaluation"]["generator"]["frechet_distance"],
             "exported_shape": list(again.output_shape)}

    # Colab's ipywidgets runs the latent explorers and the web app; a slider moves the picture
    import ipywidgets, nbformat
    from gan_extras import latent as lat
    g = gh.load_pretrained_generator()
    explorer = lat.LatentExplorer(g, lat.explorer_directions(g, n=512, seed=0), seed=3)
    before = explorer.image.value
    explorer.sliders["thickness"].value = 2.5
    explorer.seed_box.value = 12
    explorer.random_button.click()
    walk = lat.InterpolationExplorer(g, seed_a=1, seed_b=2)
    walk.t.value = 0.9
    app = {}  # the web app's notebook, cell by cell, then a slider of each of its explorers
    for cell in nbformat.read("app/explorer.ipynb", as_version=4).cells:
        if cell.cell_type == "code":
            exec(cell.source.replace("N_FIT = 2_048", "N_FIT = 512"), app)
    moved = []
    for name in ("explorer", "conditional_explorer"):
        shown = app[name].image.value
        app[name].sliders["slant"].value = -1.5
        moved.append(app[name].image.value != shown)
    found.update({"ipywidgets": ipywidgets.__version__, "explorer": explorer.image.value != before,
                  "updates": explorer.updates, "walk": walk.updates, "app": moved})
    print(json.dumps(found))
'''


def test_the_kit_runs_on_colabs_package_versions(tmp_path):
    """Keras 3.13.2 loads the shipped models (saved by a newer Keras) with the same outputs, trains, resumes and
    exports; ipywidgets 7.7.1 runs the explorers and the web app."""
    found = run_with(side_folder("colab-2026-08", COLAB_PACKAGES), COLAB_SCRIPT, str(tmp_path / "colab.npz"), str(tmp_path))
    assert (found["keras"], found["imageio"], found["pillow"]) == ("3.13.2", "2.37.0", "11.3.0")
    assert "loaded" not in found["plain"].values(), f"Colab's Keras now reads {found['plain']}: is the fall-back still needed?"
    colab_outputs = np.load(tmp_path / "colab.npz")
    z = gh.latent_vectors(16, seed=3)
    (_, _), (x_test, _) = gh.load_mnist()
    here = {"dcgan": gh.generate(gh.load_pretrained_generator(), z),
            "conditional": gh.generate(gh.load_pretrained_generator(conditional=True), z, labels=np.arange(16) % 10),
            "classifier": ev.load_classifier()[0].predict(gh.to_float(x_test[:64]), verbose=0)}
    for name, values in here.items():
        np.testing.assert_allclose(colab_outputs[name], values, atol=1e-5, err_msg=name)
    assert found["resumed_from"] == 1 and found["exported_shape"] == [None, 28, 28, 1] and found["exported_fd"] > 0
    assert found["gif_frames"] == 3, "the exported GIF: the untrained frame and 2 epochs, written by Colab's imageio"
    assert found["ipywidgets"] == "7.7.1"
    assert found["explorer"] and found["updates"] == 4 and found["walk"] == 2 and found["app"] == [True, True]


def test_the_setup_cells_device_report_names_colabs_gpu(monkeypatch):
    """Not run on a GPU here: TensorFlow's device list is replaced by what it reports on Colab's T4 runtime."""
    gpu = gh.tf.config.PhysicalDevice(name="/physical_device:GPU:0", device_type="GPU")
    monkeypatch.setattr(gh.tf.config, "list_physical_devices", lambda kind=None: [gpu] if kind == "GPU" else [])
    monkeypatch.setattr(gh.tf.config.experimental, "get_device_details",
                        lambda device: {"device_name": "Tesla T4", "compute_capability": (7, 5)})
    assert gh.device_report().startswith("Training on GPU: Tesla T4 (TensorFlow ")
