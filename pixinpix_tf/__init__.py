"""PixInPix: hide images inside images with twin U-Nets (Keras 3 / TensorFlow).

Importing the package is cheap and TensorFlow-free; `hide`, `reveal`,
`load_model` and `load_pretrained` import TensorFlow on first use.
"""

__version__ = "0.1.0"
__all__ = ["hide", "reveal", "load_model", "load_pretrained"]


def __getattr__(name):
    if name in __all__:
        from pixinpix_tf import api

        return getattr(api, name)
    raise AttributeError(f"module 'pixinpix_tf' has no attribute {name!r}")
