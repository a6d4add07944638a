"""Bad-input rows of the core, gan_helpers (tests/test_bad_inputs.py)."""

from __future__ import annotations

import numpy as np

import gan_helpers as gh
from bad_rows_common import CG, D, G, IMAGES, MISSING

#: Public names that take no argument a user could get wrong.
NO_ARGUMENTS = {"quick_mode", "class_mode", "mode", "data_dir", "outputs_root", "run_settings", "device_report", "build_vanilla_discriminator",
                "TrainingDiverged", "TrainingRun", "GANState"}


ROWS = [
    ("live_view", lambda t: gh.live_view(every=0), ValueError, "every must be >= 1"),
    ("output_dir", lambda t: gh.output_dir(5), TypeError, "name must be a string"),
    ("set_seed", lambda t: gh.set_seed(-1), ValueError, "seed must be >= 0"),
    ("set_seed", lambda t: gh.set_seed("1"), TypeError, "seed must be an integer"),
    ("show_source", lambda t: gh.show_source(42), TypeError, "function must be a Python function"),
    ("load_mnist", lambda t: gh.load_mnist(MISSING + ".npz"), FileNotFoundError, "nothing.npz"),
    ("to_float", lambda t: gh.to_float(np.zeros((2, 28, 28), np.float32)), TypeError, "images must be uint8"),
    ("to_uint8", lambda t: gh.to_uint8(np.zeros((2, 27, 28))), ValueError, "images must have shape"),
    ("to_uint8", lambda t: gh.to_uint8(np.full((2, 28, 28), 255.0)), ValueError, r"images: float images must be in \[-1, 1\]"),
    ("mean_images_by_digit", lambda t: gh.mean_images_by_digit(IMAGES, np.zeros(3, int)), ValueError, "labels"),
    ("make_dataset", lambda t: gh.make_dataset(IMAGES, 0), ValueError, "batch_size must be >= 1"),
    ("make_dataset", lambda t: gh.make_dataset(IMAGES, 16), ValueError, "batch_size"),
    ("build_vanilla_generator", lambda t: gh.build_vanilla_generator(0), ValueError, "latent_dim must be >= 1"),
    ("build_generator", lambda t: gh.build_generator(0), ValueError, "latent_dim must be >= 1"),
    ("build_generator", lambda t: gh.build_generator(projection_channels=0), ValueError,
     "projection_channels must be >= 1"),
    ("build_discriminator", lambda t: gh.build_discriminator(kernel_size=4.0), ValueError, "kernel_size must be an int"),
    ("build_pair", lambda t: gh.build_pair("dcgan", kernel_size=9), ValueError, "kernel_size must be an int from 2 to 7"),
    ("build_pair", lambda t: gh.build_pair("gan"), ValueError, "architecture must be one of"),
    ("is_conditional", lambda t: gh.is_conditional("G"), TypeError, "generator must be a keras.Model"),
    ("latent_dim_of", lambda t: gh.latent_dim_of("generator"), TypeError, "generator must be a keras.Model"),
    ("latent_vectors", lambda t: gh.latent_vectors(0), ValueError, "n must be >= 1"),
    ("generate", lambda t: gh.generate(G(), np.zeros((2, 7))), ValueError, r"z must have shape \(n, 100\)"),
    ("balanced_labels", lambda t: gh.balanced_labels(CG(), -1), ValueError, "n must be >= 0"),
    ("sample_digits", lambda t: gh.sample_digits(G(), -3), ValueError, "n must be >= 1"),
    ("discriminator_loss", lambda t: gh.discriminator_loss(np.zeros((4, 1)), np.zeros((4, 3))),
     ValueError, "fake_logits must have shape"),
    ("generator_loss", lambda t: gh.generator_loss(np.zeros((4, 2))), ValueError, "fake_logits must have shape"),
    ("minimax_generator_loss", lambda t: gh.minimax_generator_loss("x"), TypeError, "fake_logits"),
    ("make_optimizer", lambda t: gh.make_optimizer(learning_rate=0), ValueError, "learning_rate must be a number in"),
    ("make_optimizer", lambda t: gh.make_optimizer(beta_1=1.0), ValueError, r"beta_1 must be a number in \[0, 1\)"),
    ("make_train_step", lambda t: gh.make_train_step(D(), G(), gh.make_optimizer(), gh.make_optimizer(), None),
     ValueError, "generator must map"),
    ("new_gan_state", lambda t: gh.new_gan_state(latent_dim=-5), ValueError, "latent_dim must be >= 1"),
    ("load_history", lambda t: gh.load_history(MISSING), FileNotFoundError, "history.json"),
    ("checkpoint_epochs", lambda t: gh.checkpoint_epochs(None), TypeError, "out_dir"),
    ("restore_or_initialize", lambda t: gh.restore_or_initialize("state", t), TypeError, "state must be a GANState"),
    ("train", lambda t: gh.train(t, epochs=0, x_train=IMAGES), ValueError, "epochs must be >= 1"),
    ("train", lambda t: gh.train(t, epochs=1, x_train=IMAGES, verbose=3), ValueError, "verbose must be 0"),
    ("load_generator_from_checkpoint", lambda t: gh.load_generator_from_checkpoint(t), FileNotFoundError,
     "out_dir: no checkpoints"),
    ("load_pretrained_generator", lambda t: gh.load_pretrained_generator(MISSING), FileNotFoundError,
     "no pretrained generator"),
    ("load_pretrained_generator", lambda t: gh.load_pretrained_generator(conditional="yes"), TypeError,
     "conditional must be True or False"),
    ("trained_generator", lambda t: gh.trained_generator("best"), ValueError, "source must be"),
    ("describe_pretrained", lambda t: gh.describe_pretrained(conditional=1), TypeError, "conditional must be True or False"),
    ("trained_run_dir", lambda t: gh.trained_run_dir(train_if_missing="no"), TypeError, "train_if_missing"),
    ("image_grid", lambda t: gh.image_grid(IMAGES, 3, 3), ValueError, "fewer than rows"),
    ("frame_inputs", lambda t: gh.frame_inputs(CG(), seed=-2), ValueError, "seed must be >= 0"),
    ("save_frame", lambda t: gh.save_frame(G(), np.zeros((4, 3)), t / "f.png"), ValueError, "z must have shape"),
    ("make_gif", lambda t: gh.make_gif(t, t / "x.gif"), FileNotFoundError, "frames_dir: no epoch_"),
    ("gif_info", lambda t: gh.gif_info(MISSING + ".gif"), FileNotFoundError, "gif_path"),
    ("plot_grid", lambda t: gh.plot_grid(IMAGES, 1, 2, titles=["a"]), ValueError, "titles has 1 entries"),
    ("plot_history", lambda t: gh.plot_history({"g_loss": [1.0]}), ValueError, "history must have"),
]
