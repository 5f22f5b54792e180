"""Training with `model.fit`: compile, callbacks, resume, distribution strategies.

A run directory holds:
    config.json   the resolved Config
    best.keras    the model with the lowest validation loss
    last.keras    the model after the last finished epoch (the final model)
    history.csv   one row per epoch: losses, PSNR/SSIM of both outputs, images/s
    logs/         TensorBoard logs
    backup/       state for resuming (BackupAndRestore) after an interruption
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from pixinpix_tf.nets.distortion_layers import Channel, RampChannel
from pixinpix_tf.config import STRATEGIES, Config
from pixinpix_tf.nets.data import make_pairs
from pixinpix_tf.errors import ConfigError, ModelError, ModelNotFoundError, TrainingFailed
from pixinpix_tf.nets.detector import detector
from pixinpix_tf.nets.layers import (GradientReversal, Quantize8Bit, detection_loss, detector_accuracy, psnr, ssim,
                                     texture_weighted_mse)
from pixinpix_tf.inference.loading import load_model
from pixinpix_tf.nets.model import PixInPix, grow_weights


# Training pairs over which batch norm's statistics are recomputed before each validation (at most an epoch's).
RECALIBRATION_PAIRS = 6400


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The tf.distribute strategy called `name` (multi-worker reads TF_CONFIG)."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi-worker":
        if "TF_CONFIG" not in os.environ:
            raise ConfigError("--strategy multi-worker needs the TF_CONFIG environment variable")
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ConfigError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}")


def worker_role() -> tuple[bool, int]:
    """(is_chief, task index) from TF_CONFIG; a single process is the chief."""
    task = json.loads(os.environ.get("TF_CONFIG", "{}")).get("task", {})
    kind, index = task.get("type", "chief"), int(task.get("index", 0))
    return kind == "chief" or (kind == "worker" and index == 0 and not _has_chief()), index


def _has_chief() -> bool:
    return "chief" in json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})


def compile_model(model: keras.Model, cfg: Config, steps_per_epoch: int,
                  optimizer: keras.optimizers.Optimizer | None = None, adversary: bool = False) -> None:
    """Compile with the config's optimizer (or `optimizer`), schedule, losses and PSNR/SSIM metrics;
    with `adversary`, also the `detected` output of `with_adversary` (weight cfg.adversary)."""
    if optimizer is None:
        learning_rate = cfg.learning_rate
        if cfg.lr_schedule == "cosine":
            total = max(1, cfg.epochs * steps_per_epoch)
            learning_rate = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, decay_steps=total)
        optimizer_class = {"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam}[cfg.optimizer]
        optimizer = optimizer_class(learning_rate=learning_rate, clipnorm=cfg.clipnorm)
    loss = {"stego": texture_weighted_mse if cfg.stego_loss == "texture" else "mse", "revealed": "mse"}
    loss_weights = {"stego": cfg.loss_weights[0], "revealed": cfg.loss_weights[1]}
    metrics = {"stego": [psnr, ssim], "revealed": [psnr, ssim]}
    if adversary:
        loss["detected"], loss_weights["detected"], metrics["detected"] = (
            detection_loss, cfg.adversary, [detector_accuracy])
    model.compile(optimizer=optimizer, loss=loss, loss_weights=loss_weights, metrics=metrics)


class SaveModel(keras.callbacks.ModelCheckpoint):
    """`ModelCheckpoint` of `target`, the PixInPix, whatever model `fit` trains (a channel may wrap it)."""

    def __init__(self, target: keras.Model, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.target = target

    def set_model(self, model):
        super().set_model(self.target)


def with_channel(model: PixInPix, channel: Channel) -> keras.Model:
    """The model `fit` trains when the stego image goes through `channel`: the same networks and
    outputs, with the channel between the (8-bit) stego image and the revealing network."""
    inputs = {name: keras.Input(tensor.shape[1:], name=name) for name, tensor in model.hider.input.items()}
    stego = model.hider(inputs)
    stored = Quantize8Bit(dtype="float32", name="stego_8bit")(stego) if model.quantize_stego else stego
    revealed = model.revealer(channel(stored))
    return keras.Model(inputs, {"stego": keras.layers.Identity(dtype="float32", name="stego")(stego),
                                "revealed": keras.layers.Identity(dtype="float32", name="revealed")(revealed)},
                       name="pixinpix_with_channel")


def with_adversary(fit_model: keras.Model) -> keras.Model:
    """`fit_model` with a steganalyser beside it: the same outputs, and `detected`, the detector's
    logits (N, 2) for each cover and its 8-bit stego image (one batch of both, so batch norm sees
    them mixed). The stego image reaches the detector through a `GradientReversal`, so the one
    `detection_loss` trains the detector to find stego images and the hider to fool it."""
    inputs = {name: keras.Input(tensor.shape[1:], name=name) for name, tensor in fit_model.input.items()}
    outputs = fit_model(inputs)
    stego = GradientReversal(dtype="float32", name="fool_adversary")(
        Quantize8Bit(dtype="float32", name="adversary_8bit")(outputs["stego"]))
    both = keras.ops.concatenate([inputs["cover"], stego], axis=0) * 255.0
    logits = detector(3, name="adversary", dtype="float32")(both)
    scores = keras.ops.transpose(keras.ops.reshape(keras.ops.cast(logits, "float32"), (2, -1)))
    return keras.Model(inputs, {name: keras.layers.Identity(dtype="float32", name=name)(value) for name, value in
                                {**outputs, "detected": scores}.items()}, name="pixinpix_with_adversary")


def with_detection_targets(pairs: tf.data.Dataset) -> tf.data.Dataset:
    """`make_pairs` batches with a (N, 2) target for `detected` (which `detection_loss` does not read)."""
    return pairs.map(lambda inputs, targets: (inputs, {**targets, "detected": tf.zeros(
        (tf.shape(inputs["cover"])[0], 2))}))


class HidingLoss(keras.callbacks.Callback):
    """Adds `hiding_loss` and `val_hiding_loss`, the losses without the adversary's term, to each epoch's
    logs: what the best model is chosen by, and what `HealthCheck` watches, when a detector trains
    beside the hider (its own loss rises as the hider gets better at fooling it)."""

    def __init__(self, adversary_weight: float):
        super().__init__()
        self.adversary_weight = adversary_weight

    def on_epoch_end(self, epoch, logs=None):
        for prefix in ("", "val_"):
            if logs is not None and f"{prefix}loss" in logs:
                logs[f"{prefix}hiding_loss"] = (logs[f"{prefix}loss"]
                                                - self.adversary_weight * logs[f"{prefix}detected_loss"])


class Throughput(keras.callbacks.Callback):
    """Adds `images_per_second` (training images, wall clock) to each epoch's logs."""

    def __init__(self, images_per_epoch: int):
        super().__init__()
        self.images_per_epoch = images_per_epoch

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["images_per_second"] = self.images_per_epoch / (time.perf_counter() - self._start)


class HealthCheck(keras.callbacks.Callback):
    """Stops training early when the revealing network collapses or the loss diverges.

    Collapse: every `every` steps the revealer runs on a fixed probe batch; if
    its output hardly varies across images (std below `min_std_ratio` of the
    secrets' own std) at `patience` checks in a row, it has collapsed to a
    constant. With batch norm, an output that is flat only with the moving
    statistics (they lag early in training) but varies with the batch's own
    statistics is not a collapse. Divergence: an epoch's loss above
    `max_loss_ratio` x the best so far.
    """

    def __init__(self, probe: dict, every: int = 100, patience: int = 3, min_std_ratio: float = 0.05,
                 max_loss_ratio: float = 3.0):
        super().__init__()
        self.probe = probe
        self.every, self.patience = every, patience
        self.min_std_ratio, self.max_loss_ratio = min_std_ratio, max_loss_ratio
        self.secret_std = float(np.std(probe["secret"], axis=0).mean())
        self.problem: str | None = None
        self._flat_checks = 0
        self._best_loss = math.inf

    def _std_ratio(self, training: bool) -> float:
        """Spread of the revealed probe images relative to the secrets'; leaves the model's state as it was."""
        # A training-mode call updates batch norm's moving statistics: keep them to put back.
        saved = [v.numpy() for v in self.model.non_trainable_variables] if training else []
        revealed = keras.ops.convert_to_numpy(self.model(self.probe, training=training)["revealed"])
        for variable, value in zip(self.model.non_trainable_variables, saved):
            variable.assign(value)
        return float(np.std(revealed, axis=0).mean()) / self.secret_std

    def on_train_batch_end(self, batch, logs=None):
        if (batch + 1) % self.every or self.secret_std == 0:
            return
        ratio = self._std_ratio(training=False)
        flat = ratio < self.min_std_ratio and self._std_ratio(training=True) < self.min_std_ratio
        self._flat_checks = self._flat_checks + 1 if flat else 0
        if self._flat_checks >= self.patience:
            self._stop(f"the revealing network collapsed to a constant output (std ratio {ratio:.3f})")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        loss = logs.get("hiding_loss", logs.get("loss", math.nan))  # with an adversary, without its term
        if loss > self.max_loss_ratio * self._best_loss:
            self._stop(f"the loss diverged at epoch {epoch + 1} ({loss:.4g} vs best {self._best_loss:.4g})")
        self._best_loss = min(self._best_loss, loss)

    def _stop(self, problem: str) -> None:
        self.problem = problem
        self.model.stop_training = True


class RecalibrateBatchNorm(keras.callbacks.Callback):
    """Before each validation, sets batch norm's moving statistics to plain means
    over `batches` batches of `pairs` (training data).

    The moving averages lag the changing weights. Most networks hardly notice,
    but a low-bits decoder must read exact levels: after the first epoch of a
    `lowbits` run, the lag cost 4.5 dB of revealed PSNR (26.5 against 31.0 dB
    on 512 test pairs). Recomputing is not always a gain: another `lowbits`
    model lost 0.5 dB by it (README, Training). Networks that are not
    trainable keep their statistics.
    """

    def __init__(self, pairs: tf.data.Dataset, batches: int):
        super().__init__()
        self.pairs, self.batches = pairs, batches

    def on_test_begin(self, logs=None):
        recalibrate_batch_norm(self.model, self.pairs, self.batches)


def recalibrate_batch_norm(model: keras.Model, pairs: tf.data.Dataset, batches: int) -> None:
    """Sets the moving statistics of `model`'s trainable batch norm layers to plain
    means over the first `batches` batches of `pairs` ((inputs, targets) batches)."""
    layers = [layer for layer in _nested_layers(model)
              if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable]
    momenta = [layer.momentum for layer in layers]
    for i, (inputs, _) in enumerate(pairs.take(batches)):
        for layer in layers:  # moving = the mean of the i + 1 batches so far
            layer.momentum = i / (i + 1)
        model(inputs, training=True)
    for layer, momentum in zip(layers, momenta):
        layer.momentum = momentum


def _nested_layers(model: keras.Layer):
    """Every layer of `model`, inside nested models too."""
    for layer in getattr(model, "layers", []):
        yield layer
        yield from _nested_layers(layer)


def _fix_keras_multi_worker(model: keras.Model, dist: tf.distribute.Strategy, batch) -> None:
    """Work around two Keras 3 bugs that break `fit` under MultiWorkerMirroredStrategy.

    1. keras-team/keras#20329: `fit` all-reduces the first batch to build the
       compiled loss and metrics, which fails for dict inputs; build them here
       from a local batch instead.
    2. tensorflow/tensorflow#72388: the per-step logs (scalars) are reduced
       with `axis=0`, which fails for scalars; reduce them with `axis=None`.
    """
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer as tf_trainer

    with dist.scope():
        model._symbolic_build(data_batch=batch)
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None

    original = getattr(tf_trainer.reduce_per_replica, "__wrapped__", tf_trainer.reduce_per_replica)

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and tf_trainer._collective_all_reduce_multi_worker(strategy):
            return tree.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return original(values, strategy, reduction)

    reduce_per_replica.__wrapped__ = original
    tf_trainer.reduce_per_replica = reduce_per_replica


# Architecture fields that change no weight's shape: a run may start from a model that differs in them.
WEIGHTLESS_FIELDS = ("image_size", "secret_scale", "whole_image", "mirror_padding", "texture_mask")


def _start_model(cfg: Config):
    """The model `cfg.init_from` names; ConfigError if missing, or of another shape or wider than this run's."""
    try:
        start = load_model(cfg.init_from)
    except (ModelNotFoundError, ModelError) as err:
        raise ConfigError(f"--init-from: {err}") from None
    theirs = {k: v for k, v in start.get_config().items() if k in vars(cfg.model)}
    ours = vars(cfg.model)
    free = dict.fromkeys(WEIGHTLESS_FIELDS + ("base_filters",), 0)
    if {**theirs, **free} != {**ours, **free} or theirs["base_filters"] > ours["base_filters"]:
        raise ConfigError(f"--init-from {cfg.init_from}: its architecture {theirs} differs from this run's "
                          f"(only --base-filters may grow, and {', '.join(WEIGHTLESS_FIELDS)} may change)")
    return start


def _best_val_loss(history_csv: Path, monitor: str = "val_loss") -> float | None:
    """The lowest `monitor` value recorded so far (so a resumed run keeps the true best)."""
    if not history_csv.exists():
        return None
    with history_csv.open() as f:
        values = [float(row[monitor]) for row in csv.DictReader(f) if row.get(monitor)]
    return min(values) if values else None


def _write_config(out: Path, cfg: Config) -> None:
    """Write config.json, or check that a resumed run uses the same config."""
    path = out / "config.json"
    if path.exists():
        previous = Config.from_json(path.read_text())
        if previous != cfg:
            old, new = previous.to_dict(), cfg.to_dict()
            changed = sorted(k for k in new if old.get(k) != new.get(k))
            raise ConfigError(
                f"{out} holds a run with another config (differs in: {', '.join(changed)}); "
                "rerun with the same options to resume, or choose another --out"
            )
        return
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(cfg.to_json() + "\n")
    tmp.replace(path)


def run(cfg: Config, out: str | Path, data_dir: str | None = None, strategy: str = "default",
        verbose: int | str = "auto", health_check: bool = True) -> dict[str, float]:
    """Train `cfg` into the run directory `out`, resuming if it holds an interrupted run.

    `health_check`: stop early when the revealing network collapses or the loss diverges
    (`HealthCheck`); False trains every epoch whatever happens, as the paper's recipe does.

    Returns:
        The last epoch's logs (losses and metrics, train and validation).

    Raises:
        ConfigError, DataError: bad options or data (before any training).
        TrainingFailed: the networks collapsed or diverged.
    """
    cfg.validate()
    dist = make_strategy(strategy)  # first: multi-worker must start before other TF work
    is_chief, index = worker_role() if strategy == "multi-worker" else (True, 0)
    out = Path(out)
    # Non-chief workers write to a scratch folder that they remove at the end.
    workdir = out if is_chief else out / f".worker-{index}"
    train_ds = make_pairs(cfg, training=True, data_dir=data_dir)
    test_ds = make_pairs(cfg, training=False, data_dir=data_dir)
    if cfg.adversary:
        train_ds, test_ds = with_detection_targets(train_ds), with_detection_targets(test_ds)
    start = _start_model(cfg) if cfg.init_from else None  # checked before anything is written
    workdir.mkdir(parents=True, exist_ok=True)
    if is_chief:
        _write_config(out, cfg)
    keras.utils.set_random_seed(cfg.seed)
    previous_policy = keras.mixed_precision.global_policy()
    if cfg.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        steps = math.ceil(cfg.train_size / cfg.batch_size)
        with dist.scope():
            model = PixInPix.from_model_config(cfg.model, name="pixinpix")
            if start is not None:
                grow_weights(model, start)
            if cfg.train_only:  # the other network keeps its weights (and batch norm its statistics)
                (model.revealer if cfg.train_only == "hider" else model.hider).trainable = False
            channel = Channel(cfg.channel_names, seed=cfg.seed, dtype="float32", name="channel") \
                if cfg.channel_names else None
            fit_model = with_channel(model, channel) if channel else model
            if cfg.adversary:
                fit_model = with_adversary(fit_model)
            compile_model(fit_model, cfg, steps, adversary=bool(cfg.adversary))
            # The saved PixInPix loads compiled, with the optimizer that trains (with an adversary it also
            # holds the detector's variables, so a loaded model's optimizer starts afresh, with a warning).
            if fit_model is not model:
                compile_model(model, cfg, steps, optimizer=fit_model.optimizer)
        probe_inputs, probe_targets = next(iter(test_ds))
        if strategy == "multi-worker":
            _fix_keras_multi_worker(fit_model, dist, (probe_inputs, probe_targets))
        health = (HealthCheck({k: v.numpy() for k, v in probe_inputs.items()})
                  if strategy == "default" and health_check else None)
        # A pool of its own, small enough to be cached after the first pass and reshuffled at each;
        # never more pairs than an epoch trains on (a small run would spend its time recalibrating).
        pool = min(RECALIBRATION_PAIRS, cfg.train_size)
        pool_pairs = make_pairs(cfg.replace(train_size=pool), training=True, data_dir=data_dir)
        recalibrate = (RecalibrateBatchNorm(with_detection_targets(pool_pairs) if cfg.adversary else pool_pairs,
                                            math.ceil(pool / cfg.batch_size))
                       if cfg.model.batch_norm and strategy == "default" else None)
        monitor = "val_hiding_loss" if cfg.adversary else "val_loss"
        callbacks = [
            Throughput(cfg.train_size),
            keras.callbacks.TerminateOnNaN(),
            *([HidingLoss(cfg.adversary)] if cfg.adversary else []),  # before what reads its logs
            *([health] if health else []),
            *([recalibrate] if recalibrate else []),
            *([RampChannel(channel, round(cfg.channel_ramp * steps), steps)] if channel and cfg.channel_ramp else []),
            SaveModel(model, workdir / "best.keras", monitor=monitor, mode="min", save_best_only=True,
                      initial_value_threshold=_best_val_loss(workdir / "history.csv", monitor)),
            SaveModel(model, workdir / "last.keras"),
            keras.callbacks.CSVLogger(workdir / "history.csv", append=True),
            *([keras.callbacks.TensorBoard(out / "logs")] if is_chief else []),
            # Last, so an epoch counts as finished only after everything above is written.
            keras.callbacks.BackupAndRestore(workdir / "backup", double_checkpoint=True, delete_checkpoint=False),
        ]
        history = fit_model.fit(train_ds, validation_data=test_ds, epochs=cfg.epochs, callbacks=callbacks,
                                shuffle=False, verbose=verbose)  # the pipeline shuffles
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)
    if not is_chief:
        shutil.rmtree(workdir, ignore_errors=True)
    if health and health.problem:
        raise TrainingFailed(f"{health.problem}; stopped early. Try another preset or learning rate.")
    if not history.history:  # already finished: nothing left to train
        return {}
    last = {k: float(v[-1]) for k, v in history.history.items()}
    if not math.isfinite(last.get("loss", 0.0)):
        raise TrainingFailed("the loss became NaN or infinite (TerminateOnNaN stopped training); "
                             "try a lower learning rate or the fast preset")
    return last
