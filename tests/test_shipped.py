"""The pretrained models shipped in the package, on real images.

Thresholds sit a little below what the shipped models measured (model cards,
and `pixinpix demo` / `pixinpix hide --report` on these files), so a worse
model, a broken tiling or a lossy save path fails them.
"""

import json

import numpy as np
import pytest
from PIL import Image

from pixinpix_tf import demo, metrics, pretrained
from pixinpix_tf.cli import main
from pixinpix_tf.tiling import fit_secret

from conftest import PHOTOS_DIR

SAMPLES = demo.SAMPLES
SHIPPED = ("imagenet-in-cifar10", "mnist-in-cifar10")
# Measured 2026-11-26 with the shipped models and `pixinpix hide`'s default 10 refinement
# steps (PSNR in dB, 8-bit PNG round trip): bundled pair 32.62 / 33.96, kodim23 hiding
# kodim15 33.64 / 32.16 (imagenet-in-cifar10, the wide network grown to 48 base filters),
# demo digits at least 37.65 stego and 40.56 revealed (mnist-in-cifar10 after its second stage).
BUNDLED_STEGO_PSNR, BUNDLED_REVEALED_PSNR = 32.1, 33.4
KODAK_STEGO_PSNR, KODAK_REVEALED_PSNR = 33.1, 31.6
DEMO_DIGIT_STEGO_PSNR, DEMO_DIGIT_REVEALED_PSNR = 37.1, 40.0
# The bundled pair with `--refine 0`, the hiding network alone: 31.36 / 30.83.
UNREFINED_BUNDLED_STEGO_PSNR, UNREFINED_BUNDLED_REVEALED_PSNR = 30.8, 30.3


def test_both_models_ship_with_float16_weights_under_20_mb_a_card_and_their_training_stages():
    assert set(SHIPPED) <= set(pretrained.available())
    assert pretrained.DEFAULT_MODEL in SHIPPED
    for name in SHIPPED:
        folder = pretrained.PRETRAINED_DIR / name
        assert (folder / "weights.npz").stat().st_size < 20 * 2**20
        card = (folder / "MODEL_CARD.md").read_text()
        assert "`pixinpix evaluate` figures (10,000 test pairs" in card and "Photos: kodak (24" in card
        stages = json.loads((folder / "stages.json").read_text())
        assert stages[-1]["config"] == json.loads((folder / "training.json").read_text())
        assert f"for {sum(stage['epochs'] for stage in stages)} epochs" in card


def psnr(a, b) -> float:
    return float(metrics.psnr(np.asarray(a), np.asarray(b))[0])


def round_trip(cover_file, secret_file, tmp_path, capsys, *hide_options):
    """`pixinpix hide` then `pixinpix reveal` with the default model; (stego PSNR, revealed PSNR)."""
    stego, revealed = tmp_path / "stego.png", tmp_path / "revealed.png"
    assert main(["hide", str(cover_file), str(secret_file), "-o", str(stego), "--report", *hide_options]) == 0
    assert main(["reveal", str(stego), "-o", str(revealed), "--secret", str(secret_file), "--report"]) == 0
    printed = capsys.readouterr().out
    assert "stego vs cover: PSNR" in printed and "revealed vs secret: PSNR" in printed
    cover = np.asarray(Image.open(cover_file).convert("RGB"))
    secret = fit_secret(np.asarray(Image.open(secret_file).convert("RGB")), *cover.shape[:2])
    return psnr(cover, Image.open(stego)), psnr(secret, Image.open(revealed))


def test_the_default_model_hides_and_reveals_the_bundled_photo_pair(tmp_path, capsys):
    stego_psnr, revealed_psnr = round_trip(SAMPLES / "cover.png", SAMPLES / "secret.png", tmp_path, capsys)
    assert stego_psnr > BUNDLED_STEGO_PSNR and revealed_psnr > BUNDLED_REVEALED_PSNR


def test_without_refinement_the_hiding_network_alone_reveals_the_bundled_pair_worse(tmp_path, capsys):
    stego_psnr, revealed_psnr = round_trip(SAMPLES / "cover.png", SAMPLES / "secret.png", tmp_path, capsys,
                                           "--refine", "0")
    assert stego_psnr > UNREFINED_BUNDLED_STEGO_PSNR and revealed_psnr > UNREFINED_BUNDLED_REVEALED_PSNR
    assert revealed_psnr < BUNDLED_REVEALED_PSNR - 2  # what the default refinement is for


def test_the_default_model_hides_one_kodak_photo_in_another(tmp_path, capsys):
    kodak = PHOTOS_DIR / "kodak"
    if not (kodak / "kodim01.png").is_file():
        pytest.skip(f"Kodak photos not found in {kodak} (set PIXINPIX_PHOTOS)")
    stego_psnr, revealed_psnr = round_trip(kodak / "kodim23.png", kodak / "kodim15.png", tmp_path, capsys)
    assert stego_psnr > KODAK_STEGO_PSNR and revealed_psnr > KODAK_REVEALED_PSNR


def test_the_demo_with_the_shipped_models(tmp_path):
    rows = demo.run_demo(tmp_path / "demo")
    digits = [row for row in rows if row["image"].startswith("digit")]
    photo = next(row for row in rows if row["image"] == "photo")
    assert len(digits) == 6
    assert min(row["stego_psnr"] for row in digits) > DEMO_DIGIT_STEGO_PSNR
    assert min(row["revealed_psnr"] for row in digits) > DEMO_DIGIT_REVEALED_PSNR
    assert photo["stego_psnr"] > BUNDLED_STEGO_PSNR and photo["revealed_psnr"] > BUNDLED_REVEALED_PSNR
    assert (tmp_path / "demo" / "digits.png").is_file() and (tmp_path / "demo" / "photo.png").is_file()


def test_the_default_model_exports_to_onnx_within_the_parity_limit(tmp_path):
    from pixinpix_tf.export import exporter

    metadata = exporter.export_model(pretrained.DEFAULT_MODEL, tmp_path / "export", formats=("onnx",))
    assert {f"{name}.onnx@{batch}" for name in ("hide", "reveal", "pixinpix") for batch in exporter.PARITY_BATCHES} \
        <= set(metadata["parity_max_abs_difference"])
    assert max(metadata["parity_max_abs_difference"].values()) <= exporter.TOLERANCE
