"""The paper's experiments as numbers: quality, robustness, classical baselines.

For each test pair the stego image is revealed as computed (float) and as a
user stores it (rounded to 8 bits, exactly what a PNG round trip gives; the
headline), then after each distortion of the 8-bit stego image. The classical
methods of `baselines` (LSB substitution with k = 1..4 bits, plain and
nearest-level, and a WebP or JPEG secret in the k low bits) go through the
same 8-bit path and the same distortions. Revealed images are rounded to 8 bits
too, except in the float row.

`run` writes the outputs with `report.write_outputs`: `metrics.json` (every
number), `report.md` (the tables), `samples.png` and `robustness.png`.
`photo_figures` is the photo benchmark: each photo of a folder hiding the next.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import keras
import numpy as np

from pixinpix_tf.analysis import metrics
from pixinpix_tf.analysis.report import write_atomic, write_outputs
from pixinpix_tf.config import Config, get_preset
from pixinpix_tf.distortions import DISTORTIONS
from pixinpix_tf.errors import ImageError
from pixinpix_tf.images import read_image, to_uint8
from pixinpix_tf.inference.loading import locate, run_config
from pixinpix_tf.inference.tiling import fit_secret
from pixinpix_tf.methods import registry
from pixinpix_tf.methods.base import Method, reveal_or_grey
from pixinpix_tf.methods.networks import Network, load
from pixinpix_tf.nets.data import Source, paired_images

LSB_BITS = (1, 2, 3, 4)
# The classical baselines on the same pairs, by their registry names: LSB plain and nearest-level, and
# the secret compressed at the highest quality that fits in the k low bits.
LSB_METHODS = tuple(f"lsb{b}{variant}" for variant in ("", "-nearest") for b in LSB_BITS)
COMPRESSED_METHODS = tuple(f"{codec}{b}" for codec in ("webp", "jpeg") for b in LSB_BITS)
DIGIT_CLASSIFIER = Path(__file__).parent.parent / "assets" / "digit_classifier.keras"


def test_pairs(cfg: Config, data_dir: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The `cfg.test_size` fixed test pairs as uint8 covers, uint8 secrets and secret labels."""
    batches = paired_images(cfg, training=False, data_dir=data_dir).batch(1000)
    covers, secrets, labels = zip(*((c.numpy(), s.numpy(), l.numpy()) for c, s, l in batches))
    return np.concatenate(covers), np.concatenate(secrets), np.concatenate(labels)


def _digit_classifier(image_shape) -> keras.Model | None:
    """The shipped MNIST classifier, if it exists and reads images of this size."""
    if not DIGIT_CLASSIFIER.exists():
        return None
    classifier = keras.models.load_model(DIGIT_CLASSIFIER)
    return classifier if tuple(classifier.input_shape[1:3]) == tuple(image_shape) else None


def _digit_accuracy(classifier, images: np.ndarray, labels: np.ndarray) -> float:
    gray = images.astype(np.float32).mean(axis=-1, keepdims=True) / 255.0
    predictions = classifier.predict(gray, batch_size=500, verbose=0).argmax(axis=-1)
    return float((predictions == labels).mean())


def evaluate_arrays(network: Network, covers: np.ndarray, secrets: np.ndarray, labels: np.ndarray | None = None,
                    seed: int = 0, verbose: int = 1) -> dict:
    """Every number of the evaluation, for uint8 covers and secrets (and secret labels, if digits), of a
    `Network` (refined if its `refine_steps` say so) and the classical baselines on the same pairs."""
    network = registry.get(network)
    model = network.model
    chunks = range(0, len(covers), 500)
    same_size = {name: d for name, d in DISTORTIONS.items() if d.keeps_size}  # 32x32 pairs: no crop
    steps = 2 + len(chunks) + sum(len(d.strengths) for d in same_size.values()) * (
        1 + len(LSB_METHODS) + len(COMPRESSED_METHODS))
    progress = keras.utils.Progbar(steps, verbose=verbose, unit_name="pass")

    def hide(start: int) -> np.ndarray:
        chunk = slice(start, start + 500)
        stego = network.hide_tiles(covers[chunk], secrets[chunk], batch_size=500)
        progress.add(1)
        return stego

    def reveal(stego_uint8: np.ndarray) -> np.ndarray:
        revealed = to_uint8(model.reveal(stego_uint8, batch_size=500))
        progress.add(1)
        return revealed

    def robustness(stego_uint8: np.ndarray, reveal_fn) -> dict:
        return {
            name: {d.label(s): metrics.compare(secrets, reveal_fn(d(stego_uint8, s, seed))) for s in d.strengths}
            for name, d in same_size.items()
        }

    stego = np.concatenate([hide(start) for start in chunks])
    stego_uint8 = to_uint8(stego)
    revealed_float = model.reveal(stego, batch_size=500) * 255.0
    progress.add(1)
    revealed_uint8 = reveal(stego_uint8)
    results = {
        "pairs": int(len(covers)),
        "refine_steps": network.refine_steps,
        "pixinpix": {
            "float": {"stego": metrics.compare(covers, stego * 255.0),
                      "revealed": metrics.compare(secrets, revealed_float)},
            "8bit": {"stego": metrics.compare(covers, stego_uint8),
                     "revealed": metrics.compare(secrets, revealed_uint8)},
            "distortions": robustness(stego_uint8, reveal),
        },
        "lsb": {},
        "compressed": {},
    }
    lsb_revealed = {}  # bits -> revealed secrets (the same with or without `nearest`)
    for group, names in (("lsb", LSB_METHODS), ("compressed", COMPRESSED_METHODS)):
        for name in names:
            method = registry.get(name)
            baseline_stego = method.hide_batch(covers, secrets)
            revealed = method.reveal_batch(baseline_stego)
            if method.family == "lsb":
                lsb_revealed[method.bits] = revealed

            def reveal_step(images, method=method):
                progress.add(1)
                return method.reveal_batch(images)

            results[group][name] = {
                "8bit": {"stego": metrics.compare(covers, baseline_stego),
                         "revealed": metrics.compare(secrets, revealed)},
                "distortions": robustness(baseline_stego, reveal_step),
            }
    classifier = _digit_classifier(secrets.shape[1:3]) if labels is not None and (labels >= 0).all() else None
    if classifier is not None:
        results["digit_accuracy"] = {
            "original": _digit_accuracy(classifier, secrets, labels),
            "pixinpix_8bit": _digit_accuracy(classifier, revealed_uint8, labels),
            **{f"lsb{bits}": _digit_accuracy(classifier, lsb_revealed[bits], labels) for bits in LSB_BITS},
        }
    results["samples"] = {"covers": covers[:6], "stego": stego_uint8[:6], "secrets": secrets[:6],
                          "revealed": revealed_uint8[:6]}
    return results


# What the photo rows of a model card's default hide go through: JPEG at quality 95, 90, 75 and 50,
# resizing to half and back, noise of sigma 2 and 5, blur of sigma 1, and a crop of 5 rows and columns.
PHOTO_DISTORTIONS = (("jpeg", 5.0), ("jpeg", 10.0), ("jpeg", 25.0), ("jpeg", 50.0), ("resize", 0.5),
                     ("noise", 2.0), ("noise", 5.0), ("blur", 1.0), ("crop", 5.0))


def each_hiding_the_next(files: list[Path], secret_channels: int = 3):
    """(cover file, cover, secret fitted to the cover) for each photo of `files` (uint8), each hiding the next
    and the last the first: how every photo figure pairs photos."""
    for cover_file, secret_file in zip(files, files[1:] + files[:1]):
        cover = read_image(cover_file, 3)
        yield cover_file, cover, fit_secret(read_image(secret_file, secret_channels), *cover.shape[:2])


def photo_figures(method: Method, folder: str | Path, distortions: tuple[tuple[str, float], ...] = ()) -> dict:
    """Figures on a folder of PNG photos, each hiding the next (in name order), with `method`
    (a Method, or anything `methods.registry.get` takes): mean stego and
    revealed PSNR/SSIM, the lowest stego PSNR, seconds per hide, what the residual gives away
    (`metrics.leak`, `metrics.grid_ratio` of a 32-pixel grid), the revealed PSNR and SSIM after each
    (distortion name, strength) of the stego image (after a crop, against the secret cropped alike),
    and each photo's figures. A cover the method refuses (ImageError) is listed in `refused`, left out
    of the stego figures and counted as revealing mid-grey, as is a stego image it reveals nothing from."""
    method = registry.get(method)
    files = sorted(Path(folder).glob("*.png"))
    columns = ["stego_psnr", "stego_ssim", "revealed_psnr", "revealed_ssim", "seconds_per_hide", "leak", "grid_ratio"]
    after = [f"{name} {DISTORTIONS[name].label(strength)}" for name, strength in distortions]
    after_ssim = [f"ssim after {label}" for label in after]
    rows, refused = [], []
    for cover_file, cover, secret in each_hiding_the_next(files, method.secret_channels):
        start = time.perf_counter()
        try:
            stego = method.hide(cover, secret)
        except ImageError:  # a cover the method refuses (dct-code: too flat): nothing hidden, nothing revealed
            refused.append(cover_file.name)
            rows.append([np.nan] * 2 + _grey_figures(secret) + [np.nan] * 3
                        + [value for name, strength in distortions
                           for value in _grey_figures(_cut_like(secret, DISTORTIONS[name](cover[None], strength,
                                                                                          seed=0)[0]))])
            continue
        seconds = time.perf_counter() - start
        revealed = reveal_or_grey(method, stego)
        rows.append([metrics.psnr(cover, stego)[0], metrics.ssim(cover, stego)[0],
                     metrics.psnr(secret, revealed)[0], metrics.ssim(secret, revealed)[0], seconds,
                     metrics.leak(cover, stego, secret)[0], metrics.grid_ratio(cover, stego)[0]]
                    + [value for name, strength in distortions
                       for value in _revealed_after(method, stego, secret, DISTORTIONS[name], strength)])
    rows = np.asarray(rows, np.float64)
    means = np.nanmean(rows, axis=0) if len(refused) < len(files) else rows[0]
    after_means = means[len(columns):]
    return {"photos": len(files), "refused": refused, **dict(zip(columns, map(float, means))),
            "min_stego_psnr": float(np.nanmin(rows[:, 0])) if len(refused) < len(files) else float("nan"),
            "revealed_psnr_after": dict(zip(after, map(float, after_means[0::2]))),
            "revealed_ssim_after": dict(zip(after, map(float, after_means[1::2]))),
            "per_photo": {f.name: dict(zip(columns + [k for pair in zip(after, after_ssim) for k in pair],
                                           map(float, row))) for f, row in zip(files, rows)}}


def _revealed_after(method: Method, stego: np.ndarray, secret: np.ndarray, distortion, strength: float):
    """Revealed PSNR and SSIM after `distortion` of the stego image; a crop is scored against the secret
    cropped alike (its rows and columns cut off the top left)."""
    distorted = distortion(stego[None], strength, seed=0)[0]
    target = _cut_like(secret, distorted)
    revealed = reveal_or_grey(method, distorted)
    return metrics.psnr(target, revealed)[0], metrics.ssim(target, revealed)[0]


def _cut_like(secret: np.ndarray, distorted: np.ndarray) -> np.ndarray:
    """`secret` with the rows and columns a crop cut off the top left of `distorted`."""
    return secret[secret.shape[0] - distorted.shape[0]:, secret.shape[1] - distorted.shape[1]:]


def _grey_figures(secret: np.ndarray) -> list[float]:
    """Revealed PSNR and SSIM of mid-grey (what a method that hid nothing reveals) against `secret`."""
    grey = np.full(secret.shape, 128, np.uint8)
    return [metrics.psnr(secret, grey)[0], metrics.ssim(secret, grey)[0]]


def default_out(name: str | Path) -> str:
    """Where `pixinpix evaluate NAME` writes by default: NAME/eval for a run directory, else NAME-eval here
    (never into the package's own folders)."""
    path = Path(name)
    if path.is_dir():
        return path.resolve().name + "-eval" if (path / "weights.npz").is_file() else str(path / "eval")
    return os.path.splitext(str(name))[0] + "-eval"


def run_photos(name: str | Path, folders: list[str | Path], out: str | Path, refine_steps: int = 0,
               log=print) -> dict:
    """`photo_figures` of the method `name` names on each photo folder, through PHOTO_DISTORTIONS, written
    to `out`/photos.json after each folder."""
    method = registry.get(name, refine_steps=refine_steps)
    Path(out).mkdir(parents=True, exist_ok=True)
    results = {}
    for folder in folders:
        log(f"{method.name} on {folder} ...")
        figures = photo_figures(method, folder, distortions=PHOTO_DISTORTIONS)
        results[Path(folder).name] = {k: v for k, v in figures.items() if k != "per_photo"}
        write_atomic(Path(out) / "photos.json", json.dumps(results, indent=2) + "\n")
    return results


def run(model_path: str | Path, out: str | Path, cover: str | None = None, secret: str | None = None,
        num: int = 10_000, data_dir: str | None = None, seed: int | None = None, verbose: int = 1,
        refine_steps: int = 0) -> dict:
    """Evaluate a trained network on `num` test pairs and write the outputs to `out`.

    Cover, secret and seed default to those of the model's run (else cifar10,
    mnist and 0); the pairs are the same fixed test pairs that training validated on.
    """
    registry.check(model_path, "pairs")
    network = load(model_path, backend="keras", refine_steps=refine_steps)
    model = network.model
    base = run_config(model_path) or get_preset("paper")
    cfg = base.replace(cover=cover or base.cover, secret=secret or base.secret, test_size=num,
                       seed=base.seed if seed is None else seed, image_size=model.image_size,
                       secret_channels=model.secret_channels, depth=model.depth)
    covers, secrets, labels = test_pairs(cfg, data_dir)
    digits = Source.parse(cfg.secret).name == "mnist"  # other labels are not digits
    results = evaluate_arrays(network, covers, secrets, labels if digits else None, seed=cfg.seed, verbose=verbose)
    results.update(model=str(locate(model_path).keras), cover=cfg.cover, secret=cfg.secret, seed=cfg.seed)
    refined = f", stego refined for {refine_steps} steps" if refine_steps else ""
    write_outputs(results, out, f"PixInPix evaluation: {cfg.secret} hidden in {cfg.cover}{refined}")
    return results
