"""Synthetic digits as training data for a small classifier (09_augmentation): gan_extras/augmentation.py."""

from __future__ import annotations

import csv

import numpy as np
import pytest

import gan_helpers as gh
from gan_extras import augmentation as aug
from gan_extras import conditional as cond
from gan_extras import reports as rp

_cache: dict[str, object] = {}


def CG():  # noqa: N802 - an untrained conditional generator, built once
    if "g" not in _cache:
        gh.set_seed(0)
        _cache["g"] = cond.build_conditional_generator()
    return _cache["g"]


def test_real_subset_is_balanced_and_seeded():
    (x, y), _ = gh.load_mnist()
    xs, ys = aug.real_subset(x[:2_000], y[:2_000], 7, seed=1)
    assert xs.shape == (70, 28, 28) and np.bincount(ys, minlength=10).tolist() == [7] * 10
    np.testing.assert_array_equal(xs, aug.real_subset(x[:2_000], y[:2_000], 7, seed=1)[0])
    assert not np.array_equal(xs, aug.real_subset(x[:2_000], y[:2_000], 7, seed=2)[0])
    with pytest.raises(ValueError, match="n_per_class: digit"):
        aug.real_subset(x[:100], y[:100], 50)


def test_augmentation_experiment_writes_rows_as_it_goes_and_resumes(tmp_path):
    (x, y), (xt, yt) = gh.load_mnist()
    mnist = ((x[:3_000], y[:3_000]), (xt[:500], yt[:500]))
    path = tmp_path / "augmentation.csv"
    rows = aug.augmentation_experiment(CG(), path, n_values=(5,), ratios=(2,), seeds=(0,), steps=20,
                                       mnist=mnist, verbose=False)
    conditions = [r["condition"] for r in rows]
    assert conditions == ["real only", "real + shifts/rotations", "real + 2× synthetic", "synthetic only"]
    with path.open(newline="") as f:
        saved = list(csv.DictReader(f))
    assert [r["condition"] for r in saved] == conditions
    assert {int(r["n_synthetic"]) for r in saved} == {0, 100, 50}
    assert all(0 <= float(r["test_accuracy"]) <= 1 for r in saved)
    assert list(saved[0]) == list(aug.AUGMENTATION_FIELDS)
    # a second call finds every row done and trains nothing
    again = aug.augmentation_experiment(CG(), path, n_values=(5,), ratios=(2,), seeds=(0,), steps=20,
                                        mnist=mnist, verbose=False)
    assert [r["test_accuracy"] for r in again] == [r["test_accuracy"] for r in rows]
    summary = aug.summarize_augmentation(again)
    assert summary["real only"][5][2] == 1
    table = rp.format_augmentation(again, markdown=True)
    assert table.startswith("| condition | n = 5/class |") and table.count("\n") == 5
    aug.plot_augmentation(again)


def test_summarize_augmentation_means_and_spreads_over_seeds():
    rows = [{"condition": "real only", "n_per_class": "10", "test_accuracy": a} for a in ("0.5", "0.7")]
    rows.append({"condition": "synthetic only", "n_per_class": 10, "test_accuracy": 0.4})
    summary = aug.summarize_augmentation(rows)
    mean, std, seeds = summary["real only"][10]
    assert (mean, seeds) == (pytest.approx(0.6), 2) and std == pytest.approx(np.std([0.5, 0.7], ddof=1))
    assert summary["synthetic only"][10] == (0.4, 0.0, 1)


def test_small_classifier_learns_from_real_digits():
    (x, y), (xt, yt) = gh.load_mnist()
    model = aug.train_small_classifier(x[:2_000], y[:2_000], steps=150, seed=0)
    assert model.count_params() == 34_826
    assert aug.real_test_accuracy(model, xt[:1_000], yt[:1_000]) > 0.85
