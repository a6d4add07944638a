"""What a student sees is quiet: no TensorFlow C++ start-up lines in a notebook or on the command line.

TF_CPP_MIN_LOG_LEVEL=1, set before TensorFlow is imported (the Setup cell; ``python -m gan_helpers``),
hides the INFO lines (absl's "All log messages before absl::InitializeLog()", the CPU-feature and
oneDNN notices) and keeps TensorFlow's warnings and errors.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
START_UP = ("absl::InitializeLog", "cpu_feature_guard", "oneDNN custom operations", "To enable the following instructions",
            "remapper failed")


def without_log_level() -> dict[str, str]:
    """This environment without the setting, and without PYTEST_CURRENT_TEST: ipykernel does not forward
    a kernel's C++ output (file descriptor 2) to the notebook when it sees that, as it does in Jupyter."""
    return {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "PYTEST_CURRENT_TEST")}


def test_the_command_line_prints_no_start_up_lines():
    proc = subprocess.run([sys.executable, "-m", "gan_helpers", "--help"], capture_output=True, text=True,
                          cwd=ROOT, env=without_log_level(), timeout=300)
    assert proc.returncode == 0 and "usage: python -m gan_helpers" in proc.stdout
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
    for level, quiet in (("1", True), ("0", False)):  # the Setup cell's setting, and without it: the check can fail
        cell = setup.replace('"TF_CPP_MIN_LOG_LEVEL", "1"', f'"TF_CPP_MIN_LOG_LEVEL", "{level}"')
        proc = subprocess.run([sys.executable, "-c", KERNEL, json.dumps([cell, step]), str(ROOT)], timeout=600,
                              capture_output=True, text=True, env={**without_log_level(), "GAN_OUTPUTS": str(tmp_path)})
        assert proc.returncode == 0, proc.stderr[-2000:]
        printed = json.loads(proc.stdout.splitlines()[-1])
        assert "True" in printed[-1]
        noisy = [t for t in printed if any(s in t for s in START_UP)]
        assert (not noisy) == quiet, (level, printed)
