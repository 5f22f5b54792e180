"""What each optional extra brings, and the one place the package imports TensorFlow.

`require` turns a missing optional module into a one-line ConfigError with the install line.
`import_tensorflow` imports TensorFlow and Keras with their C++ start-up lines hidden (unless
`show_logs`), after switching on oneDNN's fast CPU kernels (`TF_ENABLE_ONEDNN_OPTS=1`), which
TensorFlow leaves off on processors without AVX-512-class features: the same float32 model trains
several times faster there (benchmarks/train_throughput.py). A value the user set wins; the package's
`__init__` sets it, so it holds for every module that imports TensorFlow or Keras after it.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

from pixinpix_tf.errors import ConfigError

SHOW_TENSORFLOW_LOGS = False  # set by `pixinpix --verbose`


def require(what: str, modules: tuple[str, ...], extra: str) -> None:
    """ConfigError with the install line if a module `what` needs is not installed."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(f"{what} needs {', '.join(missing)}: pip install \"pixinpix-tf[{extra}]\"")


def has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def configure_tensorflow() -> None:
    """Switch on oneDNN's kernels before TensorFlow's first import (a user's own setting wins);
    `pixinpix_tf/__init__.py` calls it, so it holds for every module of the package."""
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def import_tensorflow(what: str = "this job") -> None:
    """Import TensorFlow and Keras (ConfigError with the install line if absent), configured and quiet."""
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        return
    require(what, ("tensorflow", "keras"), "tf")
    configure_tensorflow()
    if SHOW_TENSORFLOW_LOGS:
        importlib.import_module("keras")
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # the lines come from C++ at import time, past Python's sys.stderr
    try:
        import absl.logging
        import keras  # noqa: F401

        absl.logging.set_verbosity(absl.logging.ERROR)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
