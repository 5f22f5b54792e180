"""One interface for every method: the registry's names, what a method cannot do, channels, the output
rule, and the same choices from Python and the command line (also without onnxruntime)."""

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from pixinpix_tf import api, channels
from pixinpix_tf.cli import main
from pixinpix_tf.errors import ConfigError, ImageError, NothingRevealed
from pixinpix_tf.methods import registry
from pixinpix_tf.methods.base import Method

from conftest import ROOT

SAMPLES = ROOT / "pixinpix_tf" / "assets" / "samples"
RNG = np.random.default_rng(0)


@pytest.mark.parametrize("name, family", [("lsb2", "lsb"), ("lsb3-nearest", "lsb"), ("webp1", "compressed"),
                                          ("jpeg2", "compressed"), ("dct-code", "code")])
def test_every_name_gives_a_method_spelled_the_same_way(name, family):
    method = registry.get(name)
    assert isinstance(method, Method) and method.name == name and method.family == family
    assert registry.method_class(name) is type(method)


def test_a_baseline_hides_and_reveals_through_the_interface_and_a_changed_stego_reveals_nothing():
    cover = RNG.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    secret = np.repeat(np.linspace(0, 255, 64, dtype=np.uint8)[None, :, None], 48, axis=0).repeat(3, axis=-1)
    for name in ("lsb4", "webp2"):
        method = registry.get(name)
        stego = method.hide(cover, secret)
        assert stego.shape == cover.shape and stego.dtype == np.uint8
        assert np.abs(stego.astype(int) - cover).max() < 16  # only the 4 (2) low bits move
        revealed = method.reveal(stego)
        assert np.abs(revealed.astype(int) - secret).mean() < 10
    with pytest.raises(NothingRevealed, match="nothing decodes"):
        registry.get("webp1").reveal(cover)  # a cover that holds no payload


def test_what_a_method_cannot_do_is_one_line_before_any_work(tmp_path, capsys):
    with pytest.raises(ConfigError, match="^dct-code: the page runs a network's ONNX image graphs"):
        registry.check("dct-code", "web")
    with pytest.raises(ConfigError, match="low bits must be 1..8"):
        registry.get("lsb9")
    cover, secret = str(SAMPLES / "cover.png"), str(SAMPLES / "secret.png")
    for argv, message in (
            (["web", "--model", "dct-code"], "dct-code: the page runs"),
            (["evaluate", "dct-code"], "dct-code: it hides in whole photos"),
            (["hide", cover, secret, "-o", str(tmp_path / "s.png"), "--model", "lsb2", "--refine", "3"],
             "lsb2: a classical baseline writes bits: it cannot be refined"),
            (["hide", cover, secret, "-o", str(tmp_path / "s.png"), "--model", "webp1", "--key-env", "HOME"],
             "webp1: a classical baseline has no key")):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (argv, err)
    assert not (tmp_path / "s.png").exists()


def test_channels_are_parsed_one_way_and_spelled_back():
    for text in ("png", "jpeg:75", "webp:80", "resize:0.5+jpeg:75", "resize:0.5:bicubic+jpeg:75", "fit:2048+jpeg:80"):
        assert str(channels.parse(text)) == text
    assert channels.parse("resize:0.5:lanczos") == channels.parse("resize:0.5")  # Lanczos is the default filter
    assert channels.parse("resize:0.5+jpeg:75").lowest_jpeg_quality == 75 and channels.parse("png").lossless
    assert str(channels.for_output("x.JPG", 60)) == "jpeg:60" and str(channels.for_output("x.png")) == "png"
    for bad, message in (("gif", "unknown step"), ("jpeg:101", "integer 1..100"), ("resize:2", "in \\(0, 1\\)"),
                         ("jpeg", "needs a number"), ("jpeg:75:box", "only resize and fit take a filter"),
                         ("resize:0.5:nearest", "take a filter, one of lanczos, bicubic"),
                         ("fit:100.5", "whole number of pixels")):
        with pytest.raises(ConfigError, match=message):
            channels.parse(bad)
    image = RNG.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    assert channels.parse("png").apply(image) is image
    assert channels.parse("resize:0.5+jpeg:90").apply(image).shape == (20, 30, 3)
    assert channels.parse("fit:30").apply(image).shape == (20, 30, 3) and channels.parse("fit:60").apply(image) is image
    smaller = [channels.parse(f"resize:0.5:{name}").apply(image) for name in channels.RESIZE_FILTERS]
    assert all(each.shape == (20, 30, 3) for each in smaller) and not np.array_equal(smaller[0], smaller[1])


def test_the_output_rule_follows_the_methods_survival():
    lsb, code = registry.get("lsb1"), registry.get("dct-code")
    assert api.output_channel("s.png", lsb) == channels.parse("png")
    assert api.output_channel("s.jpg", code, quality=50) == channels.parse("jpeg:50")
    with pytest.raises(ImageError, match="JPEG at quality 49 destroys what dct-code hides"):
        api.output_channel("s.jpg", code, quality=49)
    with pytest.raises(ImageError, match="use --model .*dct-code, which surviv"):
        api.output_channel("s.jpg", lsb, quality=90)
    assert api.output_channel("s.jpg", lsb, quality=90, allow_lossy=True) == channels.parse("jpeg:90")
    assert code.survives("jpeg:50") and code.survives("resize:0.5+jpeg:90") and not lsb.survives("jpeg:95")
    assert code.survives("webp:85") and not code.survives("webp:80") and not code.survives("jpeg:90+resize:0.5")


# Without onnxruntime: the Python API and the command line pick the same method on the same backend.
NO_ONNXRUNTIME = """
import sys
sys.modules["onnxruntime"] = None  # as if it were not installed
import numpy as np
from PIL import Image
from pixinpix_tf import api
from pixinpix_tf.cli import main
cover, secret, out = sys.argv[1:4]
method = api.load_method(api.DEFAULT_MODEL)
print(type(method.model).__name__)
assert main(["hide", cover, secret, "-o", out, "--model", api.DEFAULT_MODEL]) == 0
stego = api.hide(Image.open(cover), Image.open(secret), api.DEFAULT_MODEL)
print(int(np.abs(stego.astype(int) - np.asarray(Image.open(out))).max()))
"""


@pytest.mark.slow
def test_without_onnxruntime_python_and_the_command_line_hide_alike_on_keras(tmp_path):
    result = subprocess.run([sys.executable, "-c", NO_ONNXRUNTIME, str(SAMPLES / "cover.png"),
                             str(SAMPLES / "secret.png"), str(tmp_path / "stego.png")],
                            capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.split("\n")
    backend, difference = lines[0], [line for line in lines if line.strip()][-1]
    assert backend == "PixInPix" and difference == "0"  # Keras, and the same stego image from both
    assert Image.open(tmp_path / "stego.png").size == Image.open(SAMPLES / "cover.png").size


def test_lsb_matching_revisited_carries_two_bits_per_pair_with_three_quarters_of_a_change():
    from pixinpix_tf.methods.baselines import matching_read, matching_write

    rng = np.random.default_rng(1)
    edges = np.array([0, 0, 255, 255, 0, 255, 255, 0])
    values = np.concatenate([rng.integers(0, 256, 100_000), edges]).astype(np.uint8)
    bits = rng.integers(0, 2, len(values), dtype=np.uint8)
    stego = matching_write(values, bits, rng)
    np.testing.assert_array_equal(matching_read(stego), bits)
    change = np.abs(stego.astype(int) - values)
    assert change.max() == 1  # never past 0..255: a uint8 wrap would be 255
    # 0.375 changes per value on random bits; the binomial's standard deviation here is 0.0015
    assert abs((change > 0).mean() - 0.375) < 0.01


def test_avif1_beats_webp1_on_both_sides_on_a_photo_like_cover():
    y, x = np.mgrid[0:128, 0:192]
    rng = np.random.default_rng(2)
    cover = np.clip(np.stack([x, y * 1.5, x + y], -1) * 0.8 + rng.normal(0, 6, (128, 192, 3)), 0, 255).astype(np.uint8)
    secret = np.asarray(Image.open(SAMPLES / "secret.png").convert("RGB").resize((192, 128)))
    figures = {}
    for name in ("avif1", "webp1"):
        method = registry.get(name)
        stego = method.hide(cover, secret)
        revealed = method.reveal(stego)
        figures[name] = (np.mean((stego.astype(float) - cover) ** 2), np.mean((revealed.astype(float) - secret) ** 2))
    assert figures["avif1"][0] < figures["webp1"][0] and figures["avif1"][1] < figures["webp1"][1]
    assert np.abs(registry.get("avif1").hide(cover, secret).astype(int) - cover).max() == 1
    with pytest.raises(NothingRevealed):
        registry.get("avif1").reveal(cover)


def test_hide_reads_covers_upright_and_the_stego_keeps_the_covers_colour_profile(tmp_path):
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    cover = Image.fromarray(RNG.integers(0, 256, (64, 96, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to view
    cover.save(tmp_path / "cover.jpg", quality=95, exif=exif, icc_profile=profile)
    api.hide_file(tmp_path / "cover.jpg", SAMPLES / "secret.png", tmp_path / "stego.png", model="avif1")
    with Image.open(tmp_path / "stego.png") as stego:
        assert stego.size == (64, 96)  # upright, as a viewer shows the cover
        assert stego.info.get("icc_profile") == profile
    revealed = api.reveal_file(tmp_path / "stego.png", tmp_path / "revealed.png", model="avif1")
    assert revealed.shape == (96, 64, 3)


def test_capacity_says_before_hiding_what_a_cover_carries_and_what_the_secret_will_reveal_at(tmp_path, capsys):
    from pixinpix_tf.analysis import metrics

    cover = RNG.integers(0, 256, (64, 96, 3), dtype=np.uint8)
    secret = np.asarray(Image.open(SAMPLES / "secret.png").convert("RGB").resize((96, 64)))
    method, room, psnr = api.capacity(cover, "png", secret=secret)
    assert (method, room) == ("avif1", 64 * 96 * 3 // 8 - 9)  # one bit per value, less the 9-byte header
    avif1 = registry.get("avif1")
    assert psnr == pytest.approx(metrics.psnr(secret, avif1.reveal(avif1.hide(cover, secret)))[0], abs=1e-9)
    Image.fromarray(cover).save(tmp_path / "cover.png")
    assert main(["capacity", str(tmp_path / "cover.png")]) == 0
    assert f"with avif1: {room:,} bytes; a secret like the cover would reveal at" in capsys.readouterr().out
    for options, message in ((["--model", "lsb2"], "lsb2 says nothing of its capacity in bytes"),
                             (["--channel", "webp:75"], "no method here is checked to survive webp:75"),
                             (["--channel", "resize:0.5"], "dct-code hides in RGB images of at least 64x64 after "
                                                           "resize:0.5, got shape (32, 48, 3)")):
        assert main(["capacity", str(tmp_path / "cover.png")] + options) == 2
        assert message in capsys.readouterr().err
