"""Pretrained models shipped in the package: float16 weights, config and a model card.

A pretrained model NAME is the folder `pixinpix_tf/pretrained/NAME/` with
`config.json` (the PixInPix constructor arguments), `weights.npz` (float16
arrays in `model.get_weights()` order), `training.json` (the run's training
config), `stages.json` (every training run behind the weights) and
`MODEL_CARD.md`. The folders are written by
`scripts/ship_pretrained.py` from a training run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

PRETRAINED_DIR = Path(__file__).parent / "pretrained"
# The model `hide`/`reveal` use when none is given: the one with the better
# figures on natural photos (Kodak, see its model card).
DEFAULT_MODEL = "imagenet-in-cifar10"
# Stego refinement steps (`pixinpix_tf.refine`) that `hide` runs unless told
# otherwise: on Kodak they lift the default model's revealed PSNR from 29.1 to
# 33.4 dB (the goal is 30) for 18x the time of the hiding network alone.
DEFAULT_REFINE_STEPS = 10


def default_refine_steps(model) -> int:
    """The refinement steps `hide` runs on `model` unless told: none for a model with
    `embed_bits`, whose stego's low bits are its code, else DEFAULT_REFINE_STEPS."""
    return 0 if model.embed_bits else DEFAULT_REFINE_STEPS


class PretrainedError(LookupError):
    """A pretrained model that is not shipped; the message is one line."""


def available(directory: Path | None = None) -> list[str]:
    """Names of the shipped pretrained models."""
    directory = directory or PRETRAINED_DIR
    if not directory.is_dir():
        return []
    return sorted(p.name for p in directory.iterdir() if (p / "weights.npz").is_file())


def save_pretrained(model, directory: Path, training_config_json: str | None = None) -> None:
    """Write `model` as a pretrained folder: config.json, float16 weights.npz (and training.json)."""
    directory.mkdir(parents=True, exist_ok=True)
    config = {k: v for k, v in model.get_config().items() if k not in ("name", "trainable")}
    (directory / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    arrays = {f"w{i:03d}": np.asarray(w, np.float16) for i, w in enumerate(model.get_weights())}
    np.savez_compressed(directory / "weights.npz", **arrays)
    if training_config_json is not None:
        (directory / "training.json").write_text(training_config_json + "\n")


def find(name_or_path: str | Path) -> Path | None:
    """The pretrained folder that `name_or_path` names (a shipped name or a folder path), else None."""
    path = Path(name_or_path)
    if path.is_dir():
        return path if (path / "weights.npz").is_file() else None
    if not path.exists() and str(name_or_path) in available():
        return PRETRAINED_DIR / str(name_or_path)
    return None


def load_folder(folder: Path):
    """The float32 PixInPix model of a pretrained folder."""
    from pixinpix_tf.model import PixInPix

    model = PixInPix(**json.loads((folder / "config.json").read_text()), name=folder.name)
    with np.load(folder / "weights.npz") as arrays:
        model.set_weights([arrays[key].astype(np.float32) for key in sorted(arrays.files)])
    return model


def load_pretrained(name: str, directory: Path | None = None):
    """The shipped pretrained model `name` as a float32 PixInPix model."""
    directory = directory or PRETRAINED_DIR
    folder = directory / name
    if not (folder / "weights.npz").is_file():
        shipped = ", ".join(available(directory)) or "none in this version"
        raise PretrainedError(f"no pretrained model {name!r}; shipped: {shipped}")
    return load_folder(folder)
