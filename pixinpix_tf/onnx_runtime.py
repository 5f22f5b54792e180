"""The onnxruntime backend: the exported hiding and revealing networks, without TensorFlow.

`OnnxPixInPix` has the inference methods of `PixInPix` (`hide`, `reveal` on
float [0, 1] tile batches, and the architecture attributes the inference layer
reads), so `api.hide` / `api.reveal` run either backend the same way. Importing
this module imports neither TensorFlow nor Keras (`pip install "pixinpix-tf[onnx]"`).
Get one with `pixinpix_tf.loading.load_onnx(name_or_path)`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from pixinpix_tf.config import ModelConfig
from pixinpix_tf.errors import ImageError, ModelError
from pixinpix_tf.images import as_float_images

ONNX_FILES = {"hide": "hide.onnx", "reveal": "reveal.onnx"}


def default_providers() -> list[str]:
    """CUDA when onnxruntime-gpu sees a GPU, else the CPU."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]


class OnnxPixInPix:
    """hide.onnx and reveal.onnx of one model, run by onnxruntime.

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
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: keep onnxruntime's warnings out of the terminal
        providers = providers or default_providers()
        try:
            self._sessions = {name: ort.InferenceSession(str(Path(folder) / file), options, providers=providers)
                              for name, file in ONNX_FILES.items()}
        except Exception as err:  # onnxruntime raises its own kinds for missing or corrupt files
            raise ModelError(f"{folder}: cannot load the ONNX files ({' '.join(str(err).split())[:160]})") from None
        self.provider = self._sessions["hide"].get_providers()[0]

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
