"""Quality per second: how long the kit's default settings take to reach the TensorFlow tutorial's 50-epoch quality.

Compares per-epoch Fréchet histories (1,000 samples each) of two runs of
`python -m gan_helpers train ... --frechet-every 1 --checkpoint-every 1`:

  the tutorial's settings:  --epochs 50 --learning-rate 1e-4 --beta-1 0.9 --batch-size 256
                            --kernel-size 5 --projection-channels 256   (float32)
  the kit's defaults:       --epochs 37 (no other options)

The target is the tutorial run's quality at its end: the mean Fréchet distance of its
last three epochs. A run "reaches" a distance at the first epoch where the mean of that
epoch and the two before it is at or below it (one lucky epoch does not count). Epochs
become time through seconds per epoch timed alone (`make bench-train`: 166 s for the
tutorial's step, 98 s for the kit's; the runs' own epoch times were recorded while
sharing the machine).

A second table separates the network size from the recipe: the kit's run against the run
of the DCGAN the kit shipped until 2026-12-03 (same recipe, the tutorial's network size,
169 s per epoch alone; its history is kept in data/results/quality_per_second.json as
"tutorial_size"), the time each takes to reach a series of distances.

Run:  .venv/bin/python benchmarks/quality_per_second.py            # the histories shipped in data/results
      .venv/bin/python benchmarks/quality_per_second.py --kit RUN --tutorial RUN [--n 10000]
With run folders it also evaluates the generators at the epochs compared on n samples
against the test set (ev.evaluate_generator, gan_extras/evaluation.py). Without them it reads
data/results/quality_per_second.json, written by `--save` from the runs behind the README.
It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import gan_helpers as gh  # noqa: E402
from gan_extras import evaluation as ev  # noqa: E402

COMMANDS = {"kit": "python -m gan_helpers train --epochs 37 --frechet-every 1 --checkpoint-every 1 --out {run}",
            "tutorial": "python -m gan_helpers train --epochs 50 --learning-rate 1e-4 --beta-1 0.9 --batch-size 256 "
                        "--kernel-size 5 --projection-channels 256 --frechet-every 1 --checkpoint-every 1 --out {run}"}
SHIPPED = gh.data_dir() / "results" / "quality_per_second.json"
SECONDS = {"kit": 98.0, "tutorial": 166.0, "tutorial_size": 169.0}  # per epoch, timed alone (README "Speed")
WINDOW = 3
TARGETS = (4.0, 3.0, 2.5, 2.0, 1.8, 1.5)


def frechet_of(history: dict[str, Any], where: str) -> list[float]:
    """The per-epoch Fréchet distances of a history; every epoch must have one."""
    values = history.get("frechet", [])
    if not values or any(v is None for v in values):
        raise SystemExit(f"{where}: train with --frechet-every 1 so every epoch has a Fréchet distance")
    return [float(v) for v in values]


def reached(frechet: list[float], target: float, window: int = WINDOW) -> int | None:
    """The first epoch whose mean distance with the window - 1 epochs before it is <= target (None: never)."""
    for epoch in range(window, len(frechet) + 1):
        if np.mean(frechet[epoch - window:epoch]) <= target:
            return epoch
    return None


def _minutes(epoch: int | None, seconds: float) -> str:
    return "not reached" if epoch is None else f"epoch {epoch}, {epoch * seconds / 60:.0f} min"


def compare(kit: list[float], tutorial: list[float], tutorial_size: list[float] | None,
            seconds: dict[str, float]) -> int | None:
    """Print both tables; return the kit's epoch at the tutorial's final quality."""
    last = len(tutorial)
    target = float(np.mean(tutorial[-WINDOW:]))
    epoch = reached(kit, target)
    print(f"target: the tutorial settings' Fréchet distance, mean of epochs {last - WINDOW + 1}-{last}: {target:.2f}\n")
    print("| run | reaches it at | s per epoch (alone) | time | distance then (mean of 3 epochs) |")
    print("|---|---|---|---|---|")
    print(f"| tutorial settings | epoch {last} | {seconds['tutorial']:.0f} | {last * seconds['tutorial'] / 60:.0f} min "
          f"| {target:.2f} |")
    if epoch is None:
        print(f"| kit defaults | not in its {len(kit)} epochs (best 3-epoch mean "
              f"{min(np.convolve(kit, np.ones(WINDOW) / WINDOW, 'valid')):.2f}) | {seconds['kit']:.0f} | | |")
    else:
        print(f"| kit defaults | epoch {epoch} | {seconds['kit']:.0f} | {epoch * seconds['kit'] / 60:.0f} min "
              f"| {np.mean(kit[epoch - WINDOW:epoch]):.2f} |")
        print(f"\nthe kit's defaults reach the tutorial's {last}-epoch quality "
              f"{last * seconds['tutorial'] / (epoch * seconds['kit']):.1f}x sooner; at its own epoch {len(kit)} "
              f"the kit's run is at {np.mean(kit[-WINDOW:]):.2f}")
    if tutorial_size is not None:
        print(f"\nsame recipe, two network sizes (kit: 4x4 kernels, 7x7x128, {seconds['kit']:.0f} s per epoch; "
              f"tutorial's: 5x5, 7x7x256, {seconds['tutorial_size']:.0f} s per epoch): time to reach each distance\n")
        print("| Fréchet distance (mean of 3 epochs) | kit's size | tutorial's size |")
        print("|---|---|---|")
        for value in TARGETS:
            print(f"| {value:.1f} | {_minutes(reached(kit, value), seconds['kit'])} "
                  f"| {_minutes(reached(tutorial_size, value), seconds['tutorial_size'])} |")
        n = min(len(kit), len(tutorial_size))
        for name, values in (("kit's size", kit), ("tutorial's size", tutorial_size)):
            print(f"{name}: epochs {n - WINDOW + 1}-{n} mean {np.mean(values[n - WINDOW:n]):.2f}")
    return epoch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kit", type=Path, default=None, help="run folder of the kit's defaults")
    parser.add_argument("--tutorial", type=Path, default=None, help="run folder of the tutorial's settings")
    for name, value in SECONDS.items():
        parser.add_argument(f"--{name.replace('_', '-')}-seconds", type=float, default=value,
                            help=f"seconds per epoch, timed alone (default {value:.0f})")
    parser.add_argument("--n", type=int, default=10_000, help="samples for the evaluation of run folders (0: skip)")
    parser.add_argument("--save", type=Path, default=None, help="write the two runs' histories here (JSON)")
    args = parser.parse_args(argv)
    seconds = {name: getattr(args, f"{name}_seconds") for name in SECONDS}
    size_run = json.loads(SHIPPED.read_text()).get("tutorial_size") if SHIPPED.is_file() else None
    tutorial_size = frechet_of(size_run, f"{SHIPPED}: tutorial_size") if size_run else None

    if args.kit is None and args.tutorial is None:
        if not SHIPPED.is_file():
            raise SystemExit(f"{SHIPPED} is missing; pass --kit RUN --tutorial RUN")
        shipped = json.loads(SHIPPED.read_text())
        print(f"histories from {SHIPPED.relative_to(gh.PROJECT_ROOT)} ({shipped['description']})\n")
        compare(frechet_of(shipped["kit"], "kit"), frechet_of(shipped["tutorial"], "tutorial"), tutorial_size, seconds)
        return 0

    runs = {"kit": args.kit, "tutorial": args.tutorial}
    missing = {name: run for name, run in runs.items() if run is None or not (run / "history.json").is_file()}
    if missing:
        print("Train the runs first (hours on a CPU; each resumes from its checkpoints):")
        for name, run in missing.items():
            print("  " + COMMANDS[name].format(run=run or f"outputs/{name}"))
        return 1
    histories = {name: gh.load_history(run) for name, run in runs.items()}
    epoch = compare(frechet_of(histories["kit"], str(args.kit)), frechet_of(histories["tutorial"], str(args.tutorial)),
                    tutorial_size, seconds)
    if args.save:
        keep = ("epoch", "frechet", "seconds", "d_real", "d_fake")
        record = {"description": "per-epoch histories of the runs behind README 'Speed' (1,000 samples per Fréchet "
                                 "distance; seconds recorded while two runs shared 2 cores)",
                  "commands": COMMANDS, "seconds_alone": seconds,
                  **{name: {k: h[k] for k in keep} for name, h in histories.items()},
                  **({"tutorial_size": size_run} if size_run else {})}  # kept: it is no run folder
        args.save.write_text(json.dumps(record, indent=1) + "\n")
        print(f"\nwrote {args.save}")
    if args.n:
        compared = [("tutorial settings", args.tutorial, len(histories["tutorial"]["epoch"])),
                    ("kit defaults", args.kit, len(histories["kit"]["epoch"]))]
        if epoch is not None:
            compared.append(("kit defaults", args.kit, epoch))
        print(f"\nEvaluated on n = {args.n:,} against the test set:")
        for name, run, at in compared:
            figures = ev.evaluate_generator(gh.load_generator_from_checkpoint(run, at), n=args.n)["generator"]
            print(f"{name} after epoch {at}: Fréchet {figures['frechet_distance']:.2f}, classifier score "
                  f"{figures['classifier_score']:.2f}, precision {figures['precision']:.3f}, "
                  f"recall {figures['recall']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
