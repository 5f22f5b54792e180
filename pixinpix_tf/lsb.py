"""Classic LSB substitution, the baseline every steganographer knows.

The k most significant bits of each secret pixel replace the k least
significant bits of the cover pixel; revealing reads them back and
reconstructs each pixel at the middle of its 2**(8 - k) wide interval.
"""

from __future__ import annotations

import numpy as np


def lsb_hide(cover: np.ndarray, secret: np.ndarray, bits: int) -> np.ndarray:
    """Stego uint8 images: cover's top 8-k bits, secret's top k bits (k = `bits`, 1..8)."""
    if not 1 <= bits <= 8:
        raise ValueError(f"bits must be 1..8, got {bits}")
    cover, secret = np.asarray(cover, np.uint8), np.asarray(secret, np.uint8)
    if secret.shape[-1] == 1 and cover.shape[-1] == 3:
        secret = np.repeat(secret, 3, axis=-1)
    keep = np.uint8((0xFF << bits) & 0xFF)
    return (cover & keep) | (secret >> (8 - bits))


def lsb_reveal(stego: np.ndarray, bits: int) -> np.ndarray:
    """The secret's top k bits from the stego's low bits, mid-point reconstructed."""
    low = np.asarray(stego, np.uint8) & np.uint8((1 << bits) - 1)
    middle = (1 << (8 - bits)) >> 1
    return ((low.astype(np.uint16) << (8 - bits)) + middle).astype(np.uint8)
