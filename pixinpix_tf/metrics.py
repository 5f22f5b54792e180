"""Image quality metrics.

`psnr` and `ssim` are Keras metric functions on float images in [0, 1]; they
report the mean over the batch of per-image values (peak 1.0, i.e. 255 in
8-bit units, so the numbers equal PSNR/SSIM on 0-255 images).
"""

from __future__ import annotations

import tensorflow as tf


def psnr(y_true, y_pred):
    """Peak signal-to-noise ratio in dB, per image (peak 1.0 on [0, 1] images)."""
    return tf.image.psnr(tf.cast(y_true, tf.float32), tf.cast(y_pred, tf.float32), max_val=1.0)


def ssim(y_true, y_pred):
    """Structural similarity (Gaussian window 11, sigma 1.5), per image."""
    return tf.image.ssim(tf.cast(y_true, tf.float32), tf.cast(y_pred, tf.float32), max_val=1.0)
