"""Steganalysis: how well detectors tell a method's stego images from covers they never saw.

The CNN is `nets.detector.detector` (XuNet-like, with a fixed high-pass front). It is
trained with Adam on covers and the stego images of the same covers, and tested
on other covers and their stego images: accuracy (at probability 0.5; 50% is
chance), P_E (the least (P_FA + P_MD) / 2 over thresholds) and ROC AUC. On whole
photos, each statistic the method's public algorithm forces (`Method.statistics`:
for dct-code the band of block textures its settling empties, for LSB replacement
the evened pairs of values) is also a targeted detector of whole photos
(`targeted`: a threshold fitted on half the photos, tested on the other half, over
20 random halvings), and so are the feature detectors of `rich_model` (SPAM and calibrated
block-DCT features with a Fisher linear discriminant, over 10 halvings by photo).

Methods are any name `methods.registry` takes (`lsbK`, `webpK`, `dct-code` on
photos only, a network).

Payload: `secret_side` s < 1 hides the secret at s of its side length (s*s of its
pixels), and each method does what it does with a smaller secret: LSB writes it
into the first values of the cover only, WebP compresses the smaller image, a
network or dct-code hides it enlarged back to the cover's size (a smoother
secret, so less to carry). Photos: `photos` hides whole photos as
`pixinpix hide` does (each photo hiding the next) and the detector sees
PHOTO_CROP-pixel crops of them, trained on the crops of some photos and tested on
the crops of the others.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import keras
import numpy as np


from pixinpix_tf.analysis import metrics, rich_model
from pixinpix_tf.analysis.metrics import min_total_error, roc_auc
from pixinpix_tf.config import get_preset
from pixinpix_tf.methods import registry
from pixinpix_tf.nets.detector import detector
from pixinpix_tf.errors import ConfigError, ImageError
from pixinpix_tf.analysis.evaluate import test_pairs
from pixinpix_tf.images import read_image
from pixinpix_tf.analysis.report import write_atomic
from pixinpix_tf.inference.tiling import fit_secret

TRAIN_FRACTION = 0.8  # of the covers (with their stego images) for training; the rest test
PHOTO_CROP = 64  # side of the crops of whole photos the detector sees


def shrink(secrets: np.ndarray, side: float) -> np.ndarray:
    """uint8 secrets (N, H, W, C) at `side` of their side length (area-averaged); side 1: unchanged."""
    if side == 1:
        return secrets
    if not 0 < side < 1:
        raise ConfigError(f"the secret's side must be in (0, 1], got {side}")
    height, width = (max(1, round(n * side)) for n in secrets.shape[1:3])
    return np.stack([fit_secret(secret, height, width) for secret in secrets])


def detectability(covers: np.ndarray, stegos: np.ndarray, epochs: int = 8, batch_size: int = 64,
                  seed: int = 0, verbose: int = 0, split: int | None = None) -> dict[str, float]:
    """Accuracy and ROC AUC of a fresh `detector` trained on the first `split` (default: TRAIN_FRACTION)
    of the (cover, stego) pairs and tested on the rest (covers it never saw, each with its stego image)."""
    keras.utils.set_random_seed(seed)
    split = int(len(covers) * TRAIN_FRACTION) if split is None else split
    labels = np.concatenate([np.zeros(len(covers)), np.ones(len(stegos))]).astype(np.float32)
    images = np.concatenate([covers, stegos]).astype(np.float32)
    train = np.concatenate([np.arange(split), len(covers) + np.arange(split)])
    test = np.concatenate([np.arange(split, len(covers)), len(covers) + np.arange(split, len(covers))])
    train = np.random.default_rng(seed).permutation(train)
    model = detector(covers.shape[-1])
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.BinaryCrossentropy(from_logits=True))
    model.fit(images[train], labels[train], epochs=epochs, batch_size=batch_size, verbose=verbose)
    scores = np.asarray(model.predict(images[test], batch_size=256, verbose=0))[:, 0]
    cover_scores, stego_scores = scores[labels[test] == 0], scores[labels[test] == 1]
    return {"accuracy": float(np.mean((scores > 0) == (labels[test] > 0.5))),
            "pe": min_total_error(cover_scores, stego_scores), "auc": roc_auc(cover_scores, stego_scores),
            "train_pairs": int(split), "test_pairs": int(len(covers) - split)}


def photo_pairs(method: str, folders: list[str | Path], secret_side: float = 1.0
                ) -> tuple[list[tuple[int, np.ndarray, np.ndarray]], int]:
    """(photo index, cover, stego image) for every photo of `folders` (in name order, each hiding the next,
    as `pixinpix hide` does) that the method does not refuse, and the number of photos."""
    files = sorted(f for folder in folders for f in Path(folder).glob("*.png"))
    if len(files) < 2:
        raise ConfigError(f"found {len(files)} PNG photos in {', '.join(map(str, folders))}; need at least 2")
    hider = registry.get(method)
    pairs = []
    for index, (cover_file, secret_file) in enumerate(zip(files, files[1:] + files[:1])):
        cover = read_image(cover_file, 3)
        secret = fit_secret(read_image(secret_file, hider.secret_channels), *cover.shape[:2])
        try:
            pairs.append((index, cover, hider.hide(cover, shrink(secret[None], secret_side)[0])))
        except ImageError:  # a cover the method refuses (dct-code: too flat) gives no stego image
            continue
    return pairs, len(files)


def photo_crops(pairs: list[tuple[int, np.ndarray, np.ndarray]], photos: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Covers and stego images of `photo_pairs` as PHOTO_CROP-pixel crops, and the number of crops from
    the first TRAIN_FRACTION of the `photos` (the detector trains on those, tests on the others')."""
    covers, stegos, split = [], [], 0
    for index, cover, stego in pairs:
        covers.append(_crops(cover))
        stegos.append(_crops(stego))
        if index < int(photos * TRAIN_FRACTION):
            split += len(covers[-1])
    return np.concatenate(covers), np.concatenate(stegos), split


def targeted(method: str, pairs: list[tuple[int, np.ndarray, np.ndarray]], splits: int = 20,
             seed: int = 0) -> dict[str, dict[str, float]]:
    """Each statistic the method's public algorithm forces (`Method.statistics`) as a detector of whole
    photos: over `splits` random halvings by photo, the direction and threshold that separate covers from
    stego images best on one half, applied to the other (accuracy), and the other half's P_E; means."""
    hider = registry.get(method)
    features = [(hider.statistics(cover), hider.statistics(stego)) for _, cover, stego in pairs]
    rng = np.random.default_rng(seed)
    results = {}
    for name in features[0][0] if features else ():
        covers = np.array([c[name] for c, _ in features])
        stegos = np.array([s[name] for _, s in features])
        accuracies, errors = [], []
        for _ in range(splits):
            order = rng.permutation(len(covers))
            train, test = order[: len(order) // 2], order[len(order) // 2:]
            sign = 1.0 if stegos[train].mean() >= covers[train].mean() else -1.0
            values = np.sort(np.concatenate([covers[train], stegos[train]]) * sign)
            candidates = np.concatenate([values[:1] - 1, (values[1:] + values[:-1]) / 2, values[-1:] + 1])
            hits = [((covers[train] * sign < t).mean() + (stegos[train] * sign >= t).mean()) / 2 for t in candidates]
            threshold = candidates[int(np.argmax(hits))]
            accuracies.append(((covers[test] * sign < threshold).mean()
                               + (stegos[test] * sign >= threshold).mean()) / 2)
            errors.append(min_total_error(covers[test] * sign, stegos[test] * sign))
        results[name] = {"accuracy": float(np.mean(accuracies)), "pe": float(np.mean(errors)),
                         "cover_mean": float(covers.mean()), "stego_mean": float(stegos.mean()),
                         "photos": int(len(covers)), "splits": splits}
    return results


def _crops(image: np.ndarray) -> np.ndarray:
    rows, columns = image.shape[0] // PHOTO_CROP, image.shape[1] // PHOTO_CROP
    cut = image[: rows * PHOTO_CROP, : columns * PHOTO_CROP]
    return cut.reshape(rows, PHOTO_CROP, columns, PHOTO_CROP, -1).swapaxes(1, 2).reshape(
        rows * columns, PHOTO_CROP, PHOTO_CROP, -1)


def run(methods: list[str], num: int = 10_000, epochs: int = 8, cover: str = "cifar10",
        secret: str = "tiny_imagenet32", data_dir: str | None = None, seed: int = 0,
        out: str | Path | None = None, log: Callable[[str], None] = print,
        secret_sides: tuple[float, ...] = (1.0,), photos: list[str | Path] | None = None) -> dict[str, dict]:
    """`detectability` of each method's stego images, at each secret side (payload), with their stego PSNR:
    of `num` fixed test pairs, or of crops of the whole `photos` (folders) if given. Written as JSON to
    `out` if given, keyed by method (and `@side` for sides other than 1)."""
    cfg = get_preset("paper").replace(cover=cover, secret=secret, test_size=num, seed=seed)
    for side in secret_sides:
        shrink(np.zeros((1, 4, 4, 3), np.uint8), side)  # a bad side fails before any work
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
    results = {}
    for method in methods:
        for side in secret_sides:
            targeted_figures, feature_figures = {}, {}
            if photos:
                pairs, count = photo_pairs(method, photos, side)
                covers, stegos, split = photo_crops(pairs, count)
                targeted_figures = targeted(method, pairs)
                feature_figures = rich_model.detectors(pairs)
            else:
                hider = registry.get(method)
                hider.check("pairs")
                covers, secrets, _ = test_pairs(cfg.replace(secret_channels=hider.secret_channels), data_dir)
                if len(np.unique(covers.reshape(len(covers), -1), axis=0)) < len(covers):
                    raise ConfigError(f"{cover} has fewer than {num} distinct test images: test covers would "
                                      "repeat training covers; use a smaller --num")
                stegos, split = hider.hide_batch(covers, shrink(secrets, side)), None
            figures = {"stego_psnr": float(np.mean(metrics.psnr(covers, stegos))), "secret_side": side,
                       **detectability(covers, stegos, epochs=epochs, seed=seed, split=split)}
            if targeted_figures:
                figures["targeted"] = targeted_figures
            if feature_figures:
                figures["features"] = feature_figures
            name = method if side == 1 else f"{method}@{side:g}"
            log(f"{name:28s} stego {figures['stego_psnr']:6.2f} dB  CNN accuracy {figures['accuracy']:.1%}  "
                f"1 - P_E {1 - figures['pe']:.1%}  ROC AUC {figures['auc']:.3f}")
            for statistic, found in targeted_figures.items():
                log(f"{'':28s} targeted ({statistic}, whole photos): accuracy {found['accuracy']:.1%}  1 - P_E "
                    f"{1 - found['pe']:.1%}  (covers {found['cover_mean']:.3f}, stego {found['stego_mean']:.3f})")
            for detector_name, found in feature_figures.items():
                log(f"{'':28s} {detector_name} + Fisher discriminant (whole photos, {found['splits']} splits): "
                    f"accuracy {found['accuracy']:.1%}  1 - P_E {1 - found['pe']:.1%}")
            results[name] = figures
            if out:  # after each method, so a late failure keeps what was measured
                write_atomic(Path(out), json.dumps(results, indent=2) + "\n")
    return results
