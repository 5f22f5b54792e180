"""Hide and reveal real images of any size, and the inference policy in one place.

Example:
    >>> from pixinpix_tf import hide, reveal
    >>> stego = hide(cover, secret)     # numpy HWC arrays or PIL images, any size >= 32x32
    >>> revealed = reveal(stego)        # uint8, the stego's (= the cover's) size
    >>> stego = hide(cover, secret, model="mnist-in-cifar10")  # or a run directory, .keras file, model
    >>> stego = hide(cover, secret, key=Key.from_file("my.key"))  # reveal(stego, key=...) with the same key

The policy: without `model`, `DEFAULT_MODEL`; without `refine_steps`,
`DEFAULT_REFINE_STEPS` (0: the hiding network's stego alone); a model with
`embed_bits` cannot be refined (`check_refine_steps`). Without refinement,
hide and reveal run on onnxruntime when the model has ONNX files (every
shipped model has), else on Keras; refinement needs gradients, so Keras. On
onnxruntime, a model whose folder has the image graphs (hide_image.onnx,
reveal_image.onnx) runs each image through them in one call, the padding,
tiles or windows and cropping inside the graph; otherwise, and on Keras,
`pixinpix_tf.inference.tiling` cuts the image in Python.
Importing this module imports neither TensorFlow nor onnxruntime.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

from pixinpix_tf import keys

from pixinpix_tf.inference import loading
from pixinpix_tf.methods.dct_code import DESIGN_QUALITY, DctCode
from pixinpix_tf.errors import ConfigError, ImageError, ModelError
from pixinpix_tf.images import as_float_images, as_uint8_image
from pixinpix_tf.inference.tiling import Progress, check_size, fit_secret, hide_image, layout, reveal_image

__all__ = ["hide", "reveal", "resolve_model", "DEFAULT_MODEL", "DEFAULT_REFINE_STEPS", "BACKENDS"]

# The model `hide`/`reveal` use when none is given: the one with the better
# figures on natural photos (Kodak, see its model card).
DEFAULT_MODEL = "imagenet-in-cifar10"
# Stego refinement steps (`pixinpix_tf.nets.refine`) that `hide` runs unless told otherwise. 0:
# 10 steps lift the default model's Kodak revealed PSNR from 29.1 to 33.4 dB, but take
# 19 s and 1.5 GB per photo against 1 s and 0.4 GB for the hiding network alone.
DEFAULT_REFINE_STEPS = 0
BACKENDS = ("auto", "onnx", "keras")
# A model "survives JPEG at quality Q" when its card (figures.json, "jpeg_safe_quality") says that
# after saving the stego image as JPEG at Q, every photo folder's secret reveals at most
# JPEG_SURVIVAL_LOSS_DB worse than from the PNG, and above JPEG_SURVIVAL_FLOOR_PSNR (a mid-grey
# image is at about 12.8 dB from a photo: what a destroyed secret reveals).
JPEG_SURVIVAL_LOSS_DB = 3.0
JPEG_SURVIVAL_FLOOR_PSNR = 15.0


def jpeg_safe_quality(model: str | Path) -> int | None:
    """The lowest JPEG quality the stego images of the model named `model` survive (None: not even 95):
    what its card says, or for dct-code the quality it checks every stego image against."""
    if model == DctCode.name:
        return DESIGN_QUALITY
    files = loading.locate(model)
    figures = files.path / "figures.json" if files.path.is_dir() else None
    if figures is None or not figures.is_file():
        return None
    return json.loads(figures.read_text()).get("jpeg_safe_quality")


def check_refine_steps(model, steps: int) -> None:
    """ConfigError unless `model` can be refined for `steps` steps."""
    if steps < 0:
        raise ConfigError(f"refinement steps must be >= 0, got {steps}")
    if steps and model.embed_bits:
        raise ConfigError("a model with embed_bits cannot be refined (its stego's low bits are the code); "
                          "use 0 refinement steps")


def choose_backend(files: loading.ModelFiles, backend: str = "auto", refine_steps: int = 0) -> str:
    """`onnx` or `keras`: the backend that runs this job on this model."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    if backend == "auto":
        backend = "onnx" if files.onnx is not None and not refine_steps else "keras"
    if backend == "onnx" and refine_steps:
        raise ConfigError("refinement needs gradients, which onnxruntime does not have; use the keras backend")
    return backend


@functools.lru_cache(maxsize=4)
def _load(path: str, backend: str, stamp: int):
    """Loaded once per process for each (path, backend) and version of its files (`stamp`)."""
    return loading.load_onnx(path) if backend == "onnx" else loading.load_model(path)


def resolve_model(model=None, backend: str = "auto", refine_steps: int = 0):
    """The model to run: `model` itself if it is a loaded model, else the one its name or path
    names (None: DEFAULT_MODEL) on the backend `choose_backend` picks; loaded once per process."""
    if model is not None and not isinstance(model, (str, Path)):
        return model
    if model == DctCode.name:
        return DctCode()
    files = loading.locate(DEFAULT_MODEL if model is None else model)
    backend = choose_backend(files, backend, refine_steps)
    weights = files.onnx / "hide.onnx" if backend == "onnx" else files.keras
    if weights is None:  # an export folder on Keras: the loader says why it cannot
        return loading.load_model(files.path)
    weights = weights / "weights.npz" if weights.is_dir() else weights
    return _load(str(files.path), backend, weights.stat().st_mtime_ns)


def hide_tiles(model, covers, secrets, refine_steps: int = 0, batch_size: int = 256) -> np.ndarray:
    """Float [0, 1] stego tiles (N, size, size, 3) at the model's size for uint8 or [0, 1] float
    cover and secret batches: the hiding network's, then refined if asked."""
    check_refine_steps(model, refine_steps)
    covers, secrets = as_float_images(covers, 3)[0], as_float_images(secrets, model.secret_channels)[0]
    stegos = model.hide(covers, secrets, batch_size=batch_size)
    if not refine_steps:
        return stegos
    if not hasattr(model, "revealer"):
        raise ModelError("refinement needs the Keras model; this one runs on onnxruntime")
    from pixinpix_tf.nets.refine import refine_stego

    return refine_stego(model.revealer, covers, secrets, stegos, refine_steps, batch_size)


def hide(cover, secret, model=None, keep_aspect: bool = False, refine_steps: int | None = None,
         backend: str = "auto", progress: Progress | bool = False, key=None) -> np.ndarray:
    """The 8-bit stego image (the cover's size) hiding `secret` in `cover`.

    Args:
        cover, secret: numpy arrays (uint8 or float in [0, 1]) or PIL images, any size;
            the cover at least the model's image size in each side.
        model: a loaded model (Keras `PixInPix` or `OnnxPixInPix`), a pretrained name, a
            run directory, a `.keras` file or an export folder; None: DEFAULT_MODEL.
        keep_aspect: fit the secret inside the cover with black bars instead of stretching it.
        refine_steps: optimise the stego pixels against the revealing network for this many
            steps (`pixinpix_tf.nets.refine`, Keras only): a better revealed secret for more time;
            None: DEFAULT_REFINE_STEPS.
        backend: `auto`, `onnx` or `keras` (see `choose_backend`), for a model given by name.
        progress: show a progress bar over the cover's tiles (or a `tiling.Progress` callback); through
            the image graphs, which run as one call, it goes from (0, 1) to (1, 1).
        key: a `keys.Key` or a passphrase: the secret is scrambled with it before it is hidden
            (`pixinpix_tf.keys`), so only `reveal` with the same key shows it.
    """
    steps = DEFAULT_REFINE_STEPS if refine_steps is None else refine_steps
    model = resolve_model(model, backend, steps)
    cover, secret = as_uint8_image(cover, 3), as_uint8_image(secret, model.secret_channels)
    if isinstance(model, DctCode):
        if steps:
            raise ConfigError("dct-code writes bits, not a picture: it cannot be refined; use 0 refinement steps")
        return model.hide(cover, fit_secret(secret, *cover.shape[:2], keep_aspect), keys.as_key(key))
    check_refine_steps(model, steps)
    check_size(cover, layout(model)["tile"], "cover")
    secret = fit_secret(secret, *cover.shape[:2], keep_aspect)
    if (key := keys.as_key(key)) is not None:
        secret = keys.scramble(secret, key)
    progress = _progress_bar() if progress is True else progress or None
    if _image_graphs(model, steps):
        if progress:
            progress(0, 1)
        stego = model.hide_image(cover, secret)
        if progress:
            progress(1, 1)
        return stego
    return hide_image(functools.partial(hide_tiles, model, refine_steps=steps), cover, secret, **layout(model),
                      progress=progress)


def reveal(stego, model=None, backend: str = "auto", key=None) -> np.ndarray:
    """The 8-bit revealed secret (the stego's size) from a stego image of any size.

    `model`, `backend` and `key` as in `hide`: the model and the key that hid the secret (with
    another key or none, the secret stays scrambled).
    """
    model = resolve_model(model, backend)
    stego = as_uint8_image(stego, 3)
    if isinstance(model, DctCode):
        if (revealed := model.reveal(stego, keys.as_key(key))) is None:
            raise ImageError("nothing decodes: the image holds no dct-code secret, the key differs, or it was "
                             "changed beyond what the code corrects (resized, cropped, JPEG below quality "
                             f"{DESIGN_QUALITY})")
        return revealed
    check_size(stego, layout(model)["tile"], "stego image")
    if _image_graphs(model):
        revealed = model.reveal_image(stego)
    else:
        revealed = reveal_image(model.reveal, stego, model.secret_channels, **layout(model))
    key = keys.as_key(key)
    return revealed if key is None else keys.unscramble(revealed, key)


def _image_graphs(model, refine_steps: int = 0) -> bool:
    """Whether `model` runs this job through its image graphs (an onnxruntime model that has them)."""
    return getattr(model, "image_graphs", False) and not refine_steps


def _progress_bar() -> Progress:
    """A `tiling.Progress` callback drawing a text progress bar over tiles on stderr."""
    import sys

    def update(done: int, total: int) -> None:
        filled = 30 * done // total
        sys.stderr.write(f"\r{done}/{total} tiles [{'=' * filled}{'.' * (30 - filled)}]")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return update
