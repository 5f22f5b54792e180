"""The end-to-end PixInPix model: a hiding U-Net and a revealing U-Net.

Example:
    >>> model = PixInPix(image_size=32, secret_channels=1)
    >>> out = model({"cover": covers, "secret": secrets})
    >>> out["stego"].shape, out["revealed"].shape
    ((n, 32, 32, 3), (n, 32, 32, 1))
"""

from __future__ import annotations

import re

import keras
import numpy as np
from keras import layers, ops

from pixinpix_tf.config import ModelConfig
from pixinpix_tf.images import as_float_images
from pixinpix_tf.refine import refine_stego, round_8bit_straight_through
from pixinpix_tf.unet import unet


@keras.saving.register_keras_serializable(package="pixinpix_tf")
class Quantize8Bit(layers.Layer):
    """Round [0, 1] images to 8-bit levels; the gradient passes straight through."""

    def call(self, x):
        return round_8bit_straight_through(x)


@keras.saving.register_keras_serializable(package="pixinpix_tf")
class AddClipped(layers.Layer):
    """`cover + change`, clipped to [0, 1]; the gradient passes straight through the clip."""

    def call(self, inputs):
        total = inputs[0] + inputs[1]
        return total + ops.stop_gradient(ops.clip(total, 0.0, 1.0) - total)


@keras.saving.register_keras_serializable(package="pixinpix_tf")
class EmbedLowBits(layers.Layer):
    """`[cover, code]` -> stego: each code value in [0, 1] rounded to `bits` bits and written
    into the low bits of the cover's 8-bit level, choosing the nearest level with those low bits.

    The change to the cover is at most 2**(bits - 1) levels. The gradient passes straight
    through to the code: one code step is one 8-bit level of the stego image.
    """

    def __init__(self, bits: int, **kwargs):
        super().__init__(**kwargs)
        self.bits = bits

    def call(self, inputs):
        cover, code = inputs
        period, top = 2.0**self.bits, 2.0**self.bits - 1.0
        levels = ops.round(ops.clip(cover, 0.0, 1.0) * 255.0)
        wanted = ops.round(ops.clip(code, 0.0, 1.0) * top)
        stego = ops.round((levels - wanted) / period) * period + wanted
        stego = ops.where(stego > 255.0, stego - period, ops.where(stego < 0.0, stego + period, stego))
        linear = code * top / 255.0
        return linear + ops.stop_gradient(stego / 255.0 - linear)

    def get_config(self):
        return {**super().get_config(), "bits": self.bits}


@keras.saving.register_keras_serializable(package="pixinpix_tf")
class ReadLowBits(layers.Layer):
    """Stego in [0, 1] -> its 8-bit levels' `bits` low bits as codes in [0, 1] (straight-through gradient)."""

    def __init__(self, bits: int, **kwargs):
        super().__init__(**kwargs)
        self.bits = bits

    def call(self, stego):
        period, top = 2.0**self.bits, 2.0**self.bits - 1.0
        levels = ops.round(ops.clip(stego, 0.0, 1.0) * 255.0)
        code = (levels - ops.floor(levels / period) * period) / top
        linear = stego * 255.0 / top
        return linear + ops.stop_gradient(code - linear)

    def get_config(self):
        return {**super().get_config(), "bits": self.bits}


@keras.saving.register_keras_serializable(package="pixinpix_tf")
class PixInPix(keras.Model):
    """Twin U-Nets: `cover` + `secret` -> `stego` (hider), `stego` -> `revealed` (revealer).

    Args:
        image_size: side of the square training images, a multiple of 2**depth.
        secret_channels: channels of the secret image (1 or 3).
        depth: down-sampling steps per U-Net (5 in the paper).
        base_filters: channels at full resolution (16 in the paper).
        max_filters: channel cap at the deepest levels (256 in the paper).
        convs_per_step: 3x3 convolutions per step.
        batch_norm: batch normalisation after every 3x3 convolution.
        quantize_stego: reveal from the 8-bit rounded stego (straight-through
            gradient), as a user's stored PNG would be.
        residual_stego: the hider outputs a change added to the cover (clipped
            to [0, 1]) instead of a sigmoid image.
        embed_bits: k > 0: the hider outputs a k-bit code per colour value that
            `EmbedLowBits` writes into the cover's low bits, and the revealer
            starts with `ReadLowBits`. Both U-Nets predict changes: the code is
            the secret plus the hider's output, the revealed secret the code
            read back plus the revealer's output. 0: the hider outputs the stego image.

    Inputs: `{"cover": (H, W, 3), "secret": (H, W, C)}`, float32 in [0, 1].
    Outputs: `{"stego": (H, W, 3), "revealed": (H, W, C)}`, float32 in [0, 1].
    The sub-networks are `model.hider` (dict input -> stego) and
    `model.revealer` (stego -> revealed).
    """

    def __init__(
        self,
        image_size: int = 32,
        secret_channels: int = 3,
        depth: int = 5,
        base_filters: int = 16,
        max_filters: int = 256,
        convs_per_step: int = 2,
        batch_norm: bool = False,
        quantize_stego: bool = False,
        residual_stego: bool = False,
        embed_bits: int = 0,
        **kwargs,
    ):
        ModelConfig(
            image_size,
            secret_channels,
            depth,
            base_filters,
            max_filters,
            convs_per_step,
            batch_norm,
            quantize_stego,
            residual_stego,
            embed_bits,
        ).validate()
        unet_args = dict(
            depth=depth,
            base_filters=base_filters,
            max_filters=max_filters,
            convs_per_step=convs_per_step,
            batch_norm=batch_norm,
        )
        shape = (image_size, image_size)

        # Hiding network: cover and secret concatenated along channels.
        hide_cover = keras.Input(shape + (3,), name="cover")
        hide_secret = keras.Input(shape + (secret_channels,), name="secret")
        x = layers.Concatenate(name="hide_input")([hide_cover, hide_secret])
        x = unet(x, 3, name="hide", zero_output=bool(embed_bits), **unet_args)
        if embed_bits:
            # The code starts as the secret itself (plain k-bit quantisation); the U-Net learns a change to it.
            secret_rgb = (hide_secret if secret_channels == 3
                          else layers.Concatenate(dtype="float32", name="hide_secret_rgb")([hide_secret] * 3))
            code = AddClipped(dtype="float32", name="hide_code")([secret_rgb, x])
            stego = EmbedLowBits(embed_bits, dtype="float32", name="stego")([hide_cover, code])
        elif residual_stego:
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
            x = unet(reveal_stego, secret_channels, name="reveal", **unet_args)
            revealed = layers.Activation("sigmoid", dtype="float32", name="revealed")(x)
        revealer = keras.Model(reveal_stego, revealed, name="revealer")

        cover = keras.Input(shape + (3,), name="cover")
        secret = keras.Input(shape + (secret_channels,), name="secret")
        stego_out = hider({"cover": cover, "secret": secret})
        reveal_in = Quantize8Bit(dtype="float32", name="stego_8bit")(stego_out) if quantize_stego else stego_out
        revealed_out = revealer(reveal_in)
        # Identity layers give the outer model's outputs the names `stego` and `revealed`
        # (float32: under mixed precision the losses must see 8-bit levels exactly).
        stego_out = layers.Identity(dtype="float32", name="stego")(stego_out)
        revealed_out = layers.Identity(dtype="float32", name="revealed")(revealed_out)
        super().__init__(
            inputs={"cover": cover, "secret": secret},
            outputs={"stego": stego_out, "revealed": revealed_out},
            **kwargs,
        )
        self.hider = hider
        self.revealer = revealer
        self.image_size = image_size
        self.secret_channels = secret_channels
        self.depth = depth
        self.base_filters = base_filters
        self.max_filters = max_filters
        self.convs_per_step = convs_per_step
        self.batch_norm = batch_norm
        self.quantize_stego = quantize_stego
        self.residual_stego = residual_stego
        self.embed_bits = embed_bits

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "image_size": self.image_size,
            "secret_channels": self.secret_channels,
            "depth": self.depth,
            "base_filters": self.base_filters,
            "max_filters": self.max_filters,
            "convs_per_step": self.convs_per_step,
            "batch_norm": self.batch_norm,
            "quantize_stego": self.quantize_stego,
            "residual_stego": self.residual_stego,
            "embed_bits": self.embed_bits,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @classmethod
    def from_model_config(cls, config: ModelConfig, **kwargs) -> "PixInPix":
        return cls(**vars(config), **kwargs)

    def hide(self, cover, secret, batch_size: int = 256, refine_steps: int = 0) -> np.ndarray:
        """Stego images for `cover` and `secret` at the model's image size.

        Args:
            cover: (H, W, 3) or (N, H, W, 3), uint8 or float in [0, 1]; numpy or tf.
            secret: the same with `secret_channels` channels.
            batch_size: images per forward pass.
            refine_steps: steps of `refine.refine_stego` against the revealer (0: the hider's stego;
                must be 0 with `embed_bits`).

        Returns:
            float32 stego image(s) in [0, 1], batched like `cover`.
        """
        covers, single = as_float_images(cover, 3)
        secrets, _ = as_float_images(secret, self.secret_channels)
        if len(covers) != len(secrets):
            raise ValueError(f"got {len(covers)} covers but {len(secrets)} secrets")
        if refine_steps and self.embed_bits:
            raise ValueError("a model with embed_bits cannot be refined (its stego's low bits are the code); "
                             "use 0 refinement steps")
        stego = self._predict(self.hider, {"cover": covers, "secret": secrets}, batch_size)
        if refine_steps:
            stego = np.concatenate([
                refine_stego(self.revealer, covers[i : i + batch_size], secrets[i : i + batch_size],
                             stego[i : i + batch_size], refine_steps)
                for i in range(0, len(stego), batch_size)])
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
