"""Training runs in separate processes: resume after SIGKILL, and two-worker training."""

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
from conftest import TINY_MODEL

from pixinpix_tf.nets.model import PixInPix
from pixinpix_tf.nets.train import HealthCheck, RecalibrateBatchNorm

pytestmark = pytest.mark.slow


def train_command(out, covers, secrets, *extra):
    return [sys.executable, "-m", "pixinpix_tf.cli", "train", "--preset", "tiny", "--cover", covers,
            "--secret", secrets, "--secret-channels", "1", "--out", str(out), "--verbose", "2", *extra]


def history_epochs(out):
    with (out / "history.csv").open() as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def test_killed_run_resumes_at_the_next_epoch_and_loses_none(tmp_path, image_folders):
    out = tmp_path / "run"
    command = train_command(out, *image_folders, "--epochs", "3", "--train-size", "640")
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    metadata = out / "backup" / "training_metadata.json"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and first.poll() is None:
        if metadata.exists() and json.loads(metadata.read_text() or "{}").get("epoch", 0) >= 1:
            break
        time.sleep(0.05)
    assert first.poll() is None, "the first run ended before it could be killed:\n" + first.stdout.read()[-2000:]
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert 0 in history_epochs(out)

    second = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "Epoch 1/3" not in second.stdout and "Epoch 2/3" in second.stdout
    epochs = history_epochs(out)
    assert sorted(set(epochs)) == [0, 1, 2]  # no finished epoch lost
    assert (out / "last.keras").exists() and (out / "best.keras").exists()


def test_rerunning_with_other_options_is_refused(tmp_path, image_folders):
    out = tmp_path / "run"
    assert subprocess.run(train_command(out, *image_folders), capture_output=True, timeout=300).returncode == 0
    again = subprocess.run(train_command(out, *image_folders, "--learning-rate", "0.5"), capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 2 and "differs in: learning_rate" in again.stderr


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_train_one_epoch_and_the_chief_writes_the_model(tmp_path, image_folders):
    out = tmp_path / "run"
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    processes = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps({"cluster": {"worker": workers},
                                                    "task": {"type": "worker", "index": index}}))
        command = train_command(out, *image_folders, "--strategy", "multi-worker", "--epochs", "1")
        processes.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                          text=True))
    outputs = [p.communicate(timeout=300)[0] for p in processes]
    for p, output in zip(processes, outputs):
        assert p.returncode == 0, output[-3000:]
    assert (out / "last.keras").exists() and (out / "config.json").exists()
    assert history_epochs(out) == [0]
    assert not (out / ".worker-1").exists()  # the other worker cleaned up its scratch folder


def test_mirrored_strategy_trains_and_writes_the_run(tmp_path, image_folders):
    out = tmp_path / "run"
    result = subprocess.run(train_command(out, *image_folders, "--strategy", "mirrored"), capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (out / "last.keras").exists() and history_epochs(out) == [0]


def test_a_diverging_run_stops_with_exit_code_1(tmp_path, image_folders):
    out = tmp_path / "run"
    result = subprocess.run(train_command(out, *image_folders, "--optimizer", "sgd", "--learning-rate", "1e12",
                                          "--epochs", "3"), capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "NaN" in result.stderr.splitlines()[-1] and "Traceback" not in result.stderr
    assert history_epochs(out) == [0]  # stopped in the first epoch


def test_a_runs_best_keras_loads_compiled_with_keras_after_importing_the_model_and_training_continues(
        tmp_path, image_folders):
    out = tmp_path / "run"
    assert subprocess.run(train_command(out, *image_folders), capture_output=True, timeout=300).returncode == 0
    script = (  # what the README says: import pixinpix_tf.nets.model, then plain Keras
        "import keras, numpy as np\n"
        "import pixinpix_tf.nets.model\n"
        f"model = keras.models.load_model(r'{out / 'best.keras'}')\n"
        "assert model.compiled and type(model).__name__ == 'PixInPix'\n"
        "rng = np.random.default_rng(0)\n"
        "x = {'cover': rng.random((16, 16, 16, 3), dtype=np.float32), "
        "'secret': rng.random((16, 16, 16, 1), dtype=np.float32)}\n"
        "logs = model.fit(x, {'stego': x['cover'], 'revealed': x['secret']}, epochs=1, verbose=0).history\n"
        "assert {'loss', 'stego_psnr', 'revealed_ssim'} <= set(logs), logs\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    bare = subprocess.run([sys.executable, "-c",
                           f"import keras, pixinpix_tf; keras.models.load_model(r'{out / 'best.keras'}')"],
                          capture_output=True, text=True, timeout=300)
    assert bare.returncode != 0 and "PixInPix" in bare.stderr  # Keras cannot find the class: as the README says


def test_init_from_starts_from_another_models_weights_and_refuses_a_mismatch(tmp_path, image_folders):
    import keras
    import numpy as np

    from pixinpix_tf.config import get_preset
    from pixinpix_tf.errors import ConfigError
    from pixinpix_tf.nets.train import run

    covers, secrets = image_folders
    cfg = get_preset("tiny").replace(cover=covers, secret=secrets)
    run(cfg, tmp_path / "first", verbose=0)
    start = keras.models.load_model(tmp_path / "first" / "last.keras", compile=False)
    # A learning rate of 1e-12 leaves the copied weights where they were.
    run(cfg.replace(init_from=str(tmp_path / "first"), learning_rate=1e-12), tmp_path / "second", verbose=0)
    continued = keras.models.load_model(tmp_path / "second" / "last.keras", compile=False)
    for before, after in zip(start.trainable_weights, continued.trainable_weights):
        np.testing.assert_allclose(np.asarray(before), np.asarray(after), atol=1e-6)
    # A wider run (more base filters) starts from the narrower model's function.
    run(cfg.replace(init_from=str(tmp_path / "first"), base_filters=8, learning_rate=1e-12), tmp_path / "wider",
        verbose=0)
    wider = keras.models.load_model(tmp_path / "wider" / "last.keras", compile=False)
    probe = _probe()
    for key in ("stego", "revealed"):
        np.testing.assert_allclose(np.asarray(wider(probe)[key]), np.asarray(start(probe)[key]), atol=1e-4)
    for other in ({"base_filters": 2}, {"depth": 1}):
        with pytest.raises(ConfigError, match="architecture"):
            run(cfg.replace(init_from=str(tmp_path / "first"), **other), tmp_path / "third", verbose=0)
    with pytest.raises(ConfigError, match="--init-from: .*no such run directory"):
        run(cfg.replace(init_from=str(tmp_path / "missing")), tmp_path / "fourth", verbose=0)
    assert not (tmp_path / "third").exists() and not (tmp_path / "fourth").exists()


def test_train_only_one_network_keeps_the_others_weights(tmp_path, image_folders):
    from pixinpix_tf.config import get_preset
    from pixinpix_tf.nets.train import run

    covers, secrets = image_folders
    cfg = get_preset("tiny").replace(cover=covers, secret=secrets, batch_norm=True)
    run(cfg, tmp_path / "first", verbose=0)
    start = keras.models.load_model(tmp_path / "first" / "last.keras", compile=False)
    for network in ("hider", "revealer"):
        run(cfg.replace(init_from=str(tmp_path / "first"), train_only=network), tmp_path / network, verbose=0)
        trained = keras.models.load_model(tmp_path / network / "last.keras", compile=False)
        kept = "revealer" if network == "hider" else "hider"
        for before, after in zip(getattr(start, kept).weights, getattr(trained, kept).weights):  # incl. batch norm
            np.testing.assert_array_equal(np.asarray(before), np.asarray(after))
        changed = [not np.allclose(np.asarray(b), np.asarray(a)) for b, a in
                   zip(getattr(start, network).trainable_weights, getattr(trained, network).trainable_weights)]
        assert all(changed)


def _probe(n=8, size=16):
    rng = np.random.default_rng(0)
    return {"cover": rng.random((n, size, size, 3), np.float32), "secret": rng.random((n, size, size, 3), np.float32)}


def _checks(model, probe, count):
    check = HealthCheck(probe, every=1, patience=3)
    check.set_model(model)
    for step in range(count):
        check.on_train_batch_end(step)
    return check


def test_without_the_health_check_a_collapsed_run_trains_every_epoch(tmp_path, image_folders, monkeypatch):
    from pixinpix_tf.config import get_preset
    from pixinpix_tf.errors import TrainingFailed
    from pixinpix_tf.nets.train import run

    covers, secrets = image_folders
    cfg = get_preset("tiny").replace(cover=covers, secret=secrets, epochs=2, batch_size=2, train_size=640)
    # every probe looks collapsed; the check runs every 100 steps and stops at the third flat one
    monkeypatch.setattr(HealthCheck, "_std_ratio", lambda self, training: 0.0)
    with pytest.raises(TrainingFailed, match="collapsed"):
        run(cfg, tmp_path / "checked", verbose=0)
    assert history_epochs(tmp_path / "checked") == [0]
    run(cfg, tmp_path / "unchecked", verbose=0, health_check=False)
    assert history_epochs(tmp_path / "unchecked") == [0, 1]


def test_a_revealer_that_outputs_a_constant_stops_training_as_collapsed():
    model = PixInPix(**TINY_MODEL, batch_norm=True)
    last = model.revealer.layers[-2]  # the 1x1 convolution before the sigmoid
    last.set_weights([np.zeros_like(w) for w in last.get_weights()])
    check = _checks(model, _probe(), 3)
    assert model.stop_training and "collapsed to a constant output" in check.problem


def test_batch_norm_lagging_moving_statistics_are_not_a_collapse():
    model = PixInPix(**TINY_MODEL, batch_norm=True)
    for layer in model.revealer.layers:
        if isinstance(layer, keras.layers.BatchNormalization):  # inference output flat, training output varies
            layer.moving_variance.assign(np.full(layer.moving_variance.shape, 1e12, np.float32))
    probe = _probe()
    flat = keras.ops.convert_to_numpy(model(probe, training=False)["revealed"])
    assert np.std(flat, axis=0).mean() < 0.05 * np.std(probe["secret"], axis=0).mean()
    before = [v.numpy() for v in model.non_trainable_variables]
    check = _checks(model, probe, 5)
    assert check.problem is None and not getattr(model, "stop_training", False)
    for variable, value in zip(model.non_trainable_variables, before):
        np.testing.assert_array_equal(variable.numpy(), value)  # the check leaves the moving statistics alone


def test_recalibrated_batch_norm_statistics_make_inference_match_training_mode():
    import tensorflow as tf

    model = PixInPix(**TINY_MODEL, batch_norm=True)
    batch_norms = [layer for net in (model.hider, model.revealer) for layer in net.layers
                   if isinstance(layer, keras.layers.BatchNormalization)]
    for layer in batch_norms:  # statistics far from the data's, as a lagging average can be
        layer.moving_mean.assign(np.full(layer.moving_mean.shape, 3.0, np.float32))
    probe = _probe()
    training = keras.ops.convert_to_numpy(model(probe, training=True)["revealed"])
    assert np.abs(keras.ops.convert_to_numpy(model(probe, training=False)["revealed"]) - training).max() > 0.05
    pairs = tf.data.Dataset.from_tensors((probe, probe)).repeat()
    callback = RecalibrateBatchNorm(pairs, batches=3)
    callback.set_model(model)
    callback.on_test_begin()
    inference = keras.ops.convert_to_numpy(model(probe, training=False)["revealed"])
    np.testing.assert_allclose(inference, training, atol=1e-4)
    assert all(layer.momentum == 0.99 for layer in batch_norms)


def test_a_run_may_start_from_a_model_of_another_tile_size_secret_scale_or_layout_but_not_shape(tmp_path):
    from conftest import TINY_TILE_MODEL, save_tiny_model

    from pixinpix_tf.config import Config, ConfigError, ModelConfig
    from pixinpix_tf.nets.train import _start_model

    start = save_tiny_model(tmp_path / "start.keras")
    same_weights = ModelConfig(**{**TINY_TILE_MODEL, "image_size": 64, "secret_scale": 2, "whole_image": True})
    model = _start_model(Config(model=same_weights, init_from=str(start)))
    assert model.image_size == 32  # the starting model as saved; its weights fit the new run's networks
    with pytest.raises(ConfigError, match="differs from this run"):
        _start_model(Config(model=ModelConfig(**{**TINY_TILE_MODEL, "depth": 1}), init_from=str(start)))
