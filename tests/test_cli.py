"""gan_extras/cli.py: ``python -m gan_helpers COMMAND ...``, every command and flag of the old command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gan_helpers as gh
from gan_extras import cli

OLD_COMMANDS = ["train", "estimate", "evaluate", "compare", "export", "synthesize", "augment", "vanilla-vs-dcgan",
                "dynamics", "train-classifier"]


def test_cli_train_writes_run_and_gif(tmp_path):
    mnist = os.environ.get("MNIST_NPZ")
    if not mnist or not Path(mnist).is_file():
        pytest.skip("no offline MNIST copy (set MNIST_NPZ)")
    out = tmp_path / "cli run"  # a space in the path on purpose
    env = {**os.environ, "MNIST_NPZ": mnist, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-m", "gan_helpers", "train", "--epochs", "1", "--n-train", "256",
                           "--batch-size", "64", "--out", str(out), "--gif"],
                          env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "epoch   1/1" in done.stdout
    assert gh.checkpoint_epochs(out) == [1]
    assert gh.load_history(out)["epoch"] == [1]
    info = gh.gif_info(out / "progress.gif")
    assert info["frames"] == 2 and info["loop"] == 0  # epoch 0 and epoch 1


def test_every_old_command_and_flag_is_there(capsys):
    parser = cli.build_parser()
    assert parser.prog == "python -m gan_helpers"
    commands = next(a for a in parser._actions if a.dest == "command").choices
    assert list(commands)[:len(OLD_COMMANDS)] == OLD_COMMANDS
    train_flags = {s for a in commands["train"]._actions for s in a.option_strings}
    assert {"--out", "--architecture", "--epochs", "--batch-size", "--learning-rate", "--beta-1", "--latent-dim",
            "--checkpoint-every", "--n-train", "--seed", "--frechet-every", "--frechet-n", "--mnist", "--gif",
            "--fall-back", "--g-loss", "--label-smoothing", "--lr-decay", "--d-steps", "--minibatch-std",
            "--kernel-size", "--projection-channels", "--precision", "--jit-compile"} <= train_flags
    assert commands["train"].get_default("architecture") == "dcgan"
    with pytest.raises(SystemExit):
        cli.main(["train", "--architecture", "gpt"])
    assert "invalid choice: 'gpt'" in capsys.readouterr().err


def test_estimate_works_from_any_folder(tmp_path):
    """(``--help`` from any folder: tests/test_quiet.py, which also checks it prints no start-up lines.)"""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-m", "gan_helpers", "estimate", "--batch-size", "32"], env=env,
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "One epoch on 60,000 images: about" in done.stdout and "Quick mode (GAN_QUICK=1 make run)" in done.stdout


def test_evaluate_and_export_a_run(tmp_path, capsys):
    x = np.random.default_rng(0).integers(0, 256, (128, 28, 28), dtype=np.uint8)
    out = tmp_path / "run"
    gh.train(out, architecture="vanilla", epochs=2, batch_size=64, checkpoint_every=1, x_train=x, verbose=0)
    assert cli.main(["evaluate", "--out", str(out), "--n", "8"]) == 0
    evaluation = json.loads((out / "evaluation.json").read_text())
    assert evaluation["epoch"] == 2 and evaluation["generator"]["n"] == 8
    assert cli.main(["export", "--run", str(out), "--to", str(tmp_path / "g.keras"), "--n", "8", "--epoch", "1"]) == 0
    assert f"wrote {tmp_path / 'g.keras'} and its .json record (epoch 1)" in capsys.readouterr().out
    assert json.loads((tmp_path / "g.json").read_text())["epochs"] == 1
