"""ONNX export with tf2onnx: hide.onnx, reveal.onnx, the end-to-end pixinpix.onnx, and the image
graphs hide_image.onnx and reveal_image.onnx.

Inputs and outputs are named `cover`, `secret`, `stego`, `revealed`; layout
NHWC as in Keras (tf2onnx inserts one transpose at each end), float32 in
[0, 1], dynamic batch axis. `float16_weights` stores the weights in half
precision (computation stays float32), as the shipped pretrained models do where
their 8-bit outputs stay within one level (`exporter.write_pretrained_onnx`).

The image graphs do what `pixinpix_tf.tiling` does in Python, so another runtime
needs nothing else: one uint8 (H, W, C) image in (for hide_image, `cover` and a
`secret` already at the cover's height and width), padded by reflection at the
bottom and right to a multiple of the tile (or, for a `whole_image` model, of
side_multiple), cut into tiles (or run whole), reassembled, cropped, rounded to uint8.
Any H and W of at least the tile size; the whole image in one call, so memory
grows with its size.
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
from pixinpix_tf.tiling import layout

ONNX_FILES = {"hide": "hide.onnx", "reveal": "reveal.onnx", "pixinpix": "pixinpix.onnx",
              "hide_image": "hide_image.onnx", "reveal_image": "reveal_image.onnx"}
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

    def hide_image(cover, secret):
        return {"stego": _image_job(lambda c, s: model.hider({"cover": c, "secret": s}, training=False),
                                    [cover, secret], model)}

    def reveal_image(stego):
        return {"revealed": _image_job(lambda x: model.revealer(x, training=False), [stego], model)}

    image_specs = {name: tf.TensorSpec((None, None, spec.shape[-1]), tf.uint8, name=name)
                   for name, spec in specs.items()}
    functions = {"hide": (hide, (specs["cover"], specs["secret"])), "reveal": (reveal, (specs["stego"],)),
                 "pixinpix": (pixinpix, (specs["cover"], specs["secret"])),
                 "hide_image": (hide_image, (image_specs["cover"], image_specs["secret"])),
                 "reveal_image": (reveal_image, (image_specs["stego"],))}
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


def _image_job(network, images: list, model: PixInPix):
    """`network` on uint8 (H, W, C) images as `tiling` runs it: pad, tile (or whole), reassemble, crop, uint8."""
    tile = layout(model)["tile"]
    height, width = tf.shape(images[0])[0], tf.shape(images[0])[1]
    pad_h, pad_w = (tile - height % tile) % tile, (tile - width % tile) % tile
    padded = [tf.pad(tf.cast(image, tf.float32) / 255.0, [[0, pad_h], [0, pad_w], [0, 0]], mode="REFLECT")
              for image in images]
    rows, columns = (height + pad_h) // tile, (width + pad_w) // tile
    if model.whole_image:
        out = network(*[image[None] for image in padded])[0]
    else:
        def to_tiles(image):
            channels = image.shape[-1]
            tiles = tf.transpose(tf.reshape(image, (rows, tile, columns, tile, channels)), (0, 2, 1, 3, 4))
            return tf.reshape(tiles, (rows * columns, tile, tile, channels))

        out = network(*[to_tiles(image) for image in padded])
        channels = out.shape[-1]
        out = tf.reshape(tf.transpose(tf.reshape(out, (rows, columns, tile, tile, channels)), (0, 2, 1, 3, 4)),
                         (rows * tile, columns * tile, channels))
    return tf.cast(tf.clip_by_value(tf.round(out[:height, :width] * 255.0), 0.0, 255.0), tf.uint8)
