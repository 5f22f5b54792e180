"""Stego refinement (`pixinpix hide --refine STEPS`): quality, time and robustness against steps.

For each photo folder, every photo is a cover and the next photo (in name
order) its secret. For each number of refinement steps, prints the mean stego
PSNR (vs cover) and revealed PSNR (vs the secret resized to the cover's size)
after the 8-bit PNG round trip, seconds per hide, and the revealed PSNR after
mild distortions of the stego image.

Example:
    python benchmarks/refine.py --model imagenet-in-cifar10 --photos ../shared/data/photos/kodak --steps 0 10 30
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DISTORTIONS = (("noise", 1.0), ("noise", 2.0), ("brightness", 5.0), ("jpeg", 5.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="pretrained model name, run directory or .keras file")
    parser.add_argument("--photos", nargs="+", required=True, help="folders of PNG photos")
    parser.add_argument("--steps", type=int, nargs="+", default=[0, 10, 30], help="refinement steps to compare")
    args = parser.parse_args()

    from pixinpix_tf.analysis import evaluate
    from pixinpix_tf.inference.loading import load_model

    model = load_model(args.model)
    for folder in args.photos:
        for steps in args.steps:
            fig = evaluate.photo_figures(model, folder, refine_steps=steps, distortions=DISTORTIONS)
            after = ", ".join(f"{name} {psnr:.2f}" for name, psnr in fig["revealed_psnr_after"].items())
            print(f"{folder} ({fig['photos']} photos) refine {steps:3d}: stego {fig['stego_psnr']:.2f} dB "
                  f"(SSIM {fig['stego_ssim']:.4f}), revealed {fig['revealed_psnr']:.2f} dB "
                  f"(SSIM {fig['revealed_ssim']:.4f}), {fig['seconds_per_hide']:.1f} s per hide; "
                  f"revealed after {after}", flush=True)


if __name__ == "__main__":
    main()
