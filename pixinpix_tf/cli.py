"""The `pixinpix` command: one console script, one subcommand per job.

Each subcommand is `main(argv) -> int` over a pure function that tests call
directly. Expected failures (bad options, missing data) print one line to
stderr and exit with code 2; nothing prints a traceback for them.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys

from pixinpix_tf import pretrained
from pixinpix_tf.config import PRESETS, STRATEGIES, ConfigError, get_preset


def fail(err: Exception | str, code: int = 2) -> int:
    """Print a one-line error and return the exit code."""
    message = " ".join(str(err).split())
    print(f"pixinpix: error: {message}", file=sys.stderr)
    return code


def quiet_tensorflow() -> None:
    """Keep TensorFlow's C++ start-up chatter out of the user's terminal."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    p = parser.add_argument
    p("--cover", default="cifar10", help="cover source: tfds name[:split] or image folder (default: cifar10)")
    p("--secret", default="mnist", help="secret source: tfds name[:split] or image folder (default: mnist)")
    p("--preset", default="paper", help=f"training recipe: {', '.join(PRESETS)} (default: paper)")
    p("--epochs", type=int, help="epochs to train (default: from the preset)")
    p("--batch-size", type=int, help="global batch size (default: from the preset)")
    p("--learning-rate", type=float, help="initial learning rate (default: from the preset)")
    p("--optimizer", help="sgd or adam (default: from the preset)")
    p("--loss-weights", type=float, nargs=2, metavar=("STEGO", "REVEALED"),
      help="weights of the stego and revealed MSE losses (default: from the preset)")
    p("--train-size", type=int, help="training pairs per epoch (default: from the preset, 50000)")
    p("--test-size", type=int, help="validation pairs (default: from the preset, 10000)")
    p("--image-size", type=int, help="image side in pixels, a multiple of 2**depth (default: 32)")
    p("--secret-channels", type=int, help="1 = grayscale secret, 3 = RGB (default: 3)")
    p("--depth", type=int, help="down-sampling steps per U-Net (default: 5)")
    p("--base-filters", type=int, help="channels at full resolution, doubled at each level (default: 16)")
    p("--embed-bits", type=int, help="k > 0: the hiding net writes a learned k-bit code into the k low bits "
      "of the cover; 0: it outputs the stego image (default: from the preset)")
    p("--init-from", help="start from this model's weights (pretrained name, run directory or .keras file) "
      "instead of random ones, e.g. to continue training a shipped model; with a larger --base-filters "
      "it grows that model, keeping what it computes")
    p("--train-only", choices=("hider", "revealer"),
      help="train this network alone; the other keeps its weights (default: both)")
    p("--zoom", type=float, help="train on random crops enlarged by up to this factor, like tiles of "
      "larger photos (default: from the preset, 1 = off)")
    p("--data-dir", help="tfds data directory (default: tfds' default, which honours TFDS_DATA_DIR)")
    p("--seed", type=int, help="seed for pairing, shuffling and initialisation (default: 0)")
    p("--out", required=True, help="run directory; rerunning the same command into it resumes")
    p("--strategy", default="default", choices=STRATEGIES,
      help="tf.distribute strategy; multi-worker reads TF_CONFIG (default: default)")
    p("--verbose", type=int, choices=(0, 1, 2), default=1, help="0 silent, 1 progress bar, 2 one line per epoch")


_OVERRIDES = ("epochs", "batch_size", "learning_rate", "optimizer", "loss_weights", "train_size", "test_size",
              "image_size", "secret_channels", "depth", "base_filters", "embed_bits", "seed", "init_from",
              "zoom", "train_only")


def config_from_args(args: argparse.Namespace):
    """The preset with every option the user gave applied on top (validated)."""
    changes = {name: getattr(args, name) for name in _OVERRIDES if getattr(args, name) is not None}
    if "loss_weights" in changes:
        changes["loss_weights"] = tuple(changes["loss_weights"])
    cfg = get_preset(args.preset).replace(cover=args.cover, secret=args.secret, **changes)
    cfg.validate()
    return cfg


def train_main(argv: list[str] | None = None) -> int:
    """`pixinpix train`: train a PixInPix model into a run directory."""
    parser = argparse.ArgumentParser(
        prog="pixinpix train",
        description="Train a PixInPix model with model.fit on tfds data or image folders. "
        "Options left out come from --preset.",
    )
    add_train_arguments(parser)
    args = parser.parse_args(argv)
    try:
        cfg = config_from_args(args)
    except ConfigError as err:
        return fail(err)
    quiet_tensorflow()
    from pixinpix_tf.data import DataError
    from pixinpix_tf.train import TrainingFailed, run

    try:
        logs = run(cfg, args.out, data_dir=args.data_dir, strategy=args.strategy, verbose=args.verbose)
    except (ConfigError, DataError) as err:
        return fail(err)
    except TrainingFailed as err:
        return fail(err, code=1)
    summary = ", ".join(f"{k} {v:.4g}" for k, v in sorted(logs.items()) if k.startswith("val_"))
    print(f"run saved in {args.out}" + (f": {summary}" if summary else " (already complete)"))
    return 0


def evaluate_main(argv: list[str] | None = None) -> int:
    """`pixinpix evaluate`: quality, robustness and LSB baselines of a trained model."""
    parser = argparse.ArgumentParser(
        prog="pixinpix evaluate",
        description="Measure stego and revealed quality (float and 8-bit stego), robustness to distortions of "
        "the 8-bit stego image, and LSB baselines on the same test pairs. Writes metrics.json, report.md, "
        "samples.png and robustness.png.",
    )
    parser.add_argument("model", help="a run directory (its best.keras), a .keras file, or a pretrained model name")
    parser.add_argument("--cover", help="cover source (default: the run's, else cifar10)")
    parser.add_argument("--secret", help="secret source (default: the run's, else mnist; for a pretrained "
                        "model, what it was trained on)")
    parser.add_argument("--num", type=int, default=10_000, help="number of test pairs (default: 10000)")
    parser.add_argument("--data-dir", help="tfds data directory (default: tfds' default, honours TFDS_DATA_DIR)")
    parser.add_argument("--seed", type=int, help="seed of the test pairing and the distortions (default: the run's)")
    parser.add_argument("--out", help="output folder (default: MODEL/eval for a run directory, else MODEL-eval "
                        "here)")
    parser.add_argument("--refine", type=int, default=0, metavar="STEPS",
                        help="refine PixInPix's stego images for STEPS steps, as `pixinpix hide --refine` "
                        f"does (default: 0, the networks alone; `pixinpix hide` refines "
                        f"{pretrained.DEFAULT_REFINE_STEPS} steps by default)")
    parser.add_argument("--verbose", type=int, choices=(0, 1), default=1, help="0 silent, 1 progress bar")
    args = parser.parse_args(argv)
    if args.num < 1:
        return fail(f"--num must be a positive integer, got {args.num}")
    if args.refine < 0:
        return fail(f"--refine must be >= 0, got {args.refine}")
    quiet_tensorflow()
    from pixinpix_tf.data import DataError
    from pixinpix_tf.evaluate import EvaluationError, run

    if pretrained.find(args.model):  # never write into the package
        default_out = os.path.basename(os.path.normpath(args.model)) + "-eval"
    elif os.path.isdir(args.model):  # a run directory
        default_out = os.path.join(args.model, "eval")
    else:
        default_out = os.path.splitext(args.model)[0] + "-eval"
    out = args.out or default_out
    try:
        results = run(args.model, out, cover=args.cover, secret=args.secret, num=args.num, data_dir=args.data_dir,
                      seed=args.seed, verbose=args.verbose, refine_steps=args.refine)
    except (ConfigError, DataError, EvaluationError) as err:
        return fail(err)
    headline = results["pixinpix"]["8bit"]
    print(f"8-bit stego: stego PSNR {headline['stego']['psnr']['mean']:.2f} dB, "
          f"revealed PSNR {headline['revealed']['psnr']['mean']:.2f} dB; report in {out}")
    return 0


def _check_output(path: str, allow_lossy: bool) -> None:
    from pixinpix_tf.images import LOSSY_SUFFIXES, ImageError

    suffix = os.path.splitext(path)[1].lower()
    if suffix in LOSSY_SUFFIXES and not allow_lossy:
        raise ImageError(f"{path}: {suffix} is lossy and destroys the hidden image; write a .png "
                         "(or pass --allow-lossy if you really mean it)")
    if suffix != ".png" and suffix not in LOSSY_SUFFIXES and not allow_lossy:
        raise ImageError(f"{path}: the output is written as a lossless 8-bit PNG; name it *.png")


def _image_command(argv: list[str] | None, command: str) -> int:
    """`pixinpix hide` and `pixinpix reveal` on image files of any size."""
    parser = argparse.ArgumentParser(
        prog=f"pixinpix {command}",
        description="Hide SECRET in COVER and write the 8-bit stego PNG (the cover's size)." if command == "hide"
        else "Reveal the secret of a stego PNG (the revealed image has the stego's size).",
    )
    if command == "hide":
        parser.add_argument("cover", help="cover image (any size >= the model's, any common format and mode)")
        parser.add_argument("secret", help="secret image (any size; resized to the cover's size)")
        parser.add_argument("--keep-aspect", action="store_true",
                            help="fit the secret inside the cover's size with black bars instead of stretching it")
        parser.add_argument("--refine", type=int, metavar="STEPS",
                            help="optimise the stego pixels against the revealing network for STEPS steps: "
                            "a better revealed secret for more time, a forward and backward pass of the "
                            f"revealing network per step (default: {pretrained.DEFAULT_REFINE_STEPS}, or 0 for "
                            "a model with embed_bits; 0 for the hiding network's stego alone, about 18x faster "
                            "on photos)")
    else:
        parser.add_argument("stego", help="stego image written by `pixinpix hide`")
        parser.add_argument("--secret", help="the original secret, for --report")
    parser.add_argument("-o", "--output", required=True, help="output file (.png)")
    parser.add_argument("--model",
                        help="a trained model: run directory, .keras file, or the name of a shipped pretrained "
                        f"model (default: {pretrained.DEFAULT_MODEL}); reveal with the model that hid")
    parser.add_argument("--report", action="store_true",
                        help="print PSNR and SSIM of the result against the input (reveal: against --secret)")
    parser.add_argument("--allow-lossy", action="store_true", help="allow a lossy output format such as JPEG")
    args = parser.parse_args(argv)
    if command == "reveal" and args.report and not args.secret:
        return fail("--report needs --secret FILE to compare the revealed image with")
    if command == "hide" and args.refine is not None and args.refine < 0:
        return fail(f"--refine must be >= 0, got {args.refine}")
    quiet_tensorflow()
    from pixinpix_tf import api, metrics, tiling
    from pixinpix_tf.evaluate import EvaluationError
    from pixinpix_tf.images import ImageError, read_image, write_image

    try:
        _check_output(args.output, args.allow_lossy)
        if not os.path.isdir(os.path.dirname(os.path.abspath(args.output))):
            folder = os.path.dirname(os.path.abspath(args.output))
            raise ImageError(f"{args.output}: the folder {folder} does not exist")
        first = read_image(args.cover if command == "hide" else args.stego, 3)
        model = api.resolve_model(args.model)
        if command == "hide":
            secret = read_image(args.secret, model.secret_channels)
            result = api.hide(first, secret, model, keep_aspect=args.keep_aspect, refine_steps=args.refine,
                              progress=args.refine != 0)
            reference = first
        else:
            result = api.reveal(first, model)
            reference = None
            if args.secret:
                secret = read_image(args.secret, model.secret_channels)
                reference = tiling.fit_secret(secret, *result.shape[:2])
        write_image(result, args.output)
    except (ImageError, EvaluationError, LookupError, ValueError) as err:
        return fail(err)
    print(f"wrote {args.output} ({result.shape[1]}x{result.shape[0]})")
    if args.report:
        what = "stego vs cover" if command == "hide" else "revealed vs secret"
        psnr, ssim = metrics.psnr(reference, result)[0], metrics.ssim(reference, result)[0]
        print(f"{what}: PSNR {psnr:.2f} dB, SSIM {ssim:.4f}")
    return 0


def hide_main(argv: list[str] | None = None) -> int:
    """`pixinpix hide COVER SECRET -o STEGO.png [--model MODEL]`."""
    return _image_command(argv, "hide")


def reveal_main(argv: list[str] | None = None) -> int:
    """`pixinpix reveal STEGO.png -o REVEALED.png [--model MODEL]`."""
    return _image_command(argv, "reveal")


def demo_main(argv: list[str] | None = None) -> int:
    """`pixinpix demo`: hide and reveal bundled samples with the pretrained models."""
    parser = argparse.ArgumentParser(
        prog="pixinpix demo",
        description="Hide six MNIST digits in six CIFAR-10 images and one photo in another with the pretrained "
        "models, reveal them from the stego PNGs, write PNGs and figures, and print PSNR and SSIM. Offline.",
    )
    parser.add_argument("--out", help="output folder (default: a new pixinpix-demo-<time> folder here)")
    parser.add_argument("--digits-model", default="mnist-in-cifar10", help="model for the digits (name or path)")
    parser.add_argument("--photo-model", default=pretrained.DEFAULT_MODEL, help="model for the photo (name or path)")
    args = parser.parse_args(argv)
    quiet_tensorflow()
    from pixinpix_tf import demo
    from pixinpix_tf.evaluate import EvaluationError
    from pixinpix_tf.images import ImageError

    out = args.out or demo.default_out()
    try:
        rows = demo.run_demo(out, args.digits_model, args.photo_model)
    except (EvaluationError, ImageError, LookupError) as err:
        return fail(err)
    print(demo.format_table(rows))
    print(f"stego and revealed PNGs, digits.png and photo.png in {out}")
    return 0


# Subcommands by "module:function", imported only when run (export imports this
# package, never the reverse).
COMMANDS = {
    "train": ("pixinpix_tf.cli:train_main", "train a model with model.fit (resumable)"),
    "evaluate": ("pixinpix_tf.cli:evaluate_main",
                 "measure quality, robustness and LSB baselines; write tables and figures"),
    "export": ("pixinpix_tf.export.exporter:main", "export to SavedModel (TF Serving) and ONNX, parity-checked"),
    "hide": ("pixinpix_tf.cli:hide_main", "hide a secret image in a cover image of any size; write the stego PNG"),
    "reveal": ("pixinpix_tf.cli:reveal_main", "reveal the secret of a stego PNG"),
    "demo": ("pixinpix_tf.cli:demo_main", "hide and reveal bundled samples with the pretrained models (offline)"),
}
# What each command needs beyond the TensorFlow-free core, and the extra that installs it.
REQUIREMENTS = {"train": (("tensorflow", "keras", "tensorflow_datasets"), "tf"),
                "evaluate": (("tensorflow", "keras", "tensorflow_datasets", "matplotlib"), "tf"),
                "export": (("tensorflow", "keras", "tf2onnx", "onnxruntime"), "export"),
                "hide": (("tensorflow", "keras"), "tf"),
                "reveal": (("tensorflow", "keras"), "tf"),
                "demo": (("tensorflow", "keras", "matplotlib"), "tf")}


def missing_requirement(command: str) -> str | None:
    """A one-line install hint if a module `command` needs is not installed."""
    modules, extra = REQUIREMENTS.get(command, ((), ""))
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        return f"pixinpix {command} needs {', '.join(missing)}: pip install \"pixinpix-tf[{extra}]\""
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `pixinpix` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(
        prog="pixinpix",
        description="Hide images inside images with PixInPix twin U-Nets (Keras 3 / TensorFlow).",
        epilog="Run 'pixinpix COMMAND --help' for the options of a command.",
    )
    parser.add_argument("command", choices=list(COMMANDS), metavar="COMMAND",
                        help="; ".join(f"{name}: {text}" for name, (_, text) in COMMANDS.items()))
    if not argv or argv[0] in ("-h", "--help"):
        parser.print_help()
        return 0 if argv else 2
    args = parser.parse_args(argv[:1])
    if "-h" not in argv and "--help" not in argv and (hint := missing_requirement(args.command)):
        return fail(hint)
    module, function = COMMANDS[args.command][0].split(":")
    return getattr(importlib.import_module(module), function)(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
