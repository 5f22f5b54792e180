"""Shared fixtures: tiny configurations, image folders, and the real data location."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from pixinpix_tf.config import get_preset  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# Real tfds data: $TFDS_DATA_DIR if set, else ../shared/data/tfds beside the checkout (CI has it).
REAL_DATA_DIR = Path(os.environ.get("TFDS_DATA_DIR") or ROOT.parent / "shared" / "data" / "tfds")
PHOTOS_DIR = Path(os.environ.get("PIXINPIX_PHOTOS") or ROOT.parent / "shared" / "data" / "photos")


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", help="also run the tests marked slow (CI=true does too)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow") or os.environ.get("CI", "").lower() == "true":
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow (or CI=true)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def real_data_dir(*names: str) -> str:
    """The real tfds data directory, or skip the test when it lacks any of `names`."""
    missing = [n for n in names if not (REAL_DATA_DIR / n).is_dir()]
    if missing:
        pytest.skip(f"real tfds data for {', '.join(missing)} not found in {REAL_DATA_DIR} "
                    "(set TFDS_DATA_DIR to a folder that holds it)")
    return str(REAL_DATA_DIR)


def import_script(name: str):
    """The module of `scripts/<name>.py`."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Two correct float32 evaluations of one network (another kernel, batch size, channel count, padding layer
# or runtime) differ by rounding: about eps32 (1.2e-7) x the pre-activations' size (< 10 here) x sqrt(fan-in)
# (< 30) per layer, over up to 12 layers: ~4e-4 at worst. A quarter of an 8-bit level bounds that on any
# processor and is still far below what a user sees (and below every difference these tests look for).
NETWORK_ATOL = 0.25 / 255
TINY_MODEL = dict(image_size=16, depth=2, base_filters=4, max_filters=16, convs_per_step=1)
# The tiny model at the shipped models' 32x32 tile size, for inference, export and the commands.
TINY_TILE_MODEL = dict(image_size=32, depth=2, base_filters=4, max_filters=8, convs_per_step=1)


def tiny_model(**changes):
    """A fresh 32x32 PixInPix small enough to build, save and export in a second."""
    from pixinpix_tf.nets.model import PixInPix

    return PixInPix(**{**TINY_TILE_MODEL, **changes})


def save_tiny_model(path: Path, **changes) -> Path:
    """`tiny_model(**changes)` saved as a `.keras` file at `path`; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tiny_model(**changes).save(path)
    return path


@pytest.fixture(scope="session")
def tiny_model_file(tmp_path_factory):
    """A tiny 32x32 model as the shipped ones are built (batch norm, 8-bit stego, residual), in a run
    directory `tinyrun` as `best.keras`."""
    return save_tiny_model(tmp_path_factory.mktemp("run") / "tinyrun" / "best.keras", quantize_stego=True,
                           batch_norm=True, residual_stego=True)


@pytest.fixture
def tiny_cfg():
    """The `tiny` preset: a 16x16, depth-2 model that trains in seconds."""
    return get_preset("tiny")


def write_images(folder: Path, count: int, size: tuple[int, int], mode: str = "RGB", seed: int = 0) -> Path:
    """`count` random PNG images of `size` (w, h) and PIL `mode` in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "L": 1}[mode]
    for i in range(count):
        pixels = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
        Image.fromarray(pixels.squeeze() if channels == 1 else pixels, mode).save(folder / f"img{i:03d}.png")
    return folder


@pytest.fixture
def image_folders(tmp_path):
    """A folder of RGB covers and one of grayscale secrets, of mixed sizes."""
    covers = write_images(tmp_path / "covers", 24, (20, 18), "RGB", seed=1)
    secrets = write_images(tmp_path / "secrets", 20, (12, 12), "L", seed=2)
    return str(covers), str(secrets)


@pytest.fixture
def mock_tfds(monkeypatch):
    """`tfds.testing.mock_data` as a factory; the mock 'downloads' need no network check."""
    import tensorflow_datasets as tfds

    from pixinpix_tf.nets import data

    monkeypatch.setattr(data, "_network_available", lambda: True)
    return lambda num_examples: tfds.testing.mock_data(num_examples=num_examples)
