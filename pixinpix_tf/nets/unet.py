"""U-Net blocks as the PixInPix paper describes them.

Down step: `convs_per_step` x (3x3 conv + ReLU), then 2x2 max pooling.
Up step: 2x2 transposed conv, concatenation with the matching down-step
features, `convs_per_step` x (3x3 conv + ReLU). A final 1x1 conv maps to the
output channels. Layers are named `{name}_down{i}_conv{j}`, `{name}_up{i}_...`.
"""

from __future__ import annotations

from keras import layers

from pixinpix_tf.nets.layers import MirrorPad


def conv_stack(x, filters: int, convs: int, batch_norm: bool, name: str, mirror_padding: bool = False):
    """`convs` 3x3 convolutions with ReLU (and batch norm before the ReLU); zero or reflected padding."""
    for j in range(1, convs + 1):
        if mirror_padding:
            x = MirrorPad(1, name=f"{name}_pad{j}")(x)
        x = layers.Conv2D(filters, 3, padding="valid" if mirror_padding else "same", use_bias=not batch_norm,
                          name=f"{name}_conv{j}")(x)
        if batch_norm:
            x = layers.BatchNormalization(name=f"{name}_bn{j}")(x)
        x = layers.ReLU(name=f"{name}_relu{j}")(x)
    return x


def level_filters(level: int, base_filters: int, max_filters: int) -> int:
    """Channels at `level` (0 = full resolution): doubling from base, capped."""
    return min(base_filters * 2**level, max_filters)


def unet(
    x,
    out_channels: int,
    *,
    depth: int,
    base_filters: int,
    max_filters: int,
    convs_per_step: int,
    batch_norm: bool,
    name: str,
    zero_output: bool = False,
    mirror_padding: bool = False,
):
    """Apply a U-Net to the tensor `x`; returns the 1x1-conv logits (float32).

    `zero_output`: the final 1x1 convolution starts at zero, so the U-Net starts by adding nothing.
    """
    skips = []
    for i in range(depth):
        filters = level_filters(i, base_filters, max_filters)
        x = conv_stack(x, filters, convs_per_step, batch_norm, f"{name}_down{i + 1}", mirror_padding)
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"{name}_down{i + 1}_pool")(x)
    x = conv_stack(x, level_filters(depth - 1, base_filters, max_filters), convs_per_step, batch_norm, f"{name}_bottom",
                   mirror_padding)
    for i in reversed(range(depth)):
        filters = level_filters(i, base_filters, max_filters)
        x = layers.Conv2DTranspose(filters, 2, strides=2, name=f"{name}_up{i + 1}_upconv")(x)
        x = layers.Concatenate(name=f"{name}_up{i + 1}_concat")([x, skips[i]])
        x = conv_stack(x, filters, convs_per_step, batch_norm, f"{name}_up{i + 1}", mirror_padding)
    # The output layer stays in float32 under mixed precision: 8-bit accuracy matters.
    return layers.Conv2D(out_channels, 1, dtype="float32", name=f"{name}_out_conv",
                         kernel_initializer="zeros" if zero_output else "glorot_uniform")(x)
