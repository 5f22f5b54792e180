"""Robustness on whole photos: every method through the distortions a shared photo meets.

For each folder, every photo hides the next (in name order). Each method (the
given models on their default backend, and the compressed-secret baselines)
hides, the 8-bit stego PNG is then saved as JPEG at quality 95/90/75/50,
resized to half and back, noised (sigma 2 and 5) or blurred, and revealed.
Prints stego PSNR/SSIM (mean and worst photo) and the revealed PSNR after each,
writes the figures as JSON and draws revealed PSNR against JPEG quality, every
method on the same axes.

Example:
    python benchmarks/robust_photos.py --models imagenet-in-cifar10 \\
        --photos ../shared/data/photos/kodak ../shared/data/photos/CBSD68 --out docs/results/robust-photos
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

DISTORTIONS = (("jpeg", 5.0), ("jpeg", 10.0), ("jpeg", 25.0), ("jpeg", 50.0), ("resize", 0.5), ("noise", 2.0),
               ("noise", 5.0), ("blur", 1.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=["imagenet-in-cifar10"], help="model names or paths")
    parser.add_argument("--photos", nargs="+", required=True, help="folders of PNG photos")
    parser.add_argument("--baseline-bits", type=int, nargs="*", default=[1, 2],
                        help="k of the WebP/JPEG-secret baselines (default: 1 2; none: no baselines)")
    parser.add_argument("--whole-image", action="store_true",
                        help="hide and reveal with the models whole (no tiles), whatever their config says")
    parser.add_argument("--out", help="folder for robust-photos.json and robust-photos.png")
    args = parser.parse_args()

    from pixinpix_tf import api, evaluate, report

    models = [api.resolve_model(name) for name in args.models]
    for model in models:
        model.whole_image = model.whole_image or args.whole_image
    methods = [evaluate.model_method(model, name=Path(name).name) for name, model in zip(args.models, models)]
    methods += evaluate.baseline_methods(tuple(args.baseline_bits))
    results = {}
    for folder in args.photos:
        name = Path(folder).name
        results[name] = {}
        for method in methods:
            fig = evaluate.photo_figures(method, folder, distortions=DISTORTIONS)
            results[name][method.name] = {k: v for k, v in fig.items() if k != "per_photo"}
            after = ", ".join(f"{k} {v:.2f}" for k, v in fig["revealed_psnr_after"].items())
            print(f"{name} ({fig['photos']}) {method.name:22s} stego {fig['stego_psnr']:.2f} dB "
                  f"(SSIM {fig['stego_ssim']:.4f}, worst {fig['min_stego_psnr']:.2f}), revealed PNG "
                  f"{fig['revealed_psnr']:.2f}; after {after}", flush=True)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "robust-photos.json").write_text(json.dumps(results, indent=2) + "\n")
        report.plot_jpeg_curves(results, out / "robust-photos.png")
        print(f"wrote {out / 'robust-photos.json'} and {out / 'robust-photos.png'}")


if __name__ == "__main__":
    main()
