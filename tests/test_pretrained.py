"""Shipping a run as a pretrained model: float16 weights, model card, loading by name."""

import csv
from pathlib import Path

import numpy as np
import pytest

from pixinpix_tf import api, pretrained
from pixinpix_tf.cli import main as cli_main

from conftest import import_script

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "pixinpix_tf" / "assets" / "samples"


def ship(run_dir, into):
    import_script("ship_pretrained").main([str(run_dir), "--name", "tiny-test", "--num", "8",
                                           "--photos", str(SAMPLES), "--into", str(into)])


@pytest.fixture
def shipped(tmp_path, image_folders, monkeypatch):
    from pixinpix_tf.config import get_preset
    from pixinpix_tf.train import run

    covers, secrets = image_folders
    run_dir = tmp_path / "tiny-run"
    run(get_preset("tiny").replace(cover=covers, secret=secrets), run_dir, verbose=0)
    into = tmp_path / "pretrained"
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", into)
    ship(run_dir, into)
    return run_dir, into / "tiny-test"


def test_shipped_model_has_card_and_float16_weights_close_to_the_run(shipped):
    run_dir, folder = shipped
    assert pretrained.available() == ["tiny-test"]
    card = (folder / "MODEL_CARD.md").read_text()
    for text in ("Training config", "`pixinpix evaluate` figures", "| stego |", "| revealed |", "Photos: samples",
                 f"| `--refine {pretrained.DEFAULT_REFINE_STEPS}` (default) |", "| `--refine 0` |"):
        assert text in card
    with np.load(folder / "weights.npz") as arrays:
        assert all(arrays[k].dtype == np.float16 for k in arrays.files)
    original = api.load_model(run_dir)
    model = api.load_model("tiny-test")  # by name
    rng = np.random.default_rng(0)
    cover = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    secret = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    assert np.abs(model.hide(cover, secret) - original.hide(cover, secret)).max() < 0.01


def test_evaluate_by_pretrained_name_reproduces_the_card_figures(shipped, tmp_path, capsys):
    import json

    run_dir, folder = shipped
    assert (folder / "training.json").is_file()
    card_eval = json.loads((run_dir / "eval-tiny-test" / "metrics.json").read_text())
    assert cli_main(["evaluate", "tiny-test", "--num", "8", "--out", str(tmp_path / "again"), "--verbose", "0"]) == 0
    again = json.loads((tmp_path / "again" / "metrics.json").read_text())
    assert again["pixinpix"]["8bit"] == card_eval["pixinpix"]["8bit"]
    head = card_eval["pixinpix"]["8bit"]["stego"]["psnr"]["mean"]
    card = (folder / "MODEL_CARD.md").read_text()
    assert f"| stego | {head:.2f} |" in card
    after_jpeg = card_eval["pixinpix"]["distortions"]["jpeg"]["quality 95"]["psnr"]["mean"]
    assert f"| jpeg quality 95 | {after_jpeg:.2f} |" in card  # the robustness table


def test_a_low_bits_model_ships_without_refinement_rows(tmp_path, image_folders, monkeypatch):
    from pixinpix_tf.config import get_preset
    from pixinpix_tf.train import run

    covers, secrets = image_folders
    run_dir = tmp_path / "tiny-lowbits"
    run(get_preset("tiny").replace(cover=covers, secret=secrets, residual_stego=False, embed_bits=2),
        run_dir, verbose=0)
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path / "pretrained")
    ship(run_dir, tmp_path / "pretrained")
    card = (tmp_path / "pretrained" / "tiny-test" / "MODEL_CARD.md").read_text()
    assert "does not refine this model's stego image" in card
    assert "| `--refine 0` |" in card and f"--refine {pretrained.DEFAULT_REFINE_STEPS}" not in card
    model = api.load_model("tiny-test")
    assert model.embed_bits == 2 and pretrained.default_refine_steps(model) == 0


def test_continuing_a_shipped_model_keeps_its_training_history_in_the_card(shipped, tmp_path):
    import json

    from pixinpix_tf.config import Config
    from pixinpix_tf.train import run

    first_run, folder = shipped
    cfg = Config.from_json((first_run / "config.json").read_text())
    more = tmp_path / "tiny-more"
    wider = cfg.model.base_filters * 2  # the second stage also grows the network
    run(cfg.replace(init_from="tiny-test", epochs=2, learning_rate=5e-4, train_size=32, zoom=2.0,
                    base_filters=wider), more, verbose=0)
    ship(more, folder.parent)
    stages = json.loads((folder / "stages.json").read_text())
    assert [(s["run"], s["epochs"], s["config"]["init_from"]) for s in stages] == [
        ("tiny-run", 1, None), ("tiny-more", 2, "tiny-test")]
    card = (folder / "MODEL_CARD.md").read_text()
    assert f"for 3 epochs ({cfg.train_size + 2 * 32:,} training pairs) in 2 stage(s)" in card
    assert (f"| 2 | `tiny-more` | tiny-test | depth {cfg.model.depth}, {wider} base filters | 0.0005, 1 / 0.75 | 2 "
            "| 2 x 32 |") in card
    with (more / "history.csv").open() as f:
        val_losses = [float(row["val_loss"]) for row in csv.DictReader(f)]
    assert stages[1]["best_epoch"] == 1 + val_losses.index(min(val_losses))  # the epoch best.keras holds
    assert f"| 2 x 32 | {stages[1]['training_hours']:.1f} | {stages[1]['best_epoch']} |" in card


def test_unknown_pretrained_name_is_a_one_line_error(shipped, capsys):
    code = cli_main(["hide", str(SAMPLES / "cover.png"), str(SAMPLES / "secret.png"), "-o", "x.png",
                     "--model", "no-such-model"])
    err = capsys.readouterr().err
    assert code == 2 and "no pretrained model of that name (shipped: tiny-test)" in err and err.count("\n") == 1


def test_demo_writes_pngs_figures_and_a_table(tmp_path, capsys):
    from pixinpix_tf.model import PixInPix

    model = tmp_path / "tiny.keras"
    PixInPix(image_size=32, depth=2, base_filters=4, max_filters=8, convs_per_step=1).save(model)
    out = tmp_path / "demo"
    assert cli_main(["demo", "--out", str(out), "--digits-model", str(model), "--photo-model", str(model)]) == 0
    printed = capsys.readouterr().out
    assert "digit 0" in printed and "photo" in printed and "revealed PSNR" in printed
    names = {p.name for p in out.iterdir()}
    assert {"digits.png", "photo.png", "photo_stego.png", "photo_revealed.png", "digit_5_stego.png"} <= names
    from PIL import Image

    assert Image.open(out / "photo_stego.png").size == (192, 128)


def test_demo_without_shipped_models_says_so_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path / "none")
    assert cli_main(["demo", "--out", str(tmp_path / "demo")]) == 2
    err = capsys.readouterr().err
    assert "mnist-in-cifar10" in err and err.count("\n") == 1
    assert not (tmp_path / "demo").exists()


def test_hide_and_reveal_use_the_default_pretrained_model_when_none_is_given(shipped, tmp_path, monkeypatch):
    from PIL import Image

    monkeypatch.setattr(pretrained, "DEFAULT_MODEL", "tiny-test")
    api._cached_pretrained.cache_clear()
    model = api.load_model("tiny-test")
    cover, secret = Image.open(SAMPLES / "cover.png"), Image.open(SAMPLES / "secret.png")
    stego = api.hide(cover, secret)
    np.testing.assert_array_equal(stego, api.hide(cover, secret, model))
    np.testing.assert_array_equal(api.reveal(stego), api.reveal(stego, model))
    assert cli_main(["hide", str(SAMPLES / "cover.png"), str(SAMPLES / "secret.png"),
                     "-o", str(tmp_path / "stego.png")]) == 0
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "stego.png")), stego)
    assert cli_main(["reveal", str(tmp_path / "stego.png"), "-o", str(tmp_path / "revealed.png")]) == 0
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "revealed.png")), api.reveal(stego, model))
    api._cached_pretrained.cache_clear()
