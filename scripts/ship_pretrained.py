"""Ship a trained run as a pretrained model of the package, with its model card.

Writes pixinpix_tf/pretrained/NAME/{config.json, weights.npz, training.json,
stages.json, MODEL_CARD.md}. stages.json lists every training run behind the
weights (a run may continue a shipped model with `pixinpix train --init-from`).
The card's figures are measured on the shipped float16 weights: `pixinpix
evaluate` on the run's test pairs (its full outputs go to RUN/eval-NAME), and
photos (each hiding the next, 8-bit PNG round trip, tiles) with and without
`pixinpix hide`'s default stego refinement (which a model with `embed_bits`
does not have).

Example:
    TFDS_DATA_DIR=../shared/data/tfds python scripts/ship_pretrained.py \\
        runs/mnist-in-cifar10-fast --name mnist-in-cifar10 --photos ../shared/data/photos/kodak
"""

from __future__ import annotations

import argparse
import csv
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pixinpix_tf.pretrained import (DEFAULT_REFINE_STEPS, PRETRAINED_DIR, default_refine_steps,  # noqa: E402
                                    find, load_folder, save_pretrained)


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
    shipped = find(start)
    if init_run is not None:
        earlier = training_stages(init_run)
    elif (Path(start) / "history.csv").is_file():
        earlier = training_stages(Path(start))
    elif shipped is not None and (shipped / "stages.json").is_file():
        earlier = json.loads((shipped / "stages.json").read_text())
    else:
        raise SystemExit(f"{run} started from {start}, whose training is not recorded; "
                         f"pass --init-run with the run {start} was shipped from")
    return earlier + [stage]


def model_card(name: str, stages: list[dict], results: dict, photos: dict[str, dict[int, dict]],
               size_mb: float) -> str:
    cfg = stages[-1]["config"]
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
        f"measured on these float16 weights (`pixinpix evaluate {name}` reproduces the table).", "",
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
          f"depth {s['config']['model']['depth']}, {s['config']['model']['base_filters']} base filters | "
          f"{s['config']['learning_rate']:g}, {s['config']['loss_weights'][0]:g} / "
          f"{s['config']['loss_weights'][1]:g} | {s['config'].get('zoom', 1.0):g} | "
          f"{s['epochs']} x {s['config']['train_size']:,} | {s['training_hours']:.1f} | {s.get('best_epoch', '?')} |"
          for i, s in enumerate(stages, 1)), "",
        "## Training config (last stage)", "", "```json", json.dumps(cfg, indent=2), "```", "",
        f"## `pixinpix evaluate` figures ({results['pairs']:,} test pairs, 8-bit stego)", "",
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
    for name, by_strength in results["pixinpix"]["distortions"].items():
        strength, m = next(iter(by_strength.items()))
        lines.append(f"| {name} {strength} | {m['psnr']['mean']:.2f} |")
    for folder, by_steps in photos.items():
        count = next(iter(by_steps.values()))["photos"]
        refine_note = ("`pixinpix hide` refines the stego image against the revealing network "
                       f"({DEFAULT_REFINE_STEPS} steps by default; `--refine 0` gives the hiding network's stego "
                       "alone)." if DEFAULT_REFINE_STEPS in by_steps else
                       "`pixinpix hide` does not refine this model's stego image: its low bits are the code.")
        lines += ["", f"## Photos: {folder} ({count}, each hiding the next, tiles, 8-bit PNG)", "",
                  f"{refine_note} Seconds per hide on 2 CPU cores.", "",
                  "| `pixinpix hide` | stego PSNR (dB) | stego SSIM | revealed PSNR (dB) | revealed SSIM "
                  "| s per hide |", "|---|---|---|---|---|---|"]
        lines += [f"| `--refine {steps}`{' (default)' if steps == DEFAULT_REFINE_STEPS else ''} "
                  f"| {fig['stego_psnr']:.2f} | {fig['stego_ssim']:.4f} | {fig['revealed_psnr']:.2f} "
                  f"| {fig['revealed_ssim']:.4f} | {fig['seconds_per_hide']:.1f} |" for steps, fig in by_steps.items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="training run directory")
    parser.add_argument("--name", required=True, help="pretrained model name, e.g. mnist-in-cifar10")
    parser.add_argument("--num", type=int, default=10_000, help="test pairs for the evaluation")
    parser.add_argument("--photos", nargs="*", default=[], help="photo folders for the card")
    parser.add_argument("--data-dir")
    parser.add_argument("--into", help="pretrained folder (default: the package's)")
    parser.add_argument("--init-run", help="the run the model this run started from (--init-from) was shipped "
                        "from, if that model has no stages.json")
    parser.add_argument("--eval-out", help="where `pixinpix evaluate` writes its outputs (default: RUN/eval-NAME)")
    args = parser.parse_args(argv)

    from pixinpix_tf import evaluate

    run = Path(args.run)
    folder = (Path(args.into) if args.into else PRETRAINED_DIR) / args.name
    stages = training_stages(run, Path(args.init_run) if args.init_run else None)  # before the folder changes
    save_pretrained(evaluate.load_model(run), folder, (run / "config.json").read_text())
    (folder / "stages.json").write_text(json.dumps(stages, indent=2) + "\n")
    # The same evaluation as `pixinpix evaluate NAME`, on the shipped float16 weights.
    results = evaluate.run(folder, args.eval_out or run / f"eval-{args.name}", num=args.num,
                           data_dir=args.data_dir, verbose=1)
    shipped = load_folder(folder)
    steps_rows = sorted({default_refine_steps(shipped), 0}, reverse=True)
    photos = {Path(f).name: {steps: evaluate.photo_figures(shipped, Path(f), refine_steps=steps)
                             for steps in steps_rows} for f in args.photos}
    size_mb = (folder / "weights.npz").stat().st_size / 2**20
    card = model_card(args.name, stages, results, photos, size_mb)
    (folder / "MODEL_CARD.md").write_text(card)
    print(card)


if __name__ == "__main__":
    main()
