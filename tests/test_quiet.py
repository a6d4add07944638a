"""What a student sees is quiet: no TensorFlow C++ start-up lines in a notebook or on the command line.

TF_CPP_MIN_LOG_LEVEL=1, set before TensorFlow is imported (the Setup cell; ``python -m gan_helpers``),
hides the INFO lines it reaches (the CPU-feature notices) and keeps TensorFlow's warnings and errors. On
CPUs where TensorFlow turns on oneDNN by itself, the two lines it does not reach are handled by
gan_extras/quiet.py: gan_helpers loads TensorFlow with the oneDNN notice filtered out of file
descriptor 2 (every other line kept), and ``gh.quiet_tensorflow()`` turns off the graph rewrite that
logs "remapper failed" for every training graph.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gan_extras.quiet import START_UP_NOTICES, notices_hidden


ROOT = Path(__file__).resolve().parent.parent
START_UP = ("absl::InitializeLog", "cpu_feature_guard", "oneDNN custom operations", "To enable the following instructions",
            "remapper failed")


def without_log_level() -> dict[str, str]:
    """This environment without the setting, and without PYTEST_CURRENT_TEST: ipykernel does not forward
    a kernel's C++ output (file descriptor 2) to the notebook when it sees that, as it does in Jupyter."""
    return {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "PYTEST_CURRENT_TEST")}


def test_the_command_line_works_from_any_folder_and_prints_no_start_up_lines(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "gan_helpers", "--help"], capture_output=True, text=True,
                          cwd=tmp_path, env=without_log_level(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("usage: python -m gan_helpers") and "vanilla-vs-dcgan" in proc.stdout
    assert not [line for line in proc.stderr.splitlines() if any(s in line for s in START_UP)], proc.stderr


KERNEL = r"""
import json, sys
import nbformat
from nbclient import NotebookClient
setup, step = json.loads(sys.argv[1])
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(setup), nbformat.v4.new_code_cell(step)])
NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}}).execute()
print(json.dumps([o.get("text", "") for c in nb.cells for o in c.outputs if o.get("output_type") == "stream"]))
"""


def test_a_notebooks_setup_cell_and_first_training_step_print_no_start_up_lines(tmp_path):
    """The Setup cell, then a train step (where a C++ notice would appear), in a real kernel that forwards
    its C++ output as JupyterLab's does."""
    lesson = json.loads((ROOT / "notebooks" / "04_train_dcgan.ipynb").read_text())
    setup = "".join(next(c for c in lesson["cells"] if c["cell_type"] == "code")["source"])
    step = ("s = gh.new_gan_state()\n"
            "step = gh.make_train_step(s.generator, s.discriminator, s.g_optimizer, s.d_optimizer, s.rng)\n"
            "print(float(step(tf.zeros([16, 28, 28, 1]))['g_loss']) > 0)")
    bare = setup.replace('"TF_CPP_MIN_LOG_LEVEL", "1"', '"TF_CPP_MIN_LOG_LEVEL", "0"').replace(
        "import gan_helpers as gh", "import tensorflow, gan_helpers as gh").replace("gh.quiet_tensorflow()", "")
    assert bare != setup and "gh.quiet_tensorflow()" in setup
    for cell, quiet in ((setup, True), (bare, False)):  # the Setup cell, and one without its three measures:
        level = "1" if quiet else "0"                   # the check can fail
        proc = subprocess.run([sys.executable, "-c", KERNEL, json.dumps([cell, step]), str(ROOT)], timeout=600,
                              capture_output=True, text=True, env={**without_log_level(), "GAN_OUTPUTS": str(tmp_path)})
        assert proc.returncode == 0, proc.stderr[-2000:]
        printed = json.loads(proc.stdout.splitlines()[-1])
        assert any("True" in t for t in printed), printed
        noisy = [t for t in printed if any(s in t for s in START_UP)]
        assert (not noisy) == quiet, (level, printed)


def test_notices_hidden_drops_only_the_notices_and_keeps_real_lines(capfd):
    """The filter around TensorFlow's loading: the oneDNN notice and absl's banner go, an error line stays,
    in order, and an exception inside the block still reaches the caller with the kept lines written."""
    with notices_hidden():
        os.write(2, f"WARNING: {START_UP_NOTICES[0]} are written to STDERR\n".encode())
        os.write(2, b"E0000 real.cc:1] a real error\n")
        os.write(2, f"I0000 port.cc:153] {START_UP_NOTICES[1]}. You may see ...\n".encode())
        os.write(2, b"W0000 real.cc:2] a real warning\n")
    assert capfd.readouterr().err == "E0000 real.cc:1] a real error\nW0000 real.cc:2] a real warning\n"
    with pytest.raises(ImportError, match="broken"):
        with notices_hidden():
            os.write(2, b"E0000 loader.cc:9] cannot open libfoo.so\n")
            raise ImportError("broken install")
    assert capfd.readouterr().err == "E0000 loader.cc:9] cannot open libfoo.so\n"
    os.write(2, b"after\n")  # file descriptor 2 is back where it was
    assert capfd.readouterr().err == "after\n"


def test_quiet_tensorflow_turns_off_the_remapper_only():
    import tensorflow as tf

    import gan_helpers as gh
    before = tf.config.optimizer.get_experimental_options()
    try:
        gh.quiet_tensorflow()
        after = tf.config.optimizer.get_experimental_options()
        assert after.pop("remapping") is False and after == {k: v for k, v in before.items() if k != "remapping"}
    finally:
        tf.config.optimizer.set_experimental_options({"remapping": before.get("remapping", True)})
