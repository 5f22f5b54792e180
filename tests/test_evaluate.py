"""Metrics, LSB baseline, distortions, and `pixinpix evaluate` end to end on mock data."""

import json

import numpy as np
import pytest

from pixinpix_tf.analysis import metrics
from pixinpix_tf.cli import main
from pixinpix_tf.distortions import DISTORTIONS
from pixinpix_tf.errors import NothingRevealed
from pixinpix_tf.methods import registry
from pixinpix_tf.methods.base import Method
from pixinpix_tf.methods.baselines import compressed_hide, compressed_reveal, lsb_hide, lsb_reveal
from conftest import ROOT, import_script, save_tiny_model, tiny_model

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)


def test_identical_images_give_max_psnr_ssim_one_and_zero_errors():
    assert (metrics.psnr(IMAGES, IMAGES) == metrics.MAX_PSNR).all()
    np.testing.assert_allclose(metrics.ssim(IMAGES, IMAGES), 1.0, atol=1e-6)
    assert (metrics.apd(IMAGES, IMAGES) == 0).all() and (metrics.rmse(IMAGES, IMAGES) == 0).all()


def test_a_known_mse_gives_a_known_psnr_apd_and_rmse():
    a = np.full((1, 8, 8, 3), 100, np.uint8)
    b = a + np.uint8(5)  # every pixel off by 5: MSE 25
    np.testing.assert_allclose(metrics.psnr(a, b), 10 * np.log10(255**2 / 25))
    np.testing.assert_allclose(metrics.rmse(a, b), 5.0)
    np.testing.assert_allclose(metrics.apd(a, b), 5.0)


def test_ssim_matches_tensorflow():
    import tensorflow as tf

    noisy = np.clip(IMAGES + RNG.normal(0, 20, IMAGES.shape), 0, 255).astype(np.uint8)
    expected = tf.image.ssim(tf.constant(IMAGES), tf.constant(noisy), max_val=255).numpy()
    np.testing.assert_allclose(metrics.ssim(IMAGES, noisy), expected, atol=1e-4)


def test_the_leak_score_sees_a_residual_that_traces_the_secrets_outlines_and_not_one_of_noise():
    cover = np.full((96, 128, 3), 120.0)
    secret = np.zeros((96, 128, 3))
    secret[30:70, 40:90] = 255  # a bright rectangle: its outline is the secret's structure
    outline = np.zeros((96, 128, 1))
    outline[29:32, 39:91] = outline[68:71, 39:91] = outline[29:71, 39:42] = outline[29:71, 88:91] = 6
    noise = RNG.normal(0, 3, cover.shape)
    assert metrics.leak(cover, cover + outline + noise, secret)[0] > 0.5
    assert abs(metrics.leak(cover, cover + noise, secret)[0]) < 0.1


def test_the_grid_ratio_is_about_one_for_noise_and_high_for_a_residual_that_jumps_at_tile_borders():
    cover = RNG.integers(0, 256, (128, 160, 3)).astype(np.float64)
    noise = RNG.normal(0, 2, cover.shape)
    tiles = np.kron(RNG.normal(0, 4, (4, 5)), np.ones((32, 32)))[..., None]  # one offset per 32x32 tile
    assert 0.9 < metrics.grid_ratio(cover, cover + noise)[0] < 1.1
    assert metrics.grid_ratio(cover, cover + noise + tiles)[0] > 1.5
    assert 0.9 < metrics.grid_ratio(cover, cover + noise + tiles, tile=20)[0] < 1.3  # not this grid


def test_summary_has_mean_and_percentiles():
    summary = metrics.summarize(np.arange(101))
    assert summary["mean"] == 50 and summary["p5"] == 5 and summary["p95"] == 95


@pytest.mark.parametrize("bits", [1, 2, 3, 4])
def test_lsb_recovers_exactly_the_k_most_significant_bits(bits):
    covers, secrets = IMAGES, IMAGES[::-1]
    stego = lsb_hide(covers, secrets, bits)
    revealed = lsb_reveal(stego, bits)
    np.testing.assert_array_equal(revealed >> (8 - bits), secrets >> (8 - bits))
    np.testing.assert_array_equal(stego >> bits, covers >> bits)  # the cover keeps its top 8-k bits
    # mid-point reconstruction: the error is at most half an interval
    assert np.abs(revealed.astype(int) - secrets).max() <= 2 ** (8 - bits) // 2


@pytest.mark.parametrize("bits", [1, 2, 3, 4])
def test_nearest_level_lsb_hides_the_same_bits_closer_to_the_cover(bits):
    covers, secrets = IMAGES, IMAGES[::-1]
    plain, nearest = lsb_hide(covers, secrets, bits), lsb_hide(covers, secrets, bits, nearest=True)
    np.testing.assert_array_equal(lsb_reveal(nearest, bits), lsb_reveal(plain, bits))
    change = np.abs(nearest.astype(int) - covers)
    assert (change <= np.abs(plain.astype(int) - covers)).all()
    inside = (covers >= 2**bits) & (covers <= 255 - 2**bits)  # away from 0 and 255 a nearer level always exists
    assert change[inside].max() <= 2 ** (bits - 1)


@pytest.mark.parametrize("codec", ["webp", "jpeg"])
def test_a_compressed_secret_in_the_low_bits_reveals_from_the_png_and_never_crashes_when_damaged(codec):
    from pixinpix_tf.images import read_image
    from pixinpix_tf.inference.tiling import fit_secret

    cover = read_image(ROOT / "pixinpix_tf" / "assets" / "samples" / "cover.png")
    secret = fit_secret(read_image(ROOT / "pixinpix_tf" / "assets" / "samples" / "secret.png"), *cover.shape[:2])
    for bits in (1, 2):
        stego = compressed_hide(cover[None], secret[None], bits, codec)
        assert (stego >> bits == cover[None] >> bits).all()  # only the k low bits change
        revealed = compressed_reveal(stego, bits)
        assert revealed.shape == (1, *secret.shape) and metrics.psnr(secret, revealed[0])[0] > 25 + 3 * bits
        for damaged in (DISTORTIONS["jpeg"](stego, 5), DISTORTIONS["noise"](stego, 1), np.zeros_like(stego)):
            assert (compressed_reveal(damaged, bits) == 128).all()  # a damaged payload: mid-grey, no error
    assert metrics.psnr(cover, compressed_hide(cover[None], secret[None], 1, codec)[0])[0] > 50


@pytest.mark.parametrize("name", list(DISTORTIONS))
def test_each_distortion_is_the_identity_at_zero_and_changes_the_image_otherwise(name):
    distortion = DISTORTIONS[name]
    np.testing.assert_array_equal(distortion(IMAGES, 0), IMAGES)
    for strength in distortion.strengths:
        distorted = distortion(IMAGES, strength)
        assert distorted.dtype == np.uint8
        if distortion.keeps_size:
            assert distorted.shape == IMAGES.shape and not np.array_equal(distorted, IMAGES), (name, strength)
        else:  # a crop: the top-left rows and columns are gone, the rest is untouched
            np.testing.assert_array_equal(distorted, IMAGES[:, int(strength):, int(strength):])


def test_photo_figures_score_a_cropped_stego_against_the_secret_cropped_alike_with_psnr_and_ssim(tmp_path):
    from PIL import Image

    from pixinpix_tf.analysis import evaluate

    y, x = np.mgrid[0:48, 0:64]
    for i in range(2):  # smooth images, which WebP compresses into the lowest bit plane
        image = np.stack([x * 3 + 20 * i, y * 4, (x + y) * 2], axis=-1)
        image = image + np.random.default_rng(i).normal(0, 2, (48, 64, 3))
        Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(tmp_path / f"p{i}.png")
    lsb, webp = registry.get("lsb4"), registry.get("webp1")
    distortions = (("crop", 5.0), ("jpeg", 25.0))
    for method, survives_crop in ((lsb, True), (webp, False)):
        figures = evaluate.photo_figures(method, tmp_path, distortions=distortions)
        assert set(figures["revealed_ssim_after"]) == set(figures["revealed_psnr_after"]) == {
            "crop pixels 5", "jpeg quality 75"}
        after_crop = figures["revealed_psnr_after"]["crop pixels 5"]
        if survives_crop:  # LSB is per pixel: the crop reveals as well as the PNG
            assert after_crop == pytest.approx(figures["revealed_psnr"], abs=0.2)
        else:  # the byte stream is cut: a mid-grey image, no error
            assert after_crop < figures["revealed_psnr"] - 10
        assert figures["per_photo"]["p0.png"]["ssim after crop pixels 5"] <= 1


def test_photo_figures_list_a_refused_cover_leave_it_out_of_the_stego_figures_and_count_it_as_grey(tmp_path):
    from PIL import Image

    from pixinpix_tf.analysis import evaluate
    from pixinpix_tf.errors import ImageError

    rng = np.random.default_rng(0)
    for name in ("a", "b", "flat"):
        image = np.full((40, 40, 3), 90, np.uint8) if name == "flat" else rng.integers(0, 256, (40, 40, 3))
        Image.fromarray(image.astype(np.uint8)).save(tmp_path / f"{name}.png")

    class Fussy(Method):
        name = "fussy"

        def hide(self, cover, secret, key=None, progress=None):
            if (cover == 90).all():
                raise ImageError("too flat")
            return cover ^ 1  # one level off everywhere: 48.13 dB

        def reveal(self, stego, key=None):
            raise NothingRevealed("nothing here")

    method = Fussy()
    figures = evaluate.photo_figures(method, tmp_path, distortions=(("jpeg", 25.0),))
    assert figures["refused"] == ["flat.png"] and figures["photos"] == 3
    assert figures["stego_psnr"] == pytest.approx(48.13, abs=0.01) == figures["min_stego_psnr"]
    grey = figures["per_photo"]["flat.png"]
    assert np.isnan(grey["stego_psnr"]) and grey["revealed_psnr"] == grey["jpeg quality 75"] > 0


def test_evaluate_on_a_tiny_mock_setup_writes_all_outputs(tmp_path, mock_tfds, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    save_tiny_model(run_dir / "best.keras")
    out = tmp_path / "eval"
    with mock_tfds(24):
        code = main(["evaluate", str(run_dir), "--cover", "cifar10", "--secret", "mnist", "--num", "16",
                     "--out", str(out), "--verbose", "0"])
    assert code == 0, capsys.readouterr().err
    assert "stego PSNR" in capsys.readouterr().out
    results = json.loads((out / "metrics.json").read_text())
    assert results["pairs"] == 16
    for row in ("float", "8bit"):
        for part in ("stego", "revealed"):
            assert set(results["pixinpix"][row][part]) == {"psnr", "ssim", "apd", "rmse"}
            assert set(results["pixinpix"][row][part]["psnr"]) == {"mean", "p5", "p25", "p50", "p75", "p95"}
    # every distortion but the crop, which leaves a 32x32 pair smaller than the tile (photos have it)
    assert set(results["pixinpix"]["distortions"]) == {name for name, d in DISTORTIONS.items() if d.keeps_size}
    assert set(results["lsb"]) == {f"lsb{k}{variant}" for k in (1, 2, 3, 4) for variant in ("", "-nearest")}
    jpeg_rows = set(results["lsb"]["lsb2"]["distortions"]["jpeg"])
    assert jpeg_rows == {"quality 95", "quality 90", "quality 75", "quality 50"}
    assert set(results["digit_accuracy"]) >= {"original", "pixinpix_8bit"}
    report = (out / "report.md").read_text()
    assert "PixInPix, 8-bit stego (headline)" in report and "lsb4" in report and "jpeg quality 50" in report
    assert set(results["compressed"]) == {f"{codec}{k}" for codec in ("webp", "jpeg") for k in (1, 2, 3, 4)}
    assert "| webp1 |" in report and "jpeg4" in report
    for figure in ("samples.png", "robustness.png"):
        assert (out / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_refine_refines_the_stego_images_and_says_so(tmp_path, mock_tfds, capsys):
    model_file = tmp_path / "model.keras"
    save_tiny_model(model_file)
    with mock_tfds(24):
        for steps in (0, 5):
            assert main(["evaluate", str(model_file), "--cover", "cifar10", "--secret", "mnist", "--num", "8",
                         "--out", str(tmp_path / f"eval{steps}"), "--verbose", "0", "--refine", str(steps)]) == 0
    plain, refined = (json.loads((tmp_path / f"eval{steps}" / "metrics.json").read_text()) for steps in (0, 5))
    assert plain["refine_steps"] == 0 and refined["refine_steps"] == 5
    assert refined["pixinpix"]["8bit"]["stego"] != plain["pixinpix"]["8bit"]["stego"]
    assert "stego refined for 5 steps" in (tmp_path / "eval5" / "report.md").read_text()
    assert main(["evaluate", str(model_file), "--refine", "-2"]) == 2
    assert "--refine must be >= 0" in capsys.readouterr().err


@pytest.mark.parametrize("make_path, message", [
    (lambda tmp: tmp / "missing.keras", "no such run directory, .keras file or folder"),
    (lambda tmp: tmp, "a folder with no best.keras, last.keras"),
    (lambda tmp: (tmp / "junk.keras").write_bytes(b"not a zip") and tmp / "junk.keras", "cannot load"),
])
def test_evaluate_rejects_what_is_not_a_model_in_one_line(tmp_path, capsys, make_path, message):
    code = main(["evaluate", str(make_path(tmp_path)), "--num", "4", "--verbose", "0"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1


def test_only_digit_secrets_get_a_digit_accuracy(tmp_path, mock_tfds):
    model = tmp_path / "tiny.keras"
    save_tiny_model(model)
    with mock_tfds(24):
        assert main(["evaluate", str(model), "--cover", "cifar10", "--secret", "cifar10:test", "--num", "8",
                     "--out", str(tmp_path / "eval"), "--verbose", "0"]) == 0
    results = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert "digit_accuracy" not in results
    assert "Digit classifier" not in (tmp_path / "eval" / "report.md").read_text()


def test_tradeoff_recipe_trains_one_model_per_weight_and_plots_them_with_lsb(tmp_path, image_folders):
    covers, secrets = image_folders
    out = tmp_path / "tradeoff"
    import_script("tradeoff").main(["--cover", covers, "--secret", secrets, "--preset", "tiny",
                                    "--weights", "0.5", "2", "--num", "8", "--out", str(out)])
    points = json.loads((out / "tradeoff.json").read_text())
    assert set(points["pixinpix"]) == {"0.5", "2.0"} and set(points["lsb"]) == {
        f"lsb{k}{variant}" for k in (1, 2, 3, 4) for variant in ("", "-nearest")}
    for point in [*points["pixinpix"].values(), *points["lsb"].values()]:
        assert set(point) == {"stego", "revealed"} and all(np.isfinite(v) for v in point.values())
    assert (out / "w0.5" / "eval" / "metrics.json").is_file() and (out / "w2" / "best.keras").is_file()
    assert (out / "tradeoff.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_frontier_plots_evaluated_models_against_lsb(tmp_path, capsys):
    from pixinpix_tf.analysis.evaluate import evaluate_arrays
    from pixinpix_tf.analysis.report import write_outputs

    model = tiny_model(embed_bits=3)
    results = evaluate_arrays(model, IMAGES, IMAGES[::-1], verbose=0)
    write_outputs(results, tmp_path / "eval", "tiny")
    frontier = import_script("frontier")
    frontier.main([f"tiny lowbits={tmp_path / 'eval'}", "--out", str(tmp_path / "f.png")])
    stego, revealed = (results["pixinpix"]["8bit"][part]["psnr"]["mean"] for part in ("stego", "revealed"))
    assert f"tiny lowbits: stego {stego:.2f} dB, revealed {revealed:.2f} dB" in capsys.readouterr().out
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(SystemExit):
        frontier.main([str(tmp_path), "--out", str(tmp_path / "g.png")])  # no LABEL=
    assert not (tmp_path / "g.png").exists()
