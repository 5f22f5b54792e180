"""Inference speed of hide+reveal: Keras, the SavedModel and onnxruntime, in one run.

Prints images/s of the end-to-end model (stego and revealed outputs) at batch
64 and batch 1, and the cold start of `pixinpix hide`
command on onnxruntime (process start to PNG written). Speed does not depend on the weights,
so by default a freshly built model of the `fast` preset is exported.

Example:
    python benchmarks/export_speed.py                      # fast-preset architecture
    python benchmarks/export_speed.py --model runs/mnist-in-cifar10-fast
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def rate(fn, batch: int, seconds: float) -> float:
    fn()  # warm-up: tracing, allocation
    fn()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        count += 1
    return count * batch / (time.perf_counter() - start)


def cold_start(export_dir: Path, workdir: Path, runs: int = 5) -> float:
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("cover", "secret"):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(workdir / f"{name}.png")
    command = [sys.executable, "-m", "pixinpix_tf.cli", "hide", str(workdir / "cover.png"),
               str(workdir / "secret.png"), "-o", str(workdir / "stego.png"), "--model", str(export_dir)]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="run directory or .keras file (default: a new fast-preset model)")
    parser.add_argument("--seconds", type=float, default=4.0, help="timing per measurement")
    args = parser.parse_args()

    import onnxruntime as ort
    import tensorflow as tf

    from pixinpix_tf.config import get_preset
    from pixinpix_tf.export import exporter
    from pixinpix_tf.inference.loading import load_model
    from pixinpix_tf.nets.model import PixInPix

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.model:
            model_path = args.model
        else:
            model_path = tmp / "fast.keras"
            PixInPix.from_model_config(get_preset("fast").model).save(model_path)
        exporter.export_model(model_path, tmp / "export")
        model = load_model(model_path)
        saved = tf.saved_model.load(str(next((tmp / "export" / "saved_model").glob("*/1"))))
        serving = saved.signatures["serving_default"]
        session = ort.InferenceSession(str(tmp / "export" / "onnx" / "pixinpix.onnx"),
                                       providers=["CPUExecutionProvider"])
        print(f"{model.count_params():,} parameters, image {model.image_size}x{model.image_size}, "
              f"{os.cpu_count()} CPUs, onnxruntime {ort.__version__}, TensorFlow {tf.__version__}")
        batches = (256, 64, 1)
        print(f"{'hide+reveal images/s':22s}" + "".join(f"{'batch ' + str(b):>11s}" for b in batches))
        rows = {}
        for batch in batches:
            rng = np.random.default_rng(0)
            inputs = {"cover": rng.random((batch, model.image_size, model.image_size, 3), dtype=np.float32),
                      "secret": rng.random((batch, model.image_size, model.image_size, model.secret_channels),
                                           dtype=np.float32)}
            tensors = {k: tf.constant(v) for k, v in inputs.items()}
            runners = {
                "Keras predict": lambda: model.predict(inputs, batch_size=batch, verbose=0),
                "Keras __call__": lambda: model(inputs, training=False),
                "SavedModel": lambda: serving(**tensors),
                "onnxruntime": lambda: session.run(None, inputs),
            }
            for name, fn in runners.items():
                rows.setdefault(name, {})[batch] = rate(fn, batch, args.seconds)
        for name, values in rows.items():
            print(f"{name:22s}" + "".join(f"{values[b]:11.1f}" for b in batches))
        print("onnxruntime / Keras predict: " + ", ".join(
            f"{rows['onnxruntime'][b] / rows['Keras predict'][b]:.2f}x at batch {b}" for b in batches))
        import onnx

        graph = onnx.load(str(tmp / "export" / "onnx" / "pixinpix.onnx")).graph
        print(f"pixinpix.onnx: {sum(n.op_type == 'Transpose' for n in graph.node)} Transpose nodes "
              f"of {len(graph.node)}; session: default graph optimisation (all), "
              f"{session.get_session_options().intra_op_num_threads or 'default'} intra-op threads")
        print(f"cold start of `pixinpix hide` on onnxruntime (median of 5, process start to PNG written): "
              f"{cold_start(tmp / 'export', tmp):.2f} s")


if __name__ == "__main__":
    main()
