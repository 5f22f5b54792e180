"""Run configuration: frozen dataclasses and named presets.

This module has no internal imports: every other stage reads a `Config`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    """An invalid configuration value, reported to users in one line."""


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of the twin U-Nets (see `pixinpix_tf.model.PixInPix`).

    Attributes:
        image_size: side of the square cover/secret images; a multiple of 2**depth.
        secret_channels: 1 (grayscale secret) or 3 (RGB secret).
        depth: number of down-sampling (2x2 max pool) steps per U-Net.
        base_filters: channels of the first level; doubled at each level.
        max_filters: cap on the channels of the deepest levels.
        convs_per_step: 3x3 convolutions in each down/up step.
        batch_norm: batch normalisation after every 3x3 convolution.
        quantize_stego: round the stego image to 8 bits before revealing
            (straight-through gradient), so training sees what a PNG stores.
        residual_stego: the hiding net predicts a change to the cover
            (stego = cover + output, clipped to [0, 1]) instead of the whole
            stego image through a sigmoid.
        embed_bits: k > 0: the hiding net outputs a k-bit code per colour value,
            written into the k low bits of the cover (the nearest 8-bit level
            with those low bits), and the revealing net reads it back from the
            stego's low bits; 0: the hiding net outputs the stego image itself.
    """

    image_size: int = 32
    secret_channels: int = 3
    depth: int = 5
    base_filters: int = 16
    max_filters: int = 256
    convs_per_step: int = 2
    batch_norm: bool = False
    quantize_stego: bool = False
    residual_stego: bool = False
    embed_bits: int = 0

    def validate(self) -> None:
        for name in ("image_size", "depth", "base_filters", "max_filters", "convs_per_step"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if not 0 <= self.embed_bits <= 7:
            raise ConfigError(f"embed_bits must be 0..7, got {self.embed_bits}")
        if self.embed_bits and self.residual_stego:
            raise ConfigError("embed_bits and residual_stego exclude each other: the code sets the stego image")
        if self.secret_channels not in (1, 3):
            raise ConfigError(f"secret_channels must be 1 or 3, got {self.secret_channels}")
        step = 2**self.depth
        if self.image_size % step:
            raise ConfigError(
                f"image size {self.image_size} is not a multiple of 2**depth = {step} "
                f"(depth {self.depth}); use e.g. {max(step, self.image_size // step * step)}"
            )


@dataclass(frozen=True)
class Config:
    """Everything a training run needs; written as JSON into every run directory.

    Attributes:
        cover, secret: tfds name with optional split (`cifar10`, `mnist:train`)
            or a folder of image files.
        optimizer: `sgd` or `adam`.
        learning_rate: initial learning rate.
        lr_schedule: `constant` or `cosine` (cosine decay to 0 over all epochs).
        clipnorm: clip each gradient to this norm (None: no clipping).
        loss_weights: weights of the `stego` and `revealed` MSE losses.
        train_size, test_size: number of (cover, secret) pairs per epoch.
        mixed_precision: compute in bfloat16 (outputs stay float32).
        init_from: start from the weights of this model (pretrained name, run
            directory or .keras file, with the same architecture, or with fewer
            base filters: its weights then fill the leading channels, so
            training starts from what it computes) instead of random ones;
            None: random initialisation.
        zoom: training covers and secrets are random square crops enlarged
            back to the image size by a factor drawn uniformly from [1, zoom],
            so they look like tiles of photos larger than the training images;
            1: no zoom. Test pairs are never zoomed.
        train_only: `hider` or `revealer`: train that network alone, the other
            keeps its weights (from `init_from`, or its initialisation); None: both.
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    cover: str = "cifar10"
    secret: str = "mnist"
    optimizer: str = "sgd"
    learning_rate: float = 0.01
    lr_schedule: str = "constant"
    clipnorm: float | None = None
    loss_weights: tuple[float, float] = (1.0, 0.75)
    batch_size: int = 32
    epochs: int = 100
    train_size: int = 50_000
    test_size: int = 10_000
    seed: int = 0
    mixed_precision: bool = False
    init_from: str | None = None
    zoom: float = 1.0
    train_only: str | None = None

    def validate(self) -> None:
        self.model.validate()
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {self.optimizer!r}; choose from {', '.join(OPTIMIZERS)}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError(f"unknown lr_schedule {self.lr_schedule!r}; choose from {', '.join(LR_SCHEDULES)}")
        if self.epochs < 0:
            raise ConfigError(f"epochs must be >= 0, got {self.epochs}")
        for name in ("batch_size", "train_size", "test_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if not self.learning_rate > 0:
            raise ConfigError(f"learning_rate must be > 0, got {self.learning_rate}")
        if self.train_only not in (None, "hider", "revealer"):
            raise ConfigError(f"train_only must be hider or revealer, got {self.train_only!r}")
        if not self.zoom >= 1:
            raise ConfigError(f"zoom must be >= 1, got {self.zoom}")
        if len(self.loss_weights) != 2 or min(self.loss_weights) < 0:
            raise ConfigError(f"loss_weights must be two numbers >= 0, got {self.loss_weights}")

    def replace(self, **changes: Any) -> "Config":
        """A copy with top-level or model fields changed (model fields by name)."""
        model_fields = {f.name for f in dataclasses.fields(ModelConfig)}
        model_changes = {k: v for k, v in changes.items() if k in model_fields}
        top = {k: v for k, v in changes.items() if k not in model_fields}
        if model_changes:
            top["model"] = dataclasses.replace(self.model, **model_changes)
        return dataclasses.replace(self, **top)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Config":
        data = dict(data)
        model = ModelConfig(**data.pop("model", {}))
        if "loss_weights" in data:
            data["loss_weights"] = tuple(data["loss_weights"])
        return cls(model=model, **data)

    @classmethod
    def from_json(cls, text: str) -> "Config":
        return cls.from_dict(json.loads(text))


OPTIMIZERS = ("sgd", "adam")
STRATEGIES = ("default", "mirrored", "multi-worker")
LR_SCHEDULES = ("constant", "cosine")

# Our CPU recipe: batch norm after every convolution (keeps the revealing net
# from collapsing to a constant), a hiding net that predicts a change to the
# cover, Adam with cosine decay and clipping, and training through the 8-bit
# rounding of the stego image, in bfloat16. 12 epochs fit in two hours on 2 cores.
_FAST = Config(
    model=ModelConfig(batch_norm=True, quantize_stego=True, residual_stego=True),
    optimizer="adam",
    learning_rate=1e-3,
    lr_schedule="cosine",
    clipnorm=1.0,
    batch_size=64,
    epochs=12,
    mixed_precision=True,
)

PRESETS: dict[str, Config] = {
    # The paper as written: plain U-Nets with sigmoid outputs, SGD at 0.01, MSE on
    # both outputs, 100 epochs of 50,000 pairs. The paper gives neither the batch
    # size nor the loss weights ("a naive search"); we use 32 and (1.0, 0.75).
    "paper": Config(),
    "fast": _FAST,  # see _FAST above
    # The hiding net writes a learned 3-bit code into the 3 low bits of each cover
    # value (at most 4 levels from the cover) and the revealing net decodes it.
    # 4 epochs take about 55 minutes on 2 cores. At fast's learning rate of 1e-3
    # our run diverged in its third epoch; at 3e-4 it did not, though its training
    # loss was lowest after the second (README).
    "lowbits": _FAST.replace(depth=3, base_filters=48, residual_stego=False, embed_bits=3, epochs=4,
                             learning_rate=3e-4),
    # Seconds on a CPU: for smoke tests and trying the tooling, not for quality.
    "tiny": Config(
        model=ModelConfig(image_size=16, depth=2, base_filters=4, max_filters=16, convs_per_step=1),
        optimizer="adam",
        learning_rate=1e-3,
        batch_size=8,
        epochs=1,
        train_size=64,
        test_size=16,
    ),
}


def get_preset(name: str) -> Config:
    """The preset called `name`; raises ConfigError naming the known presets."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}") from None
