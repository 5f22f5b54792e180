"""ONNX export with tf2onnx: hide.onnx, reveal.onnx and the end-to-end pixinpix.onnx.

Inputs and outputs are named `cover`, `secret`, `stego`, `revealed`; layout
NHWC as in Keras (tf2onnx inserts one transpose at each end), float32 in
[0, 1], dynamic batch axis. `float16_weights` stores the weights in half
precision (computation stays float32), as the shipped pretrained models do where
their 8-bit outputs stay within one level (`exporter.write_pretrained_onnx`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import tensorflow as tf
import tf2onnx
from onnx import numpy_helper

from pixinpix_tf.export.saved_model import input_specs
from pixinpix_tf.model import PixInPix

ONNX_FILES = {"hide": "hide.onnx", "reveal": "reveal.onnx", "pixinpix": "pixinpix.onnx"}
DEFAULT_OPSET = 17


def float16_weights(model_proto: onnx.ModelProto) -> onnx.ModelProto:
    """The same graph with every float32 weight stored in float16 and cast back to float32 where it is used."""
    graph = model_proto.graph
    casts = []
    for initializer in graph.initializer:
        if initializer.data_type != onnx.TensorProto.FLOAT or len(initializer.dims) == 0:
            continue
        name = initializer.name
        half = numpy_helper.from_array(numpy_helper.to_array(initializer).astype(np.float16), name + "_fp16")
        initializer.CopyFrom(half)
        casts.append(onnx.helper.make_node("Cast", [name + "_fp16"], [name], to=onnx.TensorProto.FLOAT,
                                           name=name + "_cast"))
    for cast in reversed(casts):
        graph.node.insert(0, cast)
    return model_proto


def convert(model: PixInPix, directory: str | Path, opset: int = DEFAULT_OPSET, float16: bool = False,
            names: tuple[str, ...] = tuple(ONNX_FILES)) -> dict[str, Path]:
    """Convert the sub-networks and the end-to-end model (`names` of ONNX_FILES); returns the files by name."""
    specs = input_specs(model)

    def hide(cover, secret):
        return {"stego": model.hider({"cover": cover, "secret": secret}, training=False)}

    def reveal(stego):
        return {"revealed": model.revealer(stego, training=False)}

    def pixinpix(cover, secret):
        outputs = model({"cover": cover, "secret": secret}, training=False)
        return {"stego": outputs["stego"], "revealed": outputs["revealed"]}

    functions = {"hide": (hide, (specs["cover"], specs["secret"])), "reveal": (reveal, (specs["stego"],)),
                 "pixinpix": (pixinpix, (specs["cover"], specs["secret"]))}
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in names:
        function, signature = functions[name]
        proto, _ = tf2onnx.convert.from_function(tf.function(function, input_signature=signature),
                                                 input_signature=signature, opset=opset)
        path = directory / ONNX_FILES[name]
        onnx.save(float16_weights(proto) if float16 else proto, str(path))
        paths[name] = path
    return paths
