"""What training passes the stego image through: the differentiable twin of `distortions.py`.

Every distortion maps a float [0, 1] NHWC batch to a batch of the same shape,
with gradients, and strength 0 is the identity. Strengths are in the units of
`distortions.py`:

| function | strength | training-time version |
|---|---|---|
| `round8` | - | 8-bit rounding, straight-through gradient |
| `jpeg_approx`, `jpeg_real` | quality | below |
| `noise` | sigma (0-255 units) | additive Gaussian noise |
| `blur` | sigma (pixels) | Gaussian blur, reflected borders |
| `resize` | fraction lost | bilinear down-scale by (1 - strength) and back |
| `brightness` | offset (0-255 units) | every pixel + strength |
| `contrast` | relative change | (pixel - image mean) * (1 + strength) + mean |
| `shift` | pixels | the image moved by up to that many pixels, reflected in at the border |

`jpeg_approx` is a differentiable JPEG: YCbCr, 4:2:0 chroma, 8x8 DCT,
libjpeg's quality-scaled tables, smooth rounding. It is within 0.5-0.75
levels (mean) of Pillow's JPEG at quality 50-95 (tests/test_channel.py).
`jpeg_real` is Pillow's codec in the forward pass with a straight-through
backward. All but `jpeg_real` are `keras.ops`; `jpeg_real` runs Pillow through
`tf.numpy_function`, so this module is for training (TensorFlow) only.
The `Channel` layer draws one of `MAX_STRENGTHS` (jpeg, noise, blur, resize,
brightness, contrast) per batch; `shift` and `round8` are for whole-image
training and the tests.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from pixinpix_tf import distortions
from pixinpix_tf.images import to_uint8
from pixinpix_tf.nets.layers import round_8bit_straight_through

# The JPEG standard's example tables (Annex K), which libjpeg scales by quality.
_LUMA_TABLE = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], np.float32).reshape(8, 8)
_CHROMA_TABLE = np.full((8, 8), 99, np.float32)
_CHROMA_TABLE[:4, :4] = np.array([17, 18, 24, 47, 18, 21, 26, 66, 24, 26, 56, 99, 47, 66, 99, 99]).reshape(4, 4)


def quantization_tables(quality) -> tuple:
    """libjpeg's luminance and chrominance tables at `quality` (1..100, a scalar tensor or number)."""
    quality = ops.clip(ops.cast(quality, "float32"), 1.0, 100.0)
    scale = ops.where(quality < 50.0, 5000.0 / quality, 200.0 - 2.0 * quality)
    return tuple(ops.clip(ops.floor((table * scale + 50.0) / 100.0), 1.0, 255.0)
                 for table in (_LUMA_TABLE, _CHROMA_TABLE))


def _dct_matrix() -> np.ndarray:
    k, n = np.meshgrid(np.arange(8), np.arange(8), indexing="ij")
    matrix = np.cos((2 * n + 1) * k * np.pi / 16) * np.sqrt(2 / 8)
    matrix[0] /= np.sqrt(2)
    return matrix.astype(np.float32)


_DCT = _dct_matrix()
_TO_YCBCR = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]], np.float32)
_TO_RGB = np.linalg.inv(_TO_YCBCR).astype(np.float32)


def smooth_round(x):
    """round(x) + (x - round(x))**3: rounding in the forward pass, a gradient everywhere."""
    rounded = ops.round(x)
    return rounded + (x - rounded) ** 3


def _blocks_dct_quantized(plane, table):
    """One channel (N, H, W), H and W multiples of 8, through the 8x8 DCT, quantisation and back."""
    n, height, width = plane.shape[0], plane.shape[1], plane.shape[2]
    blocks = ops.reshape(plane, (-1, height // 8, 8, width // 8, 8))
    dct = ops.convert_to_tensor(_DCT)
    coefficients = ops.einsum("ij,najbk,lk->nabil", dct, blocks, dct)
    coefficients = smooth_round(coefficients / table) * table
    restored = ops.einsum("ij,nabil,lk->najbk", dct, coefficients, dct)
    return ops.reshape(restored, (-1 if n is None else n, height, width))


def jpeg_approx(images, quality):
    """A differentiable JPEG round trip at `quality` (1..100) with 4:2:0 chroma, as Pillow writes it;
    quality 100 (strength 0) is the identity, as in `distortions.jpeg`."""
    height, width = images.shape[1], images.shape[2]
    pad_h, pad_w = -height % 16, -width % 16
    x = images * 255.0
    if pad_h:  # libjpeg fills partial blocks by repeating the edge
        x = ops.concatenate([x, ops.repeat(x[:, -1:], pad_h, axis=1)], axis=1)
    if pad_w:
        x = ops.concatenate([x, ops.repeat(x[:, :, -1:], pad_w, axis=2)], axis=2)
    ycbcr = smooth_round(ops.einsum("nhwc,dc->nhwd", x, ops.convert_to_tensor(_TO_YCBCR)) + ops.convert_to_tensor(
        np.array([0.0, 128.0, 128.0], np.float32)))  # the encoder works on 8-bit YCbCr
    luma_table, chroma_table = quantization_tables(quality)
    luma = _blocks_dct_quantized(ycbcr[..., 0] - 128.0, luma_table) + 128.0
    chroma = smooth_round(ops.average_pool(ycbcr[..., 1:], 2, strides=2, padding="valid")) - 128.0
    chroma = ops.stack([_blocks_dct_quantized(chroma[..., c], chroma_table) for c in range(2)], axis=-1) + 128.0
    chroma = ops.image.resize(chroma, (height + pad_h, width + pad_w), interpolation="bilinear")
    ycbcr = ops.concatenate([luma[..., None], chroma], axis=-1) - ops.convert_to_tensor(
        np.array([0.0, 128.0, 128.0], np.float32))
    rgb = ops.einsum("nhwd,cd->nhwc", ycbcr, ops.convert_to_tensor(_TO_RGB))
    decoded = ops.clip(smooth_round(rgb[:, :height, :width]) / 255.0, 0.0, 1.0)  # the decoder's 8-bit output
    return ops.where(ops.cast(quality, "float32") >= 100.0, images, decoded)


def pillow_jpeg(images: np.ndarray, quality: int) -> np.ndarray:
    """Pillow's JPEG round trip (4:2:0, its default) of a float [0, 1] NHWC batch, as float32:
    `distortions.jpeg`, the evaluation's own (quality 100 is the identity)."""
    return distortions.jpeg(to_uint8(images), 100 - int(quality)).astype(np.float32) / 255.0


def jpeg_real(images, quality):
    """Pillow's real JPEG round trip in the forward pass; the gradient passes straight through."""
    import tensorflow as tf

    real = tf.numpy_function(pillow_jpeg, [images, tf.cast(quality, tf.int32)], tf.float32, stateful=False)
    real = tf.ensure_shape(real, images.shape)
    return images + tf.stop_gradient(real - images)


def noise(images, sigma, seed=None):
    return images + keras.random.normal(ops.shape(images), stddev=ops.cast(sigma, "float32") / 255.0, seed=seed)


def blur(images, sigma, radius: int = 4):
    """Gaussian blur of standard deviation `sigma` pixels (a tensor or number; 0: identity), kernel 2*radius+1."""
    sigma = ops.maximum(ops.cast(sigma, "float32"), 1e-3)
    coords = ops.cast(ops.arange(-radius, radius + 1), "float32")
    kernel = ops.exp(-(coords**2) / (2 * sigma**2))
    kernel = kernel / ops.sum(kernel)
    channels = images.shape[-1]
    x = ops.pad(images, ((0, 0), (radius, radius), (radius, radius), (0, 0)), mode="reflect")
    x = ops.depthwise_conv(x, ops.tile(ops.reshape(kernel, (-1, 1, 1, 1)), (1, 1, channels, 1)), padding="valid")
    return ops.depthwise_conv(x, ops.tile(ops.reshape(kernel, (1, -1, 1, 1)), (1, 1, channels, 1)), padding="valid")


def resize(images, lost):
    """Bilinear down-scale by (1 - lost) and back (`lost` a Python number)."""
    if lost == 0:
        return images
    height, width = images.shape[1], images.shape[2]
    small = (max(1, round(height * (1 - lost))), max(1, round(width * (1 - lost))))
    down = ops.image.resize(images, small, interpolation="bilinear", antialias=True)
    return ops.image.resize(down, (height, width), interpolation="bilinear")


def brightness(images, offset):
    return images + ops.cast(offset, "float32") / 255.0


def contrast(images, change):
    mean = ops.mean(images, axis=(1, 2, 3), keepdims=True)
    return (images - mean) * (1.0 + ops.cast(change, "float32")) + mean


def shift(images, dy: int, dx: int):
    """The image moved by (dy, dx) pixels (Python ints), the border reflected in."""
    if not dy and not dx:
        return images
    pad = max(abs(dy), abs(dx))
    height, width = images.shape[1], images.shape[2]
    x = ops.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")
    return x[:, pad - dy : pad - dy + height, pad - dx : pad - dx + width]


def round8(images):
    return round_8bit_straight_through(images)


# The strongest setting of each training distortion (its strength at `Channel.strength` 1).
MAX_STRENGTHS = {"jpeg": 50.0, "noise": 5.0, "blur": 1.0, "resize": 0.5, "brightness": 10.0, "contrast": 0.1}


class Channel(keras.layers.Layer):
    """The stego image's way to the revealing network in training; the identity at inference.

    Each batch takes one of `names` (or, as often as each, no distortion), at a strength
    drawn uniformly up to `strength` x its entry in MAX_STRENGTHS: JPEG quality down to 50
    (`jpeg_real` for a `real_jpeg_share` of JPEG batches, else `jpeg_approx`, as MBRS mixes
    them), noise sigma up to 5, blur sigma up to 1, brightness up to +-10, contrast up to
    +-10%. Resizing to half and back has one size, so weaker strengths blend it with the
    image. `strength` (a non-trainable weight in [0, 1]) is the schedule: `RampChannel`
    raises it from 0 during training, mild to strong.
    """

    def __init__(self, names: tuple[str, ...], real_jpeg_share: float = 0.5, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        unknown = sorted(set(names) - set(MAX_STRENGTHS))
        if unknown:
            raise ValueError(f"unknown channel distortions {unknown}; choose from {', '.join(MAX_STRENGTHS)}")
        self.names, self.real_jpeg_share = tuple(names), real_jpeg_share
        self.supports_jit = False  # jpeg_real runs Pillow (tf.numpy_function), which XLA cannot compile
        self.strength = self.add_weight(shape=(), initializer="ones", trainable=False, name="strength")
        self.seeds = keras.random.SeedGenerator(seed)

    def _uniform(self, low=0.0, high=1.0):
        return keras.random.uniform((), low, high, seed=self.seeds)

    def _distort(self, name: str, x):
        level = self.strength * self._uniform() * MAX_STRENGTHS[name]
        if name == "jpeg":
            quality = 100.0 - level
            return ops.cond(self._uniform() < self.real_jpeg_share, lambda: jpeg_real(x, quality),
                            lambda: jpeg_approx(x, quality))
        if name == "noise":
            return noise(x, level, seed=self.seeds)
        if name == "blur":
            return blur(x, level)
        if name == "resize":
            return x + level / MAX_STRENGTHS[name] * (resize(x, MAX_STRENGTHS[name]) - x)
        sign = ops.where(self._uniform() < 0.5, -1.0, 1.0)
        return brightness(x, sign * level) if name == "brightness" else contrast(x, sign * level)

    def call(self, x, training=False):
        if not training or not self.names:
            return x
        index = ops.cast(self._uniform(0.0, len(self.names) + 1.0), "int32")
        branches = [lambda y: y] + [lambda y, name=name: self._distort(name, y) for name in self.names]
        return ops.clip(ops.switch(index, branches, x), 0.0, 1.0)


class RampChannel(keras.callbacks.Callback):
    """Raises `channel.strength` linearly from 0 to 1 over the first `steps` training steps."""

    def __init__(self, channel: Channel, steps: int, steps_per_epoch: int):
        super().__init__()
        self.channel, self.steps, self.steps_per_epoch = channel, max(1, steps), steps_per_epoch
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch  # a resumed run continues the ramp where it was

    def on_train_batch_begin(self, batch, logs=None):
        self.channel.strength.assign(min(1.0, (self._epoch * self.steps_per_epoch + batch) / self.steps))
