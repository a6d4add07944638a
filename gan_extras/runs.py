"""Run folders: from the settings of a run (config.json, or the command line's flags) to the lesson that trains it.

A run folder (04_train_dcgan) holds ``checkpoints/``, ``frames/``, ``history.json`` and ``config.json``.
Each later lesson trains its own kind of run with its own module (08: ``conditional``, 10: ``dynamics``,
11: ``speed``); this module picks the right one for a run's settings (``train_run``, which the command
line calls), loads a generator back from any run, and exports and averages runs.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

import gan_helpers as gh
from gan_extras import averaging as avg
from gan_extras import conditional as cond
from gan_extras import dynamics as dyn
from gan_extras import evaluation as ev
from gan_extras import speed
from gan_extras.checks import builder_record

#: Every architecture a run folder may hold: the core's two unconditional pairs and 08's conditional one.
ARCHITECTURES = (*gh.ARCHITECTURES, "conditional")
#: The switches of 10_training_dynamics (gan_extras/dynamics.py) at their neutral values.
DYNAMICS_SWITCHES = {"g_loss": "non_saturating", "label_smoothing": 0.0, "lr_decay": False, "d_steps": 1,
                     "minibatch_std": False}
#: The switches of 11_training_faster (gan_extras/speed.py) at their defaults.
SPEED_SWITCHES = {"precision": "auto", "strategy": None, "jit_compile": False}


def _check_architecture(architecture: Any) -> str:
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {sorted(ARCHITECTURES)}, got {architecture!r}")
    return architecture


def _changed(switches: dict[str, Any], neutral: dict[str, Any]) -> dict[str, Any]:
    """The switches set to something other than their neutral value (``1`` for True counts as set)."""
    return {k: v for k, v in switches.items()
            if not (type(v) is type(neutral[k]) and v == neutral[k]) and not (v is None and neutral[k] is None)}


def _trainer(architecture: str, dynamics: dict[str, Any], fast: dict[str, Any],
             ema_decay: float = 0.0, cool_down_epochs: int = 0) -> Callable[..., gh.TrainingRun]:
    """The lesson's train function for these switches, as ``trainer(out_dir, callbacks=, **train_kwargs)``."""
    dynamics_set, speed_set = _changed(dynamics, DYNAMICS_SWITCHES), _changed(fast, SPEED_SWITCHES)
    if fast["precision"] == "float32":  # what a dynamics run computes in anyway: composes
        speed_set.pop("precision", None)
    if ema_decay:
        if dynamics_set or speed_set:
            raise ValueError(f"ema_decay (weight averaging, 10_training_dynamics) cannot be combined with the "
                             f"switches {dynamics_set or speed_set}; train with the core step and averaging alone")
        return lambda out, **kw: avg.train_averaged(out, decay=ema_decay, architecture=architecture,
                                                    cool_down_epochs=cool_down_epochs, **kw)
    if cool_down_epochs:
        raise ValueError(f"cool_down_epochs ({cool_down_epochs}) is part of weight averaging (10_training_dynamics): "
                         "give ema_decay too (e.g. 0.999), or lr_decay=True for 10's whole-run decay")
    if dynamics_set and speed_set:
        raise ValueError(f"the dynamics switches {dynamics_set} (10_training_dynamics) and the speed switches "
                         f"{speed_set} (11_training_faster) cannot be combined in one run; train with one kind")
    if architecture == "conditional":
        if dynamics_set or speed_set:
            raise ValueError(f"architecture='conditional' (08_conditional_gan) cannot be combined with the switches "
                             f"{dynamics_set or speed_set}: each takes an unconditional architecture "
                             "('vanilla' or 'dcgan')")
        return lambda out, **kw: cond.train_conditional(out, **kw)
    if dynamics_set:
        return lambda out, **kw: dyn.train_variant(out, **dynamics, architecture=architecture, **kw)
    return lambda out, **kw: speed.train_fast(out, **fast, architecture=architecture, **kw)


def train_run(out_dir: str | os.PathLike[str] | None = None, *, architecture: str = "dcgan",
              g_loss: str = "non_saturating", label_smoothing: float = 0.0, lr_decay: bool = False,
              d_steps: int = 1, minibatch_std: bool = False, precision: str = "auto",
              strategy: tf.distribute.Strategy | None = None, jit_compile: bool = False,
              ema_decay: float = 0.0, cool_down_epochs: int = 0, frechet_every: int = 0, frechet_n: int = 1_000,
              fall_back: bool = False,
              **train_kwargs: Any) -> gh.TrainingRun:
    """Train (or resume) a run with every switch of the command line, by the lesson that teaches them (04_train_dcgan).

    ``architecture`` "conditional" trains 08's pair; a dynamics switch (``g_loss``, ``label_smoothing``,
    ``lr_decay``, ``d_steps``, ``minibatch_std``) 10's variant; otherwise 11's ``speed.train_fast``
    (``precision``, ``strategy``, ``jit_compile``); ``ema_decay`` > 0 keeps a moving average of G's
    weights (``averaging.train_averaged``, 10) for any architecture, its last ``cool_down_epochs`` with
    the learning rates falling to 0. ``frechet_every`` > 0 measures the Fréchet distance of
    ``frechet_n`` samples every so many epochs (06). With ``fall_back`` a damaged latest checkpoint is
    set aside (``fall_back_checkpoint``) and the run resumes from the previous one. The other keywords
    are ``gh.train``'s.
    """
    _check_architecture(architecture)
    gh._check_int("frechet_every", frechet_every, minimum=0)
    gh._check_int("frechet_n", frechet_n, minimum=2)
    gh._check_bool("fall_back", fall_back)
    trainer = _trainer(architecture, {"g_loss": g_loss, "label_smoothing": label_smoothing, "lr_decay": lr_decay,
                                      "d_steps": d_steps, "minibatch_std": minibatch_std},
                       {"precision": precision, "strategy": strategy, "jit_compile": jit_compile},
                       avg._check_decay(ema_decay) if ema_decay else 0.0,
                       gh._check_int("cool_down_epochs", cool_down_epochs, minimum=0))
    if frechet_every:
        train_kwargs = _with_training_data(train_kwargs)
        reference = train_kwargs["x_train"][:train_kwargs.get("n_train") or None][:frechet_n]
        train_kwargs["callbacks"] = [*train_kwargs.get("callbacks", ()), ev.frechet_callback(
            reference, frechet_n, frechet_every, train_kwargs.get("frame_seed", 1234),
            epochs=train_kwargs.get("epochs", gh.EPOCHS))]
    out = Path(out_dir) if out_dir is not None else gh.output_dir(architecture)
    try:
        return trainer(out, **train_kwargs)
    except gh.CheckpointDamaged as error:
        saved = gh.checkpoint_epochs(out)
        if not fall_back:
            if len(saved) < 2:
                raise
            raise gh.CheckpointDamaged(f"{error} The previous checkpoint is epoch {saved[-2]}: "
                                       "runs.train_run(..., fall_back=True) resumes from it.") from error
        previous = fall_back_checkpoint(out)
    if train_kwargs.get("verbose", 1):
        print(f"The latest checkpoint could not be read; set it aside in {out / 'checkpoints' / 'damaged'} "
              f"and resuming from epoch {previous}.")
    return trainer(out, **train_kwargs)  # a fresh state, restored from the previous checkpoint


def _with_training_data(train_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The keywords with MNIST's training images (and labels) loaded when none are given."""
    if train_kwargs.get("x_train") is not None:
        return dict(train_kwargs)
    (x, y), _ = gh.load_mnist()
    y_given = train_kwargs.get("y_train")
    return {**train_kwargs, "x_train": x, "y_train": y if y_given is None else y_given}


def fall_back_checkpoint(out_dir: str | os.PathLike[str]) -> int:
    """Move the latest checkpoint's files into ``checkpoints/damaged/`` and make the previous one the latest; returns its epoch (04_train_dcgan)."""
    ckpt_dir = Path(out_dir) / "checkpoints"
    epochs = gh.checkpoint_epochs(out_dir)
    if len(epochs) < 2:
        raise FileNotFoundError(f"out_dir: {ckpt_dir} holds {len(epochs)} checkpoint(s); "
                                "falling back needs an earlier one")
    damaged = ckpt_dir / "damaged"
    damaged.mkdir(exist_ok=True)
    for part in ckpt_dir.glob(f"ckpt-{epochs[-1]}.*"):
        os.replace(part, damaged / f"{part.name}.{time.strftime('%Y%m%d-%H%M%S')}")
    # Keep the manager's timestamps: without them a new CheckpointManager would forget the older checkpoints.
    saved = tf.train.get_checkpoint_state(str(ckpt_dir))
    kept = list(saved.all_model_checkpoint_paths)[:-1]
    tf.compat.v1.train.update_checkpoint_state(
        str(ckpt_dir), kept[-1], all_model_checkpoint_paths=kept,
        all_model_checkpoint_timestamps=list(saved.all_model_checkpoint_timestamps)[:-1] or None,
        last_preserved_timestamp=saved.last_preserved_timestamp)
    return epochs[-2]


def load_generator_from_checkpoint(out_dir: str | os.PathLike[str], epoch: int | None = None) -> keras.Model:
    """The generator of any run (vanilla, DCGAN or conditional; its moving average if it kept one) at a checkpointed epoch, latest if None (08_conditional_gan)."""
    gh.checkpoint_epochs(out_dir)  # checks out_dir is a path
    config = gh.load_config(out_dir)
    if config.get("ema_decay"):  # what the run's frames and evaluations drew from: G's moving average
        return avg.load_averaged_generator(out_dir, epoch)
    return _own_weights(out_dir, epoch, config)


def _own_weights(out_dir: str | os.PathLike[str], epoch: int | None, config: dict[str, Any]) -> keras.Model:
    """The generator a run trained (not its moving average) at a checkpointed epoch."""
    if config.get("architecture") != "conditional":
        return gh.load_generator_from_checkpoint(out_dir, epoch)
    size = {k: config[k] for k in ("kernel_size", "projection_channels") if k in config}
    generator = cond.build_conditional_generator(config.get("latent_dim", gh.LATENT_DIM), **size)
    return gh.load_generator_from_checkpoint(out_dir, epoch, generator=generator)


def average_generator(out_dir: str | os.PathLike[str], epochs: Sequence[int]) -> keras.Model:
    """A generator whose weights are the mean of its weights at several checkpointed epochs (08_conditional_gan).

    Averaging the generator over the last few epochs (Polyak averaging; Yazıcı et
    al. 2019) smooths out the oscillation of the two-player game: the average
    often draws better digits than any single checkpoint it was made from.
    """
    epochs = [gh._check_int("epochs", e) for e in epochs]
    if not epochs:
        raise ValueError("epochs must name at least one checkpointed epoch")
    generators = [load_generator_from_checkpoint(out_dir, e) for e in epochs]
    average = generators[-1]
    average.set_weights([np.mean(ws, axis=0) for ws in zip(*(g.get_weights() for g in generators))])
    return average


def trained_generator(source: str = "auto", conditional: bool = False) -> tuple[keras.Model, str]:
    """A trained generator and a sentence saying which: your full run of 04 (08 if ``conditional``), else the pretrained one (06_evaluate)."""
    gh._check_bool("conditional", conditional)  # the rule is written once per kind: the core's and 08's
    return cond.trained_conditional_generator(source) if conditional else gh.trained_generator(source)


def pretrained_path(architecture: str = "dcgan") -> Path:
    """Where the kit keeps (and ``export`` writes) the trained generator of an architecture (04_train_dcgan)."""
    return gh.PRETRAINED_DIR / f"{_check_architecture(architecture)}_generator.keras"


def export_generator(run_dir: str | os.PathLike[str], path: str | os.PathLike[str] | None = None,
                     *, epoch: int | None = None, n_eval: int = 10_000, average: int = 1,
                     replace_shipped: bool = False) -> dict[str, Any]:
    """Save a run's generator as .keras with a JSON record (settings, epochs, time, machine, history, evaluation) and its progress GIF (04_train_dcgan).

    ``path`` defaults to the kit's shipped file for the run's architecture, which is replaced only with
    ``replace_shipped=True`` (``--replace-shipped``). ``average`` > 1 exports the mean of the generator's
    weights over the last ``average`` checkpoints up to ``epoch`` (``average_generator``). The three
    files are written under unique temporary names and renamed together, the record last.
    """
    run_dir = Path(run_dir)
    gh._check_int("average", average)
    gh._check_bool("replace_shipped", replace_shipped)
    config = json.loads((run_dir / "config.json").read_text()) if (run_dir / "config.json").is_file() else {}
    path = _export_path(path, config.get("architecture", "dcgan"), replace_shipped)  # before any evaluation
    earlier = _earlier_exports(path.with_suffix(".json"))
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run_dir: no run folder at {run_dir}")
    lock = gh._lock_run(run_dir, "export")  # not while another process trains there
    try:
        return _export(run_dir, path, config, epoch, n_eval, average, earlier)
    finally:
        gh._unlock_run(lock)


def _export(run_dir: Path, path: Path, config: dict[str, Any], epoch: int | None, n_eval: int,
            average: int, earlier: list[dict[str, Any]]) -> dict[str, Any]:
    """export_generator's work, with the run folder locked."""
    saved = gh.checkpoint_epochs(run_dir)
    epoch = epoch if epoch is not None else (saved[-1] if saved else None)
    generator = last = load_generator_from_checkpoint(run_dir, epoch)
    averaged = [e for e in saved if e <= epoch][-average:]
    if average > 1:
        if len(averaged) < average:
            raise ValueError(f"average: {average} checkpoints up to epoch {epoch} asked for, "
                             f"{run_dir} has {len(averaged)}")
        generator = average_generator(run_dir, averaged)  # a model of its own; `last` stays the checkpoint
    record = _export_record(config, epoch, gh._history_up_to(run_dir, epoch, gh.HISTORY_KEYS), average, averaged)
    record.update(_evaluations(generator, last if average > 1 else None, n_eval))
    if config.get("ema_decay"):  # the record says what was exported, and what averaging bought
        record.update(_averaging_figures(run_dir, epoch, config, n_eval))
    record["earlier_exports"] = earlier  # what the replaced record said, for comparison
    _write_export(generator, record, path, run_dir / "frames", epoch)
    return {**record, "path": str(path)}


def _averaging_figures(run_dir: Path, epoch: int, config: dict[str, Any], n_eval: int) -> dict[str, Any]:
    """What was exported (the moving average), G's own weights evaluated the same way, and the run's per-epoch comparison."""
    own = _own_weights(run_dir, epoch, config)
    found: dict[str, Any] = {
        "exported_weights": f"moving average of G's weights, decay {config['ema_decay']} (10_training_dynamics)",
        "without_averaging_evaluation": ev.evaluate_generator(own, n_eval)}
    if gh.is_conditional(own):  # per digit too, as the average's
        found["without_averaging_conditional_evaluation"] = cond.evaluate_conditional(own, max(2, n_eval // gh.N_CLASSES))
    comparison = run_dir / "comparison.json"  # averaging.comparison_callback's Fréchet distances, per epoch
    if comparison.is_file():
        figures = gh._read_json(comparison)
        keep = [i for i, e in enumerate(figures.get("epoch", [])) if e <= epoch]
        found["averaging_comparison"] = {key: [values[i] for i in keep] for key, values in figures.items()}
    return found


def _earlier_exports(record_path: Path) -> list[dict[str, Any]]:
    """The figures of the records an export replaces, oldest first, kept in the new record for comparison."""
    if not record_path.is_file():
        return []
    try:
        old = json.loads(record_path.read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"path: the record {record_path} that this export would replace cannot be read "
                         f"({error}); move it aside first, so that its figures are not lost") from error
    kept = ("exported", "epochs", "settings", "trained_with", "exported_weights", "weights_averaged_over_epochs",
            "train_seconds", "evaluation", "conditional_evaluation", "last_checkpoint_evaluation",
            "last_checkpoint_conditional_evaluation", "without_averaging_evaluation",
            "without_averaging_conditional_evaluation")
    return [*old.get("earlier_exports", []), {key: old[key] for key in kept if key in old}]


def _export_path(path: str | os.PathLike[str] | None, architecture: str, replace_shipped: bool) -> Path:
    """Where an export goes, refused before anything runs: not a .keras file, not writable, or a shipped file."""
    shipped = pretrained_path(architecture)
    path = Path(path) if path is not None else shipped
    if path.suffix != ".keras":
        raise ValueError(f"path: an exported generator is a .keras file (Keras native format), got {path}")
    if path.resolve().parent == gh.PRETRAINED_DIR.resolve() and not replace_shipped:
        raise FileExistsError(f"path: {path} is where the kit ships its generators; export to a file of your own "
                              "(--to FILE), or pass --replace-shipped (replace_shipped=True) to replace the shipped "
                              "one (`git checkout -- data/pretrained` restores it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    if not os.access(path.parent, os.W_OK):
        raise PermissionError(f"path: {path.parent} is not writable")
    return path


def _write_export(generator: keras.Model, record: dict[str, Any], path: Path, frames: Path, epoch: int) -> None:
    """The .keras, the GIF and the .json under unique temporary names, then renamed into place, the record last."""
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    final = [path, path.with_name(f"{path.stem}_progress.gif"), path.with_suffix(".json")]
    temporary = [p.with_name(f".tmp-{token}-{p.name}") for p in final]
    try:
        generator.save(temporary[0])
        if frames.is_dir():
            gh.make_gif(frames, temporary[1], last_epoch=epoch)
        gh._atomic_write_json(temporary[2], record)
        for tmp, target in zip(temporary, final):
            if tmp.exists():
                os.replace(tmp, target)
    finally:
        for tmp in temporary:
            tmp.unlink(missing_ok=True)


def _export_record(config: dict[str, Any], epoch: int, history: dict[str, list[Any]], average: int,
                   averaged: list[int]) -> dict[str, Any]:
    """The record beside an exported generator, without its evaluations (same keys as before the split)."""
    architecture = config.get("architecture", "dcgan")
    seconds, rates = history.get("seconds", []), history.get("images_per_second", [])
    per_epoch = [round(r * t) for r, t in zip(rates, seconds)]
    return {"epochs": epoch, "images_per_epoch": per_epoch[-1] if per_epoch else None, "settings": config,
            "builder": builder_record(config), "train_seconds": round(sum(seconds), 1),
            "images_per_second": round(float(np.median(rates)), 1) if rates else None,
            "machine": f"{gh.device_report()}; {platform.platform()}",
            "frechet_by_epoch": dict(zip(history.get("epoch", []), history.get("frechet", []))),
            "history": history, "evaluation": None, "parameters": None,
            "weights_averaged_over_epochs": averaged if average > 1 else None,
            "exported": time.strftime("%Y-%m-%d"),
            "trained_with": f"python -m gan_helpers train --architecture {architecture} "
                            f"--epochs {epoch} --out RUN"
                            + (f" --ema-decay {config['ema_decay']}" if config.get("ema_decay") else "")
                            + (f" --cool-down-epochs {config['cool_down_epochs']}"
                               if config.get("cool_down_epochs") else "")
                            + " (the settings above), "
                            f"then python -m gan_helpers export --run RUN"
                            + (f" --average {average}" if average > 1 else "")}


def _evaluations(generator: keras.Model, last: keras.Model | None, n_eval: int) -> dict[str, Any]:
    """The exported generator's evaluation (per digit too for a conditional one), and the last checkpoint's when averaged."""
    found = {"evaluation": ev.evaluate_generator(generator, n_eval), "parameters": generator.count_params()}
    n_per_class = max(2, n_eval // gh.N_CLASSES)
    conditional = gh.is_conditional(generator)
    if conditional:
        found["conditional_evaluation"] = cond.evaluate_conditional(generator, n_per_class)
    if last is not None:  # what averaging bought: the same evaluation of the last checkpoint alone
        found["last_checkpoint_evaluation"] = ev.evaluate_generator(last, n_eval)
        if conditional:
            found["last_checkpoint_conditional_evaluation"] = cond.evaluate_conditional(last, n_per_class)
    return found
