"""Ship a trained run as a pretrained model of the package, with its model card.

Writes pixinpix_tf/pretrained/NAME/{config.json, weights.npz, onnx/hide.onnx,
onnx/reveal.onnx, onnx/hide_image.onnx, onnx/reveal_image.onnx, training.json,
stages.json, figures.json, MODEL_CARD.md}.
stages.json lists every training run behind the weights (a run may continue a
shipped model with `pixinpix train --init-from`). The ONNX files are checked
against Keras (8-bit outputs at most one level apart). Every figure is measured
on the shipped weights and written to figures.json (which the tests read) and
the card: `pixinpix evaluate` on the run's test pairs (its full outputs go to
--eval-out), the bundled sample pair and demo digits as `pixinpix hide` makes
them, and photo folders (each hiding the next, 8-bit PNG round trip, tiles)
for each number of refinement steps in --refine (a model with `embed_bits`
has no refinement).

Examples:
    TFDS_DATA_DIR=../shared/data/tfds python scripts/ship_pretrained.py \\
        runs/mnist-in-cifar10-fast --name mnist-in-cifar10 --photos ../shared/data/photos/kodak
    # re-measure a shipped model (same weights), reusing its 10,000-pair evaluation:
    python scripts/ship_pretrained.py --reship imagenet-in-cifar10 \\
        --eval-results docs/results/imagenet-in-cifar10/metrics.json \\
        --photos ../shared/data/photos/kodak ../shared/data/photos/CBSD68
    # rewrite only a shipped model's ONNX files, their figures and the card's ONNX paragraph:
    python scripts/ship_pretrained.py --reship imagenet-in-cifar10 --onnx-only
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from pixinpix_tf import api  # noqa: E402
from pixinpix_tf.analysis import metrics  # noqa: E402
from pixinpix_tf.inference import cards  # noqa: E402
from pixinpix_tf.inference.loading import PRETRAINED_DIR, load_model, save_pretrained  # noqa: E402


def training_summary(run: Path) -> dict:
    with (run / "history.csv").open() as f:
        rows = list(csv.DictReader(f))
    config = json.loads((run / "config.json").read_text())
    seconds = sum(config["train_size"] / float(r["images_per_second"]) for r in rows)
    best = min(rows, key=lambda r: float(r["val_loss"]))
    return {"run": run.name, "config": config, "epochs": len({r["epoch"] for r in rows}),
            "best_epoch": int(best["epoch"]) + 1, "training_hours": seconds / 3600}


def training_stages(run: Path, init_run: Path | None = None) -> list[dict]:
    """Every training run behind RUN's weights, oldest first: RUN itself and, if it
    started from another model (`--init-from`), that model's stages: read from its
    run directory, from the shipped folder's stages.json, or from INIT_RUN."""
    stage = training_summary(run)
    start = stage["config"].get("init_from")
    if not start:
        return [stage]
    shipped = PRETRAINED_DIR / start if (PRETRAINED_DIR / start).is_dir() else None
    start_run = Path(start).parent if Path(start).suffix == ".keras" else Path(start)  # a run's best.keras
    if init_run is not None:
        earlier = training_stages(init_run)
    elif (start_run / "history.csv").is_file():
        earlier = training_stages(start_run)
    elif shipped is not None and (shipped / "stages.json").is_file():
        earlier = json.loads((shipped / "stages.json").read_text())
    else:
        raise SystemExit(f"{run} started from {start}, whose training is not recorded; "
                         f"pass --init-run with the run {start} was shipped from")
    return earlier + [stage]


def sample_figures(model) -> dict:
    """What `pixinpix hide` / `reveal` give on the bundled samples (default settings, 8-bit PNGs):
    the photo pair, and the worst of the six demo digits."""
    from pixinpix_tf.demo import SAMPLES
    from pixinpix_tf.images import read_image
    from pixinpix_tf.inference.tiling import fit_secret

    def pair(cover_file, secret_file):
        cover = read_image(cover_file, 3)
        secret = fit_secret(read_image(secret_file, model.secret_channels), *cover.shape[:2])
        stego = api.hide(cover, secret, model)
        return float(metrics.psnr(cover, stego)[0]), float(metrics.psnr(secret, api.reveal(stego, model))[0])

    photo = pair(SAMPLES / "cover.png", SAMPLES / "secret.png")
    digits = np.array([pair(SAMPLES / f"cifar10_{i}.png", SAMPLES / f"mnist_{i}.png") for i in range(6)])
    return {"photo pair": {"stego_psnr": photo[0], "revealed_psnr": photo[1]},
            "digits": {"min_stego_psnr": float(digits[:, 0].min()), "min_revealed_psnr": float(digits[:, 1].min())}}


def network_extras(cfg: dict) -> str:
    """What sets a stage's network apart from the plain U-Net, for the stages table."""
    model = cfg["model"]
    extras = [f"{model['pixel_block']}x{model['pixel_block']} pixel blocks" if model.get("pixel_block", 1) > 1 else "",
              f"secret at 1/{model['secret_scale']} side" if model.get("secret_scale", 1) > 1 else "",
              f"{model['image_size']}x{model['image_size']} crops" if cfg.get("photo_crops") else "",
              f"channel {cfg['channel']}" if cfg.get("channel") else "",
              f"texture mask {model['texture_mask']:g}" if model.get("texture_mask") else ""]
    return "".join(f", {extra}" for extra in extras if extra)


def onnx_paragraph(onnx: dict) -> str:
    """The card's paragraph on the ONNX files, from figures.json's "onnx" (`write_pretrained_onnx`)."""
    return (f"ONNX files ({onnx['weights']} weights): `onnx/hide.onnx` and `onnx/reveal.onnx`, the networks on "
            f"tiles, and `onnx/hide_image.onnx` and `onnx/reveal_image.onnx`, which take and give whole uint8 images "
            f"of any size (padding, tiles or windows and cropping inside the graph) and which `pixinpix hide` and "
            f"`reveal` run on onnxruntime. On the bundled sample photo's tiles the networks' 8-bit outputs are at "
            f"most {onnx['hide']:g} level from Keras' for the stego ({onnx['hide_fraction_off']:.3%} of values "
            f"differ) and {onnx['reveal']:g} for the revealed secret ({onnx['reveal_fraction_off']:.3%}); on a "
            f"random image large enough for several chunks of tiles or windows, the image graphs' are at most "
            f"{onnx['hide_image.onnx_levels']:g} ({onnx['hide_image.onnx_fraction_off']:.3%}) and "
            f"{onnx['reveal_image.onnx_levels']:g} ({onnx['reveal_image.onnx_fraction_off']:.3%}) from Keras' "
            f"through `pixinpix_tf.inference.tiling`.")


def reship_onnx(folder: Path) -> None:
    """Rewrite a shipped model's onnx/ folder, figures.json's "onnx" and the card's ONNX paragraph; its other
    figures stay (the ONNX files give Keras' 8-bit images within one level)."""
    from pixinpix_tf.export.exporter import write_pretrained_onnx

    figures = cards.update(folder, onnx=write_pretrained_onnx(load_model(folder), folder))
    card = (folder / "MODEL_CARD.md").read_text().split("\n")
    card = [onnx_paragraph(figures["onnx"]) if line.startswith("ONNX files (") else line for line in card]
    (folder / "MODEL_CARD.md").write_text("\n".join(card))
    print(f"{folder}: {figures['onnx']}")


def detectability_figures(name: str, files: list[str]) -> dict:
    """The figures of `name` (and of its smaller payloads, `name@side`) in `pixinpix steganalyse --out` files."""
    found = {}
    for file in files:
        entries = json.loads(Path(file).read_text())
        mine = {method: f for method, f in entries.items() if method == name or method.startswith(name + "@")}
        if mine:
            found[Path(file).as_posix()] = mine
    return found


def detectability_section(figures: dict) -> list[str]:
    """The card's detectability table: a fresh detector per row (`pixinpix steganalyse`)."""
    if not figures.get("detectability"):
        return []
    lines = ["## Detectability", "",
             "A fresh CNN detector (`pixinpix steganalyse`: a fixed high-pass filter and three convolution blocks) "
             "trained on covers and this model's stego images, tested on covers it never saw (50%: undetectable). "
             "A secret side below 1 hides the secret at that fraction of its side (a smaller payload); the "
             "README gives each file's command.", "",
             "| results file | secret side | stego PSNR (dB) | detector accuracy | ROC AUC | test pairs |",
             "|---|---|---|---|---|---|"]
    for file, entries in figures["detectability"].items():
        lines += [f"| `{file}` | {f.get('secret_side', 1):g} | {f['stego_psnr']:.2f} | {f['accuracy']:.1%} "
                  f"| {f['auc']:.3f} | {f['test_pairs']:,} |" for f in entries.values()]
    return lines


def reship_detectability(folder: Path, files: list[str]) -> None:
    """Rewrite figures.json's "detectability" and the card's detectability section from steganalysis files."""
    figures = cards.update(folder, detectability=detectability_figures(folder.name, files))
    card = (folder / "MODEL_CARD.md").read_text().rstrip("\n").split("\n")
    if "## Detectability" in card:  # replace the old section, up to the next heading
        start = card.index("## Detectability")
        end = next((i for i in range(start + 1, len(card)) if card[i].startswith("## ")), len(card))
        card = card[:start] + detectability_section(figures) + ([""] + card[end:] if end < len(card) else [])
    else:
        card += [""] + detectability_section(figures)
    (folder / "MODEL_CARD.md").write_text("\n".join(card) + "\n")
    print(f"{folder}: detectability from {', '.join(figures['detectability']) or 'no file naming it'}")


def model_card(name: str, stages: list[dict], results: dict, figures: dict, size_mb: float) -> str:
    cfg = stages[-1]["config"]
    shipped_whole = cfg["model"].get("whole_image", False)
    head = results["pixinpix"]["8bit"]
    epochs = sum(s["epochs"] for s in stages)
    pairs = sum(s["epochs"] * s["config"]["train_size"] for s in stages)
    hours = sum(s["training_hours"] for s in stages)
    lines = [
        f"# {name}", "",
        f"PixInPix twin U-Nets hiding `{cfg['secret']}` secrets in `{cfg['cover']}` covers, trained by "
        f"`pixinpix train` for {epochs} epochs ({pairs:,} training pairs) in {len(stages)} stage(s) "
        f"({hours:.1f} h of training on 2 CPU cores), shipped from `{stages[-1]['run']}` by "
        f"`scripts/ship_pretrained.py`. Weights are stored in float16 ({size_mb:.1f} MB); all figures below are "
        f"measured on these float16 weights, and written to `figures.json` beside this card (the tests read it).",
        "",
        onnx_paragraph(figures["onnx"]), "",
        *(["The secrets are `tiny_imagenet32`: Tiny ImageNet photos down-sampled to 32x32 (7,000 train, 2,000 test), "
           "a local stand-in for the paper's `imagenet_resized/32x32`, which could not be downloaded where this "
           "model was trained.", ""] if cfg["secret"].startswith("tiny_imagenet32") else []),
        "## Training stages", "",
        "Each stage keeps its epoch of lowest validation loss (`best.keras`): the next stage starts from it, "
        "and the last one is shipped.", "",
        "| stage | run | started from | network | learning rate, loss weights | zoom | epochs x pairs | hours "
        "| kept epoch |",
        "|---|---|---|---|---|---|---|---|---|",
        *(f"| {i} | `{s['run']}` | {s['config'].get('init_from') or 'random weights'} | "
          f"depth {s['config']['model']['depth']}, {s['config']['model']['base_filters']} base filters"
          f"{network_extras(s['config'])} | "
          f"{s['config']['learning_rate']:g}, {s['config']['loss_weights'][0]:g} / "
          f"{s['config']['loss_weights'][1]:g} | {s['config'].get('zoom', 1.0):g} | "
          f"{s['epochs']} x {s['config']['train_size']:,} | {s['training_hours']:.1f} | {s.get('best_epoch', '?')} |"
          for i, s in enumerate(stages, 1)), "",
        "## Training config (last stage)", "", "```json", json.dumps(cfg, indent=2), "```", "",
        f"## `pixinpix evaluate {name}` figures ({results['pairs']:,} test pairs, 8-bit stego)", "",
        "| | PSNR (dB) | SSIM | APD | RMSE |", "|---|---|---|---|---|",
    ]
    for part in ("stego", "revealed"):
        m = head[part]
        lines.append(f"| {part} | {m['psnr']['mean']:.2f} | {m['ssim']['mean']:.4f} | {m['apd']['mean']:.2f} "
                     f"| {m['rmse']['mean']:.2f} |")
    if "digit_accuracy" in results:
        acc = results["digit_accuracy"]
        lines += ["", f"Digit classifier accuracy: {acc['pixinpix_8bit']:.2%} on revealed digits, "
                      f"{acc['original']:.2%} on the original digits."]
    lines += ["", "## Robustness", "",
              "Revealed PSNR (dB) after the mildest strength of each distortion of the 8-bit stego "
              "(`pixinpix evaluate` has them all):", "",
              "| distortion | revealed PSNR (dB) |", "|---|---|"]
    for distortion, by_strength in results["pixinpix"]["distortions"].items():
        strength, m = next(iter(by_strength.items()))
        lines.append(f"| {distortion} {strength} | {m['psnr']['mean']:.2f} |")
    samples = figures["samples"]
    lines += ["", "## Bundled samples (`pixinpix demo`, default settings)", "",
              "| samples | stego PSNR (dB) | revealed PSNR (dB) |", "|---|---|---|",
              f"| photo pair (`assets/samples/cover.png` hiding `secret.png`) | "
              f"{samples['photo pair']['stego_psnr']:.2f} | {samples['photo pair']['revealed_psnr']:.2f} |",
              f"| six digits in six CIFAR-10 images, the worst of each | {samples['digits']['min_stego_psnr']:.2f} "
              f"| {samples['digits']['min_revealed_psnr']:.2f} |"]
    for folder, by_steps in figures["photos"].items():
        count = next(iter(by_steps.values()))["photos"]
        pieces = "whole (no tiles)" if shipped_whole else "tiles"
        lines += ["", f"## Photos: {folder} ({count}, each hiding the next, {pieces}, 8-bit PNG)", "",
                  f"`pixinpix hide` runs the hiding network alone by default (`--refine {api.DEFAULT_REFINE_STEPS}`, "
                  "on onnxruntime); `--refine STEPS` also optimises the stego pixels against the revealing network "
                  "(on Keras). Seconds per hide on 2 CPU cores, in-process (no start-up). Leak: how much the "
                  "residual stego - cover shows of the secret's outlines (`metrics.leak`, 0: nothing); grid: how much "
                  "more it jumps across a 32-pixel tile grid than elsewhere (`metrics.grid_ratio`, 1: no grid).", "",
                  "| `pixinpix hide` | stego PSNR (dB) | stego SSIM | revealed PSNR (dB) | revealed SSIM "
                  "| s per hide | leak | grid |", "|---|---|---|---|---|---|---|---|"]
        lines += [f"| `--refine {steps}`{' (default)' if int(steps) == api.DEFAULT_REFINE_STEPS else ''} "
                  f"| {fig['stego_psnr']:.2f} | {fig['stego_ssim']:.4f} | {fig['revealed_psnr']:.2f} "
                  f"| {fig['revealed_ssim']:.4f} | {fig['seconds_per_hide']:.1f} | {fig.get('leak', float('nan')):.3f} "
                  f"| {fig.get('grid_ratio', float('nan')):.2f} |" for steps, fig in by_steps.items()]
        after = by_steps[str(api.DEFAULT_REFINE_STEPS)].get("revealed_psnr_after", {})
        if after:
            lines += ["", f"Revealed PSNR (dB) after the default hide's stego PNG is changed on its way "
                          f"(worst photo's stego PSNR {by_steps[str(api.DEFAULT_REFINE_STEPS)]['min_stego_psnr']:.2f} "
                          "dB):", "", "| " + " | ".join(after) + " |", "|" + "---|" * len(after),
                      "| " + " | ".join(f"{v:.2f}" for v in after.values()) + " |"]
    safe = figures.get("jpeg_safe_quality")
    lines += ["", "## Saving the stego image as JPEG", "",
              f"`pixinpix hide -o stego.jpg --quality Q` needs no `--allow-lossy` with this model for Q >= {safe}: "
              f"after JPEG at quality {safe} every photo folder above reveals at most "
              f"{cards.JPEG_SURVIVAL_LOSS_DB:g} dB worse than from the PNG (and above "
              f"{cards.JPEG_SURVIVAL_FLOOR_PSNR:g} dB). That says JPEG does not destroy what it hides, not that the "
              "secret is good: see the revealed PSNR above." if safe else
              f"This model does not survive JPEG (after quality 95 its photos reveal more than "
              f"{cards.JPEG_SURVIVAL_LOSS_DB:g} dB worse than from the PNG, or below "
              f"{cards.JPEG_SURVIVAL_FLOOR_PSNR:g} dB): "
              "`pixinpix hide` refuses a .jpg output without `--allow-lossy`."]
    section = detectability_section(figures)
    return "\n".join(lines + ([""] + section if section else [])) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", help="training run directory")
    parser.add_argument("--name", help="pretrained model name, e.g. mnist-in-cifar10")
    parser.add_argument("--reship", metavar="NAME", help="re-measure the shipped model NAME (its weights, stages "
                        "and training config stay) instead of shipping a run")
    parser.add_argument("--num", type=int, default=10_000, help="test pairs for the evaluation")
    parser.add_argument("--eval-results", help="a metrics.json of `pixinpix evaluate` on these same weights, "
                        "used instead of evaluating again")
    parser.add_argument("--photos", nargs="*", default=[], help="photo folders for the card")
    parser.add_argument("--refine", type=int, nargs="+", default=[0, 10],
                        help="refinement steps of the photo rows (default: 0 10; 0 only with embed_bits)")
    parser.add_argument("--data-dir")
    parser.add_argument("--into", help="pretrained folder (default: the package's)")
    parser.add_argument("--init-run", help="the run the model this run started from (--init-from) was shipped "
                        "from, if that model has no stages.json")
    parser.add_argument("--eval-out", help="where `pixinpix evaluate` writes its outputs (default: RUN/eval-NAME)")
    parser.add_argument("--onnx-only", action="store_true", help="with --reship: rewrite only the ONNX files, "
                        "their figures and the card's ONNX paragraph")
    parser.add_argument("--detectability", nargs="+", default=[], metavar="JSON",
                        help="`pixinpix steganalyse --out` files whose rows for this model go into the card")
    parser.add_argument("--detectability-only", action="store_true", help="with --reship: rewrite only the "
                        "card's detectability section (and its figures) from --detectability")
    args = parser.parse_args(argv)
    if bool(args.run) == bool(args.reship) or (args.run and not args.name):
        parser.error("give a RUN with --name, or --reship NAME")
    if args.onnx_only:
        if not args.reship:
            parser.error("--onnx-only goes with --reship NAME")
        reship_onnx((Path(args.into) if args.into else PRETRAINED_DIR) / args.reship)
        return
    if args.detectability_only:
        if not args.reship:
            parser.error("--detectability-only goes with --reship NAME")
        reship_detectability((Path(args.into) if args.into else PRETRAINED_DIR) / args.reship, args.detectability)
        return

    from pixinpix_tf.analysis import evaluate
    from pixinpix_tf.export.exporter import write_pretrained_onnx

    name = args.name or args.reship
    final = (Path(args.into) if args.into else PRETRAINED_DIR) / name
    # Everything is written into a staging folder beside the model's and swapped in at the end,
    # so a failed or interrupted ship leaves the shipped model as it was.
    folder = final.parent / f".{name}.staging"
    shutil.rmtree(folder, ignore_errors=True)
    if args.reship:
        shutil.copytree(final, folder)
    if args.run:
        run = Path(args.run)
        stages = training_stages(run, Path(args.init_run) if args.init_run else None)  # before the folder changes
        save_pretrained(load_model(run), folder, (run / "config.json").read_text())
        (folder / "stages.json").write_text(json.dumps(stages, indent=2) + "\n")
    else:
        stages = json.loads((folder / "stages.json").read_text())
    shipped = load_model(folder)
    figures = {"onnx": write_pretrained_onnx(shipped, folder)}
    if args.eval_results:
        results = json.loads(Path(args.eval_results).read_text())
    else:  # the same evaluation as `pixinpix evaluate NAME`, on the shipped float16 weights
        results = evaluate.run(folder, args.eval_out or Path(args.run or ".") / f"eval-{name}", num=args.num,
                               data_dir=args.data_dir, verbose=1)
    figures["evaluation"] = {"pairs": results["pairs"], **{f"{part}_psnr": results["pixinpix"]["8bit"][part]["psnr"]
                                                           ["mean"] for part in ("stego", "revealed")}}
    onnx_model = api.load_method(folder)  # what `pixinpix hide` runs by default
    figures["samples"] = sample_figures(onnx_model)
    steps_rows = [steps for steps in args.refine if not (steps and shipped.embed_bits)]
    figures["photos"] = {Path(f).name: {str(steps): evaluate.photo_figures(
        api.load_method(folder, "keras", steps) if steps else onnx_model, Path(f),
        distortions=() if steps else evaluate.PHOTO_DISTORTIONS) for steps in steps_rows} for f in args.photos}
    figures["jpeg_safe_quality"] = cards.jpeg_safe_quality_of(figures["photos"], api.DEFAULT_REFINE_STEPS)
    # Rows measured on other weights do not carry over to a new run's; a reship keeps them unless given new files.
    previous = cards.read(folder).get("detectability", {}) if args.reship else {}
    figures["detectability"] = detectability_figures(name, args.detectability) if args.detectability else previous
    cards.write(folder, figures)
    size_mb = (folder / "weights.npz").stat().st_size / 2**20
    card = model_card(name, stages, results, figures, size_mb)
    (folder / "MODEL_CARD.md").write_text(card)
    previous = final.parent / f".{name}.previous"
    if final.exists():
        os.replace(final, previous)
    os.replace(folder, final)
    shutil.rmtree(previous, ignore_errors=True)
    print(card)


if __name__ == "__main__":
    main()
