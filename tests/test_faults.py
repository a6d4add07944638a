"""Fault injection: training killed with SIGKILL at random moments, damaged files, and resuming.

Each kill runs `python -m gan_helpers train` in a subprocess on a small slice of
MNIST (one checkpoint per epoch), kills it at a random moment (mid-epoch,
mid-checkpoint-save, or mid-GIF-write), then checks what is on disk against the
last complete checkpoint and resumes in-process to the end, checking the
epoch counter, optimizer state, history, frames and weights.
GAN_FAULT_KILLS sets the number of random kills (default 1 in `make test`; e.g. 30 for the long run).
A damaged latest checkpoint and falling back from it: tests/test_runs.py (gan_extras/runs.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import gan_helpers as gh
from gan_extras import evaluation as ev

ROOT = Path(__file__).resolve().parent.parent
KILLS = int(os.environ.get("GAN_FAULT_KILLS", "1"))
EPOCHS, N_TRAIN, BATCH = 5, 256, 32          # 8 steps per epoch
ARCH = "vanilla"  # the loop and its files are the same for every architecture; this one is the lightest
SUMMARY = {"kills": 0, "mid_epoch": 0, "mid_save": 0, "mid_gif": 0, "resumes_verified": 0}

# Runs the CLI (gan_extras/cli.py); with FAULT=save or FAULT=gif, a timer SIGKILLs the process a random
# few ms into the Nth checkpoint save or into writing the GIF, so the kill lands inside that write.
RUNNER = textwrap.dedent("""
    import os, random, signal, sys, threading
    import gan_helpers as gh
    import tensorflow as tf
    from gan_extras.cli import main
    fault, nth = os.environ.get("FAULT", ""), int(os.environ.get("FAULT_NTH", "1"))
    def kill_soon():
        threading.Timer(random.uniform(0, 0.02), os.kill, (os.getpid(), signal.SIGKILL)).start()
    if fault == "save":
        original, calls = tf.train.CheckpointManager.save, [0]
        def save(self, *args, **kwargs):
            calls[0] += 1
            if calls[0] == nth:
                kill_soon()
            return original(self, *args, **kwargs)
        tf.train.CheckpointManager.save = save
    if fault == "gif":
        original_gif = gh.make_gif
        def make_gif(*args, **kwargs):
            kill_soon()
            return original_gif(*args, **kwargs)
        gh.make_gif = make_gif
    sys.exit(main(sys.argv[1:]))
""")


def _command(out: Path) -> list[str]:
    return [sys.executable, "-c", RUNNER, "train", "--out", str(out), "--epochs", str(EPOCHS), "--architecture", ARCH,
            "--n-train", str(N_TRAIN), "--batch-size", str(BATCH), "--checkpoint-every", "1", "--gif"]


def _killed_run(out: Path, fault: str = "", nth: int = 1, after_frame: int = 1, delay: float = 0.0) -> int:
    """Start training in a subprocess and SIGKILL it; returns the exit code (-9 when killed)."""
    env = {**os.environ, "FAULT": fault, "FAULT_NTH": str(nth), "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen(_command(out), cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    if not fault:  # mid-epoch: wait for a frame, then kill after a random delay
        frame = out / "frames" / f"epoch_{after_frame:04d}.png"
        deadline = time.monotonic() + 300
        while not frame.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(delay)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
    try:
        _, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode in (-signal.SIGKILL, 0), stderr.decode()[-2000:]
    return process.returncode


def _check_after_kill(out: Path) -> int:
    """On disk after a kill: the last complete checkpoint, and nothing half-written read as good."""
    epochs = gh.checkpoint_epochs(out)
    last = epochs[-1] if epochs else 0
    if (out / "history.json").exists():
        history = json.loads((out / "history.json").read_text())  # never half-written
        assert history["epoch"] == list(range(1, len(history["epoch"]) + 1))
        assert len(history["epoch"]) in (last, last + 1), "history is at most one epoch ahead"
    if (out / "progress.gif").exists():
        info = gh.gif_info(out / "progress.gif")  # a GIF that exists is a whole GIF
        assert info["frames"] == EPOCHS + 1 and info["loop"] == 0
    return last


def _resume_and_verify(out: Path, last: int, x: np.ndarray) -> None:
    """Resume in-process: the state is the last checkpoint's, and the run finishes consistently."""
    if last:
        expected = gh.load_generator_from_checkpoint(out, last)
        state = gh.new_gan_state(architecture=ARCH)
        _, epoch = gh.restore_or_initialize(state, out)
        assert epoch == last and int(state.epoch.numpy()) == last
        steps = last * (N_TRAIN // BATCH)
        assert int(state.g_optimizer.iterations) == steps and int(state.d_optimizer.iterations) == steps
        for a, b in zip(state.generator.weights, expected.weights):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    run = gh.train(out, epochs=EPOCHS, n_train=N_TRAIN, batch_size=BATCH, checkpoint_every=1,
                   x_train=x, verbose=0, architecture=ARCH)
    assert run.resumed_from == last
    assert run.history["epoch"] == list(range(1, EPOCHS + 1))
    assert gh.checkpoint_epochs(out) == list(range(1, EPOCHS + 1))
    assert sorted(p.name for p in (out / "frames").glob("*.png")) == [f"epoch_{e:04d}.png" for e in range(EPOCHS + 1)]
    assert not list((out / "checkpoints").glob("*_temp*")), "orphaned temporary checkpoints are removed"
    SUMMARY["resumes_verified"] += 1


@pytest.fixture(scope="module")
def x_train():
    (x, _), _ = gh.load_mnist()
    return x[:N_TRAIN]


@pytest.mark.parametrize("trial", range(KILLS))
def test_sigkill_mid_epoch_then_resume(trial, tmp_path, x_train):
    rng = np.random.default_rng(trial)
    code = _killed_run(tmp_path, after_frame=int(rng.integers(1, EPOCHS - 1)), delay=float(rng.uniform(0, 1.5)))
    SUMMARY["kills"] += code != 0
    SUMMARY["mid_epoch"] += code != 0
    _resume_and_verify(tmp_path, _check_after_kill(tmp_path), x_train)


@pytest.mark.parametrize("nth", [3])
def test_sigkill_mid_checkpoint_save_then_resume(nth, tmp_path, x_train):
    code = _killed_run(tmp_path, fault="save", nth=nth)
    assert code == -signal.SIGKILL
    SUMMARY["kills"] += 1
    SUMMARY["mid_save"] += 1
    last = _check_after_kill(tmp_path)
    assert last in (nth - 1, nth), "the save being written is either complete or absent"
    _resume_and_verify(tmp_path, last, x_train)


def test_sigkill_mid_gif_keeps_checkpoints(tmp_path, x_train):
    code = _killed_run(tmp_path, fault="gif")
    assert code == -signal.SIGKILL
    SUMMARY["kills"] += 1
    SUMMARY["mid_gif"] += 1
    assert _check_after_kill(tmp_path) == EPOCHS, "training finished before the GIF: every checkpoint is there"
    gif = gh.make_gif(tmp_path / "frames", tmp_path / "progress.gif")  # writing it again just works
    assert gh.gif_info(gif)["frames"] == EPOCHS + 1
    _resume_and_verify(tmp_path, EPOCHS, x_train)


def test_swapped_pretrained_file_is_named(tmp_path):
    swapped = tmp_path / "dcgan_generator.keras"
    swapped.write_bytes(ev.CLASSIFIER_PATH.read_bytes())  # the classifier under the generator's name
    with pytest.raises(ValueError, match="dcgan_generator.keras does not hold a generator"):
        gh.load_pretrained_generator(swapped)


def test_same_seed_same_losses_and_samples(tmp_path):
    """Two runs of one epoch with the same seed on this machine agree exactly (README: Reproducibility)."""
    for name in ("a", "b"):
        subprocess.run([sys.executable, "-m", "gan_helpers", "train", "--out", str(tmp_path / name), "--epochs", "1",
                        "--architecture", ARCH, "--n-train", str(N_TRAIN), "--batch-size", str(BATCH), "--seed", "3"],
                       cwd=ROOT, check=True, capture_output=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    a, b = (gh.load_history(tmp_path / name) for name in ("a", "b"))
    assert a["g_loss"] == b["g_loss"] and a["d_loss"] == b["d_loss"] and a["d_real"] == b["d_real"]
    assert (tmp_path / "a/frames/epoch_0001.png").read_bytes() == (tmp_path / "b/frames/epoch_0001.png").read_bytes()
    np.testing.assert_array_equal(gh.sample_digits(gh.load_generator_from_checkpoint(tmp_path / "a"), 8, seed=1),
                                  gh.sample_digits(gh.load_generator_from_checkpoint(tmp_path / "b"), 8, seed=1))


def test_fault_summary_line(capsys):
    if not SUMMARY["kills"]:
        pytest.skip("run with the kill tests to get the summary")
    line = (f"fault injection: {SUMMARY['kills']} kills ({SUMMARY['mid_epoch']} mid-epoch, "
            f"{SUMMARY['mid_save']} mid-save, {SUMMARY['mid_gif']} mid-GIF), "
            f"{SUMMARY['resumes_verified']} resumes verified")
    with capsys.disabled():
        print("\n" + line)
    assert SUMMARY["resumes_verified"] == SUMMARY["kills"] + (KILLS - SUMMARY["mid_epoch"]), line
