"""How long one latent-explorer update takes (07_latent_explorer, issue: median and p95 under 50 ms).

Builds lat.LatentExplorer (gan_extras/latent.py) on the pretrained generator, warms it up, then moves a
random slider to a random value `moves` times, timing each change from the
slider's new value to the new PNG in the ipywidgets.Image (the whole Python
side of an update: z, generator + classifier, PNG encoding, widget state).
It also times the parts, and the matplotlib redraw the explorer avoids; then
the conditional generator's explorer (08_conditional_gan), where every move is
a slider or a click on the digit picker.
Run: make bench-explorer   (or .venv/bin/python benchmarks/explorer_latency.py --moves 500)
"""

from __future__ import annotations

import argparse
import io
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402

import gan_helpers as gh  # noqa: E402
from gan_extras import latent as lat  # noqa: E402


def summary(name: str, seconds: list[float]) -> str:
    ms = 1_000 * np.asarray(seconds)
    return (f"{name:<38} median {np.median(ms):6.1f} ms   p95 {np.percentile(ms, 95):6.1f} ms   "
            f"max {ms.max():6.1f} ms   (n = {len(ms)})")


def main(moves: int = 300, seed: int = 0) -> None:
    generator = gh.load_pretrained_generator()
    explorer = lat.LatentExplorer(generator, lat.explorer_directions(generator, n=1_024), seed=seed)
    rng = np.random.default_rng(seed)
    sliders = list(explorer.sliders.values())
    for _ in range(20):  # warm-up: tracing, caches
        sliders[0].value = round(float(rng.uniform(-3, 3)), 1)

    updates, draw, encode = [], [], []
    for _ in range(moves):
        slider = sliders[rng.integers(len(sliders))]
        value = round(float(rng.uniform(-3, 3)), 1)
        if value == slider.value:
            value = -value if value else 0.1
        count = explorer.updates
        start = time.perf_counter()
        slider.value = value
        updates.append(time.perf_counter() - start)
        assert explorer.updates == count + 1, "every slider move must redraw exactly once"
    for _ in range(moves):
        z = explorer.z
        start = time.perf_counter()
        image, _ = explorer._drawer(z)
        draw.append(time.perf_counter() - start)
        start = time.perf_counter()
        lat.png_bytes(image, explorer.scale)
        encode.append(time.perf_counter() - start)

    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(2.5, 2.5))
    redraw = []
    for _ in range(min(moves, 50)):
        image, _ = explorer._drawer(explorer.z)
        start = time.perf_counter()
        ax.clear()
        ax.imshow(image, cmap="gray")
        ax.axis("off")
        fig.savefig(io.BytesIO(), format="png")
        redraw.append(time.perf_counter() - start)

    print(gh.device_report())
    print(summary("explorer update (slider -> new PNG)", updates))
    print(summary("  of which generator + classifier", draw))
    print(summary("  of which PNG encoding (224x224)", encode))
    print(summary("matplotlib redraw instead of PNG", redraw))
    verdict = "meets" if np.percentile(updates, 95) < 0.050 else "MISSES"
    print(f"target: median and p95 under 50 ms -> {verdict} it")

    conditional = gh.load_pretrained_generator(conditional=True)
    picker = lat.LatentExplorer(conditional, lat.explorer_directions(conditional, n=1_024), seed=seed)
    controls = [*picker.sliders.values(), picker.digit_picker]
    moves_c = []
    for i in range(moves + 20):
        control = controls[rng.integers(len(controls))]
        if control is picker.digit_picker:
            value = int((control.value + rng.integers(1, 10)) % 10)
        else:
            value = round(float(rng.uniform(-3, 3)), 1)
            value = value if value != control.value else (-value if value else 0.1)
        count = picker.updates
        start = time.perf_counter()
        control.value = value
        if i >= 20:  # the first 20 warm up
            moves_c.append(time.perf_counter() - start)
        assert picker.updates == count + 1, "every move must redraw exactly once"
    print(summary("conditional explorer (slider or digit)", moves_c))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(args.moves, args.seed)
