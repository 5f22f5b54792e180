"""The PixInPix model: structure, config round-trip, saving, helpers, learning."""

import keras
import numpy as np
import pytest

from pixinpix_tf.config import Config, ModelConfig, get_preset
from pixinpix_tf.errors import ConfigError
from pixinpix_tf.methods.networks import Network
from pixinpix_tf.nets.model import PixInPix, grow_weights
from pixinpix_tf.nets.refine import COVER_WEIGHT, refine_stego

from conftest import NETWORK_ATOL, TINY_MODEL


def random_pair(n=3, size=16, secret_channels=3, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "cover": rng.random((n, size, size, 3), dtype=np.float32),
        "secret": rng.random((n, size, size, secret_channels), dtype=np.float32),
    }


@pytest.mark.parametrize("secret_channels", [1, 3])
def test_inputs_and_outputs_are_named_dicts_with_image_shapes(secret_channels):
    model = PixInPix(secret_channels=secret_channels, **TINY_MODEL)
    out = model(random_pair(secret_channels=secret_channels))
    assert set(out) == {"stego", "revealed"}
    assert out["stego"].shape == (3, 16, 16, 3)
    assert out["revealed"].shape == (3, 16, 16, secret_channels)
    assert sorted(model.input_names if hasattr(model, "input_names") else model.input) == ["cover", "secret"]
    for value in out.values():
        value = keras.ops.convert_to_numpy(value)
        assert value.min() >= 0.0 and value.max() <= 1.0


def test_paper_preset_structure():
    model = PixInPix.from_model_config(get_preset("paper").model)
    for net, prefix in ((model.hider, "hide"), (model.revealer, "reveal")):
        pools = [layer for layer in net.layers if isinstance(layer, keras.layers.MaxPooling2D)]
        assert len(pools) == 5
        convs = [layer for layer in net.layers if isinstance(layer, keras.layers.Conv2D)
                 and not isinstance(layer, keras.layers.Conv2DTranspose)]
        assert max(conv.filters for conv in convs) == 256
        assert net.get_layer(f"{prefix}_bottom_conv1").filters == 256
        assert net.get_layer(f"{prefix}_down1_conv1").filters == 16
        assert net.get_layer(f"{prefix}_down5_conv1").filters == 256
    assert model.hider.get_layer("hide_down1_conv1").input.shape[-1] == 6
    assert model.revealer.get_layer("reveal_down1_conv1").input.shape[-1] == 3
    assert model.hider.get_layer("hide_out_conv").filters == 3


@pytest.mark.parametrize("size, depth", [(30, 2), (32, 6), (48, 5)])
def test_image_size_must_be_a_multiple_of_two_to_the_depth(size, depth):
    with pytest.raises(ConfigError, match="not a multiple of pixel_block \\* 2\\*\\*depth"):
        PixInPix(image_size=size, depth=depth)


def test_config_json_round_trip():
    for cfg in [get_preset(name) for name in ("paper", "fast", "lowbits", "tiny")]:
        assert Config.from_json(cfg.to_json()) == cfg
    changed = get_preset("paper").replace(epochs=3, loss_weights=(2.0, 1.0), batch_norm=True)
    assert changed.model.batch_norm and changed.epochs == 3
    assert Config.from_json(changed.to_json()) == changed


def test_get_config_round_trip_rebuilds_the_same_architecture():
    model = PixInPix(secret_channels=1, batch_norm=True, quantize_stego=True, **TINY_MODEL)
    clone = PixInPix.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    assert clone.count_params() == model.count_params()
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]


@pytest.mark.parametrize("batch_norm, embed_bits", [(False, 0), (True, 0), (True, 3)])
def test_save_and_load_reproduce_outputs_exactly(tmp_path, batch_norm, embed_bits):
    model = PixInPix(batch_norm=batch_norm, quantize_stego=batch_norm, residual_stego=batch_norm and not embed_bits,
                     embed_bits=embed_bits, **TINY_MODEL)
    pair = random_pair()
    before = model(pair)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")  # no custom_objects needed
    assert isinstance(loaded, PixInPix)
    after = loaded(pair)
    for key in ("stego", "revealed"):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(before[key]), keras.ops.convert_to_numpy(after[key]))
    np.testing.assert_array_equal(loaded.hide(pair["cover"], pair["secret"]), model.hide(pair["cover"], pair["secret"]))


def test_hide_and_reveal_accept_uint8_float_single_and_batch():
    model = PixInPix(**TINY_MODEL)
    pair = random_pair(n=2)
    as_uint8 = {k: np.round(v * 255).astype(np.uint8) for k, v in pair.items()}
    stego_float = model.hide(as_uint8["cover"] / 255.0, as_uint8["secret"] / 255.0)
    stego_uint8 = model.hide(as_uint8["cover"], as_uint8["secret"])
    np.testing.assert_allclose(stego_float, stego_uint8, atol=1e-6)
    assert stego_uint8.shape == (2, 16, 16, 3) and stego_uint8.dtype == np.float32
    single = model.hide(as_uint8["cover"][0], as_uint8["secret"][0])
    assert single.shape == (16, 16, 3)
    np.testing.assert_allclose(single, stego_uint8[0], atol=NETWORK_ATOL)
    assert model.reveal(stego_uint8).shape == (2, 16, 16, 3)
    assert model.reveal(stego_uint8[0]).shape == (16, 16, 3)


def test_hide_rejects_bad_inputs_with_clear_messages():
    model = PixInPix(**TINY_MODEL)
    cover = np.zeros((16, 16, 3), np.float32)
    with pytest.raises(ValueError, match="expected 3 channels"):
        model.hide(cover, np.zeros((16, 16, 1), np.float32))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model.hide(cover + 2.0, cover)
    with pytest.raises(ValueError, match="1 covers but 2 secrets"):
        model.hide(cover[None], np.zeros((2, 16, 16, 3), np.float32))


def test_sub_networks_are_keras_models_that_compose_to_the_end_to_end_model():
    model = PixInPix(**TINY_MODEL)
    pair = random_pair()
    out = model(pair)
    stego = model.hider(pair)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(stego), keras.ops.convert_to_numpy(out["stego"]), atol=1e-6)
    revealed = model.revealer(stego)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(revealed), keras.ops.convert_to_numpy(out["revealed"]), atol=1e-6
    )


def test_quantized_model_reveals_from_the_8bit_stego():
    model = PixInPix(quantize_stego=True, **TINY_MODEL)
    pair = random_pair()
    out = model(pair)
    stego = keras.ops.convert_to_numpy(out["stego"])
    from_png = model.revealer(np.round(stego * 255) / 255)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(from_png), keras.ops.convert_to_numpy(out["revealed"]),
                               atol=1e-6)


def test_residual_stego_is_the_cover_plus_a_clipped_change_with_gradient_through_the_clip():
    import tensorflow as tf

    model = PixInPix(residual_stego=True, **TINY_MODEL)
    pair = random_pair()
    pair["cover"][0] = 1.0  # a saturated cover: the clip is active on about half its pixels
    change_net = keras.Model(model.hider.inputs, model.hider.get_layer("hide_out_conv").output)
    change = keras.ops.convert_to_numpy(change_net(pair))
    stego = keras.ops.convert_to_numpy(model.hider(pair))
    np.testing.assert_allclose(stego, np.clip(pair["cover"] + change, 0, 1), atol=1e-6)
    # Where the clip is active the gradient still reaches the change (straight through).
    from pixinpix_tf.nets.layers import AddClipped

    change = tf.constant(pair["cover"][:1] * 0 + 0.5)
    with tf.GradientTape() as tape:
        tape.watch(change)
        total = tf.reduce_sum(AddClipped()([tf.constant(pair["cover"][:1]), change]))
    np.testing.assert_array_equal(tape.gradient(total, change), 1.0)


@pytest.mark.parametrize("bits", [1, 3, 5])
def test_embedded_code_sits_in_the_low_bits_of_the_nearest_level_and_is_read_back(bits):
    import tensorflow as tf

    from pixinpix_tf.nets.layers import EmbedLowBits, ReadLowBits

    rng = np.random.default_rng(bits)
    cover = rng.integers(0, 256, (2, 16, 16, 3)).astype(np.float32) / 255
    code = tf.constant(rng.random((2, 16, 16, 3), dtype=np.float32))
    with tf.GradientTape() as tape:
        tape.watch(code)
        stego = EmbedLowBits(bits)([cover, code])
        read = ReadLowBits(bits)(stego)
    levels, cover_levels = np.round(stego.numpy() * 255), np.round(cover * 255)
    wanted = np.round(code.numpy() * (2**bits - 1))
    np.testing.assert_array_equal(levels % 2**bits, wanted)
    np.testing.assert_allclose(read.numpy() * (2**bits - 1), wanted, atol=1e-3)
    inside = (cover_levels >= 2**bits) & (cover_levels <= 255 - 2**bits)
    assert np.abs(levels - cover_levels)[inside].max() <= 2 ** (bits - 1)
    assert levels.min() >= 0 and levels.max() <= 255
    # straight through: the revealer's gradient reaches the hider's code undamped
    np.testing.assert_allclose(tape.gradient(read, code).numpy(), 1.0, rtol=1e-5)


def test_embed_bits_model_reveals_from_the_code_alone():
    model = PixInPix(embed_bits=2, **TINY_MODEL)
    rng = np.random.default_rng(0)
    for weight in model.weights:  # the U-Nets' outputs start at zero: give them something to add
        weight.assign(rng.normal(0.0, 0.3, weight.shape).astype("float32"))
    pair = random_pair()
    stego = model.hide(pair["cover"], pair["secret"])
    moved_high_bits = (np.round(stego * 255) + 4 * np.where(stego < 0.5, 1, -1)) / 255  # same 2 low bits
    revealed = model.reveal(stego)
    np.testing.assert_allclose(model.reveal(moved_high_bits), revealed, atol=1e-4)
    flipped_low_bit = (np.round(stego * 255) + np.where(stego < 0.5, 1, -1)) / 255
    assert np.abs(model.reveal(flipped_low_bit) - revealed).max() > 0.05
    with pytest.raises(ConfigError, match="embed_bits and residual_stego"):
        PixInPix(embed_bits=2, residual_stego=True, **TINY_MODEL)


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
@pytest.mark.parametrize("secret_channels", [1, 3])
def test_an_untrained_embed_bits_model_is_plain_lsb_hiding_even_in_bfloat16(policy, secret_channels):
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = PixInPix(embed_bits=3, batch_norm=True, quantize_stego=True, secret_channels=secret_channels,
                         **TINY_MODEL)
        pair = {k: np.round(v * 255) / 255 for k, v in random_pair(secret_channels=secret_channels).items()}
        out = model(pair)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    levels = np.round(np.asarray(out["stego"]) * 255)
    assert (levels % 8 == np.round(pair["secret"] * 7)).all()  # the secret's own 3-bit code (grey: in R, G, B)
    np.testing.assert_allclose(np.asarray(out["revealed"]), np.round(pair["secret"] * 7) / 7, atol=1e-4)


@pytest.mark.parametrize("batch_norm", [False, True])
def test_a_grown_model_computes_what_the_narrower_one_did(batch_norm):
    shape = dict(TINY_MODEL, convs_per_step=2, batch_norm=batch_norm, residual_stego=True)
    narrower = PixInPix(**shape)
    rng = np.random.default_rng(0)
    for weight in narrower.weights:  # trained-looking weights and batch-norm statistics
        weight.assign(rng.normal(1.0 if "variance" in weight.path else 0.0, 0.3, weight.shape).astype("float32"))
    wider, fresh = PixInPix(**dict(shape, base_filters=8)), PixInPix(**dict(shape, base_filters=8))
    grow_weights(wider, narrower)
    x = random_pair()
    before, after, untouched = (m(x, training=False) for m in (narrower, wider, fresh))
    for key in ("stego", "revealed"):
        np.testing.assert_allclose(np.asarray(after[key]), np.asarray(before[key]), atol=NETWORK_ATOL)
        assert np.abs(np.asarray(untouched[key]) - np.asarray(before[key])).max() > 1e-2
    assert wider.count_params() > 3 * narrower.count_params()


def test_a_few_training_steps_lower_the_loss():
    from pixinpix_tf.nets.train import compile_model

    keras.utils.set_random_seed(0)
    cfg = get_preset("tiny").replace(learning_rate=1e-2)
    model = PixInPix.from_model_config(cfg.model)
    compile_model(model, cfg, steps_per_epoch=1)
    # Smooth images (4x4 blocks): learnable in a few steps, unlike white noise.
    pair = {k: np.kron(v[:, ::4, ::4], np.ones((1, 4, 4, 1), np.float32)) for k, v in random_pair(n=8).items()}
    targets = {"stego": pair["cover"], "revealed": pair["secret"]}
    first = model.evaluate(pair, targets, verbose=0, return_dict=True)["loss"]
    model.fit(pair, targets, epochs=60, batch_size=8, verbose=0)
    last = model.evaluate(pair, targets, verbose=0, return_dict=True)["loss"]
    assert last < 0.8 * first, (first, last)


def test_model_config_validation():
    with pytest.raises(ConfigError, match="secret_channels"):
        ModelConfig(secret_channels=2).validate()
    with pytest.raises(ConfigError, match="epochs"):
        get_preset("paper").replace(epochs=-1).validate()
    with pytest.raises(ConfigError, match="train_only"):
        get_preset("paper").replace(train_only="both").validate()
    with pytest.raises(ConfigError, match="embed_bits must be 0..7"):
        ModelConfig(embed_bits=8).validate()
    with pytest.raises(ConfigError, match="unknown preset 'nope'"):
        get_preset("nope")


def test_refining_lowers_the_revealed_error_of_the_stored_8bit_stego():
    model = PixInPix(**TINY_MODEL)
    pair = random_pair(n=4)

    def objective(stego):
        stored = np.round(stego * 255) / 255
        revealed = keras.ops.convert_to_numpy(model.revealer(stored))
        return np.mean((revealed - pair["secret"]) ** 2) + COVER_WEIGHT * np.mean((stego - pair["cover"]) ** 2)

    plain = model.hide(pair["cover"], pair["secret"])
    refined = Network(model, "tiny", refine_steps=20).hide_tiles(pair["cover"], pair["secret"])
    assert refined.shape == plain.shape and refined.min() >= 0.0 and refined.max() <= 1.0
    assert objective(refined) < 0.9 * objective(plain)
    # independent of its batch:
    alone = Network(model, "tiny", refine_steps=20).hide_tiles(pair["cover"][:1], pair["secret"][:1])
    assert np.abs(np.round(alone * 255) - np.round(refined[:1] * 255)).max() <= 1
    in_chunks = refine_stego(model.revealer, pair["cover"], pair["secret"], plain, 20, batch_size=3)
    assert np.abs(np.round(in_chunks * 255) - np.round(refined * 255)).max() <= 1
    assert np.array_equal(refine_stego(model.revealer, pair["cover"], pair["secret"], plain, 0), plain)
    with pytest.raises(ConfigError, match="steps must be >= 0"):
        Network(model, "tiny", refine_steps=-1)


def test_the_texture_weighted_stego_loss_charges_a_change_on_smooth_areas_more_than_in_texture():
    from pixinpix_tf.nets.layers import texture_weighted_mse

    rng = np.random.default_rng(0)
    cover = np.full((1, 32, 32, 3), 0.5, np.float32)
    cover[:, :, 16:] = rng.random((1, 32, 16, 3), dtype=np.float32)  # left half flat, right half texture
    change = np.zeros_like(cover)
    on_smooth, in_texture = change.copy(), change.copy()
    on_smooth[:, 8:24, 2:10] = 4 / 255
    in_texture[:, 8:24, 22:30] = 4 / 255
    smooth_loss, texture_loss = (float(texture_weighted_mse(cover, cover + c)[0]) for c in (on_smooth, in_texture))
    plain = float(np.mean(on_smooth**2))
    assert smooth_loss > 3 * texture_loss and smooth_loss > plain > texture_loss
    flat = np.full_like(cover, 0.3)  # a uniform cover weighs every pixel alike: plain MSE
    assert float(texture_weighted_mse(flat, flat + on_smooth)[0]) == pytest.approx(plain, rel=1e-4)


def test_the_training_metrics_are_tensorflows_psnr_and_ssim_in_keras_ops():
    import tensorflow as tf

    from pixinpix_tf.nets.layers import psnr, ssim

    rng = np.random.default_rng(1)
    a = rng.random((3, 32, 32, 3), dtype=np.float32)
    b = np.clip(a + rng.normal(0, 0.05, a.shape), 0, 1).astype(np.float32)
    np.testing.assert_allclose(np.asarray(psnr(a, b)), tf.image.psnr(a, b, 1.0).numpy(), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(ssim(a, b)), tf.image.ssim(a, b, 1.0).numpy(), atol=1e-5)


def test_a_model_runs_on_any_size_that_is_a_multiple_of_two_to_the_depth():
    model = PixInPix(**TINY_MODEL)  # trained on 16x16: the same weights on a 24x40 image
    rng = np.random.default_rng(1)
    out = model({"cover": rng.random((2, 24, 40, 3), dtype=np.float32),
                 "secret": rng.random((2, 24, 40, 3), dtype=np.float32)})
    assert out["stego"].shape == (2, 24, 40, 3) and out["revealed"].shape == (2, 24, 40, 3)


def test_with_secret_scale_the_hider_sees_only_the_secrets_block_means():
    model = PixInPix(**{**TINY_MODEL, "secret_scale": 4})
    pair = random_pair(n=2)
    blocks = pair["secret"].reshape(2, 4, 4, 4, 4, 3).mean(axis=(2, 4), keepdims=True)
    flat = np.broadcast_to(blocks, (2, 4, 4, 4, 4, 3)).reshape(pair["secret"].shape)  # same block means
    stego = model.hider(pair, training=False)
    np.testing.assert_allclose(model.hider({"cover": pair["cover"], "secret": flat}, training=False), stego, atol=1e-6)
    assert not np.allclose(model.hider({"cover": pair["cover"], "secret": 1 - flat}, training=False), stego)
    with pytest.raises(ConfigError, match="secret_scale"):
        PixInPix(**{**TINY_MODEL, "secret_scale": 3})  # must divide pixel_block * 2**depth = 4


@pytest.mark.parametrize("scale", [2, 4])
def test_the_secrets_bilinear_enlargement_is_keras_upsampling_on_any_size_even_in_a_graph(scale):
    import tensorflow as tf

    from pixinpix_tf.nets.layers import EnlargeBilinear

    images = np.random.default_rng(0).random((2, 5, 7, 3), dtype=np.float32)
    expected = keras.layers.UpSampling2D(scale, interpolation="bilinear")(images)
    np.testing.assert_allclose(EnlargeBilinear(scale)(images), expected, atol=1e-6)
    traced = tf.function(EnlargeBilinear(scale), input_signature=[tf.TensorSpec((None, None, None, 3))])
    np.testing.assert_allclose(traced(images), expected, atol=1e-6)  # sides unknown when traced, as in export


def test_pixel_blocks_fold_into_channels_as_tensorflow_does_and_unfold_back():
    import tensorflow as tf

    from pixinpix_tf.nets.layers import DepthToSpace, SpaceToDepth

    images = np.random.default_rng(2).random((2, 16, 24, 3), dtype=np.float32)
    folded = SpaceToDepth(8)(images)
    np.testing.assert_array_equal(np.asarray(folded), tf.nn.space_to_depth(images, 8).numpy())
    np.testing.assert_array_equal(np.asarray(DepthToSpace(8)(folded)), images)


def test_a_pixel_block_model_runs_on_multiples_of_its_side_multiple_and_saves(tmp_path):
    model = PixInPix(**{**TINY_MODEL, "pixel_block": 4})  # U-Nets on 4x4 blocks: sides a multiple of 4 * 2**2
    assert model.side_multiple == 16
    pair = random_pair(n=2, size=32)
    out = model(pair, training=False)
    assert out["stego"].shape == (2, 32, 32, 3) and out["revealed"].shape == (2, 32, 32, 3)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded(pair, training=False)["revealed"], out["revealed"], atol=1e-6)
    with pytest.raises(ConfigError, match="pixel_block \\* 2\\*\\*depth = 32"):
        PixInPix(**{**TINY_MODEL, "pixel_block": 8})  # 16x16 tiles, but sides must be multiples of 8 * 4
    with pytest.raises(ConfigError, match="embed_bits"):
        PixInPix(**{**TINY_MODEL, "pixel_block": 4, "embed_bits": 2})


def test_mirror_padding_changes_only_what_the_networks_see_at_the_borders():
    zero = PixInPix(**{**TINY_MODEL, "pixel_block": 4})
    mirror = PixInPix(**{**TINY_MODEL, "pixel_block": 4, "mirror_padding": True})
    mirror.set_weights(zero.get_weights())  # the same weights: the pads have none
    pair = random_pair(n=1, size=128)
    a, b = (np.asarray(m(pair, training=False)["stego"])[0] for m in (zero, mirror))
    centre = (slice(56, 72), slice(56, 72))  # beyond the networks' reach of the borders
    np.testing.assert_allclose(a[centre], b[centre], atol=NETWORK_ATOL)
    assert np.abs(a[:4] - b[:4]).max() > 1e-3  # the top rows see mirrored pixels instead of zeros


def test_the_texture_mask_bounds_the_hiders_change_and_scales_it_to_its_floor_on_flat_areas_only():
    from pixinpix_tf.nets.layers import TextureMask

    rng = np.random.default_rng(0)
    cover = np.full((1, 32, 32, 3), 0.5, np.float32)
    cover[:, :, 16:] = rng.random((1, 32, 16, 3), dtype=np.float32)  # left half flat, right half texture
    change = np.full_like(cover, 0.5 / 255)
    masked = keras.ops.convert_to_numpy(TextureMask(0.25)([cover, change]))
    np.testing.assert_allclose(masked[:, :, :12], 0.125 / 255, rtol=1e-3)  # flat, beyond the edge's 3x3 + 3x3 reach
    np.testing.assert_allclose(masked[:, :, 20:], 0.5 / 255, rtol=1e-3)  # strong texture: a small change kept whole
    pushed = keras.ops.convert_to_numpy(TextureMask(0.25)([cover, change * 1000])) * 255  # pushing hard: bounded
    bound = TextureMask.MAX_CHANGE_LEVELS
    assert pushed.max() <= bound and pushed[:, :, :12].max() <= bound / 4
    model = PixInPix(residual_stego=True, texture_mask=0.25, **TINY_MODEL)
    pair = random_pair()
    pair["cover"][:] = 0.5  # a flat cover: the stego moves at most a quarter of what the unmasked hider asks
    unmasked = PixInPix(residual_stego=True, **TINY_MODEL)
    unmasked.set_weights(model.get_weights())
    flat_change = np.abs(keras.ops.convert_to_numpy(model.hider(pair)) - 0.5)
    free_change = np.abs(keras.ops.convert_to_numpy(unmasked.hider(pair)) - 0.5)
    assert (flat_change <= 0.25 * free_change + 1e-6).all() and flat_change.max() > 0
    with pytest.raises(ConfigError, match="texture_mask scales"):
        ModelConfig(texture_mask=0.25).validate()
    with pytest.raises(ConfigError, match=r"texture_mask must be in \[0, 1\]"):
        ModelConfig(texture_mask=2.0, residual_stego=True).validate()
