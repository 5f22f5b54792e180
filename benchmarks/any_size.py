"""Any image size: tiling into 32x32 blocks against running the networks on the whole padded image.

For each photo folder, every photo is a cover and the next photo (in name
order) its secret. Prints mean stego PSNR (vs cover) and revealed PSNR (vs the
secret resized to the cover's size) after the 8-bit PNG round trip, for both
methods (the networks alone, no stego refinement), and the time and peak memory
of hiding (as `pixinpix hide` does by default, refinement included) and
revealing a 4000x3000 cover with tiling.

Example:
    python benchmarks/any_size.py --model imagenet-in-cifar10 \\
        --photos ../shared/data/photos/kodak ../shared/data/photos/Set14
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def whole_image(model, size: int):
    """hide/reveal functions that run the networks once on an image padded to a square `size`."""
    from pixinpix_tf.images import to_uint8
    from pixinpix_tf.nets.model import PixInPix

    big = PixInPix(**{**model.get_config(), "image_size": size})
    big.set_weights(model.get_weights())

    def pad(image):
        h, w = image.shape[:2]
        return np.pad(image, ((0, size - h), (0, size - w), (0, 0)), mode="reflect")

    def hide(cover, secret):
        return to_uint8(big.hide(pad(cover), pad(secret)))[: cover.shape[0], : cover.shape[1]]

    def reveal(stego):
        return to_uint8(big.reveal(pad(stego)))[: stego.shape[0], : stego.shape[1]]

    return hide, reveal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="pretrained model name, run directory or .keras file")
    parser.add_argument("--photos", nargs="*", default=[], help="folders of photos (none: only the memory check)")
    parser.add_argument("--skip-big", action="store_true", help="skip the 4000x3000 memory check")
    parser.add_argument("--refine", type=int, default=0, help="refinement steps of the 4000x3000 hide (default: 0)")
    args = parser.parse_args()

    from pixinpix_tf import api

    from pixinpix_tf.analysis import metrics
    from pixinpix_tf.images import read_image
    from pixinpix_tf.inference.loading import load_model
    from pixinpix_tf.inference.tiling import fit_secret

    model = load_model(args.model)
    for folder in args.photos:
        files = sorted(Path(folder).glob("*.png"))
        results = {"tiles": [], "whole image": []}
        for cover_file, secret_file in zip(files, files[1:] + files[:1]):
            cover = read_image(cover_file, 3)
            secret = fit_secret(read_image(secret_file, model.secret_channels), *cover.shape[:2])
            side = -(-max(cover.shape[:2]) // model.image_size) * model.image_size
            methods = {"tiles": (lambda c, s: api.hide(c, s, model, refine_steps=0), lambda s: api.reveal(s, model)),
                       "whole image": whole_image(model, side)}
            for name, (hide, reveal) in methods.items():
                stego = hide(cover, secret)
                revealed = reveal(stego)
                results[name].append((metrics.psnr(cover, stego)[0], metrics.psnr(secret, revealed)[0]))
        print(f"{folder} ({len(files)} photos, each hiding the next)")
        for name, values in results.items():
            stego_psnr, revealed_psnr = np.mean(values, axis=0)
            print(f"  {name:12s} stego PSNR {stego_psnr:6.2f} dB   revealed PSNR {revealed_psnr:6.2f} dB")
    if not args.skip_big:
        rng = np.random.default_rng(0)
        cover = rng.integers(0, 256, (3000, 4000, 3), dtype=np.uint8)
        secret = rng.integers(0, 256, (600, 800, 3), dtype=np.uint8)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        start = time.perf_counter()
        stego = api.hide(cover, secret, model, refine_steps=args.refine, progress=True)
        hidden = time.perf_counter()
        api.reveal(stego, model)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"4000x3000 cover with tiles (Keras), {args.refine} refinement steps: hide "
              f"{hidden - start:.0f} s, reveal {time.perf_counter() - hidden:.0f} s, peak memory of the process "
              f"{peak:.0f} MB (before: {before:.0f} MB)")


if __name__ == "__main__":
    main()
