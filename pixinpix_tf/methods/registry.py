"""One registry: every name or path a command takes, turned into a Method.

| name | Method |
|---|---|
| a network: shipped name, pretrained folder, run directory, `.keras` file, export folder | `networks.Network` |
| `dct-code` | `dct_code.DctCode` |
| `lsbK`, `lsbK-nearest` (K = 1..8) | `baselines.Lsb` |
| `webpK`, `jpegK` | `baselines.CompressedSecret` |
| `avif1` | `baselines.AvifSecret` |

Which method for which channel (`for_channel`): `avif1` on a lossless channel (the most secret there:
Kodak 43.0 dB; with a key, which `avif1` does not take, `dct-code`, then the default network for a cover
`dct-code` refuses), `dct-code` through JPEG at quality 50 or more (laid out for the channel). Revealing
without a method tries `reveal_order`: the codes find their own payload or raise NothingRevealed, the
default network always gives a picture.

Adding a method: a module with a `Method` subclass, and one entry in ENTRIES (a pattern of its names and
a factory from the pattern's groups). `get` takes a name, a path, a loaded model or a Method;
`check(name, job)` says in one line, before any work, when a method cannot do a job.
"""

from __future__ import annotations

import re
from pathlib import Path

from pixinpix_tf import channels
from pixinpix_tf.errors import ConfigError
from pixinpix_tf.methods import baselines, dct_code, networks
from pixinpix_tf.methods.base import Method

DEFAULT = "imagenet-in-cifar10"  # the network with the better figures on natural photos (its card)

# (pattern of the names, the Method class, a factory from the match's groups)
ENTRIES = (
    (re.compile(r"dct-code"), dct_code.DctCode, lambda: dct_code.DctCode()),
    (re.compile(r"lsb(\d+)(-nearest)?"), baselines.Lsb, lambda bits, nearest: baselines.Lsb(int(bits), bool(nearest))),
    (re.compile(r"(webp|jpeg)(\d+)"), baselines.CompressedSecret,
     lambda codec, bits: baselines.CompressedSecret(codec, int(bits))),
    (re.compile(r"avif1"), baselines.AvifSecret, lambda: baselines.AvifSecret()),
)


def _entry(name: str):
    """The registry entry and match for `name`, or None (a network: a shipped name or a path)."""
    if Path(name).exists():  # a folder or file of that name is a network, whatever it is called
        return None
    for pattern, cls, factory in ENTRIES:
        if (match := pattern.fullmatch(name)) is not None:
            return cls, factory, match
    return None


def method_class(name: str | None) -> type[Method]:
    """The Method class `name` names (None: DEFAULT), without loading anything."""
    entry = _entry(str(name or DEFAULT))
    return networks.Network if entry is None else entry[0]


def check(name: str | None, job: str) -> None:
    """ConfigError (one line) if the method `name` names cannot do `job` (see `base.Method.cannot`)."""
    cls = method_class(name)
    if job in cls.cannot:
        raise ConfigError(f"{name or DEFAULT}: {cls.cannot[job]}")


def get(method=None, backend: str = "auto", refine_steps: int = 0) -> Method:
    """The Method for `method`: a Method (returned as it is), a loaded network (Keras `PixInPix` or
    `OnnxPixInPix`), or a name or path (None: DEFAULT); networks on `backend` (`networks.BACKENDS`),
    refined for `refine_steps` steps."""
    if isinstance(method, Method):
        return method
    if method is not None and not isinstance(method, (str, Path)):
        return networks.Network(method, getattr(method, "name", type(method).__name__), refine_steps=refine_steps)
    name = str(method or DEFAULT)
    entry = _entry(name)
    if refine_steps:
        check(name, "refine")
    if entry is None:
        return networks.load(name, backend, refine_steps)
    if backend not in networks.BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; choose from {', '.join(networks.BACKENDS)}")
    _, factory, match = entry
    return factory(*match.groups())


def for_channel(channel, keyed: bool = False) -> tuple[str, ...]:
    """The names of the methods that carry the most secret through `channel`, best first: the next is for a
    cover the one before refuses (module docstring); `keyed`: they must take a key. ConfigError for a
    channel no method is checked to survive."""
    channel = channels.parse(channel)
    if channel.lossless:
        return (dct_code.NAME, DEFAULT) if keyed else (baselines.AvifSecret.name,)
    if dct_code.DctCode().survives(channel):
        return (dct_code.NAME,)
    raise ConfigError(f"no method here is checked to survive {channel} (dct-code: png, jpeg:Q for Q >= "
                      f"{dct_code.DESIGN_QUALITY} and webp:Q for Q >= {dct_code.LOWEST_WEBP_QUALITY}, each after one "
                      "resize:S)")


def reveal_order(keyed: bool = False) -> tuple[str, ...]:
    """The methods a reveal without one tries, in order (the codes raise NothingRevealed on what they did
    not hide; the default network reveals a picture from anything)."""
    return (dct_code.NAME, DEFAULT) if keyed else (dct_code.NAME, baselines.AvifSecret.name, DEFAULT)


def codes() -> list[type[Method]]:
    """The registered Method classes of one fixed name (dct-code, avif1)."""
    return [cls for _, cls, _ in ENTRIES if cls.name]
