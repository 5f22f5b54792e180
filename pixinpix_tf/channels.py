"""Channels: the route a stego image travels between `hide` and `reveal`, one spelling everywhere.

A channel is one or more steps joined by `+`, applied in order:

- `png`: stored losslessly (nothing changes);
- `jpeg:Q`: saved as JPEG at quality Q (1..100, Pillow/libjpeg's standard tables);
- `webp:Q`: saved as lossy WebP at quality Q;
- `resize:S`: resized by the factor S (0 < S < 1) with Pillow's Lanczos filter, as a platform shrinks a
  photo; `resize:S:FILTER` with another of RESIZE_FILTERS (`resize:0.5:bicubic`);
- `fit:N`: shrunk (as `resize`) so that its longer side is at most N pixels, as social networks limit
  photos (`fit:2048`); an image that fits is unchanged.

Examples: `png`, `jpeg:75`, `resize:0.5+jpeg:75`. `for_output` says which channel a file name
and quality put a stego image through. numpy and Pillow only.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

import numpy as np
from PIL import Image

from pixinpix_tf.errors import ConfigError

KINDS = ("png", "jpeg", "webp", "resize", "fit")
RESIZE_FILTERS = {"lanczos": Image.LANCZOS, "bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR, "box": Image.BOX,
                  "hamming": Image.HAMMING}
LOSSLESS_SUFFIXES = (".png",)
SUFFIX_KINDS = {".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}


@dataclass(frozen=True)
class Step:
    kind: str  # one of KINDS
    value: float | None = None  # JPEG/WebP quality, resize factor, fit's longest side
    resample: str = "lanczos"  # a resize's or fit's filter (RESIZE_FILTERS)

    def size(self, shape: tuple[int, ...]) -> tuple[int, int]:
        """(height, width) an image of `shape` has after this step (a resize or a fit)."""
        height, width = shape[:2]
        factor = self.value if self.kind == "resize" else min(1.0, self.value / max(height, width))
        return max(1, round(height * factor)), max(1, round(width * factor))

    def __str__(self) -> str:
        if self.value is None:
            return self.kind
        return f"{self.kind}:{self.value:g}" + (f":{self.resample}" if self.resample != "lanczos" else "")


@dataclass(frozen=True)
class Channel:
    """A parsed channel (see the module docstring); `str(channel)` spells it back."""

    steps: tuple[Step, ...]

    def __str__(self) -> str:
        return "+".join(map(str, self.steps))

    @property
    def lossless(self) -> bool:
        return all(step.kind == "png" for step in self.steps)

    @property
    def lowest_jpeg_quality(self) -> int | None:
        """The lowest JPEG quality along the channel (None: no JPEG step)."""
        qualities = [int(step.value) for step in self.steps if step.kind == "jpeg"]
        return min(qualities) if qualities else None

    def apply(self, image: np.ndarray) -> np.ndarray:
        """`image` (uint8 HWC) as it arrives after the channel's steps."""
        for step in self.steps:
            if step.kind in ("jpeg", "webp"):
                buffer = io.BytesIO()
                Image.fromarray(image).save(buffer, format=step.kind.upper(), quality=int(step.value))
                image = np.asarray(Image.open(buffer).convert("RGB"))
            elif step.kind in ("resize", "fit") and step.size(image.shape) != image.shape[:2]:
                image = np.asarray(Image.fromarray(image).resize(step.size(image.shape)[::-1],
                                                                 RESIZE_FILTERS[step.resample]))
        return image


def parse(text: str | Channel) -> Channel:
    """The `Channel` that `text` spells; ConfigError names what is wrong."""
    if isinstance(text, Channel):
        return text
    steps = []
    for part in str(text).strip().lower().split("+"):
        kind, _, value = part.partition(":")
        value, _, resample = value.partition(":")
        if resample and (kind not in ("resize", "fit") or resample not in RESIZE_FILTERS):
            raise ConfigError(f"channel {text!r}: {part!r}: only resize and fit take a filter, one of "
                              f"{', '.join(RESIZE_FILTERS)}")
        if kind not in KINDS:
            raise ConfigError(f"channel {text!r}: unknown step {part!r}; steps are png, jpeg:Q, webp:Q, resize:S, "
                              "fit:N")
        if kind == "png":
            if value:
                raise ConfigError(f"channel {text!r}: png takes no value")
            steps.append(Step("png"))
            continue
        try:
            number = float(value)
        except ValueError:
            raise ConfigError(f"channel {text!r}: {kind} needs a number, as in {kind}:"
                              f"{ {'resize': '0.5', 'fit': '2048'}.get(kind, '75') }") from None
        if kind == "resize" and not 0 < number < 1:
            raise ConfigError(f"channel {text!r}: the resize factor must be in (0, 1), got {value}")
        if kind == "fit" and not (number.is_integer() and number >= 1):
            raise ConfigError(f"channel {text!r}: fit's longest side must be a whole number of pixels, got {value}")
        if kind in ("jpeg", "webp") and not (number.is_integer() and 1 <= number <= 100):
            raise ConfigError(f"channel {text!r}: the {kind} quality must be an integer 1..100, got {value}")
        steps.append(Step(kind, number, resample or "lanczos"))
    return Channel(tuple(steps))


def for_output(path: str | os.PathLike, quality: int = 95) -> Channel:
    """The channel a stego image written to `path` goes through: `png` for .png, `jpeg:Q` / `webp:Q`
    for .jpg/.jpeg/.webp at `quality`; ConfigError for another suffix."""
    suffix = os.path.splitext(str(path))[1].lower()
    if suffix in LOSSLESS_SUFFIXES:
        return parse("png")
    if suffix in SUFFIX_KINDS:
        return parse(f"{SUFFIX_KINDS[suffix]}:{quality}")
    raise ConfigError(f"{path}: the stego image is written as PNG (lossless), JPEG or WebP; name it *.png, "
                      "*.jpg or *.webp")
