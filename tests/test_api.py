"""Hide and reveal real images of any size: tiling, the Python API, `pixinpix hide/reveal`."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pixinpix_tf import api
from pixinpix_tf.cli import main
from pixinpix_tf.errors import ConfigError, ImageError
from pixinpix_tf.images import as_uint8_image, read_image
from pixinpix_tf.inference.loading import load_model
from pixinpix_tf.inference.tiling import fit_secret, hide_image, reveal_image

from conftest import save_tiny_model

SAMPLES = Path(__file__).resolve().parents[1] / "pixinpix_tf" / "assets" / "samples"
RNG = np.random.default_rng(0)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("model") / "tiny.keras")


def test_tiling_is_exact_bookkeeping_at_any_size_and_chunk():
    cover = RNG.integers(0, 256, (70, 101, 3), dtype=np.uint8)
    secret = RNG.integers(0, 256, (50, 40, 3), dtype=np.uint8)
    for chunk in (1, 3, 1000):
        np.testing.assert_array_equal(hide_image(lambda c, s: c, cover, secret, chunk=chunk), cover)
        np.testing.assert_array_equal(hide_image(lambda c, s: s, cover, secret, chunk=chunk),
                                      fit_secret(secret, 70, 101))
        np.testing.assert_array_equal(reveal_image(lambda s: s, cover, 3, chunk=chunk), cover)


def test_keep_aspect_fits_the_secret_with_black_bars():
    secret = np.full((20, 40, 3), 200, np.uint8)
    fitted = fit_secret(secret, 64, 64, keep_aspect=True)
    assert fitted.shape == (64, 64, 3)
    assert fitted[0].max() == 0 and fitted[-1].max() == 0 and fitted[32].min() > 150


def test_covers_smaller_than_the_tile_are_rejected():
    with pytest.raises(ImageError, match="at least 32x32"):
        hide_image(lambda c, s: c, np.zeros((31, 64, 3), np.uint8), np.zeros((8, 8, 3), np.uint8))


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "I;16"])
def test_common_image_modes_are_accepted(tmp_path, mode):
    rgb = Image.fromarray(RNG.integers(0, 256, (40, 48, 3), dtype=np.uint8))
    image = Image.fromarray((np.asarray(rgb.convert("L"), np.uint16) * 257)) if mode == "I;16" else rgb.convert(mode)
    image.save(tmp_path / "image.png")
    array = read_image(tmp_path / "image.png", 3)
    assert array.shape == (40, 48, 3) and array.dtype == np.uint8
    if mode == "I;16":  # 16-bit keeps its top 8 bits
        np.testing.assert_array_equal(array[..., 0], np.asarray(rgb.convert("L")))
    if mode == "RGBA":  # alpha is dropped, colours are kept
        np.testing.assert_array_equal(array, np.asarray(rgb))


def test_python_api_takes_pil_or_numpy_of_any_size_and_returns_8bit(model_file):
    model = load_model(model_file)
    cover, secret = Image.open(SAMPLES / "cover.png"), Image.open(SAMPLES / "secret.png")
    stego = api.hide(cover, secret, model)
    assert stego.shape == (128, 192, 3) and stego.dtype == np.uint8
    np.testing.assert_array_equal(api.hide(np.asarray(cover), np.asarray(secret), model), stego)
    np.testing.assert_array_equal(api.hide(cover, secret, str(model_file)), stego)  # by path
    revealed = api.reveal(stego, model)
    assert revealed.shape == (128, 192, 3) and revealed.dtype == np.uint8
    # the same tiles as the 32x32 model itself: the first tile equals a direct call
    tile_cover, tile_secret = as_uint8_image(cover, 3)[:32, :32], fit_secret(np.asarray(secret), 128, 192)[:32, :32]
    for steps in (0, 10):
        direct = api.load_method(model, refine_steps=steps).hide_tiles(tile_cover[None], tile_secret[None])[0]
        tiled = api.hide(cover, secret, model, refine_steps=steps)
        assert np.abs(tiled[:32, :32].astype(int) - np.round(direct * 255)).max() <= 1


def test_hide_and_reveal_commands_round_trip_the_bundled_pair(model_file, tmp_path, capsys):
    stego, revealed = tmp_path / "stego.png", tmp_path / "revealed.png"
    assert main(["hide", str(SAMPLES / "cover.png"), str(SAMPLES / "secret.png"), "-o", str(stego),
                 "--model", str(model_file), "--report"]) == 0
    out = capsys.readouterr().out
    assert "stego vs cover: PSNR" in out and "SSIM" in out
    assert Image.open(stego).size == (192, 128) and Image.open(stego).format == "PNG"
    assert main(["reveal", str(stego), "-o", str(revealed), "--model", str(model_file),
                 "--secret", str(SAMPLES / "secret.png"), "--report"]) == 0
    assert "revealed vs secret: PSNR" in capsys.readouterr().out
    assert Image.open(revealed).size == (192, 128)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["revealed.png", "stego.png"]


def bad_inputs(tmp: Path):
    (tmp / "text.png").write_text("hello")
    data = (SAMPLES / "cover.png").read_bytes()
    (tmp / "truncated.png").write_bytes(data[: len(data) // 2])
    Image.new("RGB", (31, 40)).save(tmp / "small.png")
    cover, secret = str(SAMPLES / "cover.png"), str(SAMPLES / "secret.png")
    return [
        ([str(tmp / "missing.png"), secret, "-o", str(tmp / "out.png")], "no such file"),
        ([str(tmp / "text.png"), secret, "-o", str(tmp / "out.png")], "not an image"),
        ([str(tmp / "truncated.png"), secret, "-o", str(tmp / "out.png")], "truncated or corrupt"),
        ([str(tmp / "small.png"), secret, "-o", str(tmp / "out.png")], "at least 32x32"),
        ([cover, secret, "-o", str(tmp / "no" / "such" / "out.png")], "does not exist"),
        ([cover, secret, "-o", str(tmp / "out.jpg")], "lossy"),
        ([cover, secret, "-o", str(tmp / "out.bmp")], "*.png"),
        ([cover, secret, "-o", str(tmp / "out.png"), "--refine", "-1"], "refinement steps must be >= 0"),
    ]


def test_bad_input_is_one_line_exit_2_and_leaves_no_file(model_file, tmp_path, capsys):
    for argv, message in bad_inputs(tmp_path):
        code = main(["hide", *argv, "--model", str(model_file)])
        err = capsys.readouterr().err
        assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err, (argv, err)
    assert not list(tmp_path.glob("out*")) and not list(tmp_path.glob(".pixinpix-*"))
    assert not (tmp_path / "no").exists()


def test_an_unwritable_output_folder_is_a_one_line_error(model_file, tmp_path, capsys, monkeypatch):
    import tempfile

    def read_only(*args, **kwargs):  # what a folder without write permission gives (root ignores chmod)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    code = main(["hide", str(SAMPLES / "cover.png"), str(SAMPLES / "secret.png"), "-o", str(tmp_path / "s.png"),
                 "--model", str(model_file)])
    err = capsys.readouterr().err
    assert code == 2 and "cannot write" in err and "Permission denied" in err
    assert list(tmp_path.iterdir()) == []


def test_lossy_output_is_written_only_when_asked(model_file, tmp_path):
    assert main(["hide", str(SAMPLES / "cover.png"), str(SAMPLES / "secret.png"), "-o", str(tmp_path / "s.jpg"),
                 "--model", str(model_file), "--allow-lossy"]) == 0
    assert Image.open(tmp_path / "s.jpg").format == "JPEG"


def test_reveal_report_needs_the_secret(model_file, capsys):
    assert main(["reveal", str(SAMPLES / "cover.png"), "-o", "x.png", "--model", str(model_file), "--report"]) == 2
    assert "--secret" in capsys.readouterr().err


def test_a_low_bits_model_hides_unrefined_by_default_and_refuses_refinement(tmp_path, capsys):
    path = save_tiny_model(tmp_path / "lowbits.keras", embed_bits=3)
    model = load_model(path)
    cover, secret = Image.open(SAMPLES / "cover.png"), Image.open(SAMPLES / "secret.png")
    stego = api.hide(cover, secret, model)  # no refinement: an untrained model is plain 3-bit LSB hiding
    np.testing.assert_array_equal(stego % 8, np.round(fit_secret(np.asarray(secret), 128, 192) / 255 * 7))
    assert np.abs(stego.astype(int) - np.asarray(cover)).max() <= 7
    with pytest.raises(ConfigError, match="cannot be refined"):
        api.hide(cover, secret, model, refine_steps=5)
    out = tmp_path / "stego.png"
    assert main(["hide", str(SAMPLES / "cover.png"), str(SAMPLES / "secret.png"), "-o", str(out),
                 "--model", str(path), "--refine", "5"]) == 2
    err = capsys.readouterr().err
    assert "cannot be refined" in err and err.count("\n") == 1 and not out.exists()


def test_the_package_api_imports_without_tensorflow_and_hides_with_the_default_model(tmp_path):
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from PIL import Image\n"
        "from pixinpix_tf import hide, reveal, load_model\n"
        f"stego = hide(Image.open(r'{SAMPLES / 'cover.png'}'), Image.open(r'{SAMPLES / 'secret.png'}'))\n"
        "assert reveal(stego).shape == stego.shape == (128, 192, 3)\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')], 'TensorFlow imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stderr == "", result.stderr[-2000:]


@pytest.mark.parametrize("shape", [(37, 45), (300, 170)])
def test_whole_image_windows_cover_every_pixel_once_at_sides_the_network_accepts(shape, monkeypatch):
    from pixinpix_tf.inference import tiling

    monkeypatch.setattr(tiling, "WINDOW_PIXELS", 160 * 160)  # the larger shape needs several windows
    cover = RNG.integers(0, 256, (*shape, 3), dtype=np.uint8)
    seen = []

    def network(covers, secrets):
        assert covers.shape[1] % 8 == 0 and covers.shape[2] % 8 == 0 and covers.shape[1] * covers.shape[2] <= 160 * 160
        seen.append(covers.shape)
        return covers

    np.testing.assert_array_equal(hide_image(network, cover, cover, tile=8, whole=True), cover)
    assert len(seen) == (1 if shape == (37, 45) else 8)
    np.testing.assert_array_equal(reveal_image(lambda s: s, cover, 3, tile=8, whole=True), cover)


def test_a_whole_image_model_hides_and_reveals_photos_in_one_piece(tmp_path):
    from conftest import save_tiny_model as save

    model = load_model(save(tmp_path / "whole.keras"))
    model.whole_image = True
    calls = []
    hider = model.hide
    model.hide = lambda covers, secrets, **kw: calls.append(covers.shape) or hider(covers, secrets, **kw)
    cover = read_image(SAMPLES / "cover.png")
    stego = api.hide(cover, read_image(SAMPLES / "secret.png"), model)
    assert calls == [(1, *(-(-side // 2**model.depth) * 2**model.depth for side in cover.shape[:2]), 3)]
    assert stego.shape == cover.shape and api.reveal(stego, model).shape == cover.shape


@pytest.fixture(scope="module")
def onnx_pair(model_file, tmp_path_factory):
    """The tiny model on Keras, and on onnxruntime with its network and image graphs."""
    from pixinpix_tf.export import onnx as onnx_export
    from pixinpix_tf.inference.onnx_runtime import OnnxPixInPix

    model = load_model(model_file)
    folder = tmp_path_factory.mktemp("onnx")
    onnx_export.convert(model, folder, names=("hide", "reveal", "hide_image", "reveal_image"))
    return model, OnnxPixInPix(folder, model.get_config(), providers=["CPUExecutionProvider"])


def test_the_onnx_backend_runs_the_image_graphs_and_gives_the_keras_backend_s_images(onnx_pair, monkeypatch):
    model, runtime = onnx_pair
    assert runtime.image_graphs
    used, run_image = [], runtime._run_image
    monkeypatch.setattr(runtime, "_run_image", lambda name, feeds: used.append(name) or run_image(name, feeds))
    monkeypatch.setattr(runtime, "hide", None)  # the network graphs are not called: the image graphs cut the image
    monkeypatch.setattr(runtime, "reveal", None)
    cover, secret = read_image(SAMPLES / "cover.png")[:101, :150], read_image(SAMPLES / "secret.png")
    steps = []
    for options in ({}, {"keep_aspect": True, "key": "a passphrase"}):
        stego = api.hide(cover, secret, runtime, progress=lambda *step: steps.append(step), **options)
        expected = api.hide(cover, secret, model, **options)
        assert stego.shape == cover.shape and stego.dtype == np.uint8
        assert np.abs(stego.astype(int) - expected).max() <= 1 and (stego != expected).mean() < 0.01
        revealed = api.reveal(stego, runtime, key=options.get("key"))
        expected = api.reveal(stego, model, key=options.get("key"))
        assert np.abs(revealed.astype(int) - expected).max() <= 1 and (revealed != expected).mean() < 0.01
    assert used == ["hide_image", "reveal_image"] * 2
    assert steps == [(0, 1), (1, 1)] * 2  # the graph runs as one call


def test_a_too_small_image_is_refused_in_one_line_before_the_image_graphs_run(onnx_pair, monkeypatch):
    _, runtime = onnx_pair
    monkeypatch.setattr(runtime, "_run_image", None)
    monkeypatch.setattr(api, "fit_secret", None)
    with pytest.raises(ImageError, match="^the cover is 31x64; it must be at least 32x32$"):
        api.hide(np.zeros((64, 31, 3), np.uint8), np.zeros((8, 8, 3), np.uint8), runtime)
    with pytest.raises(ImageError, match="^the stego image is 64x20; it must be at least 32x32$"):
        api.reveal(np.zeros((20, 64, 3), np.uint8), runtime)
