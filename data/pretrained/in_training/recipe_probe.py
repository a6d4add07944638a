"""Short comparison runs for issue 22's next DCGAN recipe: the shipped run's settings with one change.

    MNIST_NPZ=... nohup .venv/bin/python data/pretrained/in_training/recipe_probe.py wide_d 30 >> wide_d.log 2>&1 &
    MNIST_NPZ=... .venv/bin/python data/pretrained/in_training/recipe_probe.py evaluate wide_d 30   # n = 10,000
    MNIST_NPZ=... .venv/bin/python data/pretrained/in_training/recipe_probe.py evaluate conditional 50 [RUN_DIR]

``wide_d``: a discriminator of 128 and 256 channels without Dropout (the kit's: 64 and 128, Dropout 0.3).
``ttur``: separate learning rates, G 1e-4 and D 4e-4 (the kit's: 2e-4 both).
``projection`` (the conditional GAN): a projection discriminator (Miyato & Koyama 2018) instead of the
label plane stacked on the image: D's features h of the image alone give ``Dense(1)(h) + <embed(label), h>``,
so the label asks "is this a good image of *this* digit" at D's last layer. G is the shipped conditional one.
``info``: a categorical code inside G, as in InfoGAN (Chen et al. 2016). G reads which of z's first 10
entries is largest as a near one-hot code (built-in layers only, so the ``.keras`` file still takes z
alone), and a second head on D guesses that code from the image; both minimise the guess's
cross-entropy. G can then jump between ten kinds of digit instead of morphing one into the next.
``cond_mbstd`` and ``cond_no_dropout`` go on from the shipped conditional run's epoch-40 folder (f4e68f5)
with one change to its D, a minibatch std feature before the logit or Dropout at rate 0:
``recipe_probe.py cond_mbstd 70 RUN_FOLDER`` (README.md here gives their figures).
``dcgan_topk`` and ``dcgan_r1`` go on from the shipped DCGAN run's epoch-60 folder (f4e68f5) at the constant
rate, with one change to the step: G's loss on the TOP_K fakes D rates highest (Sinha et al. 2020), or
R1, D's squared slope at real images in its loss (Mescheder et al. 2018): ``recipe_probe.py dcgan_r1 90 RUN_FOLDER``.
Everything else is the shipped DCGAN's (or, for ``projection``, conditional GAN's) run (the tutorial's network size, a moving average of G with
decay 0.999, batch 128, seed 0), trained by the core loop with a checkpoint every epoch into
``probes/NAME/`` beside this file, resuming when run again. Its history's ``frechet`` (1,000 samples,
the average's) compares epoch by epoch with the shipped record's ``history["frechet"]``.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import gan_helpers as gh
from gan_extras import averaging as avg
from gan_extras import conditional as cond
from gan_extras import dynamics as dyn
from gan_extras import evaluation as ev

VARIANTS = {"wide_d": (2e-4, 2e-4), "ttur": (1e-4, 4e-4), "info": (2e-4, 2e-4), "projection": (2e-4, 2e-4),
            "cond_mbstd": (2e-4, 2e-4), "cond_no_dropout": (2e-4, 2e-4),
            "dcgan_topk": (2e-4, 2e-4), "dcgan_r1": (2e-4, 2e-4)}  # (G's learning rate, D's)
#: Probes that go on from one of train.py's run folders in f4e68f5 with one change, each → (its run, the
#: epochs of cool-down it ends with). The conditional ones end as train.py's did (epoch 70, 4 epochs of
#: cool-down), so they compare with the shipped run epoch for epoch. The DCGAN ones go on from epoch 60 at
#: the constant rate, so they compare with the shipped run's precision at that rate (0.71-0.72, epochs 37-60).
WARM = {"cond_mbstd": ("conditional", 4), "cond_no_dropout": ("conditional", 4),
        "dcgan_topk": ("dcgan", 0), "dcgan_r1": ("dcgan", 0)}
TOP_K = 64  # dcgan_topk: G learns from the half of each batch of 128 that D rates most real
R1_GAMMA = 0.1  # dcgan_r1: γ of the penalty γ/2·E‖∇x D(x)‖² on real images (E‖∇x D‖² was 3.0 at epoch 60)
CODES = 10  # the categorical code's values: which of z's first CODES entries is largest
INFO_WEIGHT = 1.0  # λ of the code's cross-entropy, InfoGAN's for a categorical code
PROBES = Path(__file__).resolve().parent / "probes"
SHIPPED = ("dcgan", "conditional")  # train.py's runs, which ``evaluate`` also reads


def wide_discriminator() -> keras.Model:
    """The DCGAN discriminator with twice the channels and no Dropout."""
    layers = keras.layers
    return keras.Sequential([
        keras.Input((28, 28, 1), name="image"),
        layers.Conv2D(128, 5, strides=2, padding="same", name="conv_14x14x128"), layers.LeakyReLU(0.2),
        layers.Conv2D(256, 5, strides=2, padding="same", name="conv_7x7x256"), layers.LeakyReLU(0.2),
        layers.Flatten(), layers.Dense(1, name="logit", dtype="float32")], name="wide_discriminator")


def projection_discriminator() -> keras.Model:
    """(image, digit) → logit: the DCGAN discriminator's features h, and ``Dense(1)(h) + <embed(digit), h>``."""
    layers = keras.layers
    image = keras.Input((28, 28, 1), name="image")
    label = keras.Input((), dtype="int32", name="label")
    h = layers.Conv2D(64, 5, strides=2, padding="same", name="conv_14x14x64")(image)
    h = layers.Dropout(0.3)(layers.LeakyReLU(0.2)(h))
    h = layers.Conv2D(128, 5, strides=2, padding="same", name="conv_7x7x128")(h)
    h = layers.Flatten()(layers.Dropout(0.3)(layers.LeakyReLU(0.2)(h)))
    embedded = layers.Embedding(gh.N_CLASSES, h.shape[-1], name="label_projection")(label)
    projected = layers.Dot(axes=1, name="label_times_features")([embedded, h])
    return keras.Model([image, label], layers.Add(name="logit")([layers.Dense(1, name="unconditional")(h), projected]),
                       name="projection_discriminator")


def info_generator() -> keras.Model:
    """z → the tutorial-size G of (z, one_hot(argmax(z[:10]))), the code made by built-in layers."""
    layers = keras.layers
    z = keras.Input((gh.LATENT_DIM,), name="z")
    pick = layers.Dense(CODES, use_bias=False, trainable=False, name="first_entries_of_z")
    first = pick(z)
    pick.set_weights([np.eye(gh.LATENT_DIM, CODES, dtype="float32")])
    code = layers.Softmax(name="code")(layers.Rescaling(100.0, name="sharpen")(first))  # ≈ one-hot
    body = gh.build_generator(gh.LATENT_DIM + CODES, kernel_size=5, projection_channels=256)
    return keras.Model(z, body(layers.Concatenate(name="z_and_code")([z, code])), name="info_generator")


def info_discriminator() -> keras.Model:
    """The DCGAN discriminator with a second head: logits of G's code."""
    layers = keras.layers
    image = keras.Input((28, 28, 1), name="image")
    h = layers.Conv2D(64, 5, strides=2, padding="same", name="conv_14x14x64")(image)
    h = layers.Dropout(0.3)(layers.LeakyReLU(0.2)(h))
    h = layers.Conv2D(128, 5, strides=2, padding="same", name="conv_7x7x128")(h)
    h = layers.Flatten()(layers.Dropout(0.3)(layers.LeakyReLU(0.2)(h)))
    return keras.Model(image, [layers.Dense(1, name="logit")(h), layers.Dense(CODES, name="code_logits")(h)],
                       name="info_discriminator")


def apply_step(state: gh.GANState, g_part: tuple, d_part: tuple, real_logits: tf.Tensor,
               fake_logits: tf.Tensor, **extra: tf.Tensor) -> dict[str, tf.Tensor]:
    """The end of a probe's step: each player's (tape, loss) applied, and the core step's figures plus ``extra``."""
    (g_tape, g_loss), (d_tape, d_loss) = g_part, d_part
    g, d = state.generator, state.discriminator
    g_grads = g_tape.gradient(g_loss, g.trainable_variables)
    d_grads = d_tape.gradient(d_loss, d.trainable_variables)
    state.g_optimizer.apply_gradients(zip(g_grads, g.trainable_variables))
    state.d_optimizer.apply_gradients(zip(d_grads, d.trainable_variables))
    return {"g_loss": g_loss, "d_loss": d_loss, **extra,
            "d_real": tf.reduce_mean(tf.sigmoid(real_logits)), "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits)),
            "g_grad_norm": tf.linalg.global_norm(g_grads), "d_grad_norm": tf.linalg.global_norm(d_grads)}


def make_info_step(state: gh.GANState):
    """The core step plus the code's cross-entropy in both players' losses."""
    g, d, rng = state.generator, state.discriminator, state.rng

    @tf.function
    def info_step(real_images: tf.Tensor) -> dict[str, tf.Tensor]:
        z = rng.normal([tf.shape(real_images)[0], gh.LATENT_DIM])
        codes = tf.argmax(z[:, :CODES], axis=1)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake_images = g(z, training=True)
            real_logits, _ = d(real_images, training=True)
            fake_logits, code_logits = d(fake_images, training=True)
            info = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(codes, code_logits, from_logits=True))
            g_loss = gh.generator_loss(fake_logits) + INFO_WEIGHT * info
            d_loss = gh.discriminator_loss(real_logits, fake_logits) + INFO_WEIGHT * info
        return apply_step(state, (g_tape, g_loss), (d_tape, d_loss), real_logits, fake_logits, info_loss=info)

    return info_step


def top_k_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """G's loss on the TOP_K fakes D rates most real (Sinha et al. 2020): its worst ones push it no more."""
    k = tf.minimum(TOP_K, tf.shape(fake_logits)[0])
    return gh.generator_loss(tf.math.top_k(tf.reshape(fake_logits, [-1]), k).values[:, None])


def make_r1_step(state: gh.GANState):
    """The core step plus R1 (Mescheder et al. 2018): D pays for a steep slope at real images."""
    g, d, rng = state.generator, state.discriminator, state.rng

    @tf.function
    def r1_step(real_images: tf.Tensor) -> dict[str, tf.Tensor]:
        z = rng.normal([tf.shape(real_images)[0], gh.LATENT_DIM])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            with tf.GradientTape() as x_tape:  # inside d_tape, so the slope's own gradient reaches D
                x_tape.watch(real_images)
                real_logits = d(real_images, training=True)
            slope = x_tape.gradient(real_logits, real_images)  # each logit depends on its own image only
            r1 = tf.reduce_mean(tf.reduce_sum(tf.square(slope), axis=[1, 2, 3]))
            fake_images = g(z, training=True)
            fake_logits = d(fake_images, training=True)
            g_loss = gh.generator_loss(fake_logits)
            d_loss = gh.discriminator_loss(real_logits, fake_logits) + 0.5 * R1_GAMMA * r1
        return apply_step(state, (g_tape, g_loss), (d_tape, d_loss), real_logits, fake_logits, r1=r1)

    return r1_step


def shipped_state(architecture: str = "conditional") -> avg.AveragedState:
    """A fresh state of one of train.py's runs (seed 0), into which its checkpoints restore."""
    keras.utils.set_random_seed(0)
    return avg.new_averaged_state(architecture, avg.EMA_DECAY, kernel_size=5, projection_channels=256)


def with_changed_discriminator(name: str, state: avg.AveragedState) -> avg.AveragedState:
    """``state`` with a warm probe's change to D: no Dropout, or a minibatch std feature (and a new Adam for D)."""
    if name not in ("cond_no_dropout", "cond_mbstd"):  # the DCGAN probes change the step, not D
        return state
    if name == "cond_no_dropout":  # the same weights and optimizer; only the layers' rate changes
        for layer in state.discriminator.layers:
            if isinstance(layer, keras.layers.Dropout):
                layer.rate = 0.0
        return state
    discriminator = dyn.with_minibatch_std(state.discriminator)  # 10's layer, before a logit of 6,273 inputs
    d_optimizer = gh.make_optimizer()
    d_optimizer.build(discriminator.trainable_variables)
    return dataclasses.replace(state, discriminator=discriminator, d_optimizer=d_optimizer)


def warm_settings(name: str, epochs: int) -> dict[str, object]:
    """config.json's settings of a warm probe: the shipped run's, plus what changed and where it started."""
    architecture, cool_down = WARM[name]
    return {"ema_decay": avg.EMA_DECAY, "cool_down_epochs": cool_down, "variant": name,
            "lr_g": VARIANTS[name][0], "lr_d": VARIANTS[name][1], "epochs": epochs,
            "warm_start": f"the shipped {architecture} run's checkpoint in commit f4e68f5"}


def warm_start(name: str, source: Path, epochs: int) -> Path:
    """``probes/NAME``: a copy of train.py's run folder ``source``, its checkpoint converted to NAME's D."""
    out = PROBES / name
    if out.exists():
        return out
    epoch = gh.checkpoint_epochs(source)[-1]
    state = shipped_state(WARM[name][0])
    state.checkpoint().restore(str(source / "checkpoints" / f"ckpt-{epoch}")).assert_existing_objects_matched()
    if name == "cond_mbstd":  # D's output is unchanged at the start: the new input's weight is 0
        kernel, bias = state.discriminator.get_layer("logit").get_weights()
    state = with_changed_discriminator(name, state)
    if name == "cond_mbstd":
        state.discriminator.get_layer("logit").set_weights([np.vstack([kernel, np.zeros((1, 1))]), bias])
    staging = out.with_name(name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging, ignore=shutil.ignore_patterns("checkpoints", "*.lock", "evaluations.json"))
    tf.train.CheckpointManager(state.checkpoint(), str(staging / "checkpoints"), max_to_keep=None) \
        .save(checkpoint_number=epoch)
    config = {**gh.load_config(staging), **warm_settings(name, epochs)}
    gh._atomic_write_json(staging / "config.json", config)
    staging.rename(out)
    return out


def train_warm(name: str, epochs: int, source: Path) -> None:
    """Go on from ``source`` (train.py's run folder) to ``epochs`` with NAME's change, and its cool-down if any."""
    gh.quiet_tensorflow()
    out = warm_start(name, source, epochs)
    state, step = probe_state(name)
    (x, y), _ = gh.load_mnist()
    architecture, cool_down = WARM[name]
    if cool_down:
        steps = avg._steps_per_epoch({"x_train": x})  # as train_averaged counts them
        schedule = avg.cool_down_schedule(VARIANTS[name][0], (epochs - cool_down) * steps, cool_down * steps)
        step = avg.make_cool_down_step(step, state, schedule)
    compare = avg.comparison_callback(x[:1_000], n=1_000, every=1, path=out / "comparison.json")
    gh.train(out, epochs=epochs, kernel_size=5, projection_channels=256, state=state, step=step,
             checkpoint_every=1, x_train=x, y_train=y if architecture == "conditional" else None, verbose=2,
             architecture=architecture, callbacks=[compare], settings=warm_settings(name, epochs))


def probe_state(name: str) -> tuple[avg.AveragedState, object]:
    """The probe's models, optimizers and average (seed 0), and its averaging train step."""
    if name not in VARIANTS:
        raise SystemExit(f"usage: recipe_probe.py [evaluate] {{{'|'.join(VARIANTS)}}} EPOCHS, got {name!r}")
    lr_g, lr_d = VARIANTS[name]
    if name in WARM:
        state = with_changed_discriminator(name, shipped_state(WARM[name][0]))
        pieces = (state.generator, state.discriminator, state.g_optimizer, state.d_optimizer, state.rng)
        core = (make_r1_step(state) if name == "dcgan_r1"
                else gh.make_train_step(*pieces, g_loss_fn=top_k_generator_loss) if name == "dcgan_topk"
                else cond.make_conditional_step(*pieces))
        return state, avg.make_averaging_step(core, state)
    keras.utils.set_random_seed(0)
    if name == "projection":
        state = gh.new_gan_state(generator=cond.build_conditional_generator(kernel_size=5, projection_channels=256),
                                 discriminator=projection_discriminator(),
                                 optimizers=(gh.make_optimizer(lr_g), gh.make_optimizer(lr_d)))
        state = avg.with_averaging(state, avg.EMA_DECAY)
        core = cond.make_conditional_step(state.generator, state.discriminator, state.g_optimizer,
                                          state.d_optimizer, state.rng)
        return state, avg.make_averaging_step(core, state)
    g, d = gh.build_pair("dcgan", gh.LATENT_DIM, kernel_size=5, projection_channels=256)
    g, d = (info_generator(), info_discriminator()) if name == "info" else (g, d)
    state = gh.new_gan_state(discriminator=wide_discriminator() if name == "wide_d" else d, generator=g,
                             optimizers=(gh.make_optimizer(lr_g), gh.make_optimizer(lr_d)))
    state = avg.with_averaging(state, avg.EMA_DECAY)
    core = make_info_step(state) if name == "info" else gh.make_train_step(
        state.generator, state.discriminator, state.g_optimizer, state.d_optimizer, state.rng)
    return state, avg.make_averaging_step(core, state)


def main(name: str, epochs: int) -> None:
    """Train (or resume) the probe ``name`` for ``epochs`` epochs."""
    gh.quiet_tensorflow()
    state, step = probe_state(name)
    lr_g, lr_d = VARIANTS[name]  # recorded in config.json
    (x, y), _ = gh.load_mnist()
    gh.train(PROBES / name, epochs=epochs, kernel_size=5, projection_channels=256, state=state, step=step,
             checkpoint_every=1, x_train=x, y_train=y if name == "projection" else None, verbose=2,
             architecture="conditional" if name == "projection" else "dcgan",
             callbacks=[ev.frechet_callback(x[:1_000], 1_000, 1, 1234, epochs)],
             settings={"ema_decay": avg.EMA_DECAY, "variant": name, "lr_g": lr_g, "lr_d": lr_d})


def evaluate(name: str, epoch: int, run: Path | None = None) -> None:
    """Evaluate a run's average and G's own weights at ``epoch`` (n = 10,000); print and save them.

    ``name`` is a probe (its run in ``probes/NAME``) or one of train.py's runs, ``dcgan`` or
    ``conditional`` (beside this file); ``run`` is another folder of that run, e.g. one restored
    from git history.
    """
    gh.quiet_tensorflow()
    if name in SHIPPED:
        state = shipped_state(name)
    else:
        state, _ = probe_state(name)
    run = run or (PROBES.parent / name if name in SHIPPED else PROBES / name)
    checkpoint = tf.train.Checkpoint(generator=state.generator, average_generator=state.average)
    checkpoint.restore(str(run / "checkpoints" / f"ckpt-{epoch}")).expect_partial() \
        .assert_existing_objects_matched()
    _, (x_test, _) = gh.load_mnist()
    figures = {}
    for label, g in (("averaged", state.average), ("generator", state.generator)):
        # evaluate_generator's "generator" figures, without its real-vs-real floor each time
        result = ev.evaluate_images(gh.sample_digits(g, 10_000, 0), x_test[:10_000])
        figures[label] = {k: result[k] for k in ("frechet_distance", "precision", "recall")}
        print(name, epoch, label, {k: round(v, 3) for k, v in figures[label].items()}, flush=True)
    if name in ("projection", "conditional") or WARM.get(name, ("",))[0] == "conditional":  # every digit right: 08's per-digit accuracy, 1,000 of each
        per_digit = cond.evaluate_conditional(state.average, 1_000)
        figures["averaged"].update(min_accuracy=per_digit["min_accuracy"], accuracy=per_digit["accuracy"])
        print(name, epoch, "per-digit accuracy", [round(a, 3) for a in per_digit["accuracy"]], flush=True)
    if name == "info":  # which digit each value of the code draws: ten clean columns mean ten digits found
        figures["code_digits"] = code_digits(state.average)
        print(name, epoch, "digits by code", figures["code_digits"], flush=True)
    path = run / "evaluations.json"
    saved = gh._read_json(path) if path.is_file() else {}
    gh._atomic_write_json(path, {**saved, str(epoch): figures})


def code_digits(generator: keras.Model, n: int = 1_000) -> list[dict[str, float]]:
    """For each code value: the digit the classifier reads most often in n samples, and its share."""
    rows = []
    for c in range(CODES):
        z = gh.latent_vectors(n, gh.LATENT_DIM, seed=c)
        first = z[:, :CODES].copy()
        top = first.argmax(1)  # swap the largest of the first entries into place c: argmax becomes c
        each = np.arange(n)
        largest = first[each, top].copy()
        first[each, top] = first[:, c].copy()
        first[:, c] = largest
        z[:, :CODES] = first
        digits = ev.classifier_probabilities(gh.generate(generator, z)).argmax(1)
        counts = np.bincount(digits, minlength=10)
        rows.append({"code": c, "digit": int(counts.argmax()), "share": round(float(counts.max() / n), 3)})
    return rows

if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["evaluate"]:
        evaluate(args[1] if len(args) > 1 else "", int(args[2]) if len(args) > 2 else 30,
                 Path(args[3]) if len(args) > 3 else None)
    elif args[:1] and args[0] in WARM:
        if len(args) != 3:
            raise SystemExit(f"usage: recipe_probe.py {args[0]} EPOCHS RUN_FOLDER (train.py's {WARM[args[0]][0]} run, f4e68f5's)")
        train_warm(args[0], int(args[1]), Path(args[2]))
    else:
        main(args[0] if args else "", int(args[1]) if len(args) > 1 else 30)
