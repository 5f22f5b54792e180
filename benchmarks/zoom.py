"""A 3x zoom of what a hider does to a cover: cover | stego | |stego - cover| x 10, for each given crop.

Prints the whole stego image's PSNR and SSIM against the cover, and writes the crops, one row per
cover, to `--out`: the place to look for stripes, grids or the secret's outlines.

Example:
    python benchmarks/zoom.py --model dct-code --photos ../shared/data/photos/kodak \\
        --pairs kodim23:kodim24:150:300 kodim05:kodim06:200:300 kodim03:kodim04:60:260 \\
        --out docs/results/dct-code/zoom.png
    python benchmarks/zoom.py --model dct-code --channel jpeg:90 --photos ../shared/data/photos/kodak \
        --pairs kodim23:kodim24:150:300 kodim05:kodim06:200:300 kodim03:kodim04:60:260 \
        --out docs/results/dct-code/zoom-jpeg90.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from pixinpix_tf import api

from pixinpix_tf.analysis import metrics
from pixinpix_tf.images import read_image

CROP = 128


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=api.DEFAULT_MODEL, help="method, as pixinpix hide --model takes it")
    parser.add_argument("--channel", help="the channel the stego is made for, as pixinpix hide --channel takes it")
    parser.add_argument("--photos", type=Path, required=True, help="folder of the covers and secrets (PNG)")
    parser.add_argument("--pairs", nargs="+", required=True, help="COVER:SECRET:TOP:LEFT (names without .png)")
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    args = parser.parse_args()
    rows, gap = [], np.full((CROP, 4, 3), 255, np.uint8)
    for pair in args.pairs:
        cover_name, secret_name, top, left = pair.split(":")
        cover = read_image(args.photos / f"{cover_name}.png", 3)
        stego = api.hide(cover, read_image(args.photos / f"{secret_name}.png", 3), args.model, channel=args.channel)
        print(f"{cover_name} hiding {secret_name}: stego {metrics.psnr(cover, stego)[0]:.2f} dB, "
              f"SSIM {metrics.ssim(cover, stego)[0]:.4f}")
        window = (slice(int(top), int(top) + CROP), slice(int(left), int(left) + CROP))
        residual = np.clip(np.abs(stego[window].astype(int) - cover[window]) * 10, 0, 255).astype(np.uint8)
        rows.append(np.concatenate([cover[window], gap, stego[window], gap, residual], axis=1))
    panel = np.concatenate([np.pad(row, ((0, 4), (0, 0), (0, 0)), constant_values=255) for row in rows])[:-4]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(panel).resize((panel.shape[1] * 3, panel.shape[0] * 3), Image.NEAREST).save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
