"""Synthetic digits as training data: a small classifier trained with and without them (09_augmentation).

The experiment fixes the model, the training budget and the test set, repeats over seeds and
compares against classical shifts and rotations. Importing this module has no side effects beyond
importing its libraries.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

import gan_helpers as gh
from gan_extras import conditional as cond

# ---------------------------------------------------------------------------
# The student: a small classifier with a fixed training budget
# ---------------------------------------------------------------------------

def build_small_classifier() -> keras.Model:
    """The augmentation experiment's student: two conv + pool blocks, dropout, softmax logits; 34,826 parameters (09_augmentation)."""
    layers = keras.layers
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1), name="image"),
        layers.Conv2D(32, 3, activation="relu", name="conv1"), layers.MaxPooling2D(name="pool1"),
        layers.Conv2D(64, 3, activation="relu", name="conv2"), layers.MaxPooling2D(name="pool2"),
        layers.Flatten(name="flatten"), layers.Dropout(0.5, name="dropout"),
        layers.Dense(gh.N_CLASSES, name="logits"),
    ], name="small_classifier")

def train_small_classifier(x: Any, y: Any, *, steps: int = 1_000, batch_size: int = 64, seed: int = 0,
                           shift_augment: bool = False) -> keras.Model:
    """Train ``build_small_classifier`` for a fixed number of steps (the same budget whatever the data size), optionally with random shifts and rotations (09_augmentation)."""
    x = gh._check_images("x", x)
    y = gh.check_labels(y, len(x), "y")
    gh._check_int("steps", steps)
    gh._check_int("batch_size", batch_size)
    gh._check_int("seed", seed, minimum=0)
    keras.utils.set_random_seed(seed)
    model = build_small_classifier()
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ds = (tf.data.Dataset.from_tensor_slices((gh.to_float(gh.to_uint8(x)), y)).cache()
          .shuffle(len(x), seed=seed, reshuffle_each_iteration=True).repeat().batch(batch_size))
    if shift_augment:  # the classical augmentation, as a baseline for synthetic digits
        augment = keras.Sequential([keras.layers.RandomTranslation(0.1, 0.1, seed=seed),
                                    keras.layers.RandomRotation(0.04, seed=seed)])
        ds = ds.map(lambda a, b: (augment(a, training=True), b), num_parallel_calls=tf.data.AUTOTUNE)
    model.fit(ds.prefetch(tf.data.AUTOTUNE), steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
    return model

def real_test_accuracy(model: keras.Model, x_test: Any, y_test: Any) -> float:
    """Share of real test digits a classifier gets right (09_augmentation)."""
    x_test = gh.to_float(gh.to_uint8(gh._check_images("x_test", x_test)))
    y_test = gh.check_labels(y_test, len(x_test), "y_test")
    logits = [model(x_test[i:i + 1_000], training=False).numpy() for i in range(0, len(x_test), 1_000)]
    read = np.concatenate(logits).argmax(1) if logits else np.zeros(0, np.int64)
    return float((read == y_test).mean())

def real_subset(x: Any, y: Any, n_per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n_per_class real images of every digit, drawn at random for a seed (09_augmentation)."""
    x = gh._check_images("x", x)
    y = gh.check_labels(y, len(x), "y")
    gh._check_int("n_per_class", n_per_class)
    rng = np.random.default_rng(seed)
    picked = []
    for digit in range(gh.N_CLASSES):
        pool = np.flatnonzero(y == digit)
        if len(pool) < n_per_class:
            raise ValueError(f"n_per_class: digit {digit} has only {len(pool)} images, {n_per_class} asked for")
        picked.append(rng.choice(pool, n_per_class, replace=False))
    index = rng.permutation(np.concatenate(picked))
    return x[index], y[index]

# ---------------------------------------------------------------------------
# The experiment: conditions × n × seeds, one CSV row per classifier
# ---------------------------------------------------------------------------

AUGMENTATION_FIELDS = ("n_per_class", "condition", "synthetic_ratio", "seed", "n_real", "n_synthetic",
                       "steps", "test_accuracy", "seconds")

#: One planned condition: (n per class, condition name, synthetic ratio or None, shifts/rotations?)
_Condition = tuple[int, str, float | None, bool]

def _condition_name(ratio: float | None, shifts: bool = False) -> str:
    if shifts:
        return "real + shifts/rotations"
    if ratio is None:
        return "real only"
    return "synthetic only" if ratio == float("inf") else f"real + {ratio:g}× synthetic"

def _plan(n_values: Sequence[int], ratios: Sequence[float], shifts: bool, synthetic_only: bool) -> list[_Condition]:
    """Every condition for every n, in the order the CSV lists them."""
    plan = [(n, _condition_name(None), None, False) for n in n_values]
    plan += [(n, _condition_name(None, True), None, True) for n in n_values] if shifts else []
    plan += [(n, _condition_name(r), float(r), False) for n in n_values for r in ratios]
    plan += [(n, _condition_name(float("inf")), float("inf"), False) for n in n_values] if synthetic_only else []
    return plan

def _read_rows(csv_path: Path) -> list[dict[str, Any]]:
    """The measured rows already in the CSV (none if it does not exist)."""
    if not csv_path.is_file():
        return []
    with csv_path.open(newline="") as f:
        return [r for r in csv.DictReader(f) if r.get("test_accuracy")]

def _write_rows(csv_path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """Rewrite the whole CSV atomically: an interrupted write keeps the previous file."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=AUGMENTATION_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    gh._atomic_write_bytes(csv_path, buffer.getvalue().encode())

def _measure(generator: keras.Model, mnist: gh.MnistSplits, condition: _Condition, seed: int,
             steps: int) -> dict[str, Any]:
    """Train one small classifier for a condition and seed; its CSV row."""
    (x_train, y_train), (x_test, y_test) = mnist
    n, name, ratio, shift = condition
    start = time.perf_counter()
    x, y = real_subset(x_train, y_train, n, seed)
    n_synth = 0 if ratio is None else (n if ratio == float("inf") else int(round(n * ratio)))
    if n_synth:
        y_synth = np.repeat(np.arange(gh.N_CLASSES), n_synth)
        x_synth = cond.generate_digits(generator, y_synth, seed=10_000 + seed)
        if ratio == float("inf"):
            x, y = x_synth, y_synth
        else:
            x, y = np.concatenate([x, x_synth]), np.concatenate([y, y_synth])
    model = train_small_classifier(x, y, steps=steps, seed=seed, shift_augment=shift)
    return {"n_per_class": n, "condition": name, "synthetic_ratio": "" if ratio is None else ratio,
            "seed": seed, "n_real": 0 if ratio == float("inf") else n * gh.N_CLASSES,
            "n_synthetic": n_synth * gh.N_CLASSES, "steps": steps,
            "test_accuracy": round(real_test_accuracy(model, x_test, y_test), 4),
            "seconds": round(time.perf_counter() - start, 1)}

def augmentation_experiment(generator: keras.Model, csv_path: str | os.PathLike[str], *,
                            n_values: Sequence[int] = (10, 50, 100, 500), ratios: Sequence[float] = (1, 4, 10),
                            seeds: Sequence[int] = (0, 1, 2), steps: int = 1_000, synthetic_only: bool = True,
                            shifts: bool = True, mnist: gh.MnistSplits | None = None,
                            verbose: bool = True) -> list[dict[str, Any]]:
    """Train the small classifier on n real digits per class, alone, with synthetic digits at each ratio, with classical shifts, and on synthetic digits alone; test each on all 10,000 real test digits (09_augmentation).

    Every row is appended to ``csv_path`` as soon as it is measured, and rows already there are
    skipped: an interrupted experiment resumes where it stopped. "synthetic only" uses n synthetic
    digits per class (the Classification Accuracy Score of Ravuri & Vinyals 2019, at the same size
    as the real set).
    """
    if not gh.is_conditional(generator):
        raise ValueError("generator must be conditional (take a digit label as well as z), e.g. "
                         "cond.trained_conditional_generator()[0]; this one takes z alone")
    n_values = [gh._check_int("n_values", n) for n in n_values]
    seeds = [gh._check_int("seeds", s, minimum=0) for s in seeds]
    if any(isinstance(r, bool) or not isinstance(r, (int, float, np.integer, np.floating)) or not r > 0 for r in ratios):
        raise ValueError(f"ratios must be positive numbers of synthetic images per real one, got {list(ratios)}")
    gh._check_int("steps", steps)
    mnist = mnist if mnist is not None else gh.load_mnist()
    csv_path = Path(csv_path)
    rows = _read_rows(csv_path)
    _check_resume(csv_path, rows, _fingerprint(generator, mnist))
    done = {(int(r["n_per_class"]), r["condition"], int(r["seed"]), int(r["steps"])) for r in rows}
    for seed in seeds:
        for condition in _plan(n_values, ratios, shifts, synthetic_only):
            if (condition[0], condition[1], seed, steps) in done:
                continue
            row = _measure(generator, mnist, condition, seed, steps)
            rows.append(row)
            _write_rows(csv_path, rows)
            if verbose:
                print(f"n={row['n_per_class']:>4}/class  {row['condition']:<24} seed {seed}: "
                      f"{row['test_accuracy']:.2%}  ({row['seconds']:.0f} s)", flush=True)
    return [{**r, "n_per_class": int(r["n_per_class"]), "seed": int(r["seed"]),
             "test_accuracy": float(r["test_accuracy"])} for r in rows]

def _fingerprint(generator: keras.Model, mnist: gh.MnistSplits) -> dict[str, Any]:
    """What the rows of one experiment share: the generator's weights (a hash) and the data sizes."""
    digest = hashlib.blake2b(digest_size=8)
    for weight in generator.get_weights():
        digest.update(np.ascontiguousarray(weight).tobytes())
    return {"generator": digest.hexdigest(), "n_real_pool": len(mnist[0][0]), "n_test": len(mnist[1][0])}

def _check_resume(csv_path: Path, rows: list[dict[str, Any]], settings: dict[str, Any]) -> None:
    """Refuse to add rows to a CSV measured with another generator or test set; record them for a new one."""
    record = csv_path.with_name(f"{csv_path.stem}.settings.json")
    if record.is_file():
        saved = gh._read_json(record)
        changed = {k: (saved.get(k), v) for k, v in settings.items() if saved.get(k) != v}
        if changed:
            detail = ", ".join(f"{k}: saved {a}, now {b}" for k, (a, b) in changed.items())
            raise ValueError(f"csv_path: {csv_path} holds rows measured with other settings ({detail}); "
                             "its averages would mix both. Use another csv_path, or the same generator and data")
    elif rows:
        raise ValueError(f"csv_path: {csv_path} holds rows but no {record.name} saying which generator and test "
                         "set they were measured with; use another csv_path (or delete the CSV to start again)")
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    gh._atomic_write_json(record, settings)

# ---------------------------------------------------------------------------
# Reading the results (the table is rp.format_augmentation, gan_extras/reports.py)
# ---------------------------------------------------------------------------

def summarize_augmentation(rows: Sequence[dict[str, Any]]) -> dict[str, dict[int, tuple[float, float, int]]]:
    """Mean and standard deviation of test accuracy over seeds: {condition: {n: (mean, std, seeds)}} (09_augmentation)."""
    if not rows or any(not isinstance(r, dict) or "condition" not in r or "test_accuracy" not in r for r in rows):
        raise ValueError("rows must be augmentation_experiment's rows (dicts with condition, n_per_class, test_accuracy)")
    groups: dict[str, dict[int, list[float]]] = {}
    for r in rows:
        groups.setdefault(r["condition"], {}).setdefault(int(r["n_per_class"]), []).append(float(r["test_accuracy"]))
    return {c: {n: (float(np.mean(a)), float(np.std(a, ddof=1)) if len(a) > 1 else 0.0, len(a))
                for n, a in sorted(by_n.items())} for c, by_n in groups.items()}

#: One colour per condition in every plot of 09, whichever conditions a grid has.
CONDITION_COLOURS = {"real only": "C0", "real + shifts/rotations": "C1", "real + 1× synthetic": "C2",
                     "real + 4× synthetic": "C3", "real + 10× synthetic": "C4", "synthetic only": "C5"}

def plot_augmentation(rows: Sequence[dict[str, Any]], title: str = "Small classifier on real test digits"):
    """Test accuracy against real images per class, one line per condition, error bars = std over seeds (09_augmentation)."""
    import matplotlib.pyplot as plt

    summary = summarize_augmentation(rows)
    fig, ax = plt.subplots(figsize=(8, 4.6))
    for condition, by_n in summary.items():
        ns = list(by_n)
        means, stds = zip(*[(by_n[n][0] * 100, by_n[n][1] * 100) for n in ns])
        style = "--" if condition == "synthetic only" else ":" if "shifts" in condition else "-"
        ax.errorbar(ns, means, yerr=stds, fmt="o" + style, capsize=3, label=condition,
                    color=CONDITION_COLOURS.get(condition, "C7"))
    ax.set(xscale="log", xlabel="real training images per class (n)", ylabel="test accuracy (%)", title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
