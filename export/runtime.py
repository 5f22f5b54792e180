"""Hide and reveal with the exported ONNX files: onnxruntime, numpy and Pillow only.

Importing this module never imports TensorFlow or Keras, so it runs on a
machine that has neither (`pip install "pixinpix-tf[onnx]"`).

Example:
    >>> from pixinpix_tf.export.runtime import OnnxPixInPix
    >>> model = OnnxPixInPix("exports/mnist")        # the export folder or its onnx/ folder
    >>> stego = model.hide(cover_uint8, secret_uint8)  # float32 in [0, 1]
    >>> revealed = model.reveal(stego)

Command line (`pixinpix-onnx`):
    pixinpix-onnx hide COVER.png SECRET.png -o STEGO.png --model exports/mnist
    pixinpix-onnx reveal STEGO.png -o REVEALED.png --model exports/mnist
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from pixinpix_tf.images import ImageError, as_float_images, read_image, write_image
from pixinpix_tf.tiling import hide_image, reveal_image

METADATA = "metadata.json"


class RuntimeModelError(RuntimeError):
    """An export folder that cannot be used; the message is one line."""


def _find_export(path: str | Path) -> tuple[Path, Path]:
    """(folder with metadata.json, folder with the .onnx files) from either of them."""
    path = Path(path)
    for root in (path, path.parent):
        if (root / METADATA).is_file() and (root / "onnx" / "hide.onnx").is_file():
            return root, root / "onnx"
    raise RuntimeModelError(f"{path}: no {METADATA} with onnx/hide.onnx beside it; is it a `pixinpix export` folder?")


def default_providers() -> list[str]:
    """CUDA when onnxruntime-gpu sees a GPU, else the CPU."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]


class OnnxPixInPix:
    """The exported hiding and revealing networks, run by onnxruntime."""

    def __init__(self, path: str | Path, providers: list[str] | None = None):
        import onnxruntime as ort

        root, onnx_dir = _find_export(path)
        self.metadata = json.loads((root / METADATA).read_text())
        self.image_size = int(self.metadata["image_size"])
        self.secret_channels = int(self.metadata["secret_channels"])
        providers = providers or default_providers()
        self._sessions = {
            name: ort.InferenceSession(str(onnx_dir / f"{name}.onnx"), providers=providers)
            for name in ("hide", "reveal")
        }
        self.provider = self._sessions["hide"].get_providers()[0]

    def hide(self, cover, secret) -> np.ndarray:
        """Stego image(s), float32 in [0, 1], for uint8 or [0, 1] float covers and secrets."""
        covers, single = as_float_images(cover, 3)
        secrets, _ = as_float_images(secret, self.secret_channels)
        self._check_size(covers)
        self._check_size(secrets)
        stego = self._sessions["hide"].run(["stego"], {"cover": covers, "secret": secrets})[0]
        return stego[0] if single else stego

    def reveal(self, stego) -> np.ndarray:
        """Revealed secret(s), float32 in [0, 1], from uint8 or [0, 1] float stego images."""
        stegos, single = as_float_images(stego, 3)
        self._check_size(stegos)
        revealed = self._sessions["reveal"].run(["revealed"], {"stego": stegos})[0]
        return revealed[0] if single else revealed

    def _check_size(self, batch: np.ndarray) -> None:
        if batch.shape[1:3] != (self.image_size, self.image_size):
            raise ValueError(f"images must be {self.image_size}x{self.image_size} for this model, "
                             f"got {batch.shape[2]}x{batch.shape[1]}")

    def hide_file(self, cover_path, secret_path, stego_path, keep_aspect: bool = False) -> np.ndarray:
        """Hide one image file in another (any sizes) and write the 8-bit stego PNG; returns it."""
        stego = hide_image(self.hide, read_image(cover_path, 3), read_image(secret_path, self.secret_channels),
                           tile=self.image_size, keep_aspect=keep_aspect)
        write_image(stego, stego_path)
        return stego

    def reveal_file(self, stego_path, revealed_path) -> np.ndarray:
        """Reveal the secret of a stego image file (any size) into a PNG; returns it."""
        revealed = reveal_image(self.reveal, read_image(stego_path, 3), self.secret_channels, tile=self.image_size)
        write_image(revealed, revealed_path)
        return revealed


def _check_png_output(path: str) -> None:
    if Path(path).suffix.lower() != ".png":
        raise ImageError(f"{path}: outputs are written as lossless PNG; name the file *.png")


def main(argv: list[str] | None = None) -> int:
    """`pixinpix-onnx`: hide and reveal with an ONNX export, without TensorFlow."""
    parser = argparse.ArgumentParser(prog="pixinpix-onnx",
                                     description="Hide and reveal images with exported ONNX files (no TensorFlow).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    hide = commands.add_parser("hide", help="hide SECRET in COVER, write the stego PNG")
    hide.add_argument("cover")
    hide.add_argument("secret")
    reveal = commands.add_parser("reveal", help="reveal the secret of a stego PNG")
    reveal.add_argument("stego")
    for sub in (hide, reveal):
        sub.add_argument("-o", "--output", required=True, help="output PNG file")
        sub.add_argument("--model", required=True, help="a `pixinpix export` folder (or its onnx/ folder)")
    args = parser.parse_args(argv)
    try:
        _check_png_output(args.output)
        model = OnnxPixInPix(args.model)
        if args.command == "hide":
            model.hide_file(args.cover, args.secret, args.output)
        else:
            model.reveal_file(args.stego, args.output)
    except (ImageError, RuntimeModelError, ValueError) as err:
        print(f"pixinpix-onnx: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    print(f"wrote {args.output} ({model.provider})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
