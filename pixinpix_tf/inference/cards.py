"""The one owner of a shipped model's measured figures: its card's `figures.json`.

`scripts/ship_pretrained.py` measures and writes them (`write`, `jpeg_safe_quality_of`); the methods,
the web page and the tests read them (`read`, `jpeg_safe_quality`, `onnx_float16`). The survival rule:
a model survives JPEG at quality Q when, after the stego image is saved as JPEG at Q, every photo
folder's secret reveals at most JPEG_SURVIVAL_LOSS_DB worse than from the PNG and above
JPEG_SURVIVAL_FLOOR_PSNR (a mid-grey image is at about 12.8 dB from a photo: what a destroyed secret
reveals).
"""

from __future__ import annotations

import json
from pathlib import Path

from pixinpix_tf.errors import ModelError

FIGURES = "figures.json"
JPEG_SURVIVAL_LOSS_DB = 3.0
JPEG_SURVIVAL_FLOOR_PSNR = 15.0
CHECKED_JPEG_QUALITIES = (95, 90, 75, 50)  # highest first: the rule stops at the first quality that fails


def read(folder: str | Path) -> dict:
    """The figures of the model folder `folder` ({} when it has none: a run directory, a .keras file)."""
    path = Path(folder) / FIGURES
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ModelError(f"{path}: cannot read it as JSON ({type(err).__name__})") from None


def write(folder: str | Path, figures: dict) -> None:
    """Write `figures` as the folder's figures.json."""
    (Path(folder) / FIGURES).write_text(json.dumps(figures, indent=2) + "\n")


def update(folder: str | Path, **parts) -> dict:
    """Replace some top-level parts of the folder's figures, keeping the others; returns the new figures."""
    figures = {**read(folder), **parts}
    write(folder, figures)
    return figures


def jpeg_safe_quality(folder: str | Path) -> int | None:
    """The lowest JPEG quality the folder's card says its stego images survive (None: not even 95)."""
    return read(folder).get("jpeg_safe_quality")


def jpeg_safe_quality_of(photos: dict, refine_steps: int = 0) -> int | None:
    """The survival rule (module docstring) on `photos` ({folder: {refine steps: photo figures}}, as
    `analysis.evaluate.photo_figures` gives them with JPEG among the distortions)."""
    safe = None
    rows = [folder[str(refine_steps)] for folder in photos.values()]
    for quality in CHECKED_JPEG_QUALITIES:
        after = [(row["revealed_psnr_after"].get(f"jpeg quality {quality}", 0.0), row["revealed_psnr"]) for row in rows]
        if not after or any(jpeg < max(png - JPEG_SURVIVAL_LOSS_DB, JPEG_SURVIVAL_FLOOR_PSNR) for jpeg, png in after):
            break
        safe = quality
    return safe


def onnx_float16(folder: str | Path) -> bool:
    """Whether the folder's ONNX files store float16 weights (so converted graphs should too)."""
    return read(folder).get("onnx", {}).get("weights") == "float16"
