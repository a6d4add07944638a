"""pytest set-up shared by the unit tests and the notebooks run under nbval.

- Tests run in quick mode (GAN_QUICK=1) and write into a temporary outputs
  folder, so they never touch a real training run in outputs/.
- MNIST_NPZ defaults to the offline copy in ../shared/data when it exists.
- TensorFlow's C++ start-up lines go to stderr in a Jupyter kernel; nbval is
  told not to compare stderr (it still fails a notebook on any exception).
- ``make test`` shares one GAN_OUTPUTS folder between its two pytest runs, so 05 reads 04's run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def pytest_configure(config) -> None:
    os.environ["GAN_QUICK"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # as the Setup cell: no C++ INFO lines, warnings kept
    os.environ.setdefault("MPLBACKEND", "Agg")
    offline = ROOT.parent / "shared" / "data" / "mnist.npz"
    if "MNIST_NPZ" not in os.environ and offline.is_file():
        os.environ["MNIST_NPZ"] = str(offline)
    if "GAN_OUTPUTS" not in os.environ:
        config._gan_outputs = tempfile.mkdtemp(prefix="gan-kit-test-outputs-")
        os.environ["GAN_OUTPUTS"] = config._gan_outputs


def pytest_unconfigure(config) -> None:
    """Remove the temporary outputs folder (checkpoints are ~100 MB a run)."""
    folder = getattr(config, "_gan_outputs", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop("GAN_OUTPUTS", None)


def pytest_collectstart(collector) -> None:
    """nbval: ignore stderr (TensorFlow start-up notices), compare the rest as marked."""
    if getattr(collector, "skip_compare", None) is not None:
        collector.skip_compare = tuple(collector.skip_compare) + ("stderr",)

