"""The end-to-end PixInPix model: a hiding U-Net and a revealing U-Net.

Example:
    >>> model = PixInPix(image_size=32, secret_channels=1)
    >>> out = model({"cover": covers, "secret": secrets})
    >>> out["stego"].shape, out["revealed"].shape
    ((n, 32, 32, 3), (n, 32, 32, 1))
"""

from __future__ import annotations

import dataclasses
import re

import keras
import numpy as np
from keras import layers, ops

from pixinpix_tf.config import ModelConfig
from pixinpix_tf.errors import ImageError
from pixinpix_tf.images import as_float_images
from pixinpix_tf.nets.layers import (AddClipped, DepthToSpace, EmbedLowBits, EnlargeBilinear, Quantize8Bit, ReadLowBits,
                                     SpaceToDepth, TextureMask, register)
from pixinpix_tf.nets.unet import unet

ARCHITECTURE_FIELDS = tuple(f.name for f in dataclasses.fields(ModelConfig))


@register
class PixInPix(keras.Model):
    """Twin U-Nets: `cover` + `secret` -> `stego` (hider), `stego` -> `revealed` (revealer).

    Args:
        **kwargs: the fields of `config.ModelConfig` by keyword (image size, secret
            channels, depth, filters, batch norm, 8-bit stego, residual stego, embed
            bits; each field's help says what it does), and Keras' own (`name`).
            With `embed_bits` k > 0 the hider outputs a k-bit code per colour value
            that `EmbedLowBits` writes into the cover's low bits, and the revealer
            starts with `ReadLowBits`; both U-Nets predict changes: the code is the
            secret plus the hider's output, the revealed secret the code read back
            plus the revealer's output.

    Inputs: `{"cover": (H, W, 3), "secret": (H, W, C)}`, float32 in [0, 1], H and W any multiples
    of `side_multiple` (pixel_block * 2**depth; trained on image_size tiles).
    Outputs: `{"stego": (H, W, 3), "revealed": (H, W, C)}`, float32 in [0, 1].
    The sub-networks are `model.hider` (dict input -> stego) and
    `model.revealer` (stego -> revealed).
    """

    def __init__(self, **kwargs):
        architecture = ModelConfig(**{name: kwargs.pop(name) for name in ARCHITECTURE_FIELDS if name in kwargs})
        architecture.validate()
        secret_channels, embed_bits = architecture.secret_channels, architecture.embed_bits
        unet_args = {name: getattr(architecture, name)
                     for name in ("depth", "base_filters", "max_filters", "convs_per_step", "batch_norm",
                                  "mirror_padding")}
        shape = (None, None)  # fully convolutional: trained on image_size tiles, runs on any multiple of side_multiple

        # Hiding network: cover and secret concatenated along channels.
        hide_cover = keras.Input(shape + (3,), name="cover")
        hide_secret = keras.Input(shape + (secret_channels,), name="secret")
        seen_secret = hide_secret
        if architecture.secret_scale > 1:  # the hider carries the secret at 1/s of its side only
            seen_secret = layers.AveragePooling2D(architecture.secret_scale, name="hide_secret_pool")(seen_secret)
            seen_secret = EnlargeBilinear(architecture.secret_scale, name="hide_secret_enlarge")(seen_secret)
        x = layers.Concatenate(name="hide_input")([hide_cover, seen_secret])
        x = _blocked_unet(x, 3, architecture.pixel_block, name="hide", zero_output=bool(embed_bits), **unet_args)
        if embed_bits:
            # The code starts as the secret itself (plain k-bit quantisation); the U-Net learns a change to it.
            secret_rgb = (hide_secret if secret_channels == 3
                          else layers.Concatenate(dtype="float32", name="hide_secret_rgb")([hide_secret] * 3))
            code = AddClipped(dtype="float32", name="hide_code")([secret_rgb, x])
            stego = EmbedLowBits(embed_bits, dtype="float32", name="stego")([hide_cover, code])
        elif architecture.residual_stego:
            if architecture.texture_mask:
                x = TextureMask(architecture.texture_mask, dtype="float32", name="hide_texture_mask")([hide_cover, x])
            stego = AddClipped(dtype="float32", name="stego")([hide_cover, x])
        else:
            stego = layers.Activation("sigmoid", dtype="float32", name="stego")(x)
        hider = keras.Model({"cover": hide_cover, "secret": hide_secret}, stego, name="hider")

        # Revealing network: stego image only.
        reveal_stego = keras.Input(shape + (3,), name="stego")
        if embed_bits:
            # The revealed secret starts as the code read back; the U-Net learns a change to it.
            # float32 even under mixed precision: bfloat16 cannot hold 8-bit levels of [0, 1] values exactly
            code = ReadLowBits(embed_bits, dtype="float32", name="reveal_code")(reveal_stego)
            x = unet(code, secret_channels, name="reveal", zero_output=True, **unet_args)
            if secret_channels == 1:
                code = layers.Conv2D(1, 1, use_bias=False, trainable=False, kernel_initializer="ones",
                                     dtype="float32", name="reveal_code_sum")(code) / 3.0
            revealed = AddClipped(dtype="float32", name="revealed")([code, x])
        else:
            x = _blocked_unet(reveal_stego, secret_channels, architecture.pixel_block, name="reveal", **unet_args)
            revealed = layers.Activation("sigmoid", dtype="float32", name="revealed")(x)
        revealer = keras.Model(reveal_stego, revealed, name="revealer")

        cover = keras.Input(shape + (3,), name="cover")
        secret = keras.Input(shape + (secret_channels,), name="secret")
        stego_out = hider({"cover": cover, "secret": secret})
        if architecture.quantize_stego:
            stego_out_8bit = Quantize8Bit(dtype="float32", name="stego_8bit")(stego_out)
        revealed_out = revealer(stego_out_8bit if architecture.quantize_stego else stego_out)
        # Identity layers give the outer model's outputs the names `stego` and `revealed`
        # (float32: under mixed precision the losses must see 8-bit levels exactly).
        stego_out = layers.Identity(dtype="float32", name="stego")(stego_out)
        revealed_out = layers.Identity(dtype="float32", name="revealed")(revealed_out)
        super().__init__(
            inputs={"cover": cover, "secret": secret},
            outputs={"stego": stego_out, "revealed": revealed_out},
            **kwargs,
        )
        self.architecture = architecture
        self.hider = hider
        self.revealer = revealer
        for name in ARCHITECTURE_FIELDS:  # read-only conveniences: model.image_size, model.embed_bits, ...
            setattr(self, name, getattr(architecture, name))
        self.side_multiple = architecture.side_multiple

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, **dataclasses.asdict(self.architecture)}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @classmethod
    def from_model_config(cls, config: ModelConfig, **kwargs) -> "PixInPix":
        return cls(**dataclasses.asdict(config), **kwargs)

    def hide(self, cover, secret, batch_size: int = 256) -> np.ndarray:
        """The hiding network's stego images for `cover` and `secret` at the model's image size.

        Args:
            cover: (H, W, 3) or (N, H, W, 3), uint8 or float in [0, 1]; numpy or tf.
            secret: the same with `secret_channels` channels.
            batch_size: images per forward pass.

        Returns:
            float32 stego image(s) in [0, 1], batched like `cover`.
        """
        covers, single = as_float_images(cover, 3)
        secrets, _ = as_float_images(secret, self.secret_channels)
        if len(covers) != len(secrets):
            raise ImageError(f"got {len(covers)} covers but {len(secrets)} secrets")
        stego = self._predict(self.hider, {"cover": covers, "secret": secrets}, batch_size)
        return stego[0] if single else stego

    def reveal(self, stego, batch_size: int = 256) -> np.ndarray:
        """Revealed secret(s) from stego image(s), uint8 or float in [0, 1]."""
        stegos, single = as_float_images(stego, 3)
        revealed = self._predict(self.revealer, stegos, batch_size)
        return revealed[0] if single else revealed

    @staticmethod
    def _predict(network, inputs, batch_size: int) -> np.ndarray:
        first = inputs["cover"] if isinstance(inputs, dict) else inputs
        parts = []
        for start in range(0, len(first), batch_size):
            chunk = (
                {k: v[start : start + batch_size] for k, v in inputs.items()}
                if isinstance(inputs, dict)
                else inputs[start : start + batch_size]
            )
            parts.append(ops.convert_to_numpy(network(chunk, training=False)))
        return np.concatenate(parts).astype(np.float32)


def _blocked_unet(x, out_channels: int, block: int, name: str, **unet_args):
    """`unet` on pixels, or with `block` > 1 on b x b pixel blocks folded into channels and unfolded after."""
    if block == 1:
        return unet(x, out_channels, name=name, **unet_args)
    x = SpaceToDepth(block, name=f"{name}_fold")(x)
    x = unet(x, out_channels * block * block, name=name, **unet_args)
    return DepthToSpace(block, dtype="float32", name=f"{name}_unfold")(x)


def grow_weights(model: PixInPix, narrower: PixInPix) -> None:
    """Set `model`'s weights from `narrower`, a PixInPix with the same shape but fewer channels.

    Each layer's old weights fill the leading channels of its wider weights, and the
    weights from the extra input channels to the old output channels are zeroed, so
    `model` computes exactly what `narrower` does. The extra channels keep their
    fresh initialisation and start learning with the next gradient step.
    """
    for network, old_network in ((model.hider, narrower.hider), (model.revealer, narrower.revealer)):
        for layer in network.layers:
            if layer.weights:
                old_layer = old_network.get_layer(layer.name)
                layer.set_weights([_embed(new, old, layer) for new, old in
                                   zip(layer.get_weights(), old_layer.get_weights())])


def _embed(new: np.ndarray, old: np.ndarray, layer) -> np.ndarray:
    """`old` in the leading channels of `new`, with extra inputs cut off from old outputs."""
    grown = new.copy()
    if new.ndim == 1:  # bias, batch-norm scale, offset and statistics: one value per output channel
        grown[: len(old)] = old
        return grown
    # Conv2D kernels are (h, w, in, out); Conv2DTranspose kernels are (h, w, out, in).
    in_axis, out_axis = (3, 2) if isinstance(layer, layers.Conv2DTranspose) else (2, 3)
    old_in, new_in = old.shape[in_axis], new.shape[in_axis]
    if re.search(r"_up\d+_conv1$", layer.name):  # input: [up-convolution, skip] concatenated, each half grown
        kept = np.concatenate([np.arange(old_in // 2), new_in // 2 + np.arange(old_in // 2)])
    else:
        kept = np.arange(old_in)
    index = [slice(None)] * 4
    index[out_axis] = slice(0, old.shape[out_axis])
    index[in_axis] = np.setdiff1d(np.arange(new_in), kept)
    grown[tuple(index)] = 0.0
    index[in_axis] = kept
    grown[tuple(index)] = old
    return grown
