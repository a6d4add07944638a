"""The speed settings of README "Speed" (gan_extras/speed.py, 11_training_faster): network size,
precision, XLA and tf.distribute.

How fast each setting is, is measured by benchmarks/train_speed.py (`make bench-train`),
never asserted here; these tests check that each setting trains what it should.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import gan_helpers as gh
from gan_extras import conditional as cond
from gan_extras import speed

ROOT = Path(__file__).resolve().parent.parent


def _mnist(n: int = 512):
    (x, y), _ = gh.load_mnist()
    return x[:n], y[:n]


def test_default_size_and_the_tutorials():
    """4×4 kernels and a 7×7×128 projection by default; kernel_size=5, projection_channels=256 is the tutorial's DCGAN."""
    g, d = gh.build_pair()
    assert (g.count_params(), d.count_params()) == (1_047_297, 138_561)
    assert g.get_layer("deconv_7x7x128").kernel.shape == (4, 4, 128, 128)
    assert g.get_layer("to_7x7x128").output.shape == (None, 7, 7, 128)
    g5, d5 = gh.build_pair(kernel_size=5, projection_channels=256)
    assert (g5.count_params(), d5.count_params()) == (2_330_945, 212_865)
    assert g5.get_layer("deconv_7x7x128").kernel.shape == (5, 5, 128, 256)  # (k, k, out, in)
    cg, cd = cond.build_conditional_generator(kernel_size=5), cond.build_conditional_discriminator(kernel_size=5)
    assert cg.get_layer("deconv_14x14x64").kernel.shape[:2] == (5, 5) and cd.get_layer("conv_7x7x128").kernel.shape[:2] == (5, 5)
    vg, vd = gh.build_pair("vanilla", kernel_size=5)  # the fully connected pair has no kernels: same networks
    assert (vg.count_params(), vd.count_params()) == (1_486_352, 1_460_225)


def test_size_is_recorded_and_old_runs_resume_as_they_were(tmp_path):
    x, _ = _mnist(256)
    run = tmp_path / "r"
    gh.train(run, epochs=1, x_train=x, batch_size=128, verbose=0, kernel_size=5, projection_channels=256)
    config = json.loads((run / "config.json").read_text())
    assert (config["kernel_size"], config["projection_channels"]) == (5, 256)
    with pytest.raises(ValueError, match="kernel_size: saved 5, now 4"):
        gh.train(run, epochs=2, x_train=x, batch_size=128, verbose=0, projection_channels=256)

    # A run saved before the size was a setting (no keys in config.json) was the tutorial's size.
    del config["kernel_size"], config["projection_channels"]
    (run / "config.json").write_text(json.dumps(config))
    assert gh.load_generator_from_checkpoint(run).get_layer("deconv_7x7x128").kernel.shape == (5, 5, 128, 256)
    resumed = gh.train(run, epochs=2, x_train=x, batch_size=128, verbose=0, kernel_size=5, projection_channels=256)
    assert resumed.resumed_from == 1 and resumed.history["epoch"] == [1, 2]


# float16 is for GPUs: on this CPU a vanilla step at batch 128 takes 26 s (no fast float16 gradient kernels),
# so the float16 cases use the fully connected pair and batches of 8.
@pytest.mark.parametrize("precision, architecture, hidden", [("mixed_bfloat16", "dcgan", "deconv_7x7x128"),
                                                             ("mixed_float16", "vanilla", "dense2_512")])
def test_mixed_precision_trains_and_keeps_float32_outputs(precision, architecture, hidden):
    state = speed.new_fast_state(precision=precision, architecture=architecture)
    g, d = state.generator, state.discriminator
    assert g.get_layer(hidden).compute_dtype == precision.split("_")[1]
    assert all(v.dtype == "float32" for v in g.trainable_variables + d.trainable_variables), "weights stay float32"
    assert g.layers[-1].compute_dtype == "float32", "pixels in float32"
    assert d.get_layer("logit").compute_dtype == "float32"
    assert isinstance(state.g_optimizer, keras.optimizers.LossScaleOptimizer) == (precision == "mixed_float16")
    assert keras.config.dtype_policy().name == "float32", "building restores Keras's global policy"
    step = speed.make_fast_step(state)  # scales the loss for mixed_float16's LossScaleOptimizer
    before = [w.copy() for w in g.get_weights()]
    for _ in range(2):
        values = {k: float(v) for k, v in step(tf.random.uniform([8, 28, 28, 1], -1, 1)).items()}
    assert all(math.isfinite(v) for v in values.values()), values
    assert 0.2 < values["d_real"] < 0.8 and 0.2 < values["g_loss"] < 2.0, values
    assert any(not np.array_equal(a, b) for a, b in zip(before, g.get_weights())), "the generator was updated"
    assert gh.generate(g, gh.latent_vectors(3)).dtype == np.float32


def test_a_run_resumes_in_another_precision(tmp_path):
    """Precision changes speed, not what is trained: a float16 (GPU) run continues in float32 (CPU)."""
    x, _ = _mnist(16)
    options = dict(x_train=x, batch_size=8, verbose=0, architecture="vanilla")
    speed.train_fast(tmp_path / "r", epochs=1, precision="mixed_float16", **options)
    assert json.loads((tmp_path / "r" / "config.json").read_text())["precision"] == "mixed_float16"
    run = speed.train_fast(tmp_path / "r", epochs=2, precision="float32", **options)
    assert run.resumed_from == 1 and int(run.state.g_optimizer.iterations) == 4, "Adam's state came back"
    assert json.loads((tmp_path / "r" / "config.json").read_text())["precision"] == "float32"


def test_default_precision_follows_the_device(monkeypatch):
    assert speed.default_precision() == "float32"  # this machine has no GPU; bfloat16 measured slower here
    monkeypatch.setattr(tf.config, "list_physical_devices",
                        lambda kind=None: ["/physical_device:GPU:0"] if kind == "GPU" else [])
    assert speed.default_precision() == "mixed_float16"


def test_default_strategy_spreads_over_several_gpus(monkeypatch):
    assert speed.default_strategy() is tf.distribute.get_strategy()  # one device here
    monkeypatch.setattr(tf.config, "list_logical_devices", lambda kind=None: ["GPU:0", "GPU:1"] if kind == "GPU" else [])
    monkeypatch.setattr(tf.distribute, "MirroredStrategy", lambda: "mirrored over every GPU")
    assert speed.default_strategy() == "mirrored over every GPU"


def test_xla_step_trains_like_the_plain_one():
    """jit_compile changes how the step runs, not what it computes. (Dropout's random masks differ
    under XLA, so the first step's values agree only as closely as two draws of the masks.)"""
    results = []
    for jit in (False, True):
        state = gh.new_gan_state(architecture="vanilla", seed=3)
        step = speed.make_fast_step(state, jit_compile=jit)
        batch = tf.random.stateless_uniform([64, 28, 28, 1], seed=[1, 2], minval=-1, maxval=1)
        before = state.generator.get_weights()[0].copy()
        results.append({k: float(v) for k, v in step(batch).items()})
        assert not np.array_equal(before, state.generator.get_weights()[0]), "the step updated G"
    assert results[0]["g_loss"] == pytest.approx(math.log(2), abs=0.1) == results[1]["g_loss"]
    assert results[0]["d_loss"] == pytest.approx(2 * math.log(2), abs=0.1) == results[1]["d_loss"]
    assert results[1]["d_grad_norm"] == pytest.approx(results[0]["d_grad_norm"], rel=0.3)
    with pytest.raises(TypeError, match="jit_compile"):
        state = gh.new_gan_state(architecture="vanilla")
        speed.make_fast_step(state, jit_compile="yes")



def test_cli_takes_the_speed_switches_and_a_run_resumes_without_them(tmp_path):
    """`--precision` and `--jit-compile` reach speed.train_fast and config.json; they are speed settings, so the
    same run resumes with the defaults (float32 here, no XLA) and records what it used last."""
    from gan_extras import cli  # the command line (python -m gan_helpers)

    out = str(tmp_path / "v")
    common = ["train", "--architecture", "vanilla", "--n-train", "128", "--out", out]
    assert cli.main([*common, "--epochs", "1", "--precision", "mixed_bfloat16", "--jit-compile"]) == 0
    config = json.loads((tmp_path / "v" / "config.json").read_text())
    assert (config["precision"], config["jit_compile"], config["replicas"]) == ("mixed_bfloat16", True, 1)
    assert cli.main([*common, "--epochs", "2"]) == 0
    config = json.loads((tmp_path / "v" / "config.json").read_text())
    assert (config["precision"], config["jit_compile"]) == ("float32", False)
    assert gh.load_history(out)["epoch"] == [1, 2]
    with pytest.raises(SystemExit):
        cli.main([*common, "--precision", "float64"])

DISTRIBUTED = textwrap.dedent("""
    import json, os, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import numpy as np
    import gan_helpers as gh
    from gan_extras import conditional as cond
    from gan_extras import speed

    out = sys.argv[1]
    (x, y), _ = gh.load_mnist()
    x, y = x[:256], y[:256]
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    report = {"replicas": strategy.num_replicas_in_sync}

    # The first step's losses and D's gradient, distributed and on one device, from the same start.
    batch = gh.to_float(x[:256])
    for name, s in (("mirrored", strategy), ("single", None)):
        state = speed.new_fast_state("float32", s, seed=5)  # built inside the strategy's scope
        step = speed.make_fast_step(state, strategy=s)
        source = strategy.experimental_distribute_values_from_function(
            lambda ctx: batch[ctx.replica_id_in_sync_group * 128:(ctx.replica_id_in_sync_group + 1) * 128]) if s else batch
        report[name] = {k: float(v) for k, v in step(source).items()}
        if s:
            kernel = state.generator.get_layer("project").kernel.value
            copies = [v.numpy() for v in kernel.values] if hasattr(kernel, "values") else [kernel.numpy()]
            report["copies"] = len(copies)
            report["copies_equal"] = all(np.array_equal(copies[0], c) for c in copies)

    # Through gh.train (speed.train_fast gives it the state, the step and the distributed dataset).
    run = speed.train_fast(out, epochs=1, x_train=x, batch_size=64, strategy=strategy, verbose=0)
    report["history"] = run.history
    report["config"] = json.load(open(os.path.join(out, "config.json")))
    resumed = speed.train_fast(out, epochs=2, x_train=x, batch_size=64, verbose=0)  # one device here
    report["resumed_from"], report["epochs"] = resumed.resumed_from, resumed.history["epoch"]
    report["resumed_replicas"] = json.load(open(os.path.join(out, "config.json")))["replicas"]
    try:
        speed.train_fast(out + "_odd", epochs=1, x_train=x, batch_size=63, strategy=strategy, verbose=0)
    except ValueError as error:
        report["odd_batch"] = str(error)
    # A conditional pair (08) trains on one device with its own step: make_fast_step refuses it by name.
    with strategy.scope():
        cond_state = gh.new_gan_state(generator=cond.build_conditional_generator(),
                                      discriminator=cond.build_conditional_discriminator())
    try:
        speed.make_fast_step(cond_state, strategy=strategy)
    except ValueError as error:
        report["conditional"] = str(error)
    print("REPORT " + json.dumps(report))
""")


def test_training_under_mirrored_strategy_on_two_cpu_halves(tmp_path):
    """tf.distribute: the CPU split into two logical devices stands in for two GPUs."""
    proc = subprocess.run([sys.executable, "-c", DISTRIBUTED, str(tmp_path / "run")], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("REPORT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    report = json.loads(lines[0][len("REPORT "):])
    assert report["replicas"] == 2 and report["copies"] == 2 and report["copies_equal"], "mirrored weights stay equal"
    mirrored, single = report["mirrored"], report["single"]
    # Losses are means over the whole batch, not halves or sums: an untrained pair starts near ln 2 and 2 ln 2.
    assert mirrored["g_loss"] == pytest.approx(math.log(2), abs=0.15) and mirrored["d_loss"] == pytest.approx(2 * math.log(2), abs=0.2)
    assert mirrored["d_real"] == pytest.approx(single["d_real"], abs=0.02), "same weights, same real images, same verdicts"
    # Gradients of the mean loss: a replica-count scaling error would be a factor of 2.
    for key in ("g_grad_norm", "d_grad_norm"):
        assert 0.7 < mirrored[key] / single[key] < 1.4, (key, mirrored[key], single[key])
    history = report["history"]
    assert history["epoch"] == [1] and all(math.isfinite(v) for v in history["g_loss"] + history["d_loss"])
    assert report["config"]["replicas"] == 2 and report["config"]["architecture"] == "dcgan"
    assert report["config"]["precision"] == "float32" and report["config"]["jit_compile"] is False
    assert report["resumed_from"] == 1 and report["epochs"] == [1, 2], "a distributed run resumes on one device"
    assert report["resumed_replicas"] == 1, "config.json records the replicas it used last"
    # make_fast_step is for an unconditional pair: a conditional state is refused with a clear error.
    assert "make_fast_step trains an unconditional pair" in report["conditional"]
    assert "gan_extras.conditional" in report["conditional"]
    assert "batch_size must split evenly" in report["odd_batch"] and "2 replicas" in report["odd_batch"]


def test_fast_step_in_float32_on_one_device_is_the_core_step():
    """make_fast_step (float32, one replica, no XLA) computes exactly what gh.make_train_step does:
    the same losses, beliefs and gradient norms, step after step, from the same seed and weights."""
    batch = tf.random.stateless_uniform([64, 28, 28, 1], seed=[1, 2], minval=-1, maxval=1)
    results, weights = {}, {}
    for name in ("core", "fast"):
        state = gh.new_gan_state(seed=7)
        if name == "core":
            step = gh.make_train_step(state.generator, state.discriminator, state.g_optimizer, state.d_optimizer,
                                      state.rng)
        else:
            step = speed.make_fast_step(state)
            assert step.distribute("a dataset") == "a dataset", "one replica: train's dataset passes unchanged"
        results[name] = [{k: float(v) for k, v in step(batch).items()} for _ in range(3)]
        weights[name] = state.generator.get_weights()
    assert set(results["fast"][0]) == set(results["core"][0]) == set(gh.HISTORY_KEYS[1:7])
    for core, fast in zip(results["core"], results["fast"]):
        for key in core:
            assert fast[key] == pytest.approx(core[key], rel=1e-5, abs=1e-7), (key, core[key], fast[key])
    for a, b in zip(weights["core"], weights["fast"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_speed_settings_are_recorded_and_checked_once(tmp_path):
    """train_fast records precision, replicas and jit_compile in config.json (gh.SPEED_SETTINGS)."""
    x, _ = _mnist(16)
    run = speed.train_fast(tmp_path / "r", epochs=1, x_train=x, batch_size=8, verbose=0, architecture="vanilla",
                           precision="auto")
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert {k: config[k] for k in gh.SPEED_SETTINGS} == {"precision": "float32", "replicas": 1, "jit_compile": False}
    assert run.history["epoch"] == [1] and config["architecture"] == "vanilla"
    with pytest.raises(ValueError, match="architecture must be one of"):
        speed.train_fast(tmp_path / "c", epochs=1, x_train=x, batch_size=8, architecture="conditional")
    with pytest.raises(TypeError, match="train_fast builds the state and step itself"):
        speed.train_fast(tmp_path / "s", epochs=1, x_train=x, batch_size=8, state=run.state)
