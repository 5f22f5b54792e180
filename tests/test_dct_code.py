"""dct-code: a digital secret that survives JPEG, reveals nothing without its key, and leaves flat areas alone."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pixinpix_tf import api, distortions, keys

from pixinpix_tf.analysis import metrics

from pixinpix_tf.methods import dct_code
from pixinpix_tf.cli import main
from pixinpix_tf.errors import ImageError, NothingRevealed
from pixinpix_tf.images import read_image
from pixinpix_tf.inference.tiling import fit_secret

from conftest import PHOTOS_DIR

SAMPLES = Path(__file__).resolve().parents[1] / "pixinpix_tf" / "assets" / "samples"
CODE = dct_code.DctCode()


def textured_cover(height: int = 256, width: int = 256) -> np.ndarray:
    """Detail everywhere, as in a photo of foliage: coarse random colours enlarged, plus fine grain."""
    rng = np.random.default_rng(1)
    coarse = Image.fromarray(rng.integers(0, 256, (height // 8, width // 8, 3), dtype=np.uint8))
    smooth = np.asarray(coarse.resize((width, height), Image.BICUBIC), np.float64)
    return np.clip(smooth * 0.8 + rng.normal(25, 18, smooth.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def pair():
    cover = textured_cover()
    return cover, fit_secret(read_image(SAMPLES / "secret.png", 3), *cover.shape[:2])


@pytest.fixture(scope="module")
def stego(pair):
    return CODE.hide(*pair)


def test_the_secret_reveals_the_same_after_jpeg_at_every_quality_down_to_the_design_quality(pair, stego):
    revealed = CODE.reveal(stego)
    assert metrics.psnr(pair[1], revealed)[0] > 20 and metrics.psnr(pair[0], stego)[0] > 33
    for quality in (95, 90, 75, dct_code.DESIGN_QUALITY):
        np.testing.assert_array_equal(CODE.reveal(distortions.jpeg(stego[None], 100 - quality)[0]), revealed)
    assert CODE.reveal(distortions.noise(stego[None], 2, np.random.default_rng(0))[0]) is not None


def test_what_it_cannot_decode_reveals_nothing_and_the_api_says_why(pair, stego):
    for nothing in (pair[0], distortions.resize(stego[None], 0.5)[0]):  # a cover; resizing erases the coefficients
        with pytest.raises(NothingRevealed, match="nothing decodes"):
            CODE.reveal(nothing)
    with pytest.raises(ImageError, match="nothing decodes"):
        api.reveal(pair[0], dct_code.NAME)


def test_only_the_right_key_reveals_and_it_reveals_as_well_as_no_key(pair, stego):
    key = keys.Key("correct horse battery staple")
    keyed = api.hide(*pair, model=dct_code.NAME, key=key)
    right = api.reveal(keyed, dct_code.NAME, key=keys.Key("correct horse battery staple"))
    unkeyed = metrics.psnr(pair[1], CODE.reveal(stego))[0]
    assert metrics.psnr(pair[1], right)[0] > unkeyed - 1
    for image, other in ((keyed, None), (keyed, keys.Key("correct horse battery stapler")), (stego, key)):
        with pytest.raises(NothingRevealed):  # the last: an unkeyed stego does not open with a key either
            CODE.reveal(image, other)


def test_flat_blocks_are_left_exactly_as_they_were(pair):
    cover = pair[0].copy()
    cover[:, :64] = np.linspace(40, 200, len(cover))[:, None, None].astype(np.uint8)  # a smooth vertical gradient
    stego = CODE.hide(cover, pair[1])
    np.testing.assert_array_equal(stego[:, :64], cover[:, :64])
    assert (stego[:, 72:] != cover[:, 72:]).mean() > 0.05


def test_covers_it_cannot_use_are_refused_with_the_reason(pair):
    with pytest.raises(ImageError, match="too few textured"):
        CODE.hide(np.full((128, 128, 3), 90, np.uint8), pair[1][:128, :128])
    with pytest.raises(ImageError, match="too few textured"):  # the bundled 192x128 sample: mostly smooth
        CODE.hide(read_image(SAMPLES / "cover.png", 3), pair[1][:128, :192])
    with pytest.raises(ImageError, match="at least 64x64"):
        CODE.hide(pair[0][:48, :48], pair[1][:48, :48])


def test_the_command_line_writes_a_jpeg_stego_down_to_the_design_quality_and_reveals_it(pair, tmp_path, capsys):
    cover, secret = str(tmp_path / "cover.png"), str(SAMPLES / "secret.png")
    Image.fromarray(pair[0]).save(cover)
    stego, revealed = tmp_path / "stego.jpg", tmp_path / "revealed.png"
    hide = ["hide", cover, secret, "--model", "dct-code", "-o"]
    assert main(hide + [str(stego), "--quality", str(dct_code.DESIGN_QUALITY)]) == 0  # no --allow-lossy
    assert main(["reveal", str(stego), "-o", str(revealed), "--model", "dct-code", "--secret", secret,
                 "--report"]) == 0
    assert float(capsys.readouterr().out.split("PSNR ")[1].split(" dB")[0]) > 20
    assert main(hide + [str(tmp_path / "low.jpg"), "--quality", str(dct_code.DESIGN_QUALITY - 1)]) == 2
    assert "destroys what dct-code hides" in capsys.readouterr().err and not (tmp_path / "low.jpg").exists()
    assert main(["hide", cover, secret, "-o", str(tmp_path / "s.jpg"), "--quality", "75"]) == 2
    assert "use --model dct-code, which survives it" in capsys.readouterr().err
    assert main(["reveal", cover, "-o", str(tmp_path / "r.png"), "--model", "dct-code"]) == 2
    assert "nothing decodes" in capsys.readouterr().err and not (tmp_path / "r.png").exists()


def test_a_forged_payload_or_a_bad_array_gives_none_or_a_clear_error_never_a_crash(pair):
    # The public key is in the source: anyone can write a payload that passes the check but is no AVIF.
    cover = pair[0]
    slots = dct_code._Slots(cover.shape, None)
    textured = dct_code._largest_probe(dct_code._coefficients(cover)) >= dct_code.EMBED_THRESHOLD
    room = dct_code._sizes(len(slots.order), 128)[0] - dct_code._OVERHEAD
    forged = dct_code._embed(cover, dct_code._encode(b"not an AVIF at all", room, 128, slots), slots, textured)
    assert dct_code._payload(forged, slots, (128,)) == b"not an AVIF at all"  # it decodes and authenticates
    with pytest.raises(NothingRevealed):
        CODE.reveal(forged)
    with pytest.raises(ImageError, match="RGB images of at least 64x64"):
        CODE.hide(pair[0][..., 0], pair[1])


def test_every_stego_image_has_its_own_nonce_so_one_key_never_repeats_a_keystream(pair):
    key = keys.Key("one key for two images")
    slots = dct_code._Slots(pair[0].shape, key)
    avif = b"the same secret bytes" * 8
    first, second = (dct_code.seal(avif, 400, slots) for _ in range(2))
    header = dct_code._HEADER_V2.size
    assert first[1:13] != second[1:13]  # the nonces
    # the same plaintext under one key: with a shared keystream the XOR of the two ciphertexts would be 0
    xor = np.frombuffer(first[header:header + len(avif)], np.uint8) ^ np.frombuffer(second[header:header + len(avif)],
                                                                                    np.uint8)
    assert np.count_nonzero(xor) > 0.9 * len(avif)
    assert dct_code.unseal(first, slots) == dct_code.unseal(second, slots) == avif


def test_a_bit_flipped_after_error_correction_fails_authentication_with_a_clear_message(pair):
    slots = dct_code._Slots(pair[0].shape, keys.Key("the key"))
    frame = bytearray(dct_code.seal(b"secret AVIF bytes", 100, slots))
    for position in (3, dct_code._HEADER_V2.size + 2, dct_code._HEADER_V2.size + 17 + 5):  # nonce, text, tag
        damaged = frame.copy()
        damaged[position] ^= 0x01
        with pytest.raises(NothingRevealed, match="failed authentication"):
            dct_code.unseal(bytes(damaged), slots)
    with pytest.raises(NothingRevealed, match="failed authentication"):  # another key's cipher key
        dct_code.unseal(bytes(frame), dct_code._Slots(pair[0].shape, keys.Key("another key")))


def format_1_stego(cover: np.ndarray, avif: bytes, key) -> np.ndarray:
    """A stego image as the previous release wrote it (format 1): the key's PBKDF2 material lays it out,
    a keystream of the key alone and a 4-byte check protect it, in the blocks textured at its threshold
    (this cover is textured everywhere, so the settling it did first changes nothing here)."""
    textured = dct_code._largest_probe(dct_code._coefficients(cover)) >= dct_code.FORMAT_1_THRESHOLD
    slots, parity = dct_code._Slots(cover.shape, key, 1), 64
    room = dct_code._sizes(len(slots.order), parity)[0] - dct_code._HEADER_V1.size
    data = dct_code._HEADER_V1.pack(len(avif), slots.check(avif)) + avif
    data += bytes(room + dct_code._HEADER_V1.size - len(data))
    plain = np.frombuffer(data, np.uint8) ^ slots.keystream(len(data))
    coded = np.frombuffer(bytes(dct_code.reedsolo.RSCodec(parity).encode(plain.tobytes())), np.uint8)
    return dct_code._embed(cover, np.pad(coded, (0, len(slots.order) - len(coded))), slots, textured)


def test_stego_images_of_format_1_still_reveal_keyed_and_unkeyed(pair):
    buffer = io.BytesIO()
    Image.fromarray(pair[1]).resize((48, 48)).save(buffer, format="AVIF", quality=50)
    avif = buffer.getvalue()
    assert len(avif) < 600  # fits the 704 data bytes of a 256x256 cover at parity 64
    expected = np.asarray(Image.open(io.BytesIO(avif)).convert("RGB").resize((256, 256), Image.BICUBIC))
    key = keys.Key("an old key")
    np.testing.assert_array_equal(CODE.reveal(format_1_stego(pair[0], avif, None)), expected)
    np.testing.assert_array_equal(CODE.reveal(format_1_stego(pair[0], avif, key), key), expected)


def test_the_hider_leaves_the_distribution_of_block_textures_as_the_cover_had_it():
    kodak = PHOTOS_DIR / "kodak"
    if not (kodak / "kodim03.png").is_file():
        pytest.skip(f"Kodak photos not found in {kodak} (set PIXINPIX_PHOTOS)")
    cover = read_image(kodak / "kodim03.png")
    stego = CODE.hide(cover, fit_secret(read_image(kodak / "kodim04.png"), *cover.shape[:2]))
    before, after = (CODE.statistics(image)["settled band share"] for image in (cover, stego))
    # format 1 emptied this band (Kodak and CBSD68: 0.260 -> 0.001); a change of one block in 200 is rounding
    assert before > 0.2 and abs(after - before) < 0.005
