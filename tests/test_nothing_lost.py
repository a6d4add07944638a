"""Nothing lost, nothing silently wrong: interrupts, command-line errors, exports and settings mismatches.

Each test here failed on the kit before these cases were handled: Ctrl-C dropped every epoch since
the last checkpoint with a traceback; every command-line error was a traceback; `export` without
`--to` replaced the shipped generator, and a failure half-way left a new model beside an old record;
a checkpoint of other settings was called damaged, with advice that set a good checkpoint aside.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import gan_helpers as gh
from gan_extras import augmentation as aug
from gan_extras import cli
from gan_extras import conditional as cond
from gan_extras import dynamics as dyn
from gan_extras import evaluation as ev
from gan_extras import runs

ROOT = Path(__file__).resolve().parent.parent
N, BATCH = 256, 32
QUIET = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
CASES: dict[str, int] = {"interrupts survived": 0, "command-line errors in one line": 0, "exports kept whole": 0,
                         "resumes of other settings refused": 0, "damaged records refused": 0,
                         "run folders in use refused": 0}


@pytest.fixture(scope="module")
def x_train():
    (x, _), _ = gh.load_mnist()
    return x[:N]


def _train(out, x, **kw):
    return gh.train(out, architecture="vanilla", n_train=N, batch_size=BATCH, x_train=x, verbose=0,
                    **{"epochs": 3, **kw})


def _interrupt_at(epoch_to_stop: int, in_step: bool = False):
    """A callback (or a step) that raises KeyboardInterrupt as Ctrl-C would, in the given epoch."""
    def callback(epoch, state, record):
        if epoch == epoch_to_stop:
            raise KeyboardInterrupt

    def wrap(step, steps_per_epoch):
        calls = [0]

        def interrupted_step(batch):
            calls[0] += 1
            if calls[0] == (epoch_to_stop - 1) * steps_per_epoch + 2:  # two steps into that epoch
                raise KeyboardInterrupt
            return step(batch)
        return interrupted_step
    return wrap if in_step else callback


def test_ctrl_c_during_an_epoch_keeps_the_last_finished_one_and_says_so(tmp_path, x_train, capsys):
    state = gh.new_gan_state(architecture="vanilla")
    step = gh.make_train_step(state.generator, state.discriminator, state.g_optimizer, state.d_optimizer, state.rng)
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path, x_train, epochs=5, state=state, step=_interrupt_at(3, in_step=True)(step, N // BATCH))
    out = capsys.readouterr().out
    assert f"Interrupted: checkpoint 2 is in {tmp_path / 'checkpoints'}" in out and out.count("\n") == 1
    assert gh.checkpoint_epochs(tmp_path) == [2], "epochs 1-2 kept although the interval is 15"
    assert int(state.epoch.numpy()) == 2
    run = _train(tmp_path, x_train, epochs=5)
    assert run.resumed_from == 2 and run.history["epoch"] == [1, 2, 3, 4, 5]
    CASES["interrupts survived"] += 1


def test_ctrl_c_during_a_callback_keeps_that_epochs_training(tmp_path, x_train, capsys):
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path, x_train, callbacks=[_interrupt_at(2)])
    assert "Interrupted: checkpoint 1" in capsys.readouterr().out
    assert gh.checkpoint_epochs(tmp_path) == [1] and gh.load_history(tmp_path)["epoch"] == [1]
    with pytest.raises(KeyboardInterrupt):  # in the first epoch nothing has finished: nothing is written
        _train(tmp_path / "fresh", x_train, callbacks=[_interrupt_at(1)])
    assert "no epoch had finished yet" in capsys.readouterr().out
    assert gh.checkpoint_epochs(tmp_path / "fresh") == []
    CASES["interrupts survived"] += 1


def test_ctrl_c_just_after_an_epochs_history_is_written_keeps_that_epoch(tmp_path, x_train, monkeypatch, capsys):
    # Where a held SIGTERM lands (see the next tests): the first line of the kit after a library call
    write = gh._atomic_write_json

    def write_then_stop(path, obj):
        write(path, obj)
        if path.name == "history.json" and obj["epoch"] == [1, 2]:
            raise KeyboardInterrupt

    monkeypatch.setattr(gh, "_atomic_write_json", write_then_stop)
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path, x_train, epochs=5)
    assert "Interrupted: checkpoint 2" in capsys.readouterr().out
    assert gh.checkpoint_epochs(tmp_path) == [2] and gh.load_history(tmp_path)["epoch"] == [1, 2]
    monkeypatch.undo()
    assert _train(tmp_path, x_train, epochs=3).resumed_from == 2
    CASES["interrupts survived"] += 1


def test_sigterm_on_the_command_line_checkpoints_and_exits_130(tmp_path):
    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "gan_helpers", "train", "--out", str(out), "--architecture",
                                "vanilla", "--epochs", "500", "--n-train", str(N), "--batch-size", str(BATCH)],
                               cwd=ROOT, env=QUIET, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    finished = 0  # an epoch is finished once history.json has it (its frame is written just before)
    while finished < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
        finished = max(gh.load_history(out)["epoch"], default=0) if (out / "history.json").is_file() else 0
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    assert finished >= 2, f"two epochs did not finish in 120 s; stderr: {stderr[-2000:]}"
    assert process.returncode == 130, f"stdout: {stdout[-1000:]}\nstderr: {stderr[-2000:]}"
    assert "Interrupted: checkpoint" in stdout and "Traceback" not in stderr
    kept = gh.checkpoint_epochs(out)
    assert kept and kept[-1] >= finished and kept[-1] == gh.load_history(out)["epoch"][-1], "nothing finished is lost"
    CASES["interrupts survived"] += 1


def test_a_stop_waits_for_the_kits_own_code_and_a_second_one_does_not(monkeypatch):
    profiles = []
    monkeypatch.setattr(sys, "setprofile", profiles.append)  # what the stop installs, not run for real here
    library = sys._getframe()  # this file stands for a library: a stop must not be raised in it
    kit = {}
    exec(compile("import sys\nframe = sys._getframe()", gh.__file__, "exec"), kit)  # a frame of gan_helpers.py
    stop = cli._Stop()
    stop(signal.SIGTERM, library)
    assert stop.held == signal.SIGTERM and profiles == [stop.look], "held, and every call looked at"
    stop.look(library, "c_call", None)
    assert stop.held == signal.SIGTERM, "still in the library: held"
    with pytest.raises(KeyboardInterrupt, match=f"signal {int(signal.SIGTERM)}$"):
        stop.look(kit["frame"], "return", None)
    assert stop.held is None and profiles[-1] is None, "raised in the kit's code, and no longer looking"
    with pytest.raises(KeyboardInterrupt, match=f"signal {int(signal.SIGINT)}$"):
        stop(signal.SIGINT, kit["frame"])  # landed in the kit's code: raised at once
    stop(signal.SIGINT, library)
    with pytest.raises(KeyboardInterrupt, match="twice"):  # Ctrl-C again: stop now, wherever Python is
        stop(signal.SIGINT, library)
    assert stop.held is None and profiles[-1] is None
    CASES["interrupts survived"] += 1


def test_no_timer_signal_while_a_stop_is_held():
    # the stop's first version looked again every 10 ms with SIGALRM, which crashed TensorFlow (cli._Stop)
    stop = cli._Stop()
    previous = sys.getprofile()
    try:
        stop(signal.SIGTERM, sys._getframe())  # held in a library (this file): look, with no timer
        profile, timer = sys.getprofile(), signal.getitimer(signal.ITIMER_REAL)
    finally:
        sys.setprofile(previous)  # before calling into the kit's code, where the held stop would be raised
    assert profile == stop.look and timer == (0.0, 0.0) and stop.held == signal.SIGTERM
    stop.release()
    assert stop.held is None


def test_a_command_line_error_is_one_line_unless_debug(tmp_path, capsys, monkeypatch):
    # cli.run is what `python -m gan_helpers` exits with (its status: the SIGTERM test above)
    words = ["train", "--out", str(tmp_path), "--epochs", "0"]
    assert cli.run(words) == 2
    stderr = capsys.readouterr().err
    lines = stderr.strip().splitlines()
    assert "Traceback" not in stderr and len(lines) == 2
    assert lines[0] == "python -m gan_helpers: error: epochs must be >= 1, got 0" and "--debug" in lines[1]
    with pytest.raises(ValueError, match="epochs must be >= 1"):  # raised: Python prints the traceback
        cli.run([*words, "--debug"])
    monkeypatch.setenv("GAN_DEBUG", "1")
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        cli.run(words)
    assert not (tmp_path / "checkpoints").exists()
    CASES["command-line errors in one line"] += 1


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_export_never_replaces_the_shipped_files_unless_asked(tmp_path, x_train, monkeypatch):
    _train(tmp_path / "run", x_train, epochs=1)
    shipped = sorted(gh.PRETRAINED_DIR.glob("dcgan_generator*"))
    before = {p.name: _digest(p) for p in shipped}
    called = []
    monkeypatch.setattr(ev, "evaluate_generator", lambda *a, **k: called.append(1))  # nothing may run first
    with pytest.raises(FileExistsError, match="where the kit ships its generators.*--replace-shipped"):
        runs.export_generator(tmp_path / "run")  # vanilla: its default is data/pretrained/vanilla_generator.keras
    with pytest.raises(FileExistsError, match="--replace-shipped"):
        runs.export_generator(tmp_path / "run", gh.PRETRAINED_GENERATOR_PATH)
    with pytest.raises(ValueError, match="path: an exported generator is a .keras file"):
        runs.export_generator(tmp_path / "run", tmp_path / "generator.h5")
    assert not called, "the target is checked before any evaluation runs"
    assert {p.name: _digest(p) for p in shipped} == before
    assert not (gh.PRETRAINED_DIR / "vanilla_generator.keras").exists()
    CASES["exports kept whole"] += 1


def test_a_failed_export_leaves_the_previous_export_whole(tmp_path, x_train, monkeypatch):
    _train(tmp_path / "run", x_train, epochs=2, checkpoint_every=1)
    target = tmp_path / "mine.keras"
    first = runs.export_generator(tmp_path / "run", target, epoch=1, n_eval=16)
    files = [target, target.with_suffix(".json"), tmp_path / "mine_progress.gif"]
    before = {p.name: _digest(p) for p in files}

    def broken_gif(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(gh, "make_gif", broken_gif)
    with pytest.raises(OSError, match="disk full"):
        runs.export_generator(tmp_path / "run", target, epoch=2, n_eval=16)
    assert {p.name: _digest(p) for p in files} == before, "model, record and GIF stay the epoch-1 export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.json", "mine.keras", "mine_progress.gif", "run"]
    assert first["epochs"] == 1
    monkeypatch.undo()
    second = runs.export_generator(tmp_path / "run", target, epoch=2, n_eval=16)
    assert [e["epochs"] for e in second["earlier_exports"]] == [1], "the replaced record's figures are kept"
    assert second["earlier_exports"][0]["evaluation"] == json.loads(json.dumps(first["evaluation"]))
    CASES["exports kept whole"] += 1


def test_other_settings_are_not_called_damaged_and_fall_back_moves_nothing(tmp_path, x_train):
    out = tmp_path / "run"
    _train(out, x_train, epochs=2, checkpoint_every=1)
    (out / "config.json").unlink()  # a run whose settings file is gone
    with pytest.raises(ValueError, match="holds checkpoints but no config.json") as info:
        runs.train_run(out, architecture="vanilla", latent_dim=8, epochs=3, n_train=N, batch_size=BATCH,
                       x_train=x_train, verbose=0, fall_back=True)
    assert "fall-back" not in str(info.value) and not isinstance(info.value, gh.CheckpointDamaged)
    assert gh.checkpoint_epochs(out) == [1, 2] and not (out / "checkpoints" / "damaged").exists()
    assert gh.load_generator_from_checkpoint(out, 2, generator=gh.build_vanilla_generator()).count_params() > 0
    CASES["resumes of other settings refused"] += 1


def test_augment_resumed_with_another_generator_is_refused(tmp_path):
    (x, y), (xt, yt) = gh.load_mnist()
    mnist = ((x[:2_000], y[:2_000]), (xt[:200], yt[:200]))
    grid = dict(n_values=(10,), ratios=(1,), seeds=(0,), steps=2, synthetic_only=False, shifts=False, mnist=mnist,
                verbose=False)
    generators = [gh.set_seed(s) or cond.build_conditional_generator() for s in (1, 2)]
    rows = aug.augmentation_experiment(generators[0], tmp_path / "rows.csv", **grid)
    again = aug.augmentation_experiment(generators[0], tmp_path / "rows.csv", **grid)  # the same: read back
    assert len(rows) == 2 and [r["test_accuracy"] for r in again] == [r["test_accuracy"] for r in rows]
    with pytest.raises(ValueError, match="holds rows measured with other settings \\(generator: saved"):
        aug.augmentation_experiment(generators[1], tmp_path / "rows.csv", **grid)
    with pytest.raises(ValueError, match="n_test: saved 200, now 100"):
        aug.augmentation_experiment(generators[0], tmp_path / "rows.csv", **{**grid, "mnist": (mnist[0], (xt[:100], yt[:100]))})
    assert len(aug._read_rows(tmp_path / "rows.csv")) == 2, "nothing was added"
    CASES["resumes of other settings refused"] += 1


def test_a_finished_dynamics_run_of_other_settings_is_not_handed_back(tmp_path, x_train):
    settings = dict(epochs=1, n_train=N, batch_size=BATCH, frechet_n=64, x_train=x_train, verbose=0)
    first = dyn.run_experiments(["baseline"], tmp_path, architecture="vanilla", **settings)
    again = dyn.run_experiments(["baseline"], tmp_path, architecture="vanilla", **settings)
    assert again["baseline"]["frechet"] == first["baseline"]["frechet"], "the same settings read the run back"
    with pytest.raises(ValueError, match="architecture: saved vanilla, now dcgan"):
        dyn.run_experiments(["baseline"], tmp_path, architecture="dcgan", **settings)
    with pytest.raises(ValueError, match="batch_size: saved 32, now 64"):
        dyn.run_experiments(["baseline"], tmp_path, architecture="vanilla", **{**settings, "batch_size": 64})
    CASES["resumes of other settings refused"] += 1


def test_a_damaged_history_is_refused_not_patched(tmp_path, x_train):
    _train(tmp_path, x_train, epochs=2, checkpoint_every=1)
    (tmp_path / "history.json").write_text('{"epoch": [1, 2], "g_loss": [0.7')  # cut off mid-write by hand
    with pytest.raises(ValueError, match="history.json is not valid JSON"):
        _train(tmp_path, x_train, epochs=3)
    assert (tmp_path / "history.json").read_text() == '{"epoch": [1, 2], "g_loss": [0.7', "left as it was"
    assert gh.checkpoint_epochs(tmp_path) == [1, 2]
    CASES["damaged records refused"] += 1


def test_a_run_folder_in_use_is_refused_and_a_dead_holders_lock_is_taken(tmp_path, x_train):
    out = tmp_path / "run"
    out.mkdir()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:  # a live process on this machine holds the folder
        (out / ".lock").write_text(json.dumps({"pid": sleeper.pid, "host": socket.gethostname(),
                                               "what": "training", "since": "now"}))
        with pytest.raises(gh.RunInUse, match=f"is in use: training by process {sleeper.pid}"):
            _train(out, x_train, epochs=1)
        with pytest.raises(gh.RunInUse, match="in use"):
            runs.export_generator(out, tmp_path / "g.keras")
        assert gh.checkpoint_epochs(out) == [] and not (out / "history.json").exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    _train(out, x_train, epochs=1)  # its process has ended: the stale lock is taken, and given back
    assert gh.checkpoint_epochs(out) == [1] and not (out / ".lock").exists()
    # Another machine (a Colab runtime on a shared Drive folder): live while the run keeps writing
    (out / ".lock").write_text(json.dumps({"pid": 1, "host": "another-runtime", "what": "training", "since": "now"}))
    with pytest.raises(gh.RunInUse, match="another-runtime"):
        _train(out, x_train, epochs=2)
    old = time.time() - 2 * 3_600  # ... and abandoned once nothing in the folder has changed for long
    for path in (out / ".lock", out / "history.json"):
        os.utime(path, (old, old))
    assert _train(out, x_train, epochs=2).resumed_from == 1
    CASES["run folders in use refused"] += 1


def test_summary_line(capsys):
    if sum(CASES.values()) < 13:
        pytest.skip("run the whole file to get the summary")
    line = "nothing lost: " + ", ".join(f"{n} {what}" for what, n in CASES.items())
    with capsys.disabled():
        print("\n" + line)
    assert CASES["interrupts survived"] == 5 and CASES["resumes of other settings refused"] == 3, line
