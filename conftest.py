"""pytest set-up shared by the unit tests and the notebooks run under nbval.

- Tests run in quick mode (GAN_QUICK=1) and write into a temporary outputs
  folder, so they never touch a real training run in outputs/.
- MNIST_NPZ defaults to the offline copy in ../shared/data when it exists.
- TensorFlow's C++ start-up lines go to stderr in a Jupyter kernel; nbval is
  told not to compare stderr (it still fails a notebook on any exception).
- Under ``make test`` (pytest-xdist, ``--dist loadfile``) each file stays on one worker, the longest
  files go first, and 05 runs right after 04 on 04's worker, so it reads the run 04 just wrote.
  (``--dist loadgroup`` with marks would say this more simply, but pytest 9.2 makes pytest-xdist 3.8
  ignore the marks: xdist#1386.)
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


#: Files that run one after the other on one worker, as if one file: 05 reads the run 04 writes.
RUN_TOGETHER = {"notebooks/05_progress_gif.ipynb": "notebooks/04_train_dcgan.ipynb"}

#: Seconds each of the longest files took under ``make test`` (2026-12-02). Longest first, so that the
#: two workers finish together rather than one running a long file alone at the end; files not
#: listed are short and follow, most tests first (pytest-xdist's own order). Only the order matters.
SECONDS = {"tests/test_colab.py": 62, "notebooks/10_training_dynamics.ipynb": 61, "tests/test_dynamics.py": 57,
           "tests/test_speed_settings.py": 55, "notebooks/00_gan_2d.ipynb": 51, "tests/test_faults.py": 50,
           "notebooks/08_conditional_gan.ipynb": 43, "tests/test_nothing_lost.py": 42,
           "notebooks/04_train_dcgan.ipynb": 39, "tests/test_runs.py": 30, "notebooks/06_evaluate.ipynb": 29,
           "notebooks/11_training_faster.ipynb": 29, "tests/test_app.py": 26, "notebooks/09_augmentation.ipynb": 26,
           "tests/test_cli.py": 25, "tests/test_browser.py": 25, "tests/test_quiet.py": 23, "tests/test_latent.py": 23,
           "tests/test_averaging.py": 42, "notebooks/02_vanilla_gan.ipynb": 21, "notebooks/01_mnist_data.ipynb": 20}


def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile``, longest files first, with 05 queued right after 04 on 04's worker (pytest-xdist's own hook)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class FilesWithFollowers(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            return RUN_TOGETHER.get(scope, scope)

        def _assign_work_unit(self, node) -> None:
            if not getattr(self, "_longest_first", False):  # the queue is complete at the first assignment
                queue = sorted(self.workqueue.items(), key=lambda unit: -SECONDS.get(unit[0], 0))
                self.workqueue.clear()
                self.workqueue.update(queue)
                self._longest_first = True
            super()._assign_work_unit(node)

    return FilesWithFollowers(config, log)
