"""The `pixinpix` command: one console script, one subcommand per job.

Each subcommand is `main(argv) -> int` over a pure function that tests call
directly. Expected failures (every `PixInPixError`) print one line to stderr
and exit with code 2 (1 for a training run that collapsed or diverged);
nothing prints a traceback for them. `hide`, `reveal` and `demo` run on
onnxruntime when they can (no TensorFlow start-up); TensorFlow's start-up
lines are hidden unless `pixinpix --verbose COMMAND` asks for them.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import os
import sys

from pixinpix_tf import api

from pixinpix_tf.inference import loading
from pixinpix_tf.config import PRESETS, STRATEGIES, Config, ModelConfig, get_preset
from pixinpix_tf.methods.dct_code import DctCode
from pixinpix_tf.errors import ConfigError, ImageError, PixInPixError, TrainingFailed

SHOW_TENSORFLOW_LOGS = False  # set by `pixinpix --verbose`


def fail(err: Exception | str, code: int = 2) -> int:
    """Print a one-line error and return the exit code."""
    message = " ".join(str(err).split())
    print(f"pixinpix: error: {message}", file=sys.stderr)
    return code


def require(command: str, modules: tuple[str, ...], extra: str) -> None:
    """ConfigError with the install line if a module `command` needs is not installed."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(f"pixinpix {command} needs {', '.join(missing)}: pip install \"pixinpix-tf[{extra}]\"")


def import_tensorflow() -> None:
    """Import TensorFlow and Keras with their C++ start-up lines hidden (unless --verbose)."""
    if SHOW_TENSORFLOW_LOGS or "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # the lines come from C++ at import time, past Python's sys.stderr
    try:
        import absl.logging
        import keras  # noqa: F401

        absl.logging.set_verbosity(absl.logging.ERROR)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


# --- train ---------------------------------------------------------------------------------------

def _or_none(kind):
    """An argparse type that also reads `none` (for the fields whose value may be None)."""
    def parse(text: str):
        return None if text.lower() == "none" else kind(text)

    parse.__name__ = kind.__name__
    return parse


_TYPES = {"int": int, "float": float, "str": str, "float | None": _or_none(float), "str | None": _or_none(str)}


def _preset_values(name: str) -> str:
    values = {preset: _value(cfg, name) for preset, cfg in PRESETS.items()}
    if len(set(map(str, values.values()))) == 1:
        return f"default: {_show(next(iter(values.values())))}"
    return "preset values: " + ", ".join(f"{preset} {_show(v)}" for preset, v in values.items())


def _value(cfg: Config, name: str):
    return getattr(cfg.model, name) if hasattr(cfg.model, name) else getattr(cfg, name)


def _show(value) -> str:
    """A config value as the command line writes it."""
    if isinstance(value, tuple):
        return " ".join(map(_show, value))
    if value is None or isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)


def config_fields() -> list[dataclasses.Field]:
    """The fields of ModelConfig and Config (all but `model`), each one command-line option."""
    return [*dataclasses.fields(ModelConfig), *(f for f in dataclasses.fields(Config) if f.name != "model")]


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One option per config field, with the field's help and the presets' real values; an option
    left out is absent from the parsed arguments (so `--clipnorm none` can set None)."""
    for f in config_fields():  # f.type is the annotation's text (postponed annotations)
        flag, text = "--" + f.name.replace("_", "-"), f"{f.metadata['help']} ({_preset_values(f.name)})"
        if f.type == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS, help=text)
        elif f.type == "tuple[float, float]":
            parser.add_argument(flag, type=float, nargs=2, metavar=("STEGO", "REVEALED"), default=argparse.SUPPRESS,
                                help=text)
        else:
            parser.add_argument(flag, type=_TYPES[f.type], default=argparse.SUPPRESS, help=text)


def config_from_args(args: argparse.Namespace) -> Config:
    """The preset with every option the user gave applied on top (validated)."""
    changes = {f.name: getattr(args, f.name) for f in config_fields() if hasattr(args, f.name)}
    if "loss_weights" in changes:
        changes["loss_weights"] = tuple(changes["loss_weights"])
    cfg = get_preset(args.preset).replace(**changes)
    cfg.validate()
    return cfg


def train_main(argv: list[str] | None = None) -> int:
    """`pixinpix train`: train a PixInPix model into a run directory."""
    parser = argparse.ArgumentParser(
        prog="pixinpix train",
        description="Train a PixInPix model with model.fit on tfds data or image folders. "
        "Options left out come from --preset.",
    )
    parser.add_argument("--preset", default="paper", help=f"training recipe: {', '.join(PRESETS)} (default: paper)")
    add_config_arguments(parser)
    parser.add_argument("--out", required=True, help="run directory; rerunning the same command into it resumes")
    parser.add_argument("--data-dir", help="tfds data directory (default: tfds' default, which honours TFDS_DATA_DIR)")
    parser.add_argument("--strategy", default="default", choices=STRATEGIES,
                        help="tf.distribute strategy; multi-worker reads TF_CONFIG (default: default)")
    parser.add_argument("--no-health-check", dest="health_check", action="store_false",
                        help="train every epoch even if the revealing network collapses to a constant or the "
                        "loss diverges (default: stop early and exit 1)")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                        help="0 silent, 1 progress bar, 2 one line per epoch")
    args = parser.parse_args(argv)
    try:
        cfg = config_from_args(args)
        require("train", ("tensorflow", "keras", "tensorflow_datasets"), "tf")
        import_tensorflow()
        from pixinpix_tf.nets.train import run

        logs = run(cfg, args.out, data_dir=args.data_dir, strategy=args.strategy, verbose=args.verbose,
                   health_check=args.health_check)
    except TrainingFailed as err:
        return fail(err, code=1)
    except PixInPixError as err:
        return fail(err)
    summary = ", ".join(f"{k} {v:.4g}" for k, v in sorted(logs.items()) if k.startswith("val_"))
    print(f"run saved in {args.out}" + (f": {summary}" if summary else " (already complete)"))
    return 0


# --- evaluate, export ----------------------------------------------------------------------------

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
                        help="refine the stego images for STEPS steps, as `pixinpix hide --refine` does "
                        "(default: 0, the networks alone)")
    parser.add_argument("--verbose", type=int, choices=(0, 1), default=1, help="0 silent, 1 progress bar")
    args = parser.parse_args(argv)
    if args.num < 1:
        return fail(f"--num must be a positive integer, got {args.num}")
    if args.refine < 0:
        return fail(f"--refine must be >= 0, got {args.refine}")
    try:
        files = loading.locate(args.model)
        if files.keras is not None and files.keras.is_dir():  # a pretrained folder: never write into the package
            out = args.out or files.name + "-eval"
        else:
            out = args.out or (os.path.join(args.model, "eval") if os.path.isdir(args.model)
                               else os.path.splitext(args.model)[0] + "-eval")
        require("evaluate", ("tensorflow", "keras", "tensorflow_datasets", "matplotlib"), "tf")
        import_tensorflow()
        from pixinpix_tf.analysis.evaluate import run

        results = run(args.model, out, cover=args.cover, secret=args.secret, num=args.num, data_dir=args.data_dir,
                      seed=args.seed, verbose=args.verbose, refine_steps=args.refine)
    except PixInPixError as err:
        return fail(err)
    headline = results["pixinpix"]["8bit"]
    print(f"8-bit stego: stego PSNR {headline['stego']['psnr']['mean']:.2f} dB, "
          f"revealed PSNR {headline['revealed']['psnr']['mean']:.2f} dB; report in {out}")
    return 0


def steganalyse_main(argv: list[str] | None = None) -> int:
    """`pixinpix steganalyse`: how well a fresh CNN detector tells each method's stego images from covers."""
    parser = argparse.ArgumentParser(
        prog="pixinpix steganalyse",
        description="Train a small CNN steganalyser (fixed high-pass front) on covers and each method's stego "
        "images of the same fixed test pairs, test it on covers it never saw, and print accuracy and ROC AUC.")
    parser.add_argument("methods", nargs="+", help="lsbK, webpK (K low bits, 1..8), or a model name or path")
    parser.add_argument("--num", type=int, default=10_000, help="pairs (default: 10000; 80%% train, 20%% test)")
    parser.add_argument("--epochs", type=int, default=8, help="detector training epochs (default: 8)")
    parser.add_argument("--cover", default="cifar10", help="cover source (default: cifar10)")
    parser.add_argument("--secret", default="tiny_imagenet32", help="secret source (default: tiny_imagenet32)")
    parser.add_argument("--data-dir", help="tfds data directory (default: tfds' default, honours TFDS_DATA_DIR)")
    parser.add_argument("--secret-side", type=float, nargs="+", default=[1.0],
                        help="payloads: hide the secret at these fractions of its side length (default: 1; "
                        "e.g. 1 0.5 0.25)")
    parser.add_argument("--photos", nargs="+", help="photo folders: hide whole photos (each hiding the next) and "
                        "detect on crops of them, trained on some photos' crops and tested on the others' "
                        "(instead of --num test pairs)")
    parser.add_argument("--out", help="write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.num < 10 or args.epochs < 1:
        return fail("--num must be at least 10 and --epochs at least 1")
    try:
        require("steganalyse", ("tensorflow", "keras", "tensorflow_datasets"), "tf")
        import_tensorflow()
        from pixinpix_tf.analysis.steganalysis import run

        run(args.methods, num=args.num, epochs=args.epochs, cover=args.cover, secret=args.secret,
            data_dir=args.data_dir, out=args.out, secret_sides=tuple(args.secret_side), photos=args.photos)
    except PixInPixError as err:
        return fail(err)
    return 0


def export_main(argv: list[str] | None = None) -> int:
    """`pixinpix export`: SavedModel (TF Serving) and ONNX exports of a trained model."""
    parser = argparse.ArgumentParser(
        prog="pixinpix export",
        description="Export a trained model as a SavedModel for TF Serving and as ONNX files for onnxruntime, "
        "check parity against Keras, and write metadata.json beside them.",
    )
    parser.add_argument("model", help="a run directory (its best.keras), a .keras file, or a pretrained model name")
    parser.add_argument("--out", required=True, help="export folder")
    parser.add_argument("--format", choices=("saved_model", "onnx", "both"), default="both",
                        help="what to export (default: both)")
    parser.add_argument("--name", help="model name in TF Serving (default: the run directory's name)")
    parser.add_argument("--version", type=int, default=1, help="SavedModel version folder (default: 1)")
    parser.add_argument("--opset", type=int, help="ONNX opset (default: 17)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing version / ONNX folder")
    args = parser.parse_args(argv)
    if args.version < 1:
        return fail(f"--version must be a positive integer, got {args.version}")
    try:
        require("export", ("tensorflow", "keras", "tf2onnx", "onnxruntime"), "export")
        import_tensorflow()
        from pixinpix_tf.export.exporter import FORMATS, export_model

        metadata = export_model(args.model, args.out, FORMATS if args.format == "both" else (args.format,),
                                name=args.name, version=args.version, opset=args.opset, overwrite=args.overwrite,
                                log=lambda message: print(message + " ...", flush=True))
    except PixInPixError as err:
        return fail(err)
    print("parity, max |difference| against Keras (PNG signatures in 8-bit levels):")
    for key, value in metadata["parity_max_abs_difference"].items():
        print(f"  {key:24s} {value:.2e}")
    print(f"exported {metadata['name']} to {args.out}")
    return 0


# --- hide, reveal, demo --------------------------------------------------------------------------

def load_for(command: str, name: str | None, backend: str = "auto", refine_steps: int = 0):
    """The model for an inference command on the backend it runs on; installs what is missing or says so."""
    name = name or api.DEFAULT_MODEL
    if name == DctCode.name:
        return api.resolve_model(name)
    files = loading.locate(name)
    if backend == "auto" and files.onnx is not None and importlib.util.find_spec("onnxruntime") is None:
        backend = "keras"
    backend = api.choose_backend(files, backend, refine_steps)
    if backend == "onnx":
        require(command, ("onnxruntime",), "onnx")
    else:
        require(command + (" --refine" if refine_steps else ""), ("tensorflow", "keras"), "tf")
        import_tensorflow()
    return api.resolve_model(name, backend, refine_steps)


def _jpeg_models(quality: int) -> list[str]:
    """The shipped models whose cards say they survive JPEG at `quality`."""
    return [name for name in loading.available() + [DctCode.name]
            if (safe := api.jpeg_safe_quality(name)) is not None and safe <= quality]


def _check_output(path: str, allow_lossy: bool, model: str | None = None, quality: int = 95) -> None:
    from pixinpix_tf.images import LOSSY_SUFFIXES

    suffix = os.path.splitext(path)[1].lower()
    if suffix in (".jpg", ".jpeg") and not allow_lossy and model is not None:
        safe = api.jpeg_safe_quality(model)
        if safe is not None and quality >= safe:
            return _check_folder(path)  # the card says this model survives JPEG at this quality
        survivors = _jpeg_models(quality)
        instead = (f"use --model {' or --model '.join(survivors)}, which survive{'s' * (len(survivors) == 1)} it, "
                   if survivors else "")
        raise ImageError(f"{path}: JPEG at quality {quality} destroys what {model} hides; {instead}write a .png, "
                         "or pass --allow-lossy if you really mean it")
    if suffix in LOSSY_SUFFIXES and not allow_lossy:
        raise ImageError(f"{path}: {suffix} is lossy and destroys the hidden image; write a .png "
                         "(or pass --allow-lossy if you really mean it)")
    if suffix != ".png" and suffix not in LOSSY_SUFFIXES and not allow_lossy:
        raise ImageError(f"{path}: the output is written as a lossless 8-bit PNG; name it *.png")
    _check_folder(path)


def _check_folder(path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ImageError(f"{path}: the folder {folder} does not exist")


def _image_parser(command: str) -> argparse.ArgumentParser:
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
        parser.add_argument("--refine", type=int, default=api.DEFAULT_REFINE_STEPS, metavar="STEPS",
                            help="optimise the stego pixels against the revealing network for STEPS steps: a "
                            "better revealed secret for about 2 s per step on a Kodak photo; needs TensorFlow "
                            f"(default: {api.DEFAULT_REFINE_STEPS}, the hiding network's stego alone)")
    else:
        parser.add_argument("stego", help="stego image written by `pixinpix hide`")
        parser.add_argument("--secret", help="the original secret, for --report")
    parser.add_argument("-o", "--output", required=True, help="output file (.png)")
    parser.add_argument("--model", help="a shipped pretrained name, pretrained folder, run directory, .keras file "
                        f"or `pixinpix export` folder (default: {api.DEFAULT_MODEL}), or {DctCode.name}: the "
                        "digital hider whose stego images survive JPEG down to quality "
                        f"{api.jpeg_safe_quality(DctCode.name)}; reveal with the model that hid")
    parser.add_argument("--backend", choices=api.BACKENDS, default="auto",
                        help="auto: onnxruntime when the model has ONNX files and no refinement is asked, else "
                        "Keras (default: auto)")
    parser.add_argument("--report", action="store_true",
                        help="print PSNR and SSIM of the result against the input (reveal: against --secret)")
    parser.add_argument("--allow-lossy", action="store_true", help="allow a lossy output format such as JPEG")
    keyed = parser.add_argument_group(
        "key", "scramble the secret with a key, so that only a reveal with the same key shows it "
        "(pixinpix_tf.keys; never on the command line, where the process list would show it)")
    key_source = keyed.add_mutually_exclusive_group()
    key_source.add_argument("--key-file", metavar="FILE", help="the key is this file's bytes (without a final "
                            "line break)")
    key_source.add_argument("--key-env", metavar="NAME", help="the passphrase is in the environment variable NAME")
    key_source.add_argument("--key-prompt", action="store_true", help="ask for the passphrase (not echoed)")
    if command == "hide":
        parser.add_argument("--quality", type=int, default=95,
                            help="JPEG quality of a .jpg stego image (default: 95); without --allow-lossy only for a "
                            "model whose card says it survives JPEG at that quality")
    return parser


def _image_command(argv: list[str] | None, command: str) -> int:
    """`pixinpix hide` and `pixinpix reveal` on image files of any size."""
    args = _image_parser(command).parse_args(argv)
    from pixinpix_tf.analysis import metrics
    from pixinpix_tf.inference import tiling
    from pixinpix_tf.images import read_image, write_image

    try:
        if command == "reveal" and args.report and not args.secret:
            raise ConfigError("--report needs --secret FILE to compare the revealed image with")
        if command == "hide" and args.refine < 0:
            raise ConfigError(f"--refine must be >= 0, got {args.refine}")
        if command == "hide":
            if not 1 <= args.quality <= 100:
                raise ConfigError(f"--quality must be 1..100, got {args.quality}")
            _check_output(args.output, args.allow_lossy, args.model or api.DEFAULT_MODEL, args.quality)
        else:
            _check_output(args.output, args.allow_lossy)
        key = _read_key(args, confirm=command == "hide")
        first = read_image(args.cover if command == "hide" else args.stego, 3)
        model = load_for(command, args.model, args.backend, args.refine if command == "hide" else 0)
        if command == "hide":
            secret = read_image(args.secret, model.secret_channels)
            result = api.hide(first, secret, model, keep_aspect=args.keep_aspect, refine_steps=args.refine,
                              progress=args.refine > 0, key=key)
            reference = first
        else:
            result = api.reveal(first, model, key=key)
            reference = None
            if args.secret:
                reference = tiling.fit_secret(read_image(args.secret, model.secret_channels), *result.shape[:2])
        write_image(result, args.output, quality=args.quality if command == "hide" else None)
    except PixInPixError as err:
        return fail(err)
    print(f"wrote {args.output} ({result.shape[1]}x{result.shape[0]})")
    if args.report:
        what = "stego vs cover" if command == "hide" else "revealed vs secret"
        psnr, ssim = metrics.psnr(reference, result)[0], metrics.ssim(reference, result)[0]
        print(f"{what}: PSNR {psnr:.2f} dB, SSIM {ssim:.4f}")
    return 0


def _read_key(args, confirm: bool):
    """The `keys.Key` that --key-file, --key-env or --key-prompt give (None: no key)."""
    from pixinpix_tf.keys import Key

    if args.key_file:
        return Key.from_file(args.key_file)
    if args.key_env:
        return Key.from_env(args.key_env)
    if not args.key_prompt:
        return None
    import getpass

    passphrase = getpass.getpass("passphrase: ")
    if confirm and getpass.getpass("passphrase again: ") != passphrase:
        raise ConfigError("the two passphrases differ")
    if not passphrase:
        raise ConfigError("the passphrase is empty")
    return Key(passphrase)


def hide_main(argv: list[str] | None = None) -> int:
    """`pixinpix hide COVER SECRET -o STEGO.png [--model MODEL]`."""
    return _image_command(argv, "hide")


def reveal_main(argv: list[str] | None = None) -> int:
    """`pixinpix reveal STEGO.png -o REVEALED.png [--model MODEL]`."""
    return _image_command(argv, "reveal")


def demo_main(argv: list[str] | None = None) -> int:
    """`pixinpix demo`: hide and reveal bundled samples with the pretrained models."""
    from pixinpix_tf import demo

    parser = argparse.ArgumentParser(
        prog="pixinpix demo",
        description="Hide six MNIST digits in six CIFAR-10 images and one photo in another with the pretrained "
        "models, reveal them from the stego PNGs, write PNGs and figures, and print PSNR and SSIM. Offline.",
    )
    parser.add_argument("--out", help="output folder (default: a new pixinpix-demo-<time> folder here)")
    parser.add_argument("--digits-model", default=demo.DIGITS_MODEL, help="model for the digits (name or path)")
    parser.add_argument("--photo-model", default=api.DEFAULT_MODEL, help="model for the photo (name or path)")
    parser.add_argument("--backend", choices=api.BACKENDS, default="auto", help="as in `pixinpix hide`")
    args = parser.parse_args(argv)
    out = args.out or demo.default_out()
    try:
        require("demo", ("matplotlib",), "onnx")
        models = [load_for("demo", name, args.backend) for name in (args.digits_model, args.photo_model)]
        rows = demo.run_demo(out, *models)
    except PixInPixError as err:
        return fail(err)
    print(demo.format_table(rows))
    print(f"stego and revealed PNGs, digits.png and photo.png in {out}")
    return 0


def web_main(argv: list[str] | None = None) -> int:
    """`pixinpix web`: serve the page that hides and reveals in the browser (onnxruntime-web)."""
    from pixinpix_tf import web

    parser = argparse.ArgumentParser(
        prog="pixinpix web",
        description="Serve the page in web/ that hides and reveals in the browser with the model's ONNX image "
        "graphs (onnxruntime-web): the images never leave the browser. A model without them is converted once "
        "(needs the export extra) and cached.",
    )
    parser.add_argument("--model", help=f"a shipped pretrained name, pretrained folder, run directory, .keras file "
                        f"or `pixinpix export` folder (default: {api.DEFAULT_MODEL})")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1; the page "
                        "uses threads only from localhost or HTTPS)")
    args = parser.parse_args(argv)
    name = args.model or api.DEFAULT_MODEL
    try:
        web.check_page()
        if web.needs_conversion(name):
            require("web", ("tensorflow", "keras", "tf2onnx", "onnx"), "export")
            import_tensorflow()
            print(f"converting {name} to hide_image.onnx and reveal_image.onnx (once; about a minute) ...",
                  flush=True)
        else:
            require("web", ("onnxruntime",), "onnx")
        server = web.make_server(name, args.host, args.port)
    except PixInPixError as err:
        return fail(err)
    host, port = server.server_address[:2]
    print(f"serving {name} at http://{host}:{port}/ (Ctrl+C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


COMMANDS = {
    "train": (train_main, "train a model with model.fit (resumable)"),
    "evaluate": (evaluate_main, "measure quality, robustness and LSB baselines; write tables and figures"),
    "steganalyse": (steganalyse_main, "measure how detectable each method's stego images are (CNN detector)"),
    "export": (export_main, "export to SavedModel (TF Serving) and ONNX, parity-checked"),
    "hide": (hide_main, "hide a secret image in a cover image of any size; write the stego PNG"),
    "reveal": (reveal_main, "reveal the secret of a stego PNG"),
    "demo": (demo_main, "hide and reveal bundled samples with the pretrained models (offline)"),
    "web": (web_main, "serve a page that hides and reveals in the browser (onnxruntime-web, localhost)"),
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `pixinpix` console script (and its alias `pixinpix-onnx`)."""
    global SHOW_TENSORFLOW_LOGS
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(
        prog="pixinpix",
        description="Hide images inside images with PixInPix twin U-Nets (Keras 3 / TensorFlow, onnxruntime).",
        epilog="Run 'pixinpix COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's start-up log lines")
    parser.add_argument("command", choices=list(COMMANDS), metavar="COMMAND",
                        help="; ".join(f"{name}: {text}" for name, (_, text) in COMMANDS.items()))
    SHOW_TENSORFLOW_LOGS = bool(argv) and argv[0] == "--verbose"
    argv = argv[1:] if SHOW_TENSORFLOW_LOGS else argv
    if not argv or argv[0] in ("-h", "--help"):
        parser.print_help()
        return 0 if argv else 2
    args = parser.parse_args(argv[:1])
    return COMMANDS[args.command][0](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
