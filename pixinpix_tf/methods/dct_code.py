"""`dct-code`: a digital hider that survives JPEG, WebP and resizing: numpy, Pillow, reedsolo and cryptography only.

The learned hiders carry the secret as a faint picture, and every JPEG save blurs it further. This one
carries it as bits that a JPEG save does not change, as many as the channel the stego image will travel
(`channel=`, `pixinpix hide --channel`) leaves room for:

1. the secret (fitted to the cover) is compressed to AVIF (or, in a small room, WebP), at the scale and
   quality that look best within the cover's capacity;
2. the bytes are encrypted and authenticated (ChaCha20-Poly1305) under a key derived from the key
   material and a random 12-byte nonce drawn for each image, and protected by a Reed-Solomon code
   (`reedsolo`) whose parity follows the share of blocks the revealer will not read;
3. each byte is written into an 8x8 block of the cover's luma: 8 of the block's low-frequency DCT
   coefficients each carry one bit by dithered quantisation index modulation (QIM), with a step of
   STEP_SCALE times the entry of the channel's JPEG quantisation table (`quantisation_table`) for that
   coefficient, so that a JPEG save at the channel's quality or above moves no coefficient far enough to
   flip its bit. Where the channel keeps more (quality 75, 90), the steps are smaller and a block carries
   up to MAX_BYTES_PER_BLOCK bytes in more coefficients, as many as keep the stego image at
   STEGO_FLOOR_DB and SSIM_FLOOR or closer to the cover (predicted, then measured on a trial: `_plan`);
4. a header (format version, the channel it was made for, bytes per block, the nonce: `Header`) sits in
   HEADER_BLOCKS blocks that the key alone chooses (96, or 255 on a cover with few textured blocks; at
   most an eighth of a small image's),
   written as for JPEG quality 50 with a Reed-Solomon code of 16 data bytes, so the revealer reads it
   first with nothing but the key and learns from it how the rest is laid out; the order of the
   payload's bytes and their QIM dither follow the key and the nonce, and the cipher authenticates the
   header;
5. only textured blocks carry bytes (nothing is added where a change would show on a flat area), and
   nothing is changed to make the revealer agree: the hider writes into every block whose texture (its
   largest AC coefficient but the 8 of lowest frequency, a probe, in quality-50 steps) is at least the
   layout's threshold (EMBED_THRESHOLD, raised by texture levels), the revealer reads only blocks whose
   texture is at least the threshold plus a gap on what it receives. A JPEG save at the layout's quality or
   above moves a probe by at most half of that quality's step (`Layout.gap` adds GAP_MARGIN); at quality 50
   it rounds a probe to whole steps, so one found at READ_THRESHOLD or more was at least 0.5 steps before.
   Either way every block read carries data, and the blocks written but not read are erasures for the
   Reed-Solomon decoder, which corrects twice as many of those as errors. With one byte per block the
   probes keep the cover's values, so the distribution of block textures is the cover's (`statistics`);
   with more, the extra carriers are probes too and move within half a QIM step.

The hider checks its own work: it reveals its stego image as it is and through its channel (JPEG at the
design quality and halfway from it to 100); if that fails it adds parity and tries again. The luma change
is added equally to R, G and B, so the chroma a JPEG save subsamples is untouched.

Made for `webp:Q` (Q >= LOWEST_WEBP_QUALITY), it takes the steps of a JPEG quality WebP at Q keeps
(WEBP_LAYOUTS) and is corrected and checked through WebP. Made for a channel that resizes (`resize:S+jpeg:Q`),
it lays the code out on the cover as the channel
resizes it (Pillow's Lanczos filter, or the one the channel names) and enlarges the change to the cover's
size, corrected for each of RESIZE_FILTERS; the revealer reads the image it receives at its own size, and
resizes a stego image in which it finds no header by RESIZES_TRIED. What it does not survive: a resize
other than the one it was made for (another factor, or a bilinear, box or Hamming filter), blurring, a crop
that moves the 8x8 grid, and JPEG or WebP below the quality it was made for (JPEG 50 at the lowest, the
default).

With a key (`keys.Key`), the key material is its memory-hard derivation (`Key.memory_hard`, scrypt);
without one, a fixed public key, so anyone can reveal (and so detect) an unkeyed stego image. Without
the key nothing decodes (`reveal` raises NothingRevealed); a payload that decodes but fails
authentication says so. Stego images of format 2 (a nonce inside the payload, the order and dither of
the key alone, one byte per block at quality 50's steps) and format 1 (no nonce, a 4-byte check) still
reveal.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
from dataclasses import dataclass
import dataclasses
import functools

import numpy as np
try:  # reedsolo's compiled codec (in its wheels), ten times faster than its pure-Python one
    from creedsolo import ReedSolomonError, RSCodec
except ImportError:  # a platform without reedsolo's wheels
    from reedsolo import ReedSolomonError, RSCodec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from PIL import Image, features

from pixinpix_tf import channels, keys
from pixinpix_tf.analysis import metrics
from pixinpix_tf.errors import AuthenticationFailed, ConfigError, ImageError, NothingRevealed
from pixinpix_tf.images import largest_fitting
from pixinpix_tf.inference.tiling import fit_secret
from pixinpix_tf.keys import Key
from pixinpix_tf.methods.base import Method

NAME = "dct-code"
DESIGN_QUALITY = 50  # the lowest JPEG quality it can be made for, the default channel's, and the header's
LOSSLESS_QUALITY = 95  # a stego image made for a lossless channel is laid out as for JPEG at this quality
# QIM step per coefficient: STEP_SCALE entries of the layout's quantisation table (a JPEG save moves a
# coefficient by up to half an entry, a quarter step is the margin) plus NOISE_STEP for what 8-bit rounding and
# JPEG's colour conversion add (about 0.5 each way, at 3 sigma: 1.5, a quarter of 6).
STEP_SCALE, NOISE_STEP = 2.0, 6.0
MAX_BYTES_PER_BLOCK = 4
# Writing passes, then at most CHANNEL_PASSES through the channel, until a pass leaves more than SETTLED of the
# carriers the pass before it left wrong (`_embed`).
EMBED_PASSES, CHANNEL_PASSES, SETTLED = 4, 20, 0.95
TRIED = 3  # layouts the hider tries with random bytes before it picks one (`_plan`)
MIN_ROOM = 64  # bytes below which no secret fits (a 20-byte frame and the smallest WebP): not tried
STEGO_FLOOR_DB, SSIM_FLOOR = 37.5, 0.965  # what a stego image is kept at or above (predicted, then measured)
PUBLIC_KEY = b"pixinpix dct-code public key"
SECRET_SCALES = (1.0, 0.75, 0.5, 0.35, 0.25, 0.18, 0.125)  # sides the secret may be compressed at, largest first
PARITY = tuple(range(16, 253, 4))  # Reed-Solomon parity bytes per 255-byte codeword the hider may use
FORMAT_2_PARITY = tuple(range(32, 241, 16))  # those of formats 1 and 2
AVIF_SPEED = 6
# The secret's codec search runs AVIF's fastest encoder, and its FINALISTS best picks are encoded again at AVIF_SPEED
# at up to FINAL_QUALITIES more quality steps (research log, 2026-12-07)
SEARCH_SPEED, FINAL_QUALITIES, FINALISTS = 10, 12, 2
# Bytes of room below which the secret may be WebP (`_compress`): on Kodak secrets at 384x256, WebP reveals 0.3-0.9 dB
# better up to 1,000 bytes (and fits below AVIF's 400), AVIF 0.3-0.6 dB better from 1,500 (research log, 2026-12-07)
WEBP_BELOW = 1500
# Texture (the largest probe, in quality-50 steps) from which the hider writes into a block and from which, at
# quality 50, the revealer reads it (module docstring, 5; above 50, `Layout.gap`); format 1 settled its blocks
# clear of FORMAT_1_THRESHOLD and read that.
EMBED_THRESHOLD, READ_THRESHOLD, FORMAT_1_THRESHOLD = 0.40, 0.75, 0.48
GAP_MARGIN = 0.05  # beyond the rounding of a probe, for 8-bit rounding and colour conversion (`Layout.gap`)
ERROR_MARGIN = 4  # parity bytes per codeword kept beyond what the hider's trial needs (format 2: its erasures)
MAX_LEVEL = 14  # the highest texture level (`Layout`) a layout may take
# The blocks the header may take (at most an eighth of a small image's), the fewest first: the hider takes the
# fewest of which HEADER_READ are read on the cover, the revealer tries each.
HEADER_BLOCKS, HEADER_READ = (96, 255), 32
HEADER_SPARE = 8  # parity bytes the header keeps beyond its erasures, so that noise does not decode as a header
VERSION = 3
_LENGTH = struct.Struct(">I")
_TAG = 16  # Poly1305's tag
_OVERHEAD = _LENGTH.size + _TAG
# Format 2 (still revealed): version, nonce and length, then the AVIF encrypted under the key material and nonce.
_HEADER_V2 = struct.Struct(">B12sI")
# Format 1 (still revealed): length of the AVIF and a 4-byte check, XORed with a keystream of the key alone.
_HEADER_V1 = struct.Struct(">I4s")
CHANNEL_KINDS = ("jpeg", "png", "resize", "webp")  # the header's channel byte
# WebP (a 4x4 transform, chroma at half size, a loop filter) at quality Q keeps the bits of a layout with JPEG
# quality L's steps for (lowest Q, L), the first that Q reaches (research log, 2026-12-07)
WEBP_LAYOUTS = ((95, 90), (90, 75), (85, 65))
LOWEST_WEBP_QUALITY = WEBP_LAYOUTS[-1][0]
# The resizes the revealer tries on an image it finds no header in (a stego image made for a channel that resizes,
# before it went through it)
RESIZES_TRIED = ("resize:0.5", "resize:0.25", "fit:2048", "fit:1600", "fit:1080")
# The resize filters (`channels.RESIZE_FILTERS`) a stego image made for a channel that resizes is corrected for,
# besides the channel's own: Lanczos and bicubic differ by 2-4 in the carriers' coefficients at the 95th
# percentile; bilinear, box and Hamming by 5-20, more than a QIM step allows (research log, 2026-12-07)
RESIZE_FILTERS = ("lanczos", "bicubic")
_TAMPERED = "the payload decoded but failed authentication: the stego image was altered after hiding, or it was forged"

# JPEG's luminance quantisation table at quality 50 (ITU-T T.81, Annex K), row-major.
JPEG_LUMA_Q50 = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], np.float64).reshape(8, 8)
# The AC coefficients in the order they carry bytes: those JPEG quantises most finely first.
CARRIER_ORDER = sorted(((u, v) for u in range(8) for v in range(8) if u or v),
                       key=lambda p: (JPEG_LUMA_Q50[p], p[0] + p[1]))
_PROBES = np.ones((8, 8), bool)  # the AC coefficients that say whether a block is textured
_PROBES[0, 0] = False
_PROBES[tuple(np.array(CARRIER_ORDER[:8]).T)] = False
_DCT = np.sqrt(2 / 8) * np.cos(np.pi * (2 * np.arange(8)[None] + 1) * np.arange(8)[:, None] / 16)
_DCT[0] /= np.sqrt(2)
_LUMA = np.array([0.299, 0.587, 0.114])


def quantisation_table(quality: int) -> np.ndarray:
    """libjpeg's (and Pillow's) luminance table at `quality` (1..100): Annex K's, scaled."""
    scale = 5000 / quality if quality < 50 else 200 - 2 * quality
    return np.clip(np.floor((JPEG_LUMA_Q50 * scale + 50) / 100), 1, 255)


class Layout:
    """How bytes sit in a block: 8 * `per_block` carriers (the first of CARRIER_ORDER) with QIM steps of
    STEP_SCALE times `quality`'s table plus NOISE_STEP, and which blocks carry them: those whose texture
    (the largest AC coefficient but the 8 of lowest frequency, which a smooth gradient has, in quality-50
    steps) is at least EMBED_THRESHOLD + `level` / 4 (level -1: 0.15, where a save at quality 65 or more
    rounds what is below to 0)."""

    def __init__(self, quality: int, per_block: int = 1, level: int = 0):
        self.quality, self.per_block, self.level = quality, per_block, level
        self.table = quantisation_table(quality)
        self.rows, self.cols = np.array(CARRIER_ORDER[: 8 * per_block]).T
        self.steps = STEP_SCALE * self.table[self.rows, self.cols] + NOISE_STEP
        # how far above the written blocks' texture the revealer reads: a save at `quality` moves a probe by
        # at most half its step, `ratio` / 2 quality-50 steps; at quality 50, to whole steps (module docstring, 5)
        ratio = (self.table / JPEG_LUMA_Q50)[_PROBES].max()
        self.gap = READ_THRESHOLD - EMBED_THRESHOLD if quality == DESIGN_QUALITY else ratio / 2 + GAP_MARGIN

    @staticmethod
    def levels(quality: int) -> range:
        """The levels a layout at `quality` may take: any from -1 above quality 50, where the gap covers the
        rounding; at quality 50, whose probes round to whole steps, thresholds a whole step apart."""
        return range(-1, MAX_LEVEL + 1) if quality > DESIGN_QUALITY else range(0, MAX_LEVEL + 1, 4)

    @staticmethod
    def texture(coefficients: np.ndarray) -> np.ndarray:
        """(blocks,): each block's largest probe coefficient in quality-50 steps (flat blocks: near 0)."""
        return (np.abs(coefficients.reshape(-1, 8, 8) / JPEG_LUMA_Q50) * _PROBES).max(axis=(-1, -2))

    def written(self, coefficients: np.ndarray) -> np.ndarray:
        """(blocks,) bool: the blocks the hider writes into."""
        return self.texture(coefficients) >= EMBED_THRESHOLD + self.level / 4

    def read(self, coefficients: np.ndarray) -> np.ndarray:
        """(blocks,) bool: the blocks the revealer reads, `gap` above those."""
        return self.texture(coefficients) >= EMBED_THRESHOLD + self.level / 4 + self.gap

    def predicted(self, coefficients: np.ndarray, written: np.ndarray) -> tuple[float, float]:
        """(PSNR, SSIM) the stego image is predicted at when the blocks `written` (bool) carry bytes: QIM
        moves each carrier uniformly within half a step, a change of variance n in a block of variance v
        costs SSIM's structure term about n / (2 v + n + C2)."""
        noise = np.sum(self.steps ** 2) / 12 / 64
        variance = np.sum(coefficients.reshape(-1, 64)[:, 1:] ** 2, axis=1) / 64
        mse = np.mean(written) * noise
        ssim = 1 - np.mean(written * noise / (2 * variance + noise + (0.03 * 255) ** 2))
        return 10 * np.log10(255**2 / max(mse, 1e-9)), float(ssim)


HEADER_LAYOUT = Layout(DESIGN_QUALITY)  # the header's
FORMAT_2_LAYOUT = Layout(DESIGN_QUALITY)  # formats 1 and 2's whole layout, whose
FORMAT_2_LAYOUT.steps = 2.5 * FORMAT_2_LAYOUT.table[FORMAT_2_LAYOUT.rows, FORMAT_2_LAYOUT.cols]  # steps were these


@dataclass(frozen=True)
class Header:
    """What the revealer reads first, with the key alone: how the rest is laid out and coded."""

    channel: str  # `jpeg`, `png`, `resize` or `webp` (CHANNEL_KINDS): what the stego image was made for
    layout: Layout  # its quality, bytes per block and texture level
    parity: int  # Reed-Solomon parity bytes per codeword (one of PARITY)
    nonce: bytes
    version: int = VERSION

    # version, channel | parity, quality, bytes per block | level, nonce
    FORMAT = struct.Struct(">BBBB12s")

    def pack(self) -> bytes:
        return self.FORMAT.pack(self.version, CHANNEL_KINDS.index(self.channel) | PARITY.index(self.parity) << 2,
                                self.layout.quality, self.layout.per_block << 4 | self.layout.level + 1, self.nonce)

    @classmethod
    def unpack(cls, data: bytes) -> "Header | None":
        version, coding, quality, packed, nonce = cls.FORMAT.unpack(data)
        kind, parity, per_block, level = coding & 3, coding >> 2, packed >> 4, (packed & 15) - 1
        valid = (version == VERSION and kind < len(CHANNEL_KINDS) and parity < len(PARITY)
                 and DESIGN_QUALITY <= quality <= 100 and 1 <= per_block <= MAX_BYTES_PER_BLOCK
                 and level in Layout.levels(quality))
        return cls(CHANNEL_KINDS[kind], Layout(quality, per_block, level), PARITY[parity], nonce) if valid else None

    def __eq__(self, other) -> bool:
        return isinstance(other, Header) and self.pack() == other.pack()

    def __hash__(self) -> int:
        return hash(self.pack())


class Slots:
    """Where each byte goes: the flat block indices `blocks`, `layout.per_block` byte slots each, in an
    order and with a QIM dither drawn from `seed` (PCG64, whose raw stream is fixed across NumPy versions;
    not cryptographic: the cipher is)."""

    def __init__(self, seed: bytes, blocks: np.ndarray, layout: Layout):
        self.blocks, self.layout = blocks, layout
        count = len(blocks) * layout.per_block
        bits = np.random.PCG64(int.from_bytes(seed[:16], "big"))
        self.order = np.argsort(bits.random_raw(count), kind="stable")  # payload byte i -> slot order[i]
        self.dither = ((bits.random_raw((count, 8)) >> 11) / 2.0**53).reshape(len(blocks), -1)  # [0, 1) steps


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

    def hide(self, cover: np.ndarray, secret: np.ndarray, key: Key | None = None, progress=None,
             channel=None) -> np.ndarray:
        """The uint8 stego image of `cover`'s size carrying `secret` (uint8 RGB, stretched to the cover's size)
        through `channel` (a `channels` spelling: `png` or `jpeg:Q`, Q >= 50; None: jpeg:50).

        Raises ImageError when the cover has too few textured blocks to carry even the smallest secret."""
        _check_avif()
        made_for = design_channel(channel)
        cover = np.asarray(cover, np.uint8)
        _Frame.check_shape(cover.shape)
        contracts = _contracts(made_for)
        arrived = contracts[0].arrived(cover)
        _Frame.check_shape(arrived.shape, f"after {made_for.split('+')[0]}")
        if secret.shape[:2] != arrived.shape[:2]:
            secret = fit_secret(secret, *arrived.shape[:2])  # it reveals at the size the stego image arrives at
        coefficients = _coefficients(arrived)
        for frame in _frames_for(coefficients, arrived.shape, _material(keys.as_key(key), VERSION)):
            for contract in contracts:
                header, needed = _plan(cover, coefficients, frame, made_for, contract)
                body = frame.body(header)
                for parity in (p for p in PARITY if p >= needed):
                    header = dataclasses.replace(header, parity=parity)
                    room = _sizes(len(body.order), parity)[0] - _OVERHEAD
                    avif = _compress(secret, room) if room > 0 else None
                    if avif is None:
                        break  # more parity leaves even less room
                    data = _encode(_seal(avif, room, header, frame.cipher_key(header.nonce)), parity,
                                   len(body.order))
                    stego = _embed_frame(cover, coefficients, frame, header, data, contract)
                    if all(_decodes(image, frame, header, data) for image in contract.through(stego)):
                        return stego
        most = Layout(contracts[0].quality, 1, Layout.levels(contracts[0].quality)[0])  # the most blocks read
        raise ImageError(_refusal(arrived, coefficients, most, made_for))

    def survives(self, channel) -> bool:
        """Whether `design_channel` lays a stego image out for `channel` (png, jpeg:Q, each after a resize)."""
        try:
            design_channel(channel)
        except ConfigError:
            return False
        return True

    def statistics(self, image: np.ndarray) -> dict[str, float]:
        """The share of 8x8 blocks whose largest probe lies in (0.2, 0.9) quality-50 steps: format 1's
        settling emptied that band (0.26 in Kodak and CBSD68 covers, 0.001 in its stego images); the
        hider now leaves the probes as they were."""
        largest = FORMAT_2_LAYOUT.texture(_coefficients(np.asarray(image, np.uint8)))
        return {"settled band share": float(np.mean((largest > 0.2) & (largest < 0.9)))}

    def reveal(self, stego: np.ndarray, key: Key | None = None) -> np.ndarray:
        """The secret (uint8 RGB, the stego's size); NothingRevealed if nothing decodes (no payload, another
        key, or damage beyond what the code corrects)."""
        _check_avif()
        key = keys.as_key(key)
        stego = np.asarray(stego, np.uint8)
        _Frame.check_shape(stego.shape)
        payload = _carried_payload(stego, key)
        nothing = NothingRevealed("nothing decodes: the image holds no dct-code secret, the key differs, or it was "
                                  "changed beyond what the code corrects (resized, cropped, JPEG below the quality "
                                  "it was made for)")
        if payload is None:
            raise nothing
        try:  # the check holds for the public key's payloads too, so anyone can forge one: trust nothing
            with Image.open(io.BytesIO(payload)) as image:
                if image.format not in ("AVIF", "WEBP") or image.width > stego.shape[1] \
                        or image.height > stego.shape[0]:
                    raise nothing
                return np.asarray(image.convert("RGB").resize(stego.shape[1::-1], Image.BICUBIC))
        except (OSError, ValueError, Image.DecompressionBombError):
            raise nothing from None

    def capacity(self, cover: np.ndarray, secret: np.ndarray | None = None, channel=None):
        """The AVIF bytes `cover` carries through `channel` (as `hide` takes it; 0: it would refuse the
        cover) and, given a `secret`, that secret as it would reveal (at the size the channel delivers;
        `base.Method.capacity`)."""
        room, shape = self._room(cover, channel)
        if secret is None:
            return room
        avif = _compress(fit_secret(secret, *shape[:2]), room) if room > 0 else None
        if avif is None:
            return room, None
        with Image.open(io.BytesIO(avif)) as image:
            return room, np.asarray(image.convert("RGB").resize(shape[1::-1], Image.BICUBIC))

    def _room(self, cover: np.ndarray, channel=None) -> tuple[int, tuple[int, ...]]:
        """(the bytes, the shape the stego image arrives at)."""
        made_for = design_channel(channel)
        cover = np.asarray(cover, np.uint8)
        _Frame.check_shape(cover.shape)
        contracts = _contracts(made_for)
        arrived = contracts[0].arrived(cover)
        _Frame.check_shape(arrived.shape, f"after {made_for.split('+')[0]}")
        coefficients = _coefficients(arrived)
        frame = _frames_for(coefficients, arrived.shape, _material(None, VERSION))[0]
        for contract in contracts:
            header, needed = _plan(cover, coefficients, frame, made_for, contract)
            parity = next((p for p in PARITY if p >= needed), None)
            slots = len(frame.body_blocks) * header.layout.per_block
            if parity is not None and (room := _sizes(slots, parity)[0] - _OVERHEAD) > 0:
                return room, arrived.shape
        return 0, arrived.shape


def design_channel(channel) -> str:
    """What dct-code lays a stego image out for to survive `channel` (None: jpeg:DESIGN_QUALITY): `png`,
    `jpeg:Q` (Q from DESIGN_QUALITY to 100), `webp:Q` (Q from LOWEST_WEBP_QUALITY), or one of them after one
    `resize:S` or `fit:N` (`resize:S+jpeg:Q`, `fit:2048+jpeg:75`, `resize:S`); ConfigError for a channel it
    does not survive."""
    if channel is None:
        return f"jpeg:{DESIGN_QUALITY}"
    parsed = channels.parse(channel)
    steps = [step for step in parsed.steps if step.kind != "png"]
    resizes = [step for step in steps if step.kind in ("resize", "fit")]
    lossy = [step for step in steps if step.kind not in ("resize", "fit")]
    kinds = {step.kind for step in lossy}
    quality = int(min(step.value for step in lossy)) if lossy else None
    lowest = {"jpeg": DESIGN_QUALITY, "webp": LOWEST_WEBP_QUALITY}
    if (len(resizes) > 1 or resizes[:1] != steps[:len(resizes)] or len(kinds) > 1
            or any(kind not in lowest or quality < lowest[kind] for kind in kinds)):
        raise ConfigError(f"dct-code survives png, jpeg:Q for Q >= {DESIGN_QUALITY} and webp:Q for Q >= "
                          f"{LOWEST_WEBP_QUALITY}, each after one resize:S or fit:N (resize:0.5+jpeg:75), not {parsed}")
    last = f"{kinds.pop()}:{quality}" if lossy else "png"
    return f"{resizes[0]}+{last}" if resizes else last


def _layout_quality(last: str) -> int:
    """The JPEG quality whose table a layout for the lossy step `last` (`jpeg:Q`, `webp:Q`) takes its steps
    from: Q itself (at most LOSSLESS_QUALITY), or WEBP_LAYOUTS' for WebP."""
    kind, quality = last.split(":")[0], int(last.split(":")[1])
    if kind == "webp":
        return next(layout for lowest, layout in WEBP_LAYOUTS if quality >= lowest)
    return min(quality, LOSSLESS_QUALITY)


@dataclass(frozen=True)
class _Contract:
    """A way to lay a stego image out for a channel: the layout's JPEG `quality`, the `checks` (uint8 stego
    image -> what arrives) it is corrected for and checked through, and the resize it arrives after (a
    `channels` step spelling, `resize:S[:FILTER]` or `fit:N[:FILTER]`, or "": none), at whose size it
    carries the code."""

    quality: int
    checks: tuple = ()
    resize: str = ""

    @functools.cached_property
    def _route(self) -> channels.Channel | None:
        return channels.parse(self.resize) if self.resize else None

    def shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape an image of `shape` arrives at (as `channels` resizes)."""
        return (self._route.steps[0].size(shape) if self._route else tuple(shape[:2])) + tuple(shape[2:])

    def arrived(self, image: np.ndarray) -> np.ndarray:
        """`image` at the size it arrives at, resized as the channel resizes (itself without a resize)."""
        return self._route.apply(image) if self._route else image

    def through(self, stego: np.ndarray) -> list[np.ndarray]:
        """What the hider's self-check reveals from: the stego image itself (at the size it arrives at) and
        what each check delivers."""
        return [self.arrived(stego)] + [check(stego) for check in self.checks]


def _contracts(made_for: str) -> list[_Contract]:
    """The contracts the hider tries, in order: the design quality's layout through JPEG at the design quality
    and halfway from it to 100 (where probes round up most); then, for a cover whose JPEG clips at black and
    white (text, line art: the carriers corrected for one quality are wrong at another), through the design
    quality alone, and then with quality 50's coarser steps. For png, the lossless layout and no channel. A
    channel that resizes first does the same at the size it resizes to, through its filter and each other of
    RESIZE_FILTERS."""
    resize, _, lossy = made_for.rpartition("+")
    others = ()
    if resize:
        step = channels.parse(resize).steps[0]
        others = tuple(f"{step.kind}:{step.value:g}:{name}" for name in RESIZE_FILTERS if name != step.resample)
    if lossy == "png":
        return [_Contract(LOSSLESS_QUALITY, tuple(channels.parse(other).apply for other in others), resize)]
    kind, quality = lossy.split(":")[0], int(lossy.split(":")[1])
    layout_quality = _layout_quality(lossy)
    # each quality, then each other filter at the design quality
    both = tuple(channels.parse(f"{resize}+{kind}:{q}" if resize else f"{kind}:{q}").apply
                 for q in (quality, (quality + 100) // 2))
    both += tuple(channels.parse(f"{other}+{kind}:{quality}").apply for other in others)
    alone = both[:1] + both[2:]  # the design quality alone
    fallbacks = [_Contract(DESIGN_QUALITY, alone, resize)] if layout_quality > DESIGN_QUALITY else []
    return [_Contract(layout_quality, both, resize), _Contract(layout_quality, alone, resize)] + fallbacks


def _plan(cover: np.ndarray, coefficients: np.ndarray, frame: _Frame, made_for: str,
          contract: _Contract) -> tuple[Header, int]:
    """The header (with a fresh nonce) whose layout carries the most bytes through the channel, and the parity
    its codewords need there. Each number of bytes per block starts at the lowest texture level predicted to
    keep the stego image at STEGO_FLOOR_DB and SSIM_FLOOR (`Layout.predicted`, which is optimistic); the TRIED
    most promising (by the bytes left after the parity of their erasures) are tried with random bytes: the
    level is raised while the stego image falls below the floors, and the layout scored by the bytes left at
    the parity the trial needs (`_needed_parity`). The gentlest layout is the last resort; a layout whose
    erasures alone leave less than MIN_ROOM is not tried."""
    nonce, blocks, kind = os.urandom(12), frame.body_blocks, made_for.split(":")[0]
    kind = "resize" if kind == "fit" else kind  # the header says a resize came first, not which
    quality = contract.quality
    levels = list(Layout.levels(quality))

    def trial(layout: Layout) -> tuple[bool, Header, int, int]:
        """(whether the stego image keeps the floors, the header, the parity it needs, the bytes it leaves)."""
        header = Header(kind, layout, PARITY[0], nonce)
        body = frame.body(header)
        data = np.random.default_rng(0).integers(0, 256, len(body.order), dtype=np.uint8)
        stego = _embed_frame(cover, coefficients, frame, header, data, contract)
        close = metrics.psnr(cover, stego)[0] >= STEGO_FLOOR_DB and metrics.ssim(cover, stego)[0] >= SSIM_FLOOR
        needed = _needed_parity(stego, data, body, header, contract)
        if any(not _header_decodes(image, frame, header) for image in contract.through(stego)):
            needed = PARITY[-1] + 1  # this frame's header does not survive: no parity helps
        parity = next((p for p in PARITY if p >= needed), None)
        return close, header, needed, -1 if parity is None else _sizes(len(body.order), parity)[0] - _OVERHEAD

    starts = []
    for per_block in range(1, MAX_BYTES_PER_BLOCK + 1):
        layouts = [Layout(quality, per_block, level) for level in levels]
        fitting = [layout for layout in layouts if _predicted_fits(layout, coefficients, blocks)]
        if fitting and (room := _erasure_room(fitting[0], coefficients, blocks)) >= MIN_ROOM:
            starts.append((room, layouts[layouts.index(fitting[0]):]))
    best = (False, Header(kind, Layout(quality, 1, levels[-1]), PARITY[0], nonce), PARITY[-1] + 1, -1)
    for _, layouts in sorted(starts, key=lambda start: -start[0])[:TRIED]:
        for layout in layouts:
            if (result := trial(layout))[0]:
                best = max(best, result, key=lambda outcome: outcome[3])
                break
    if best[3] < 0 and _erasure_room(best[1].layout, coefficients, blocks) >= MIN_ROOM:
        best = trial(best[1].layout)
    return best[1], best[2]


def _erasure_room(layout: Layout, coefficients: np.ndarray, blocks: np.ndarray) -> int:
    """The bytes `layout` would carry in `blocks` if the blocks it does not read were its only loss."""
    parities = _parities(layout.read(coefficients)[blocks])
    return _sizes(len(blocks) * layout.per_block, parities[0])[0] if parities else 0


def _predicted_fits(layout: Layout, coefficients: np.ndarray, blocks: np.ndarray) -> bool:
    psnr, ssim = layout.predicted(coefficients.reshape(-1, 8, 8)[blocks], layout.written(coefficients)[blocks])
    return psnr >= STEGO_FLOOR_DB and ssim >= SSIM_FLOOR


def _embed_frame(cover: np.ndarray, coefficients: np.ndarray, frame: _Frame, header: Header,
                 data: np.ndarray, contract: _Contract) -> np.ndarray:
    """`cover` carrying `header` in the header's blocks and `data` (coded bytes, one per body slot) in the
    body's, each where its layout writes on the cover as it arrives (of DCT `coefficients`), corrected through
    the contract's checks (the stego image itself, where there are none)."""
    body = frame.body(header)
    coded_header = np.frombuffer(bytes(frame.header_codec.encode(bytearray(header.pack()))), np.uint8)
    itself = [contract.arrived]
    # the header is read before anything else, as it arrives: corrected for the stego image itself too
    return _embed(cover, [(frame.header, coded_header, HEADER_LAYOUT.written(coefficients)[frame.header.blocks],
                           itself + list(contract.checks)),
                          (body, data, header.layout.written(coefficients)[body.blocks],
                           list(contract.checks) or itself)], contract)


def _material(key: Key | None, version: int) -> bytes:
    """32 bytes everything is derived from: scrypt of the key (format 1: PBKDF2), or the public key's hash."""
    if key is None:
        return hashlib.sha256(PUBLIC_KEY).digest()
    return key.memory_hard(b"dct-code") if version >= 2 else key.material(b"dct-code")


def _derive(material: bytes, label: bytes) -> bytes:
    return hashlib.sha256(material + label).digest()


class _Frame:
    """Format 3's layout of one image size under one key: the header's blocks and slots (of the key
    alone), the body's blocks, and the body's slots and cipher key once the header's nonce is known."""

    def __init__(self, shape: tuple[int, ...], material: bytes, size: int = HEADER_BLOCKS[-1]):
        self.check_shape(shape)
        self.material = material
        count = (shape[0] // 8) * (shape[1] // 8)
        chosen = np.random.PCG64(int.from_bytes(_derive(material, b"header blocks")[:16], "big"))
        permutation = np.argsort(chosen.random_raw(count), kind="stable")
        size = int(min(size, max(Header.FORMAT.size * 2, count // 8)))
        self.header = Slots(_derive(material, b"header"), permutation[:size], HEADER_LAYOUT)
        self.header_codec = RSCodec(size - Header.FORMAT.size)
        self.body_blocks = np.sort(permutation[size:])

    @staticmethod
    def check_shape(shape: tuple[int, ...], when: str = "") -> None:
        if len(shape) != 3 or shape[2] != 3 or shape[0] < 64 or shape[1] < 64:
            raise ImageError(f"dct-code hides in RGB images of at least 64x64{' ' + when if when else ''}, "
                             f"got shape {tuple(shape)}")

    def body(self, header: Header) -> Slots:
        return Slots(_derive(self.material, b"body" + header.nonce), self.body_blocks, header.layout)

    def cipher_key(self, nonce: bytes) -> bytes:
        return _derive(self.material, b"cipher" + nonce)


def _frames(shape: tuple[int, ...], material: bytes) -> list[_Frame]:
    """The frames of each header size (HEADER_BLOCKS, at most an eighth of the image's blocks), the fewest
    blocks first."""
    frames = [_Frame(shape, material, size) for size in HEADER_BLOCKS]
    sizes = [frame.header.blocks.size for frame in frames]
    return [frame for i, frame in enumerate(frames) if sizes[i] not in sizes[:i]]


def _frames_for(cover_coefficients: np.ndarray, shape: tuple[int, ...], material: bytes) -> list[_Frame]:
    """The frames the hider tries, in order: from the one whose header takes the fewest blocks of which
    HEADER_READ are read on the cover, each with more header blocks (for a header the channel damages)."""
    frames = _frames(shape, material)
    read = HEADER_LAYOUT.read(cover_coefficients)
    first = next((i for i, frame in enumerate(frames) if read[frame.header.blocks].sum() >= HEADER_READ), -1)
    return frames[first:]


def _refusal(cover: np.ndarray, coefficients: np.ndarray, layout: Layout, made_for: str) -> str:
    """Why `cover` carries no secret through `made_for`: the blocks textured enough to read (by `layout`, the
    gentlest) and, where JPEG clips many of those at black or white, that."""
    read = layout.read(coefficients).reshape(-1)
    pixels = _blocks(cover.min(axis=2)), _blocks(cover.max(axis=2))
    clipped = ((pixels[0] == 0) | (pixels[1] == 255)).any(axis=(-1, -2)).reshape(-1)[read]
    why = (f", and {np.mean(clipped):.0%} of those touch black or white, where JPEG clips the change"
           if made_for != "png" and clipped.size >= 16 and np.mean(clipped) > 0.1 else "")
    return (f"the cover carries no secret that survives {made_for}: {int(read.sum())} of {read.size} 8x8 blocks "
            f"are textured enough to read{why}, too few for a secret with the stego image kept at "
            f"{STEGO_FLOOR_DB} dB and SSIM {SSIM_FLOOR}; use a more detailed cover, or a gentler channel")


def _check_avif() -> None:
    if not features.check("avif"):
        raise ImageError("dct-code keeps the secret as AVIF, which this Pillow cannot read or write: "
                         "pip install -U pillow (11.3 or later)")


def _needed_parity(stego: np.ndarray, trial: np.ndarray, body: Slots, header: Header, contract: _Contract) -> int:
    """The Reed-Solomon parity a codeword needs through the channel: `stego` carries the random bytes `trial`
    as the payload will be carried, and the worst codeword's cost after the channel (`_body_cost`),
    with ERROR_MARGIN, is the answer (the self-check adds parity if it needs more)."""
    return max(_body_cost(image, body, header, trial) for image in contract.through(stego)) + ERROR_MARGIN


def _worst(coefficients: np.ndarray, slots: Slots, coded: np.ndarray, length: int | None = None) -> int:
    """The largest erasures + 2 x errors of a 255-byte codeword among the first `length` (all) of the `coded`
    bytes (in payload order) that `slots` should carry, as read from `coefficients`: a Reed-Solomon codeword
    with `parity` bytes decodes to what was written exactly when this is at most `parity`."""
    length = len(coded) if length is None else length
    read = np.repeat(slots.layout.read(coefficients)[slots.blocks], slots.layout.per_block)[slots.order][:length]
    cost = np.where(read, 2 * (_read(coefficients, slots)[slots.order][:length] != coded[:length]), 1)
    return int(np.add.reduceat(cost, np.arange(0, length, 255)).max())


def _parities(read: np.ndarray) -> tuple[int, ...]:
    """The parities the hider tries, in order: those that can restore the erasures of the blocks not
    `read` (bool, per block), with ERROR_MARGIN to spare."""
    erased = 1 - read.mean()
    return tuple(parity for parity in FORMAT_2_PARITY if erased * 255 + ERROR_MARGIN <= parity)


def _likely_first(read: np.ndarray) -> tuple[int, ...]:
    """Every parity, those the hider tried first (for blocks `read` on what the revealer receives) first."""
    likely = _parities(read)
    return likely + tuple(p for p in reversed(FORMAT_2_PARITY) if p not in likely)


def _read_header(coefficients: np.ndarray, frame: _Frame) -> Header | None:
    """The header the key's header blocks carry, or None."""
    read = HEADER_LAYOUT.read(coefficients)[frame.header.blocks]
    carried = _read(coefficients, frame.header)[frame.header.order]
    erased = np.flatnonzero(~read[frame.header.order])
    if len(erased) > frame.header_codec.nsym - HEADER_SPARE:
        return None
    try:
        data = frame.header_codec.decode(bytearray(carried.tobytes()), erase_pos=bytearray(erased.tolist()))[0]
    except ReedSolomonError:
        return None
    return Header.unpack(bytes(data))


def _decodes(image: np.ndarray, frame: _Frame, header: Header, coded: np.ndarray) -> bool:
    """Whether the revealer gets back the header and the payload, whose coded bytes are `coded`, from `image`
    (the hider's self-check): whether every codeword's erasures and errors are within its parity (`_worst`),
    which is when Reed-Solomon decoding restores exactly what was written; the body as it is or, made for
    JPEG, saved again at its layout's quality (`_saved_again`, as the revealer tries it)."""
    if not _header_decodes(image, frame, header):
        return False
    return _body_cost(image, frame.body(header), header, coded, _sizes(len(coded), header.parity)[1]) <= header.parity


def _header_decodes(image: np.ndarray, frame: _Frame, header: Header) -> bool:
    """Whether the revealer reads `header` from `image` (with HEADER_SPARE parity to spare)."""
    coded_header = np.frombuffer(bytes(frame.header_codec.encode(bytearray(header.pack()))), np.uint8)
    return _worst(_coefficients(image), frame.header, coded_header) <= frame.header_codec.nsym - HEADER_SPARE


def _body_cost(image: np.ndarray, body: Slots, header: Header, coded: np.ndarray, length: int | None = None) -> int:
    """The worst codeword's cost (`_worst`) of the body as the revealer reads it from `image`: as it is, or
    saved again (`_saved_again`) where that costs less."""
    return min(_worst(_coefficients(each), body, coded, length) for each in [image] + _saved_again(image, header))


def _saved_again(image: np.ndarray, header: Header) -> list[np.ndarray]:
    """What the revealer tries when the body does not decode from `image` as it is: a stego image made for
    JPEG saved at its layout's quality, as its channel would (the hider corrects a cover that clips at black
    and white, text and line art, for what its channel delivers, which the stego image itself may not
    reveal)."""
    lossy = header.channel in ("jpeg", "resize") and header.layout.quality < LOSSLESS_QUALITY
    return [channels.parse(f"jpeg:{header.layout.quality}").apply(image)] if lossy else []


def _headers(coefficients: np.ndarray, shape: tuple[int, ...], key: Key | None) -> list[tuple[_Frame, Header]]:
    """(frame, header) for each header size whose header decodes under `key`."""
    found = [(frame, _read_header(coefficients, frame)) for frame in _frames(shape, _material(key, VERSION))]
    return [(frame, header) for frame, header in found if header is not None]


def _carried_payload(image: np.ndarray, key: Key | None) -> bytes | None:
    """The payload the stego image `image` carries under `key`: format 3 (its header tried at each size; the
    body as it is, then `_saved_again`; where no header is found, the image resized by each of RESIZES_TRIED),
    then formats 2 and 1; None if none decodes."""
    coefficients, shape = _coefficients(image), image.shape
    found = _headers(coefficients, shape, key)
    for resize in RESIZES_TRIED if not found else ():
        smaller = _Contract(LOSSLESS_QUALITY, (), resize).arrived(image)
        if smaller.shape == image.shape or min(smaller.shape[:2]) < 64:
            continue
        if found := _headers(_coefficients(smaller), smaller.shape, key):
            image = smaller
            break
    carried = coefficients if image.shape == shape else _coefficients(image)

    def saved_again(frame: _Frame, header: Header) -> bytes | None:  # only when the image as it is fails
        return _first_payload([functools.partial(_body_payload, _coefficients(each), frame, header)
                               for each in _saved_again(image, header)])

    attempts = [attempt for frame, header in found for attempt in (
        functools.partial(_body_payload, carried, frame, header), functools.partial(saved_again, frame, header))]
    return _first_payload(attempts + [functools.partial(_reveal_v2_v1, coefficients, shape, key)])


def _first_payload(attempts) -> bytes | None:
    """The first payload one of `attempts` (callables: bytes or None) gives, or None; AuthenticationFailed
    only when none gives one and one decoded a payload that failed authentication."""
    tampered = None
    for attempt in attempts:
        try:
            if (payload := attempt()) is not None:
                return payload
        except AuthenticationFailed as err:
            tampered = err
    if tampered is not None:
        raise tampered
    return None


def _body_payload(coefficients: np.ndarray, frame: _Frame, header: Header) -> bytes | None:
    body = frame.body(header)
    read = header.layout.read(coefficients)[body.blocks]
    cipher_key = frame.cipher_key(header.nonce)
    return _payload(coefficients, body, read, (header.parity,), lambda plain: _unseal(plain, header, cipher_key))


def _reveal_v2_v1(coefficients: np.ndarray, shape: tuple[int, ...], key: Key | None) -> bytes | None:
    """The payload of a format-2 or format-1 stego image (one byte per block at quality 50's steps, in an
    order of the key alone; format 1 read its settled blocks at FORMAT_1_THRESHOLD), or None."""
    blocks = np.arange((shape[0] // 8) * (shape[1] // 8))
    texture = FORMAT_2_LAYOUT.texture(coefficients)

    def attempt(version: int, threshold: float) -> bytes | None:
        material = _material(key, version)
        read = texture >= threshold
        return _payload(coefficients, Slots(material, blocks, FORMAT_2_LAYOUT), read, _likely_first(read),
                        lambda plain: _unseal_v2_v1(plain, material))

    return _first_payload([functools.partial(attempt, 2, READ_THRESHOLD),
                           functools.partial(attempt, 1, FORMAT_1_THRESHOLD)])


def _payload(coefficients: np.ndarray, slots: Slots, read: np.ndarray, parities: tuple[int, ...],
             open_frame) -> bytes | None:
    """What `open_frame` makes of the bytes `slots` carry, reading the blocks `read` (bool per slot block,
    the others erased) and trying each Reed-Solomon parity in turn; None if none decodes. NothingRevealed
    if the error correction succeeds but the payload fails authentication."""
    carried = _read(coefficients, slots)[slots.order]
    erased = np.flatnonzero(~np.repeat(read, slots.layout.per_block)[slots.order])

    def attempt(parity: int) -> bytes | None:
        plain = _decode(carried, erased, parity)
        return None if plain is None else open_frame(plain)

    return _first_payload([functools.partial(attempt, parity) for parity in parities])


def _blocks(luma: np.ndarray) -> np.ndarray:
    h, w = luma.shape[0] // 8, luma.shape[1] // 8
    return luma[: h * 8, : w * 8].reshape(h, 8, w, 8).transpose(0, 2, 1, 3)


def _coefficients(image: np.ndarray) -> np.ndarray:
    """(h, w, 8, 8) orthonormal DCT of the luma's 8x8 blocks (JPEG's scale: a change of c is c/8 per pixel)."""
    return _transform(_blocks(image.astype(np.float64) @ _LUMA - 128), _DCT)


def _transform(blocks: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """matrix @ block @ matrix.T for every 8x8 block of `blocks` (..., 8, 8), as two large matrix products
    (three times faster than numpy's batched one on a photo)."""
    shape = blocks.shape
    rows = (np.ascontiguousarray(blocks).reshape(-1, 8) @ matrix.T).reshape(shape)
    return (np.ascontiguousarray(np.swapaxes(rows, -1, -2)).reshape(-1, 8) @ matrix.T).reshape(shape).swapaxes(-1, -2)


def _add_luma(image: np.ndarray, change: np.ndarray, contract: _Contract) -> np.ndarray:
    """`image` with the (h, w, 8, 8) DCT-domain luma `change` (at the size the contract's channel delivers,
    enlarged to the image's with a bicubic filter) added to R, G and B alike, rounded; at full size, only
    the blocks it changes are computed."""
    h, w = change.shape[:2]
    if contract.shape(image.shape) != image.shape:
        pixels = np.zeros(contract.shape(image.shape)[:2])
        pixels[: h * 8, : w * 8] = _transform(change, _DCT.T).transpose(0, 2, 1, 3).reshape(h * 8, w * 8)
        enlarged = Image.fromarray(pixels.astype(np.float32), "F").resize(image.shape[1::-1], Image.BICUBIC)
        return np.clip(np.round(image + np.asarray(enlarged, np.float64)[..., None]), 0, 255).astype(np.uint8)
    flat = change.reshape(-1, 8, 8)
    touched = np.flatnonzero(np.any(flat != 0, axis=(1, 2)))
    core = image[: h * 8, : w * 8].copy()
    blocks = core.reshape(h, 8, w, 8, 3).transpose(0, 2, 1, 3, 4)  # (h, w, 8, 8, 3), a view of core
    rows, cols = np.divmod(touched, w)
    pixels = _transform(flat[touched], _DCT.T)[..., None]
    blocks[rows, cols] = np.clip(np.round(blocks[rows, cols] + pixels), 0, 255).astype(np.uint8)
    stego = image.copy()
    stego[: h * 8, : w * 8] = core
    return stego


def _embed(cover: np.ndarray, parts: list[tuple[Slots, np.ndarray, np.ndarray, list]],
           contract: _Contract = _Contract(LOSSLESS_QUALITY)) -> np.ndarray:
    """`cover` with, for each (slots, data, written, through) of `parts`, byte data[i] written into slot
    slots.order[i] where that slot's block is `written` (bool per block of slots.blocks). `through`: the
    channels (uint8 image -> what arrives) the part is corrected for: for up to CHANNEL_PASSES, every carrier
    whose bit arrives wrong is moved by what it lacked, so the channel's own rounding and clipping (JPEG's
    ringing clips at black and white on line art and text) carry the bit."""
    targets = []
    for slots, data, written, through in parts:
        per_slot = np.zeros(len(slots.order), np.uint8)
        per_slot[slots.order] = data
        bits = np.unpackbits(per_slot[:, None], axis=1).reshape(len(slots.blocks), -1)
        targets.append((slots, bits, (slots.dither + bits / 2) * slots.layout.steps, written[:, None], through))

    def corrected(stego: np.ndarray, arrived: np.ndarray, channel=None) -> tuple[np.ndarray, int]:
        """`stego` with the carriers of `arrived` (its coefficients, or those of what `channel` delivers)
        moved to their lattice points (all, or those of the parts corrected for `channel` whose bit is
        wrong), and how many moved."""
        change, moved = np.zeros((arrived.shape[0] * arrived.shape[1], 8, 8)), 0
        for slots, bits, offset, written, through in targets:
            if channel is not None and channel not in through:
                continue
            layout = slots.layout
            current = arrived.reshape(-1, 8, 8)[slots.blocks][:, layout.rows, layout.cols]
            wanted = np.round((current - offset) / layout.steps) * layout.steps + offset
            wrong = written & ((channel is None) | ((np.abs((current / layout.steps - slots.dither) % 1.0 - 0.5)
                                                     < 0.25) != bits))
            change[slots.blocks[:, None], layout.rows, layout.cols] = np.where(wrong, wanted - current, 0)
            moved += int(wrong.sum())
        return _add_luma(stego, change.reshape(arrived.shape), contract), moved

    stego = cover
    for _ in range(EMBED_PASSES):  # rounding and clipping to 8 bits move the coefficients a little: write again
        stego = corrected(stego, _coefficients(contract.arrived(stego)))[0]
    before, every = np.inf, list(dict.fromkeys(channel for *_, through in targets for channel in through))
    for _ in range(CHANNEL_PASSES):
        moved = 0
        for channel in every:
            stego, wrong = corrected(stego, _coefficients(channel(stego)), channel)
            moved += wrong
        if moved == 0 or moved > SETTLED * before:
            break  # nothing left, or what is left does not go away
        before = moved
    return stego


def _read(coefficients: np.ndarray, slots: Slots) -> np.ndarray:
    """The byte each slot carries, in slot order (flat blocks give noise)."""
    layout = slots.layout
    values = coefficients.reshape(-1, 8, 8)[slots.blocks][:, layout.rows, layout.cols]
    phase = (values / layout.steps - slots.dither) % 1.0
    bits = (np.abs(phase - 0.5) < 0.25).astype(np.uint8)
    return np.packbits(bits.reshape(-1, 8), axis=1)[:, 0]


def _compress(secret: np.ndarray, room: int) -> bytes | None:
    """The secret as AVIF or WebP within `room` bytes that reveals best, or None: for each codec, the scales
    from the largest that fits down to the one past the best (the error rises from there: on Kodak the best
    of all scales every time), each at the highest quality that fits, AVIF searched at SEARCH_SPEED and its
    best picks encoded again at AVIF_SPEED. WebP only where the room is below WEBP_BELOW: its 45-byte container
    against AVIF's 300 wins there, AVIF's coding above."""
    height, width = secret.shape[:2]
    found = []  # (error, data, image, quality)

    def error_of(data: bytes) -> float:
        with Image.open(io.BytesIO(data)) as decoded:
            back = np.asarray(decoded.convert("RGB").resize((width, height), Image.BICUBIC), np.float64)
        return float(np.mean((back - secret) ** 2))

    for codec in ("AVIF", "WEBP") if room < WEBP_BELOW else ("AVIF",):
        best_error = np.inf
        for scale in SECRET_SCALES:
            image = Image.fromarray(np.asarray(secret, np.uint8))
            if scale < 1:
                image = image.resize((max(8, round(width * scale)), max(8, round(height * scale))), Image.LANCZOS)
            fitting = _largest_fitting(image, room, codec, SEARCH_SPEED)
            if fitting is None:
                continue
            if (error := error_of(fitting[0])) >= best_error:
                break
            best_error = error
            found.append((error, *fitting, image, codec))
    best = []  # (error, data): the search's, and the slower encoder's of its FINALISTS best picks of AVIF
    for error, data, quality, image, codec in sorted(found, key=lambda each: each[0])[:FINALISTS]:
        best.append((error, data))
        if codec == "AVIF":  # the slower encoder packs more into the room: up to FINAL_QUALITIES more steps
            if (final := _largest_fitting(image, room, codec, AVIF_SPEED, quality, quality + FINAL_QUALITIES)):
                best.append((error_of(final[0]), final[0]))
    return min(best, key=lambda each: each[0])[1] if best else None


def _largest_fitting(image: Image.Image, room: int, codec: str = "AVIF", speed: int = AVIF_SPEED, low: int = 0,
                     high: int = 100) -> tuple[bytes, int] | None:
    """(`image` as `codec` (AVIF or WEBP, AVIF at `speed`) at the highest quality from `low` to `high` of at
    most `room` bytes, that quality), or None."""
    def encode(quality: int) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, format=codec, quality=quality, **({"speed": speed} if codec == "AVIF" else {}))
        return buffer.getvalue()

    return largest_fitting(encode, room, low, high)


def _sizes(slots: int, parity: int) -> tuple[int, int]:
    """(data bytes, coded bytes) that fit in `slots` bytes with `parity` bytes per 255-byte codeword."""
    data = slots - -(-slots // 255) * parity
    return data, data + -(-data // (255 - parity)) * parity


def _seal(avif: bytes, room: int, header: Header, cipher_key: bytes) -> bytes:
    """The body's frame of `room` + _OVERHEAD bytes: the AVIF's length, the AVIF encrypted and authenticated
    (ChaCha20-Poly1305 under the image's nonce, with the header and the length as associated data), zeros."""
    length = _LENGTH.pack(len(avif))
    sealed = length + ChaCha20Poly1305(cipher_key).encrypt(header.nonce, avif, header.pack() + length)
    return sealed + bytes(room + _OVERHEAD - len(sealed))


def _unseal(data: bytes, header: Header, cipher_key: bytes) -> bytes | None:
    """The AVIF of a decoded body frame; None if its length does not fit; NothingRevealed if it fails
    authentication."""
    length_bytes = data[: _LENGTH.size]
    (length,) = _LENGTH.unpack(length_bytes)
    if length > len(data) - _OVERHEAD:
        return None
    try:
        return ChaCha20Poly1305(cipher_key).decrypt(header.nonce, data[_LENGTH.size : _LENGTH.size + length + _TAG],
                                                    header.pack() + length_bytes)
    except InvalidTag:
        raise AuthenticationFailed(_TAMPERED) from None


def _unseal_v2_v1(data: bytes, material: bytes) -> bytes | None:
    """The AVIF of a decoded format-2 frame (NothingRevealed if it fails authentication) or format-1 frame
    (its 4-byte check); None if neither."""
    version, nonce, length = _HEADER_V2.unpack(data[: _HEADER_V2.size])
    if version == 2 and length <= len(data) - _HEADER_V2.size - _TAG:
        body = data[_HEADER_V2.size : _HEADER_V2.size + length + _TAG]
        try:
            return ChaCha20Poly1305(_derive(material, b"cipher" + nonce)).decrypt(nonce, body, data[: _HEADER_V2.size])
        except InvalidTag:
            if _open_v1(data, material) is None:
                raise AuthenticationFailed(_TAMPERED) from None
    return _open_v1(data, material)


def _open_v1(data: bytes, material: bytes) -> bytes | None:
    """The AVIF of a format-1 frame (keystream of the key alone, 4-byte check), or None."""
    keystream = np.frombuffer(hashlib.shake_256(material + b"stream").digest(len(data)), np.uint8)
    data = (np.frombuffer(data, np.uint8) ^ keystream).tobytes()
    length, check = _HEADER_V1.unpack(data[: _HEADER_V1.size])
    image = data[_HEADER_V1.size : _HEADER_V1.size + length]
    valid = length <= len(data) - _HEADER_V1.size
    return image if valid and check == hashlib.shake_256(material + b"check" + image).digest(4) else None


def _encode(frame: bytes, parity: int, slots: int) -> np.ndarray:
    """The coded bytes for `slots` slots: `frame`, Reed-Solomon coded, zero padded."""
    coded = np.frombuffer(bytes(RSCodec(parity).encode(bytearray(frame))), np.uint8)
    return np.pad(coded, (0, slots - len(coded)))


def _decode(carried: np.ndarray, erased: np.ndarray, parity: int) -> bytes | None:
    """The frame `carried` (bytes in payload order, `erased` positions unknown) decodes to with `parity`,
    or None. One 255-byte codeword at a time, the first first: most wrong parities and keys fail there."""
    size, coded_size = _sizes(len(carried), parity)
    if size <= _OVERHEAD:
        return None
    codec, plain = RSCodec(parity), bytearray()
    for start in range(0, coded_size, 255):
        end = min(start + 255, coded_size)
        here = erased[(erased >= start) & (erased < end)] - start
        try:
            plain += codec.decode(bytearray(carried[start:end].tobytes()), erase_pos=bytearray(here.tolist()))[0]
        except ReedSolomonError:
            return None
    return bytes(plain)
