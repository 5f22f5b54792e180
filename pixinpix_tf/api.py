"""Hide and reveal real images of any size with a trained Keras model.

Example:
    >>> from pixinpix_tf import hide, reveal
    >>> stego = hide(cover, secret)     # numpy HWC arrays or PIL images, any size >= 32x32
    >>> revealed = reveal(stego)        # uint8, the stego's (= the cover's) size
    >>> stego = hide(cover, secret, model="mnist-in-cifar10")  # or a run directory, .keras file, model

Without `model`, the default pretrained model (`pretrained.DEFAULT_MODEL`) is used.
`hide` refines the stego image for `pretrained.DEFAULT_REFINE_STEPS` steps
(`pixinpix_tf.refine`) unless `refine_steps` says otherwise; 0 gives the hiding
network's stego image alone, which the ONNX runtime also gives.
"""

from __future__ import annotations

import functools
from pathlib import Path

import keras
import numpy as np

from pixinpix_tf import evaluate, pretrained
from pixinpix_tf.images import as_uint8_image
from pixinpix_tf.model import PixInPix
from pixinpix_tf.tiling import hide_image, reveal_image

__all__ = ["hide", "reveal", "load_model", "load_pretrained"]


def load_model(name_or_path: str | Path) -> PixInPix:
    """A model from a run directory, a `.keras` file, or the name of a shipped pretrained model."""
    return evaluate.load_model(name_or_path)


def load_pretrained(name: str) -> PixInPix:
    """A pretrained model shipped in the package (see `pixinpix_tf.pretrained.available()`)."""
    from pixinpix_tf.pretrained import load_pretrained as load

    return load(name)


@functools.lru_cache(maxsize=4)
def _cached_pretrained(folder: Path) -> PixInPix:
    return pretrained.load_folder(folder)


def resolve_model(model: PixInPix | str | Path | None) -> PixInPix:
    """`model` itself, the model a name or path points to, or (None) the default pretrained model.

    Pretrained models are loaded once per process.
    """
    if isinstance(model, PixInPix):
        return model
    model = pretrained.DEFAULT_MODEL if model is None else model
    folder = pretrained.find(model)
    return _cached_pretrained(folder) if folder else load_model(model)


def hide(cover, secret, model: PixInPix | str | Path | None = None, keep_aspect: bool = False,
         refine_steps: int | None = None, progress: bool = False) -> np.ndarray:
    """The 8-bit stego image (the cover's size) hiding `secret` in `cover`.

    Args:
        cover, secret: numpy arrays (uint8 or float in [0, 1]) or PIL images, any size;
            the cover at least the model's image size in each side.
        model: a PixInPix model, a pretrained name, a run directory or `.keras` file;
            None for the default pretrained model.
        keep_aspect: fit the secret inside the cover with black bars instead of stretching it.
        refine_steps: optimise the stego pixels against the revealing network for this many
            steps (`pixinpix_tf.refine`): a better revealed secret for more time; 0 for the
            hiding network's stego alone (about 18x faster on photos); None:
            `pretrained.DEFAULT_REFINE_STEPS`, or 0 for a model with `embed_bits`, which
            cannot be refined.
        progress: show a progress bar over the cover's tiles.
    """
    model = resolve_model(model)
    if refine_steps is None:
        refine_steps = pretrained.default_refine_steps(model)
    return hide_image(functools.partial(model.hide, refine_steps=refine_steps), as_uint8_image(cover, 3),
                      as_uint8_image(secret, model.secret_channels), tile=model.image_size,
                      keep_aspect=keep_aspect, progress=_progress_bar() if progress else None)


def _progress_bar():
    """A `tiling.Progress` callback drawing a Keras progress bar over tiles."""
    progbar = None

    def update(done: int, total: int) -> None:
        nonlocal progbar
        progbar = progbar or keras.utils.Progbar(total, unit_name="tile")
        progbar.update(done)

    return update


def reveal(stego, model: PixInPix | str | Path | None = None) -> np.ndarray:
    """The 8-bit revealed secret (the stego's size) from a stego image of any size.

    `model` as in `hide`: it must be the model that hid the secret.
    """
    model = resolve_model(model)
    return reveal_image(model.reveal, as_uint8_image(stego, 3), model.secret_channels, tile=model.image_size)
