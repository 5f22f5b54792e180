"""Classical baselines on the same pairs as the learned models, numpy and Pillow only.

LSB substitution (`lsb_hide` / `lsb_reveal`): the k most significant bits of
each secret pixel replace the k least significant bits of the cover pixel;
revealing reads them back and reconstructs each pixel at the middle of its
2**(8 - k) wide interval. With `nearest=True` the stego value is the 8-bit
level nearest the cover's that has the wanted low bits (LSB with optimal pixel
adjustment): the same bits at about 3 dB higher stego PSNR, the way
`EmbedLowBits` writes its code.

A compressed secret in the low bits (`compressed_hide` / `compressed_reveal`):
the secret is encoded as WebP or JPEG at the highest quality whose bytes, after
a 9-byte header (payload length, width, height, channels), fit in the k lowest
bits of the cover's values; the bits are written in order from the first value.
On a lossless PNG this beats every learned model we ship; any change to the
stego image damages the payload: the batch functions then give a mid-grey
image, the Method raises NothingRevealed.

`avif1` (`AvifSecret`): the secret compressed to AVIF (4:4:4 chroma, which beats WebP by about
1.8 dB at these sizes) in one bit of every cover value, written by LSB matching revisited
(`matching_write`): each pair of values carries two bits with 0.75 changes of one level on average
instead of 1.0, so the stego is about 1.3 dB closer to the cover than with replacement at the same
payload, and no value is set to a level of a fixed parity (the pairs-of-values statistic LSB
replacement leaves).

As Methods (`methods.registry`): `lsbK` and `lsbK-nearest` (K = 1..8), `webpK` and `jpegK`
(the codec's secret in the K low bits), and `avif1`. A secret smaller than the cover is a smaller payload: LSB
writes its values into the first values of the cover, the codecs compress the smaller image.
"""

from __future__ import annotations

import hashlib
import io
import struct

import numpy as np
from PIL import Image

from pixinpix_tf.errors import ConfigError, ImageError, NothingRevealed
from pixinpix_tf.images import largest_fitting
from pixinpix_tf.methods.base import Method

CODECS = {"webp": "WEBP", "jpeg": "JPEG", "avif": "AVIF"}
_HEADER = struct.Struct(">IHHB")  # payload bytes, width, height, channels


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


# Encoder options beyond the quality: AVIF at full chroma (4:4:4), which at a bit per value beats
# Pillow's 4:2:0 by about 1.7 dB, at libavif's speed 6.
CODEC_OPTIONS = {"avif": {"subsampling": "4:4:4", "speed": 6}}


def _encode(secret: np.ndarray, codec: str, quality: int) -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(secret[..., 0] if secret.shape[-1] == 1 else secret)
    image.save(buffer, format=CODECS[codec], quality=quality, **CODEC_OPTIONS.get(codec, {}))
    return buffer.getvalue()


def _largest_fitting(secret: np.ndarray, codec: str, capacity: int) -> bytes:
    """The encoding at the highest quality (1..100) of at most `capacity` bytes, or b""."""
    fitting = largest_fitting(lambda quality: _encode(secret, codec, quality), capacity, 1, 100)
    return b"" if fitting is None else fitting[0]


def _payload_bits(secret: np.ndarray, codec: str, capacity: int) -> np.ndarray:
    """The bits of the header and `secret` compressed with `codec` at the highest quality that fits in
    `capacity` bytes with the header (an empty payload if nothing fits)."""
    data = _largest_fitting(secret, codec, capacity - _HEADER.size)
    height, width, channels = secret.shape
    return np.unpackbits(np.frombuffer(_HEADER.pack(len(data), width, height, channels) + data, np.uint8))


def compressed_hide_one(cover: np.ndarray, secret: np.ndarray, bits: int, codec: str = "webp") -> np.ndarray:
    """The uint8 stego image: `secret` (uint8 HWC) compressed with `codec` into the `bits` low bits of `cover`."""
    if not 1 <= bits <= 8:
        raise ValueError(f"bits must be 1..8, got {bits}")
    stream = _payload_bits(secret, codec, cover.size * bits // 8)
    stream = np.pad(stream, (0, -len(stream) % bits))  # whole k-bit symbols
    symbols = stream.reshape(-1, bits) @ (1 << np.arange(bits - 1, -1, -1))
    stego = cover.reshape(-1).copy()
    keep = np.uint8((0xFF << bits) & 0xFF)
    stego[: len(symbols)] = (stego[: len(symbols)] & keep) | symbols.astype(np.uint8)
    return stego.reshape(cover.shape)


def compressed_read(stego: np.ndarray, bits: int, channels: int = 3) -> np.ndarray | None:
    """The secret (at the size its header gives) read back from `stego`'s low bits; None if damaged."""
    low = (stego.reshape(-1) & np.uint8((1 << bits) - 1)).astype(np.uint8)
    stream = np.unpackbits(low[:, None], axis=1)[:, 8 - bits:].reshape(-1)
    return _decode_payload(np.packbits(stream[: len(stream) // 8 * 8]).tobytes(), channels)


def _decode_payload(raw: bytes, channels: int) -> np.ndarray | None:
    """The image behind the header in `raw` (bytes read from a stego image); None if damaged."""
    if len(raw) < _HEADER.size:
        return None
    length, width, height, stored_channels = _HEADER.unpack(raw[: _HEADER.size])
    if not 0 < length <= len(raw) - _HEADER.size or stored_channels != channels:
        return None
    try:
        with Image.open(io.BytesIO(raw[_HEADER.size : _HEADER.size + length])) as image:
            secret = np.asarray(image.convert("L" if channels == 1 else "RGB"))
    except Exception:  # any decoding failure of a damaged payload: Pillow raises many kinds
        return None
    return secret.reshape(height, width, channels) if secret.size == height * width * channels else None


def compressed_reveal_one(stego: np.ndarray, bits: int, channels: int = 3) -> np.ndarray:
    """The secret read back from `stego`'s low bits; a damaged payload gives a mid-grey image of the stego's size."""
    grey = np.full(stego.shape[:2] + (channels,), 128, np.uint8)
    secret = compressed_read(stego, bits, channels)
    return secret if secret is not None and secret.shape == grey.shape else grey


def compressed_hide(covers: np.ndarray, secrets: np.ndarray, bits: int, codec: str = "webp") -> np.ndarray:
    """`compressed_hide_one` over uint8 NHWC batches."""
    pairs = zip(np.asarray(covers, np.uint8), np.asarray(secrets, np.uint8))
    return np.stack([compressed_hide_one(cover, secret, bits, codec) for cover, secret in pairs])


def compressed_reveal(stegos: np.ndarray, bits: int, channels: int = 3) -> np.ndarray:
    """`compressed_reveal_one` over a uint8 NHWC batch."""
    return np.stack([compressed_reveal_one(s, bits, channels) for s in np.asarray(stegos, np.uint8)])


def _check_bits(name: str, bits: int) -> None:
    if not 1 <= bits <= 8:
        raise ConfigError(f"{name}: the number of low bits must be 1..8")


class _Baseline(Method):
    """What the classical baselines share: no key, lossless channels only, any cover size."""

    cannot = {"key": "a classical baseline has no key; use a network or dct-code",
              "refine": "a classical baseline writes bits: it cannot be refined",
              "web": "the page runs a network's ONNX image graphs; the baselines run in Python only"}

    def _no_key(self, key) -> None:
        if key is not None:
            self.check("key")


def pairs_asymmetry(image: np.ndarray) -> float:
    """The histogram's imbalance within pairs of values (2i, 2i + 1): the mean over pairs of
    |h(2i) - h(2i + 1)| / (h(2i) + h(2i + 1)). Replacing the low bits forces it: random bits (a compressed
    secret) even the pairs out (the idea of the chi-square attack), a secret's own top bits skew them."""
    histogram = np.bincount(np.asarray(image, np.uint8).reshape(-1), minlength=256).astype(np.float64)
    even, odd = histogram[0::2], histogram[1::2]
    used = even + odd > 0
    return float(np.mean(np.abs(even - odd)[used] / (even + odd)[used]))


class Lsb(_Baseline):
    """`lsbK` (`lsbK-nearest`): the secret's top K bits in the cover's K low bits (`lsb_hide`)."""

    family = "lsb"

    def statistics(self, image: np.ndarray) -> dict[str, float]:
        return {} if self.nearest else {"pairs asymmetry": pairs_asymmetry(image)}

    def __init__(self, bits: int, nearest: bool = False):
        self.bits, self.nearest = bits, nearest
        self.name = f"lsb{bits}" + ("-nearest" if nearest else "")
        _check_bits(self.name, bits)

    def hide(self, cover, secret, key=None, progress=None, channel=None) -> np.ndarray:
        self._no_key(key)
        if secret.shape[-1] == 1:
            secret = np.repeat(secret, 3, axis=-1)
        stego = np.asarray(cover, np.uint8).copy()
        flat, values = stego.reshape(-1), secret.reshape(-1)[: stego.size]
        flat[: len(values)] = lsb_hide(flat[: len(values)], values, self.bits, self.nearest)
        return stego

    def reveal(self, stego, key=None) -> np.ndarray:
        self._no_key(key)
        return lsb_reveal(stego, self.bits)

    def hide_batch(self, covers, secrets) -> np.ndarray:
        if covers.shape[:-1] == secrets.shape[:-1]:
            return lsb_hide(covers, secrets, self.bits, self.nearest)
        return super().hide_batch(covers, secrets)

    def reveal_batch(self, stegos) -> np.ndarray:
        return lsb_reveal(stegos, self.bits)


class CompressedSecret(_Baseline):
    """`webpK` / `jpegK`: the secret compressed with the codec, in the cover's K low bits."""

    family = "compressed"

    def statistics(self, image: np.ndarray) -> dict[str, float]:
        return {"pairs asymmetry": pairs_asymmetry(image)}  # the low bits are replaced, as LSB does

    def __init__(self, codec: str, bits: int):
        self.codec, self.bits, self.name = codec, bits, f"{codec}{bits}"
        _check_bits(self.name, bits)

    def hide(self, cover, secret, key=None, progress=None, channel=None) -> np.ndarray:
        self._no_key(key)
        if secret.shape[-1] == 1:
            secret = np.repeat(secret, 3, axis=-1)
        return compressed_hide_one(np.asarray(cover, np.uint8), np.asarray(secret, np.uint8), self.bits, self.codec)

    def reveal(self, stego, key=None) -> np.ndarray:
        self._no_key(key)
        secret = compressed_read(np.asarray(stego, np.uint8), self.bits)
        if secret is None:
            raise NothingRevealed(f"nothing decodes: the image holds no {self.name} secret, or it was changed "
                                  "(a compressed secret in the low bits survives only lossless channels)")
        return secret

    def reveal_batch(self, stegos) -> np.ndarray:
        return compressed_reveal(stegos, self.bits)


def matching_write(values: np.ndarray, bits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`values` (uint8, 1-D, even length) carrying `bits` (0/1, the same length) by LSB matching revisited:
    for each pair (a, b) and bits (m1, m2), LSB(a) = m1 and LSB(a // 2 + b) = m2 afterwards, at most one
    of the two moved by one level (up or down as the other bit needs; at random for b; never past 0..255)."""
    a, b = values[0::2].astype(np.int16), values[1::2].astype(np.int16)
    m1, m2 = bits[0::2].astype(np.int16), bits[1::2].astype(np.int16)

    def f(x, y):
        return ((x // 2) + y) & 1

    first_ok = (a & 1) == m1
    # m1 already there: move b by one (either way flips f) where f is wrong
    step = np.where(rng.random(len(b)) < 0.5, -1, 1)
    step = np.where(b == 0, 1, np.where(b == 255, -1, step))
    b = np.where(first_ok & (f(a, b) != m2), b + step, b)
    # m1 not there: a - 1 or a + 1, whichever also gives m2 (exactly one does)
    down_ok = f(a - 1, b) == m2
    wanted = np.where(down_ok, a - 1, a + 1)
    inside = (wanted >= 0) & (wanted <= 255)
    # at 0 or 255 the wanted side is out of range: take the other side (it keeps m1) and fix m2 with b
    other = np.where(down_ok, a + 1, a - 1)
    a_new = np.where(inside, wanted, other)
    b_fix = np.where(b == 0, 1, np.where(b == 255, -1, step))
    b = np.where(~first_ok & ~inside, b + b_fix, b)
    a = np.where(first_ok, a, a_new)
    out = np.empty_like(values)
    out[0::2], out[1::2] = a.astype(np.uint8), b.astype(np.uint8)
    return out


def matching_read(values: np.ndarray) -> np.ndarray:
    """The bits `matching_write` wrote into `values` (uint8, 1-D, even length)."""
    a, b = values[0::2].astype(np.int16), values[1::2].astype(np.int16)
    bits = np.empty(len(values), np.uint8)
    bits[0::2], bits[1::2] = a & 1, ((a // 2) + b) & 1
    return bits


class AvifSecret(_Baseline):
    """`avif1`: the secret as AVIF (4:4:4) in one bit per cover value, by LSB matching revisited."""

    family = "compressed"
    name = "avif1"

    def hide(self, cover, secret, key=None, progress=None, channel=None) -> np.ndarray:
        self._no_key(key)
        cover, secret = np.asarray(cover, np.uint8), np.asarray(secret, np.uint8)
        if secret.shape[-1] == 1:
            secret = np.repeat(secret, 3, axis=-1)
        bits = _payload_bits(secret, "avif", (cover.size // 2 * 2) // 8)
        if len(bits) == 8 * _HEADER.size:  # the header alone: no AVIF fits
            raise ImageError(f"the cover ({cover.shape[1]}x{cover.shape[0]}) is too small to carry an AVIF secret")
        bits = np.pad(bits, (0, len(bits) % 2))
        rng = np.random.default_rng(int.from_bytes(hashlib.sha256(cover.tobytes()).digest()[:8], "big"))
        stego = cover.reshape(-1).copy()
        stego[: len(bits)] = matching_write(stego[: len(bits)], bits, rng)
        return stego.reshape(cover.shape)

    def capacity(self, cover, secret=None, channel=None):
        """Bytes of AVIF that fit in one bit of every value of `cover` (a lossless channel only; 0 for any
        other), and `secret` as it would reveal (`base.Method.capacity`)."""
        room = max(0, np.size(cover) // 16 * 2 - _HEADER.size) if self.survives(channel or "png") else 0
        if secret is None:
            return room
        secret = np.asarray(secret, np.uint8)
        data = _largest_fitting(secret, "avif", room) if room else b""
        return room, _decode_payload(_HEADER.pack(len(data), secret.shape[1], secret.shape[0], 3) + data, 3) \
            if data else None

    def reveal(self, stego, key=None) -> np.ndarray:
        self._no_key(key)
        values = np.asarray(stego, np.uint8).reshape(-1)
        secret = _decode_payload(np.packbits(matching_read(values[: len(values) // 2 * 2])).tobytes(), 3)
        if secret is None:
            raise NothingRevealed("nothing decodes: the image holds no avif1 secret, or it was changed (it "
                                  "survives only lossless channels)")
        return secret
