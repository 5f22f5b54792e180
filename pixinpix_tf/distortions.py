"""What can happen to a stored stego image, as functions on uint8 batches.

Every distortion is `fn(images, strength, rng) -> images` on uint8 (N, H, W, 3)
batches, and strength 0 is the identity. Strengths are in natural units:

| name | strength | effect |
|---|---|---|
| `jpeg` | 100 - quality | JPEG compression (PIL, 4:2:0) at that quality |
| `noise` | sigma (0-255 units) | additive Gaussian noise, rounded and clipped |
| `blur` | sigma (pixels) | Gaussian blur, reflected borders |
| `resize` | fraction lost | down-scale by (1 - strength) and back (bilinear) |
| `cutout` | area fraction | a random square of that area set to black |
| `brightness` | offset (0-255 units) | every pixel + strength |
| `contrast` | relative change | (pixel - image mean) * (1 + strength) + mean |
| `crop` | pixels | the first `strength` rows and columns cut off: a smaller image whose origin moved |

`DISTORTIONS` lists each with the strengths the evaluation reports. Every one
keeps the image's size but `crop` (`Distortion.keeps_size`): what a cropped stego
reveals is compared with the secret cropped the same way. Only numpy
and Pillow are used, so the TensorFlow-free runtime can use this module too.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Callable

import numpy as np
from PIL import Image


def _per_image(images: np.ndarray, fn) -> np.ndarray:
    return np.stack([fn(image) for image in images])


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def jpeg(images: np.ndarray, strength: float, rng=None) -> np.ndarray:
    if strength == 0:
        return images.copy()
    quality = int(round(100 - strength))

    def compress(image):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
        return np.asarray(Image.open(buffer).convert("RGB"))

    return _per_image(images, compress)


def noise(images: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    if strength == 0:
        return images.copy()
    return _to_uint8(images + rng.normal(0.0, strength, images.shape))


def blur(images: np.ndarray, strength: float, rng=None) -> np.ndarray:
    if strength == 0:
        return images.copy()
    radius = max(1, int(np.ceil(3 * strength)))
    coords = np.arange(-radius, radius + 1)
    kernel = np.exp(-(coords**2) / (2 * strength**2))
    kernel /= kernel.sum()
    x = images.astype(np.float64)
    for axis in (1, 2):
        pad = [(0, 0)] * 4
        pad[axis] = (radius, radius)
        windows = np.lib.stride_tricks.sliding_window_view(np.pad(x, pad, mode="reflect"), len(kernel), axis=axis)
        x = windows @ kernel
    return _to_uint8(x)


def resize(images: np.ndarray, strength: float, rng=None) -> np.ndarray:
    if strength == 0:
        return images.copy()
    height, width = images.shape[1:3]
    small = (max(1, round(width * (1 - strength))), max(1, round(height * (1 - strength))))

    def down_up(image):
        down = Image.fromarray(image).resize(small, Image.BILINEAR)
        return np.asarray(down.resize((width, height), Image.BILINEAR))

    return _per_image(images, down_up)


def cutout(images: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    out = images.copy()
    if strength == 0:
        return out
    height, width = images.shape[1:3]
    side = max(1, int(round(np.sqrt(strength * height * width))))
    for image in out:
        top, left = rng.integers(0, height - side + 1), rng.integers(0, width - side + 1)
        image[top : top + side, left : left + side] = 0
    return out


def brightness(images: np.ndarray, strength: float, rng=None) -> np.ndarray:
    if strength == 0:
        return images.copy()
    return _to_uint8(images.astype(np.float64) + strength)


def contrast(images: np.ndarray, strength: float, rng=None) -> np.ndarray:
    if strength == 0:
        return images.copy()
    x = images.astype(np.float64)
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    return _to_uint8((x - mean) * (1 + strength) + mean)


def crop(images: np.ndarray, strength: float, rng=None) -> np.ndarray:
    lost = int(round(strength))
    return images[:, lost:, lost:].copy()


@dataclass(frozen=True)
class Distortion:
    name: str
    fn: Callable[..., np.ndarray]
    strengths: tuple[float, ...]
    unit: str  # how a strength reads in reports
    keeps_size: bool = True

    def label(self, strength: float) -> str:
        if self.name == "jpeg":
            return f"quality {100 - strength:g}"
        return f"{self.unit} {strength:g}"

    def __call__(self, images: np.ndarray, strength: float, seed: int = 0) -> np.ndarray:
        return self.fn(images, strength, np.random.default_rng(seed))


DISTORTIONS = {
    d.name: d
    for d in (
        Distortion("jpeg", jpeg, (5, 10, 25, 50), "quality"),
        Distortion("noise", noise, (1, 2, 5), "sigma"),
        Distortion("blur", blur, (0.5, 1.0), "sigma"),
        Distortion("resize", resize, (0.25, 0.5), "lost"),
        Distortion("cutout", cutout, (0.1, 0.25), "area"),
        Distortion("brightness", brightness, (5, 20), "offset"),
        Distortion("contrast", contrast, (-0.1, 0.1), "change"),
        Distortion("crop", crop, (5,), "pixels", keeps_size=False),
    )
}
