"""The paper's networks as a Method: a trained PixInPix on Keras or onnxruntime, on images of any size.

`load` resolves every name or path a network has (shipped name, pretrained folder, run directory,
`.keras` file, export folder) and chooses the backend: `auto` takes onnxruntime when the model has
ONNX files, onnxruntime is installed and no refinement is asked, else Keras (a missing extra is a
one-line error with the install line). On onnxruntime, a model whose folder has the image graphs
runs each image through them in one call; otherwise `inference.tiling` cuts the image in Python.
A key scrambles the secret before it is hidden (`keys.scramble`).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from pixinpix_tf import extras, keys
from pixinpix_tf.errors import ConfigError, ModelError
from pixinpix_tf.images import as_float_images, to_uint8
from pixinpix_tf.inference import cards, loading
from pixinpix_tf.inference.tiling import Progress, check_size, fit_secret, hide_image, layout, reveal_image
from pixinpix_tf.methods.base import Method

BACKENDS = ("auto", "onnx", "keras")


def choose_backend(files: loading.ModelFiles, backend: str = "auto", refine_steps: int = 0) -> str:
    """`onnx` or `keras`: the backend that runs this job on this model in this environment."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    if backend == "auto":
        backend = "onnx" if files.onnx is not None and not refine_steps and extras.has("onnxruntime") else "keras"
    if backend == "onnx" and refine_steps:
        raise ConfigError("refinement needs gradients, which onnxruntime does not have; use the keras backend")
    return backend


def check_refine_steps(model, steps: int) -> None:
    """ConfigError unless `model` can be refined for `steps` steps."""
    if steps < 0:
        raise ConfigError(f"refinement steps must be >= 0, got {steps}")
    if steps and model.embed_bits:
        raise ConfigError("a model with embed_bits cannot be refined (its stego's low bits are the code); "
                          "use 0 refinement steps")


@functools.lru_cache(maxsize=4)
def _load(path: str, backend: str, stamp: int):
    """Loaded once per process for each (path, backend) and version of its files (`stamp`)."""
    return loading.load_onnx(path) if backend == "onnx" else loading.load_model(path)


def load(name_or_path: str | Path, backend: str = "auto", refine_steps: int = 0) -> "Network":
    """The network `name_or_path` names on the backend `choose_backend` picks; loaded once per process."""
    files = loading.locate(name_or_path)
    backend = choose_backend(files, backend, refine_steps)
    if backend == "onnx":
        extras.require(f"{files.name} on onnxruntime", ("onnxruntime",), "onnx")
        weights = files.onnx / "hide.onnx"
    else:
        extras.import_tensorflow(f"{files.name} on Keras" + (" with refinement" if refine_steps else ""))
        if files.keras is None:  # an export folder on Keras: the loader says why it cannot
            loading.load_model(files.path)
        weights = files.keras / "weights.npz" if files.keras.is_dir() else files.keras
    model = _load(str(files.path), backend, weights.stat().st_mtime_ns)
    return Network(model, files.name, files.path if files.path.is_dir() else None, refine_steps)


class Network(Method):
    """A trained PixInPix (Keras `PixInPix` or `OnnxPixInPix`) as a Method.

    Args:
        model: the loaded model.
        name: its name (the shipped name, run directory or file stem).
        folder: its folder, whose card (figures.json) says which JPEG qualities it survives.
        refine_steps: optimise each stego image against the revealing network for this many steps
            (`nets.refine`, Keras only).
    """

    family = "network"
    cannot = {}

    def __init__(self, model, name: str, folder: Path | None = None, refine_steps: int = 0):
        check_refine_steps(model, refine_steps)
        if refine_steps and not hasattr(model, "revealer"):
            raise ModelError("refinement needs the Keras model; this one runs on onnxruntime")
        self.model, self.name, self.folder, self.refine_steps = model, name, folder, refine_steps
        self.secret_channels = int(model.secret_channels)
        self.min_side = layout(model)["tile"]
        self.lowest_jpeg_quality = cards.jpeg_safe_quality(folder) if folder is not None else None

    def hide_tiles(self, covers, secrets, batch_size: int = 256) -> np.ndarray:
        """Float [0, 1] stego tiles (N, size, size, 3) at the model's size for uint8 or [0, 1] float
        cover and secret batches: the hiding network's, then refined if asked."""
        covers, secrets = as_float_images(covers, 3)[0], as_float_images(secrets, self.secret_channels)[0]
        stegos = self.model.hide(covers, secrets, batch_size=batch_size)
        if not self.refine_steps:
            return stegos
        from pixinpix_tf.nets.refine import refine_stego

        return refine_stego(self.model.revealer, covers, secrets, stegos, self.refine_steps, batch_size)

    def hide(self, cover, secret, key=None, progress: Progress | None = None, channel=None) -> np.ndarray:
        check_size(cover, self.min_side, "cover")
        if secret.shape[:2] != cover.shape[:2]:
            secret = fit_secret(secret, *cover.shape[:2])
        if (key := keys.as_key(key)) is not None:
            secret = keys.scramble(secret, key)
        if self._image_graphs():
            if progress:
                progress(0, 1)
            stego = self.model.hide_image(cover, secret)
            if progress:
                progress(1, 1)
            return stego
        return hide_image(self.hide_tiles, cover, secret, **layout(self.model), progress=progress)

    def reveal(self, stego, key=None) -> np.ndarray:
        check_size(stego, self.min_side, "stego image")
        if self._image_graphs():
            revealed = self.model.reveal_image(stego)
        else:
            revealed = reveal_image(self.model.reveal, stego, self.secret_channels, **layout(self.model))
        key = keys.as_key(key)
        return revealed if key is None else keys.unscramble(revealed, key)

    def hide_batch(self, covers: np.ndarray, secrets: np.ndarray) -> np.ndarray:
        if covers.shape[1:3] == (self.model.image_size,) * 2:  # tiles of the model's size: one batch
            if secrets.shape[1:3] != covers.shape[1:3]:  # a smaller secret: hidden enlarged, as `hide` does
                secrets = np.stack([fit_secret(secret, *covers.shape[1:3]) for secret in secrets])
            return to_uint8(self.hide_tiles(covers, secrets))
        return super().hide_batch(covers, secrets)

    def reveal_batch(self, stegos: np.ndarray) -> np.ndarray:
        if stegos.shape[1:3] == (self.model.image_size,) * 2:
            return to_uint8(self.model.reveal(stegos))
        return super().reveal_batch(stegos)

    def _image_graphs(self) -> bool:
        """Whether this job runs through the model's image graphs (an onnxruntime model that has them)."""
        return getattr(self.model, "image_graphs", False) and not self.refine_steps
