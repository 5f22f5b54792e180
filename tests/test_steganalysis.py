"""The steganalysis benchmark: the detector finds what is there and nothing else; the command's outputs."""

import json

import numpy as np
import pytest
from PIL import Image

from pixinpix_tf.analysis import steganalysis
from pixinpix_tf.cli import main
from pixinpix_tf.methods import registry


def smooth_covers(n, size=16, seed=0):
    """Smooth random gradients: covers whose lowest bit plane is not noise."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 1, size, dtype=np.float32)
    a, b, c = (rng.random((n, 1, 1, 3), dtype=np.float32) for _ in range(3))
    images = 40 + 150 * (a * ramp[None, :, None, None] + b * ramp[None, None, :, None]) / 2 + 60 * c
    return np.round(images).astype(np.uint8)


def test_the_detector_finds_lsb_hiding_and_is_at_chance_when_nothing_is_hidden():
    covers = smooth_covers(400)
    secrets = np.random.default_rng(1).integers(0, 256, covers.shape, dtype=np.uint8)
    hidden = steganalysis.detectability(covers, registry.get("lsb2").hide_batch(covers, secrets), epochs=4)
    nothing = steganalysis.detectability(covers, covers.copy(), epochs=4)
    assert hidden["auc"] > 0.9 and hidden["test_pairs"] == 80
    assert abs(nothing["accuracy"] - 0.5) < 0.1 and abs(nothing["auc"] - 0.5) < 0.15


@pytest.mark.parametrize("method, message", [("lsb9", "low bits must be 1..8"), ("no-such-model", "no such")])
def test_an_unknown_method_is_a_one_line_error(method, message, capsys):
    assert main(["steganalyse", method, "--num", "20", "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_the_command_prints_and_writes_each_methods_figures(tmp_path, capsys, mock_tfds):
    out = tmp_path / "detect.json"
    with mock_tfds(40):
        assert main(["steganalyse", "lsb1", "webp1", "--num", "40", "--epochs", "1", "--secret", "cifar10",
                     "--out", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert set(figures) == {"lsb1", "webp1"} and "ROC AUC" in capsys.readouterr().out
    assert all(0 <= f["accuracy"] <= 1 and 0 <= f["auc"] <= 1 and f["stego_psnr"] > 40 for f in figures.values())


def test_roc_auc_counts_pairs_ranked_right_and_ties_as_half():
    assert steganalysis.roc_auc(np.array([0.0, 1.0]), np.array([2.0, 3.0])) == 1.0
    assert steganalysis.roc_auc(np.array([0.0, 2.0]), np.array([1.0, 2.0])) == 0.625


def test_a_smaller_payload_changes_fewer_values_and_the_cover_less():
    covers = smooth_covers(6, size=32)
    secrets = np.random.default_rng(2).integers(0, 256, covers.shape, dtype=np.uint8)
    full, quarter = (registry.get("lsb2").hide_batch(covers, steganalysis.shrink(secrets, side)) for side in (1.0, 0.5))
    changed = (quarter != covers).reshape(len(covers), -1)
    assert not changed[:, 32 * 32 * 3 // 4:].any() and changed.any()  # only the first quarter of the values
    assert (full != covers).reshape(len(covers), -1)[:, 32 * 32 * 3 // 4:].any()
    webp_full, webp_quarter = (registry.get("webp1").hide_batch(covers, steganalysis.shrink(secrets, side))
                               for side in (1.0, 0.25))
    assert np.count_nonzero(webp_quarter != covers) < np.count_nonzero(webp_full != covers)
    assert steganalysis.shrink(secrets, 0.5).shape == (6, 16, 16, 3)


def test_photo_crops_split_the_detectors_training_and_test_crops_by_photo(tmp_path):
    from PIL import Image

    for i in range(5):
        Image.fromarray(smooth_covers(1, size=150, seed=i)[0]).save(tmp_path / f"p{i}.png")
    covers, stegos, split = steganalysis.photo_crops(*steganalysis.photo_pairs("lsb1", [tmp_path]))
    assert covers.shape == stegos.shape == (5 * 4, 64, 64, 3)  # 150x150: 2x2 crops of 64x64 per photo
    assert split == 4 * 4  # the crops of the first 4 photos (80%) train; the last photo's test
    assert (covers != stegos).any() and np.abs(covers.astype(int) - stegos).max() <= 1


def test_the_command_measures_payloads_and_photo_crops_and_refuses_a_bad_side(tmp_path, capsys):
    from PIL import Image

    for i in range(5):
        Image.fromarray(smooth_covers(1, size=128, seed=i)[0]).save(tmp_path / f"p{i}.png")
    out = tmp_path / "photos.json"
    assert main(["steganalyse", "lsb1", "--photos", str(tmp_path), "--secret-side", "1", "0.5", "--epochs", "1",
                 "--out", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert set(figures) == {"lsb1", "lsb1@0.5"} and figures["lsb1@0.5"]["secret_side"] == 0.5
    assert 0 <= figures["lsb1"]["pe"] <= 0.5 and set(figures["lsb1"]["targeted"]) == {"pairs asymmetry"}
    assert figures["lsb1@0.5"]["stego_psnr"] > figures["lsb1"]["stego_psnr"]
    capsys.readouterr()
    assert main(["steganalyse", "lsb1", "--photos", str(tmp_path), "--secret-side", "2"]) == 2
    err = capsys.readouterr().err
    assert "secret's side must be in (0, 1]" in err and err.count("\n") == 1


def test_a_network_hides_a_smaller_secret_enlarged_back_to_the_covers_size(tiny_model_file):
    from pixinpix_tf.images import to_uint8
    from pixinpix_tf.inference.tiling import fit_secret

    covers = smooth_covers(2, size=32)
    secrets = np.random.default_rng(3).integers(0, 256, covers.shape, dtype=np.uint8)
    network = registry.get(str(tiny_model_file))
    stegos = network.hide_batch(covers, steganalysis.shrink(secrets, 0.5))
    smooth = np.stack([fit_secret(s, 32, 32) for s in steganalysis.shrink(secrets, 0.5)])
    np.testing.assert_array_equal(stegos, to_uint8(network.model.hide(covers, smooth)))


def test_the_minimal_total_error_is_zero_when_scores_separate_and_a_half_when_they_do_not():
    assert steganalysis.min_total_error(np.array([0.1, 0.2, 0.3]), np.array([0.5, 0.7])) == 0.0
    assert steganalysis.min_total_error(np.array([0.5, 0.7]), np.array([0.1, 0.2, 0.3])) == 0.5  # stego lower
    same = np.arange(10.0)
    assert steganalysis.min_total_error(same, same) == 0.5
    assert steganalysis.min_total_error(np.array([0.0, 1.0]), np.array([0.5, 2.0])) == 0.25


def test_a_targeted_statistic_finds_full_lsb_replacement_and_not_its_absence():
    rng = np.random.default_rng(4)
    pairs = []
    for index in range(12):  # covers whose pairs of values are uneven (most values even, as after a level stretch)
        values = 2 * (rng.normal(120, 30 + 3 * index, (64, 64, 3)) // 2) + (rng.random((64, 64, 3)) < 0.2)
        cover = np.clip(values, 0, 255).astype(np.uint8)
        secret = rng.integers(0, 256, cover.shape, dtype=np.uint8)
        pairs.append((index, cover, registry.get("lsb1").hide(cover, secret)))
    found = steganalysis.targeted("lsb1", pairs, splits=10)["pairs asymmetry"]
    assert found["accuracy"] > 0.9 and found["pe"] < 0.1 and found["stego_mean"] < found["cover_mean"]
    nothing = steganalysis.targeted("lsb1", [(i, c, c.copy()) for i, c, _ in pairs], splits=10)["pairs asymmetry"]
    assert nothing["pe"] == 0.5  # identical covers and "stego images": no threshold separates them


def smooth_photos(count: int, side: int = 96) -> list[np.ndarray]:
    """Photo-like covers: coarse random colours enlarged bicubically, with a little sensor noise."""
    rng = np.random.default_rng(6)
    covers = []
    for _ in range(count):
        coarse = Image.fromarray(rng.integers(0, 256, (side // 16, side // 16, 3), dtype=np.uint8))
        smooth = np.asarray(coarse.resize((side, side), Image.BICUBIC), np.float64)
        covers.append(np.clip(smooth + rng.normal(0, 1.5, smooth.shape), 0, 255).astype(np.uint8))
    return covers


def test_the_spam_detector_finds_lsb_matching_of_every_value_and_nothing_where_nothing_changed():
    from pixinpix_tf.analysis import rich_model
    from pixinpix_tf.methods.baselines import matching_write

    rng = np.random.default_rng(7)
    pairs = []
    for index, cover in enumerate(smooth_photos(40)):
        bits = rng.integers(0, 2, cover.size, dtype=np.uint8)
        pairs.append((index, cover, matching_write(cover.reshape(-1), bits, rng).reshape(cover.shape)))
    assert rich_model.spam(pairs[0][1]).shape == (686,) and rich_model.calibrated_dct(pairs[0][1]).shape == (189,)
    found = rich_model.detectors(pairs, splits=5)
    assert found["SPAM"]["accuracy"] > 0.9 and found["SPAM"]["pe"] < 0.1
    nothing = rich_model.detectors([(i, c, c.copy()) for i, c, _ in pairs], splits=5)
    assert all(figures["pe"] == 0.5 for figures in nothing.values())  # the same features: nothing separates them
