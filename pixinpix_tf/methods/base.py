"""The Method interface: one way to hide a secret image in a cover image and reveal it.

Every hider (the networks, `dct-code`, the classical baselines) is a `Method`: uint8 RGB images in,
uint8 images out, `reveal` raising `NothingRevealed` when nothing can be revealed. Commands take a
Method from `methods.registry` and never ask which one it is; what a method cannot do is in its
`cannot` table (command -> the one-line reason), checked before any work starts.
"""

from __future__ import annotations

import numpy as np

from pixinpix_tf import channels
from pixinpix_tf.errors import ConfigError, NothingRevealed


class Method:
    """A way to hide one image in another (subclass it and add one registry entry).

    Attributes:
        name: the one spelling every command uses (`imagenet-in-cifar10`, `dct-code`, `lsb2`, `webp1`).
        family: `network`, `code`, `lsb` or `compressed`.
        secret_channels: 1 (grayscale) or 3 (RGB) secret planes.
        min_side: the smallest cover side it takes.
        lowest_jpeg_quality: it is checked to survive JPEG at this quality and above (None: no JPEG).
        cannot: {job: why not} for the jobs it cannot do: `key`, `refine`, `pairs` (32x32 test pairs), `web`.
    """

    name: str = ""
    family: str = ""  # network, code, lsb or compressed: how reports draw it
    secret_channels: int = 3
    min_side: int = 1
    lowest_jpeg_quality: int | None = None
    cannot: dict[str, str] = {}

    def hide(self, cover: np.ndarray, secret: np.ndarray, key=None, progress=None, channel=None) -> np.ndarray:
        """The uint8 stego image (the cover's size) of uint8 `cover` (H, W, 3) and `secret` (h, w, C; a
        method that hides a picture stretches it to the cover's size). `key`: a `keys.Key` or passphrase;
        `progress`: a `progress(done, total)` callback for long work; `channel`: where the stego image will
        go (a `channels` spelling), for a method that tunes itself to it (`dct-code`; the others ignore it)."""
        raise NotImplementedError

    def reveal(self, stego: np.ndarray, key=None) -> np.ndarray:
        """The uint8 revealed secret of a uint8 stego image; raises NothingRevealed."""
        raise NotImplementedError

    def capacity(self, cover: np.ndarray, secret: np.ndarray | None = None, channel=None):
        """The bytes a method that hides bytes (a code, a compressed secret) carries in `cover` through
        `channel`, before any hiding; given a `secret` (uint8), also that secret as it would reveal (None if
        nothing fits): (bytes, revealed). ConfigError for the others (a network hides a picture)."""
        raise ConfigError(f"{self.name} says nothing of its capacity in bytes; ask dct-code or avif1")

    def hide_batch(self, covers: np.ndarray, secrets: np.ndarray) -> np.ndarray:
        """uint8 stego images of same-size uint8 batches (N, H, W, C)."""
        return np.stack([self.hide(cover, secret) for cover, secret in zip(covers, secrets)])

    def reveal_batch(self, stegos: np.ndarray) -> np.ndarray:
        """uint8 revealed secrets of a uint8 batch; what reveals nothing is mid-grey."""
        return np.stack([reveal_or_grey(self, stego) for stego in stegos])

    def statistics(self, image: np.ndarray) -> dict[str, float]:
        """What its public algorithm forces into a shape covers do not have, measured on a uint8 image:
        the features of a targeted detector (`analysis.steganalysis.targeted`); {} when none is known."""
        return {}

    def survives(self, channel: str | channels.Channel) -> bool:
        """Whether its stego images are checked to survive `channel` (lossless always)."""
        return survives(self.lowest_jpeg_quality, channel)

    def check(self, job: str) -> None:
        """ConfigError (one line) if the method cannot do `job`."""
        if job in self.cannot:
            raise ConfigError(f"{self.name}: {self.cannot[job]}")


def survives(lowest_jpeg_quality: int | None, channel: str | channels.Channel) -> bool:
    """The survival rule of every method: lossless channels always; JPEG alone at `lowest_jpeg_quality`
    or above; nothing else (WebP, resizing) yet."""
    channel = channels.parse(channel)
    if channel.lossless:
        return True
    only_jpeg = all(step.kind in ("png", "jpeg") for step in channel.steps)
    return only_jpeg and lowest_jpeg_quality is not None and channel.lowest_jpeg_quality >= lowest_jpeg_quality


def reveal_or_grey(method: Method, stego: np.ndarray, key=None) -> np.ndarray:
    """What `method` reveals, or mid-grey of the stego's size when it reveals nothing: how evaluations
    score a secret that is gone."""
    try:
        return method.reveal(stego, key)
    except NothingRevealed:
        return np.full(stego.shape[:2] + (method.secret_channels,), 128, np.uint8)
