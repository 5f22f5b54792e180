"""Which method leaves no visible pattern on the demo's photo: every method on the bundled pair
(pixinpix_tf/assets/samples/cover.png hiding secret.png), as `pixinpix hide` makes the stego PNG.

Prints stego PSNR / SSIM, revealed PSNR, and the largest and mean change (levels, over R, G and B) on the
cover's smooth areas: its 8x8 blocks whose luma varies by less than 2 levels (standard deviation), where
a change is easiest to see. `pixinpix demo` uses the method with the smallest largest change.

Example:
    python benchmarks/demo_methods.py
"""

from __future__ import annotations

import argparse

import numpy as np

from pixinpix_tf import api
from pixinpix_tf.analysis import metrics
from pixinpix_tf.images import SAMPLES, read_image
from pixinpix_tf.inference.tiling import fit_secret

SMOOTH_STD = 2.0  # luma standard deviation (levels) below which an 8x8 block counts as smooth


def smooth_mask(image: np.ndarray) -> np.ndarray:
    """(H', W') bool over the image cut to whole 8x8 blocks: pixels of smooth blocks."""
    luma = image.astype(np.float64).mean(axis=-1)
    h, w = luma.shape[0] // 8, luma.shape[1] // 8
    blocks = luma[: h * 8, : w * 8].reshape(h, 8, w, 8).std(axis=(1, 3))
    return np.kron(blocks < SMOOTH_STD, np.ones((8, 8), bool))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=["imagenet-in-cifar10", "photo-robust", "avif1", "webp1",
                                                         "jpeg1", "lsb1"])
    args = parser.parse_args()
    cover = read_image(SAMPLES / "cover.png")
    secret = fit_secret(read_image(SAMPLES / "secret.png"), *cover.shape[:2])
    smooth = smooth_mask(cover)
    print(f"bundled photo {cover.shape[1]}x{cover.shape[0]}, smooth share {smooth.mean():.1%}")
    for name in args.methods:
        stego = api.hide(cover, secret, name)
        revealed = api.reveal(stego, name)
        change = np.abs(stego.astype(int) - cover)[: smooth.shape[0], : smooth.shape[1]].max(axis=-1)[smooth]
        print(f"{name:22s} stego {metrics.psnr(cover, stego)[0]:6.2f} dB / {metrics.ssim(cover, stego)[0]:.4f}  "
              f"revealed {metrics.psnr(secret, revealed)[0]:6.2f} dB  smooth areas: largest change {change.max()}, "
              f"mean {change.mean():.2f} levels")


if __name__ == "__main__":
    main()
