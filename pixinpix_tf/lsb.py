"""Classic LSB substitution, the baseline every steganographer knows.

The k most significant bits of each secret pixel replace the k least
significant bits of the cover pixel; revealing reads them back and
reconstructs each pixel at the middle of its 2**(8 - k) wide interval.

With `nearest=True` the stego value is the 8-bit level nearest the cover's
that has the wanted low bits (LSB with optimal pixel adjustment): the same
bits at about 3 dB higher stego PSNR, the way `EmbedLowBits` writes its code.
"""

from __future__ import annotations

import numpy as np


def lsb_hide(cover: np.ndarray, secret: np.ndarray, bits: int, nearest: bool = False) -> np.ndarray:
    """Stego uint8 images: cover's top 8-k bits, secret's top k bits (k = `bits`, 1..8).

    `nearest`: instead of the cover's top bits, the level nearest the cover with those low bits.
    """
    if not 1 <= bits <= 8:
        raise ValueError(f"bits must be 1..8, got {bits}")
    cover, secret = np.asarray(cover, np.uint8), np.asarray(secret, np.uint8)
    if secret.shape[-1] == 1 and cover.shape[-1] == 3:
        secret = np.repeat(secret, 3, axis=-1)
    keep = np.uint8((0xFF << bits) & 0xFF)
    stego = (cover & keep) | (secret >> (8 - bits))
    if not nearest:
        return stego
    period = 1 << bits
    shifts = np.array([-period, 0, period], np.int16).reshape((3,) + (1,) * stego.ndim)
    candidates = stego.astype(np.int16)[None] + shifts
    distance = np.where((candidates < 0) | (candidates > 255), 1024, np.abs(candidates - cover.astype(np.int16)))
    return np.take_along_axis(candidates, distance.argmin(axis=0)[None], axis=0)[0].astype(np.uint8)


def lsb_reveal(stego: np.ndarray, bits: int) -> np.ndarray:
    """The secret's top k bits from the stego's low bits, mid-point reconstructed."""
    low = np.asarray(stego, np.uint8) & np.uint8((1 << bits) - 1)
    middle = (1 << (8 - bits)) >> 1
    return ((low.astype(np.uint16) << (8 - bits)) + middle).astype(np.uint8)
