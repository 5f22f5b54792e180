"""The `pixinpix` command: help, option errors, and a real training run."""

import csv
import json
import subprocess
import sys

import pytest

from pixinpix_tf.cli import config_fields, main

from conftest import real_data_dir


def run_cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "pixinpix_tf.cli", *args], capture_output=True, text=True,
                          timeout=300, **kwargs)


def test_help_lists_commands_and_every_train_option(capsys):
    assert main(["--help"]) == 0
    assert "train" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for option in ["--" + f.name.replace("_", "-") for f in config_fields()] + [
            "--preset", "--data-dir", "--out", "--strategy", "--no-health-check"]:
        assert option in text, option
    # the help gives each preset's own value, not one default that is wrong for some of them
    assert "(preset values: paper 5, fast 5, lowbits 3, robust 3, tiny 2)" in text


@pytest.mark.parametrize(
    "args, message",
    [
        (["--preset", "nope"], "unknown preset 'nope'"),
        (["--image-size", "40"], "not a multiple of pixel_block * 2**depth"),
        (["--epochs", "-1"], "epochs must be >= 0"),
        (["--base-filters", "0"], "base_filters must be a positive integer"),
        (["--optimizer", "rmsprop"], "unknown optimizer"),
        (["--zoom", "0.5"], "zoom must be >= 1"),
        (["--channel", "jpeg,rotate"], "unknown channel distortions rotate"),
        (["--stego-loss", "l1"], "unknown stego_loss 'l1'"),
        (["--cover", "no_such_dataset_xyz", "--preset", "tiny"], "unknown dataset 'no_such_dataset_xyz'"),
    ],
)
def test_bad_options_fail_at_once_with_one_line_and_exit_code_2(tmp_path, capsys, args, message):
    out = tmp_path / "run"
    code = main(["train", "--out", str(out), "--data-dir", str(tmp_path / "tfds"), *args])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_unknown_command_exits_2():
    result = run_cli("frobnicate")
    assert result.returncode == 2 and "invalid choice" in result.stderr


@pytest.mark.slow
def test_train_on_a_few_hundred_real_pairs_writes_the_run_directory(tmp_path):
    data_dir = real_data_dir("cifar10", "mnist")
    out = tmp_path / "run"
    result = run_cli("train", "--cover", "cifar10", "--secret", "mnist", "--preset", "tiny", "--image-size", "32",
                     "--base-filters", "8", "--train-size", "256", "--test-size", "64", "--epochs", "1",
                     "--data-dir", data_dir, "--out", str(out), "--verbose", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    for name in ("config.json", "best.keras", "last.keras", "history.csv", "logs"):
        assert (out / name).exists(), name
    config = json.loads((out / "config.json").read_text())
    assert config["cover"] == "cifar10" and config["train_size"] == 256 and config["model"]["image_size"] == 32
    assert config["model"]["base_filters"] == 8
    with (out / "history.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1
    for key in ("loss", "val_loss", "stego_psnr", "revealed_psnr", "val_stego_ssim", "val_revealed_ssim",
                "images_per_second"):
        assert float(rows[0][key]) == float(rows[0][key])  # present and not NaN
    assert "run saved in" in result.stdout


def test_optional_fields_can_be_set_to_none_from_the_command_line():
    import argparse

    from pixinpix_tf.cli import add_config_arguments, config_from_args

    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="fast")
    add_config_arguments(parser)
    assert config_from_args(parser.parse_args([])).clipnorm == 1.0  # the preset's
    assert config_from_args(parser.parse_args(["--clipnorm", "none"])).clipnorm is None
    assert config_from_args(parser.parse_args(["--init-from", "runs/a"])).init_from == "runs/a"
    assert config_from_args(parser.parse_args(["--init-from", "none"])).init_from is None
    assert config_from_args(parser.parse_args(["--no-batch-norm"])).model.batch_norm is False
