"""Trade-off between cover and secret quality: train with several weights on the
revealed loss, evaluate each model, and plot stego PSNR against revealed PSNR
(8-bit stego) with the LSB k = 1..4 points on the same axes.

Each model is an ordinary resumable run in OUT/w<weight>; rerunning the script
resumes unfinished runs and re-evaluates only missing ones.

Example (hours on 2 CPU cores; add --epochs / --train-size to shorten):
    TFDS_DATA_DIR=../shared/data/tfds python scripts/tradeoff.py --secret tiny_imagenet32 \\
        --weights 0.25 0.5 1 2 --out runs/tradeoff-imagenet

Quicker: fine-tune a trained run for an epoch at each weight (--init-from), as
the README's trade-off figure was made (about 40 minutes):
    TFDS_DATA_DIR=../shared/data/tfds python scripts/tradeoff.py --secret tiny_imagenet32 \\
        --init-from runs/imagenet-in-cifar10-fast --epochs 1 --learning-rate 3e-4 --num 2000 \\
        --weights 0.25 0.5 1 2 --out runs/tradeoff-imagenet
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pixinpix_tf import cli  # noqa: E402
from pixinpix_tf.analysis import evaluate, report  # noqa: E402
from pixinpix_tf.nets import train  # noqa: E402


def plot(points: dict[float, dict], lsb: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    xs = [points[w]["stego"] for w in sorted(points)]
    ys = [points[w]["revealed"] for w in sorted(points)]
    ax.plot(xs, ys, "o-", color="black", label="PixInPix (revealed-loss weight)")
    for w in sorted(points):
        ax.annotate(f"{w:g}", (points[w]["stego"], points[w]["revealed"]), textcoords="offset points", xytext=(4, 4))
    report.plot_lsb_lines(ax, lsb)
    ax.set_xlabel("stego PSNR vs cover (dB, 8-bit)")
    ax.set_ylabel("revealed PSNR vs secret (dB)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="fast", help="training recipe (default: fast)")
    cli.add_config_arguments(parser)  # every option of `pixinpix train`, applied on top of the preset
    parser.add_argument("--weights", type=float, nargs="+", default=[0.25, 0.5, 1.0, 2.0],
                        help="weights of the revealed loss (the stego loss weighs 1)")
    parser.add_argument("--num", type=int, default=10_000, help="test pairs for each evaluation")
    parser.add_argument("--data-dir")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    out = Path(args.out)
    base = cli.config_from_args(args)
    points, lsb = {}, {}
    for weight in args.weights:
        run_dir = out / f"w{weight:g}"
        train.run(base.replace(loss_weights=(1.0, weight)), run_dir, data_dir=args.data_dir, verbose=2)
        metrics_file = run_dir / "eval" / "metrics.json"
        if metrics_file.exists():
            result = json.loads(metrics_file.read_text())
        else:
            result = evaluate.run(run_dir, run_dir / "eval", num=args.num, data_dir=args.data_dir, verbose=0)
        points[weight] = report.headline(result["pixinpix"])
        lsb = {k: report.headline(r) for k, r in result["lsb"].items()}
        point = points[weight]
        print(f"weight {weight:g}: stego {point['stego']:.2f} dB, revealed {point['revealed']:.2f} dB")
    (out / "tradeoff.json").write_text(json.dumps({"pixinpix": points, "lsb": lsb}, indent=2) + "\n")
    start = f"\nfine-tuned from {Path(base.init_from).name}" if base.init_from else ""
    plot(points, lsb, out / "tradeoff.png", f"{base.secret} in {base.cover}, {args.preset} preset{start}")
    print(f"plot in {out / 'tradeoff.png'}")


if __name__ == "__main__":
    main()
