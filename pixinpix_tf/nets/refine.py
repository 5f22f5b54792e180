"""Refine stego images against the fixed revealing network.

The hiding network's stego image is a first guess. A few steps of Adam on its
pixels lower the revealed error, while a cover term keeps the stego image near
the cover. The rounding to 8 bits is inside the loop (straight-through
gradient), so the stored PNG reveals as optimised. Only the stego pixels
change, never the networks: any runtime (ONNX included) reveals a refined
stego image with the same revealing network.
"""

from __future__ import annotations

import functools

import keras
import numpy as np
import tensorflow as tf

from pixinpix_tf.nets.layers import round_8bit_straight_through

LEARNING_RATE = 2e-3  # in [0, 1] pixel units: about half an 8-bit level per step
COVER_WEIGHT = 3.0  # weight of the stego-vs-cover MSE against the revealed-vs-secret MSE


def refine_stego(revealer: keras.Model, covers: np.ndarray, secrets: np.ndarray, stegos: np.ndarray,
                 steps: int, batch_size: int = 256, learning_rate: float = LEARNING_RATE,
                 cover_weight: float = COVER_WEIGHT) -> np.ndarray:
    """`steps` Adam steps on float [0, 1] `stegos` (N, H, W, 3), `batch_size` images at a
    time; returns the refined float32 stegos.

    Minimises MSE(revealer(round8(stego)), secret) + cover_weight * MSE(stego, cover) of
    each image, keeping the stego pixels in [0, 1]. Images are refined independently: a
    tile's result does not depend on the batch it is in.
    """
    if steps == 0:
        return np.asarray(stegos, np.float32)
    refine = _refiner(revealer)
    scalars = tf.constant(steps), tf.constant(learning_rate, tf.float32), tf.constant(cover_weight, tf.float32)
    return np.concatenate([
        refine(*(tf.constant(batch[i : i + batch_size], tf.float32) for batch in (covers, secrets, stegos)),
               *scalars).numpy()
        for i in range(0, len(stegos), batch_size)])


@functools.lru_cache(maxsize=4)
def _refiner(revealer: keras.Model):
    """The refinement loop for `revealer`, traced once for any batch and image size (no graph per call).

    Cached for the last four revealers, as `api` caches loaded models."""
    rgb, secret = tf.TensorSpec([None, None, None, 3], tf.float32), tf.TensorSpec([None, None, None, None], tf.float32)
    scalar = tf.TensorSpec([], tf.float32)

    @tf.function(input_signature=[rgb, secret, rgb, tf.TensorSpec([], tf.int32), scalar, scalar])
    def refine(covers, secrets, stegos, steps, learning_rate, cover_weight):
        beta1, beta2, epsilon = 0.9, 0.999, 1e-7  # Adam, as keras.optimizers.Adam

        def step(t, stego, m, v):
            with tf.GradientTape() as tape:
                tape.watch(stego)
                revealed = tf.cast(revealer(round_8bit_straight_through(stego), training=False), tf.float32)
                loss = tf.reduce_sum(  # the sum of per-image losses: each image's gradient is its own
                    tf.reduce_mean(tf.square(revealed - secrets), axis=(1, 2, 3))
                    + cover_weight * tf.reduce_mean(tf.square(stego - covers), axis=(1, 2, 3)))
            gradient = tape.gradient(loss, stego)
            m = beta1 * m + (1.0 - beta1) * gradient
            v = beta2 * v + (1.0 - beta2) * tf.square(gradient)
            t += 1
            count = tf.cast(t, tf.float32)
            rate = learning_rate * tf.sqrt(1.0 - beta2**count) / (1.0 - beta1**count)
            return t, tf.clip_by_value(stego - rate * m / (tf.sqrt(v) + epsilon), 0.0, 1.0), m, v

        zeros = tf.zeros_like(stegos)
        return tf.while_loop(lambda t, *_: t < steps, step, (tf.constant(0), stegos, zeros, zeros))[1]

    return refine
