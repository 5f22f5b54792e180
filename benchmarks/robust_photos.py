"""Robustness on whole photos: every method through the distortions a shared photo meets.

For each folder, every photo hides the next (in name order). Each method (the
given models on their default backend or `dct-code`, and the compressed-secret baselines)
hides, the 8-bit stego PNG is then saved as JPEG at quality 95/90/75/50,
resized to half and back, noised (sigma 2 and 5) or blurred, and revealed.
Prints stego PSNR/SSIM (mean and worst photo), what the residual gives away
(`metrics.leak`: 0 shows nothing of the secret's outlines; `metrics.grid_ratio`:
about 1 without a 32-pixel tile grid) and the revealed PSNR after each,
writes the figures as JSON and draws revealed PSNR against JPEG quality, every
method on the same axes. `--smooth` adds a folder of two images where a hider's
pattern shows most (a smooth colour gradient and a flat graphic, 768x512, made
here), and `--out` then also gets, per model, the gradient's stego image and its
residual |stego - cover| x 10 at 3x zoom, to look at.

Example:
    python benchmarks/robust_photos.py --models imagenet-in-cifar10 \\
        --photos ../shared/data/photos/kodak ../shared/data/photos/CBSD68 --out docs/results/robust-photos
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

DISTORTIONS = (("jpeg", 5.0), ("jpeg", 10.0), ("jpeg", 25.0), ("jpeg", 50.0), ("resize", 0.5), ("noise", 2.0),
               ("noise", 5.0), ("blur", 1.0))


def write_smooth_images(folder: Path) -> Path:
    """A smooth colour gradient and a flat graphic (shapes in flat colours), 768x512 PNGs, in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    y, x = np.mgrid[0:512, 0:768] / np.array([511.0, 767.0])[:, None, None]
    gradient = np.stack([40 + 180 * x, 60 + 120 * y, 200 - 150 * x * y], axis=-1)
    Image.fromarray(np.round(gradient).astype(np.uint8)).save(folder / "gradient.png")
    graphic = Image.new("RGB", (768, 512), (235, 235, 230))
    draw = ImageDraw.Draw(graphic)
    draw.rectangle((60, 60, 360, 300), fill=(30, 90, 170))
    draw.ellipse((400, 120, 700, 420), fill=(220, 120, 40))
    draw.polygon([(100, 460), (300, 330), (500, 460)], fill=(60, 150, 80))
    graphic.save(folder / "graphic.png")
    return folder


def zoomed_residual(model, folder: Path, path: Path, crop: int = 128) -> None:
    """The gradient (hiding the graphic) as `pixinpix hide` makes it: a crop of the stego image beside
    |stego - cover| x 10, both at 3x zoom, into `path`."""
    from pixinpix_tf import api
    from pixinpix_tf.images import read_image

    cover, secret = read_image(folder / "gradient.png"), read_image(folder / "graphic.png")
    stego = api.hide(cover, secret, model)
    top, left = (cover.shape[0] - crop) // 2, (cover.shape[1] - crop) // 2
    window = (slice(top, top + crop), slice(left, left + crop))
    residual = np.clip(np.abs(stego[window].astype(int) - cover[window]) * 10, 0, 255).astype(np.uint8)
    panel = np.concatenate([stego[window], np.full((crop, 4, 3), 255, np.uint8), residual], axis=1)
    Image.fromarray(panel).resize((panel.shape[1] * 3, crop * 3), Image.NEAREST).save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=["imagenet-in-cifar10"], help="model names or paths")
    parser.add_argument("--photos", nargs="+", required=True, help="folders of PNG photos")
    parser.add_argument("--baseline-bits", type=int, nargs="*", default=[1, 2],
                        help="k of the WebP/JPEG-secret baselines (default: 1 2; none: no baselines)")
    parser.add_argument("--lsb-bits", type=int, nargs="*", default=[4],
                        help="k of the LSB baselines (default: 4; none: no LSB)")
    parser.add_argument("--smooth", action="store_true",
                        help="also measure on a smooth gradient and a flat graphic (made here, 768x512)")
    parser.add_argument("--out", help="folder for robust-photos.json and robust-photos.png")
    args = parser.parse_args()
    if args.smooth:
        args.photos.append(str(write_smooth_images(Path(tempfile.mkdtemp()) / "smooth")))

    from pixinpix_tf import api

    from pixinpix_tf.analysis import evaluate, report
    from pixinpix_tf.errors import ImageError
    methods = [api.load_method(name) for name in args.models]
    methods += [api.load_method(f"{codec}{k}") for codec in ("webp", "jpeg") for k in args.baseline_bits]
    methods += [api.load_method(f"lsb{k}") for k in args.lsb_bits]
    results = {}
    for folder in args.photos:
        name = Path(folder).name
        results[name] = {}
        for method in methods:
            fig = evaluate.photo_figures(method, folder, distortions=DISTORTIONS)
            results[name][method.name] = {k: v for k, v in fig.items() if k != "per_photo"}
            after = ", ".join(f"{k} {v:.2f}" for k, v in fig["revealed_psnr_after"].items())
            print(f"{name} ({fig['photos']}) {method.name:22s} stego {fig['stego_psnr']:.2f} dB "
                  f"(SSIM {fig['stego_ssim']:.4f}, worst {fig['min_stego_psnr']:.2f}, leak {fig['leak']:.3f}, "
                  f"grid {fig['grid_ratio']:.2f}), revealed PNG "
                  f"{fig['revealed_psnr']:.2f}; after {after}"
                  + (f"; refused {len(fig['refused'])} covers (counted as mid-grey)" if fig["refused"] else ""),
                  flush=True)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        if args.smooth:
            for method in methods[:len(args.models)]:
                try:
                    zoomed_residual(method, Path(args.photos[-1]), out / f"smooth-zoom-{method.name}.png")
                except ImageError:  # a method that refuses the gradient: nothing to look at
                    pass
        (out / "robust-photos.json").write_text(json.dumps(results, indent=2) + "\n")
        report.plot_jpeg_curves(results, out / "robust-photos.png")
        print(f"wrote {out / 'robust-photos.json'} and {out / 'robust-photos.png'}")


if __name__ == "__main__":
    main()
