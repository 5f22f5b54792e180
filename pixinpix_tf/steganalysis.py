"""Steganalysis: how well a small CNN tells a method's stego images from covers it never saw.

The detector is XuNet-like: a fixed 5x5 high-pass filter (the "KV" kernel of the
SRM filter set) on each colour channel, which removes the image content and keeps
the noise where hidden data lives, then three blocks of 3x3 convolution, batch
norm, ReLU and 2x2 average pooling, global average pooling and one logit. It is
trained with Adam on covers and the stego images of the same covers, and tested
on other covers and their stego images: accuracy (at probability 0.5; 50% is
chance) and ROC AUC.

Methods are named `lsbK` (the secret's top K bits in the cover's low K bits),
`webpK` (a WebP-compressed secret in the low K bits, `baselines.compressed_hide`),
or a model as `--model` takes it (a shipped name, run directory, .keras file).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from pixinpix_tf import api, metrics
from pixinpix_tf.baselines import compressed_hide, lsb_hide
from pixinpix_tf.config import get_preset
from pixinpix_tf.errors import ConfigError
from pixinpix_tf.evaluate import test_pairs
from pixinpix_tf.images import to_uint8
from pixinpix_tf.report import write_atomic

HIGH_PASS = np.array([[-1, 2, -2, 2, -1], [2, -6, 8, -6, 2], [-2, 8, -12, 8, -2], [2, -6, 8, -6, 2],
                      [-1, 2, -2, 2, -1]], np.float32) / 12.0
TRAIN_FRACTION = 0.8  # of the covers (with their stego images) for training; the rest test
Hider = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (uint8 covers, uint8 secrets) -> uint8 stego images


def detector(channels: int = 3, filters: int = 32) -> keras.Model:
    """The steganalyser: uint8-range float images (N, H, W, channels) -> logit that the image is stego."""
    images = keras.Input((None, None, channels))
    kernel = np.zeros((5, 5, channels, 1), np.float32)
    kernel[..., 0] = HIGH_PASS[..., None]
    x = keras.layers.DepthwiseConv2D(5, padding="same", use_bias=False, trainable=False, name="high_pass",
                                     depthwise_initializer=keras.initializers.Constant(kernel))(images)
    for block in range(3):
        x = keras.layers.Conv2D(filters * 2**block, 3, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.AveragePooling2D(2)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(images, keras.layers.Dense(1)(x), name="steganalyser")


def hider(method: str) -> tuple[Hider, int]:
    """The hiding function a method name names, and the secret channels it takes."""
    for prefix, hide in (("lsb", lsb_hide), ("webp", compressed_hide)):
        if method.startswith(prefix) and method[len(prefix):].isdigit():
            bits = int(method[len(prefix):])
            if not 1 <= bits <= 8:
                raise ConfigError(f"{method}: the number of bits must be 1..8")
            return (lambda covers, secrets, hide=hide: hide(covers, secrets, bits)), 3
    model = api.resolve_model(method)
    return (lambda covers, secrets: to_uint8(model.hide(covers, secrets))), model.secret_channels


def detectability(covers: np.ndarray, stegos: np.ndarray, epochs: int = 8, batch_size: int = 64,
                  seed: int = 0, verbose: int = 0) -> dict[str, float]:
    """Accuracy and ROC AUC of a fresh `detector` trained on the first TRAIN_FRACTION of the
    (cover, stego) pairs and tested on the rest (covers it never saw, each with its stego image)."""
    keras.utils.set_random_seed(seed)
    split = int(len(covers) * TRAIN_FRACTION)
    labels = np.concatenate([np.zeros(len(covers)), np.ones(len(stegos))]).astype(np.float32)
    images = np.concatenate([covers, stegos]).astype(np.float32)
    train = np.concatenate([np.arange(split), len(covers) + np.arange(split)])
    test = np.concatenate([np.arange(split, len(covers)), len(covers) + np.arange(split, len(covers))])
    train = np.random.default_rng(seed).permutation(train)
    model = detector(covers.shape[-1])
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.BinaryCrossentropy(from_logits=True))
    model.fit(images[train], labels[train], epochs=epochs, batch_size=batch_size, verbose=verbose)
    scores = np.asarray(model.predict(images[test], batch_size=256, verbose=0))[:, 0]
    return {"accuracy": float(np.mean((scores > 0) == (labels[test] > 0.5))),
            "auc": roc_auc(scores[labels[test] == 0], scores[labels[test] == 1]),
            "train_pairs": int(split), "test_pairs": int(len(covers) - split)}


def roc_auc(cover_scores: np.ndarray, stego_scores: np.ndarray) -> float:
    """The area under the ROC curve: the chance that a stego image scores above a cover (ties count half)."""
    difference = stego_scores[:, None] - cover_scores[None, :]
    return float(np.mean(difference > 0) + 0.5 * np.mean(difference == 0))


def run(methods: list[str], num: int = 10_000, epochs: int = 8, cover: str = "cifar10",
        secret: str = "tiny_imagenet32", data_dir: str | None = None, seed: int = 0,
        out: str | Path | None = None, log: Callable[[str], None] = print) -> dict[str, dict]:
    """`detectability` of each method's stego images of `num` fixed test pairs, with their stego PSNR;
    written as JSON to `out` if given."""
    cfg = get_preset("paper").replace(cover=cover, secret=secret, test_size=num, seed=seed)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
    results = {}
    for method in methods:
        hide, channels = hider(method)
        covers, secrets, _ = test_pairs(cfg.replace(secret_channels=channels), data_dir)
        if len(np.unique(covers.reshape(len(covers), -1), axis=0)) < len(covers):
            raise ConfigError(f"{cover} has fewer than {num} distinct test images: test covers would repeat "
                              "training covers; use a smaller --num")
        stegos = hide(covers, secrets)
        figures = {"stego_psnr": float(np.mean(metrics.psnr(covers, stegos))),
                   **detectability(covers, stegos, epochs=epochs, seed=seed)}
        log(f"{method:24s} stego {figures['stego_psnr']:6.2f} dB  detector accuracy {figures['accuracy']:.1%}  "
            f"ROC AUC {figures['auc']:.3f}")
        results[method] = figures
        if out:  # after each method, so a late failure keeps what was measured
            write_atomic(Path(out), json.dumps(results, indent=2) + "\n")
    return results
