"""Training throughput (images/s) of a preset, from the tfds pipeline and from in-memory tensors, against
a PyTorch twin of the same network.

Both Keras figures are measured in the same process with `model.fit` on the same model; if the pipeline
figure is well below the in-memory one, the pipeline is the bottleneck. With `--torch-python PYTHON` (an
interpreter that has torch: `python -m venv /tmp/torch && /tmp/torch/bin/pip install torch numpy`),
`benchmarks/torch_twin.py` trains two plain U-Nets of the same shape and parameter count with Adam on
random 32x32 pairs of the same batch size, in the same run, and the ratio is printed. Compare with
`--optimizer adam` (the twin's optimizer). The package turns on TensorFlow's oneDNN kernels before
TensorFlow is imported (`pixinpix_tf.extras`); `TF_ENABLE_ONEDNN_OPTS=0` in the environment measures
without them.

Example:
    TFDS_DATA_DIR=../shared/data/tfds python benchmarks/train_throughput.py --preset paper --optimizer adam \\
        --batch-size 64 --torch-python /tmp/torch/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pixinpix_tf  # noqa: E402, F401  (before TensorFlow: oneDNN on, as everywhere in the package)
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from pixinpix_tf.config import get_preset  # noqa: E402
from pixinpix_tf.nets.data import make_pairs  # noqa: E402
from pixinpix_tf.nets.model import PixInPix  # noqa: E402
from pixinpix_tf.nets.train import compile_model  # noqa: E402


def images_per_second(model, dataset, steps: int, batch_size: int) -> float:
    """Images/s of one full pass over `dataset` (`steps` batches), as in a training epoch."""
    start = time.perf_counter()
    model.fit(dataset, epochs=1, verbose=0, shuffle=False)
    return steps * batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--cover", default="cifar10")
    parser.add_argument("--secret", default="mnist")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--steps", type=int, default=40, help="training steps per timed epoch")
    parser.add_argument("--mixed-precision", choices=("on", "off"), help="override the preset's setting")
    parser.add_argument("--data-dir")
    parser.add_argument("--optimizer", help="override the preset's optimizer (adam, as the PyTorch twin)")
    parser.add_argument("--torch-python", help="an interpreter with torch: also train the PyTorch twin")
    args = parser.parse_args()

    cfg = get_preset(args.preset).replace(cover=args.cover, secret=args.secret)
    if args.batch_size:
        cfg = cfg.replace(batch_size=args.batch_size)
    if args.mixed_precision:
        cfg = cfg.replace(mixed_precision=args.mixed_precision == "on")
    if args.optimizer:
        cfg = cfg.replace(optimizer=args.optimizer)
    cfg = cfg.replace(train_size=args.steps * cfg.batch_size)
    if cfg.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")

    model = PixInPix.from_model_config(cfg.model)
    compile_model(model, cfg, steps_per_epoch=args.steps)
    pipeline = make_pairs(cfg, training=True, data_dir=args.data_dir)
    batch = next(iter(pipeline))
    in_memory = tf.data.Dataset.from_tensors(batch).repeat(args.steps)

    precision = "bfloat16" if cfg.mixed_precision else "float32"
    print(f"preset {args.preset} ({precision}, {cfg.optimizer}), {model.count_params():,} parameters, batch "
          f"{cfg.batch_size}, {args.steps} steps, {cfg.cover} covers / {cfg.secret} secrets, {os.cpu_count()} CPUs, "
          f"TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS')}")
    # Three interleaved rounds, best of each: the first pass fills the pipeline's
    # cache (as a first epoch does) and pays one-off costs (tracing, allocation).
    memory_rate = pipeline_rate = 0.0
    for _ in range(3):
        memory_rate = max(memory_rate, images_per_second(model, in_memory, args.steps, cfg.batch_size))
        pipeline_rate = max(pipeline_rate, images_per_second(model, pipeline, args.steps, cfg.batch_size))
    print(f"in-memory tensors: {memory_rate:8.1f} images/s")
    print(f"tfds pipeline:     {pipeline_rate:8.1f} images/s ({pipeline_rate / memory_rate:.0%} of in-memory)")
    if args.torch_python:
        m = cfg.model
        script = str(Path(__file__).with_name("torch_twin.py"))
        twin = subprocess.run([args.torch_python, script, "--depth", str(m.depth),
                               "--base-filters", str(m.base_filters), "--max-filters", str(m.max_filters),
                               "--convs-per-step", str(m.convs_per_step), "--batch-size", str(cfg.batch_size),
                               "--steps", str(args.steps)], capture_output=True, text=True, check=True)
        torch_figures = json.loads(twin.stdout.strip().splitlines()[-1])
        print(f"PyTorch twin:      {torch_figures['images_per_second']:8.1f} images/s "
              f"({torch_figures['parameters']:,} parameters, float32, Adam, random pairs)")
        print(f"Keras / PyTorch:   {memory_rate / torch_figures['images_per_second']:8.2f}x (in-memory tensors)")


if __name__ == "__main__":
    main()
