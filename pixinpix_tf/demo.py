"""`pixinpix demo`: hide bundled samples with pretrained models, offline, in seconds.

Hides six MNIST digits in six CIFAR-10 images with the digits model, and one
photo in another with the photo method; reveals them from the 8-bit stego PNGs;
writes the PNGs and three figures to the output folder (digits.png, photo.png,
and photo_zoom.png: the smoothest part of the photo's cover and stego image side
by side at 3x) and returns a table of PSNR and SSIM.

The photo method is `avif1` (an AVIF secret in the cover's lowest bit): of the
methods we ship it leaves no visible pattern on the bundled photo, whose stego
is kept as a PNG, and reveals it best: no pixel of its smooth areas moves by
more than one level, where the default network moves them by up to 26 levels in
vertical stripes (`benchmarks/demo_methods.py`).
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
PHOTO_MODEL = "avif1"
ZOOM = 3  # photo_zoom.png's magnification


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
    write_image(smooth_zoom(photo_samples["covers"][0], photo_samples["stego"][0]), out / "photo_zoom.png")
    return rows


def smooth_zoom(cover: np.ndarray, stego: np.ndarray, side: int = 48) -> np.ndarray:
    """The smoothest `side`-pixel square of `cover` (least luma variance) beside the same square of `stego`,
    ZOOM times enlarged (nearest neighbour), with a white gap."""
    luma = cover.astype(np.float64).mean(axis=-1)
    step = side // 4
    corners = [(top, left) for top in range(0, cover.shape[0] - side + 1, step)
               for left in range(0, cover.shape[1] - side + 1, step)]
    top, left = min(corners, key=lambda c: luma[c[0]:c[0] + side, c[1]:c[1] + side].var())
    crops = [image[top:top + side, left:left + side] for image in (cover, stego)]
    panel = np.concatenate([crops[0], np.full((side, 4, 3), 255, np.uint8), crops[1]], axis=1)
    return np.repeat(np.repeat(panel, ZOOM, axis=0), ZOOM, axis=1)


def format_table(rows: list[dict]) -> str:
    lines = [f"{'image':10s} {'size':>9s} {'stego PSNR':>11s} {'SSIM':>7s} {'revealed PSNR':>14s} {'SSIM':>7s}"]
    lines += [f"{r['image']:10s} {r['size']:>9s} {r['stego_psnr']:8.2f} dB {r['stego_ssim']:7.4f} "
              f"{r['revealed_psnr']:11.2f} dB {r['revealed_ssim']:7.4f}" for r in rows]
    return "\n".join(lines)
