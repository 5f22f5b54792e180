"""`pixinpix export`: SavedModel and ONNX exports, parity-checked, written atomically.

Layout of an export folder DIR:

    DIR/metadata.json                    what a runtime needs to know (read by pixinpix_tf.inference.loading)
    DIR/saved_model/models.config        for tensorflow_model_server --model_config_file
    DIR/saved_model/NAME/VERSION/        the SavedModel (TF Serving layout)
    DIR/onnx/hide.onnx, reveal.onnx, pixinpix.onnx   float32 NHWC batches at the networks' level
    DIR/onnx/hide_image.onnx, reveal_image.onnx      one uint8 (H, W, C) image of any size in and out

Everything is written into a temporary folder inside DIR, checked against Keras
(max |difference| <= 1e-4 for every signature and network ONNX file, at batch
sizes 1 and 5; the image graphs' uint8 images against `pixinpix_tf.inference.tiling`'s at
most one level apart on at most MAX_FRACTION_OFF of the values) and only then
moved into place; a failure leaves nothing behind.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from pixinpix_tf.config import Config
from pixinpix_tf.errors import ExportError, ModelError
from pixinpix_tf.inference.loading import EXPORT_METADATA, load_model, locate, run_config
from pixinpix_tf.nets.model import PixInPix

FORMATS = ("saved_model", "onnx")
# Float32 sums in another order (onnxruntime runs the convolutions in NCHW) differ by up to
# about 1e-5 on the shipped 5.7 M-weight networks; 1e-4 is still 1/39 of an 8-bit level, while a
# wrong conversion is off by far more.
TOLERANCE = 1e-4
PARITY_BATCHES = (1, 5)
# The image graphs' uint8 outputs against Keras through `pixinpix_tf.inference.tiling` in float32: at most one level
# apart (a value on a rounding boundary), on at most this share of the values.
MAX_FRACTION_OFF = 0.01


def _random_inputs(model: PixInPix, batch: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    size = model.image_size
    return {"cover": rng.random((batch, size, size, 3), dtype=np.float32),
            "secret": rng.random((batch, size, size, model.secret_channels), dtype=np.float32)}


def _keras_reference(model: PixInPix, inputs: dict) -> dict[str, np.ndarray]:
    stego = np.asarray(model.hider(inputs, training=False))
    return {"hide": {"stego": stego}, "reveal": {"revealed": np.asarray(model.revealer(stego, training=False))}}


def _end_to_end_reference(model: PixInPix, inputs: dict, actual_stego: np.ndarray) -> dict[str, np.ndarray]:
    """Keras' stego, and the revealed image of the export's own 8-bit stego if the model rounds it.

    A stego value within 1e-7 of a rounding boundary may round the other way in
    another runtime; comparing `revealed` on the same rounded stego keeps the
    check strict everywhere else.
    """
    stego = np.asarray(model.hider(inputs, training=False))
    revealer_input = np.round(np.clip(actual_stego, 0, 1) * 255) / 255 if model.quantize_stego else stego
    return {"stego": stego, "revealed": np.asarray(model.revealer(revealer_input, training=False))}


def _max_difference(expected: dict, actual: dict) -> float:
    return max(float(np.abs(expected[k] - np.asarray(actual[k])).max()) for k in expected)


def check_saved_model(model: PixInPix, directory: Path) -> dict[str, float]:
    """Max |difference| against Keras of every float signature (and PNG levels), per batch size."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(directory))
    report = {}
    for batch in PARITY_BATCHES:
        inputs = _random_inputs(model, batch, seed=batch)
        reference = _keras_reference(model, inputs)
        calls = {
            "hide": lambda: loaded.signatures["hide"](**inputs),
            "reveal": lambda: loaded.signatures["reveal"](stego=tf.constant(reference["hide"]["stego"])),
        }
        for name, call in calls.items():
            report[f"{name}@{batch}"] = _max_difference(reference[name], {k: v.numpy() for k, v in call().items()})
        both = {k: v.numpy() for k, v in loaded.signatures["serving_default"](**inputs).items()}
        report[f"serving_default@{batch}"] = _max_difference(
            _end_to_end_reference(model, inputs, both["stego"]), both)
        report[f"hide_png@{batch}"], report[f"reveal_png@{batch}"] = _png_levels(model, loaded, inputs)
    return report


def _png_levels(model: PixInPix, loaded, inputs: dict) -> tuple[float, float]:
    """Largest difference, in 8-bit levels, of the PNG signatures against Keras on 8-bit inputs."""
    import tensorflow as tf

    from pixinpix_tf.images import to_uint8

    covers, secrets = to_uint8(inputs["cover"]), to_uint8(inputs["secret"])
    encode = lambda images: tf.map_fn(tf.io.encode_png, tf.constant(images), fn_output_signature=tf.string)  # noqa
    decode = lambda pngs: np.stack([tf.io.decode_png(p).numpy() for p in pngs.numpy()])  # noqa
    stego_png = loaded.signatures["hide_png"](cover_png=encode(covers), secret_png=encode(secrets))["stego_png_bytes"]
    stego = decode(stego_png)
    expected_stego = to_uint8(model.hide(covers, secrets))
    revealed = decode(loaded.signatures["reveal_png"](stego_png=stego_png)["revealed_png_bytes"])
    expected_revealed = to_uint8(model.reveal(stego))
    return (float(np.abs(stego.astype(int) - expected_stego).max()),
            float(np.abs(revealed.astype(int) - expected_revealed).max()))


def check_onnx(model: PixInPix, directory: Path) -> dict[str, float]:
    """Max |difference| against Keras of every ONNX file, per batch size."""
    import onnxruntime as ort

    sessions = {name: ort.InferenceSession(str(directory / f"{name}.onnx"), providers=["CPUExecutionProvider"])
                for name in ("hide", "reveal", "pixinpix")}
    report = {}
    for batch in PARITY_BATCHES:
        inputs = _random_inputs(model, batch, seed=batch)
        reference = _keras_reference(model, inputs)
        stego = reference["hide"]["stego"]
        runs = {
            "hide": (sessions["hide"], inputs, lambda actual: reference["hide"]),
            "reveal": (sessions["reveal"], {"stego": stego}, lambda actual: reference["reveal"]),
            "pixinpix": (sessions["pixinpix"], inputs,
                         lambda actual: _end_to_end_reference(model, inputs, actual["stego"])),
        }
        for name, (session, feed, expected) in runs.items():
            names = [o.name for o in session.get_outputs()]
            actual = dict(zip(names, session.run(names, feed)))
            report[f"{name}.onnx@{batch}"] = _max_difference(expected(actual), actual)
    report.update(_check_image_graphs(model, directory))
    return report


def _check_image_graphs(model: PixInPix, directory: Path) -> dict[str, float]:
    """The largest difference in 8-bit levels, and the share of values that differ, of hide_image.onnx /
    reveal_image.onnx against Keras through `pixinpix_tf.inference.tiling` (revealing the graph's own stego), on a
    random image of `_image_check_shape`."""
    import onnxruntime as ort

    from pixinpix_tf.inference.tiling import hide_image, layout, reveal_image

    rng = np.random.default_rng(0)
    height, width = _image_check_shape(model)
    cover = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    secret = rng.integers(0, 256, (height, width, model.secret_channels), dtype=np.uint8)
    hide_session, reveal_session = (ort.InferenceSession(str(directory / f"{name}_image.onnx"),
                                                         providers=["CPUExecutionProvider"])
                                    for name in ("hide", "reveal"))
    stego = hide_session.run(None, {"cover": cover, "secret": secret})[0]
    revealed = reveal_session.run(None, {"stego": stego})[0]
    report = {}
    for name, expected, actual in (
            ("hide_image", hide_image(model.hide, cover, secret, **layout(model)), stego),
            ("reveal_image", reveal_image(model.reveal, stego, model.secret_channels, **layout(model)), revealed)):
        difference = np.abs(expected.astype(int) - actual)
        report[f"{name}.onnx_levels"] = float(difference.max())
        report[f"{name}.onnx_fraction_off"] = float((difference > 0).mean())
    return report


def _image_check_shape(model: PixInPix) -> tuple[int, int]:
    """(height, width), neither a multiple of the tile, large enough to need two chunks of tiles
    (`tiling.CHUNK_TILES`) or, for a `whole_image` model, several windows (`tiling.WINDOW_PIXELS`)."""
    from pixinpix_tf.inference import tiling

    tile = tiling.layout(model)["tile"]
    side = math.isqrt(tiling.WINDOW_PIXELS) if model.whole_image else tile * math.isqrt(tiling.CHUNK_TILES)
    return side + 13, side + tile + 7


def _limit(key: str) -> float:
    """The largest parity figure allowed for the `parity_max_abs_difference` entry `key`."""
    if key.endswith("_fraction_off"):
        return MAX_FRACTION_OFF
    return 1.0 if "_png" in key or "_levels" in key else TOLERANCE


def _metadata(model: PixInPix, model_file: Path, name: str, version: int, formats, parity: dict) -> dict:
    cfg: Config | None = run_config(model_file)
    metrics_file = (model_file if model_file.is_dir() else model_file.parent) / "eval" / "metrics.json"
    metrics = None
    if metrics_file.is_file():
        headline = json.loads(metrics_file.read_text())["pixinpix"]["8bit"]
        metrics = {part: {m: headline[part][m]["mean"] for m in headline[part]} for part in headline}
    return {
        "name": name,
        "version": version,
        "formats": list(formats),
        "image_size": model.image_size,
        "secret_channels": model.secret_channels,
        "dtype": "float32",
        "value_range": [0.0, 1.0],
        "layout": "NHWC",
        # Any height and width that are multiples of side_multiple (the networks are fully convolutional).
        "inputs": {"cover": [None, None, None, 3], "secret": [None, None, None, model.secret_channels],
                   "stego": [None, None, None, 3]},
        "outputs": {"stego": [None, None, None, 3], "revealed": [None, None, None, model.secret_channels]},
        "side_multiple": model.side_multiple,
        "whole_image": model.whole_image,
        "quantize_stego": model.quantize_stego,
        "saved_model": {"path": f"saved_model/{name}/{version}", "signatures": ["serving_default", "hide", "reveal",
                                                                                "hide_png", "reveal_png"]}
        if "saved_model" in formats else None,
        "onnx": {"hide": "onnx/hide.onnx", "reveal": "onnx/reveal.onnx", "pixinpix": "onnx/pixinpix.onnx",
                 "hide_image": "onnx/hide_image.onnx", "reveal_image": "onnx/reveal_image.onnx"}
        if "onnx" in formats else None,
        "model_config": model.get_config(),
        "training_config": cfg.to_dict() if cfg else None,
        "metrics_8bit_stego": metrics,
        "parity_max_abs_difference": parity,
        "source": str(model_file),
    }


def export_model(model_path: str | Path, out: str | Path, formats=FORMATS, name: str | None = None,
                 version: int = 1, opset: int | None = None, overwrite: bool = False,
                 log=lambda message: None) -> dict:
    """Export a trained model (a `.keras` file, a run directory or a pretrained model) into `out`.

    Returns the metadata written (with the parity figures). Raises ExportError when
    the version exists (without `overwrite`) or parity fails; nothing is left behind then.
    """
    files = locate(model_path)
    if files.keras is None:
        raise ModelError(f"{model_path} is an export already; export the run or .keras file it came from")
    model_file = files.keras
    model = load_model(model_file)
    name = name or files.name
    out = Path(out)
    targets = []
    if "saved_model" in formats:
        targets.append(out / "saved_model" / name / str(version))
    if "onnx" in formats:
        targets.append(out / "onnx")
    existing = [t for t in targets if t.exists()]
    if existing and not overwrite:
        raise ExportError(f"{existing[0]} exists; pass --overwrite to replace it")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".export-", dir=out) as tmp:
        tmp = Path(tmp)
        parity: dict[str, float] = {}
        if "saved_model" in formats:
            from pixinpix_tf.export import saved_model

            log("writing the SavedModel and checking its signatures")
            saved_model.save(model, str(tmp / "saved_model"))
            parity.update(check_saved_model(model, tmp / "saved_model"))
        if "onnx" in formats:
            from pixinpix_tf.export import onnx

            log("converting to ONNX (5 files) and checking them")
            onnx.convert(model, tmp / "onnx", **({"opset": opset} if opset else {}))
            parity.update(check_onnx(model, tmp / "onnx"))
        failures = {k: v for k, v in parity.items() if v > _limit(k)}
        if failures:
            raise ExportError("parity check failed (max |difference|): "
                              + ", ".join(f"{k} {v:.3g}" for k, v in failures.items()))
        metadata = _metadata(model, model_file, name, version, formats, parity)
        (tmp / EXPORT_METADATA).write_text(json.dumps(metadata, indent=2) + "\n")
        # Move into place: each target is replaced whole, so no half-written version folder exists.
        for target in existing:
            shutil.rmtree(target)
        if "saved_model" in formats:
            targets[0].parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp / "saved_model", targets[0])
            from pixinpix_tf.export.saved_model import models_config

            (out / "saved_model" / "models.config").write_text(
                models_config(name, f"/models/{name}"))
        if "onnx" in formats:
            os.replace(tmp / "onnx", out / "onnx")
        os.replace(tmp / EXPORT_METADATA, out / EXPORT_METADATA)
    return metadata


def _sample_tiles(model: PixInPix) -> dict[str, np.ndarray]:
    """Tiles of the bundled sample photos (real images) as float covers and secrets."""
    from pixinpix_tf.images import SAMPLES, read_image
    from pixinpix_tf.inference.tiling import fit_secret, to_tiles

    size = model.image_size
    cover = read_image(SAMPLES / "cover.png", 3)
    secret = fit_secret(read_image(SAMPLES / "secret.png", model.secret_channels), *cover.shape[:2])
    whole = (slice(0, cover.shape[0] // size * size), slice(0, cover.shape[1] // size * size))
    return {"cover": to_tiles(cover[whole], size), "secret": to_tiles(secret[whole], size)}


def write_pretrained_onnx(model: PixInPix, folder: str | Path) -> dict:
    """Write hide.onnx, reveal.onnx, hide_image.onnx and reveal_image.onnx into `folder`/onnx after checking
    their 8-bit outputs against Keras' (the networks on the bundled sample photos' tiles, the image graphs
    as `_check_image_graphs` does): at most one level apart.

    Weights are stored in float16 when that passes the check, else in float32 (tf2onnx folds batch
    norm into the convolutions, and some folded weights lose too much in half precision).
    Returns {"weights": dtype, "hide"/"reveal": largest difference in levels, "*_fraction_off":
    share of values that differ, and `_check_image_graphs`' figures}. Raises ExportError (and writes
    nothing) if float32 fails too.
    """
    from pixinpix_tf.images import to_uint8
    from pixinpix_tf.inference.onnx_runtime import OnnxPixInPix

    from pixinpix_tf.export import onnx

    tiles = _sample_tiles(model)
    keras_stego = to_uint8(model.hide(tiles["cover"], tiles["secret"]))
    keras_revealed = to_uint8(model.reveal(keras_stego))
    with tempfile.TemporaryDirectory(prefix=".export-", dir=folder) as tmp:
        for weights in ("float16", "float32"):
            written = Path(tmp) / weights
            onnx.convert(model, written, float16=weights == "float16",
                         names=("hide", "reveal", "hide_image", "reveal_image"))
            runtime = OnnxPixInPix(written, model.get_config(), providers=["CPUExecutionProvider"])
            report = {"weights": weights}
            for name, expected, actual in (
                    ("hide", keras_stego, to_uint8(runtime.hide(tiles["cover"], tiles["secret"]))),
                    ("reveal", keras_revealed, to_uint8(runtime.reveal(keras_stego)))):
                difference = np.abs(expected.astype(int) - actual)
                report[name], report[f"{name}_fraction_off"] = float(difference.max()), float((difference > 0).mean())
            report.update(_check_image_graphs(model, written))
            if max(v for k, v in report.items() if k in ("hide", "reveal") or k.endswith("_levels")) <= 1:
                target = Path(folder) / "onnx"
                if target.exists():
                    shutil.rmtree(target)
                os.replace(written, target)
                return report
    raise ExportError(f"the ONNX files differ from Keras by more than one 8-bit level: {report}")
