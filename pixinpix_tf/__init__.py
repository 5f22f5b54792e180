"""PixInPix: hide images inside images with twin U-Nets (Keras 3 / TensorFlow, onnxruntime).

Importing the package is cheap and TensorFlow-free: `hide` and `reveal` run the
shipped models on onnxruntime; `load_model` (and `hide --refine`) import Keras
on first use. To load a `.keras` file with Keras itself, `import pixinpix_tf.nets.model`.
"""

from pixinpix_tf.extras import configure_tensorflow

configure_tensorflow()  # before anything imports TensorFlow: oneDNN's fast CPU kernels (pixinpix_tf.extras)

__version__ = "0.1.0"
__all__ = ["hide", "reveal", "load_model"]
_HOMES = {"hide": "api", "reveal": "api", "load_model": "inference.loading"}


def __getattr__(name):
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f"pixinpix_tf.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'pixinpix_tf' has no attribute {name!r}")
