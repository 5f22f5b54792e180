"""`pixinpix demo`: hide bundled samples with pretrained models, offline, in seconds.

Hides six MNIST digits in six CIFAR-10 images with the digits model, and one
photo in another with the photo model; reveals them from the 8-bit stego PNGs;
writes the PNGs and two figures to the output folder and returns a table of
PSNR and SSIM.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from pixinpix_tf import api

from pixinpix_tf.analysis import metrics
from pixinpix_tf.images import SAMPLES, read_image, write_image
from pixinpix_tf.analysis.report import plot_samples
from pixinpix_tf.inference.tiling import fit_secret

DIGITS_MODEL = "mnist-in-cifar10"
PHOTO_MODEL = api.DEFAULT_MODEL


def default_out() -> Path:
    return Path(f"pixinpix-demo-{time.strftime('%Y%m%d-%H%M%S')}")


def run_demo(out: str | Path, digits_model=DIGITS_MODEL, photo_model=PHOTO_MODEL) -> list[dict]:
    """Run the demo into `out` with two methods (Methods, or names or paths as `api.hide` takes);
    returns one row of metrics per hidden image."""
    out = Path(out)
    digits, photo = api.load_method(digits_model), api.load_method(photo_model)
    out.mkdir(parents=True, exist_ok=True)
    rows, samples = [], {"covers": [], "stego": [], "secrets": [], "revealed": []}
    jobs = [(f"digit {i}", digits, SAMPLES / f"cifar10_{i}.png", SAMPLES / f"mnist_{i}.png") for i in range(6)]
    jobs.append(("photo", photo, SAMPLES / "cover.png", SAMPLES / "secret.png"))
    for label, model, cover_file, secret_file in jobs:
        cover = read_image(cover_file, 3)
        secret = fit_secret(read_image(secret_file, model.secret_channels), *cover.shape[:2])
        stego = api.hide(cover, secret, model)
        stem = label.replace(" ", "_")
        write_image(stego, out / f"{stem}_stego.png")
        revealed = api.reveal(read_image(out / f"{stem}_stego.png", 3), model)  # from the PNG, as a user would
        write_image(revealed, out / f"{stem}_revealed.png")
        rows.append({"image": label, "size": f"{cover.shape[1]}x{cover.shape[0]}",
                     "stego_psnr": float(metrics.psnr(cover, stego)[0]),
                     "stego_ssim": float(metrics.ssim(cover, stego)[0]),
                     "revealed_psnr": float(metrics.psnr(secret, revealed)[0]),
                     "revealed_ssim": float(metrics.ssim(secret, revealed)[0])})
        if label.startswith("digit"):
            for key, value in zip(samples, (cover, stego, secret, revealed)):
                samples[key].append(value if value.shape[-1] == 3 else np.repeat(value, 3, axis=-1))
        else:
            photo_samples = {k: v[None] for k, v in zip(samples, (cover, stego, secret, revealed))}
    plot_samples({k: np.stack(v) for k, v in samples.items()}, out / "digits.png")
    plot_samples(photo_samples, out / "photo.png")
    return rows


def format_table(rows: list[dict]) -> str:
    lines = [f"{'image':10s} {'size':>9s} {'stego PSNR':>11s} {'SSIM':>7s} {'revealed PSNR':>14s} {'SSIM':>7s}"]
    lines += [f"{r['image']:10s} {r['size']:>9s} {r['stego_psnr']:8.2f} dB {r['stego_ssim']:7.4f} "
              f"{r['revealed_psnr']:11.2f} dB {r['revealed_ssim']:7.4f}" for r in rows]
    return "\n".join(lines)
