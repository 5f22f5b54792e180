"""`dct-code`: a digital hider that survives JPEG: numpy, Pillow, reedsolo and cryptography only.

The learned hiders carry the secret as a faint picture, and every JPEG save blurs it further. This one
carries it as bits that a JPEG save does not change:

1. the secret (fitted to the cover) is compressed to AVIF, at the scale and quality that look best
   within the cover's capacity;
2. the bytes are encrypted and authenticated (ChaCha20-Poly1305, `seal`) under a key derived from the
   key material and a random 12-byte nonce drawn for each image, behind a small header (format version,
   nonce, length) that the cipher authenticates too, and protected by a Reed-Solomon code (`reedsolo`);
3. each byte is written into one 8x8 block of the cover's luma: 8 of the block's low-frequency DCT
   coefficients each carry one bit by dithered quantisation index modulation (QIM), with a step of
   STEP_SCALE times JPEG's quality-50 table entry for that coefficient, so that a JPEG save at quality
   50 or above moves no coefficient far enough to flip its bit;
4. only textured blocks carry bytes (nothing is added where a change would show on a flat area), and
   nothing is changed to make the revealer agree: the hider writes into every block whose largest
   other AC coefficient (a probe) is at least EMBED_THRESHOLD quality-50 steps, the revealer reads only
   blocks whose largest probe is at least READ_THRESHOLD on what it receives. A JPEG save at quality
   50 or more rounds a probe to a multiple of s steps (s <= 1), so one it finds at READ_THRESHOLD or
   more was at least 0.375 steps before (READ_THRESHOLD - s / 2, or s / 2 when s >= 0.75), which the
   hider wrote into: every block read carries data, and the blocks written but not read are erasures
   for the Reed-Solomon decoder, which corrects twice as many of those as errors. The probes keep the
   cover's values, so the distribution of block textures is the cover's (`statistics`).

The hider checks its own work: it saves the stego image as JPEG at qualities 50 and 75 and reveals it;
if that fails it adds parity and tries again. The luma change is added equally to R, G and B, so the
chroma a JPEG save subsamples is untouched.

What it does not survive: resizing and blurring (they erase the coefficients it writes), a crop that
moves the 8x8 grid, and JPEG below quality 50. What it gives: on a lossless PNG it reveals the AVIF
secret exactly, not better: the secret's quality is set by the cover's capacity.

With a key (`keys.Key`), the key material is its memory-hard derivation (`Key.memory_hard`, scrypt), and
the cipher's key, the order of the bytes and the QIM dither come from it, so without the key nothing
decodes (`reveal` raises NothingRevealed): the Reed-Solomon decoding fails, and the cipher's tag would
catch what got past it; a payload that decodes but fails authentication says so. Without a key they
come from a fixed public key, so anyone can reveal (and so detect) an unkeyed stego image. The nonce
sits inside the payload, so two stego images hidden with one key share no keystream, but, for one
image size, they still share the order of the bytes and the dither (a header read with the key alone
would let those follow the nonce too: docs/research-log.md). Stego images of format 1 (before the
nonce: a keystream of the key alone and a 4-byte check) still reveal.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct

import numpy as np
import reedsolo
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from PIL import Image, features

from pixinpix_tf import keys
from pixinpix_tf.distortions import jpeg
from pixinpix_tf.errors import ImageError, NothingRevealed
from pixinpix_tf.inference.tiling import fit_secret
from pixinpix_tf.keys import Key
from pixinpix_tf.methods.base import Method

NAME = "dct-code"
DESIGN_QUALITY = 50  # the lowest JPEG quality the hider checks that its stego survives
CHECKED_QUALITIES = (DESIGN_QUALITY, 75)  # 75 too: its steps are half of 50's, where probes round up most
STEP_SCALE = 2.5  # QIM step per coefficient, in units of JPEG's quality-50 quantisation table
PUBLIC_KEY = b"pixinpix dct-code public key"
SECRET_SCALES = (1.0, 0.75, 0.5, 0.35, 0.25, 0.18, 0.125)  # sides the secret may be compressed at, largest first
PARITY = tuple(range(32, 241, 16))  # Reed-Solomon parity bytes per 255-byte codeword the hider may use
AVIF_SPEED = 6
BYTES_PER_BLOCK = 1  # bytes each textured 8x8 block carries, one bit per coefficient
# Largest probe, in quality-50 steps, of the blocks the hider writes into and of those the revealer reads
# (module docstring, 4: 0.375 plus a margin for 8-bit rounding); format 1 settled its blocks clear of
# FORMAT_1_THRESHOLD and read that.
EMBED_THRESHOLD, READ_THRESHOLD, FORMAT_1_THRESHOLD = 0.40, 0.75, 0.48
ERROR_MARGIN = 8  # parity bytes per codeword kept for errors beyond the flat blocks' erasures
# Format 1 (no longer written, still revealed): length of the AVIF and a 4-byte check (SHAKE-256 of the key
# material and the AVIF), XORed with a keystream of the key alone.
_HEADER_V1 = struct.Struct(">I4s")
# Format 2: version, a random per-image nonce and the AVIF's length (the cipher's associated data), then the
# AVIF encrypted and authenticated by ChaCha20-Poly1305 under a key of the key material and the nonce.
VERSION = 2
_HEADER_V2 = struct.Struct(">B12sI")
_TAG = 16  # Poly1305's tag
_OVERHEAD = _HEADER_V2.size + _TAG

# JPEG's luminance quantisation table at quality 50 (ITU-T T.81, Annex K), row-major.
JPEG_LUMA_Q50 = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], np.float64).reshape(8, 8)
# The 8 * BYTES_PER_BLOCK coefficients that carry bytes: the AC ones JPEG quantises most finely.
CARRIERS = sorted(((u, v) for u in range(8) for v in range(8) if u or v),
                  key=lambda p: (JPEG_LUMA_Q50[p], p[0] + p[1]))[: 8 * BYTES_PER_BLOCK]
_ROWS, _COLS = np.array(CARRIERS).T
_PROBES = np.ones((8, 8), bool)  # the AC coefficients that say whether a block is textured
_PROBES[0, 0] = False
_PROBES[_ROWS, _COLS] = False
_DCT = np.sqrt(2 / 8) * np.cos(np.pi * (2 * np.arange(8)[None] + 1) * np.arange(8)[:, None] / 16)
_DCT[0] /= np.sqrt(2)
_LUMA = np.array([0.299, 0.587, 0.114])


class DctCode(Method):
    """The `dct-code` method on uint8 RGB arrays (module docstring)."""

    name = NAME
    family = "code"
    secret_channels = 3
    min_side = 64
    lowest_jpeg_quality = DESIGN_QUALITY
    cannot = {"refine": "it writes bits, not a picture: it cannot be refined; use 0 refinement steps",
              "pairs": "it hides in whole photos of at least 64x64, not 32x32 pairs: use --photos",
              "web": "the page runs a network's ONNX image graphs; dct-code runs in Python only "
                     "(pixinpix hide / reveal)"}

    def hide(self, cover: np.ndarray, secret: np.ndarray, key: Key | None = None, progress=None) -> np.ndarray:
        """The uint8 stego image of `cover`'s size carrying `secret` (uint8 RGB, stretched to the cover's size).

        Raises ImageError when the cover has too few textured blocks to carry even the smallest secret."""
        _check_avif()
        key = keys.as_key(key)
        slots = _Slots(np.shape(cover), key, VERSION)
        if secret.shape[:2] != cover.shape[:2]:
            secret = fit_secret(secret, *cover.shape[:2])
        cover = np.asarray(cover, np.uint8)
        largest = _largest_probe(_coefficients(cover))
        written, read = largest >= EMBED_THRESHOLD, largest >= READ_THRESHOLD
        for parity in _parities(read):
            room = _sizes(len(slots.order), parity)[0] - _OVERHEAD
            avif = _compress(secret, room) if room > 0 else None
            if avif is None:
                break  # more parity leaves even less room
            stego = _embed(cover, _encode(avif, room, parity, slots), slots, written)
            if all(_decodes(jpeg(stego[None], 100 - quality)[0], slots, parity) for quality in CHECKED_QUALITIES):
                return stego
        raise ImageError(f"the cover has too few textured 8x8 blocks ({int(read.sum())} of {read.size}) to "
                         "carry a secret that survives JPEG: use a more detailed or larger cover")

    def statistics(self, image: np.ndarray) -> dict[str, float]:
        """The share of 8x8 blocks whose largest probe lies in (0.2, 0.9) quality-50 steps: format 1's
        settling emptied that band (0.26 in Kodak and CBSD68 covers, 0.001 in its stego images); the
        hider now leaves the probes as they were."""
        largest = _largest_probe(_coefficients(np.asarray(image, np.uint8)))
        return {"settled band share": float(np.mean((largest > 0.2) & (largest < 0.9)))}

    def reveal(self, stego: np.ndarray, key: Key | None = None) -> np.ndarray:
        """The secret (uint8 RGB, the stego's size); NothingRevealed if nothing decodes (no payload, another
        key, or damage beyond what the code corrects)."""
        _check_avif()
        key = keys.as_key(key)
        stego = np.asarray(stego, np.uint8)
        largest = _largest_probe(_coefficients(stego))
        payload = None
        # format 2 reads blocks at READ_THRESHOLD, laid out by the key's scrypt material; format 1 (settled)
        # read FORMAT_1_THRESHOLD, laid out by its PBKDF2 material (the same public material without a key)
        for version, threshold in ((VERSION, READ_THRESHOLD), (1, FORMAT_1_THRESHOLD)):
            likely = _parities(largest >= threshold)  # what the hider tried first, first
            parities = likely + tuple(p for p in reversed(PARITY) if p not in likely)
            slots = _Slots(np.shape(stego), key, version)
            if (payload := _payload(stego, slots, parities, threshold)) is not None:
                break
        nothing = NothingRevealed("nothing decodes: the image holds no dct-code secret, the key differs, or it was "
                                  "changed beyond what the code corrects (resized, cropped, JPEG below quality "
                                  f"{DESIGN_QUALITY})")
        if payload is None:
            raise nothing
        try:  # the check holds for the public key's payloads too, so anyone can forge one: trust nothing
            with Image.open(io.BytesIO(payload)) as image:
                if image.format != "AVIF" or image.width > stego.shape[1] or image.height > stego.shape[0]:
                    raise nothing
                return np.asarray(image.convert("RGB").resize(stego.shape[1::-1], Image.BICUBIC))
        except (OSError, ValueError, Image.DecompressionBombError):
            raise nothing from None


def _check_avif() -> None:
    if not features.check("avif"):
        raise ImageError("dct-code keeps the secret as AVIF, which this Pillow cannot read or write: "
                         "pip install -U pillow (11.3 or later)")


def _parities(read: np.ndarray) -> tuple[int, ...]:
    """The parities the hider tries, in order: those that can restore the erasures of the blocks not
    `read` (bool, per block), with ERROR_MARGIN to spare."""
    erased = 1 - read.mean()
    return tuple(parity for parity in PARITY if erased * 255 + ERROR_MARGIN <= parity)


def _decodes(image: np.ndarray, slots: "_Slots", parity: int) -> bool:
    """Whether `image` gives back the payload at `parity` (the hider's self-check)."""
    try:
        return _payload(image, slots, (parity,)) is not None
    except NothingRevealed:  # decoded to the wrong bytes: more parity is needed
        return False


def _payload(stego: np.ndarray, slots: "_Slots", parities: tuple[int, ...],
             threshold: float = READ_THRESHOLD) -> bytes | None:
    """The AVIF bytes `stego` carries, reading the blocks whose largest probe is at least `threshold` and
    trying each Reed-Solomon parity in turn; None if none decodes. NothingRevealed if the error correction
    succeeds but the payload fails authentication."""
    coefficients = _coefficients(stego)
    carried = _read(coefficients, slots)[slots.order]
    read = _largest_probe(coefficients) >= threshold
    erased = np.flatnonzero(~np.repeat(read.reshape(-1), BYTES_PER_BLOCK)[slots.order])
    tampered = None
    for parity in parities:
        try:
            if (payload := _decode(carried, erased, parity, slots)) is not None:
                return payload
        except NothingRevealed as err:  # another parity may still decode: say so only if none does
            tampered = err
    if tampered is not None:
        raise tampered
    return None


class _Slots:
    """Where each payload byte goes and the key material, for one image size and key."""

    def __init__(self, shape: tuple[int, ...], key: Key | None, version: int = VERSION):
        if len(shape) != 3 or shape[2] != 3 or shape[0] < 64 or shape[1] < 64:
            raise ImageError(f"dct-code hides in RGB images of at least 64x64, got shape {tuple(shape)}")
        self.blocks = (shape[0] // 8, shape[1] // 8)
        count = self.blocks[0] * self.blocks[1] * BYTES_PER_BLOCK
        if key is None:
            self.key_material = hashlib.sha256(PUBLIC_KEY).digest()
        else:  # format 2 derives everything from the memory-hard key (keys.Key.memory_hard)
            self.key_material = key.memory_hard(b"dct-code") if version >= 2 else key.material(b"dct-code")
        # PCG64's raw stream is fixed across NumPy versions; it is not cryptographic (the keystream is).
        bits = np.random.PCG64(int.from_bytes(self.key_material[:16], "big"))
        self.order = np.argsort(bits.random_raw(count), kind="stable")  # payload byte i -> slot order[i]
        self.dither = (bits.random_raw((count, 8)) >> 11) / 2.0**53  # uniform [0, 1), in QIM steps
        self.dither = self.dither.reshape(self.blocks + (len(CARRIERS),))

    def cipher_key(self, nonce: bytes) -> bytes:
        """Format 2's per-image cipher key: SHA-256 of the key material and the image's nonce."""
        return hashlib.sha256(self.key_material + b"cipher" + nonce).digest()

    def keystream(self, size: int) -> np.ndarray:
        return np.frombuffer(hashlib.shake_256(self.key_material + b"stream").digest(size), np.uint8)

    def check(self, data: bytes) -> bytes:
        return hashlib.shake_256(self.key_material + b"check" + data).digest(4)


def _blocks(luma: np.ndarray) -> np.ndarray:
    h, w = luma.shape[0] // 8, luma.shape[1] // 8
    return luma[: h * 8, : w * 8].reshape(h, 8, w, 8).transpose(0, 2, 1, 3)


def _coefficients(image: np.ndarray) -> np.ndarray:
    """(h, w, 8, 8) orthonormal DCT of the luma's 8x8 blocks (JPEG's scale: a change of c is c/8 per pixel)."""
    return _DCT @ _blocks(image.astype(np.float64) @ _LUMA - 128) @ _DCT.T


def _add_luma(image: np.ndarray, change: np.ndarray) -> np.ndarray:
    """`image` with the (h, w, 8, 8) DCT-domain luma `change` added to R, G and B alike, rounded."""
    h, w = change.shape[:2]
    pixels = np.zeros(image.shape[:2])
    pixels[: h * 8, : w * 8] = (_DCT.T @ change @ _DCT).transpose(0, 2, 1, 3).reshape(h * 8, w * 8)
    return np.clip(np.round(image + pixels[..., None]), 0, 255).astype(np.uint8)


def _largest_probe(coefficients: np.ndarray) -> np.ndarray:
    """(h, w): each block's largest probe coefficient, in quality-50 steps (its texture)."""
    return (np.abs(coefficients / JPEG_LUMA_Q50) * _PROBES).max(axis=(-1, -2))


def _steps() -> np.ndarray:
    return STEP_SCALE * JPEG_LUMA_Q50[_ROWS, _COLS]


def _embed(cover: np.ndarray, data: np.ndarray, slots: _Slots, written: np.ndarray) -> np.ndarray:
    """`cover` with byte data[i] written into slot slots.order[i] where that slot's block is `written`."""
    per_slot = np.zeros(len(slots.order), np.uint8)
    per_slot[slots.order] = data
    bits = np.unpackbits(per_slot[:, None], axis=1).reshape(slots.dither.shape)
    offset = (slots.dither + bits / 2) * _steps()
    stego = cover
    for _ in range(3):  # rounding and clipping to 8 bits move the coefficients a little: write again
        coefficients = _coefficients(stego)
        current = coefficients[..., _ROWS, _COLS]
        wanted = np.round((current - offset) / _steps()) * _steps() + offset
        change = np.zeros_like(coefficients)
        change[..., _ROWS, _COLS] = np.where(written[..., None], wanted - current, 0.0)
        stego = _add_luma(stego, change)
    return stego


def _read(coefficients: np.ndarray, slots: _Slots) -> np.ndarray:
    """The byte each slot carries, block by block (flat blocks give noise)."""
    phase = (coefficients[..., _ROWS, _COLS] / _steps() - slots.dither) % 1.0
    bits = (np.abs(phase - 0.5) < 0.25).astype(np.uint8)
    return np.packbits(bits.reshape(-1, 8), axis=1)[:, 0]


def _compress(secret: np.ndarray, room: int) -> bytes | None:
    """The AVIF of `secret` within `room` bytes that reveals best (scale and quality searched), or None."""
    height, width = secret.shape[:2]
    best, best_error = None, np.inf
    for scale in SECRET_SCALES:
        image = Image.fromarray(np.asarray(secret, np.uint8))
        if scale < 1:
            image = image.resize((max(8, round(width * scale)), max(8, round(height * scale))), Image.LANCZOS)
        data = _largest_fitting(image, room)
        if data is None:
            continue
        with Image.open(io.BytesIO(data)) as decoded:
            back = np.asarray(decoded.convert("RGB").resize((width, height), Image.BICUBIC), np.float64)
        error = np.mean((back - secret) ** 2)
        if error < best_error:
            best, best_error = data, error
    return best


def _largest_fitting(image: Image.Image, room: int) -> bytes | None:
    """AVIF at the highest quality (binary search) of at most `room` bytes, or None."""
    best, low, high = None, 0, 100
    while low <= high:
        quality = low if best is None else (low + high) // 2  # the lowest first: often nothing fits
        buffer = io.BytesIO()
        image.save(buffer, format="AVIF", quality=quality, speed=AVIF_SPEED)
        if buffer.tell() <= room:
            best, low = buffer.getvalue(), quality + 1
        elif best is None:
            return None
        else:
            high = quality - 1
    return best


def _sizes(slots: int, parity: int) -> tuple[int, int]:
    """(data bytes, coded bytes) that fit in `slots` bytes with `parity` bytes per 255-byte codeword."""
    data = slots - -(-slots // 255) * parity
    return data, data + -(-data // (255 - parity)) * parity


def seal(avif: bytes, room: int, slots: _Slots) -> bytes:
    """Format 2's frame of `room` + _OVERHEAD bytes: header (version, a fresh random nonce, length), the AVIF
    encrypted and authenticated (ChaCha20-Poly1305, the header as associated data), zero padding."""
    nonce = os.urandom(12)
    header = _HEADER_V2.pack(VERSION, nonce, len(avif))
    sealed = header + ChaCha20Poly1305(slots.cipher_key(nonce)).encrypt(nonce, avif, header)
    return sealed + bytes(room + _OVERHEAD - len(sealed))


def unseal(data: bytes, slots: _Slots) -> bytes | None:
    """The AVIF of a decoded frame: format 2 (NothingRevealed if it fails authentication), else format 1
    (its 4-byte check); None if neither."""
    version, nonce, length = _HEADER_V2.unpack(data[: _HEADER_V2.size])
    if version == VERSION and length <= len(data) - _OVERHEAD:
        body = data[_HEADER_V2.size : _HEADER_V2.size + length + _TAG]
        try:
            return ChaCha20Poly1305(slots.cipher_key(nonce)).decrypt(nonce, body, data[: _HEADER_V2.size])
        except InvalidTag:
            if _open_v1(data, slots) is None:
                raise NothingRevealed("the payload decoded but failed authentication: the stego image was "
                                      "altered after hiding, or it was forged") from None
    return _open_v1(data, slots)


def _open_v1(data: bytes, slots: _Slots) -> bytes | None:
    """The AVIF of a format-1 frame (keystream of the key alone, 4-byte check), or None."""
    data = (np.frombuffer(data, np.uint8) ^ slots.keystream(len(data))).tobytes()
    length, check = _HEADER_V1.unpack(data[: _HEADER_V1.size])
    image = data[_HEADER_V1.size : _HEADER_V1.size + length]
    return image if length <= len(data) - _HEADER_V1.size and check == slots.check(image) else None


def _encode(avif: bytes, room: int, parity: int, slots: _Slots) -> np.ndarray:
    """The coded bytes for every slot: the sealed frame, Reed-Solomon coded."""
    coded = np.frombuffer(bytes(reedsolo.RSCodec(parity).encode(seal(avif, room, slots))), np.uint8)
    return np.pad(coded, (0, len(slots.order) - len(coded)))


def _decode(carried: np.ndarray, erased: np.ndarray, parity: int, slots: _Slots) -> bytes | None:
    """The AVIF bytes if `carried` decodes with `parity` and its frame opens (`unseal`), else None."""
    size, coded_size = _sizes(len(carried), parity)
    if size <= _OVERHEAD:
        return None
    codec = reedsolo.RSCodec(parity)
    try:  # the first codeword alone first: most wrong parities and keys fail there, fast
        first = min(255, coded_size)
        codec.decode(bytearray(carried[:first].tobytes()), erase_pos=[int(i) for i in erased if i < first])
        plain = codec.decode(bytearray(carried[:coded_size].tobytes()),
                             erase_pos=[int(i) for i in erased if i < coded_size])[0]
    except reedsolo.ReedSolomonError:
        return None
    return unseal(bytes(plain), slots)
