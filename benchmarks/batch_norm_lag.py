"""What batch norm's lagging moving statistics cost a trained model.

Prints the mean revealed PSNR (float outputs) of a run's model on the first
`--num` test pairs of its config, with the moving statistics it was saved
with, and again after `train.recalibrate_batch_norm` has recomputed them over
training pairs as training does before each validation.

Example:
    TFDS_DATA_DIR=../shared/data/tfds python benchmarks/batch_norm_lag.py runs/lowbits3-lr3e-4
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def revealed_psnr(model, pairs) -> float:
    from pixinpix_tf.analysis import metrics

    values = [metrics.psnr(np.asarray(targets["revealed"]) * 255,
                           np.asarray(model(inputs, training=False)["revealed"], np.float32) * 255)
              for inputs, targets in pairs]
    return float(np.mean(np.concatenate(values)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="training run directory")
    parser.add_argument("--model", default="best.keras", help="model file in the run (default: best.keras)")
    parser.add_argument("--num", type=int, default=512, help="test pairs (default: 512)")
    parser.add_argument("--pairs", type=int, help="training pairs for the recomputation (default: as training "
                        "does, train.RECALIBRATION_PAIRS in batches of the run's batch size)")
    parser.add_argument("--data-dir")
    args = parser.parse_args(argv)

    from pixinpix_tf.config import Config
    from pixinpix_tf.nets.data import make_pairs
    from pixinpix_tf.inference.loading import load_model
    from pixinpix_tf.nets.train import RECALIBRATION_PAIRS, recalibrate_batch_norm

    run = Path(args.run)
    cfg = Config.from_json((run / "config.json").read_text())
    pairs = args.pairs or RECALIBRATION_PAIRS
    model = load_model(run / args.model)
    test = make_pairs(cfg.replace(test_size=args.num), training=False, data_dir=args.data_dir)
    print(f"{run / args.model}, {args.num} test pairs, revealed PSNR")
    print(f"  saved moving statistics:       {revealed_psnr(model, test):.2f} dB")
    train = make_pairs(cfg.replace(train_size=pairs), training=True, data_dir=args.data_dir)
    recalibrate_batch_norm(model, train, math.ceil(pairs / cfg.batch_size))
    print(f"  recomputed over {pairs} pairs: {revealed_psnr(model, test):.2f} dB")


if __name__ == "__main__":
    main()
