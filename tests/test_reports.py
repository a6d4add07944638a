"""The results tables (gan_extras/reports.py): one formatter, every lesson's table, text as before."""

from __future__ import annotations

import json

import numpy as np
import pytest

import gan_helpers as gh
from gan_extras import reports as rp

FLOOR = {"frechet_distance": 0.03, "classifier_score": 9.7, "coverage_entropy": 1.0, "min_digit_share": 0.09,
         "precision": 0.9, "recall": 0.9}


# -- the one formatter -------------------------------------------------------------------------

def test_table_pads_columns_or_writes_markdown():
    header, rows = ["", "a", "bbb"], [["row one", "1.5", "2"], ["r2", "10.25", ""]]
    assert rp.table(header, rows) == ("             a  bbb\n"
                                      "row one    1.5    2\n"
                                      "r2       10.25     ")
    assert rp.table(header, rows, markdown=True) == "|  | a | bbb |\n|---|---|---|\n| row one | 1.5 | 2 |\n| r2 | 10.25 |  |"
    assert rp.table(["x", "y"], [["1", "2"]], align="<<", widths=(3, None), sep="|") == "x  |y\n1  |2"
    assert rp.table(["x"], []) == "x"


@pytest.mark.parametrize("call, error, words", [
    (lambda: rp.table([], []), TypeError, "header must be a non-empty list"),
    (lambda: rp.table("ab", []), TypeError, "header must be"),
    (lambda: rp.table(["a", "b"], [["1"]]), ValueError, "rows of 2 cells"),
    (lambda: rp.table(["a"], ["1"]), ValueError, "rows must be"),
    (lambda: rp.table(["a"], [["1"]], align="^"), ValueError, "align must be"),
    (lambda: rp.table(["a"], [["1"]], widths=(-1,)), ValueError, "widths must"),
    (lambda: rp.table(["a"], [["1"]], markdown="yes"), TypeError, "markdown must be True or False"),
])
def test_table_refuses_bad_input(call, error, words):
    with pytest.raises(error, match=words):
        call()


# -- 06_evaluate -------------------------------------------------------------------------------

def test_format_evaluation_text_is_unchanged():
    figures = {**FLOOR, "n": 10_000}
    result = {"generator": {**figures, "frechet_distance": 3.14159}, "real_vs_real": figures,
              "nearest_neighbour_distance": {"generated_median": 0.31, "test_median": 0.33, "n": 1_000}}
    lines = rp.format_evaluation(result).splitlines()
    assert lines[0] == "metric                   generator  real vs real   (n = 10,000)"
    assert lines[1] == "frechet_distance             3.142         0.030   lower"
    assert lines[-1] == ("nearest-train dist.          0.310         0.330   median pixel L2 (n = 1,000); "
                         "far below the test value means copying")
    assert len(lines) == 8


def test_compare_runs_tabulates_evaluated_runs(tmp_path):
    figures = {"n": 100, "frechet_distance": 3.0, "classifier_score": 9.0, "coverage_entropy": 0.99,
               "min_digit_share": 0.08, "precision": 0.7, "recall": 0.6}
    for name, lr in [("kit", 2e-4), ("tutorial", 1e-4)]:
        run = tmp_path / name
        run.mkdir()
        (run / "evaluation.json").write_text(json.dumps({"generator": figures, "real_vs_real": figures}))
        (run / "history.json").write_text(json.dumps({"epoch": [1, 2], "seconds": [10.0, 12.5]}))
        (run / "config.json").write_text(json.dumps({"learning_rate": lr, "beta_1": 0.5, "batch_size": 128}))
    comparison = rp.compare_runs({"kit": tmp_path / "kit", "tutorial": tmp_path / "tutorial"})
    assert comparison["runs"]["kit"]["seconds"] == 22.5 and comparison["runs"]["tutorial"]["epochs"] == 2
    table = rp.format_comparison(comparison, markdown=True)
    assert table.startswith("|  | kit | tutorial | real vs real |") and "0.0001, 0.5" in table
    with pytest.raises(FileNotFoundError, match="evaluation.json"):
        rp.compare_runs({"missing": tmp_path})


def test_shipped_settings_comparison_formats():
    comparison = json.loads((gh.data_dir() / "results" / "settings_comparison.json").read_text())
    lines = rp.format_comparison(comparison).splitlines()
    assert lines[0].split() == ["kit", "tutorial", "real", "vs", "real"]
    assert len({len(line) for line in lines}) == 1   # every column padded to its width
    assert [line.split("  ")[0] for line in lines[-3:]] == ["training seconds, timed alone",
                                                            "training seconds, as recorded", "n (images evaluated)"]


# -- 02_vanilla_gan ----------------------------------------------------------------------------

def test_architecture_table(tmp_path):
    evaluation = {"generator": {**FLOOR, "frechet_distance": 5.0, "n": 100}, "real_vs_real": FLOOR}
    entry = rp.architecture_entry(evaluation, {"epoch": [1, 2], "seconds": [10.0, 12.0]},
                                  {"generator_params": 10, "discriminator_params": 20})
    assert entry["seconds_per_epoch"] == 11.0 and entry["epochs"] == 2 and entry["frechet_distance"] == 5.0
    table = rp.format_architectures({"a": entry, "b": entry}, markdown=True)
    assert table.count("\n") == 13 and "| seconds per epoch (median as recorded) | 11.0 | 11.0 |  |" in table
    timed = rp.format_architectures({"a": {**entry, "seconds_timed_alone": 3.0}})
    assert [line.split()[-1] for line in timed.splitlines() if "timed alone here" in line] == ["3.0"]
    assert "timed alone" not in table


def test_shipped_vanilla_comparison_is_complete():
    full = json.loads((gh.data_dir() / "results" / "vanilla_vs_dcgan.json").read_text())
    vanilla, dcgan = full["entries"].values()
    assert vanilla["epochs"] == dcgan["epochs"] and vanilla["n"] == dcgan["n"] == 10_000
    assert (gh.data_dir() / "results" / "vanilla_vs_dcgan_samples.png").is_file()
    rp.format_architectures(full["entries"])


def test_vanilla_vs_dcgan_compares_a_vanilla_run(tmp_path):
    (x_train, _), _ = gh.load_mnist()
    gh.train(tmp_path / "run", architecture="vanilla", epochs=1, x_train=x_train[:256], batch_size=128, verbose=0)
    comparison = rp.vanilla_vs_dcgan(tmp_path / "run", n=8, samples_png=tmp_path / "s.png")
    vanilla, dcgan = comparison["entries"]
    assert vanilla == "vanilla (1 epochs)" and dcgan.startswith("DCGAN (")
    assert comparison["entries"][vanilla]["generator_params"] == 1_486_352 and (tmp_path / "s.png").stat().st_size > 0
    assert comparison["frechet_by_epoch"]["vanilla"] == {1: None}
    with pytest.raises(ValueError, match="holds no vanilla run"):
        rp.vanilla_vs_dcgan(tmp_path)


# -- 08, 09, 10 --------------------------------------------------------------------------------

def test_format_conditional_evaluation_text_is_unchanged():
    result = {"n_per_class": 1_000, "accuracy": [0.8, 1.0] * 5, "frechet": [1.0, 12_345.678] * 5,
              "real_vs_real_frechet": [0.1, 0.2] * 5}
    lines = rp.format_conditional_evaluation(result).splitlines()
    assert lines[0] == ("asked for   classifier agrees   Fréchet distance   real-vs-real floor   "
                        "(n = 1,000 per digit)")
    assert lines[2] == "        1              100.0%           12345.68                 0.20"
    assert lines[-1] == "      all               90.0%            6173.34                 0.15"
    assert len(lines) == 12


def _augmentation_rows() -> list[dict]:
    return [{"condition": c, "n_per_class": 5, "seed": s, "test_accuracy": 0.5 + 0.01 * s}
            for c in ("real only", "real + shifts/rotations", "real + 2× synthetic", "synthetic only")
            for s in (0, 1)]


def test_format_augmentation():
    pytest.importorskip("gan_extras.augmentation")
    rows = _augmentation_rows()
    table = rp.format_augmentation(rows, markdown=True)
    assert table.startswith("| condition | n = 5/class |") and table.count("\n") == 5
    assert rp.format_augmentation(rows).splitlines()[1] == "real only                   50.5% ± 0.7%"
    one_seed = rp.format_augmentation([r for r in rows if r["seed"] == 0])
    assert " ".join(one_seed.splitlines()[1].split()) == "real only 50.0% (1 seed)", "no spread for a single seed"


def test_format_experiments():
    def history(fds, shares=None):
        return {"epoch": list(range(1, len(fds) + 1)), "frechet": fds, "d_fake": [0.3] * len(fds),
                "seconds": [2.0, 3.0][:len(fds)], "g_grad_norm": [1.5] * len(fds),
                "digit_shares": [shares] * len(fds)}

    histories = {"baseline": history([30.0, 20.0], [0.1] * 10), "label_smoothing": history([None])}
    table = rp.format_experiments(histories, markdown=True)
    assert table.count("\n") == 3 and "| label_smoothing |" in table
    assert "| baseline | 20.0 | 20.0 (2) | 0.100 | 1.50 | 0.30 | 2.5 |" in table
    lines = rp.format_experiments(histories).splitlines()
    assert lines[0] == "run              final FD ↓  best FD (epoch)  rarest digit share  G grad norm  D(G(z))  s / epoch"
    assert lines[2] == "label_smoothing  -           -                -                   1.50         0.30     2.0      "
    assert np.isfinite(float(lines[1].split()[1]))
