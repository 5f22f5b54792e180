"""Plot evaluated models against the LSB frontier: 8-bit stego PSNR against
revealed PSNR, one point per `pixinpix evaluate` output folder, with the LSB
lines (plain and nearest level) of the first folder's pairs.

Example (the README's ImageNet figure):
    python scripts/frontier.py --out docs/results/frontier-imagenet.png \\
        "lowbits, 10,000 pairs=docs/results/lowbits-imagenet" \\
        "imagenet-in-cifar10, 10,000 pairs=docs/results/imagenet-in-cifar10"
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pixinpix_tf.analysis import report  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("evaluations", nargs="+", metavar="LABEL=FOLDER",
                        help="a label and a `pixinpix evaluate` output folder (holding metrics.json)")
    parser.add_argument("--title", default="8-bit stego images against the LSB frontier")
    parser.add_argument("--out", required=True, help="PNG file to write")
    args = parser.parse_args(argv)
    results = {}
    for item in args.evaluations:
        label, _, folder = item.rpartition("=")
        if not label or not (Path(folder) / "metrics.json").is_file():
            parser.error(f"{item!r}: expected LABEL=FOLDER with FOLDER/metrics.json")
        results[label] = json.loads((Path(folder) / "metrics.json").read_text())

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for label, result in results.items():
        point = report.headline(result["pixinpix"])
        ax.plot(point["stego"], point["revealed"], "o", markersize=8, label=label)
        print(f"{label}: stego {point['stego']:.2f} dB, revealed {point['revealed']:.2f} dB")
    report.plot_lsb_lines(ax, {k: report.headline(r) for k, r in next(iter(results.values()))["lsb"].items()})
    ax.set_xlabel("stego PSNR vs cover (dB, 8-bit)")
    ax.set_ylabel("revealed PSNR vs secret (dB)")
    ax.set_title(args.title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    print(f"plot in {out}")


if __name__ == "__main__":
    main()
