"""The steganalyser network: a small CNN that tells stego images from covers.

XuNet-like: a fixed 5x5 high-pass filter (the "KV" kernel of the SRM filter
set) on each colour channel, which removes the image content and keeps the
noise where hidden data lives, then three blocks of 3x3 convolution, batch
norm, ReLU and 2x2 average pooling, global average pooling and one logit.
`pixinpix steganalyse` trains a fresh one to measure detectability
(`steganalysis`); training with `--adversary` trains one beside the hider,
which learns to fool it (`train.with_adversary`). Keras only.
"""

from __future__ import annotations

import keras
import numpy as np

HIGH_PASS = np.array([[-1, 2, -2, 2, -1], [2, -6, 8, -6, 2], [-2, 8, -12, 8, -2], [2, -6, 8, -6, 2],
                      [-1, 2, -2, 2, -1]], np.float32) / 12.0


def detector(channels: int = 3, filters: int = 32, name: str = "steganalyser", dtype: str | None = None
             ) -> keras.Model:
    """The steganalyser: uint8-range float images (N, H, W, channels) -> logit that the image is stego.
    `dtype` (e.g. float32 under a bfloat16 policy, where the high-pass kernel would no longer sum to 0):
    every layer's; None: the global policy."""
    images = keras.Input((None, None, channels))
    kernel = np.zeros((5, 5, channels, 1), np.float32)
    kernel[..., 0] = HIGH_PASS[..., None]
    x = keras.layers.DepthwiseConv2D(5, padding="same", use_bias=False, trainable=False, name="high_pass",
                                     depthwise_initializer=keras.initializers.Constant(kernel), dtype=dtype)(images)
    for block in range(3):
        x = keras.layers.Conv2D(filters * 2**block, 3, padding="same", use_bias=False, dtype=dtype)(x)
        x = keras.layers.BatchNormalization(dtype=dtype)(x)
        x = keras.layers.ReLU(dtype=dtype)(x)
        x = keras.layers.AveragePooling2D(2, dtype=dtype)(x)
    x = keras.layers.GlobalAveragePooling2D(dtype=dtype)(x)
    return keras.Model(images, keras.layers.Dense(1, dtype=dtype)(x), name=name)
