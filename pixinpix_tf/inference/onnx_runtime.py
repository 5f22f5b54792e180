"""The onnxruntime backend: the exported hiding and revealing networks, without TensorFlow.

`OnnxPixInPix` has the inference methods of `PixInPix` (`hide`, `reveal` on
float [0, 1] tile batches, and the architecture attributes the inference layer
reads), and, when the folder has the image graphs, `hide_image` / `reveal_image`
on whole uint8 images, which `api.hide` / `api.reveal` then use. Importing
this module imports neither TensorFlow nor Keras (`pip install "pixinpix-tf[onnx]"`).
Get one with `pixinpix_tf.inference.loading.load_onnx(name_or_path)`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from pixinpix_tf.config import ModelConfig
from pixinpix_tf.errors import ImageError, ModelError
from pixinpix_tf.images import as_float_images

ONNX_FILES = {"hide": "hide.onnx", "reveal": "reveal.onnx"}
IMAGE_GRAPHS = {"hide_image": "hide_image.onnx", "reveal_image": "reveal_image.onnx"}


def default_providers() -> list[str]:
    """CUDA when onnxruntime-gpu sees a GPU, else the CPU."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]


class OnnxPixInPix:
    """hide.onnx and reveal.onnx of one model, and hide_image.onnx and reveal_image.onnx if the folder
    has them (`image_graphs`; loaded when first used), run by onnxruntime.

    Args:
        folder: the folder with hide.onnx and reveal.onnx.
        architecture: the model's `ModelConfig` fields (image_size, secret_channels, embed_bits, ...).
        providers: onnxruntime execution providers (default: CUDA if available, else CPU).
    """

    def __init__(self, folder: str | Path, architecture: dict, providers: list[str] | None = None):
        import onnxruntime as ort

        self.architecture = dict(architecture)
        self.image_size = int(architecture["image_size"])
        self.secret_channels = int(architecture["secret_channels"])
        self.embed_bits = int(architecture.get("embed_bits", 0))
        self.depth = int(architecture["depth"])
        self.whole_image = bool(architecture.get("whole_image", False))
        self.side_multiple = ModelConfig(**{f.name: architecture[f.name] for f in dataclasses.fields(ModelConfig)
                                            if f.name in architecture}).side_multiple
        self._folder, self._options = Path(folder), ort.SessionOptions()
        self._options.log_severity_level = 3  # errors only: keep onnxruntime's warnings out of the terminal
        self._providers = providers or default_providers()
        self._sessions = {name: self._load(file) for name, file in ONNX_FILES.items()}
        self.image_graphs = all((self._folder / file).is_file() for file in IMAGE_GRAPHS.values())
        self.provider = self._sessions["hide"].get_providers()[0]

    def _load(self, file: str):
        import onnxruntime as ort

        try:
            return ort.InferenceSession(str(self._folder / file), self._options, providers=self._providers)
        except Exception as err:  # onnxruntime raises its own kinds for missing or corrupt files
            raise ModelError(f"{self._folder}: cannot load the ONNX files ({' '.join(str(err).split())[:160]})") \
                from None

    def hide(self, cover, secret, batch_size: int = 256) -> np.ndarray:
        """Stego image(s), float32 in [0, 1], for uint8 or [0, 1] float covers and secrets."""
        covers, single = as_float_images(cover, 3)
        secrets, _ = as_float_images(secret, self.secret_channels)
        if len(covers) != len(secrets):
            raise ImageError(f"got {len(covers)} covers but {len(secrets)} secrets")
        stego = self._run("hide", {"cover": covers, "secret": secrets}, batch_size)
        return stego[0] if single else stego

    def reveal(self, stego, batch_size: int = 256) -> np.ndarray:
        """Revealed secret(s), float32 in [0, 1], from uint8 or [0, 1] float stego images."""
        stegos, single = as_float_images(stego, 3)
        revealed = self._run("reveal", {"stego": stegos}, batch_size)
        return revealed[0] if single else revealed

    def hide_image(self, cover: np.ndarray, secret: np.ndarray) -> np.ndarray:
        """The uint8 stego image of a uint8 (H, W, 3) `cover` and (H, W, C) `secret` (at the cover's size; both
        at least the tile, `tiling.layout`), from hide_image.onnx in one call: padding, tiles or windows and
        cropping run inside the graph."""
        if secret.shape[:2] != cover.shape[:2]:
            raise ImageError(f"the secret is {secret.shape[1]}x{secret.shape[0]}; it must have the cover's size, "
                             f"{cover.shape[1]}x{cover.shape[0]}")
        return self._run_image("hide_image", {"cover": cover, "secret": secret})

    def reveal_image(self, stego: np.ndarray) -> np.ndarray:
        """The uint8 revealed secret of a uint8 (H, W, 3) stego image, from reveal_image.onnx in one call."""
        return self._run_image("reveal_image", {"stego": stego})

    def _run_image(self, name: str, feeds: dict[str, np.ndarray]) -> np.ndarray:
        if name not in self._sessions:
            if not self.image_graphs:
                raise ModelError(f"{self._folder} has no {IMAGE_GRAPHS[name]}")
            self._sessions[name] = self._load(IMAGE_GRAPHS[name])
        return self._sessions[name].run(None, {k: np.ascontiguousarray(v, np.uint8) for k, v in feeds.items()})[0]

    def _run(self, name: str, feeds: dict[str, np.ndarray], batch_size: int) -> np.ndarray:
        first = next(iter(feeds.values()))
        session = self._sessions[name]
        fixed = session.get_inputs()[0].shape[1:3]  # ints for a graph of one size, names for any size
        for batch in feeds.values():
            if all(isinstance(side, int) for side in fixed) and tuple(batch.shape[1:3]) != tuple(fixed):
                raise ImageError(f"images must be {fixed[1]}x{fixed[0]} for this model, "
                                 f"got {batch.shape[2]}x{batch.shape[1]}")
        output = session.get_outputs()[0].name
        parts = [session.run([output], {k: v[i : i + batch_size] for k, v in feeds.items()})[0]
                 for i in range(0, len(first), batch_size)]
        return np.concatenate(parts).astype(np.float32)
