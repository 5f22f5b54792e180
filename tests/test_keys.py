"""Keyed hiding: the scramble, where keys come from, and that a passphrase never shows."""

from pathlib import Path

import numpy as np
import pytest

from pixinpix_tf import api, keys

from pixinpix_tf.analysis import metrics
from pixinpix_tf.cli import main
from pixinpix_tf.errors import ConfigError
from pixinpix_tf.images import read_image
from pixinpix_tf.inference.tiling import fit_secret

SAMPLES = Path(__file__).resolve().parents[1] / "pixinpix_tf" / "assets" / "samples"
PASSPHRASE = "tr0ub4dor & 3 horses"
RNG = np.random.default_rng(0)


@pytest.fixture(scope="module")
def key():
    return keys.Key(PASSPHRASE)


@pytest.mark.parametrize("shape", [(128, 128, 3), (101, 177, 3), (200, 130, 1)])
def test_the_scramble_moves_nearly_every_pixel_and_the_same_key_undoes_it_exactly(key, shape):
    image = RNG.integers(0, 256, shape, dtype=np.uint8)
    scrambled = keys.scramble(image, key)
    assert scrambled.shape == image.shape and (scrambled != image).mean() > 0.9
    np.testing.assert_array_equal(keys.unscramble(scrambled, keys.Key(PASSPHRASE)), image)  # a new Key, same bytes
    assert (keys.unscramble(scrambled, keys.Key(PASSPHRASE + ".")) != image).mean() > 0.9


def test_an_image_of_too_few_blocks_is_refused_with_the_size_that_works(key):
    with pytest.raises(ConfigError, match="at least 128x128"):
        keys.scramble(np.zeros((64, 96, 3), np.uint8), key)


def test_keys_come_from_files_without_their_final_line_break_or_from_the_environment(tmp_path, monkeypatch, key):
    image = RNG.integers(0, 256, (128, 160, 3), dtype=np.uint8)
    expected = keys.scramble(image, key)
    (tmp_path / "key").write_text(PASSPHRASE + "\n")
    np.testing.assert_array_equal(keys.scramble(image, keys.Key.from_file(tmp_path / "key")), expected)
    monkeypatch.setenv("PIXINPIX_TEST_KEY", PASSPHRASE)
    np.testing.assert_array_equal(keys.scramble(image, keys.Key.from_env("PIXINPIX_TEST_KEY")), expected)
    assert PASSPHRASE not in repr(key) and "<hidden>" in repr(key)


@pytest.mark.parametrize("make, message", [
    (lambda tmp, mp: keys.Key.from_file(tmp / "absent"), "cannot read the key file"),
    (lambda tmp, mp: (tmp / "empty").write_text("\n") and keys.Key.from_file(tmp / "empty"), "the key file is empty"),
    (lambda tmp, mp: mp.delenv("PIXINPIX_TEST_KEY", raising=False) or keys.Key.from_env("PIXINPIX_TEST_KEY"),
     "PIXINPIX_TEST_KEY is not set"),
    (lambda tmp, mp: mp.setenv("PIXINPIX_TEST_KEY", "") or keys.Key.from_env("PIXINPIX_TEST_KEY"),
     "PIXINPIX_TEST_KEY is empty"),
    (lambda tmp, mp: keys.Key(""), "the key is empty"),
])
def test_missing_and_empty_keys_are_clear_errors(tmp_path, monkeypatch, make, message):
    with pytest.raises(ConfigError, match=message):
        make(tmp_path, monkeypatch)


def test_the_default_model_reveals_with_the_right_key_as_without_and_nothing_with_another_or_none(key):
    cover, secret = read_image(SAMPLES / "cover.png"), read_image(SAMPLES / "secret.png")
    secret = fit_secret(secret, *cover.shape[:2])
    unkeyed = metrics.psnr(secret, api.reveal(api.hide(cover, secret, api.DEFAULT_MODEL)))[0]
    stego = api.hide(cover, secret, key=PASSPHRASE)  # dct-code refuses this smooth 192x128 cover: the network
    assert metrics.psnr(cover, stego)[0] > 30
    assert metrics.psnr(secret, api.reveal(stego, key=key))[0] > unkeyed - 1.0
    for other in (None, PASSPHRASE + "."):
        revealed = api.reveal(stego, key=other)
        assert metrics.psnr(secret, revealed)[0] < unkeyed - 10 and metrics.ssim(secret, revealed)[0] < 0.5


def test_the_commands_take_the_key_from_a_file_the_environment_or_a_prompt_and_never_show_it(
        tmp_path, monkeypatch, capsys, key):
    monkeypatch.setenv("PIXINPIX_TEST_KEY", PASSPHRASE)
    stego, revealed = tmp_path / "stego.png", tmp_path / "revealed.png"
    assert main(["hide", str(SAMPLES / "cover.png"), str(SAMPLES / "secret.png"), "-o", str(stego),
                 "--key-env", "PIXINPIX_TEST_KEY", "--report"]) == 0
    (tmp_path / "my.key").write_text(PASSPHRASE + "\n")
    assert main(["reveal", str(stego), "-o", str(revealed), "--key-file", str(tmp_path / "my.key")]) == 0
    np.testing.assert_array_equal(read_image(revealed), api.reveal(read_image(stego), key=key))
    answers = iter([PASSPHRASE])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert main(["reveal", str(stego), "-o", str(tmp_path / "prompted.png"), "--key-prompt"]) == 0
    np.testing.assert_array_equal(read_image(tmp_path / "prompted.png"), read_image(revealed))
    output = capsys.readouterr()
    assert PASSPHRASE not in output.out + output.err
    for path in tmp_path.iterdir():
        if path.name != "my.key":
            assert PASSPHRASE.encode() not in path.read_bytes()


def test_a_bad_key_is_one_line_exit_2_and_writes_nothing(tmp_path, monkeypatch, capsys):
    out = tmp_path / "stego.png"
    hide = ["hide", str(SAMPLES / "cover.png"), str(SAMPLES / "secret.png"), "-o", str(out)]
    (tmp_path / "empty.key").write_bytes(b"")
    assert main(hide + ["--key-file", str(tmp_path / "empty.key")]) == 2
    assert "the key file is empty" in capsys.readouterr().err
    answers = iter([PASSPHRASE, PASSPHRASE + "."])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert main(hide + ["--key-prompt"]) == 2
    err = capsys.readouterr().err
    assert "the two passphrases differ" in err and len(err.strip().splitlines()) == 1 and PASSPHRASE not in err
    assert not out.exists()
    with pytest.raises(SystemExit):  # a key is never a command-line argument
        main(hide + ["--key", PASSPHRASE])
