"""The tf.data pipelines: keys, ranges, shapes, pairing, shuffling, sources, errors."""

import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image

from pixinpix_tf.config import get_preset
from pixinpix_tf.nets import data
from pixinpix_tf.nets.data import DataError, Source, load_images, make_pairs

from conftest import real_data_dir


def first_epoch(ds):
    return [(x, y) for x, y in ds.as_numpy_iterator()]


@pytest.fixture
def cfg():
    return get_preset("tiny").replace(image_size=32, depth=2, train_size=20, test_size=12, batch_size=8)


def test_batches_have_the_keys_shapes_ranges_and_targets_of_the_model(cfg, mock_tfds):
    with mock_tfds(30):
        batches = first_epoch(make_pairs(cfg, training=True))
    assert [len(x["cover"]) for x, _ in batches] == [8, 8, 4]
    for inputs, targets in batches:
        assert set(inputs) == {"cover", "secret"} and set(targets) == {"stego", "revealed"}
        assert inputs["cover"].shape[1:] == (32, 32, 3) and inputs["secret"].shape[1:] == (32, 32, 3)
        for value in (*inputs.values(), *targets.values()):
            assert value.dtype == np.float32 and value.min() >= 0.0 and value.max() <= 1.0
        np.testing.assert_array_equal(targets["stego"], inputs["cover"])
        np.testing.assert_array_equal(targets["revealed"], inputs["secret"])


def test_mnist_is_zero_padded_to_32_and_replicated_to_rgb(cfg, mock_tfds):
    with mock_tfds(10):
        images, _ = load_images("mnist", "train", 32, 3, None)
        raw = next(iter(tfds.load("mnist", split="train")))
        image, label = (t.numpy() for t in next(iter(images)))
    assert label == raw["label"].numpy()
    raw = raw["image"].numpy()
    assert image.shape == (32, 32, 3)
    assert (image[:2] == 0).all() and (image[-2:] == 0).all() and (image[:, :2] == 0).all()
    np.testing.assert_array_equal(image[2:30, 2:30, 0], raw[..., 0])
    np.testing.assert_array_equal(image[..., 0], image[..., 2])


def test_images_of_any_size_become_the_model_size(mock_tfds):
    with mock_tfds(6):  # oxford_flowers102 mock images have random sizes
        images, _ = load_images("oxford_flowers102", "train", 32, 1, None)
        shapes = {image.shape for image, _ in images.as_numpy_iterator()}
    assert shapes == {(32, 32, 1)}


def test_pairs_are_reproducible_from_the_seed_and_reshuffled_every_epoch(cfg, mock_tfds):
    with mock_tfds(30):
        ds = make_pairs(cfg, training=True)
        epoch1, epoch2 = first_epoch(ds), first_epoch(ds)
        again = first_epoch(make_pairs(cfg, training=True))
        other_seed = first_epoch(make_pairs(cfg.replace(seed=7), training=True))
        test1 = make_pairs(cfg, training=False)
        test_a, test_b = first_epoch(test1), first_epoch(test1)

    def covers(epoch):
        return np.concatenate([x["cover"] for x, _ in epoch])

    def secrets(epoch):
        return np.concatenate([x["secret"] for x, _ in epoch])

    np.testing.assert_array_equal(covers(epoch1), covers(again))
    np.testing.assert_array_equal(secrets(epoch1), secrets(again))
    assert not np.array_equal(covers(epoch1), covers(epoch2))
    assert not np.array_equal(secrets(epoch1), secrets(epoch2))
    assert not np.array_equal(covers(epoch1), covers(other_seed))
    np.testing.assert_array_equal(covers(test_a), covers(test_b))  # test pairs are fixed
    np.testing.assert_array_equal(secrets(test_a), secrets(test_b))


def test_covers_and_secrets_are_paired_independently(cfg, mock_tfds):
    # Pair the same dataset with itself: the pairing must not be the identity.
    cfg = cfg.replace(cover="cifar10", secret="cifar10", train_size=24)
    with mock_tfds(24):
        (epoch,) = [first_epoch(make_pairs(cfg.replace(batch_size=24), training=True))]
    inputs = epoch[0][0]
    same = [np.array_equal(c, s) for c, s in zip(inputs["cover"], inputs["secret"])]
    assert sum(same) < len(same) / 2


def test_folder_sources_decode_convert_and_pair(cfg, image_folders):
    covers, secrets = image_folders
    cfg = cfg.replace(cover=covers, secret=secrets, secret_channels=1)
    batches = first_epoch(make_pairs(cfg, training=True))
    assert sum(len(x["cover"]) for x, _ in batches) == 20
    assert batches[0][0]["cover"].shape[1:] == (32, 32, 3)
    assert batches[0][0]["secret"].shape[1:] == (32, 32, 1)


def test_source_parsing():
    assert Source.parse("mnist") == Source("mnist")
    assert Source.parse("mnist:test") == Source("mnist", "test")
    assert Source.parse("imagenet_resized/32x32:train[:10%]") == Source("imagenet_resized/32x32", "train[:10%]")
    assert Source.parse("cifar10:3.0.2") == Source("cifar10:3.0.2")  # a tfds version, not a split
    assert Source.parse("cifar10:3.0.2:test") == Source("cifar10:3.0.2", "test")


def test_unknown_dataset_is_a_one_line_error(tmp_path):
    with pytest.raises(DataError) as info:
        load_images("no_such_dataset_xyz", "train", 32, 3, str(tmp_path))
    assert "no_such_dataset_xyz" in str(info.value) and "\n" not in str(info.value)


def test_missing_dataset_that_cannot_download_names_it_and_writes_nothing(tmp_path, monkeypatch):
    data_dir = tmp_path / "tfds"
    data_dir.mkdir()

    def no_network(self, *args, **kwargs):
        os.makedirs(os.path.join(str(data_dir), "downloads", "partial"), exist_ok=True)  # what a real attempt leaves
        raise ConnectionError("Failed to establish a new connection: network is unreachable")

    monkeypatch.setattr(data, "_network_available", lambda: True)  # reach tfds' own download attempt
    monkeypatch.setattr(tfds.download.DownloadManager, "download", no_network)
    monkeypatch.setattr(tfds.download.DownloadManager, "download_and_extract", no_network)
    with pytest.raises(DataError) as info:
        load_images("cifar10", "train", 32, 3, str(data_dir))
    message = str(info.value)
    assert "'cifar10'" in message and str(data_dir) in message and "--data-dir" in message
    assert "\n" not in message
    assert list(data_dir.iterdir()) == []


def test_offline_machine_fails_fast_without_touching_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "_network_available", lambda: False)
    with pytest.raises(DataError, match="cannot be downloaded \\(no network\\)"):
        load_images("mnist", "train", 32, 3, str(tmp_path / "tfds"))
    assert not (tmp_path / "tfds").exists()


def test_missing_split_is_a_clear_error():
    data_dir = real_data_dir("mnist")
    with pytest.raises(DataError, match="has no split 'nope'"):
        load_images("mnist:nope", "train", 32, 3, data_dir)


def test_real_tiny_imagenet_falls_back_to_its_validation_split():
    data_dir = real_data_dir("tiny_imagenet32")
    images, count = load_images("tiny_imagenet32", "test", 32, 3, data_dir)
    assert count == 2000
    assert next(iter(images))[0].shape == (32, 32, 3)


def test_real_pipeline_on_shared_data(cfg):
    data_dir = real_data_dir("cifar10", "mnist")
    cfg = cfg.replace(train_size=50, batch_size=25)
    batches = first_epoch(make_pairs(cfg, training=True, data_dir=data_dir))
    secrets = np.concatenate([x["secret"] for x, _ in batches])
    assert secrets.shape == (50, 32, 32, 3)
    assert secrets[:, :2].max() == 0.0  # MNIST padding is black
    assert tf.reduce_max(secrets) > 0.9


def test_random_zoom_enlarges_a_crop_and_zoom_one_is_the_identity():
    image = tf.constant(np.random.default_rng(0).integers(0, 256, (32, 32, 3)), tf.uint8)
    seed = tf.constant([3, 4], tf.int64)
    np.testing.assert_array_equal(data.random_zoom(image, 1.0, seed), image)
    zoomed = data.random_zoom(image, 4.0, seed).numpy()
    assert zoomed.shape == (32, 32, 3) and zoomed.dtype == np.uint8
    np.testing.assert_array_equal(zoomed, data.random_zoom(image, 4.0, seed))  # same seed, same crop

    def roughness(x):
        return np.abs(np.diff(x.astype(float), axis=0)).mean()

    assert roughness(zoomed) < 0.8 * roughness(image.numpy())  # an enlarged crop of noise is smoother


def test_zoom_changes_training_pairs_reproducibly_and_never_test_pairs(cfg, mock_tfds):
    zoomed = cfg.replace(zoom=4.0)
    with mock_tfds(30):
        plain, once, again = (first_epoch(make_pairs(c, training=True)) for c in (cfg, zoomed, zoomed))
        test_plain, test_zoomed = (first_epoch(make_pairs(c, training=False)) for c in (cfg, zoomed))

    def stack(epoch, key):
        return np.concatenate([x[key] for x, _ in epoch])

    for key in ("cover", "secret"):
        np.testing.assert_array_equal(stack(once, key), stack(again, key))
        assert not np.array_equal(stack(once, key), stack(plain, key))
        np.testing.assert_array_equal(stack(test_plain, key), stack(test_zoomed, key))
    for inputs, targets in once:  # the targets are the zoomed inputs
        np.testing.assert_array_equal(targets["stego"], inputs["cover"])
        np.testing.assert_array_equal(targets["revealed"], inputs["secret"])


def test_photo_crops_are_native_crops_new_each_epoch_with_held_out_test_photos(cfg, tmp_path):
    from conftest import write_images

    photos = write_images(tmp_path / "photos", 20, (50, 40), "RGB", seed=3)  # photos larger than the crops
    crops = cfg.replace(cover=str(photos), secret=str(photos), photo_crops=True, train_size=16, test_size=8)
    train = make_pairs(crops, training=True)
    epoch1, epoch2 = first_epoch(train), first_epoch(train)
    test_a, test_b = (first_epoch(make_pairs(crops, training=False)) for _ in range(2))
    stack = lambda epoch, key: np.concatenate([x[key] for x, _ in epoch])  # noqa: E731
    assert stack(epoch1, "cover").shape == (16, 32, 32, 3)
    assert not np.array_equal(stack(epoch1, "cover"), stack(epoch2, "cover"))
    np.testing.assert_array_equal(stack(test_a, "cover"), stack(test_b, "cover"))
    pixels = {name: np.asarray(Image.open(photos / name)) for name in sorted(os.listdir(photos))}
    held_out = set(sorted(pixels)[:: data.HELD_OUT_EVERY])

    def source(crop):  # the photo a crop was cut from, at its own resolution (no resizing)
        crop = np.round(crop * 255).astype(np.uint8)
        for name, photo in pixels.items():
            windows = np.lib.stride_tricks.sliding_window_view(photo, (32, 32, 3))[..., 0, :, :, :]
            if (windows == crop).all(axis=(-3, -2, -1)).any():
                return name
        return None

    assert {source(c) for c in stack(test_a, "cover")} <= held_out
    assert not {source(c) for c in stack(epoch1, "secret")} & held_out
    assert None not in {source(c) for c in stack(epoch1, "cover")}


def test_photo_crops_need_folders(cfg, mock_tfds):
    with mock_tfds(10), pytest.raises(DataError, match="photo_crops needs image folders"):
        make_pairs(cfg.replace(photo_crops=True), training=True)
