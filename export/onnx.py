"""ONNX export with tf2onnx: hide.onnx, reveal.onnx and the end-to-end pixinpix.onnx.

Inputs and outputs are named `cover`, `secret`, `stego`, `revealed`; layout
NHWC as in Keras (tf2onnx inserts one transpose at each end), float32 in
[0, 1], dynamic batch axis.
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf
import tf2onnx

from pixinpix_tf.model import PixInPix

ONNX_FILES = {"hide": "hide.onnx", "reveal": "reveal.onnx", "pixinpix": "pixinpix.onnx"}
DEFAULT_OPSET = 17


def convert(model: PixInPix, directory: str | Path, opset: int = DEFAULT_OPSET) -> dict[str, Path]:
    """Convert the two sub-networks and the end-to-end model; returns the files by name."""
    size = model.image_size
    cover = tf.TensorSpec((None, size, size, 3), tf.float32, name="cover")
    secret = tf.TensorSpec((None, size, size, model.secret_channels), tf.float32, name="secret")
    stego = tf.TensorSpec((None, size, size, 3), tf.float32, name="stego")

    def hide(cover, secret):
        return {"stego": model.hider({"cover": cover, "secret": secret}, training=False)}

    def reveal(stego):
        return {"revealed": model.revealer(stego, training=False)}

    def pixinpix(cover, secret):
        outputs = model({"cover": cover, "secret": secret}, training=False)
        return {"stego": outputs["stego"], "revealed": outputs["revealed"]}

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, function, signature in (("hide", hide, (cover, secret)), ("reveal", reveal, (stego,)),
                                      ("pixinpix", pixinpix, (cover, secret))):
        path = directory / ONNX_FILES[name]
        tf2onnx.convert.from_function(tf.function(function, input_signature=signature), input_signature=signature,
                                      opset=opset, output_path=str(path))
        paths[name] = path
    return paths
