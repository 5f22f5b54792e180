"""The pretrained models shipped in the package, on real images.

Every threshold is a figure from the model's `figures.json` (what
`scripts/ship_pretrained.py` measured on the shipped files, shown in its model
card) minus MARGIN_DB, so a worse model, a broken tiling, a scrambled weight
file or a lossy save path fails them.
"""

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from pixinpix_tf import api, demo

from pixinpix_tf.analysis import evaluate, metrics

from pixinpix_tf.inference import cards, loading
from pixinpix_tf.cli import main
from pixinpix_tf.inference.tiling import fit_secret

from conftest import PHOTOS_DIR

SAMPLES = demo.SAMPLES
SHIPPED = ("imagenet-in-cifar10", "mnist-in-cifar10", "photo-robust")
ROBUST = "photo-robust"  # trained through JPEG; its card says which JPEG qualities it survives
# The same files and code reproduce the card's figures to rounding; the margin absorbs only
# the last bit of float sums in another order (onnxruntime and Keras thread counts).
MARGIN_DB = 0.05


def figures(name: str) -> dict:
    return json.loads((loading.PRETRAINED_DIR / name / "figures.json").read_text())


def test_every_model_ships_with_float16_weights_onnx_files_a_card_and_its_training_stages():
    assert set(SHIPPED) <= set(loading.available())
    assert api.DEFAULT_MODEL in SHIPPED
    for name in SHIPPED:
        folder = loading.PRETRAINED_DIR / name
        assert (folder / "weights.npz").stat().st_size < 20 * 2**20
        assert (folder / "onnx" / "hide.onnx").is_file() and (folder / "onnx" / "reveal.onnx").is_file()
        card = (folder / "MODEL_CARD.md").read_text()
        pairs = figures(name)["evaluation"]["pairs"]
        assert f"`pixinpix evaluate {name}` figures ({pairs:,} test pairs" in card and "Photos: kodak (24" in card
        stages = json.loads((folder / "stages.json").read_text())
        assert stages[-1]["config"] == json.loads((folder / "training.json").read_text())
        assert f"for {sum(stage['epochs'] for stage in stages)} epochs" in card
        assert f"{figures(name)['evaluation']['revealed_psnr']:.2f}" in card


def psnr(a, b) -> float:
    return float(metrics.psnr(np.asarray(a), np.asarray(b))[0])


def round_trip(cover_file, secret_file, tmp_path, capsys, *hide_options):
    """`pixinpix hide` then `pixinpix reveal` with the default network; (stego PSNR, revealed PSNR)."""
    stego, revealed = tmp_path / "stego.png", tmp_path / "revealed.png"
    network = ["--model", api.DEFAULT_MODEL]
    assert main(["hide", str(cover_file), str(secret_file), "-o", str(stego), "--report", *network,
                 *hide_options]) == 0
    assert main(["reveal", str(stego), "-o", str(revealed), "--secret", str(secret_file), "--report"]) == 0
    printed = capsys.readouterr().out
    assert "stego vs cover: PSNR" in printed and "revealed vs secret: PSNR" in printed
    cover = np.asarray(Image.open(cover_file).convert("RGB"))
    secret = fit_secret(np.asarray(Image.open(secret_file).convert("RGB")), *cover.shape[:2])
    return psnr(cover, Image.open(stego)), psnr(secret, Image.open(revealed))


def test_the_default_model_hides_and_reveals_the_bundled_photo_pair_as_its_card_says(tmp_path, capsys):
    card = figures(api.DEFAULT_MODEL)["samples"]["photo pair"]
    stego_psnr, revealed_psnr = round_trip(SAMPLES / "cover.png", SAMPLES / "secret.png", tmp_path, capsys)
    assert stego_psnr > card["stego_psnr"] - MARGIN_DB and revealed_psnr > card["revealed_psnr"] - MARGIN_DB


@pytest.mark.slow
def test_the_same_hide_on_both_backends_gives_the_same_stego_within_one_level(tmp_path):
    cover, secret = (np.asarray(Image.open(SAMPLES / f"{name}.png")) for name in ("cover", "secret"))
    stegos = [api.hide(cover, secret, api.DEFAULT_MODEL, backend=backend) for backend in ("onnx", "keras")]
    difference = np.abs(stegos[0].astype(int) - stegos[1])
    assert difference.max() <= 1 and (difference > 0).mean() < 0.01


@pytest.mark.slow
def test_refinement_reveals_the_bundled_pair_better_at_the_same_stego_quality(tmp_path, capsys):
    plain = round_trip(SAMPLES / "cover.png", SAMPLES / "secret.png", tmp_path, capsys)
    refined = round_trip(SAMPLES / "cover.png", SAMPLES / "secret.png", tmp_path, capsys, "--refine", "10")
    assert refined[1] > plain[1] + 2 and refined[0] > plain[0] - 0.5  # what refinement is for


@pytest.mark.slow
def test_the_default_model_on_kodak_gives_its_card_figures():
    kodak = PHOTOS_DIR / "kodak"
    if not (kodak / "kodim01.png").is_file():
        pytest.skip(f"Kodak photos not found in {kodak} (set PIXINPIX_PHOTOS)")
    expected = figures(api.DEFAULT_MODEL)["photos"]["kodak"][str(api.DEFAULT_REFINE_STEPS)]
    measured = evaluate.photo_figures(api.load_method(), kodak)  # 24 photos, each hiding the next
    for key in ("stego_psnr", "stego_ssim", "revealed_psnr"):
        assert measured[key] > expected[key] - (MARGIN_DB if key.endswith("psnr") else 0.001), key


@pytest.mark.slow
def test_the_demo_with_the_shipped_models_gives_their_card_figures(tmp_path):
    rows = demo.run_demo(tmp_path / "demo")
    digits = [row for row in rows if row["image"].startswith("digit")]
    photo = next(row for row in rows if row["image"] == "photo")
    digit_card = figures(demo.DIGITS_MODEL)["samples"]["digits"]
    network_card = figures(api.DEFAULT_MODEL)["samples"]["photo pair"]  # the default network on the same photo
    assert len(digits) == 6
    assert min(row["stego_psnr"] for row in digits) > digit_card["min_stego_psnr"] - MARGIN_DB
    assert min(row["revealed_psnr"] for row in digits) > digit_card["min_revealed_psnr"] - MARGIN_DB
    # the photo's method beats the default network on it, stego and secret alike
    assert photo["stego_psnr"] > network_card["stego_psnr"] and photo["revealed_psnr"] > network_card["revealed_psnr"]
    assert (tmp_path / "demo" / "digits.png").is_file() and (tmp_path / "demo" / "photo.png").is_file()
    zoom = np.asarray(Image.open(tmp_path / "demo" / "photo_zoom.png"), int)
    side = (zoom.shape[1] - 4 * demo.ZOOM) // 2
    assert np.abs(zoom[:, :side] - zoom[:, -side:]).max() <= 1  # the smoothest area: no level moves by more than 1


@pytest.mark.slow
def test_the_default_model_exports_to_onnx_within_the_parity_limit(tmp_path):
    from pixinpix_tf.export import exporter

    metadata = exporter.export_model(api.DEFAULT_MODEL, tmp_path / "export", formats=("onnx",))
    assert {f"{name}.onnx@{batch}" for name in ("hide", "reveal", "pixinpix") for batch in exporter.PARITY_BATCHES} \
        <= set(metadata["parity_max_abs_difference"])
    parity = metadata["parity_max_abs_difference"]
    assert max(v for k, v in parity.items() if "_image.onnx_" not in k) <= exporter.TOLERANCE
    for name in ("hide_image", "reveal_image"):  # uint8 images
        assert parity[f"{name}.onnx_levels"] <= 1 and parity[f"{name}.onnx_fraction_off"] <= exporter.MAX_FRACTION_OFF


@pytest.mark.slow
def test_the_robust_model_gives_its_card_figures_on_kodak_photos_after_jpeg_and_resizing(tmp_path):
    kodak = PHOTOS_DIR / "kodak"
    if not (kodak / "kodim01.png").is_file():
        pytest.skip(f"Kodak photos not found in {kodak} (set PIXINPIX_PHOTOS)")
    files = sorted(kodak.glob("*.png"))[:4]
    for file in files:
        shutil.copy(file, tmp_path)
    card = figures(ROBUST)["photos"]["kodak"]["0"]["per_photo"]
    measured = evaluate.photo_figures(api.load_method(ROBUST), tmp_path,
                                      distortions=evaluate.PHOTO_DISTORTIONS)["per_photo"]
    for file in files[:-1]:  # each hides the next, as in the card (the last one hides the first here)
        for key, value in card[file.name].items():
            if key.startswith(("stego_psnr", "revealed_psnr", "jpeg", "resize", "noise")):
                assert measured[file.name][key] > value - MARGIN_DB, (file.name, key)


def test_the_robust_model_writes_a_jpeg_stego_at_the_quality_its_card_allows_and_it_still_reveals(tmp_path, capsys):
    card = figures(ROBUST)
    quality = card["jpeg_safe_quality"]
    assert quality is not None, "the robust model's card says it survives no JPEG"
    stego, revealed, low = tmp_path / "stego.jpg", tmp_path / "revealed.png", tmp_path / "low.jpg"
    hide = ["hide", str(SAMPLES / "cover.png"), str(SAMPLES / "secret.png"), "--model", ROBUST, "-o"]
    assert main(hide + [str(stego), "--quality", str(quality)]) == 0  # no --allow-lossy needed
    assert main(["reveal", str(stego), "-o", str(revealed), "--model", ROBUST]) == 0
    cover = np.asarray(Image.open(SAMPLES / "cover.png").convert("RGB"))
    secret = fit_secret(np.asarray(Image.open(SAMPLES / "secret.png").convert("RGB")), *cover.shape[:2])
    from_png = card["samples"]["photo pair"]["revealed_psnr"]
    assert psnr(secret, Image.open(revealed)) > from_png - 2 * cards.JPEG_SURVIVAL_LOSS_DB
    capsys.readouterr()
    if quality > 1:  # below the card's quality it is refused
        assert main(hide + [str(low), "--quality", str(quality - 1)]) == 2
        assert "destroys what photo-robust hides" in capsys.readouterr().err and not low.exists()
