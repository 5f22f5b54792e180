"""Refine stego images against the fixed revealing network.

The hiding network's stego image is a first guess. A few steps of Adam on its
pixels lower the revealed error, while a cover term keeps the stego image near
the cover. The rounding to 8 bits is inside the loop (straight-through
gradient), so the stored PNG reveals as optimised. Only the stego pixels
change, never the networks: any runtime (ONNX included) reveals a refined
stego image with the same revealing network.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

LEARNING_RATE = 2e-3  # in [0, 1] pixel units: about half an 8-bit level per step
COVER_WEIGHT = 3.0  # weight of the stego-vs-cover MSE against the revealed-vs-secret MSE


def refine_stego(revealer: keras.Model, covers: np.ndarray, secrets: np.ndarray, stegos: np.ndarray,
                 steps: int, learning_rate: float = LEARNING_RATE, cover_weight: float = COVER_WEIGHT) -> np.ndarray:
    """`steps` Adam steps on float [0, 1] `stegos` (N, H, W, 3); returns the refined float32 stegos.

    Minimises MSE(revealer(round8(stego)), secret) + cover_weight * MSE(stego, cover),
    keeping the stego pixels in [0, 1].
    """
    if steps < 0:
        raise ValueError(f"refinement steps must be >= 0, got {steps}")
    if steps == 0:
        return np.asarray(stegos, np.float32)
    stego = tf.Variable(np.asarray(stegos, np.float32))
    covers, secrets = tf.constant(covers, tf.float32), tf.constant(secrets, tf.float32)
    optimizer = keras.optimizers.Adam(learning_rate)
    optimizer.build([stego])

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            rounded = tf.round(tf.clip_by_value(stego, 0.0, 1.0) * 255.0) / 255.0
            stored = stego + tf.stop_gradient(rounded - stego)
            revealed = tf.cast(revealer(stored, training=False), tf.float32)
            loss = tf.reduce_mean(tf.square(revealed - secrets)) + cover_weight * tf.reduce_mean(
                tf.square(stego - covers))
        optimizer.apply_gradients([(tape.gradient(loss, stego), stego)])
        stego.assign(tf.clip_by_value(stego, 0.0, 1.0))

    for _ in range(steps):
        step()
    return stego.numpy()
