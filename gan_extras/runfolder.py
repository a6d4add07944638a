"""The run folder's machinery, shared by the core's loop and the lessons: history, restore errors, interrupts, the lock.

No lesson teaches it (04 shows what it does: a resumed run, a refused one, a kept checkpoint). It
imports nothing from the kit but the shared checks.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

import tensorflow as tf

from gan_extras.checks import _atomic_write_json, _read_json


def _history_up_to(out_dir: Path, epoch: int, keys: tuple[str, ...]) -> dict[str, list[Any]]:
    """A run's history.json cut after ``epoch``, with every key of ``keys`` (gh.HISTORY_KEYS)."""
    if epoch == 0 or not (Path(out_dir) / "history.json").is_file():
        return {key: [] for key in keys}
    history = _read_json(Path(out_dir) / "history.json")
    keep = sum(1 for e in history.get("epoch", []) if e <= epoch)
    return {key: list(history.get(key, [None] * keep))[:keep] for key in keys}


def _prepare_run_folder(out: Path, resumed_from: int, config: dict[str, Any],
                        keys: tuple[str, ...]) -> dict[str, list[Any]]:
    """Write config.json; drop history and frames newer than the restored checkpoint."""
    _atomic_write_json(out / "config.json", config)
    history = _history_up_to(out, resumed_from, keys)
    if (out / "history.json").is_file():
        _atomic_write_json(out / "history.json", history)
    for frame in (out / "frames").glob("epoch_*.png"):
        if int(frame.stem.split("_")[1]) > resumed_from:
            frame.unlink()
    return history


def _keep_on_interrupt(state: Any, manager: tf.train.CheckpointManager, out: Path, finished: int) -> None:
    """Checkpoint the state as the last finished epoch (unless saved) and say in one line what was kept."""
    try:  # stopped just after history.json took an epoch in: that epoch is finished too
        finished = max([finished, *json.loads((out / "history.json").read_text()).get("epoch", [])])
    except (OSError, ValueError, TypeError, AttributeError):
        pass
    if finished and finished not in [int(p.rsplit("-", 1)[1]) for p in manager.checkpoints]:
        state.epoch.assign(finished)  # the weights as they are; the next run starts epoch finished + 1
        manager.save(checkpoint_number=finished)
    kept = f"checkpoint {finished} is in {out / 'checkpoints'}" if finished else "no epoch had finished yet"
    print(f"Interrupted: {kept}. Run the same command (or train with the same out_dir) to resume.", flush=True)


class CheckpointDamaged(ValueError):
    """The latest checkpoint of a run cannot be restored (04_train_dcgan)."""


def _restore_error(latest: str, error: Exception) -> Exception:
    """A damaged checkpoint (its files cannot be read: fall back) or a readable one of other settings (do not)."""
    first = str(error).splitlines()[0] if str(error) else type(error).__name__
    try:
        reader = tf.train.load_checkpoint(latest)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)  # every tensor reads: the files are whole
    except (tf.errors.OpError, ValueError, IndexError):
        return CheckpointDamaged(f"checkpoint {latest} cannot be read (damaged or truncated): {first}. "
                                 "`python -m gan_helpers train ... --fall-back` sets it aside in "
                                 "checkpoints/damaged/ and resumes from the one before.")
    return ValueError(f"checkpoint {latest} is whole but holds models of other settings than these ({first}); "
                      "nothing was changed. Train with the run's settings (see its config.json), or use another "
                      "out_dir.")


class RunInUse(RuntimeError):
    """Another live process is training in, or exporting from, this run folder (04_train_dcgan)."""


def _lock_holder(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # half-written or unreadable: its writer died before it finished


#: A run folder locked from another machine (a shared Drive folder) whose files have not changed for this
#: long is taken to be abandoned (a Colab runtime that was reset): a live run writes a frame every epoch.
STALE_AFTER_SECONDS = 1_800


def _holder_alive(holder: dict[str, Any], folder: Path) -> bool:
    if holder.get("host") != socket.gethostname():  # its process cannot be checked from here: its writes can
        written = [p.stat().st_mtime for p in (folder / ".lock", folder / "history.json") if p.exists()]
        return time.time() - max(written, default=0) < STALE_AFTER_SECONDS
    if holder.get("pid") == os.getpid():
        return False  # this process: a run it left (an error in a notebook cell) is its own to continue
    try:
        os.kill(int(holder["pid"]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, KeyError, TypeError, ValueError):
        return True
    return True


def _lock_run(folder: Path, what: str) -> Path:
    """Take ``folder/.lock`` for this process, or refuse naming the live process that holds it."""
    path = Path(folder) / ".lock"
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            holder = _lock_holder(path)
            if holder is not None and _holder_alive(holder, Path(folder)):
                raise RunInUse(f"{folder} is in use: {holder.get('what')} by process {holder.get('pid')} on "
                               f"{holder.get('host')} since {holder.get('since')}. Wait for it to finish or stop "
                               f"it; if that process is gone (another machine), delete {path}, or wait: a lock whose "
                               f"run has written nothing for {STALE_AFTER_SECONDS // 60} minutes is taken over") from None
            path.unlink(missing_ok=True)  # its process has ended: the lock is stale
            continue
        with os.fdopen(fd, "w") as file:
            json.dump({"pid": os.getpid(), "host": socket.gethostname(), "what": what,
                       "since": time.strftime("%Y-%m-%d %H:%M:%S")}, file)
        return path
    raise RunInUse(f"{folder}: could not take {path}; another process keeps taking it")


def _unlock_run(path: Path) -> None:
    """Give the lock back, if this process still holds it."""
    holder = _lock_holder(path)
    if holder is not None and holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname():
        path.unlink(missing_ok=True)

