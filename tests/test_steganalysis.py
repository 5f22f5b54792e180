"""The steganalysis benchmark: the detector finds what is there and nothing else; the command's outputs."""

import json

import numpy as np
import pytest

from pixinpix_tf import steganalysis
from pixinpix_tf.cli import main


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
    hidden = steganalysis.detectability(covers, steganalysis.hider("lsb2")[0](covers, secrets), epochs=4)
    nothing = steganalysis.detectability(covers, covers.copy(), epochs=4)
    assert hidden["auc"] > 0.9 and hidden["test_pairs"] == 80
    assert abs(nothing["accuracy"] - 0.5) < 0.1 and abs(nothing["auc"] - 0.5) < 0.15


@pytest.mark.parametrize("method, message", [("lsb9", "bits must be 1..8"), ("no-such-model", "no such")])
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
