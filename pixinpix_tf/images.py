"""Image pre- and post-processing shared by the Keras path and the ONNX runtime.

numpy and Pillow only: importing this module never imports TensorFlow.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pixinpix_tf.errors import ImageError

SAMPLES = Path(__file__).parent / "assets" / "samples"  # the bundled sample images (README.md there)


def as_float_images(images, channels: int | None = None) -> tuple[np.ndarray, bool]:
    """Images (uint8 or float in [0, 1], one HWC image or an NHWC batch) as a float32 batch.

    Returns the batch and whether the input was a single image.
    """
    array = np.asarray(images)
    if array.ndim not in (3, 4):
        raise ImageError(f"expected an HWC image or an NHWC batch, got shape {array.shape}")
    single = array.ndim == 3
    if single:
        array = array[None]
    if array.dtype == np.uint8:
        array = array.astype(np.float32) / 255.0
    else:
        array = array.astype(np.float32)
        if array.size and (array.min() < 0.0 or array.max() > 1.0):
            raise ImageError("float images must lie in [0, 1]; pass uint8 for 0-255 values")
    if channels is not None and array.shape[-1] != channels:
        raise ImageError(f"expected {channels} channels, got {array.shape[-1]}")
    return array, single


def to_uint8(images: np.ndarray) -> np.ndarray:
    """[0, 1] floats to uint8, rounded to the nearest level (what a PNG stores)."""
    return np.clip(np.round(np.asarray(images, np.float32) * 255.0), 0, 255).astype(np.uint8)


def as_uint8_image(image, channels: int) -> np.ndarray:
    """A PIL image, or a numpy HWC/HW array (uint8, or float in [0, 1]), as uint8 (H, W, channels).

    Grayscale is replicated to RGB, RGB becomes luma (ITU-R 601) for 1 channel,
    palettes are expanded, alpha is dropped (the colour channels are kept as
    stored), 16-bit images keep their top 8 bits.
    """
    if hasattr(image, "convert"):  # a PIL image
        image = np.asarray(_to_8bit(image).convert("RGB" if channels == 3 else "L"))
    array = np.asarray(image)
    if array.dtype != np.uint8:
        if array.size and (array.min() < 0 or array.max() > 1):
            raise ImageError("float images must lie in [0, 1]; pass uint8 for 0-255 values")
        array = to_uint8(array)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3, 4):
        raise ImageError(f"expected one HWC image with 1, 3 or 4 channels, got shape {array.shape}")
    array = array[..., :3] if array.shape[-1] == 4 else array
    if array.shape[-1] == 1 and channels == 3:
        array = np.repeat(array, 3, axis=-1)
    elif array.shape[-1] == 3 and channels == 1:
        array = np.round(array @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)[..., None]
    return array


def read_image(path, channels: int = 3, upright: bool = True) -> np.ndarray:
    """An image file as uint8 (H, W, channels), converted as `as_uint8_image` says; `upright`: turned as
    its EXIF orientation says, as viewers show it (a stego image is read as stored: its pixels carry the
    secret, whatever a tag says)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            image = ImageOps.exif_transpose(image) if upright else image.copy()
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{path}: is a folder, not an image") from None
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image file Pillow can read") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise ImageError(f"{path}: truncated or corrupt image ({' '.join(str(err).split())})") from None
    return as_uint8_image(image, channels)


def _to_8bit(image):
    """16- and 32-bit integer images scaled to 8 bits (top bits); other modes unchanged."""
    from PIL import Image

    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        values = np.asarray(image, np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        return Image.fromarray(np.clip(np.round(values / peak * 255.0), 0, 255).astype(np.uint8))
    if image.mode == "P":
        return image.convert("RGBA")
    return image


LOSSY_SUFFIXES = (".jpg", ".jpeg", ".webp", ".jp2", ".heic", ".avif")


def icc_profile(path) -> bytes | None:
    """The ICC colour profile embedded in an image file, if any (the stego image keeps the cover's)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return image.info.get("icc_profile") or None
    except (OSError, SyntaxError, ValueError):
        return None


def write_image(image: np.ndarray, path, quality: int | None = None, icc_profile: bytes | None = None) -> None:
    """Write a uint8 image atomically (a temporary file in the same folder, then a rename).

    The format follows the file's suffix (PNG for `.png`); `quality` is a lossy format's
    (Pillow's default when None); `icc_profile` is embedded when given.
    """
    import os
    import tempfile

    from PIL import Image

    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ImageError(f"{path}: the folder {folder} does not exist")
    array = np.asarray(image, np.uint8)
    array = array[..., 0] if array.ndim == 3 and array.shape[-1] == 1 else array
    try:
        handle, tmp = tempfile.mkstemp(prefix=".pixinpix-", suffix=os.path.splitext(str(path))[1], dir=folder)
    except OSError as err:
        raise ImageError(f"{path}: cannot write in {folder} ({err.strerror})") from None
    try:
        with os.fdopen(handle, "wb") as f:
            options = {key: value for key, value in (("quality", quality), ("icc_profile", icc_profile)) if value}
            Image.fromarray(array).save(f, format=Image.registered_extensions().get(
                os.path.splitext(str(path))[1].lower(), "PNG"), **options)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def largest_fitting(encode, room: int, low: int = 0, high: int = 100) -> tuple[bytes, int] | None:
    """(encode(q), q) for the highest quality q from `low` to `high` whose encoding (`encode`: quality ->
    bytes) takes at most `room` bytes, by binary search from `low` (often nothing fits: one try), or None."""
    best = None
    while low <= high:
        quality = low if best is None else (low + high) // 2
        data = encode(quality)
        if len(data) <= room:
            best, low = (data, quality), quality + 1
        elif best is None:
            return None
        else:
            high = quality - 1
    return best
