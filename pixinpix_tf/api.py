"""Hide and reveal real images of any size with any method, and the policy of doing it in one place.

Example:
    >>> from pixinpix_tf import hide, reveal
    >>> stego = hide(cover, secret)     # numpy HWC arrays or PIL images: the best method for a PNG (avif1)
    >>> revealed = reveal(stego)        # uint8, the stego's (= the cover's) size; finds the method itself
    >>> stego = hide(cover, secret, channel="jpeg:75")  # the most secret that survives JPEG at quality 75
    >>> stego = hide(cover, secret, model="dct-code")   # any name `methods.registry` takes, or a Method
    >>> stego = hide(cover, secret, key=Key.from_file("my.key"))  # reveal(stego, key=...) with the same key

The policy: without `model`, the method that carries the most secret through `channel` (`png` unless
told; `methods.registry.for_channel`), and `reveal` without one tries `registry.reveal_order`; without
`refine_steps`, DEFAULT_REFINE_STEPS (0: the hiding network's stego alone); the backend of a network as
`methods.networks.choose_backend` picks it (onnxruntime when it can, else Keras); a stego image is
written only through a channel its method survives (`output_channel`: `png`, or `jpeg:Q` where the
method's card says so), unless `allow_lossy`. `hide_file` / `reveal_file` are the command line's jobs,
file to file, with nothing written on failure. Importing this module imports neither TensorFlow nor
onnxruntime.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from pixinpix_tf import channels, keys
from pixinpix_tf.errors import AuthenticationFailed, ConfigError, ImageError, NothingRevealed
from pixinpix_tf.images import LOSSY_SUFFIXES, as_uint8_image, icc_profile, read_image, write_image
from pixinpix_tf.inference.tiling import Progress, check_size, fit_secret
from pixinpix_tf.methods import registry
from pixinpix_tf.methods.base import Method
from pixinpix_tf.methods.networks import BACKENDS

__all__ = ["hide", "reveal", "capacity", "hide_file", "reveal_file", "load_method", "DEFAULT_MODEL",
           "DEFAULT_REFINE_STEPS", "BACKENDS"]

DEFAULT_MODEL = registry.DEFAULT
# Stego refinement steps (`pixinpix_tf.nets.refine`) that `hide` runs unless told otherwise. 0:
# 10 steps lift the default model's Kodak revealed PSNR from 29.1 to 33.4 dB, but take
# 19 s and 1.5 GB per photo against 1 s and 0.4 GB for the hiding network alone.
DEFAULT_REFINE_STEPS = 0


def load_method(model=None, backend: str = "auto", refine_steps: int | None = None) -> Method:
    """The Method `model` names (see `methods.registry.get`; None: DEFAULT_MODEL), loaded once per process."""
    steps = DEFAULT_REFINE_STEPS if refine_steps is None else refine_steps
    if steps < 0:
        raise ConfigError(f"refinement steps must be >= 0, got {steps}")
    return registry.get(model, backend, steps)


def hide(cover, secret, model=None, keep_aspect: bool = False, refine_steps: int | None = None,
         backend: str = "auto", progress: Progress | bool = False, key=None, channel=None) -> np.ndarray:
    """The 8-bit stego image (the cover's size) hiding `secret` in `cover`.

    Args:
        cover, secret: numpy arrays (uint8 or float in [0, 1]) or PIL images, any size;
            the cover at least the method's `min_side` in each side.
        model: a Method, a loaded network (Keras `PixInPix` or `OnnxPixInPix`), or any name or path
            `methods.registry` takes (a shipped network, run directory, `.keras` file, export folder,
            `dct-code`, `lsb2`, `webp1`, ...); None: the one that carries the most secret through
            `channel` (`registry.for_channel`).
        keep_aspect: fit the secret inside the cover with black bars instead of stretching it.
        refine_steps: optimise the stego pixels against the revealing network for this many
            steps (`pixinpix_tf.nets.refine`, Keras only): a better revealed secret for more time;
            None: DEFAULT_REFINE_STEPS.
        backend: `auto`, `onnx` or `keras` (`methods.networks.choose_backend`), for a network given by name.
        progress: show a progress bar on stderr (or a `progress(done, total)` callback).
        key: a `keys.Key` or a passphrase: only `reveal` with the same key shows the secret.
        channel: where the stego image will go (`channels`: `png`, `jpeg:75`, ...; None: `png` when the
            method is chosen here, else the method's own default): a method that tunes itself to it
            (`dct-code`) carries the most secret that survives it.
    """
    if model is not None and channel is not None and not load_method(model, backend, refine_steps).survives(channel):
        raise ImageError(f"{channels.parse(channel)} destroys what {model} hides; leave out model= for the method "
                         "that carries the most through it")
    return _hide(cover, secret, _candidates(model, channel, key), keep_aspect, refine_steps, backend, progress, key,
                 channel or ("png" if model is None else None))[1]


def _candidates(model, channel, key) -> tuple:
    """The methods `hide` tries in turn: `model`, or those that carry the most through `channel`."""
    return (model,) if model is not None else registry.for_channel(channel or "png", keyed=key is not None)


def _hide(cover, secret, candidates: tuple, keep_aspect: bool, refine_steps, backend: str, progress, key,
          channel) -> tuple[Method, np.ndarray]:
    """(method, stego image) of the first of `candidates` that does not refuse the cover (`hide`)."""
    progress = progress_bar() if progress is True else progress or None
    for index, name in enumerate(candidates):
        method = load_method(name, backend, refine_steps)
        if key is not None:
            method.check("key")
        try:
            image = as_uint8_image(cover, 3)
            check_size(image, method.min_side, "cover")
            hidden = fit_secret(as_uint8_image(secret, method.secret_channels), *image.shape[:2], keep_aspect)
            return method, method.hide(image, hidden, key=keys.as_key(key), progress=progress, channel=channel)
        except ImageError:
            if index == len(candidates) - 1:
                raise


def reveal(stego, model=None, backend: str = "auto", key=None) -> np.ndarray:
    """The 8-bit revealed secret from a stego image of any size; NothingRevealed when there is none.

    `model`, `backend` and `key` as in `hide`: the method and the key that hid the secret (with a
    network and another key or none, the secret stays scrambled). Without `model`, the methods of
    `registry.reveal_order` in turn: the first that finds its payload (the default network last); a code's
    payload that fails authentication (AuthenticationFailed) ends the search.
    """
    stego, key = as_uint8_image(stego, 3), keys.as_key(key)
    if model is not None:
        method = load_method(model, backend)
        if key is not None:
            method.check("key")
        return method.reveal(stego, key=key)
    *codes, network = registry.reveal_order(keyed=key is not None)
    for name in codes:
        if min(stego.shape[:2]) >= registry.method_class(name).min_side:
            try:
                return load_method(name).reveal(stego, key=key)
            except AuthenticationFailed:
                raise  # its payload, altered or forged: nothing else would be the secret
            except NothingRevealed:
                pass
    return load_method(network, backend).reveal(stego, key=key)


def capacity(cover, channel="png", model=None, secret=None, keyed: bool = False) -> tuple[str, int, float | None]:
    """What a cover carries through `channel` before any hiding: (the method, as `hide` picks it without
    `model`, with a key if `keyed`; the bytes; the PSNR the `secret` would reveal at, or a photo like the
    cover itself when no secret is given)."""
    cover = as_uint8_image(cover, 3)
    method = load_method(model or registry.for_channel(channel, keyed)[0])
    reference = cover if secret is None else fit_secret(as_uint8_image(secret, 3), *cover.shape[:2])
    room, revealed = method.capacity(cover, reference, channel)
    from pixinpix_tf.analysis import metrics

    if revealed is None:
        return method.name, room, None
    return method.name, room, float(metrics.psnr(fit_secret(reference, *revealed.shape[:2]), revealed)[0])


def survivors(channel: channels.Channel) -> list[str]:
    """The shipped networks and registered codes whose stego images survive `channel`."""
    from pixinpix_tf.inference import cards, loading
    from pixinpix_tf.methods.base import survives

    found = [name for name in loading.available()
             if survives(cards.jpeg_safe_quality(loading.PRETRAINED_DIR / name), channel)]
    return found + [cls.name for cls in registry.codes() if cls().survives(channel)]


def output_channel(path: str | os.PathLike, method: Method, quality: int = 95,
                   allow_lossy: bool = False) -> channels.Channel | None:
    """The channel a stego image written by `method` to `path` goes through (None: a lossy format it was
    not made for, allowed by `allow_lossy`); ImageError (one line, naming the way out) when that channel
    destroys what the method hides, or the folder does not exist."""
    _check_folder(path)
    suffix = os.path.splitext(str(path))[1].lower()
    try:
        channel = channels.for_output(path, quality)
    except ConfigError:
        if allow_lossy and suffix in LOSSY_SUFFIXES:
            return None
        raise ImageError(f"{path}: the output is written as a lossless 8-bit PNG; name it *.png") from None
    if method.survives(channel) or allow_lossy:
        return channel
    if channel.lowest_jpeg_quality is None:
        raise ImageError(f"{path}: {suffix} is lossy and destroys the hidden image; write a .png "
                         "(or pass --allow-lossy if you really mean it)")
    found = survivors(channel)
    instead = (f"use --model {' or --model '.join(found)}, which survive{'s' * (len(found) == 1)} it, "
               if found else "")
    raise ImageError(f"{path}: JPEG at quality {channel.lowest_jpeg_quality} destroys what {method.name} hides; "
                     f"{instead}write a .png, or pass --allow-lossy if you really mean it")


def _check_folder(path) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ImageError(f"{path}: the folder {folder} does not exist")


def route(output: str | Path, quality: int = 95, channel=None) -> channels.Channel:
    """The whole channel a stego image written to `output` travels: the output's own (`channels.for_output`;
    a suffix it does not know counts as `png`, and `output_channel` refuses it), then `channel` if given."""
    try:
        own = channels.for_output(output, quality)
    except ConfigError:
        own = channels.parse("png")
    if channel is None:
        return own
    return channels.parse(channel) if own.lossless else channels.parse(f"{own}+{channels.parse(channel)}")


def hide_file(cover: str | Path, secret: str | Path, output: str | Path, model=None, quality: int = 95,
              allow_lossy: bool = False, keep_aspect: bool = False, refine_steps: int | None = None,
              backend: str = "auto", key=None, progress: Progress | bool = False,
              channel=None) -> tuple[np.ndarray, np.ndarray, str]:
    """`pixinpix hide`: hide the image file `secret` in the image file `cover` and write the stego image
    to `output` (PNG, or JPEG at `quality` where the method survives it; see `output_channel`), atomically,
    made for `channel` after the output's own (`route`; without `model`, by the method that carries the most
    through it; the next for a cover it refuses). Both images are read upright (their EXIF orientation), and
    the stego image keeps the cover's ICC colour profile. Every check runs before any work. Returns the cover
    and the stego image as uint8 arrays and the name of the method that hid."""
    if not 1 <= quality <= 100:
        raise ConfigError(f"--quality must be 1..100, got {quality}")
    travels = route(output, quality, channel)
    candidates = _candidates(model, travels, key)
    for name in candidates:
        method = load_method(name, backend, refine_steps)
        if key is not None:
            method.check("key")
        output_channel(output, method, quality, allow_lossy)
        if not (allow_lossy or method.survives(travels)):
            raise ImageError(f"{travels} destroys what {method.name} hides; leave out --model for the method that "
                             "carries the most through it, or pass --allow-lossy if you really mean it")
    cover_image = read_image(cover, 3)
    method, stego = _hide(cover_image, read_image(secret, 3), candidates, keep_aspect, refine_steps, backend,
                          progress, key, travels)
    write_image(stego, output, quality=quality, icc_profile=icc_profile(cover))
    return cover_image, stego, method.name


def reveal_file(stego: str | Path, output: str | Path, model=None, backend: str = "auto", key=None,
                allow_lossy: bool = False) -> np.ndarray:
    """`pixinpix reveal`: reveal the secret of the image file `stego` into `output` (PNG unless
    `allow_lossy`), atomically; NothingRevealed (nothing written) when there is none. Without `model`,
    as `reveal` finds it."""
    method = None if model is None else load_method(model, backend)
    _check_folder(output)
    suffix = os.path.splitext(str(output))[1].lower()
    if suffix != ".png" and not allow_lossy:
        raise ImageError(f"{output}: " + (f"{suffix} is lossy; write a .png (or pass --allow-lossy)"
                                          if suffix in LOSSY_SUFFIXES else
                                          "the output is written as a lossless 8-bit PNG; name it *.png"))
    revealed = reveal(read_image(stego, 3, upright=False), method, backend, key=key)
    write_image(revealed, output)
    return revealed


def progress_bar() -> Progress:
    """A `progress(done, total)` callback drawing a text progress bar on stderr."""
    def update(done: int, total: int) -> None:
        filled = 30 * done // total
        sys.stderr.write(f"\r{done}/{total} [{'=' * filled}{'.' * (30 - filled)}]")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return update
