"""The custom Keras objects a saved PixInPix refers to, in `keras.ops` only (no TensorFlow).

Layers: `Quantize8Bit`, `AddClipped`, `EmbedLowBits`, `ReadLowBits`,
`SpaceToDepth`, `DepthToSpace`, `MirrorPad`, `EnlargeBilinear`, `TextureMask`,
`GradientReversal`; the 8-bit
straight-through rounding they share with stego refinement; and the training
metrics `psnr` and `ssim`. All are registered Keras serializables, so importing
`pixinpix_tf.nets.model` (which imports this module) is all `keras.models.load_model`
needs to load a run's `.keras` file, compiled.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

register = keras.saving.register_keras_serializable(package="pixinpix_tf")


def round_8bit_straight_through(x):
    """`x` in [0, 1] rounded to 8-bit levels, as a PNG stores it; the gradient passes straight through."""
    rounded = ops.round(ops.clip(x, 0.0, 1.0) * 255.0) / 255.0
    return x + ops.stop_gradient(rounded - x)


@register
class Quantize8Bit(layers.Layer):
    """Round [0, 1] images to 8-bit levels; the gradient passes straight through."""

    def call(self, x):
        return round_8bit_straight_through(x)


@register
class AddClipped(layers.Layer):
    """`cover + change`, clipped to [0, 1]; the gradient passes straight through the clip."""

    def call(self, inputs):
        total = inputs[0] + inputs[1]
        return total + ops.stop_gradient(ops.clip(total, 0.0, 1.0) - total)


@register
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


@register
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


@register
class MirrorPad(layers.Layer):
    """Pads height and width by `size` pixels on each side with their mirror image (the edge pixel repeated,
    so even a side of one pixel can be padded)."""

    def __init__(self, size: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.size = size

    def call(self, x):
        p = self.size
        return ops.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), mode="symmetric")

    def compute_output_shape(self, shape):
        return (shape[0], *(None if side is None else side + 2 * self.size for side in shape[1:3]), shape[3])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


@register
class EnlargeBilinear(layers.Layer):
    """Enlarges height and width `scale` times by bilinear interpolation (pixel centres aligned, as Keras'
    UpSampling2D does), on images of any size: unlike UpSampling2D it exports with dynamic sides."""

    def __init__(self, scale: int, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, x):
        return self._enlarge(self._enlarge(x, axis=1), axis=2)

    def _enlarge(self, x, axis: int):
        """Output pixel i along `axis` lies at (i + 0.5) / scale - 0.5 input pixels: each of the scale
        phases is a fixed blend of a pixel and one neighbour (the edge pixel repeated beyond the border)."""
        padded = ops.pad(x, [(1, 1) if a == axis else (0, 0) for a in range(4)], mode="symmetric")
        window = [slice(None)] * 4
        before, after = (padded[tuple(window[:axis] + [part] + window[axis + 1:])]
                         for part in (slice(None, -2), slice(2, None)))
        phases = []
        for phase in range(self.scale):
            offset = (phase + 0.5) / self.scale - 0.5
            phases.append((1 - abs(offset)) * x + abs(offset) * (before if offset < 0 else after))
        shape = ops.shape(x)
        return ops.reshape(ops.stack(phases, axis=axis + 1),
                           [shape[a] * self.scale if a == axis else shape[a] for a in range(4)])

    def compute_output_shape(self, shape):
        return (shape[0], *(None if side is None else side * self.scale for side in shape[1:3]), shape[3])

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


@register
class SpaceToDepth(layers.Layer):
    """(N, H, W, C) -> (N, H/b, W/b, b*b*C): each b x b block of pixels folded into the channels
    (TensorFlow's and ONNX's order: row in block, column in block, channel)."""

    def __init__(self, block: int, **kwargs):
        super().__init__(**kwargs)
        self.block = block

    def call(self, x):
        b, channels = self.block, x.shape[-1]
        height, width = ops.shape(x)[1] // b, ops.shape(x)[2] // b
        x = ops.transpose(ops.reshape(x, (-1, height, b, width, b, channels)), (0, 1, 3, 2, 4, 5))
        return ops.reshape(x, (-1, height, width, b * b * channels))

    def compute_output_shape(self, shape):
        b = self.block
        return (shape[0], *(None if side is None else side // b for side in shape[1:3]), shape[3] * b * b)

    def get_config(self):
        return {**super().get_config(), "block": self.block}


@register
class DepthToSpace(layers.Layer):
    """The inverse of `SpaceToDepth`: (N, H, W, b*b*C) -> (N, H*b, W*b, C)."""

    def __init__(self, block: int, **kwargs):
        super().__init__(**kwargs)
        self.block = block

    def call(self, x):
        b = self.block
        channels = x.shape[-1] // (b * b)
        height, width = ops.shape(x)[1], ops.shape(x)[2]
        x = ops.transpose(ops.reshape(x, (-1, height, width, b, b, channels)), (0, 1, 3, 2, 4, 5))
        return ops.reshape(x, (-1, height * b, width * b, channels))

    def compute_output_shape(self, shape):
        b = self.block
        return (shape[0], *(None if side is None else side * b for side in shape[1:3]), shape[3] // (b * b))

    def get_config(self):
        return {**super().get_config(), "block": self.block}


@register
class TextureMask(layers.Layer):
    """`[cover, change]` -> the change bounded and scaled by how well the cover's texture hides it.

    The change is first bounded smoothly to MAX_CHANGE_LEVELS 8-bit levels (`b * tanh(change / b)`:
    small changes pass unchanged), then scaled, pixel by pixel, by the cover's texture: the standard
    deviation of its luma over 3x3 pixels, in 8-bit levels, at its smallest over the 3x3 pixels
    around (so a flat pixel beside an edge counts as flat), divided by FULL_TEXTURE_LEVELS and
    clipped to [`floor`, 1]. On a flat area the hider can thus move a pixel by at most
    `floor * MAX_CHANGE_LEVELS` levels, however hard it pushes: the content-adaptive idea of HUGO,
    WOW and S-UNIWARD as a hard limit instead of a cost.
    """

    FULL_TEXTURE_LEVELS = 6.0
    MAX_CHANGE_LEVELS = 16.0

    def __init__(self, floor: float, **kwargs):
        super().__init__(**kwargs)
        self.floor = floor

    def call(self, inputs):
        cover, change = ops.cast(inputs[0], "float32"), ops.cast(inputs[1], "float32")
        bound = self.MAX_CHANGE_LEVELS / 255.0
        return bound * ops.tanh(change / bound) * texture_scale(cover, self.floor, self.FULL_TEXTURE_LEVELS)

    def get_config(self):
        return {**super().get_config(), "floor": self.floor}


def texture_scale(cover, floor: float, full_levels: float):
    """(N, H, W, 1) in [floor, 1]: `TextureMask`'s scale for covers in [0, 1]."""
    luma = ops.mean(cover, axis=-1, keepdims=True) * 255.0
    mean = ops.average_pool(luma, 3, strides=1, padding="same")
    spread = ops.sqrt(ops.maximum(ops.average_pool(luma**2, 3, strides=1, padding="same") - mean**2, 0.0) + 1e-6)
    spread = -ops.max_pool(-spread, 3, strides=1, padding="same")
    return ops.clip(spread / full_levels, floor, 1.0)


@register
class GradientReversal(layers.Layer):
    """The identity forward; backward, the gradient times -`scale`. Between the hider and a detector
    trained to find its stego images, it makes the hider learn to fool the detector (as in
    domain-adversarial training) with one loss and one optimizer."""

    def __init__(self, scale: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, x):
        return -self.scale * x + ops.stop_gradient((1.0 + self.scale) * x)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


@register
def detection_loss(y_true, y_pred):
    """Keras loss of a detector's logits (N, 2) for [cover, stego] pairs: binary cross-entropy against
    "cover" for column 0 and "stego" for column 1 (`y_true` is not read)."""
    labels = ops.broadcast_to(ops.convert_to_tensor([[0.0, 1.0]]), ops.shape(y_pred))
    return ops.mean(ops.binary_crossentropy(labels, ops.cast(y_pred, "float32"), from_logits=True), axis=-1)


@register
def detector_accuracy(y_true, y_pred):
    """The share of covers (column 0) and stego images (column 1) a detector's logits (N, 2) call right."""
    right = ops.concatenate([ops.cast(y_pred[:, :1] < 0, "float32"), ops.cast(y_pred[:, 1:] > 0, "float32")], axis=-1)
    return ops.mean(right, axis=-1)


@register
def psnr(y_true, y_pred):
    """Keras metric: PSNR in dB per image (peak 1.0 on [0, 1], i.e. 255 on 8-bit values)."""
    error = ops.mean(ops.square(ops.cast(y_true, "float32") - ops.cast(y_pred, "float32")), axis=(1, 2, 3))
    return 10.0 * ops.log10(1.0 / error)


def _gaussian_window(channels: int, size: int = 11, sigma: float = 1.5) -> np.ndarray:
    coords = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(coords**2) / (2 * sigma**2))
    window = np.outer(g, g) / np.outer(g, g).sum()
    return np.tile(window[:, :, None, None], (1, 1, channels, 1)).astype(np.float32)


@register
def ssim(y_true, y_pred):
    """Keras metric: SSIM per image on [0, 1] images (Gaussian window 11, sigma 1.5, valid
    filtering, K1 0.01, K2 0.03, mean over channels), as `tf.image.ssim`."""
    a, b = ops.cast(y_true, "float32"), ops.cast(y_pred, "float32")
    window = ops.convert_to_tensor(_gaussian_window(a.shape[-1]))

    def blur(x):
        return ops.depthwise_conv(x, window, padding="valid")

    c1, c2 = 0.01**2, 0.03**2
    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b = blur(a * a) - mu_a**2, blur(b * b) - mu_b**2
    covariance = blur(a * b) - mu_a * mu_b
    luminance = (2 * mu_a * mu_b + c1) / (mu_a**2 + mu_b**2 + c1)
    structure = (2 * covariance + c2) / (var_a + var_b + c2)
    return ops.mean(luminance * structure, axis=(1, 2, 3))


@register
def texture_weighted_mse(y_true, y_pred):
    """Keras loss for the stego image: its squared change from the cover `y_true`, each pixel weighted
    by how smooth the cover is around it (5x5 luma standard deviation s, in 8-bit levels: weight
    1 / (1 + s / 4), normalised to mean 1 per image), so a change costs most on skies and walls,
    where it shows, and least in texture, where it hides (the content-adaptive idea of
    HUGO, WOW and S-UNIWARD)."""
    cover, stego = ops.cast(y_true, "float32"), ops.cast(y_pred, "float32")
    luma = ops.mean(cover, axis=-1, keepdims=True) * 255.0
    mean = ops.average_pool(luma, 5, strides=1, padding="same")
    spread = ops.sqrt(ops.maximum(ops.average_pool(luma**2, 5, strides=1, padding="same") - mean**2, 0.0) + 1e-6)
    weight = 1.0 / (1.0 + spread / 4.0)
    weight = weight / ops.mean(weight, axis=(1, 2, 3), keepdims=True)
    return ops.mean(weight * ops.square(stego - cover), axis=(1, 2, 3))
