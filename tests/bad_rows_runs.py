"""Bad-input rows of gan_extras.runs (run folders: train_run, loading, export), read by tests/test_bad_inputs.py."""

from __future__ import annotations

from bad_rows_common import IMAGES, MISSING

from gan_extras import runs

#: Public names that take no argument a user could get wrong.
NO_ARGUMENTS: set[str] = set()

ROWS = [
    ("train_run", lambda t: runs.train_run(t, epochs=0, x_train=IMAGES), ValueError, "epochs must be >= 1"),
    ("train_run", lambda t: runs.train_run(t, epochs=2, x_train=IMAGES, cool_down_epochs=1), ValueError,
     "cool_down_epochs .* give ema_decay too"),
    ("train_run", lambda t: runs.train_run(t, epochs=1, x_train=IMAGES, g_loss="hinge"), ValueError,
     "g_loss must be one of"),
    ("train_run", lambda t: runs.train_run(t, epochs=1, x_train=IMAGES, label_smoothing=-0.1), ValueError,
     "label_smoothing must be in"),
    ("train_run", lambda t: runs.train_run(t, epochs=1, x_train=IMAGES, precision="half"), ValueError,
     "precision must be"),
    ("train_run", lambda t: runs.train_run(t, epochs=1, x_train=IMAGES, strategy="mirrored"), TypeError,
     "strategy must be a tf.distribute.Strategy"),
    ("train_run", lambda t: runs.train_run(t, epochs=1, x_train=IMAGES, jit_compile=1), TypeError,
     "jit_compile must be True or False"),
    ("train_run", lambda t: runs.train_run(t, epochs=1, x_train=IMAGES, d_steps=2, precision="mixed_float16"),
     ValueError, r"dynamics switches \{'d_steps': 2\}.*speed switches \{'precision': 'mixed_float16'\}"),
    ("train_run", lambda t: runs.train_run(t, architecture="gpt", epochs=1, x_train=IMAGES), ValueError,
     "architecture must be one of"),
    ("train_run", lambda t: runs.train_run(t, epochs=1, x_train=IMAGES, frechet_every=-1), ValueError,
     "frechet_every must be >= 0"),
    ("train_run", lambda t: runs.train_run(t, epochs=1, x_train=IMAGES, fall_back="yes"), TypeError,
     "fall_back must be True or False"),
    ("fall_back_checkpoint", lambda t: runs.fall_back_checkpoint(t), FileNotFoundError,
     "falling back needs an earlier one"),
    ("load_generator_from_checkpoint", lambda t: runs.load_generator_from_checkpoint(t), FileNotFoundError,
     "out_dir: no checkpoints"),
    ("load_generator_from_checkpoint", lambda t: runs.load_generator_from_checkpoint(None), TypeError, "out_dir"),
    ("average_generator", lambda t: runs.average_generator(t, []), ValueError, "at least one checkpointed epoch"),
    ("trained_generator", lambda t: runs.trained_generator("best"), ValueError, "source must be"),
    ("trained_generator", lambda t: runs.trained_generator(conditional="yes"), TypeError,
     "conditional must be True or False"),
    ("pretrained_path", lambda t: runs.pretrained_path("gpt"), ValueError, "architecture must be one of"),
    ("export_generator", lambda t: runs.export_generator(t, t / "g.keras"), FileNotFoundError, "no checkpoints"),
    ("export_generator", lambda t: runs.export_generator(MISSING, average=0), ValueError, "average must be >= 1"),
    ("export_generator", lambda t: runs.export_generator(MISSING, t / "g.keras", replace_shipped="yes"), TypeError,
     "replace_shipped must be"),
    ("export_generator", lambda t: runs.export_generator(MISSING, t / "g.png"), ValueError,
     "path: an exported generator is a .keras file"),
    ("export_generator",  # a record it would replace that cannot be read: its figures would be lost
     lambda t: (t / "g.json").write_text("{not json") and runs.export_generator(MISSING, t / "g.keras"),
     ValueError, "path: the record .* cannot be read"),
]
