"""Run configuration: frozen dataclasses and named presets.

Every field carries its one-line help in `metadata["help"]`: the command line's
options and their help are made from these fields (`cli.add_config_arguments`),
so the list of architecture and training fields is written once, here.
Imports only `errors`: every other stage reads a `Config`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from pixinpix_tf.errors import ConfigError


# What `Config.channel` may name (`channel.MAX_STRENGTHS` has each one's strongest setting).
CHANNEL_DISTORTIONS = ("jpeg", "noise", "blur", "resize", "brightness", "contrast")


def _field(default: Any, help: str) -> Any:
    """A dataclass field with its command-line help."""
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of the twin U-Nets (`pixinpix_tf.nets.model.PixInPix` is built from it by keyword)."""

    image_size: int = _field(32, "side of the square training images in pixels, a multiple of pixel_block * 2**depth")
    secret_channels: int = _field(3, "1 = grayscale secret, 3 = RGB")
    depth: int = _field(5, "down-sampling (2x2 max pool) steps per U-Net")
    base_filters: int = _field(16, "channels at full resolution, doubled at each level")
    max_filters: int = _field(256, "cap on the channels of the deepest levels")
    convs_per_step: int = _field(2, "3x3 convolutions in each down and up step")
    batch_norm: bool = _field(False, "batch normalisation after every 3x3 convolution")
    quantize_stego: bool = _field(False, "reveal from the stego rounded to 8 bits (straight-through gradient), "
                                  "as a stored PNG is")
    residual_stego: bool = _field(False, "the hiding net predicts a change to the cover (clipped to [0, 1]) "
                                  "instead of the stego image through a sigmoid")
    embed_bits: int = _field(0, "k > 0: the hiding net writes a learned k-bit code into the k low bits of the "
                             "cover and the revealing net reads it back; 0: it outputs the stego image")
    whole_image: bool = _field(False, "hide and reveal photos whole (in large overlapping windows: no tile grid) "
                               "instead of in image_size tiles; for networks trained on crops larger than 32x32")
    secret_scale: int = _field(1, "s > 1: the hiding net sees the secret averaged over s x s blocks (bilinearly "
                               "enlarged back), so it carries s*s times less; the revealed image stays full size")
    mirror_padding: bool = _field(False, "pad every 3x3 convolution's input with its mirror image instead of "
                                  "zeros, so borders look like the interior and crops behave like whole images")
    pixel_block: int = _field(1, "b > 1: both U-Nets run on b x b blocks of pixels folded into channels (space to "
                              "depth): b*b times fewer positions, so far fewer FLOPs per pixel; 8 aligns them "
                              "with JPEG's 8x8 blocks")
    texture_mask: float = _field(0.0, "f in (0, 1]: the hider's change to the cover is bounded to 16 levels and "
                                 "scaled, pixel by pixel, by how textured the cover is there (layers.TextureMask): "
                                 "f on flat areas, 1 where texture hides a change, so nothing shows on skies and "
                                 "gradients; needs residual_stego. 0: off")

    @property
    def side_multiple(self) -> int:
        """What every side the networks see must be a multiple of: pixel_block * 2**depth."""
        return self.pixel_block * 2**self.depth

    def validate(self) -> None:
        for name in ("image_size", "depth", "base_filters", "max_filters", "convs_per_step"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if not 0 <= self.embed_bits <= 7:
            raise ConfigError(f"embed_bits must be 0..7, got {self.embed_bits}")
        if self.embed_bits and self.residual_stego:
            raise ConfigError("embed_bits and residual_stego exclude each other: the code sets the stego image")
        if self.pixel_block < 1:
            raise ConfigError(f"pixel_block must be a positive integer, got {self.pixel_block}")
        if self.embed_bits and self.pixel_block > 1:
            raise ConfigError("embed_bits works on single pixels: use pixel_block 1 with it")
        if self.secret_scale < 1 or self.side_multiple % self.secret_scale:
            raise ConfigError(f"secret_scale must divide pixel_block * 2**depth = {self.side_multiple} (every side "
                              f"the networks see is a multiple of it), got {self.secret_scale}")
        if not 0 <= self.texture_mask <= 1:
            raise ConfigError(f"texture_mask must be in [0, 1], got {self.texture_mask}")
        if self.texture_mask and not self.residual_stego:
            raise ConfigError("texture_mask scales the hider's change to the cover: use it with residual_stego")
        if self.secret_channels not in (1, 3):
            raise ConfigError(f"secret_channels must be 1 or 3, got {self.secret_channels}")
        step = self.side_multiple
        if self.image_size % step:
            raise ConfigError(
                f"image size {self.image_size} is not a multiple of pixel_block * 2**depth = {step} "
                f"(depth {self.depth}, pixel_block {self.pixel_block}); use e.g. "
                f"{max(step, self.image_size // step * step)}"
            )


@dataclass(frozen=True)
class Config:
    """Everything a training run needs; written as JSON into every run directory."""

    model: ModelConfig = field(default_factory=ModelConfig)
    cover: str = _field("cifar10", "cover source: tfds name[:split] or image folder")
    secret: str = _field("mnist", "secret source: tfds name[:split] or image folder")
    optimizer: str = _field("sgd", "sgd or adam")
    learning_rate: float = _field(0.01, "initial learning rate")
    lr_schedule: str = _field("constant", "constant, or cosine decay to 0 over all epochs")
    clipnorm: float | None = _field(None, "clip each gradient to this norm (none: no clipping)")
    loss_weights: tuple[float, float] = _field((1.0, 0.75), "weights of the stego and revealed MSE losses")
    stego_loss: str = _field("mse", "the stego image's loss: mse, or texture (layers.texture_weighted_mse: a change "
                             "costs more on smooth areas, where it shows)")
    batch_size: int = _field(32, "global batch size")
    epochs: int = _field(100, "epochs to train")
    train_size: int = _field(50_000, "training pairs per epoch")
    test_size: int = _field(10_000, "validation pairs")
    seed: int = _field(0, "seed for pairing, shuffling and initialisation")
    mixed_precision: bool = _field(False, "compute in bfloat16 (outputs stay float32)")
    init_from: str | None = _field(None, "start from this model's weights (pretrained name, run directory or "
                                   ".keras file) instead of random ones; with more base filters it grows that "
                                   "model, keeping what it computes")
    zoom: float = _field(1.0, "train on random crops enlarged by up to this factor, like tiles of larger photos "
                         "(1 = off; test pairs are never zoomed)")
    photo_crops: bool = _field(False, "cover and secret folders give random crops of the image size at the photos' "
                               "own resolution (every 10th photo, in name order, is held out for the test pairs) "
                               "instead of whole images resized")
    train_only: str | None = _field(None, "hider or revealer: train that network alone, the other keeps its "
                                    "weights (none: both)")
    channel: str = _field("", "distortions the stego image goes through in training, comma-separated, from "
                          + ", ".join(CHANNEL_DISTORTIONS) + " (nets.distortion_layers.Channel; empty: none)")
    adversary: float = _field(0.0, "w > 0: a steganalyser (detector.detector) learns beside the networks to tell "
                              "the 8-bit stego images from their covers, and the hider learns to fool it, with "
                              "weight w on the detector's loss (train.with_adversary); 0: none")
    channel_ramp: float = _field(0.0, "epochs over which the channel's strength rises from 0 to full, mild to "
                                 "strong (0: full strength from the start)")

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
        unknown = sorted(set(self.channel_names) - set(CHANNEL_DISTORTIONS))
        if unknown:
            raise ConfigError(f"unknown channel distortions {', '.join(unknown)}; choose from "
                              f"{', '.join(CHANNEL_DISTORTIONS)}")
        if self.stego_loss not in STEGO_LOSSES:
            raise ConfigError(f"unknown stego_loss {self.stego_loss!r}; choose from {', '.join(STEGO_LOSSES)}")
        if self.adversary < 0:
            raise ConfigError(f"adversary must be >= 0, got {self.adversary}")
        if self.channel_ramp < 0:
            raise ConfigError(f"channel_ramp must be >= 0, got {self.channel_ramp}")
        if len(self.loss_weights) != 2 or min(self.loss_weights) < 0:
            raise ConfigError(f"loss_weights must be two numbers >= 0, got {self.loss_weights}")

    @property
    def channel_names(self) -> tuple[str, ...]:
        return tuple(name.strip() for name in self.channel.split(",") if name.strip())

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
STEGO_LOSSES = ("mse", "texture")
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
    # Photos that survive JPEG: U-Nets on 4x4 pixel blocks (117k FLOP per pixel per network, a fifth of
    # fast's depth-3 48-filter net), trained on random 128x128 crops of photo folders (--cover and
    # --secret, e.g. photos_train/), the secret carried at half its side, a texture-weighted stego loss,
    # the change to the cover bounded and scaled down to a tenth on flat areas (texture mask 0.1: no
    # pattern on skies and gradients), and JPEG (real and differentiable, quality down to 50) or
    # resizing (to half and back) in half the batches, rising over the first epoch; mirrored padding, so
    # that the networks work on whole photos (no tile grid). The shipped photo-robust model was trained
    # in three stages, the last with this config (scripts/photo_robust.sh; its card).
    "robust": _FAST.replace(image_size=128, batch_size=16, pixel_block=4, depth=3, base_filters=96, max_filters=192,
                            secret_scale=2, whole_image=True, mirror_padding=True, photo_crops=True,
                            stego_loss="texture", texture_mask=0.1,
                            loss_weights=(6.0, 0.75), channel="jpeg,resize", channel_ramp=1.0, epochs=8,
                            train_size=8000, test_size=256),
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
