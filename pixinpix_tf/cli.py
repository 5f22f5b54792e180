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
import sys

from pixinpix_tf import api, extras, keys
from pixinpix_tf.config import PRESETS, STRATEGIES, Config, ModelConfig, get_preset
from pixinpix_tf.errors import ConfigError, PixInPixError, TrainingFailed
from pixinpix_tf.inference.tiling import fit_secret
from pixinpix_tf.methods import registry


def fail(err: Exception | str, code: int = 2) -> int:
    """Print a one-line error and return the exit code."""
    message = " ".join(str(err).split())
    print(f"pixinpix: error: {message}", file=sys.stderr)
    return code


def _tensorflow(command: str, modules: tuple[str, ...] = (), extra: str = "tf") -> None:
    """Import TensorFlow for `pixinpix COMMAND`, or say which extra to install."""
    extras.require(f"pixinpix {command}", ("tensorflow", "keras", *modules), extra)
    extras.import_tensorflow(f"pixinpix {command}")


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
        _tensorflow("train", ("tensorflow_datasets",))
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
    parser.add_argument("model", help="the method, as `pixinpix hide --model` takes it: a network (run directory, "
                        ".keras file, shipped name), dct-code or a baseline (lsbK, webpK, jpegK)")
    parser.add_argument("--photos", nargs="+", metavar="FOLDER",
                        help="measure on whole photos (each PNG of a folder hiding the next) through JPEG, resizing, "
                        "noise, blur and a crop, instead of test pairs; every method can")
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
        if args.refine:
            registry.check(args.model, "refine")
        if not args.photos:
            registry.check(args.model, "pairs")
        _tensorflow("evaluate", ("tensorflow_datasets", "matplotlib"))
        from pixinpix_tf.analysis import evaluate

        out = args.out or evaluate.default_out(args.model)
        if args.photos:
            results = evaluate.run_photos(args.model, args.photos, out, refine_steps=args.refine)
        else:
            results = evaluate.run(args.model, out, cover=args.cover, secret=args.secret, num=args.num,
                                   data_dir=args.data_dir, seed=args.seed, verbose=args.verbose,
                                   refine_steps=args.refine)
    except PixInPixError as err:
        return fail(err)
    if args.photos:
        for folder, fig in results.items():
            print(f"{folder}: stego PSNR {fig['stego_psnr']:.2f} dB, revealed PSNR {fig['revealed_psnr']:.2f} dB"
                  + (f" ({len(fig['refused'])} covers refused)" if fig["refused"] else ""))
        print(f"report in {out}")
        return 0
    headline = results["pixinpix"]["8bit"]
    print(f"8-bit stego: stego PSNR {headline['stego']['psnr']['mean']:.2f} dB, "
          f"revealed PSNR {headline['revealed']['psnr']['mean']:.2f} dB; report in {out}")
    return 0


def steganalyse_main(argv: list[str] | None = None) -> int:
    """`pixinpix steganalyse`: how well a fresh CNN detector tells each method's stego images from covers."""
    parser = argparse.ArgumentParser(
        prog="pixinpix steganalyse",
        description="Train a small CNN steganalyser (fixed high-pass front) on covers and each method's stego "
        "images of the same fixed test pairs, test it on covers it never saw, and print accuracy, 1 - P_E and ROC "
        "AUC; with --photos also the targeted detectors of each method's forced statistics, on whole photos.")
    parser.add_argument("methods", nargs="+", help="methods as `pixinpix hide --model` takes them: networks, "
                        "dct-code, lsbK, webpK, jpegK (K low bits, 1..8)")
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
        for method in args.methods:
            if not args.photos:
                registry.check(method, "pairs")
        _tensorflow("steganalyse", ("tensorflow_datasets",))
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
        _tensorflow("export", ("tf2onnx", "onnxruntime"), "export")
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

def _method_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="the method: a shipped network, pretrained folder, run directory, .keras "
                        f"file or `pixinpix export` folder ({api.DEFAULT_MODEL} is the default network), dct-code (a "
                        "digital code laid out for the channel: png, or JPEG down to quality 50), or a classical "
                        "baseline (avif1, lsbK, webpK, jpegK). Default: hide picks the method that carries the most "
                        "through the channel (avif1 for png, dct-code for JPEG or with a key); reveal tries dct-code, "
                        "then avif1, then the default network")
    parser.add_argument("--backend", choices=api.BACKENDS, default="auto",
                        help="for a network: auto takes onnxruntime when the model has ONNX files, onnxruntime is "
                        "installed and no refinement is asked, else Keras (default: auto)")
    parser.add_argument("--report", action="store_true",
                        help="print PSNR and SSIM of the result against the input (reveal: against --secret)")
    parser.add_argument("--allow-lossy", action="store_true", help="allow a lossy output format such as JPEG")
    keyed = parser.add_argument_group(
        "key", "only a reveal with the same key shows the secret (pixinpix_tf.keys; never on the command line, "
        "where the process list would show it)")
    key_source = keyed.add_mutually_exclusive_group()
    key_source.add_argument("--key-file", metavar="FILE", help="the key is this file's bytes (without a final "
                            "line break)")
    key_source.add_argument("--key-env", metavar="NAME", help="the passphrase is in the environment variable NAME")
    key_source.add_argument("--key-prompt", action="store_true", help="ask for the passphrase (not echoed)")


def _report(what: str, reference, result) -> None:
    from pixinpix_tf.analysis import metrics

    psnr, ssim = metrics.psnr(reference, result)[0], metrics.ssim(reference, result)[0]
    print(f"{what}: PSNR {psnr:.2f} dB, SSIM {ssim:.4f}")


def hide_main(argv: list[str] | None = None) -> int:
    """`pixinpix hide COVER SECRET -o STEGO.png [--model MODEL]`."""
    parser = argparse.ArgumentParser(prog="pixinpix hide",
                                     description="Hide SECRET in COVER and write the 8-bit stego image (the cover's "
                                     "size): a PNG, or a JPEG where the method survives it.")
    parser.add_argument("cover", help="cover image (any size >= the method's, any common format and mode)")
    parser.add_argument("secret", help="secret image (any size; resized to the cover's size)")
    parser.add_argument("-o", "--output", required=True, help="output file (.png; .jpg with --quality)")
    parser.add_argument("--quality", type=int, default=95,
                        help="JPEG quality of a .jpg stego image (default: 95); without --allow-lossy only for a "
                        "method checked to survive JPEG at that quality")
    parser.add_argument("--channel", help="where the stego image will go after OUTPUT: png, jpeg:Q (Q >= 50), ...; "
                        "the stego image is made to survive it, and without --model by the method that carries the "
                        "most through it (default: OUTPUT's own: png for .png, jpeg:QUALITY for .jpg)")
    parser.add_argument("--keep-aspect", action="store_true",
                        help="fit the secret inside the cover's size with black bars instead of stretching it")
    parser.add_argument("--refine", type=int, default=api.DEFAULT_REFINE_STEPS, metavar="STEPS",
                        help="optimise the stego pixels against the revealing network for STEPS steps: a "
                        "better revealed secret for about 2 s per step on a Kodak photo; needs TensorFlow "
                        f"(default: {api.DEFAULT_REFINE_STEPS}, the hiding network's stego alone)")
    _method_options(parser)
    args = parser.parse_args(argv)
    try:
        key = keys.from_source(args.key_file, args.key_env, args.key_prompt, confirm=True)
        cover, stego, method = api.hide_file(
            args.cover, args.secret, args.output, args.model, quality=args.quality, allow_lossy=args.allow_lossy,
            keep_aspect=args.keep_aspect, refine_steps=args.refine, backend=args.backend, key=key,
            progress=args.refine > 0, channel=args.channel)
    except PixInPixError as err:
        return fail(err)
    print(f"wrote {args.output} ({stego.shape[1]}x{stego.shape[0]}, {method})")
    if args.report:
        _report("stego vs cover", cover, stego)
    return 0


def reveal_main(argv: list[str] | None = None) -> int:
    """`pixinpix reveal STEGO.png -o REVEALED.png [--model MODEL]`."""
    parser = argparse.ArgumentParser(prog="pixinpix reveal",
                                     description="Reveal the secret of a stego image (the revealed image has the "
                                     "stego's size).")
    parser.add_argument("stego", help="stego image written by `pixinpix hide`")
    parser.add_argument("-o", "--output", required=True, help="output file (.png)")
    parser.add_argument("--secret", help="the original secret, for --report")
    _method_options(parser)
    args = parser.parse_args(argv)
    from pixinpix_tf.images import read_image

    try:
        if args.report and not args.secret:
            raise ConfigError("--report needs --secret FILE to compare the revealed image with")
        key = keys.from_source(args.key_file, args.key_env, args.key_prompt)
        revealed = api.reveal_file(args.stego, args.output, args.model, backend=args.backend, key=key,
                                   allow_lossy=args.allow_lossy)
        reference = read_image(args.secret, revealed.shape[-1]) if args.secret else None
    except PixInPixError as err:
        return fail(err)
    print(f"wrote {args.output} ({revealed.shape[1]}x{revealed.shape[0]})")
    if args.report:
        _report("revealed vs secret", fit_secret(reference, *revealed.shape[:2]), revealed)
    return 0


def capacity_main(argv: list[str] | None = None) -> int:
    """`pixinpix capacity COVER [--channel CHANNEL] [--secret SECRET] [--model M | --keyed]`."""
    parser = argparse.ArgumentParser(prog="pixinpix capacity",
                                     description="Say how many bytes COVER carries through a channel, and the secret "
                                     "PSNR to expect, before any hiding.")
    parser.add_argument("cover", help="cover image")
    parser.add_argument("--channel", default="png", help="where the stego image will go: png, jpeg:Q, ... "
                        "(default: png)")
    parser.add_argument("--secret", help="the secret to expect the PSNR of (default: a photo like the cover)")
    parser.add_argument("--model", help="a code (dct-code, avif1); default: the one hide picks for the channel")
    parser.add_argument("--keyed", action="store_true", help="for a hide with a key (--key-file, --passphrase): "
                        "the method hide then picks (dct-code for png)")
    args = parser.parse_args(argv)
    from pixinpix_tf.images import read_image

    try:
        cover = read_image(args.cover, 3)
        secret = read_image(args.secret, 3) if args.secret else None
        method, room, psnr = api.capacity(cover, args.channel, args.model, secret, keyed=args.keyed)
    except PixInPixError as err:
        return fail(err)
    like = f"the secret {args.secret}" if args.secret else "a secret like the cover"
    expected = f"{like} would reveal at {psnr:.2f} dB" if psnr is not None else "no secret fits"
    print(f"{args.cover} through {args.channel} with {method}: {room:,} bytes; {expected}")
    return 0


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
    parser.add_argument("--photo-model", default=demo.PHOTO_MODEL, help="method for the photo (as --model takes it; "
                        f"default: {demo.PHOTO_MODEL})")
    parser.add_argument("--backend", choices=api.BACKENDS, default="auto", help="as in `pixinpix hide`")
    args = parser.parse_args(argv)
    out = args.out or demo.default_out()
    try:
        extras.require("pixinpix demo", ("matplotlib",), "onnx")
        methods = [api.load_method(name, args.backend) for name in (args.digits_model, args.photo_model)]
        rows = demo.run_demo(out, *methods)
    except PixInPixError as err:
        return fail(err)
    print(demo.format_table(rows))
    print(f"stego and revealed PNGs, digits.png, photo.png and photo_zoom.png (cover | stego at {demo.ZOOM}x) in {out}")
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
        registry.check(name, "web")
        web.check_page()
        if web.needs_conversion(name):
            _tensorflow("web", ("tf2onnx", "onnx"), "export")
            print(f"converting {name} to hide_image.onnx and reveal_image.onnx (once; about a minute) ...",
                  flush=True)
        else:
            extras.require("pixinpix web", ("onnxruntime",), "onnx")
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
    "capacity": (capacity_main, "say how many bytes a cover carries through a channel, before hiding"),
    "demo": (demo_main, "hide and reveal bundled samples with the pretrained models (offline)"),
    "web": (web_main, "serve a page that hides and reveals in the browser (onnxruntime-web, localhost)"),
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `pixinpix` console script (and its alias `pixinpix-onnx`)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(
        prog="pixinpix",
        description="Hide images inside images with PixInPix twin U-Nets (Keras 3 / TensorFlow, onnxruntime).",
        epilog="Run 'pixinpix COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's start-up log lines")
    parser.add_argument("command", choices=list(COMMANDS), metavar="COMMAND",
                        help="; ".join(f"{name}: {text}" for name, (_, text) in COMMANDS.items()))
    extras.SHOW_TENSORFLOW_LOGS = bool(argv) and argv[0] == "--verbose"
    argv = argv[1:] if extras.SHOW_TENSORFLOW_LOGS else argv
    if not argv or argv[0] in ("-h", "--help"):
        parser.print_help()
        return 0 if argv else 2
    args = parser.parse_args(argv[:1])
    return COMMANDS[args.command][0](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
