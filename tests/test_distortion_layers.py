"""The training channel: the differentiable twin of `distortions.py`."""

import numpy as np
import pytest
import tensorflow as tf

from pixinpix_tf.nets import distortion_layers
from pixinpix_tf.distortions import DISTORTIONS
from pixinpix_tf.images import read_image
from pixinpix_tf.inference.tiling import fit_secret

from conftest import ROOT

SAMPLES = ROOT / "pixinpix_tf" / "assets" / "samples"
# A 120x184 crop: not a multiple of 16, so padding and partial chroma blocks are exercised.
PHOTOS = np.stack([fit_secret(read_image(SAMPLES / name), 128, 192)[:120, :184]
                   for name in ("cover.png", "secret.png")])
IMAGES = PHOTOS.astype(np.float32) / 255.0
# Each distortion at strength zero and at a mild strength.
DISTORTIONS_AT = {
    "jpeg_approx": lambda x, s: distortion_layers.jpeg_approx(x, 100 - 40 * s),
    "jpeg_real": lambda x, s: distortion_layers.jpeg_real(x, 100 - 40 * s),
    "noise": lambda x, s: distortion_layers.noise(x, 2 * s, seed=1),
    "blur": lambda x, s: distortion_layers.blur(x, 1.0 * s),
    "resize": lambda x, s: distortion_layers.resize(x, 0.5 * s),
    "brightness": lambda x, s: distortion_layers.brightness(x, 5 * s),
    "contrast": lambda x, s: distortion_layers.contrast(x, 0.1 * s),
    "shift": lambda x, s: distortion_layers.shift(x, 2 * s, -3 * s),
    "round8": lambda x, s: distortion_layers.round8(x),
}


@pytest.mark.parametrize("name", list(DISTORTIONS_AT))
def test_each_distortion_at_strength_zero_is_the_identity(name):
    x = tf.constant(IMAGES if name != "round8" else np.round(IMAGES * 255) / 255)
    np.testing.assert_allclose(np.asarray(DISTORTIONS_AT[name](x, 0)), x.numpy(), atol=1e-6)


def test_the_differentiable_jpeg_is_near_pillows_at_every_quality():
    x = tf.constant(IMAGES)
    # Stated error of the differentiable JPEG against Pillow's (8-bit levels, mean over pixels; measured
    # 0.63, 0.65, 0.71, 0.73 at 95, 90, 75, 50), under half of JPEG's own error at each quality.
    for quality in (95, 90, 75, 50):
        approx = np.asarray(distortion_layers.jpeg_approx(x, quality))
        real = distortion_layers.pillow_jpeg(IMAGES, quality)
        error, own = np.abs(approx - real).mean() * 255, np.abs(real - IMAGES).mean() * 255
        assert error < 1.0 and error < 0.5 * own, (quality, error, own)


def test_the_real_codec_path_is_pillows_jpeg_with_a_straight_through_gradient():
    x = tf.constant(IMAGES)
    for quality in (90, 50):
        expected = DISTORTIONS["jpeg"](PHOTOS, 100 - quality).astype(np.float32) / 255
        np.testing.assert_allclose(np.asarray(distortion_layers.jpeg_real(x, quality)), expected, atol=1e-6)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = distortion_layers.jpeg_real(x, 75)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), 1.0)


@pytest.mark.parametrize("name", list(DISTORTIONS_AT))
def test_gradients_flow_through_every_distortion(name):
    x = tf.constant(IMAGES)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(tf.square(DISTORTIONS_AT[name](x, 1) - 0.5))
    gradient = tape.gradient(loss, x).numpy()
    assert np.isfinite(gradient).all() and np.abs(gradient).mean() > 1e-4


@pytest.mark.parametrize("name", ["noise", "blur", "resize", "brightness", "contrast", "shift"])
def test_each_distortion_changes_the_image_like_its_evaluation_twin(name):
    twin = {"noise": ("noise", 2), "blur": ("blur", 1.0), "resize": ("resize", 0.5), "brightness": ("brightness", 5),
            "contrast": ("contrast", 0.1)}
    train = np.asarray(DISTORTIONS_AT[name](tf.constant(IMAGES), 1))
    assert np.abs(train - IMAGES).mean() * 255 > 0.5
    if name in twin:  # the same change as the evaluation applies, up to its 8-bit rounding and randomness
        evaluated = DISTORTIONS[twin[name][0]](PHOTOS, twin[name][1]).astype(np.float32) / 255
        tolerance = 2.5 if name == "noise" else 1.0
        assert abs(np.abs(train - IMAGES).mean() - np.abs(evaluated - IMAGES).mean()) * 255 < tolerance


def test_the_channel_layer_distorts_only_in_training_and_ramps_from_mild_to_strong():
    from pixinpix_tf.config import CHANNEL_DISTORTIONS

    assert set(distortion_layers.MAX_STRENGTHS) == set(CHANNEL_DISTORTIONS)
    layer = distortion_layers.Channel(CHANNEL_DISTORTIONS, seed=3)
    x = tf.constant(IMAGES)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), IMAGES)
    changes = [np.abs(np.asarray(layer(x, training=True)) - IMAGES).mean() * 255 for _ in range(40)]
    assert sum(c == 0 for c in changes) >= 1 and sum(c > 0.1 for c in changes) >= 20  # none, or one of six
    layer.strength.assign(0.0)
    np.testing.assert_allclose(np.asarray(layer(x, training=True)), IMAGES, atol=1e-6)
    ramp = distortion_layers.RampChannel(layer, steps=10, steps_per_epoch=4)
    ramp.on_epoch_begin(1)
    ramp.on_train_batch_begin(1)
    assert float(layer.strength.numpy()) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="unknown channel distortions"):
        distortion_layers.Channel(("jpeg", "rotate"))


def test_training_through_the_channel_saves_a_plain_pixinpix_model(tmp_path, image_folders):
    from pixinpix_tf.config import get_preset
    from pixinpix_tf.inference.loading import load_model
    from pixinpix_tf.nets.train import run

    covers, secrets = image_folders
    cfg = get_preset("tiny").replace(cover=covers, secret=secrets, secret_channels=1, channel="jpeg,noise,resize",
                                     channel_ramp=0.5, epochs=2)
    logs = run(cfg, tmp_path / "run", verbose=0)
    assert np.isfinite(logs["loss"]) and "val_revealed_psnr" in logs
    assert run(cfg, tmp_path / "run", verbose=0) == {}  # a finished run resumes as finished
    model = load_model(tmp_path / "run")
    assert type(model).__name__ == "PixInPix"
    import keras

    import pixinpix_tf.nets.model  # noqa: F401  (registers what best.keras refers to)

    compiled = keras.models.load_model(tmp_path / "run" / "best.keras")
    assert compiled.compiled and compiled.optimizer.iterations.numpy() > 0  # the optimizer that trained


def test_gradient_reversal_is_the_identity_forward_and_turns_the_gradient_back():
    import keras

    from pixinpix_tf.nets.layers import GradientReversal, detection_loss, detector_accuracy

    x = tf.constant([[0.2, -1.5, 3.0]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = GradientReversal(0.5)(x)
        total = tf.reduce_sum(y * tf.constant([[1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(y, x)
    np.testing.assert_allclose(tape.gradient(total, x), [[-0.5, -1.0, -1.5]])
    logits = np.array([[-5.0, 5.0], [5.0, -5.0]], np.float32)  # the first pair called right, the second wrong
    np.testing.assert_allclose(keras.ops.convert_to_numpy(detector_accuracy(None, logits)), [1.0, 0.0])
    losses = keras.ops.convert_to_numpy(detection_loss(np.zeros_like(logits), logits))
    assert losses[0] < 0.01 < 4 < losses[1]


def test_training_against_an_adversary_logs_its_accuracy_and_saves_a_plain_pixinpix(tmp_path, image_folders):
    import csv

    import keras

    from pixinpix_tf.config import get_preset
    from pixinpix_tf.nets.model import PixInPix
    from pixinpix_tf.nets.train import run

    covers, secrets = image_folders
    cfg = get_preset("tiny").replace(cover=covers, secret=secrets, batch_norm=True, adversary=0.01, epochs=2)
    logs = run(cfg, tmp_path / "adv", verbose=0)
    assert 0 <= logs["detected_detector_accuracy"] <= 1
    with (tmp_path / "adv" / "history.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2
    for row in rows:  # the hiding losses leave the detector's term out
        for prefix in ("", "val_"):
            assert float(row[f"{prefix}hiding_loss"]) == pytest.approx(
                float(row[f"{prefix}loss"]) - 0.01 * float(row[f"{prefix}detected_loss"]), rel=1e-4)
    hiding = [float(row["val_hiding_loss"]) for row in rows]
    best = keras.models.load_model(tmp_path / "adv" / "best.keras")
    last = keras.models.load_model(tmp_path / "adv" / "last.keras")
    same = all(np.array_equal(a, b) for a, b in zip(best.get_weights(), last.get_weights()))
    assert same == (hiding[1] <= hiding[0])  # best.keras: the epoch of lowest val_hiding_loss
    saved = keras.models.load_model(tmp_path / "adv" / "best.keras")
    assert isinstance(saved, PixInPix) and "adversary" not in [layer.name for layer in saved.layers]
    pair = {"cover": np.zeros((1, 16, 16, 3), np.float32), "secret": np.zeros((1, 16, 16, 3), np.float32)}
    assert set(saved(pair)) == {"stego", "revealed"}


def test_the_adversarys_loss_pushes_the_hider_to_fool_it_and_the_detector_to_find_it():
    from pixinpix_tf.nets.layers import detection_loss, round_8bit_straight_through
    from pixinpix_tf.nets.model import PixInPix
    from pixinpix_tf.nets.train import with_adversary

    from conftest import TINY_MODEL

    model = PixInPix(residual_stego=True, **TINY_MODEL)
    fit_model = with_adversary(model)
    rng = np.random.default_rng(0)
    pair = {"cover": tf.constant(rng.random((4, 16, 16, 3), dtype=np.float32)),
            "secret": tf.constant(rng.random((4, 16, 16, 3), dtype=np.float32))}
    detector = fit_model.get_layer("adversary")
    hider_kernel = model.hider.trainable_weights[0]
    with tf.GradientTape(persistent=True) as tape:
        loss = tf.reduce_mean(detection_loss(None, fit_model(pair, training=True)["detected"]))
        # the same detector on the same 8-bit stego images, without the reversal
        stego = round_8bit_straight_through(model.hider(pair, training=True)) * 255.0
        plain = tf.reduce_mean(detection_loss(None, tf.transpose(tf.reshape(
            detector(tf.concat([pair["cover"] * 255.0, stego], axis=0), training=True), (2, -1)))))
    reversed_grad, plain_grad = tape.gradient(loss, hider_kernel), tape.gradient(plain, hider_kernel)
    np.testing.assert_allclose(reversed_grad, -plain_grad, rtol=1e-3, atol=1e-7)  # the hider climbs the loss
    assert np.abs(plain_grad).max() > 0
    detector_kernel = detector.trainable_weights[0]
    np.testing.assert_allclose(tape.gradient(loss, detector_kernel), tape.gradient(plain, detector_kernel),
                               rtol=1e-3, atol=1e-7)  # the detector descends it
