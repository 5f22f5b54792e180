"""ONNX export with tf2onnx: hide.onnx, reveal.onnx, the end-to-end pixinpix.onnx, and the image
graphs hide_image.onnx and reveal_image.onnx.

Inputs and outputs are named `cover`, `secret`, `stego`, `revealed`; layout
NHWC as in Keras (tf2onnx inserts one transpose at each end), float32 in
[0, 1], dynamic batch axis. `float16_weights` stores the weights in half
precision (computation stays float32), as the shipped pretrained models do where
their 8-bit outputs stay within one level (`exporter.write_pretrained_onnx`).

The image graphs do what `pixinpix_tf.inference.tiling` does in Python, so another runtime
needs nothing else: one uint8 (H, W, C) image in (for hide_image, `cover` and a
`secret` already at the cover's height and width), one uint8 image of that
height and width out, any H and W of at least the tile size (side_multiple for a
`whole_image` model). Inside the graph, a tiled model's image is padded by
reflection at the bottom and right to a multiple of the tile, cut into tiles and
run at most CHUNK_TILES tiles per iteration of an ONNX Loop; a `whole_image`
model's image runs in one piece padded to side_multiple, or, above
WINDOW_PIXELS, one overlapping window per iteration (`tiling._map_windows`'
rule). Each iteration's output is rounded to uint8 before the next, so memory
beyond a few uint8 copies of the image does not grow with its size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import tensorflow as tf
import tf2onnx
from onnx import numpy_helper

from pixinpix_tf.inference import tiling
from pixinpix_tf.export.saved_model import input_specs
from pixinpix_tf.nets.model import PixInPix

ONNX_FILES = {"hide": "hide.onnx", "reveal": "reveal.onnx", "pixinpix": "pixinpix.onnx",
              "hide_image": "hide_image.onnx", "reveal_image": "reveal_image.onnx"}
DEFAULT_OPSET = 17


def float16_weights(model_proto: onnx.ModelProto) -> onnx.ModelProto:
    """The same graph with every float32 weight stored in float16 and cast back to float32 where it is used."""
    _float16_initializers(model_proto.graph)
    return model_proto


def _float16_initializers(graph: onnx.GraphProto) -> None:
    """Store `graph`'s float32 weights, and those of its subgraphs (a Loop's body), in float16."""
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                _float16_initializers(attribute.g)
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

    hider, revealer = _frozen(model.hider), _frozen(model.revealer)

    def hide_image(cover, secret):
        return {"stego": _image_job(lambda c, s: hider({"cover": c, "secret": s}), [cover, secret], 3, model)}

    def reveal_image(stego):
        return {"revealed": _image_job(revealer, [stego], model.secret_channels, model)}

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


def _frozen(network):
    """`network` (a Keras model, inference mode) with its weights as constants of the graph that calls it: in
    a loop, tf2onnx then folds batch norm into the convolutions and cancels the layout transposes as it does
    outside one (with the weights as loop inputs, the default model's loop ran 1.5 times as long)."""
    trainable = [v.numpy() for v in network.trainable_variables]
    fixed = [v.numpy() for v in network.non_trainable_variables]

    def call(inputs):
        weights = [tf.constant(v) for v in trainable], [tf.constant(v) for v in fixed]
        return network.stateless_call(*weights, inputs, training=False)[0]

    return call


def _image_job(network, images: list, out_channels: int, model: PixInPix):
    """`network` on uint8 (H, W, C) images as `pixinpix_tf.inference.tiling` runs it, in a loop of bounded
    memory: uint8 out."""
    job = _windows if model.whole_image else _tiles
    return job(network, images, out_channels, tiling.layout(model)["tile"])


def _tiles(network, images: list, out_channels: int, tile: int):
    """The images reflected to a multiple of `tile`, cut into tiles, run in chunks of equal size (at most
    CHUNK_TILES tiles, one chunk per loop iteration), reassembled and cropped."""
    height, width = tf.shape(images[0])[0], tf.shape(images[0])[1]
    rows, columns = _ceil_div(height, tile), _ceil_div(width, tile)
    count = rows * columns
    chunks = _ceil_div(count, tiling.CHUNK_TILES)
    size = _ceil_div(count, chunks)  # tiles per chunk: fewer than `chunks` blank tiles pad the last one

    def chunked(image):
        tiles = _split(_reflect(image, 0, rows * tile - height, columns * tile - width), rows, columns)
        tiles = tf.pad(tiles, [[0, chunks * size - count], [0, 0], [0, 0], [0, 0]])
        return tf.reshape(tiles, (chunks, size, tile, tile, image.shape[-1]))

    def run(batches):
        return _to_uint8(network(*[tf.cast(batch, tf.float32) / 255.0 for batch in batches]))

    out = tf.map_fn(run, [chunked(image) for image in images],
                    fn_output_signature=tf.TensorSpec((None, tile, tile, out_channels), tf.uint8))
    return _join(tf.reshape(out, (-1, tile, tile, out_channels))[:count], rows, columns)[:height, :width]


def _windows(network, images: list, out_channels: int, multiple: int):
    """`tiling._map_windows`' rule: the images in one piece reflected to a multiple of `multiple` if that fits in
    WINDOW_PIXELS, else in windows of one size, each seeing WINDOW_MARGIN pixels of context around the core
    it keeps; one window per loop iteration."""
    height, width = tf.shape(images[0])[0], tf.shape(images[0])[1]
    padded_size = tf.cast(_round_up(height, multiple), tf.int64) * tf.cast(_round_up(width, multiple), tf.int64)
    split = padded_size > tiling.WINDOW_PIXELS
    context = _round_up(tiling.WINDOW_MARGIN, multiple)
    margin = tf.where(split, context, 0)
    side = int(tiling.WINDOW_PIXELS**0.5) - 2 * context  # largest core side when split
    core_h, core_w = (_round_up(_ceil_div(length, tf.where(split, _ceil_div(length, side), 1)), multiple)
                      for length in (height, width))
    rows, columns = _ceil_div(height, core_h), _ceil_div(width, core_w)
    padded = [_reflect(image, margin, rows * core_h + margin - height, columns * core_w + margin - width)
              for image in images]

    def window(index):  # tf.slice with static channels: Keras' convolutions need them (else they call XLA,
        # which tf2onnx cannot convert), and tf2onnx mis-converts the strided slice `image[None, a:b, c:d]` here
        corner = tf.stack([index // columns * core_h, index % columns * core_w, 0])
        pieces = [tf.slice(image, corner, tf.stack([core_h + 2 * margin, core_w + 2 * margin, image.shape[-1]]))
                  for image in padded]
        out = _to_uint8(network(*[tf.cast(piece, tf.float32)[None] / 255.0 for piece in pieces]))[0]
        return tf.slice(out, tf.stack([margin, margin, 0]), tf.stack([core_h, core_w, out_channels]))

    cores = tf.map_fn(window, tf.range(rows * columns),
                      fn_output_signature=tf.TensorSpec((None, None, out_channels), tf.uint8))
    return _join(cores, rows, columns)[:height, :width]


def _ceil_div(length, divisor):
    """Without negative numbers: ONNX's integer Div and Mod (as tf2onnx converts them) round towards zero where
    TensorFlow floors."""
    return (length + divisor - 1) // divisor


def _round_up(length, multiple: int):
    return _ceil_div(length, multiple) * multiple


def _reflect(image, before, below, right):
    """`image` padded as numpy's "reflect" mode does (for any pad, also one larger than the image): `before`
    rows and columns above and to the left, `below` rows below and `right` columns to the right."""
    def indices(length, after):
        period = tf.maximum(2 * (length - 1), 1)
        folded = (tf.range(before + length + after) + period - before % period) % period  # (i - before) mod period
        return tf.minimum(folded, period - folded)

    rows = tf.gather(image, indices(tf.shape(image)[0], below), axis=0)
    return tf.gather(rows, indices(tf.shape(image)[1], right), axis=1)


def _split(image, rows, columns):
    """(rows * h, columns * w, C) -> (rows * columns, h, w, C), row-major."""
    height, width, channels = tf.shape(image)[0] // rows, tf.shape(image)[1] // columns, image.shape[-1]
    pieces = tf.transpose(tf.reshape(image, (rows, height, columns, width, channels)), (0, 2, 1, 3, 4))
    return tf.reshape(pieces, (rows * columns, height, width, channels))


def _join(pieces, rows, columns):
    """(rows * columns, h, w, C) -> (rows * h, columns * w, C), row-major."""
    height, width, channels = tf.shape(pieces)[1], tf.shape(pieces)[2], pieces.shape[-1]
    image = tf.transpose(tf.reshape(pieces, (rows, columns, height, width, channels)), (0, 2, 1, 3, 4))
    return tf.reshape(image, (rows * height, columns * width, channels))


def _to_uint8(images):
    return tf.cast(tf.clip_by_value(tf.round(images * 255.0), 0.0, 255.0), tf.uint8)
