"""SavedModel and ONNX export: parity, signatures, PNG round trips, the TF-free runtime, safety."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from pixinpix_tf.cli import main
from pixinpix_tf.export import exporter
from pixinpix_tf.images import to_uint8

from conftest import NETWORK_ATOL, ROOT, save_tiny_model

SERVING = ROOT / "scripts" / "serving"
SAMPLES = ROOT / "pixinpix_tf" / "assets" / "samples"


@pytest.fixture(scope="module")
def model_file(tiny_model_file):
    return tiny_model_file


@pytest.fixture(scope="module")
def exported(model_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    metadata = exporter.export_model(model_file.parent, out)
    return out, metadata


def random_batch(batch, seed=0):
    rng = np.random.default_rng(seed)
    return {"cover": rng.random((batch, 32, 32, 3), dtype=np.float32),
            "secret": rng.random((batch, 32, 32, 3), dtype=np.float32)}


def test_layout_and_metadata(exported):
    out, metadata = exported
    assert (out / "saved_model" / "tinyrun" / "1" / "saved_model.pb").is_file()
    assert 'name: "tinyrun"' in (out / "saved_model" / "models.config").read_text()
    for name in ("hide", "reveal", "pixinpix", "hide_image", "reveal_image"):
        assert (out / "onnx" / f"{name}.onnx").is_file()
    on_disk = json.loads((out / "metadata.json").read_text())
    assert on_disk["image_size"] == 32 and on_disk["secret_channels"] == 3 and on_disk["layout"] == "NHWC"
    assert on_disk["value_range"] == [0.0, 1.0]
    assert not list(out.glob(".export-*"))
    parity = metadata["parity_max_abs_difference"]
    for batch in (1, 5):
        for key in ("serving_default", "hide", "reveal", "hide.onnx", "reveal.onnx", "pixinpix.onnx"):
            assert parity[f"{key}@{batch}"] <= 1e-5
    for name in ("hide_image", "reveal_image"):
        assert parity[f"{name}.onnx_levels"] <= 1 and parity[f"{name}.onnx_fraction_off"] <= 0.01


@pytest.mark.parametrize("batch", [1, 5])
def test_every_signature_and_onnx_file_matches_keras(exported, model_file, batch):
    import onnxruntime as ort

    import keras

    out, _ = exported
    model = keras.models.load_model(model_file)
    inputs = random_batch(batch, seed=batch + 10)
    expected = {k: np.asarray(v) for k, v in model(inputs).items()}
    stego = np.asarray(model.hider(inputs))
    loaded = tf.saved_model.load(str(out / "saved_model" / "tinyrun" / "1"))
    got = {k: v.numpy() for k, v in loaded.signatures["serving_default"](**inputs).items()}
    np.testing.assert_allclose(got["stego"], expected["stego"], atol=NETWORK_ATOL)
    # the model rounds the stego to 8 bits before revealing: compare on the export's own rounding
    rounded = np.round(got["stego"] * 255) / 255
    np.testing.assert_allclose(got["revealed"], np.asarray(model.revealer(rounded)), atol=NETWORK_ATOL)
    np.testing.assert_allclose(loaded.signatures["hide"](**inputs)["stego"].numpy(), stego, atol=NETWORK_ATOL)
    np.testing.assert_allclose(loaded.signatures["reveal"](stego=tf.constant(stego))["revealed"].numpy(),
                               np.asarray(model.revealer(stego)), atol=NETWORK_ATOL)
    hide = ort.InferenceSession(str(out / "onnx" / "hide.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(hide.run(["stego"], inputs)[0], stego, atol=NETWORK_ATOL)
    reveal = ort.InferenceSession(str(out / "onnx" / "reveal.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(reveal.run(["revealed"], {"stego": stego})[0], np.asarray(model.revealer(stego)),
                               atol=NETWORK_ATOL)


def signature_defs(saved_model_dir):
    """Inputs and outputs of every signature, as `saved_model_cli show --all` lists them."""
    loaded = tf.saved_model.load(str(saved_model_dir))
    defs = {}
    for name, function in loaded.signatures.items():
        inputs = function.structured_input_signature[1]
        defs[name] = {
            "inputs": {k: (v.dtype.name, v.shape.as_list()) for k, v in inputs.items()},
            "outputs": {k: (v.dtype.name, v.shape.as_list()) for k, v in function.structured_outputs.items()},
        }
    return defs


def test_signature_definitions_and_example_rest_bodies_agree(exported):
    out, _ = exported
    defs = signature_defs(out / "saved_model" / "tinyrun" / "1")
    any_size = [None, None, None, 3]  # batch, height, width: any (sides a multiple of 2**depth)
    assert defs["hide"]["inputs"] == {"cover": ("float32", any_size), "secret": ("float32", any_size)}
    assert defs["hide"]["outputs"] == {"stego": ("float32", any_size)}
    assert defs["reveal"]["inputs"] == {"stego": ("float32", any_size)}
    assert set(defs["serving_default"]["outputs"]) == {"stego", "revealed"}
    assert defs["hide_png"]["inputs"] == {"cover_png": ("string", [None]), "secret_png": ("string", [None])}
    assert defs["hide_png"]["outputs"] == {"stego_png_bytes": ("string", [None])}
    assert defs["reveal_png"]["outputs"] == {"revealed_png_bytes": ("string", [None])}
    bodies = sorted(SERVING.glob("*_request.json"))
    assert len(bodies) == 5
    for path in bodies:
        body = json.loads(path.read_text())
        signature = defs[body["signature_name"]]
        for instance in body["instances"]:
            assert set(instance) == set(signature["inputs"]), path.name
            for key, value in instance.items():
                dtype, shape = signature["inputs"][key]
                if dtype == "string":
                    assert set(value) == {"b64"}, path.name  # REST clients send binary as base64
                else:
                    assert all(side in (None, given) for side, given in zip(shape[1:], np.shape(value))), path.name


def photo_crops(count=3):
    """32x32 crops of the bundled sample photos (real images, always present)."""
    from pixinpix_tf.images import read_image

    samples = ROOT / "pixinpix_tf" / "assets" / "samples"
    photos = [read_image(samples / "cover.png"), read_image(samples / "secret.png")]
    return [photo[32 * i : 32 * i + 32, 40 * i : 40 * i + 32] for i in range(count) for photo in photos]


def test_png_signatures_round_trip_real_images(exported, model_file):
    import keras

    out, _ = exported
    crops = photo_crops()
    covers, secrets = np.stack(crops[0::2]), np.stack(crops[1::2])
    model = keras.models.load_model(model_file)
    loaded = tf.saved_model.load(str(out / "saved_model" / "tinyrun" / "1"))
    encode = lambda images: tf.stack([tf.io.encode_png(image) for image in images])  # noqa: E731
    stego_png = loaded.signatures["hide_png"](cover_png=encode(covers), secret_png=encode(secrets))["stego_png_bytes"]
    stego = np.stack([tf.io.decode_png(p).numpy() for p in stego_png.numpy()])
    assert stego.shape == covers.shape and stego.dtype == np.uint8
    assert np.abs(stego.astype(int) - to_uint8(model.hide(covers, secrets))).max() <= 1
    revealed_png = loaded.signatures["reveal_png"](stego_png=stego_png)["revealed_png_bytes"]
    revealed = np.stack([tf.io.decode_png(p).numpy() for p in revealed_png.numpy()])
    assert np.abs(revealed.astype(int) - to_uint8(model.reveal(stego))).max() <= 1


def test_pixinpix_hide_and_reveal_run_an_export_without_importing_tensorflow_and_match_keras(
        exported, model_file, tmp_path):
    import keras
    from PIL import Image

    out, _ = exported
    rng = np.random.default_rng(3)
    cover, secret = (rng.integers(0, 256, (40, 70, 3), dtype=np.uint8) for _ in range(2))
    Image.fromarray(cover).save(tmp_path / "cover.png")
    Image.fromarray(secret).save(tmp_path / "secret.png")
    script = (
        "import sys\n"
        "from pixinpix_tf.cli import main\n"
        f"assert main(['hide', r'{tmp_path / 'cover.png'}', r'{tmp_path / 'secret.png'}', '-o', "
        f"r'{tmp_path / 'stego.png'}', '--model', r'{out / 'onnx'}']) == 0\n"
        f"assert main(['reveal', r'{tmp_path / 'stego.png'}', '-o', r'{tmp_path / 'revealed.png'}', "
        f"'--model', r'{out}']) == 0\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf2onnx')]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr == ""  # no start-up lines from any runtime
    from pixinpix_tf import api

    model = keras.models.load_model(model_file)
    stego = np.asarray(Image.open(tmp_path / "stego.png"))
    assert np.abs(stego.astype(int) - api.hide(cover, secret, model)).max() <= 1
    revealed = np.asarray(Image.open(tmp_path / "revealed.png"))
    assert np.abs(revealed.astype(int) - api.reveal(stego, model)).max() <= 1


def test_an_export_runs_on_onnxruntime_only_and_says_so_in_one_line(exported, tmp_path, capsys):
    from PIL import Image

    out, _ = exported
    (tmp_path / "junk.png").write_bytes(b"not a png")
    Image.new("RGB", (31, 40)).save(tmp_path / "small.png")
    cover, secret = str(SAMPLES / "cover.png"), str(SAMPLES / "secret.png")
    cases = [
        (["hide", str(tmp_path / "missing.png"), secret, "-o", str(tmp_path / "s.png"), "--model", str(out)],
         "no such file"),
        (["reveal", str(tmp_path / "junk.png"), "-o", str(tmp_path / "r.png"), "--model", str(out)], "not an image"),
        (["reveal", cover, "-o", str(tmp_path / "r.png"), "--model", str(tmp_path)], "export folder"),
        (["reveal", cover, "-o", str(tmp_path / "r.jpg"), "--model", str(out)], "lossy"),
        (["hide", str(tmp_path / "small.png"), secret, "-o", str(tmp_path / "s.png"), "--model", str(out)],
         "the cover is 31x40; it must be at least 32x32"),
        (["reveal", str(tmp_path / "small.png"), "-o", str(tmp_path / "r.png"), "--model", str(out)],
         "the stego image is 31x40; it must be at least 32x32"),
        (["hide", cover, secret, "-o", str(tmp_path / "s.png"), "--model", str(out), "--refine", "3"],
         "the .keras file or run directory it was exported from"),
        (["hide", cover, secret, "-o", str(tmp_path / "s.png"), "--model", str(out), "--backend", "keras"],
         "the .keras file or run directory it was exported from"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err, (argv, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.png", "small.png"]  # nothing written


def test_second_export_into_the_same_version_is_refused_without_overwrite(exported, model_file, capsys):
    out, _ = exported
    before = (out / "metadata.json").read_text()
    code = main(["export", str(model_file.parent), "--out", str(out), "--format", "onnx"])
    err = capsys.readouterr().err
    assert code == 2 and "--overwrite" in err and err.count("\n") == 1
    assert (out / "metadata.json").read_text() == before


def test_overwrite_replaces_the_version_and_leaves_the_model_unchanged(model_file, tmp_path, capsys):
    import keras

    out = tmp_path / "exp"
    model = keras.models.load_model(model_file)
    inputs = random_batch(2)
    before = {k: np.asarray(v) for k, v in model(inputs).items()}
    from pixinpix_tf.export import onnx, saved_model

    onnx.convert(model, out / "direct" / "onnx", names=("hide", "reveal"))
    saved_model.save(model, str(out / "direct" / "sm"))
    for key, value in model(inputs).items():
        np.testing.assert_array_equal(np.asarray(value), before[key])
    assert main(["export", str(model_file), "--out", str(out), "--format", "saved_model", "--name", "m"]) == 0
    assert main(["export", str(model_file), "--out", str(out), "--format", "saved_model", "--name", "m",
                 "--overwrite"]) == 0
    assert "hide_png@5" in capsys.readouterr().out
    assert (out / "saved_model" / "m" / "1" / "saved_model.pb").is_file()
    assert not list(out.glob(".export-*"))


def test_an_interrupted_export_leaves_nothing_behind(model_file, tmp_path, monkeypatch):
    out = tmp_path / "exp"

    def broken_convert(model, directory, **kwargs):
        Path(directory).mkdir(parents=True)
        (Path(directory) / "hide.onnx").write_bytes(b"half")
        raise KeyboardInterrupt

    from pixinpix_tf.export import onnx

    monkeypatch.setattr(onnx, "convert", broken_convert)
    with pytest.raises(KeyboardInterrupt):
        exporter.export_model(model_file, out)
    assert list(out.iterdir()) == []


def test_a_parity_failure_is_an_error_and_leaves_nothing(model_file, tmp_path, monkeypatch):
    out = tmp_path / "exp"
    monkeypatch.setattr(exporter, "TOLERANCE", -1.0)
    with pytest.raises(exporter.ExportError, match="parity check failed"):
        exporter.export_model(model_file, out, formats=("saved_model",))
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("make_path, message", [
    (lambda tmp: tmp / "missing.keras", "no such run directory, .keras file or folder"),
    (lambda tmp: (tmp / "junk.keras").write_bytes(b"PK\x03\x04junk") and tmp / "junk.keras", "cannot load"),
    (lambda tmp: tmp, "a folder with no best.keras, last.keras"),
])
def test_a_corrupt_or_non_model_path_is_a_one_line_error(tmp_path, capsys, make_path, message):
    code = main(["export", str(make_path(tmp_path)), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_the_onnx_backend_hides_and_reveals_photos_of_any_size_like_the_keras_backend(exported, model_file):
    from PIL import Image

    from pixinpix_tf import api
    from pixinpix_tf.inference.loading import load_model, load_onnx

    out, _ = exported
    cover, secret = Image.open(SAMPLES / "cover.png"), Image.open(SAMPLES / "secret.png")
    runtime = load_onnx(out)
    stego = api.hide(cover, secret, runtime)
    assert stego.shape == (128, 192, 3) and runtime.provider == "CPUExecutionProvider"
    model = load_model(model_file)
    assert np.abs(api.hide(cover, secret, model).astype(int) - stego).max() <= 1
    assert np.abs(api.reveal(stego, model).astype(int) - api.reveal(stego, runtime)).max() <= 1
    # The network graphs take any size: the same photo hidden whole, in one piece, on both backends
    # (through `tiling`, as the export's image graphs cut the image in tiles).
    runtime.whole_image = model.whole_image = True
    runtime.image_graphs = False
    whole = api.hide(cover, secret, runtime)
    assert np.abs(api.hide(cover, secret, model).astype(int) - whole).max() <= 1
    assert np.abs(api.reveal(whole, model).astype(int) - api.reveal(whole, runtime)).max() <= 1


def test_a_low_bits_model_exports_with_parity(tmp_path):
    run = save_tiny_model(tmp_path / "lowbits" / "best.keras", quantize_stego=True, batch_norm=True,
                          embed_bits=3).parent
    parity = exporter.export_model(run, tmp_path / "out", formats=("onnx",))["parity_max_abs_difference"]
    for key in ("hide.onnx@5", "reveal.onnx@5", "pixinpix.onnx@5"):
        assert parity[key] <= 1e-5


@pytest.mark.parametrize("whole, pixel_block, mirror_padding, secret_scale, texture_mask",
                         [(False, 1, False, 1, 0.0), (True, 1, False, 1, 0.0),
                          (True, 4, True, 2, 0.1)])  # the last: robust's kind
def test_the_image_graphs_take_uint8_images_of_any_size_and_match_the_python_image_handling(
        tmp_path, monkeypatch, whole, pixel_block, mirror_padding, secret_scale, texture_mask):
    import onnxruntime as ort

    from pixinpix_tf.inference import tiling
    from pixinpix_tf.images import read_image
    from pixinpix_tf.inference.loading import load_model

    from pixinpix_tf.export import onnx as onnx_export

    # Small enough that these images need several chunks of tiles, or several windows (the graph takes
    # the constants when it is built, the Python path when it runs).
    monkeypatch.setattr(tiling, "CHUNK_TILES", 5)
    monkeypatch.setattr(tiling, "WINDOW_PIXELS", 100 * 100)
    model = load_model(save_tiny_model(tmp_path / "m.keras", batch_norm=True, residual_stego=True,
                                       pixel_block=pixel_block, mirror_padding=mirror_padding,
                                       secret_scale=secret_scale, texture_mask=texture_mask))
    model.whole_image = whole
    files = onnx_export.convert(model, tmp_path / "onnx", names=("hide_image", "reveal_image"))
    hide_session, reveal_session = (ort.InferenceSession(str(files[name]), providers=["CPUExecutionProvider"])
                                    for name in ("hide_image", "reveal_image"))
    photo = read_image(SAMPLES / "cover.png")
    photo, secret_photo = np.concatenate([photo, photo[:, ::-1]], axis=1), read_image(SAMPLES / "secret.png")
    tile = tiling.layout(model)["tile"]
    # Sides that are not multiples of the tile, in several chunks or windows (but 101 x 77 in one window;
    # at 32 x 380, windows that see more context than the image is high).
    for height, width in ((101, 77), (32, 380), (128, 150)):
        cover = np.ascontiguousarray(photo[:height, :width])
        secret = tiling.fit_secret(secret_photo, height, width)
        windows = []
        network = lambda *batches: windows.append(batches[0].shape) or model.hide(*batches)  # noqa: E731
        expected = tiling.hide_image(network, cover, secret, **tiling.layout(model))
        pieces = len(windows) if whole else -(-height // tile) * -(-width // tile) / tiling.CHUNK_TILES
        assert pieces > 1 or (height, width) == (101, 77)
        stego = hide_session.run(None, {"cover": cover, "secret": secret})[0]
        assert stego.dtype == np.uint8 and stego.shape == cover.shape
        assert np.abs(stego.astype(int) - expected).max() <= 1 and (stego != expected).mean() < 0.01
        revealed = reveal_session.run(None, {"stego": stego})[0]
        expected = tiling.reveal_image(model.reveal, stego, 3, **tiling.layout(model))
        assert revealed.shape == secret.shape and np.abs(revealed.astype(int) - expected).max() <= 1
        assert (revealed != expected).mean() < 0.01, (height, width, tile)


@pytest.mark.parametrize("whole", [False, True])
def test_pretrained_onnx_folders_get_the_image_graphs_checked_on_several_chunks_or_windows(
        tmp_path, monkeypatch, whole):
    from pixinpix_tf.inference import tiling
    from pixinpix_tf.inference.loading import load_model

    monkeypatch.setattr(tiling, "CHUNK_TILES", 5)
    monkeypatch.setattr(tiling, "WINDOW_PIXELS", 100 * 100)
    model = load_model(save_tiny_model(tmp_path / "m.keras", batch_norm=True, quantize_stego=True,
                                       residual_stego=True))
    model.whole_image = whole
    height, width = exporter._image_check_shape(model)
    tile = tiling.layout(model)["tile"]
    assert height % tile and width % tile
    assert (height * width > tiling.WINDOW_PIXELS if whole else -(-height // tile) * -(-width // tile) > 5)
    report = exporter.write_pretrained_onnx(model, tmp_path)
    assert sorted(p.name for p in (tmp_path / "onnx").iterdir()) == [
        "hide.onnx", "hide_image.onnx", "reveal.onnx", "reveal_image.onnx"]
    assert report["weights"] == "float16" and not list(tmp_path.glob(".export-*"))
    for name in ("hide_image", "reveal_image"):
        assert report[f"{name}.onnx_levels"] <= 1 and report[f"{name}.onnx_fraction_off"] < 0.05
