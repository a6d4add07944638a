"""Train, or resume, the shipped generators of issue 22: the tutorial's network size, an average of G's weights.

    MNIST_NPZ=... nohup .venv/bin/python data/pretrained/in_training/train.py conditional >> cond.log 2>&1 &
    MNIST_NPZ=... nohup .venv/bin/python data/pretrained/in_training/train.py dcgan >> dcgan.log 2>&1 &

Each run keeps its folder beside this file (``conditional/``, ``dcgan/``), checkpoints every epoch and
resumes from its latest checkpoint; the last COOL_DOWN_EPOCHS lower both learning rates to 0. Each
epoch it also measures the Fréchet distance (1,000 samples) of G's own weights beside the average's,
into ``comparison.json`` (averaging.comparison_callback), so the with/without comparison survives an
interruption too. When a run ends:
``python -m gan_helpers export --run data/pretrained/in_training/NAME --replace-shipped``.
README.md here says how the shipped ones went.
"""

from __future__ import annotations

import sys
from pathlib import Path

import gan_helpers as gh
from gan_extras import averaging as avg

EPOCHS = {"dcgan": 64, "conditional": 70}
#: The last epochs, over which both learning rates fall linearly to 0 (averaging.cool_down_schedule).
#: Added after both runs had finished 60 and 40 epochs at a constant rate: the cool-down is what
#: they trained next, and config.json records it. The conditional run first shipped at 44 epochs;
#: it was resumed from its epoch-40 checkpoint (f4e68f5) with EPOCHS 70 and shipped again.
COOL_DOWN_EPOCHS = 4


def main(architecture: str) -> None:
    """Train ``architecture`` ("dcgan" or "conditional") to its EPOCHS, resuming where it stopped."""
    if architecture not in EPOCHS:
        raise SystemExit(f"usage: train.py {{{'|'.join(EPOCHS)}}}, got {architecture!r}")
    gh.quiet_tensorflow()  # no "remapper failed" line in the log (gan_extras/quiet.py)
    out = Path(__file__).resolve().parent / architecture
    (x_train, y_train), _ = gh.load_mnist()
    compare = avg.comparison_callback(x_train[:1_000], n=1_000, every=1, path=out / "comparison.json")
    avg.train_averaged(out, decay=avg.EMA_DECAY, architecture=architecture, kernel_size=5, projection_channels=256,
                       epochs=EPOCHS[architecture], cool_down_epochs=COOL_DOWN_EPOCHS, checkpoint_every=1,
                       x_train=x_train, y_train=y_train, callbacks=[compare], verbose=2)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
