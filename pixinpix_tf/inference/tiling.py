"""Hide and reveal images of any size with networks trained on small tiles.

In tiles (the default): the image is padded at the right and bottom edges (by
reflection) to a multiple of the tile size, cut into tiles, run through the
network in chunks of tiles (so a 4000x3000 photo needs little memory),
reassembled and cropped back. Whole (`whole=True`, for networks trained on
larger crops): the image goes through the networks in one piece, padded to a
multiple of the model's side_multiple, or, above WINDOW_PIXELS, in overlapping windows whose
margins are cut off, so there is no grid. The
secret is first resized to the cover's size (or fitted inside it with black
bars, keeping its aspect ratio), so the stego image, and the revealed image,
have exactly the cover's size: the stego PNG alone is enough to reveal.

numpy and Pillow only. The Keras model runs images through it, passing its
`hide(covers, secrets)` / `reveal(stegos)` on float tile batches; the ONNX image
graphs (`pixinpix_tf.export.onnx`) do the same inside the graph, with the same
constants, and the onnxruntime backend runs those.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from PIL import Image

from pixinpix_tf.errors import ImageError
from pixinpix_tf.images import to_uint8

TileFn = Callable[..., np.ndarray]
Progress = Callable[[int, int], None]  # progress(tiles done, tiles in all)
CHUNK_TILES = 128  # tiles per network call: bounds memory for any image size
WINDOW_PIXELS = 1 << 19  # whole-image mode: the largest window the networks see at once (0.5 MP)
WINDOW_MARGIN = 32  # whole-image mode: context a window sees beyond what it keeps, when one window is not enough


def layout(model) -> dict:
    """How images are cut for `model` (a PixInPix or OnnxPixInPix): the keyword arguments `tile` and
    `whole` of `hide_image` / `reveal_image` (image_size tiles, or whole with sides a multiple of
    `model.side_multiple`)."""
    return ({"tile": model.side_multiple, "whole": True} if model.whole_image
            else {"tile": model.image_size, "whole": False})


def check_size(image: np.ndarray, tile: int, what: str) -> None:
    """ImageError (one line) unless `image` (the `what`: cover or stego image) is at least `tile` in each side."""
    height, width = image.shape[:2]
    if height < tile or width < tile:
        raise ImageError(f"the {what} is {width}x{height}; it must be at least {tile}x{tile}")


def fit_secret(secret: np.ndarray, height: int, width: int, keep_aspect: bool = False) -> np.ndarray:
    """The uint8 secret at (height, width): stretched, or fitted with black bars if `keep_aspect`."""
    channels = secret.shape[-1]
    image = Image.fromarray(secret[..., 0] if channels == 1 else secret)
    if not keep_aspect:
        resized = np.asarray(image.resize((width, height), Image.LANCZOS))
        return resized[..., None] if channels == 1 else resized
    scale = min(width / image.width, height / image.height)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    canvas = Image.new(image.mode, (width, height))
    canvas.paste(image.resize(size, Image.LANCZOS), ((width - size[0]) // 2, (height - size[1]) // 2))
    fitted = np.asarray(canvas)
    return fitted[..., None] if channels == 1 else fitted


def _pad(image: np.ndarray, tile: int) -> np.ndarray:
    height, width = image.shape[:2]
    pad_h, pad_w = -height % tile, -width % tile
    mode = "reflect" if pad_h < height and pad_w < width else "edge"
    return np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode=mode)


def to_tiles(band: np.ndarray, tile: int) -> np.ndarray:
    """(rows*tile, columns*tile, C) uint8 -> (rows*columns, tile, tile, C) float32 in [0, 1], row-major."""
    rows, columns = band.shape[0] // tile, band.shape[1] // tile
    tiles = band.reshape(rows, tile, columns, tile, -1).transpose(0, 2, 1, 3, 4).reshape(-1, tile, tile, band.shape[-1])
    return tiles.astype(np.float32) / 255.0


def _from_tiles(tiles: np.ndarray, rows: int, columns: int) -> np.ndarray:
    tile, channels = tiles.shape[1], tiles.shape[-1]
    return tiles.reshape(rows, columns, tile, tile, channels).transpose(0, 2, 1, 3, 4).reshape(
        rows * tile, columns * tile, channels)


def _map_tiles(fn: TileFn, images: list[np.ndarray], out_channels: int, tile: int, chunk: int,
               progress: Progress | None = None) -> np.ndarray:
    """Apply `fn` to aligned tiles of `images` (same height and width), a band of tile rows at a time."""
    height, width = images[0].shape[:2]
    padded = [_pad(image, tile) for image in images]
    rows, columns = padded[0].shape[0] // tile, padded[0].shape[1] // tile
    out = np.empty((rows * tile, columns * tile, out_channels), np.uint8)
    rows_per_band = max(1, chunk // columns)
    for first in range(0, rows, rows_per_band):
        last = min(rows, first + rows_per_band)
        tiles = [to_tiles(image[first * tile : last * tile], tile) for image in padded]
        out[first * tile : last * tile] = _from_tiles(to_uint8(fn(*tiles)), last - first, columns)
        if progress:
            progress(last * columns, rows * columns)
    return out[:height, :width]


def _window_cores(length: int, windows: int, multiple: int) -> tuple[int, list[tuple[int, int]]]:
    """A core length (a multiple of `multiple`) and the consecutive (start, stop) ranges of at most
    `windows` cores covering [0, length)."""
    core = -(-length // windows)
    core = -(-core // multiple) * multiple
    return core, [(start, min(start + core, length)) for start in range(0, length, core)]


def _map_windows(fn: TileFn, images: list[np.ndarray], out_channels: int, multiple: int,
                 progress: Progress | None = None) -> np.ndarray:
    """Apply `fn` to the whole of `images` (same height and width): at once if it fits in
    WINDOW_PIXELS, else window by window, each seeing WINDOW_MARGIN pixels of context around what it keeps."""
    height, width = images[0].shape[:2]
    padded_size = (-(-height // multiple) * multiple) * (-(-width // multiple) * multiple)
    margin = 0 if padded_size <= WINDOW_PIXELS else -(-WINDOW_MARGIN // multiple) * multiple
    side = int(WINDOW_PIXELS**0.5) - 2 * margin
    core_h, rows = _window_cores(height, 1 if not margin else -(-height // side), multiple)
    core_w, columns = _window_cores(width, 1 if not margin else -(-width // side), multiple)
    window_h, window_w = core_h + 2 * margin, core_w + 2 * margin
    # Reflected context at the borders, and room for the last window's rounding up to `multiple`.
    padded = [_pad_context(image, margin, rows[-1][0] + window_h - margin - height,
                           columns[-1][0] + window_w - margin - width) for image in images]
    out = np.empty((height, width, out_channels), np.uint8)
    done, total = 0, len(rows) * len(columns)
    for top, bottom in rows:
        for left, right in columns:
            window = [image[None, top : top + window_h, left : left + window_w].astype(np.float32) / 255.0
                      for image in padded]
            result = to_uint8(fn(*window))[0]
            out[top:bottom, left:right] = result[margin : margin + bottom - top, margin : margin + right - left]
            done += 1
            if progress:
                progress(done, total)
    return out


def _pad_context(image: np.ndarray, margin: int, below: int, right: int) -> np.ndarray:
    """`image` with `margin` pixels reflected in above and to the left, `below` and `right` pixels below and to
    the right."""
    mode = "reflect" if min(image.shape[:2]) > 1 else "edge"
    return np.pad(image, ((margin, below), (margin, right), (0, 0)), mode=mode)


def hide_image(hide: TileFn, cover: np.ndarray, secret: np.ndarray, tile: int = 32,
               keep_aspect: bool = False, chunk: int = CHUNK_TILES, progress: Progress | None = None,
               whole: bool = False) -> np.ndarray:
    """The uint8 stego image, of the cover's size, for uint8 HWC `cover` and `secret` of any size.

    Args:
        hide: `hide(covers, secrets)` on float [0, 1] tile batches (e.g. `PixInPix.hide`).
        cover: (H, W, 3) uint8, H and W at least `tile`.
        secret: (h, w, C) uint8, resized to (H, W).
        tile: the networks' image size (with `whole`: the multiple of which the sides
            of what they see must be, the model's side_multiple).
        keep_aspect: fit the secret inside the cover's size with black bars instead of stretching it.
        chunk: tiles per call of `hide`.
        progress: called with (tiles done, tiles in all) after each call of `hide`.
        whole: hide the image whole (in large overlapping windows if it is large: no tile grid)
            instead of in independent tiles; for networks trained on larger crops.
    """
    check_size(cover, tile, "cover")
    secret = fit_secret(secret, *cover.shape[:2], keep_aspect)
    if whole:
        return _map_windows(hide, [cover, secret], 3, tile, progress)
    return _map_tiles(hide, [cover, secret], 3, tile, chunk, progress)


def reveal_image(reveal: TileFn, stego: np.ndarray, secret_channels: int, tile: int = 32,
                 chunk: int = CHUNK_TILES, whole: bool = False) -> np.ndarray:
    """The uint8 revealed secret, of the stego's size, from a uint8 HWC stego image of any size
    (`tile` and `whole` as in `hide_image`)."""
    check_size(stego, tile, "stego image")
    if whole:
        return _map_windows(reveal, [stego], secret_channels, tile)
    return _map_tiles(reveal, [stego], secret_channels, tile, chunk)
