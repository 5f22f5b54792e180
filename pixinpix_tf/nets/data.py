"""tf.data pipelines of (cover, secret) pairs from tfds datasets or image folders.

A *source* is a tfds name with an optional split (`cifar10`, `mnist:test`,
`imagenet_resized/32x32`, `tiny_imagenet32:validation`) or a folder of image
files (searched recursively). Every image becomes uint8 at the model's size:

- smaller images (MNIST's 28x28) are zero-padded, centred, to the size;
- larger images are centre-cropped to a square, then area-resized;
- grayscale is replicated to RGB where 3 channels are needed, and RGB is
  converted to luma where 1 channel is needed.

Pairs are `({"cover", "secret"}, {"stego": cover, "revealed": secret})` float32
in [0, 1]. Training pairs are drawn at random and reshuffled every epoch,
reproducibly from the seed (and zoomed if `Config.zoom` > 1); test pairs are fixed.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf
import tensorflow_datasets as tfds

from pixinpix_tf.config import Config
from pixinpix_tf.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
# name, optional tfds version (`cifar10:3.0.2`), optional split (`:train`, `:train[:10%]`)
_SPEC = re.compile(r"^(?P<name>[^:]+(?::\d+(?:\.\d+)*)?)(?::(?P<split>.+))?$")


@dataclass(frozen=True)
class Source:
    """A parsed source: a folder, or a tfds name with an optional split."""

    name: str
    split: str | None = None
    folder: Path | None = None

    @classmethod
    def parse(cls, spec: str) -> "Source":
        if os.path.isdir(spec):
            return cls(name=spec, folder=Path(spec))
        match = _SPEC.match(spec)
        if not match:
            return cls(name=spec)
        return cls(name=match["name"], split=match["split"])


def default_data_dir() -> str:
    """tfds' own default data directory (honours TFDS_DATA_DIR)."""
    return os.environ.get("TFDS_DATA_DIR") or os.path.expanduser("~/tensorflow_datasets")


def _network_available(host: str = "storage.googleapis.com") -> bool:
    """False when DNS cannot resolve a well-known host (and no proxy is set).

    Saves users minutes of tfds download retries on an offline machine.
    """
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")):
        return True
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return False
    return True


def _prepared_builder(name: str, data_dir: str | None):
    """A tfds builder whose files exist, downloading them if needed.

    A failed download leaves nothing new in the data directory.
    """
    root = data_dir or default_data_dir()
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise DataError(
            f"unknown dataset {name!r}: not a tfds dataset, not a folder, and not prepared in {root}"
        ) from None
    if builder.is_prepared():
        return builder
    if not _network_available():
        raise DataError(
            f"dataset {name!r} is not in {root} and cannot be downloaded (no network); "
            "connect to the internet, or pass --data-dir / set TFDS_DATA_DIR to a folder that holds it"
        )
    before = set(os.listdir(root)) if os.path.isdir(root) else None
    try:
        with tempfile.TemporaryDirectory(prefix="pixinpix_download_") as download_dir:
            builder.download_and_prepare(download_dir=download_dir)
    except Exception as err:  # tfds raises many kinds; the user needs one line
        if before is None:
            shutil.rmtree(root, ignore_errors=True)
        else:
            for entry in set(os.listdir(root)) - before:
                shutil.rmtree(os.path.join(root, entry), ignore_errors=True)
        reason = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        raise DataError(
            f"dataset {name!r} is not in {root} and could not be downloaded ({reason}); "
            f"connect to the internet, or pass --data-dir / set TFDS_DATA_DIR to a folder that holds it"
        ) from None
    return builder


def _fixed_size(image: tf.Tensor, size: int, channels: int) -> tf.Tensor:
    """A uint8 image at (size, size, channels): pad small images, crop+resize large."""
    image = tf.convert_to_tensor(image)
    if image.shape.rank == 2:
        image = image[..., None]
    if channels == 3 and image.shape[-1] == 1:
        image = tf.repeat(image, 3, axis=-1)
    elif channels == 1 and image.shape[-1] == 3:
        image = tf.image.rgb_to_grayscale(image)
    elif image.shape[-1] == 4:  # RGBA: drop alpha
        image = image[..., :3] if channels == 3 else tf.image.rgb_to_grayscale(image[..., :3])
    height, width = tf.shape(image)[0], tf.shape(image)[1]

    def pad():
        return tf.image.resize_with_crop_or_pad(image, size, size)

    def crop_and_resize():
        side = tf.minimum(height, width)
        square = tf.image.resize_with_crop_or_pad(image, side, side)
        resized = tf.image.resize(square, (size, size), method="area", antialias=True)
        return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)

    fits = tf.logical_and(height <= size, width <= size)
    return tf.ensure_shape(tf.cond(fits, pad, crop_and_resize), (size, size, channels))


def _image_paths(folder: Path) -> list[str]:
    paths = sorted(str(p) for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise DataError(f"no image files ({', '.join(IMAGE_SUFFIXES)}) in folder {folder}")
    return paths


def _read_image(path: tf.Tensor, channels: int) -> tf.Tensor:
    return tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)


def _folder_images(folder: Path, channels: int) -> tuple[tf.data.Dataset, int]:
    paths = _image_paths(folder)
    images = tf.data.Dataset.from_tensor_slices(paths).map(
        lambda path: (_read_image(path, channels), tf.constant(-1, tf.int64)), num_parallel_calls=tf.data.AUTOTUNE)
    return images, len(paths)


HELD_OUT_EVERY = 10  # photo_crops: every 10th photo of a folder (in name order) gives the test pairs


def photo_crops(spec: str, training: bool, size: int, channels: int, count: int, seed: int) -> tf.data.Dataset:
    """`count` (uint8 (size, size, channels) crop, -1) pairs cut at random from the photos in folder `spec`
    at their own resolution, one photo after another in an order shuffled each pass.

    Training crops come from all but every `HELD_OUT_EVERY`-th photo and are new every
    epoch; test crops come from the held-out photos and are the same every time. A photo
    smaller than the crop is padded with black around it. The decoded photos stay in memory.
    """
    folder = Source.parse(spec).folder
    if folder is None:
        raise DataError(f"photo_crops needs image folders as cover and secret sources, got {spec!r}")
    paths = _image_paths(folder)
    held_out = paths[::HELD_OUT_EVERY]
    chosen = [p for i, p in enumerate(paths) if i % HELD_OUT_EVERY] if training else held_out
    if not chosen:
        raise DataError(f"folder {folder} has too few photos to hold out test photos (every {HELD_OUT_EVERY}th)")

    def at_least_size(path):
        image = _read_image(path, channels)
        height, width = tf.shape(image)[0], tf.shape(image)[1]
        return tf.image.resize_with_crop_or_pad(image, tf.maximum(height, size), tf.maximum(width, size))

    photos = tf.data.Dataset.from_tensor_slices(chosen).map(at_least_size, num_parallel_calls=tf.data.AUTOTUNE)
    photos = photos.cache().shuffle(len(chosen), seed=seed, reshuffle_each_iteration=training).repeat()
    randoms = tf.data.Dataset.random(seed=seed + 7919, rerandomize_each_iteration=training)

    def crop(image, number):
        crop_seed = tf.stack([number, tf.constant(seed, tf.int64)])
        return tf.image.stateless_random_crop(image, (size, size, channels), crop_seed), tf.constant(-1, tf.int64)

    return tf.data.Dataset.zip(photos, randoms).map(crop, num_parallel_calls=tf.data.AUTOTUNE).take(count)


def load_images(
    spec: str, split: str, size: int, channels: int, data_dir: str | None = None
) -> tuple[tf.data.Dataset, int | None]:
    """A dataset of (uint8 (size, size, channels) image, int64 label) from a source, and its length.

    The label is -1 for sources without one; the length is None when tfds has no
    metadata (e.g. mock data).

    Args:
        spec: source string (see module docstring); its own split wins over `split`.
        split: the split to use when `spec` names none. `test` falls back to
            `validation` for datasets without a test split.
        size, channels: output image shape.
        data_dir: tfds data directory (None: tfds' default).
    """
    source = Source.parse(spec)
    if source.folder is not None:
        images, count = _folder_images(source.folder, channels)
    else:
        builder = _prepared_builder(source.name, data_dir)
        splits = list(builder.info.splits.keys())  # empty when tfds has no metadata (e.g. mock data)
        chosen = source.split or split
        if chosen == "test" and "test" not in splits and "validation" in splits:
            chosen = "validation"
        count = None
        if splits:
            try:
                count = builder.info.splits[chosen].num_examples
            except (KeyError, ValueError):
                raise DataError(
                    f"dataset {source.name!r} has no split {chosen!r}; it has {', '.join(splits)}") from None
        if "image" not in builder.info.features:
            raise DataError(f"dataset {source.name!r} has no 'image' feature")
        ds = builder.as_dataset(split=chosen, shuffle_files=False)
        has_label = "label" in builder.info.features

        def image_and_label(example):
            label = tf.cast(example["label"], tf.int64) if has_label else tf.constant(-1, tf.int64)
            return example["image"], label

        images = ds.map(image_and_label, num_parallel_calls=tf.data.AUTOTUNE)
    images = images.map(lambda image, label: (_fixed_size(image, size, channels), label),
                        num_parallel_calls=tf.data.AUTOTUNE)
    return images, count


def _to_float(images: tf.Tensor) -> tf.Tensor:
    return tf.cast(images, tf.float32) / 255.0


def random_zoom(image: tf.Tensor, max_zoom: float, seed: tf.Tensor) -> tf.Tensor:
    """A random square crop of a uint8 (size, size, C) image enlarged back to size x size.

    The crop side is drawn uniformly from [size / max_zoom, size], its place
    uniformly; `seed` is a stateless-random seed of shape (2,).
    """
    size, channels = image.shape[0], image.shape[-1]
    smallest = max(1, round(size / max_zoom))
    side_seed, crop_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    side = tf.random.stateless_uniform([], side_seed, minval=smallest, maxval=size + 1, dtype=tf.int32)
    crop = tf.image.stateless_random_crop(image, tf.stack([side, side, channels]), crop_seed)
    enlarged = tf.image.resize(tf.cast(crop, tf.float32), (size, size), method="bicubic")
    return tf.ensure_shape(tf.cast(tf.clip_by_value(tf.round(enlarged), 0, 255), tf.uint8), image.shape)


def paired_images(cfg: Config, training: bool, data_dir: str | None = None) -> tf.data.Dataset:
    """Unbatched (cover uint8, secret uint8, secret label) triples, paired at random.

    Training: `cfg.train_size` pairs from the train splits, covers and secrets
    shuffled independently and re-paired every epoch. Test: `cfg.test_size`
    fixed pairs from the test (or validation) splits. Both follow `cfg.seed`.
    """
    n = cfg.train_size if training else cfg.test_size
    size, seed = cfg.model.image_size, cfg.seed + (0 if training else 1000)
    split = "train" if training else "test"

    def pool(spec: str, channels: int, stream_seed: int) -> tf.data.Dataset:
        if cfg.photo_crops:
            return photo_crops(spec, training, size, channels, n, stream_seed)
        images, count = load_images(spec, split, size, channels, data_dir)
        limit = n if count is None else min(n, count)
        images = images.take(limit).cache()
        images = images.shuffle(limit, seed=stream_seed, reshuffle_each_iteration=training)
        return images.repeat()

    covers = pool(cfg.cover, 3, seed)
    secrets = pool(cfg.secret, cfg.model.secret_channels, seed + 1)
    pairs = tf.data.Dataset.zip(covers, secrets).take(n)
    pairs = pairs.map(lambda cover, secret: (cover[0], secret[0], secret[1]))
    if not (training and cfg.zoom > 1):
        return pairs
    # a fresh random number per pair and epoch, reproducible from the seed
    randoms = tf.data.Dataset.random(seed=seed + 2, rerandomize_each_iteration=True)

    def zoom(triple, number):
        cover, secret, label = triple
        seeds = tf.random.experimental.stateless_split(tf.stack([number, tf.constant(seed, tf.int64)]), 2)
        return random_zoom(cover, cfg.zoom, seeds[0]), random_zoom(secret, cfg.zoom, seeds[1]), label

    return tf.data.Dataset.zip(pairs, randoms).map(zoom, num_parallel_calls=tf.data.AUTOTUNE)


def make_pairs(cfg: Config, training: bool, data_dir: str | None = None) -> tf.data.Dataset:
    """Batched `({"cover", "secret"}, {"stego", "revealed"})` float32 pairs in [0, 1] for `model.fit`."""

    def to_example(cover, secret, label):
        cover, secret = _to_float(cover), _to_float(secret)
        return {"cover": cover, "secret": secret}, {"stego": cover, "revealed": secret}

    pairs = paired_images(cfg, training, data_dir).batch(cfg.batch_size)
    pairs = pairs.map(to_example, num_parallel_calls=tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return pairs.with_options(options).prefetch(tf.data.AUTOTUNE)
