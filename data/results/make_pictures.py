"""The README's two sample pictures, from the shipped generators (seed 0, not picked).

    .venv/bin/python data/results/make_pictures.py     # rewrites the two PNGs below in data/results/
"""

from __future__ import annotations

import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np

import gan_helpers as gh
from gan_extras import conditional as cond


def main(out: Path) -> None:
    """40 DCGAN digits (4 × 10) and, row k, 12 conditional samples of digit k, both at twice the size."""
    dcgan = gh.load_pretrained_generator()
    iio.imwrite(out / "pretrained_dcgan_samples.png",
                gh.image_grid(gh.sample_digits(dcgan, 40, seed=0), 4, 10, pad=2, scale=2))
    digits = cond.generate_digits(cond.load_pretrained_conditional_generator(), np.repeat(np.arange(10), 12), seed=0)
    iio.imwrite(out / "pretrained_conditional_digits.png", gh.image_grid(digits, 10, 12, pad=2, scale=2))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else gh.data_dir() / "results")
