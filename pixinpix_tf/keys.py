"""Keyed hiding: a passphrase scrambles the secret before it is hidden and unscrambles what is revealed.

The weights are public, so anyone can run the revealing network on a stego image. With a key, what the
network reveals is the secret scrambled: cut into BLOCK x BLOCK blocks (smaller ones at the right and
bottom edges), the blocks of each shape trade places and each is rotated or flipped, as the key says
(the block scrambling of Kiya et al.'s encryption-then-compression systems, without their colour
changes, which the networks carry 2.6-6.7 dB worse: docs/security.md). It is exact and invertible, and
BLOCK is the shipped models' tile, so with the right key the secret comes back as well as without a key;
with another key or none it stays scrambled.

What it protects and what it does not:
- it hides the secret's arrangement from someone who has the weights and the stego image, not the fact
  that something is hidden (the stego image is as detectable as without a key);
- each block's own content survives up to a rotation or flip: a determined attacker can try to reassemble
  the blocks as a jigsaw puzzle, and a small object inside one block stays recognisable;
- a weak passphrase can be guessed: every guess costs one key derivation (PBKDF2, KDF_ITERATIONS) and a
  look at the unscrambled reveal.

The key is PBKDF2-HMAC-SHA256 (hashlib; also in every browser's WebCrypto) of the passphrase's UTF-8
bytes, or of a key file's bytes without a final line break, with a fixed salt: the same key always gives
the same scramble, so nothing needs to travel with the stego image. Random numbers are SHA-256 of the
derived key and a counter, so the scramble is specified by this module alone (no NumPy generator).
`dct-code` does not scramble: it takes `Key.memory_hard(label)` (scrypt, so that each guess costs
memory) and encrypts its payload with it (`pixinpix_tf.methods.dct_code`). `Key` never shows its
passphrase or derived bytes.
"""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

import numpy as np

from pixinpix_tf.errors import ConfigError

BLOCK = 32  # side of the blocks that trade places (edge blocks are smaller): the shipped models' tile
MIN_BLOCKS = 16  # fewer blocks than this scramble too little to hide anything
KDF_ITERATIONS = 600_000  # PBKDF2-HMAC-SHA256 rounds (OWASP's 2023 advice); about 0.2 s here
KDF_SALT = b"pixinpix-key-v1"
# The memory-hard derivation for the digital hider (`Key.memory_hard`): scrypt with 32 MB and about 0.1 s
# here, so that each guess at a passphrase costs an attacker that memory too (RFC 7914's interactive setting).
SCRYPT = {"n": 2**15, "r": 8, "p": 1, "maxmem": 64 * 2**20, "dklen": 32}
SCRYPT_SALT = b"pixinpix-scrypt-v1"


class Key:
    """A secret key, derived from a passphrase (str) or raw bytes; raises ConfigError if empty."""

    __slots__ = ("_derived", "_data", "_memory_hard")

    def __init__(self, secret: str | bytes):
        data = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
        if not data:
            raise ConfigError("the key is empty")
        self._derived = hashlib.pbkdf2_hmac("sha256", data, KDF_SALT, KDF_ITERATIONS)
        self._data, self._memory_hard = data, {}

    def __repr__(self) -> str:
        return "Key(<hidden>)"

    @classmethod
    def from_file(cls, path: str | Path) -> "Key":
        """The key in a file: its bytes without one final line break."""
        try:
            data = Path(path).read_bytes()
        except OSError as error:
            raise ConfigError(f"{path}: cannot read the key file ({error.strerror or error})") from None
        data = data[:-2] if data.endswith(b"\r\n") else data[:-1] if data.endswith(b"\n") else data
        if not data:
            raise ConfigError(f"{path}: the key file is empty")
        return cls(data)

    @classmethod
    def from_env(cls, name: str) -> "Key":
        """The passphrase in the environment variable `name`."""
        value = os.environ.get(name)
        if value is None:
            raise ConfigError(f"the environment variable {name} is not set")
        if not value:
            raise ConfigError(f"the environment variable {name} is empty")
        return cls(value)

    def random(self) -> "KeyedRandom":
        return KeyedRandom(self._derived)

    def material(self, label: bytes) -> bytes:
        """32 bytes for one use of the key, named by `label`: SHA-256 of the derived key and the label."""
        return hashlib.sha256(self._derived + label).digest()

    def memory_hard(self, label: bytes) -> bytes:
        """32 bytes for one use of the key, named by `label`, by scrypt (SCRYPT) of the passphrase; once per
        Key and label."""
        if label not in self._memory_hard:
            self._memory_hard[label] = hashlib.scrypt(self._data, salt=SCRYPT_SALT + label, **SCRYPT)
        return self._memory_hard[label]


def scramble_facts() -> dict:
    """What another implementation (the web page's) needs to scramble as this module does."""
    return {"block": BLOCK, "min_blocks": MIN_BLOCKS, "iterations": KDF_ITERATIONS, "salt": KDF_SALT.decode()}


def as_key(key: Key | str | bytes | None) -> Key | None:
    """`key` as a Key: a Key, a passphrase, raw key bytes, or None (no key)."""
    return key if key is None or isinstance(key, Key) else Key(key)


class KeyedRandom:
    """Uniform integers from SHA-256(derived key || 8-byte counter), 32 bits at a time."""

    def __init__(self, derived: bytes):
        self._derived, self._counter, self._words = derived, 0, []

    def _word(self) -> int:
        if not self._words:
            digest = hashlib.sha256(self._derived + self._counter.to_bytes(8, "big")).digest()
            self._counter += 1
            self._words = list(struct.unpack(">8I", digest))[::-1]
        return self._words.pop()

    def below(self, n: int) -> int:
        """Uniform in [0, n), by rejection (no modulo bias)."""
        limit = (1 << 32) - (1 << 32) % n
        while (word := self._word()) >= limit:
            pass
        return word % n

    def permutation(self, n: int) -> list[int]:
        """A uniform permutation of range(n) (Fisher-Yates)."""
        order = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.below(i + 1)
            order[i], order[j] = order[j], order[i]
        return order


def _blocks(height: int, width: int, block: int) -> dict[tuple[int, int], list[tuple[int, int]]]:
    """Top-left corners of the block grid's blocks, grouped by block shape (row-major in each group)."""
    groups: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for y in range(0, height, block):
        for x in range(0, width, block):
            groups.setdefault((min(block, height - y), min(block, width - x)), []).append((y, x))
    return dict(sorted(groups.items()))


def _plan(key: Key, height: int, width: int, block: int):
    """For every block of the image: (source corner, destination corner, shape, quarter turns, flip),
    drawn from the key in a fixed order."""
    random = key.random()
    for (h, w), corners in _blocks(height, width, block).items():
        order = random.permutation(len(corners))
        for destination, source in zip(corners, (corners[i] for i in order)):
            turns = random.below(4) if h == w else 2 * random.below(2)  # a quarter turn keeps only squares
            yield source, destination, (h, w), turns, bool(random.below(2))


def _check(image: np.ndarray, block: int) -> None:
    if image.dtype != np.uint8 or image.ndim != 3:
        raise ValueError(f"expected a uint8 (H, W, C) image, got {image.dtype} of shape {image.shape}")
    if block < 1:
        raise ValueError(f"block must be a positive integer, got {block}")
    blocks = -(-image.shape[0] // block) * -(-image.shape[1] // block)
    if blocks < MIN_BLOCKS:
        raise ConfigError(f"a key scrambles {block}x{block} blocks; a {image.shape[1]}x{image.shape[0]} image has "
                          f"{blocks}, too few to hide anything: use a cover of at least {4 * block}x{4 * block}")


def scramble(image: np.ndarray, key: Key, block: int = BLOCK) -> np.ndarray:
    """The uint8 (H, W, C) image with its block x block blocks moved, turned and flipped as `key` says."""
    _check(image, block)
    out = np.empty_like(image)
    for (sy, sx), (dy, dx), (h, w), turns, flip in _plan(key, *image.shape[:2], block):
        moved = np.rot90(image[sy:sy + h, sx:sx + w], turns)
        out[dy:dy + h, dx:dx + w] = moved[:, ::-1] if flip else moved
    return out


def unscramble(image: np.ndarray, key: Key, block: int = BLOCK) -> np.ndarray:
    """The inverse of `scramble` with the same key and block: `unscramble(scramble(x, k), k) == x`."""
    _check(image, block)
    out = np.empty_like(image)
    for (sy, sx), (dy, dx), (h, w), turns, flip in _plan(key, *image.shape[:2], block):
        moved = image[dy:dy + h, dx:dx + w]
        out[sy:sy + h, sx:sx + w] = np.rot90(moved[:, ::-1] if flip else moved, -turns)
    return out


def from_source(file: str | Path | None = None, env: str | None = None, prompt: bool = False,
                confirm: bool = False) -> Key | None:
    """The Key of a key file, an environment variable or a passphrase asked for on the terminal (not
    echoed; asked twice if `confirm`); None when none is given. Never from the command line itself,
    where the process list would show it."""
    if sum(map(bool, (file, env, prompt))) > 1:
        raise ConfigError("give one key source: a key file, an environment variable or the prompt")
    if file:
        return Key.from_file(file)
    if env:
        return Key.from_env(env)
    if not prompt:
        return None
    import getpass

    passphrase = getpass.getpass("passphrase: ")
    if confirm and getpass.getpass("passphrase again: ") != passphrase:
        raise ConfigError("the two passphrases differ")
    if not passphrase:
        raise ConfigError("the passphrase is empty")
    return Key(passphrase)
