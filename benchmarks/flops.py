"""FLOPs per pixel of each network of a model: what its speed on a CPU follows.

Counts the multiply-adds of every convolution (2 FLOPs each) on a 256x256 image
and divides by its pixels; element-wise work (batch norm, ReLU, pooling) is
left out. A PixInPix model or a `--config` of architecture fields.

Examples:
    python benchmarks/flops.py imagenet-in-cifar10 runs/block4/best.keras
    python benchmarks/flops.py --config '{"pixel_block": 4, "depth": 3, "base_filters": 96, "max_filters": 192}'
"""

from __future__ import annotations

import argparse
import json

import numpy as np

SIDE = 256


def network_flops(network) -> float:
    """FLOPs per input pixel of a functional Keras network (its convolutions) on a SIDE x SIDE image."""
    import keras

    kinds = (keras.layers.Conv2D, keras.layers.Conv2DTranspose)
    convs = [layer for layer in network.layers if isinstance(layer, kinds)]
    probe = keras.Model(network.input, [layer.output for layer in convs])
    outputs = probe(keras.tree.map_structure(lambda i: np.zeros((1, SIDE, SIDE, i.shape[-1]), np.float32),
                                             network.input))
    total = 0.0
    for layer, out in zip(convs, outputs):
        kernel = layer.kernel.shape
        positions = out.shape[1] * out.shape[2]
        if isinstance(layer, keras.layers.Conv2DTranspose):  # each input position writes a k x k patch
            positions //= layer.strides[0] * layer.strides[1]
        total += 2.0 * np.prod(kernel) * positions
    return total / SIDE**2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help="model names or paths")
    parser.add_argument("--config", help="architecture fields as JSON (config.ModelConfig), instead of a model")
    args = parser.parse_args()
    from pixinpix_tf.inference.loading import load_model
    from pixinpix_tf.nets.model import PixInPix

    models = [(name, load_model(name)) for name in args.models]
    if args.config:
        models.append((args.config, PixInPix(**json.loads(args.config))))
    for name, model in models:
        hide, reveal = network_flops(model.hider), network_flops(model.revealer)
        print(f"{name}: hiding network {hide / 1e3:,.0f}k FLOP per pixel, revealing network {reveal / 1e3:,.0f}k "
              f"({model.count_params():,} parameters)")


if __name__ == "__main__":
    main()
