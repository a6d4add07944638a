"""The command line: ``python -m gan_helpers COMMAND ...`` trains, evaluates and exports runs for scripts and cluster jobs.

One table, ``COMMANDS``: each command's help, its flags (a list of ``(names, argparse keywords)``) and
the function that runs it. Every command calls the lesson module that teaches it (README, "Layout").
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gan_helpers as gh
from gan_extras import conditional as cond
from gan_extras import dynamics as dyn
from gan_extras import evaluation as ev
from gan_extras import reports as rp
from gan_extras import runs
from gan_extras import speed

PROG = "python -m gan_helpers"
Flag = tuple[tuple[str, ...], dict[str, Any]]
#: The flags of ``train`` that are not ``runs.train_run`` keywords.
_NOT_TRAIN_KEYWORDS = ("command", "out", "mnist", "gif")


def _flag(*names: str, **options: Any) -> Flag:
    return names, options


def _train_flags() -> list[Flag]:
    return [
        _flag("--out", type=Path, default=None, help="run folder (default: outputs/ARCHITECTURE)"),
        _flag("--architecture", choices=sorted(runs.ARCHITECTURES), default="dcgan"),
        _flag("--epochs", type=int, default=gh.EPOCHS),
        _flag("--batch-size", type=int, default=gh.BATCH_SIZE),
        _flag("--learning-rate", type=float, default=gh.LEARNING_RATE),
        _flag("--beta-1", type=float, default=gh.BETA_1),
        _flag("--latent-dim", type=int, default=gh.LATENT_DIM),
        _flag("--checkpoint-every", type=int, default=gh.CHECKPOINT_EVERY),
        _flag("--n-train", type=int, default=None, help="use only the first N training images"),
        _flag("--seed", type=int, default=0),
        _flag("--frechet-every", type=int, default=0, help="measure the Fréchet distance every N epochs (0: never)"),
        _flag("--frechet-n", type=int, default=1_000),
        _flag("--mnist", type=Path, default=None, help="path to mnist.npz"),
        _flag("--gif", action="store_true", help="write progress.gif from the frames at the end"),
        _flag("--fall-back", action="store_true",
              help="if the latest checkpoint is damaged, set it aside and resume from the previous one"),
        _flag("--g-loss", choices=sorted(dyn.G_LOSSES), default="non_saturating"),
        _flag("--label-smoothing", type=float, default=0.0, help="real images' target is 1 - this"),
        _flag("--lr-decay", action="store_true", help="lower the learning rate linearly to 0 over the epochs"),
        _flag("--d-steps", type=int, default=1, help="discriminator updates per generator update"),
        _flag("--minibatch-std", action="store_true", help="give D the batch's spread as a feature"),
        _flag("--ema-decay", type=float, default=0.0,
              help="keep a moving average of G's weights with this decay (e.g. 0.999); frames, evaluations "
                   "and export use it (0: off)"),
        _flag("--cool-down-epochs", type=int, default=0,
              help="with --ema-decay: over the last N epochs both learning rates fall linearly to 0"),
        _flag("--kernel-size", type=int, default=gh.KERNEL_SIZE,
              help="convolution kernel of the DCGAN pairs (5: the TensorFlow tutorial's)"),
        _flag("--projection-channels", type=int, default=gh.PROJECTION_CHANNELS,
              help="channels of G's 7x7 projection (256: the TensorFlow tutorial's)"),
        _flag("--precision", choices=["auto", *speed.PRECISIONS], default="auto",
              help="auto: mixed_float16 on a GPU, float32 on a CPU"),
        _flag("--jit-compile", action="store_true", help="compile the train step with XLA"),
    ]


def _train(args: argparse.Namespace) -> int:
    (x_train, y_train), _ = gh.load_mnist(args.mnist)
    settings = {k: v for k, v in vars(args).items() if k not in _NOT_TRAIN_KEYWORDS}
    run = runs.train_run(args.out, x_train=x_train, y_train=y_train, verbose=2, **settings)
    if args.gif:
        print("wrote", gh.make_gif(run.out_dir / "frames", run.out_dir / "progress.gif"))
    return 0


def _estimate(args: argparse.Namespace) -> int:
    epoch = speed.estimate_epoch_seconds(args.batch_size)
    full = epoch * gh.EPOCHS
    quick = epoch * gh.QUICK_EPOCHS * gh.QUICK_N_TRAIN / 60_000
    notebooks = len(list((gh.PROJECT_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
    print(f"{gh.device_report()}\nOne epoch on 60,000 images: about {epoch / 60:.1f} min here, "
          f"so the full series (training {gh.EPOCHS} epochs) takes about {full / 3600:.1f} h.\n"
          f"Quick mode (GAN_QUICK=1 make run): {gh.QUICK_EPOCHS} epochs on {gh.QUICK_N_TRAIN:,} images, "
          f"about {quick / 60 + notebooks:.0f} min for its {notebooks} notebooks "
          "(about a minute each besides training).")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    generator = runs.load_generator_from_checkpoint(args.out)
    result = ev.evaluate_generator(generator, args.n)
    result["epoch"] = gh.checkpoint_epochs(args.out)[-1]
    print(rp.format_evaluation(result))
    gh._atomic_write_json(args.out / "evaluation.json", result)
    return 0


def _compare(args: argparse.Namespace) -> int:
    bad = [item for item in args.runs if "=" not in item]
    if bad:
        raise ValueError(f"runs: each must be NAME=RUN_DIR, got {bad}")
    pairs = dict(item.split("=", 1) for item in args.runs)
    comparison = {"description": args.description, "machine": gh.device_report(),
                  **rp.compare_runs(pairs, args.time_alone)}
    print(rp.format_comparison(comparison) + "\n\n" + rp.format_comparison(comparison, markdown=True))
    if args.save:
        gh._atomic_write_json(args.save, comparison)
    return 0


def _export(args: argparse.Namespace) -> int:
    record = runs.export_generator(args.run, args.to, epoch=args.epoch, n_eval=args.n, average=args.average,
                                   replace_shipped=args.replace_shipped)
    print(rp.format_evaluation(record["evaluation"]))
    if "conditional_evaluation" in record:
        print(rp.format_conditional_evaluation(record["conditional_evaluation"]))
    print(f"wrote {record['path']} and its .json record (epoch {record['epochs']})")
    return 0


def _synthesize(args: argparse.Namespace) -> int:
    generator = cond.load_pretrained_conditional_generator(args.generator)
    record = cond.make_synthetic_dataset(generator, args.n_per_class, args.to, seed=args.seed,
                                         n_test_per_class=args.n_test_per_class, png_dir=args.png_dir)
    print(json.dumps(record, indent=1))
    return 0


def _augment(args: argparse.Namespace) -> int:
    from gan_extras import augmentation as aug  # 09's experiment

    generator = cond.load_pretrained_conditional_generator(args.generator)
    rows = aug.augmentation_experiment(generator, args.csv, n_values=args.n, ratios=args.ratios,
                                       seeds=args.seeds, steps=args.steps)
    print(rp.format_augmentation(rows) + "\n\n" + rp.format_augmentation(rows, markdown=True))
    return 0


def _vanilla_vs_dcgan(args: argparse.Namespace) -> int:
    comparison = rp.vanilla_vs_dcgan(args.run, args.n, args.samples, time_alone=args.time_alone)
    print(rp.format_architectures(comparison["entries"]) + "\n\n"
          + rp.format_architectures(comparison["entries"], True))
    if args.save:
        gh._atomic_write_json(args.save, comparison)
    return 0


def _dynamics_flags() -> list[Flag]:
    names = list(dyn.DYNAMICS_EXPERIMENTS)
    return [
        _flag("--out", type=Path, default=None, help="default: outputs/dynamics"),
        _flag("--only", nargs="+", default=names, choices=names, metavar="NAME",
              help=f"experiments to run (default: all of {', '.join(names)})"),
        _flag("--architecture", choices=list(gh.ARCHITECTURES), default="vanilla"),
        _flag("--epochs", type=int, default=None, help="default: 10 (2 in quick mode)"),
        _flag("--n-train", type=int, default=None),
        _flag("--mnist", type=Path, default=None, help="path to mnist.npz"),
        _flag("--save", type=Path, default=None,
              help="also write every run's settings and history as one JSON (like data/results/dynamics_full.json)"),
    ]


def _dynamics(args: argparse.Namespace) -> int:
    settings = dyn.dynamics_settings()
    chosen = {"epochs": args.epochs, "n_train": args.n_train}
    settings.update(architecture=args.architecture, **{k: v for k, v in chosen.items() if v is not None})
    out = args.out or gh.output_dir("dynamics")
    histories = dyn.run_experiments(args.only, out, x_train=gh.load_mnist(args.mnist)[0][0], **settings)
    print(rp.format_experiments(histories) + "\n\n" + rp.format_experiments(histories, markdown=True))
    if args.save:
        gh._atomic_write_json(args.save, {
            "settings": {**settings, "seed": 0}, "machine": f"{gh.device_report()}; {platform.platform()}",
            "made_with": f"{PROG} dynamics --only {' '.join(args.only)}",
            "experiments": {n: dyn.DYNAMICS_EXPERIMENTS[n][0] for n in histories},
            "configs": {n: json.loads((Path(out) / n / "config.json").read_text()) for n in histories},
            "histories": histories})
    return 0


def _train_classifier(args: argparse.Namespace) -> int:
    print(json.dumps(ev.train_classifier(args.out, epochs=args.epochs, seed=args.seed), indent=1))
    return 0


_RUN = _flag("--run", type=Path, required=True, help="run folder with checkpoints/")
_GENERATOR = _flag("--generator", type=Path, default=None,
                   help="a conditional generator .keras (default: the kit's pretrained one)")

#: command → (help, flags, what runs it). Flags are built when the parser is, from the modules' tables.
COMMANDS: dict[str, tuple[str, Callable[[], list[Flag]], Callable[[argparse.Namespace], int]]] = {
    "train": ("train or resume the DCGAN (or another architecture)", _train_flags, _train),
    "estimate": ("time a few steps and predict how long `make run` takes",
                 lambda: [_flag("--batch-size", type=int, default=gh.BATCH_SIZE)], _estimate),
    "evaluate": ("evaluate a run's latest generator; writes evaluation.json there", lambda: [
        _flag("--out", type=Path, required=True, help="run folder with checkpoints/"),
        _flag("--n", type=int, default=10_000)], _evaluate),
    "compare": ("tabulate evaluated runs side by side (06_evaluate's table)", lambda: [
        _flag("runs", nargs="+", help="NAME=RUN_DIR, each evaluated with `evaluate` first"),
        _flag("--save", type=Path, default=None, help="also write the comparison as JSON here"),
        _flag("--description", default=""),
        _flag("--time-alone", action="store_true", help="also time each run's step alone here")], _compare),
    "export": ("save a run's generator as .keras with a record and its GIF", lambda: [
        _RUN,
        _flag("--to", type=Path, default=None, help="the .keras file to write (the record and GIF go beside it)"),
        _flag("--replace-shipped", action="store_true",
              help="allow replacing the kit's shipped data/pretrained/ generator (the default --to)"),
        _flag("--epoch", type=int, default=None, help="checkpointed epoch (default: the latest)"),
        _flag("--n", type=int, default=10_000, help="samples for the recorded evaluation"),
        _flag("--average", type=int, default=1,
              help="export the mean of the generator's weights over the last N checkpoints")], _export),
    "synthesize": ("write labelled synthetic digits as an .npz in the MNIST layout", lambda: [
        _flag("--to", type=Path, required=True, help="output .npz (a .json record is written beside it)"),
        _flag("--n-per-class", type=int, default=1_000),
        _flag("--n-test-per-class", type=int, default=0),
        _flag("--seed", type=int, default=0),
        _flag("--png-dir", type=Path, default=None, help="also write one PNG per image, a folder per digit"),
        _GENERATOR], _synthesize),
    "augment": ("the augmentation experiment of 09_augmentation; resumes from its CSV", lambda: [
        _flag("--csv", type=Path, required=True),
        _flag("--n", type=int, nargs="+", default=[10, 50, 100, 500], help="real images per class"),
        _flag("--ratios", type=float, nargs="+", default=[1, 4, 10]),
        _flag("--seeds", type=int, nargs="+", default=[0, 1, 2]),
        _flag("--steps", type=int, default=1_000),
        _GENERATOR], _augment),
    "vanilla-vs-dcgan": ("02's side-by-side table: a vanilla run against the pretrained DCGAN", lambda: [
        _flag("--run", type=Path, required=True, help="a vanilla run folder"),
        _flag("--n", type=int, default=10_000),
        _flag("--save", type=Path, default=None, help="write the comparison as JSON here"),
        _flag("--samples", type=Path, default=None, help="write a PNG of both generators' samples here"),
        _flag("--time-alone", action="store_true", help="also time one epoch of each architecture here")],
        _vanilla_vs_dcgan),
    "dynamics": ("the controlled runs of 10_training_dynamics; finished runs are kept, interrupted ones resume",
                 _dynamics_flags, _dynamics),
    "train-classifier": ("retrain the evaluation classifier (data/pretrained/)", lambda: [
        _flag("--out", type=Path, default=ev.CLASSIFIER_PATH),
        _flag("--epochs", type=int, default=6),
        _flag("--seed", type=int, default=0)], _train_classifier),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command in ``COMMANDS`` (04_train_dcgan)."""
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, flags, _) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text)
        for names, options in flags():
            command.add_argument(*names, **options)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m gan_helpers``: parse the command line and run the command (04_train_dcgan)."""
    if argv is not None and (isinstance(argv, str) or not all(isinstance(a, str) for a in argv)):
        raise TypeError(f"argv must be a list of strings (the command line's words), got {argv!r}")
    args = build_parser().parse_args(argv)
    return COMMANDS[args.command][2](args)


#: The kit's own files: a stop is raised only while Python runs one of these (see _Stop).
_KIT_CODE = (os.path.abspath(gh.__file__), os.path.dirname(os.path.abspath(__file__)) + os.sep)


@functools.lru_cache(maxsize=None)
def _is_kit_file(filename: str) -> bool:
    return os.path.abspath(filename).startswith(_KIT_CODE)


class _Stop:
    """SIGTERM and Ctrl-C as a KeyboardInterrupt raised in the kit's own code, never half-way through a library's (04_train_dcgan).

    An exception raised inside a library can leave it half done: imageio, stopped while it encodes a
    PNG, turns the interrupt into a ValueError (the loop would not checkpoint), and TensorFlow, stopped
    inside its C++ ``Flatten``, raises a SystemError ("returned a result with an exception set").
    So the first signal is held, and a profile function (``sys.setprofile``, main thread only) looks
    at each Python call and return until one is in ``gan_helpers.py`` or ``gan_extras/``; it raises
    there, where the loop's ``except KeyboardInterrupt`` keeps the last finished epoch. No timer: a
    SIGALRM every 10 ms, the earlier way of looking again, crashed TensorFlow (runs of 150 small
    epochs with it: 8 of 8 died, 2 segfaults and 6 heap aborts; without it: 6 of 6 finished). A
    second signal stops at once.
    """

    def __init__(self) -> None:
        self.held: int | None = None

    def __call__(self, signum: int, frame: Any) -> None:
        if self.held is not None:
            self.release()
            raise KeyboardInterrupt(f"signal {signum}, twice")
        self.held = signum
        if frame is not None and _is_kit_file(frame.f_code.co_filename):
            self.release()
            raise KeyboardInterrupt(f"signal {signum}")
        sys.setprofile(self.look)

    def look(self, frame: Any, event: str, arg: Any) -> None:
        """The profile function while a signal is held: raise it once Python is in the kit's code."""
        if frame.f_code not in _OWN_CODE and _is_kit_file(frame.f_code.co_filename):
            signum = self.held
            self.release()
            raise KeyboardInterrupt(f"signal {signum}")  # the training loop checkpoints and says what it kept

    def release(self) -> None:
        """Forget a held signal and stop looking."""
        self.held = None
        sys.setprofile(None)


_OWN_CODE = (_Stop.__call__.__code__, _Stop.release.__code__)  # the stop's own frames are not where to raise


def run(argv: Sequence[str] | None = None) -> int:
    """``python -m gan_helpers``: ``main``, with each error as one line and exit status 2, and Ctrl-C or SIGTERM as status 130 (04_train_dcgan).

    ``--debug`` (anywhere on the line) or ``GAN_DEBUG=1`` shows the full traceback instead.
    """
    if argv is not None and (isinstance(argv, str) or not all(isinstance(a, str) for a in argv)):
        raise TypeError(f"argv must be a list of strings (the command line's words), got {argv!r}")
    words = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in words or os.environ.get("GAN_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}
    words = [w for w in words if w != "--debug"]
    gh.quiet_tensorflow()  # no "remapper failed" line from every training graph (gan_extras/quiet.py)
    stop = _Stop()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return main(words)
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, KeyError, OSError, ImportError, gh.RunInUse, gh.TrainingDiverged) as error:
        if debug:
            raise
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"{PROG}: error: {message}\n(run again with --debug for the traceback)", file=sys.stderr)
        return 2
    finally:
        stop.release()
        for sig, handler in previous.items():
            signal.signal(sig, handler)

