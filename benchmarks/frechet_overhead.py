"""How much the in-training Fréchet distance adds to an epoch (06_evaluate, issue: < 10%).

Times one measurement as ev.frechet_callback does it in gh.train (sample frechet_n
digits, classify them, compare with the cached reference features) and one epoch's worth of
train steps at the default batch size, and prints both and their ratio.
Run: .venv/bin/python benchmarks/frechet_overhead.py
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import gan_helpers as gh  # noqa: E402
from gan_extras import evaluation as ev  # noqa: E402
from gan_extras import speed  # noqa: E402


def main(frechet_n: int = 1_000, repeats: int = 5) -> None:
    (x_train, _), _ = gh.load_mnist()
    generator = gh.build_generator()
    reference = ev.classifier_features(x_train[:frechet_n]).astype(np.float64)
    ev.frechet_from_features(reference, ev.classifier_features(gh.sample_digits(generator, frechet_n)))
    times = []
    for seed in range(repeats):
        start = time.perf_counter()
        fake = ev.classifier_features(gh.sample_digits(generator, frechet_n, seed)).astype(np.float64)
        ev.frechet_from_features(reference, fake)
        times.append(time.perf_counter() - start)
    measure = float(np.median(times))
    epoch = speed.estimate_epoch_seconds(gh.BATCH_SIZE)
    print(f"Fréchet distance on {frechet_n:,} samples: median {measure:.2f} s over {repeats} runs")
    print(f"one epoch of 60,000 images at batch {gh.BATCH_SIZE}: {epoch:.0f} s (estimated from timed steps)")
    print(f"overhead per epoch when measured every epoch: {100 * measure / epoch:.1f}%")


if __name__ == "__main__":
    main()
