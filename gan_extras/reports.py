"""The kit's results tables: one ``table`` formatter, and the figures of each lesson laid out with it.

Plain text for a notebook's output, Markdown (``markdown=True``) for the README and ``data/results/``.
The figures come from ``gan_extras/evaluation.py`` (06), run folders (``compare_runs``) and the
experiments of 02, 08, 09 and 10.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import gan_helpers as gh
from gan_extras import evaluation as ev

#: The metrics a comparison shows, in order, with their row labels.
_COMPARED = [("frechet_distance", "Fréchet distance ↓"), ("classifier_score", "classifier score ↑"),
             ("coverage_entropy", "coverage ↑"), ("min_digit_share", "smallest digit share"),
             ("precision", "precision ↑"), ("recall", "recall ↑")]

def table(header: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool = False, *,
          align: str | None = None, widths: Sequence[int | None] | None = None, sep: str = "  ") -> str:
    """Text cells as a Markdown table, or as columns padded to fit (first left, others right, unless ``align``) (06_evaluate)."""
    gh._check_bool("markdown", markdown)
    if isinstance(header, str) or not isinstance(header, Sequence) or not header:
        raise TypeError(f"header must be a non-empty list of column titles, got {header!r}")
    if isinstance(rows, str) or not isinstance(rows, Sequence) or any(
            isinstance(r, str) or not isinstance(r, Sequence) or len(r) != len(header) for r in rows):
        raise ValueError(f"rows must be a list of rows of {len(header)} cells each (one per column of header)")
    if align is not None and (not isinstance(align, str) or len(align) != len(header) or set(align) - {"<", ">"}):
        raise ValueError(f"align must be one '<' (left) or '>' (right) per column ({len(header)}), got {align!r}")
    if widths is not None and (len(widths) != len(header) or not all(
            w is None or (isinstance(w, int) and not isinstance(w, bool) and w >= 0) for w in widths)):
        raise ValueError(f"widths must give one width >= 0 or None (fit) per column ({len(header)}), got {widths!r}")
    if not isinstance(sep, str):
        raise TypeError(f"sep must be a string (between columns), got {type(sep).__name__}")
    return _table([str(c) for c in header], [[str(c) for c in r] for r in rows], markdown, align, widths, sep)

def _table(header: list[str], rows: list[list[str]], markdown: bool = False, align: str | None = None,
           widths: Sequence[int | None] | None = None, sep: str = "  ") -> str:
    if markdown:
        return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
                         + ["| " + " | ".join(row) + " |" for row in rows])
    align = align or "<" + ">" * (len(header) - 1)
    fitted = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    widths = [f if w is None else w for f, w in zip(fitted, widths or [None] * len(header))]
    return "\n".join(sep.join(cell.ljust(w) if a == "<" else cell.rjust(w) for cell, w, a in zip(row, widths, align))
                     for row in [header, *rows])

# ---------------------------------------------------------------------------
# 06_evaluate: one generator, several runs
# ---------------------------------------------------------------------------

def format_evaluation(result: dict[str, Any]) -> str:
    """A plain-text table of evaluate_generator's figures beside the real-vs-real floor (06_evaluate)."""
    if not isinstance(result, dict) or not {"generator", "real_vs_real", "nearest_neighbour_distance"} <= set(result):
        raise ValueError("result must come from ev.evaluate_generator (keys generator, real_vs_real, "
                         "nearest_neighbour_distance)")
    g, r, nn = result["generator"], result["real_vs_real"], result["nearest_neighbour_distance"]
    rows = [[key, f"{g[key]:.3f}", f"{r[key]:.3f}", f"   {better}"]
            for key, better in [("frechet_distance", "lower"), ("classifier_score", "higher, max 10"),
                                ("coverage_entropy", "higher, max 1"), ("min_digit_share", "ideal ~0.1"),
                                ("precision", "higher"), ("recall", "higher")]]
    rows.append(["nearest-train dist.", f"{nn['generated_median']:.3f}", f"{nn['test_median']:.3f}",
                 f"   median pixel L2 (n = {nn['n']:,}); far below the test value means copying"])
    return _table(["metric", "generator", "real vs real", f"   (n = {g['n']:,})"], rows,
                  align="<>><", widths=(22, 12, 14, 0), sep="")

def compare_runs(run_dirs: dict[str, str | os.PathLike[str]], time_alone: bool = False) -> dict[str, Any]:
    """Settings, training seconds and evaluation.json figures of several runs, side by side (06_evaluate)."""
    # ``seconds`` is what the runs recorded; with ``time_alone`` each run's batch size is also timed
    # here, one at a time, for seconds on an idle machine (gan_extras/speed.py).
    if not isinstance(run_dirs, dict) or not run_dirs:
        raise ValueError("run_dirs must name at least one run folder (a dict of name -> folder)")
    gh._check_bool("time_alone", time_alone)
    runs: dict[str, Any] = {}
    for name, folder in run_dirs.items():
        folder = Path(folder)
        evaluation_path = folder / "evaluation.json"
        if not evaluation_path.is_file():
            raise FileNotFoundError(f"run_dirs[{name!r}]: no evaluation.json in {folder}; "
                                    f"run `python -m gan_helpers evaluate --out {folder}` first")
        evaluation = json.loads(evaluation_path.read_text())
        history = gh.load_history(folder)
        config = json.loads((folder / "config.json").read_text())
        runs[name] = {"settings": {k: config[k] for k in ("learning_rate", "beta_1", "batch_size")},
                      "epochs": len(history["epoch"]), "seconds": round(sum(history["seconds"]), 1),
                      **{k: evaluation["generator"][k] for k, _ in _COMPARED}, "n": evaluation["generator"]["n"]}
        if time_alone:
            from gan_extras import speed

            epoch = speed.estimate_epoch_seconds(config["batch_size"], steps=20)
            runs[name]["seconds_timed_alone"] = round(epoch * runs[name]["epochs"], 1)
        floor = evaluation["real_vs_real"]
    return {"runs": runs, "real_vs_real": {k: floor[k] for k, _ in _COMPARED}}

def format_comparison(comparison: dict[str, Any], markdown: bool = False) -> str:
    """compare_runs' result as a plain-text or Markdown table, with the real-vs-real floor (06_evaluate)."""
    if not isinstance(comparison, dict) or "runs" not in comparison or not comparison["runs"]:
        raise ValueError("comparison must come from rp.compare_runs (a dict with non-empty 'runs')")
    gh._check_bool("markdown", markdown)
    runs = comparison["runs"].values()
    rows = [["Adam learning rate, β1", *(f"{r['settings']['learning_rate']:g}, {r['settings']['beta_1']:g}"
                                        for r in runs), ""],
            ["batch size", *(str(r["settings"]["batch_size"]) for r in runs), ""],
            ["epochs", *(str(r["epochs"]) for r in runs), ""]]
    rows += [[label, *(f"{r[key]:.3f}" for r in runs), f"{comparison['real_vs_real'][key]:.3f}"]
             for key, label in _COMPARED]
    if all("seconds_timed_alone" in r for r in runs):
        rows.append(["training seconds, timed alone", *(f"{r['seconds_timed_alone']:,.0f}" for r in runs), ""])
    rows.append(["training seconds, as recorded", *(f"{r['seconds']:,.0f}" for r in runs), ""])
    rows.append(["n (images evaluated)", *(f"{r['n']:,}" for r in runs), ""])
    return _table(["", *comparison["runs"], "real vs real"], rows, markdown)

# ---------------------------------------------------------------------------
# 02_vanilla_gan: architectures side by side
# ---------------------------------------------------------------------------

def architecture_entry(evaluation: dict[str, Any], history: dict[str, list], config: dict[str, Any]) -> dict[str, Any]:
    """One column of ``format_architectures``: a run's sizes and speed (history, config.json) with its ``evaluate_generator`` result (02_vanilla_gan)."""
    for name, value, keys in (("evaluation", evaluation, ("generator", "real_vs_real")),
                              ("history", history, ("epoch", "seconds")),
                              ("config", config, ("generator_params", "discriminator_params"))):
        if not isinstance(value, dict) or any(k not in value for k in keys):
            raise ValueError(f"{name} must be a dict with the keys {keys}, got "
                             f"{sorted(value) if isinstance(value, dict) else type(value).__name__}")
    return {"epochs": len(history["epoch"]), "generator_params": config["generator_params"],
            "discriminator_params": config["discriminator_params"],
            "seconds_per_epoch": float(np.median(history["seconds"])),
            "fastest_epoch_seconds": float(np.min(history["seconds"])),
            **{k: evaluation["generator"][k] for k, _ in _COMPARED}, "n": evaluation["generator"]["n"],
            "floor": {k: evaluation["real_vs_real"][k] for k, _ in _COMPARED}}

def format_architectures(entries: dict[str, dict[str, Any]], markdown: bool = False) -> str:
    """Architectures side by side: epochs, parameters, seconds per epoch and every metric, with the real-vs-real floor (02_vanilla_gan)."""
    if not isinstance(entries, dict) or not entries or not all(isinstance(e, dict) and "floor" in e
                                                              for e in entries.values()):
        raise ValueError("entries must be a non-empty dict of name -> rp.architecture_entry(...)")
    gh._check_bool("markdown", markdown)
    floor, columns = next(iter(entries.values()))["floor"], entries.values()
    rows = [["epochs", *(str(e["epochs"]) for e in columns), ""],
            ["generator parameters", *(f"{e['generator_params']:,}" for e in columns), ""],
            ["discriminator parameters", *(f"{e['discriminator_params']:,}" for e in columns), ""],
            ["seconds per epoch (median as recorded)", *(f"{e['seconds_per_epoch']:.1f}" for e in columns), ""],
            ["seconds per epoch (fastest recorded)", *(f"{e['fastest_epoch_seconds']:.1f}" for e in columns), ""]]
    if all("seconds_timed_alone" in e for e in columns):
        rows.append(["seconds per epoch (timed alone here)", *(f"{e['seconds_timed_alone']:.1f}" for e in columns), ""])
    rows += [[label, *(f"{e[key]:.3f}" for e in columns), f"{floor[key]:.3f}"] for key, label in _COMPARED]
    rows.append(["n (images evaluated)", *(f"{e['n']:,}" for e in columns), ""])
    return _table(["", *entries, "real vs real"], rows, markdown)

def vanilla_vs_dcgan(run_dir: str | os.PathLike[str], n: int = 10_000, samples_png: str | os.PathLike[str] | None = None,
                     seed: int = 0, time_alone: bool = False) -> dict[str, Any]:
    """A vanilla run's latest generator beside the kit's pretrained DCGAN: table entries, Fréchet distance per epoch and, optionally, a figure of samples and both steps timed here (02_vanilla_gan)."""
    run_dir = Path(run_dir)
    config_path = run_dir / "config.json"
    config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    if config.get("architecture") != "vanilla":
        raise ValueError(f"run_dir: {run_dir} holds no vanilla run (config.json architecture: "
                         f"{config.get('architecture')!r}); train one with gh.train(..., architecture='vanilla')")
    gh._check_int("n", n, minimum=4)
    gh._check_int("seed", seed, minimum=0)
    gh._check_bool("time_alone", time_alone)
    vanilla = gh.load_generator_from_checkpoint(run_dir)
    dcgan = gh.load_pretrained_generator()
    record = json.loads(gh.PRETRAINED_GENERATOR_PATH.with_suffix(".json").read_text())
    history = gh.load_history(run_dir)
    dcgan_evaluation = record["evaluation"] if n == record["evaluation"]["generator"]["n"] and seed == 0 \
        else ev.evaluate_generator(dcgan, n, seed)
    entries = {f"vanilla ({len(history['epoch'])} epochs)": architecture_entry(ev.evaluate_generator(vanilla, n, seed),
                                                                               history, config),
               f"DCGAN ({record['epochs']} epochs)": architecture_entry(dcgan_evaluation, record["history"],
                                                                       record["settings"])}
    if time_alone:  # recorded seconds depend on what else ran; this times both now
        from gan_extras import speed

        for entry, architecture in zip(entries.values(), ("vanilla", "dcgan")):
            entry["seconds_timed_alone"] = speed.estimate_epoch_seconds(config.get("batch_size", gh.BATCH_SIZE),
                                                                        steps=30, architecture=architecture)
    if samples_png is not None:
        _save_samples(Path(samples_png), dict(zip(entries, (vanilla, dcgan))), seed)
    return {"entries": entries, "machine": gh.device_report(),
            "frechet_by_epoch": {"vanilla": dict(zip(history["epoch"], history["frechet"])),
                                 "dcgan": {int(e): f for e, f in record["frechet_by_epoch"].items()}}}

def _save_samples(path: Path, generators: dict[str, Any], seed: int) -> None:
    """64 samples of each generator side by side, saved as a PNG."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(generators), figsize=(4.5 * len(generators), 4.8))
    for ax, (name, generator) in zip(axes, generators.items()):
        ax.imshow(gh.image_grid(gh.sample_digits(generator, 64, seed), 8, 8), cmap="gray")
        ax.set(title=f"{name}: 64 samples", xticks=[], yticks=[])
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)

# ---------------------------------------------------------------------------
# 08, 09, 10: the conditional GAN, augmentation, training dynamics
# ---------------------------------------------------------------------------

def format_conditional_evaluation(result: dict[str, Any]) -> str:
    """``evaluate_conditional``'s result as a per-digit text table (08_conditional_gan)."""
    needed = ("accuracy", "frechet", "real_vs_real_frechet", "n_per_class")
    if not isinstance(result, dict) or any(k not in result for k in needed):
        raise ValueError(f"result must be cond.evaluate_conditional's dict with keys {needed}")
    rows = [[str(digit), f"{acc:.1%}", f"{fd:.2f}", f"{fl:.2f}"] for digit, (acc, fd, fl)
            in enumerate(zip(result["accuracy"], result["frechet"], result["real_vs_real_frechet"]))]
    rows.append(["all", *(f"{np.mean(result[k]):{f}}" for k, f in (("accuracy", ".1%"), ("frechet", ".2f"),
                                                                    ("real_vs_real_frechet", ".2f")))])
    lines = _table(["asked for", "classifier agrees", "Fréchet distance", "real-vs-real floor"], rows,
                   align=">>>>", widths=(9, 17, 16, 18), sep="   ").split("\n")
    lines[0] += f"   (n = {result['n_per_class']:,} per digit)"
    return "\n".join(lines)

def format_augmentation(rows: Sequence[dict[str, Any]], markdown: bool = False) -> str:
    """The experiment as a table of accuracy mean ± std over seeds, conditions × n per class (09_augmentation)."""
    from gan_extras import augmentation

    summary = augmentation.summarize_augmentation(rows)
    gh._check_bool("markdown", markdown)
    ns = sorted({n for by_n in summary.values() for n in by_n})

    def cell(m: tuple[float, float, int] | None) -> str:  # mean ± std over seeds; one seed has no spread
        if not m:
            return "—"
        return f"{m[0]:.1%} ± {m[1]:.1%}" if m[2] > 1 else f"{m[0]:.1%} (1 seed)"

    body = [[c] + [cell(by_n.get(n)) for n in ns] for c, by_n in summary.items()]
    return _table(["condition"] + [f"n = {n}/class" for n in ns], body, markdown,
                  widths=[None] + [15] * len(ns))

def format_experiments(histories: dict[str, dict[str, list]], markdown: bool = False) -> str:
    """A table of the controlled runs: final and best Fréchet distance, rarest digit, G's gradient, D(G(z)), seconds per epoch (10_training_dynamics)."""
    if not isinstance(histories, dict) or not histories:
        raise ValueError("histories must be a non-empty dict of name -> history (dyn.run_experiments)")
    gh._check_bool("markdown", markdown)
    rows = []
    for name, h in histories.items():
        fds = [(f, e) for e, f in zip(h["epoch"], h["frechet"]) if f is not None]
        shares = next((s for s in reversed(h.get("digit_shares", [])) if s is not None), None)
        g_grad = h.get("g_grad_norm") or [None]
        rows.append([name, f"{fds[-1][0]:.1f}" if fds else "-",
                     f"{min(fds)[0]:.1f} ({min(fds)[1]})" if fds else "-",
                     f"{min(shares):.3f}" if shares else "-",
                     f"{g_grad[-1]:.2f}" if g_grad[-1] is not None else "-",
                     f"{h['d_fake'][-1]:.2f}", f"{np.median(h['seconds']):.1f}"])
    head = ["run", "final FD ↓", "best FD (epoch)", "rarest digit share", "G grad norm", "D(G(z))", "s / epoch"]
    return _table(head, rows, markdown, align="<" * len(head))
