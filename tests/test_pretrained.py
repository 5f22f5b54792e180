"""Shipping a run as a pretrained model: float16 weights keyed by layer path, ONNX files, model card,
figures.json, loading by name."""

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pixinpix_tf import api

from pixinpix_tf.inference import cards, loading
from pixinpix_tf.methods import networks, registry
from pixinpix_tf.cli import main as cli_main
from pixinpix_tf.errors import ModelError

from conftest import import_script, save_tiny_model, write_images

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "pixinpix_tf" / "assets" / "samples"


def ship(run_dir, into):
    photos = into.parent / "samples"  # three of the bundled photos: the card's photo rows, in seconds
    photos.mkdir(exist_ok=True)
    for name in ("cover.png", "secret.png", "cifar10_0.png"):
        shutil.copy(SAMPLES / name, photos / name)
    import_script("ship_pretrained").main([str(run_dir), "--name", "tiny-test", "--num", "8",
                                           "--photos", str(photos), "--into", str(into)])


@pytest.fixture(scope="module")
def shipped_once(tmp_path_factory):
    """A tiny run, trained and shipped once for the module (its folders are copied for each test)."""
    from pixinpix_tf.config import get_preset
    from pixinpix_tf.nets.train import run

    root = tmp_path_factory.mktemp("shipped")
    covers = write_images(root / "covers", 24, (20, 18), "RGB", seed=1)
    secrets = write_images(root / "secrets", 20, (12, 12), "L", seed=2)
    run(get_preset("tiny").replace(cover=str(covers), secret=str(secrets)), root / "tiny-run", verbose=0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(loading, "PRETRAINED_DIR", root / "pretrained")
        ship(root / "tiny-run", root / "pretrained")
    return root


@pytest.fixture
def shipped(shipped_once, tmp_path, monkeypatch):
    """(run directory, pretrained folder) of the tiny shipped model, copies of this test's own."""
    for name in ("tiny-run", "pretrained", "covers", "secrets"):
        shutil.copytree(shipped_once / name, tmp_path / name)
    monkeypatch.setattr(loading, "PRETRAINED_DIR", tmp_path / "pretrained")
    networks._load.cache_clear()
    return tmp_path / "tiny-run", tmp_path / "pretrained" / "tiny-test"


def test_shipped_model_has_card_and_float16_weights_close_to_the_run(shipped):
    run_dir, folder = shipped
    assert loading.available() == ["tiny-test"]
    card = (folder / "MODEL_CARD.md").read_text()
    for text in ("Training config", "`pixinpix evaluate tiny-test` figures", "| stego |", "| revealed |",
                 "Photos: samples", "| `--refine 0` (default) |", "| `--refine 10` |", "Bundled samples"):
        assert text in card
    original = loading.load_model(run_dir)
    with np.load(folder / "weights.npz") as arrays:  # float16, keyed by each variable's layer path
        assert sorted(arrays.files) == sorted(v.path for v in original.weights)
        assert all(arrays[k].dtype == np.float16 for k in arrays.files)
    model = loading.load_model("tiny-test")  # by name
    rng = np.random.default_rng(0)
    cover = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    secret = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    assert np.abs(model.hide(cover, secret) - original.hide(cover, secret)).max() < 0.01
    figures = json.loads((folder / "figures.json").read_text())
    assert figures["onnx"]["hide"] <= 1 and figures["onnx"]["reveal"] <= 1
    assert f"{figures['samples']['photo pair']['stego_psnr']:.2f}" in card


def test_the_shipped_onnx_files_give_the_keras_model_s_8bit_outputs_by_name(shipped):
    onnx_model, keras_model = api.load_method("tiny-test"), api.load_method("tiny-test", backend="keras")
    assert type(onnx_model.model).__name__ == "OnnxPixInPix" and type(keras_model.model).__name__ == "PixInPix"
    cover, secret = np.asarray(Image.open(SAMPLES / "cover.png")), np.asarray(Image.open(SAMPLES / "secret.png"))
    stego = api.hide(cover, secret, onnx_model)
    assert np.abs(stego.astype(int) - api.hide(cover, secret, keras_model)).max() <= 1
    assert np.abs(api.reveal(stego, onnx_model).astype(int) - api.reveal(stego, keras_model)).max() <= 1


def test_a_weights_file_that_does_not_fit_the_model_is_refused(shipped, tmp_path):
    _, folder = shipped
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    with np.load(folder / "weights.npz") as arrays:
        renamed = {("x" + k if i == 0 else k): arrays[k] for i, k in enumerate(arrays.files)}
    np.savez(broken / "weights.npz", **renamed)
    with pytest.raises(ModelError, match="layer paths differ"):
        loading.load_model(broken)


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
    assert json.loads((folder / "figures.json").read_text())["evaluation"]["stego_psnr"] == head
    after_jpeg = card_eval["pixinpix"]["distortions"]["jpeg"]["quality 95"]["psnr"]["mean"]
    assert f"| jpeg quality 95 | {after_jpeg:.2f} |" in card  # the robustness table


def test_a_low_bits_model_ships_without_refinement_rows(tmp_path, image_folders, monkeypatch):
    from pixinpix_tf.config import get_preset
    from pixinpix_tf.nets.train import run

    covers, secrets = image_folders
    run_dir = tmp_path / "tiny-lowbits"
    run(get_preset("tiny").replace(cover=covers, secret=secrets, residual_stego=False, embed_bits=2),
        run_dir, verbose=0)
    monkeypatch.setattr(loading, "PRETRAINED_DIR", tmp_path / "pretrained")
    ship(run_dir, tmp_path / "pretrained")
    card = (tmp_path / "pretrained" / "tiny-test" / "MODEL_CARD.md").read_text()
    assert "| `--refine 0` (default) |" in card and "| `--refine 10` |" not in card
    model = loading.load_model("tiny-test")
    assert model.embed_bits == 2


def test_continuing_a_shipped_model_keeps_its_training_history_in_the_card(shipped, tmp_path):
    import json

    from pixinpix_tf.config import Config
    from pixinpix_tf.nets.train import run

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


def test_the_card_gets_the_detectability_rows_of_its_model_and_a_reship_replaces_them(shipped, tmp_path):
    _, folder = shipped
    results = tmp_path / "steganalysis.json"
    row = {"stego_psnr": 33.5, "accuracy": 0.9, "auc": 0.95, "train_pairs": 80, "test_pairs": 20}
    results.write_text(json.dumps({"tiny-test": {**row, "secret_side": 1.0}, "tiny-test@0.5": {
        **row, "secret_side": 0.5, "accuracy": 0.7}, "lsb1": {**row, "accuracy": 0.99}}))
    script = import_script("ship_pretrained")
    before = (folder / "MODEL_CARD.md").read_text()
    for _ in range(2):  # a second reship replaces the section instead of adding another
        script.main(["--reship", "tiny-test", "--detectability-only", "--detectability", str(results),
                     "--into", str(folder.parent)])
    card = (folder / "MODEL_CARD.md").read_text()
    assert card.startswith(before.rstrip("\n")) and card.count("## Detectability") == 1
    assert "| 1 | 33.50 | 90.0% | 0.950 | 20 |" in card and "| 0.5 | 33.50 | 70.0% |" in card
    assert "99.0%" not in card  # another method's row
    assert set(json.loads((folder / "figures.json").read_text())["detectability"][results.as_posix()]) == {
        "tiny-test", "tiny-test@0.5"}


def test_unknown_pretrained_name_is_a_one_line_error(shipped, capsys):
    code = cli_main(["hide", str(SAMPLES / "cover.png"), str(SAMPLES / "secret.png"), "-o", "x.png",
                     "--model", "no-such-model"])
    err = capsys.readouterr().err
    assert code == 2 and "no pretrained model of that name (shipped: tiny-test)" in err and err.count("\n") == 1
    assert "no such run directory, .keras file or folder" in err  # what was tried


def test_demo_writes_pngs_figures_and_a_table(tmp_path, capsys):
    model = save_tiny_model(tmp_path / "tiny.keras")
    out = tmp_path / "demo"
    assert cli_main(["demo", "--out", str(out), "--digits-model", str(model), "--photo-model", str(model)]) == 0
    printed = capsys.readouterr().out
    assert "digit 0" in printed and "photo" in printed and "revealed PSNR" in printed
    names = {p.name for p in out.iterdir()}
    assert {"digits.png", "photo.png", "photo_zoom.png", "photo_stego.png", "photo_revealed.png",
            "digit_5_stego.png"} <= names
    assert Image.open(out / "photo_stego.png").size == (192, 128)


def test_demo_without_shipped_models_says_so_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(loading, "PRETRAINED_DIR", tmp_path / "none")
    assert cli_main(["demo", "--out", str(tmp_path / "demo")]) == 2
    err = capsys.readouterr().err
    assert "mnist-in-cifar10" in err and err.count("\n") == 1
    assert not (tmp_path / "demo").exists()


def test_hide_picks_the_method_by_channel_and_reveal_falls_back_to_the_default_network(shipped, tmp_path,
                                                                                       monkeypatch):
    monkeypatch.setattr(registry, "DEFAULT", "tiny-test")
    model = api.load_method("tiny-test")
    cover, secret = Image.open(SAMPLES / "cover.png"), Image.open(SAMPLES / "secret.png")
    stego = api.hide(cover, secret)  # a lossless channel: avif1, which reveal finds without being told
    np.testing.assert_array_equal(stego, api.hide(cover, secret, "avif1"))
    np.testing.assert_array_equal(api.reveal(stego), api.reveal(stego, "avif1"))
    keyed = api.hide(cover, secret, key="k")  # dct-code refuses this smooth cover: the default network takes it
    np.testing.assert_array_equal(keyed, api.hide(cover, secret, model, key="k"))
    network_stego = api.hide(cover, secret, model)  # no code finds a payload in it: the default network reveals
    np.testing.assert_array_equal(api.reveal(network_stego), api.reveal(network_stego, model))
    assert cli_main(["hide", str(SAMPLES / "cover.png"), str(SAMPLES / "secret.png"),
                     "-o", str(tmp_path / "stego.png")]) == 0
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "stego.png")), stego)
    assert cli_main(["reveal", str(tmp_path / "stego.png"), "-o", str(tmp_path / "revealed.png")]) == 0
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "revealed.png")), api.reveal(stego))


def test_jpeg_output_is_allowed_only_at_qualities_the_model_card_says_it_survives(shipped, tmp_path, capsys):
    _, folder = shipped
    figures = cards.read(folder)
    cover, secret = str(SAMPLES / "cover.png"), str(SAMPLES / "secret.png")
    if figures["jpeg_safe_quality"] is None:  # the tiny model survives no JPEG: refused, with the way out
        assert cli_main(["hide", cover, secret, "-o", str(tmp_path / "s.jpg"), "--model", "tiny-test"]) == 2
        assert "destroys what tiny-test hides" in capsys.readouterr().err
    cards.update(folder, jpeg_safe_quality=90)  # as a robust model's card would say
    assert cli_main(["hide", cover, secret, "-o", str(tmp_path / "s.jpg"), "--model", "tiny-test",
                     "--quality", "90"]) == 0
    assert Image.open(tmp_path / "s.jpg").format == "JPEG"
    assert cli_main(["hide", cover, secret, "-o", str(tmp_path / "t.jpg"), "--model", "tiny-test",
                     "--quality", "75"]) == 2
    assert "JPEG at quality 75 destroys what tiny-test hides" in capsys.readouterr().err
    plain = save_tiny_model(tmp_path / "plain.keras")  # a model without a card
    assert cli_main(["hide", cover, secret, "-o", str(tmp_path / "u.jpg"), "--model", str(plain)]) == 2
    assert "use --model tiny-test or --model dct-code, which survive it" in capsys.readouterr().err
    assert not (tmp_path / "t.jpg").exists() and not (tmp_path / "u.jpg").exists()
