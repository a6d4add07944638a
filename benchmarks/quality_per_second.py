"""Quality per second: how long the kit's default settings take to reach the TensorFlow tutorial's 50-epoch quality.

Reads two finished runs of `python -m gan_helpers train ... --frechet-every 1`:

  the tutorial's settings:  --learning-rate 1e-4 --beta-1 0.9 --batch-size 256
                            --kernel-size 5 --projection-channels 256   (float32)
  the kit's defaults:       no options

takes the tutorial run's quality after its last epoch (the mean Fréchet distance of
its last three epochs, on 1,000 samples each, to smooth the per-epoch noise), finds
the first epoch at which the kit's run is at least as good, and converts epochs to
time with seconds per epoch timed alone (`make bench-train`; the runs' own epoch
times were recorded while sharing the machine). Then it confirms both generators
at n = 10,000 against the test set (gh.evaluate_generator).

Run: .venv/bin/python benchmarks/quality_per_second.py --kit RUN --tutorial RUN \
         --kit-seconds 98 --tutorial-seconds 166
Without --*-seconds it uses each run's median recorded epoch time. Without the runs
(by default outputs/kit_defaults and outputs/tutorial_settings) it prints the commands
that make them. It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import gan_helpers as gh  # noqa: E402


COMMANDS = {"kit": "python -m gan_helpers train --epochs 37 --frechet-every 1 --checkpoint-every 1 --out {run}",
            "tutorial": "python -m gan_helpers train --epochs 50 --learning-rate 1e-4 --beta-1 0.9 --batch-size 256 "
                        "--kernel-size 5 --projection-channels 256 --frechet-every 1 --checkpoint-every 1 --out {run}"}


def main(kit: Path, tutorial: Path, kit_seconds: float | None, tutorial_seconds: float | None, n: int) -> None:
    missing = {name: run for name, run in (("kit", kit), ("tutorial", tutorial)) if not (run / "history.json").is_file()}
    if missing:
        print("Train the runs first (hours on a CPU; each resumes from its checkpoints):")
        for name, run in missing.items():
            print("  " + COMMANDS[name].format(run=run))
        return
    histories = {"tutorial settings": gh.load_history(tutorial), "kit defaults": gh.load_history(kit)}
    median = lambda history: float(np.median(history["seconds"]))  # noqa: E731
    runs = {"tutorial settings": (tutorial, tutorial_seconds or median(histories["tutorial settings"])),
            "kit defaults": (kit, kit_seconds or median(histories["kit defaults"]))}
    given = tutorial_seconds is not None and kit_seconds is not None
    tutorial_seconds, kit_seconds = runs["tutorial settings"][1], runs["kit defaults"][1]
    for name, history in histories.items():
        if any(v is None for v in history["frechet"]):
            raise SystemExit(f"{runs[name][0]}: train with --frechet-every 1 so every epoch has a Fréchet distance")
    reference = histories["tutorial settings"]
    target = float(np.mean(reference["frechet"][-3:]))
    last = reference["epoch"][-1]
    kit_fd = histories["kit defaults"]["frechet"]
    reached = next((e for e, fd in zip(histories["kit defaults"]["epoch"], kit_fd) if fd <= target), None)
    print(f"target: the tutorial settings' Fréchet distance after epochs {last - 2}-{last} "
          f"(mean, 1,000 samples each): {target:.2f}")
    if reached is None:
        print(f"the kit's run has not reached it in its {len(kit_fd)} epochs (best {min(kit_fd):.2f})")
        return
    tutorial_time, kit_time = last * tutorial_seconds, reached * kit_seconds
    print(f"\n{'':<20}{'epochs':>8}{'s/epoch':>15}{'time':>10}{'Fréchet (per-epoch check)':>28}")
    print(f"{'tutorial settings':<20}{last:>8}{tutorial_seconds:>15.0f}{tutorial_time / 60:>9.0f}m"
          f"{reference['frechet'][-1]:>28.2f}")
    print(f"{'kit defaults':<20}{reached:>8}{kit_seconds:>15.0f}{kit_time / 60:>9.0f}m{kit_fd[reached - 1]:>28.2f}")
    source = "given (timed alone)" if given else "the runs' median recorded epoch times"
    print(f"\nthe kit reaches the tutorial's {last}-epoch quality {tutorial_time / kit_time:.1f}x sooner "
          f"(seconds per epoch: {source})")

    for name, (run, _), epoch in (("tutorial settings", runs["tutorial settings"], last),
                                  ("kit defaults", runs["kit defaults"], reached)):
        generator = gh.load_generator_from_checkpoint(run, epoch)
        result = gh.evaluate_generator(generator, n=n)
        figures = result["generator"]
        print(f"{name} after epoch {epoch}, n = {n:,}: Fréchet {figures['frechet_distance']:.2f}, "
              f"classifier score {figures['classifier_score']:.2f}, precision {figures['precision']:.3f}, "
              f"recall {figures['recall']:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kit", type=Path, default=gh.output_dir("kit_defaults"), help="run folder of the kit's defaults")
    parser.add_argument("--tutorial", type=Path, default=gh.output_dir("tutorial_settings"),
                        help="run folder of the tutorial's settings")
    parser.add_argument("--kit-seconds", type=float, default=None, help="seconds per epoch, timed alone")
    parser.add_argument("--tutorial-seconds", type=float, default=None, help="seconds per epoch, timed alone")
    parser.add_argument("--n", type=int, default=10_000, help="samples for the final evaluation")
    args = parser.parse_args()
    main(args.kit, args.tutorial, args.kit_seconds, args.tutorial_seconds, args.n)
