"""SavedModel export for TF Serving: float and PNG signatures over the two sub-networks.

Signatures (inputs float32 in [0, 1], NHWC, dynamic batch axis):

| signature | inputs | outputs |
|---|---|---|
| `serving_default` | cover, secret | stego, revealed (hide, then reveal the 8-bit stego if the model was trained so) |
| `hide` | cover, secret | stego |
| `reveal` | stego | revealed |
| `hide_png` | cover_png, secret_png (PNG bytes, batch of strings) | stego_png_bytes |
| `reveal_png` | stego_png (PNG bytes) | revealed_png_bytes |

PNG images must have the model's image size. Output names of PNG signatures
end in `_bytes`, so TF Serving's REST API returns them base64-encoded (`{"b64": ...}`).
"""

from __future__ import annotations

import tensorflow as tf

from pixinpix_tf.nets.model import PixInPix

SIGNATURES = ("serving_default", "hide", "reveal", "hide_png", "reveal_png")


def input_specs(model: PixInPix) -> dict[str, tf.TensorSpec]:
    """Float32 specs of `cover`, `secret` and `stego`, with the model's own shapes and a dynamic batch axis."""
    tensors = {**model.hider.input, "stego": model.revealer.input}
    return {name: tf.TensorSpec((None, *tensor.shape[1:]), tf.float32, name=name) for name, tensor in tensors.items()}


def build_module(model: PixInPix) -> tuple[tf.Module, dict]:
    """A tf.Module that tracks the model, and its signatures by name."""
    specs = input_specs(model)
    size, channels = model.image_size, model.secret_channels

    @tf.function(input_signature=[specs["cover"], specs["secret"]])
    def serving_default(cover, secret):
        outputs = model({"cover": cover, "secret": secret}, training=False)
        return {"stego": outputs["stego"], "revealed": outputs["revealed"]}

    @tf.function(input_signature=[specs["cover"], specs["secret"]])
    def hide(cover, secret):
        return {"stego": model.hider({"cover": cover, "secret": secret}, training=False)}

    @tf.function(input_signature=[specs["stego"]])
    def reveal(stego):
        return {"revealed": model.revealer(stego, training=False)}

    def decode(pngs, image_channels):
        def one(png):
            image = tf.io.decode_png(png, channels=image_channels)
            tf.debugging.assert_equal(tf.shape(image)[:2], [size, size],
                                      message=f"PNG images must be {size}x{size} for this model")
            return tf.ensure_shape(image, (size, size, image_channels))

        images = tf.map_fn(one, pngs, fn_output_signature=tf.TensorSpec((size, size, image_channels), tf.uint8))
        return tf.cast(images, tf.float32) / 255.0

    def encode(images):
        pixels = tf.cast(tf.round(tf.clip_by_value(images, 0.0, 1.0) * 255.0), tf.uint8)
        return tf.map_fn(tf.io.encode_png, pixels, fn_output_signature=tf.TensorSpec((), tf.string))

    png = tf.TensorSpec((None,), tf.string)

    @tf.function(input_signature=[tf.TensorSpec((None,), tf.string, name="cover_png"),
                                  tf.TensorSpec((None,), tf.string, name="secret_png")])
    def hide_png(cover_png, secret_png):
        stego = model.hider({"cover": decode(cover_png, 3), "secret": decode(secret_png, channels)}, training=False)
        return {"stego_png_bytes": encode(stego)}

    @tf.function(input_signature=[tf.TensorSpec(png.shape, tf.string, name="stego_png")])
    def reveal_png(stego_png):
        return {"revealed_png_bytes": encode(model.revealer(decode(stego_png, 3), training=False))}

    module = tf.Module()
    module.model = model  # tracks the variables
    signatures = {"serving_default": serving_default, "hide": hide, "reveal": reveal, "hide_png": hide_png,
                  "reveal_png": reveal_png}
    for name, function in signatures.items():
        setattr(module, name, function)
    return module, signatures


def save(model: PixInPix, directory: str) -> None:
    """Write the SavedModel with all signatures into `directory`."""
    module, signatures = build_module(model)
    tf.saved_model.save(module, directory, signatures=signatures)


def models_config(name: str, base_path: str) -> str:
    """A `tensorflow_model_server --model_config_file` for one model."""
    return (
        "model_config_list {\n"
        "  config {\n"
        f'    name: "{name}"\n'
        f'    base_path: "{base_path}"\n'
        '    model_platform: "tensorflow"\n'
        "  }\n"
        "}\n"
    )
