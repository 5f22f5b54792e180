"""Revealed secret against channel: each method hides for the channel named, the stego image goes through it.

For each photo folder, every photo hides the next (in name order). For each method and channel, the stego
image is made as `pixinpix hide --channel CHANNEL` makes it (`api.hide(..., channel=CHANNEL)`: a method that
tunes itself to the channel, `dct-code`, carries the most that survives it; the others ignore it), put
through the channel with Pillow (`channels.Channel.apply`) and revealed (through a channel that resizes,
against the secret at the size that arrives). A cover the method refuses, or a
secret that does not survive, counts as a mid-grey secret (about 12.8 dB on Kodak). Prints, per method and
channel: stego PSNR / SSIM against the cover (mean, and the lowest), revealed PSNR (mean), refused covers
and seconds per hide and reveal; writes `channels.json` and `channels.png` (revealed PSNR against channel,
every method on the same axes) to `--out`. A run resumes: what `channels.json` in `--out` already holds is
kept, not measured again, and drawn with the rest (so more methods can be added to one figure).

Example:
    python benchmarks/channels.py --methods dct-code avif1 --channels png jpeg:90 jpeg:75 jpeg:50 \\
        --photos ../shared/data/photos/kodak ../shared/data/photos/CBSD68 --out docs/results/channels
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from pixinpix_tf import api, channels
from pixinpix_tf.analysis import metrics
from pixinpix_tf.errors import ImageError
from pixinpix_tf.inference.tiling import fit_secret
from pixinpix_tf.analysis.evaluate import each_hiding_the_next
from pixinpix_tf.analysis.report import write_atomic
from pixinpix_tf.methods import registry
from pixinpix_tf.methods.base import reveal_or_grey


def figures(method_name: str, channel: str, folder: Path, limit: int | None = None) -> dict:
    """The figures of one method through one channel on one folder (module docstring)."""
    method, route = registry.get(method_name), channels.parse(channel)
    files = sorted(folder.glob("*.png"))[:limit]
    rows, refused = [], []
    for cover_file, cover, secret in each_hiding_the_next(files, method.secret_channels):
        start = time.perf_counter()
        try:
            stego = api.hide(cover, secret, method, channel=channel)
        except ImageError:
            refused.append(cover_file.name)
            rows.append([np.nan, np.nan, metrics.psnr(secret, np.full_like(secret, 128))[0], np.nan, np.nan])
            continue
        hidden = time.perf_counter() - start
        start = time.perf_counter()
        revealed = reveal_or_grey(method, route.apply(stego))
        seconds = time.perf_counter() - start
        reference = fit_secret(secret, *revealed.shape[:2])  # a channel that resizes delivers the secret smaller
        rows.append([metrics.psnr(cover, stego)[0], metrics.ssim(cover, stego)[0],
                     metrics.psnr(reference, revealed)[0], hidden, seconds])
    rows = np.asarray(rows, np.float64)
    mean = np.nanmean(rows, axis=0) if len(refused) < len(rows) else np.full(rows.shape[1], np.nan)
    return {"photos": len(rows), "refused": refused, "stego_psnr": float(mean[0]), "stego_ssim": float(mean[1]),
            "min_stego_psnr": float(np.nanmin(rows[:, 0])) if len(refused) < len(rows) else float("nan"),
            "min_stego_ssim": float(np.nanmin(rows[:, 1])) if len(refused) < len(rows) else float("nan"),
            "revealed_psnr": float(mean[2]), "seconds_per_hide": float(mean[3]), "seconds_per_reveal": float(mean[4]),
            "revealed_psnr_per_photo": [float(value) for value in rows[:, 2]]}


def draw(results: dict, path: Path) -> None:
    """Revealed PSNR against channel, a line per method and photo folder."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def group(name: str) -> int:  # 0: png and JPEG (one line), 1: WebP, 2: a resize first (markers alone)
        kinds = {step.kind for step in channels.parse(name).steps}
        return 2 if kinds & {"resize", "fit"} else 1 if "webp" in kinds else 0

    def order(name: str) -> tuple:  # png first, then JPEG from the highest quality down, then the others
        route = channels.parse(name)
        qualities = [step.value for step in route.steps if step.kind in ("jpeg", "webp")]
        return group(name), -(101 if route.lossless else min(qualities, default=0))

    names = sorted({name for methods in results.values() for per in methods.values() for name in per}, key=order)
    figure, axes = plt.subplots(figsize=(7.5, 4.2))
    for folder, methods in results.items():
        for method, per_channel in methods.items():
            shown = [name for name in names if name in per_channel]
            line, = axes.plot([names.index(name) for name in shown if not group(name)],
                              [per_channel[name]["revealed_psnr"] for name in shown if not group(name)],
                              marker="o", label=f"{method} ({folder})")
            others = [name for name in shown if group(name)]
            axes.plot([names.index(name) for name in others], [per_channel[name]["revealed_psnr"] for name in others],
                      marker="s", linestyle="none", color=line.get_color())
    axes.set_xticks(range(len(names)), names, rotation=20, ha="right", fontsize=8)
    axes.set_xlabel("channel (the stego image made for it, then put through it; squares: not JPEG alone)")
    axes.set_ylabel("revealed secret, mean PSNR (dB)")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=["dct-code", "avif1"])
    parser.add_argument("--channels", nargs="+", default=["png", "jpeg:90", "jpeg:75", "jpeg:50"])
    parser.add_argument("--photos", nargs="+", required=True, help="folders of PNG photos")
    parser.add_argument("--limit", type=int, help="the first LIMIT photos of each folder only")
    parser.add_argument("--out", type=Path, help="folder for channels.json and channels.png")
    args = parser.parse_args()
    saved = args.out / "channels.json" if args.out else None
    results = json.loads(saved.read_text()) if saved and saved.exists() else {}
    for folder in map(Path, args.photos):
        for method in args.methods:
            for channel in args.channels:
                if channel in results.get(folder.name, {}).get(method, {}):
                    continue
                result = figures(method, channel, folder, args.limit)
                results.setdefault(folder.name, {}).setdefault(method, {})[channel] = result
                print(f"{folder.name:8} {method:10} {channel:20} stego {result['stego_psnr']:6.2f} dB / "
                      f"{result['stego_ssim']:.4f} (lowest {result['min_stego_psnr']:.2f} / "
                      f"{result['min_stego_ssim']:.4f})"
                      f"  revealed {result['revealed_psnr']:6.2f} dB  refused {len(result['refused'])}"
                      f"  hide {result['seconds_per_hide']:.2f} s reveal {result['seconds_per_reveal']:.2f} s",
                      flush=True)
                if args.out:
                    args.out.mkdir(parents=True, exist_ok=True)
                    write_atomic(saved, json.dumps(results, indent=2) + "\n")
    if args.out:
        draw(results, args.out / "channels.png")


if __name__ == "__main__":
    main()
