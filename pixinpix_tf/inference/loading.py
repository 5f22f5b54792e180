"""One loader: every kind of model name or path, resolved once.

A model is named by
- a shipped pretrained name (`imagenet-in-cifar10`, see `available()`);
- a pretrained folder: `config.json` (the `ModelConfig` fields), `weights.npz`
  (float16 arrays keyed by each variable's layer path, as Keras' own
  `.weights.h5` keys them), `onnx/hide.onnx` and `onnx/reveal.onnx`, and the
  model card; written by `save_pretrained` (`scripts/ship_pretrained.py`);
- a run directory of `pixinpix train` (its `best.keras`, else `last.keras`);
- a `.keras` file;
- a `pixinpix export` folder (`metadata.json` and `onnx/`): onnxruntime only.

`locate` finds the files without importing TensorFlow; `load_model` builds the
Keras model and `load_onnx` the onnxruntime one. Both raise
`ModelNotFoundError` (naming what was tried) or `ModelError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pixinpix_tf.config import Config
from pixinpix_tf.errors import ModelError, ModelNotFoundError, PixInPixError

PRETRAINED_DIR = Path(__file__).parent.parent / "pretrained"
RUN_MODEL_FILES = ("best.keras", "last.keras")
EXPORT_METADATA = "metadata.json"


@dataclass(frozen=True)
class ModelFiles:
    """Where a model's files are.

    Attributes:
        name: a short name (the pretrained name, run directory or file stem).
        path: the resolved file or folder the name or path points to (one per model).
        keras: a `.keras` file or a pretrained folder (None: onnxruntime only).
        onnx: the folder with hide.onnx and reveal.onnx (None: Keras only).
        architecture: the `ModelConfig` fields, when known without loading Keras.
    """

    name: str
    path: Path
    keras: Path | None
    onnx: Path | None
    architecture: dict | None


def available(directory: Path | None = None) -> list[str]:
    """Names of the shipped pretrained models (in `directory`, default PRETRAINED_DIR)."""
    directory = directory or PRETRAINED_DIR
    if not directory.is_dir():
        return []
    return sorted(p.name for p in directory.iterdir() if (p / "weights.npz").is_file() and not p.name.startswith("."))


def _onnx_folder(folder: Path) -> Path | None:
    return folder if (folder / "hide.onnx").is_file() and (folder / "reveal.onnx").is_file() else None


def locate(name_or_path: str | Path) -> ModelFiles:
    """The files of the model `name_or_path` names; ModelNotFoundError lists what was tried."""
    path = Path(name_or_path)
    if not path.exists() and str(name_or_path) in available():
        path = PRETRAINED_DIR / str(name_or_path)
    if path.is_file():
        if path.suffix != ".keras":
            raise ModelNotFoundError(f"{path}: not a .keras file, run directory, pretrained or export folder")
        return ModelFiles(path.stem, path.resolve(), path, None, None)
    if path.is_dir():
        if (path / "weights.npz").is_file():  # a pretrained folder
            return ModelFiles(path.resolve().name, path.resolve(), path, _onnx_folder(path / "onnx"),
                              _read_json(path / "config.json"))
        for file in RUN_MODEL_FILES:
            if (path / file).is_file():
                return ModelFiles(path.resolve().name, path.resolve(), path / file, None, None)
        for root in (path, path.parent):  # an export folder, or its onnx/ folder
            if (root / EXPORT_METADATA).is_file() and _onnx_folder(root / "onnx"):
                metadata = _read_json(root / EXPORT_METADATA)
                if "model_config" not in metadata:
                    raise ModelError(f"{root / EXPORT_METADATA} has no model_config: is it a `pixinpix export` folder?")
                return ModelFiles(metadata.get("name", root.resolve().name), root.resolve(), None, root / "onnx",
                                  metadata["model_config"])
        raise ModelNotFoundError(f"{path}: a folder with no {', '.join(RUN_MODEL_FILES)} (run directory), "
                                 f"weights.npz (pretrained folder) or {EXPORT_METADATA} with onnx/ (export folder)")
    shipped = ", ".join(available()) or "none in this version"
    raise ModelNotFoundError(f"{name_or_path}: no such run directory, .keras file or folder, "
                             f"and no pretrained model of that name (shipped: {shipped})")


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ModelError(f"{path}: cannot read it as JSON ({type(err).__name__})") from None


def load_model(name_or_path: str | Path):
    """The Keras PixInPix model that `name_or_path` names (see the module docstring)."""
    files = locate(name_or_path)
    if files.keras is None:
        raise ModelError(f"{name_or_path}: an ONNX export runs on onnxruntime only (pixinpix hide / reveal); "
                         "pass the .keras file or run directory it was exported from")
    if files.keras.is_dir():
        return _load_pretrained(files.keras)
    import keras

    from pixinpix_tf.nets.model import PixInPix

    try:
        model = keras.models.load_model(files.keras, compile=False)
    except Exception as err:  # zip, h5 and deserialization errors all mean "not a model"
        raise ModelError(f"cannot load {files.keras} as a Keras model ({type(err).__name__})") from None
    if not isinstance(model, PixInPix):
        raise ModelError(f"{files.keras} is a {type(model).__name__}, not a PixInPix model")
    return model


def load_onnx(name_or_path: str | Path, providers: list[str] | None = None):
    """The onnxruntime model (`onnx_runtime.OnnxPixInPix`) that `name_or_path` names."""
    from pixinpix_tf.inference.onnx_runtime import OnnxPixInPix

    files = locate(name_or_path)
    if files.onnx is None:
        raise ModelError(f"{name_or_path} has no ONNX files; run it with the Keras backend, "
                         "or make them with `pixinpix export`")
    return OnnxPixInPix(files.onnx, files.architecture, providers)


def run_config(name_or_path: str | Path) -> Config | None:
    """The training config of the run (or pretrained model) behind `name_or_path`, if recorded."""
    files = locate(name_or_path)
    if files.keras is None:
        return None
    folder = files.keras if files.keras.is_dir() else files.keras.parent
    config = folder / ("training.json" if files.keras.is_dir() else "config.json")
    return Config.from_json(config.read_text()) if config.is_file() else None


def weights_by_path(model) -> dict[str, np.ndarray]:
    """`model`'s variables as {layer path: array}, the keys Keras' `.weights.h5` uses."""
    arrays = {variable.path: np.asarray(variable) for variable in model.weights}
    if len(arrays) != len(model.weights):
        raise ModelError("two variables share a layer path; cannot store the weights by path")
    return arrays


def save_pretrained(model, folder: Path, training_config_json: str | None = None) -> None:
    """Write `model`'s config.json and float16 weights.npz (keyed by layer path) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {k: v for k, v in model.get_config().items() if k not in ("name", "trainable")}
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    np.savez_compressed(folder / "weights.npz",
                        **{key: value.astype(np.float16) for key, value in weights_by_path(model).items()})
    if training_config_json is not None:
        (folder / "training.json").write_text(training_config_json + "\n")


def _load_pretrained(folder: Path):
    """The float32 PixInPix model of a pretrained folder; every variable is matched by its layer path."""
    from pixinpix_tf.nets.model import PixInPix

    try:
        model = PixInPix(**_read_json(folder / "config.json"), name=folder.resolve().name)
        with np.load(folder / "weights.npz") as arrays:
            stored = set(arrays.files)
            wanted = {variable.path for variable in model.weights}
            if stored != wanted:
                differ = sorted(stored ^ wanted)
                old = " (stored in the old get_weights() order: ship it again with scripts/ship_pretrained.py)" \
                    if "w000" in stored else ""
                raise ModelError(f"{folder}/weights.npz does not fit the model: {len(differ)} layer paths differ "
                                 f"(e.g. {differ[0]}){old}")
            for variable in model.weights:
                variable.assign(arrays[variable.path].astype(np.float32))
    except PixInPixError:
        raise
    except Exception as err:  # a config of another version, a corrupt npz, a wrong shape: not this model
        raise ModelError(f"{folder}: cannot load it as a pretrained model ({type(err).__name__}: "
                         f"{' '.join(str(err).split())[:160]})") from None
    return model
