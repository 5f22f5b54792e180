"""Keyed hiding: what the right key, a wrong key and no key reveal (`pixinpix_tf.keys`).

For each photo folder every photo hides the next (in name order) with a method, unkeyed and keyed, as
`pixinpix hide --key-file` does (a network scrambles the secret, dct-code encrypts its payload). It
prints revealed-vs-secret PSNR and SSIM (mean over the folder) without a key, and keyed with the right
key, a wrong key and no key; what reveals nothing counts as a mid-grey image. `--out` writes keyed.png
(the first photo's secret, its unkeyed reveal and the three keyed ones side by side, per folder) and
keyed.json. A network's key needs at least keys.MIN_BLOCKS blocks, so 32x32 pairs cannot be keyed
(benchmarks/keyed_digits.py enlarges them).

Example:
    python benchmarks/keyed.py --photos ../shared/data/photos/kodak ../shared/data/photos/CBSD68 \\
        --out docs/results/keyed
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

from pixinpix_tf import api, keys

from pixinpix_tf.analysis import metrics
from pixinpix_tf.methods.base import reveal_or_grey
from pixinpix_tf.errors import ImageError
from pixinpix_tf.images import read_image
from pixinpix_tf.inference.tiling import fit_secret

RIGHT, WRONG = keys.Key("benchmark passphrase"), keys.Key("benchmark passphrase!")


def keyed_reveals(method, cover: np.ndarray, secret: np.ndarray) -> dict[str, np.ndarray]:
    """The secret's reveals unkeyed, and hidden with the right key then revealed with the right, a wrong and
    no key (mid-grey where nothing reveals)."""
    secret = fit_secret(secret, *cover.shape[:2])
    keyed = method.hide(cover, secret, RIGHT)
    return {"unkeyed": reveal_or_grey(method, method.hide(cover, secret)),
            "right key": reveal_or_grey(method, keyed, RIGHT), "wrong key": reveal_or_grey(method, keyed, WRONG),
            "no key": reveal_or_grey(method, keyed)}


def scores(secrets: list[np.ndarray], reveals: list[dict]) -> dict[str, dict[str, float]]:
    return {name: {"psnr": float(np.mean([metrics.psnr(s, r[name])[0] for s, r in zip(secrets, reveals)])),
                   "ssim": float(np.mean([metrics.ssim(s, r[name])[0] for s, r in zip(secrets, reveals)]))}
            for name in reveals[0]}


def photo_figures(method, folder: Path) -> tuple[dict, dict]:
    paths = sorted(folder.glob("*.png"))  # the pairs of evaluate.photo_figures and the model cards
    images = [read_image(p) for p in paths]
    secrets = [fit_secret(images[(i + 1) % len(images)], *image.shape[:2]) for i, image in enumerate(images)]
    kept, reveals = [], []
    for cover, secret in zip(images, secrets):
        try:
            reveals.append(keyed_reveals(method, cover, secret))
            kept.append(secret)
        except ImageError:  # a cover the method refuses: left out
            continue
    figures = scores(kept, reveals)
    figures["refused"] = len(secrets) - len(kept)
    return figures, {"secret": kept[0], **reveals[0]}


def draw(rows: list[tuple[str, dict]], path: Path, height: int = 192) -> None:
    """Each row: the secret and its reveals side by side, scaled to `height` (nearest neighbour)."""
    lines = []
    for _, images in rows:
        tiles = []
        for image in images.values():
            image = np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image
            width = round(image.shape[1] * height / image.shape[0])
            tiles += [np.asarray(Image.fromarray(image).resize((width, height), Image.NEAREST)),
                      np.full((height, 6, 3), 255, np.uint8)]
        lines.append(np.concatenate(tiles[:-1], axis=1))
    width = max(line.shape[1] for line in lines)
    padded = [np.pad(line, ((0, 6), (0, width - line.shape[1]), (0, 0)), constant_values=255) for line in lines]
    Image.fromarray(np.concatenate(padded)[:-6]).save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", nargs="*", default=[], type=Path, help="photo folders")
    parser.add_argument("--model", default=api.DEFAULT_MODEL, help="method (default: %(default)s)")
    parser.add_argument("--out", type=Path, help="folder for keyed.png and keyed.json")
    args = parser.parse_args()
    method = api.load_method(args.model)
    results, rows = {}, []
    for folder in args.photos:
        figures, example = photo_figures(method, folder)
        results[folder.name] = figures
        rows.append((folder.name, example))
        line = ", ".join(f"{what} {f['psnr']:.2f} dB / {f['ssim']:.3f}" for what, f in figures.items()
                         if what != "refused") + f"; {figures['refused']} covers refused"
        print(f"{folder.name}: {line}", flush=True)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "keyed.json").write_text(json.dumps(results, indent=2) + "\n")
        if rows:
            draw(rows, args.out / "keyed.png")
            print(f"wrote {args.out / 'keyed.png'} (secret, unkeyed, right key, wrong key, no key)")


if __name__ == "__main__":
    main()
