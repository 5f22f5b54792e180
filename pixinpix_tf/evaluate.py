"""The paper's experiments as numbers: quality, robustness, LSB baselines, figures.

For each test pair the stego image is revealed as computed (float) and as a
user stores it (rounded to 8 bits, exactly what a PNG round trip gives; the
headline), then after each distortion of the 8-bit stego image. LSB
substitution with k = 1..4 bits, plain and nearest-level (`lsb.lsb_hide`), goes
through the same 8-bit path and the same distortions. Revealed images are
rounded to 8 bits too, except in the float row.

Outputs in the output folder: `metrics.json` (every number), `report.md` (the
tables), `samples.png` (cover, stego, secret, revealed, |stego - cover| x 10)
and `robustness.png` (revealed PSNR against distortion strength).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import keras
import numpy as np

from pixinpix_tf import metrics, pretrained
from pixinpix_tf.config import Config, get_preset
from pixinpix_tf.data import Source, paired_images
from pixinpix_tf.distortions import DISTORTIONS
from pixinpix_tf.images import to_uint8
from pixinpix_tf.lsb import lsb_hide, lsb_reveal
from pixinpix_tf.model import PixInPix

LSB_BITS = (1, 2, 3, 4)
# result key -> (bits, nearest): plain substitution, and the nearest level with those low bits
LSB_METHODS = {**{f"k={b}": (b, False) for b in LSB_BITS}, **{f"k={b} nearest": (b, True) for b in LSB_BITS}}
DIGIT_CLASSIFIER = Path(__file__).parent / "assets" / "digit_classifier.keras"


class EvaluationError(RuntimeError):
    """A model path or option that cannot be evaluated; the message is one line."""


def resolve_model_path(path: str | Path) -> Path:
    """A `.keras` file, a pretrained folder, or the best (else last) model of a run directory."""
    folder = pretrained.find(path)
    if folder is not None:
        return folder
    path = Path(path)
    if path.is_dir():
        for name in ("best.keras", "last.keras"):
            if (path / name).is_file():
                return path / name
        raise EvaluationError(f"{path} holds no best.keras or last.keras: is it a run directory?")
    if not path.is_file():
        shipped = ", ".join(pretrained.available()) or "none in this version"
        raise EvaluationError(f"{path}: no such run directory or .keras file, "
                              f"and no pretrained model of that name (shipped: {shipped})")
    return path


def load_model(path: str | Path) -> PixInPix:
    """A trained PixInPix model: a run directory, a `.keras` file, or a pretrained name or folder."""
    file = resolve_model_path(path)
    if file.is_dir():
        return pretrained.load_folder(file)
    try:
        model = keras.models.load_model(file, compile=False)
    except Exception as err:  # zip, h5 and deserialization errors all mean "not a model"
        raise EvaluationError(f"cannot load {file} as a Keras model ({type(err).__name__})") from None
    if not isinstance(model, PixInPix):
        raise EvaluationError(f"{file} is a {type(model).__name__}, not a PixInPix model")
    return model


def run_config(path: str | Path) -> Config | None:
    """The training config of the run (or pretrained model) that `path` belongs to, if known."""
    folder = pretrained.find(path)
    path = Path(path)
    config = folder / "training.json" if folder else (path if path.is_dir() else path.parent) / "config.json"
    return Config.from_json(config.read_text()) if config.is_file() else None


def test_pairs(cfg: Config, data_dir: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The `cfg.test_size` fixed test pairs as uint8 covers, uint8 secrets and secret labels."""
    batches = paired_images(cfg, training=False, data_dir=data_dir).batch(1000)
    covers, secrets, labels = zip(*((c.numpy(), s.numpy(), l.numpy()) for c, s, l in batches))
    return np.concatenate(covers), np.concatenate(secrets), np.concatenate(labels)


def _digit_classifier(image_shape) -> keras.Model | None:
    """The shipped MNIST classifier, if it exists and reads images of this size."""
    if not DIGIT_CLASSIFIER.exists():
        return None
    classifier = keras.models.load_model(DIGIT_CLASSIFIER)
    return classifier if tuple(classifier.input_shape[1:3]) == tuple(image_shape) else None


def _digit_accuracy(classifier, images: np.ndarray, labels: np.ndarray) -> float:
    gray = images.astype(np.float32).mean(axis=-1, keepdims=True) / 255.0
    predictions = classifier.predict(gray, batch_size=500, verbose=0).argmax(axis=-1)
    return float((predictions == labels).mean())


def evaluate_arrays(model: PixInPix, covers: np.ndarray, secrets: np.ndarray, labels: np.ndarray | None = None,
                    seed: int = 0, verbose: int = 1, refine_steps: int = 0) -> dict:
    """Every number of the evaluation, for uint8 covers and secrets (and secret labels, if digits).

    `refine_steps`: refine PixInPix's stego images (`pixinpix_tf.refine`) before everything else.
    """
    chunks = range(0, len(covers), 500)
    steps = 2 + len(chunks) + sum(len(d.strengths) for d in DISTORTIONS.values()) * (1 + len(LSB_METHODS))
    progress = keras.utils.Progbar(steps, verbose=verbose, unit_name="pass")

    def hide(start: int) -> np.ndarray:
        chunk = slice(start, start + 500)
        stego = model.hide(covers[chunk], secrets[chunk], batch_size=500, refine_steps=refine_steps)
        progress.add(1)
        return stego

    def reveal(stego_uint8: np.ndarray) -> np.ndarray:
        revealed = to_uint8(model.reveal(stego_uint8, batch_size=500))
        progress.add(1)
        return revealed

    def robustness(stego_uint8: np.ndarray, reveal_fn) -> dict:
        return {
            name: {d.label(s): metrics.compare(secrets, reveal_fn(d(stego_uint8, s, seed))) for s in d.strengths}
            for name, d in DISTORTIONS.items()
        }

    stego = np.concatenate([hide(start) for start in chunks])
    stego_uint8 = to_uint8(stego)
    revealed_float = model.reveal(stego, batch_size=500) * 255.0
    progress.add(1)
    revealed_uint8 = reveal(stego_uint8)
    results = {
        "pairs": int(len(covers)),
        "refine_steps": refine_steps,
        "pixinpix": {
            "float": {"stego": metrics.compare(covers, stego * 255.0),
                      "revealed": metrics.compare(secrets, revealed_float)},
            "8bit": {"stego": metrics.compare(covers, stego_uint8),
                     "revealed": metrics.compare(secrets, revealed_uint8)},
            "distortions": robustness(stego_uint8, reveal),
        },
        "lsb": {},
    }
    lsb_revealed = {}  # bits -> revealed secrets (the same with or without `nearest`)
    for key, (bits, nearest) in LSB_METHODS.items():
        lsb_stego = lsb_hide(covers, secrets, bits, nearest)
        lsb_revealed[bits] = lsb_reveal(lsb_stego, bits)

        def lsb_reveal_step(images, bits=bits):
            progress.add(1)
            return lsb_reveal(images, bits)

        results["lsb"][key] = {
            "8bit": {"stego": metrics.compare(covers, lsb_stego),
                     "revealed": metrics.compare(secrets, lsb_revealed[bits])},
            "distortions": robustness(lsb_stego, lsb_reveal_step),
        }
    classifier = _digit_classifier(secrets.shape[1:3]) if labels is not None and (labels >= 0).all() else None
    if classifier is not None:
        results["digit_accuracy"] = {
            "original": _digit_accuracy(classifier, secrets, labels),
            "pixinpix_8bit": _digit_accuracy(classifier, revealed_uint8, labels),
            **{f"lsb_k={bits}": _digit_accuracy(classifier, lsb_revealed[bits], labels) for bits in LSB_BITS},
        }
    results["samples"] = {"covers": covers[:6], "stego": stego_uint8[:6], "secrets": secrets[:6],
                          "revealed": revealed_uint8[:6]}
    return results


def photo_figures(model: PixInPix, folder: str | Path, refine_steps: int = 0,
                  distortions: tuple[tuple[str, float], ...] = ()) -> dict:
    """Mean figures on a folder of PNG photos, each hiding the next (in name order),
    through `api.hide` and `api.reveal` (tiles, 8-bit): stego and revealed PSNR/SSIM,
    seconds per hide, and the revealed PSNR after each (distortion name, strength)."""
    from pixinpix_tf import api
    from pixinpix_tf.images import read_image
    from pixinpix_tf.tiling import fit_secret

    files = sorted(Path(folder).glob("*.png"))
    rows = []
    for cover_file, secret_file in zip(files, files[1:] + files[:1]):
        cover = read_image(cover_file, 3)
        secret = fit_secret(read_image(secret_file, model.secret_channels), *cover.shape[:2])
        start = time.perf_counter()
        stego = api.hide(cover, secret, model, refine_steps=refine_steps)
        seconds = time.perf_counter() - start
        revealed = api.reveal(stego, model)
        rows.append([metrics.psnr(cover, stego)[0], metrics.ssim(cover, stego)[0],
                     metrics.psnr(secret, revealed)[0], metrics.ssim(secret, revealed)[0], seconds]
                    + [metrics.psnr(secret, api.reveal(DISTORTIONS[name](stego[None], strength)[0], model))[0]
                       for name, strength in distortions])
    means = np.mean(rows, axis=0)
    figures = dict(zip(["stego_psnr", "stego_ssim", "revealed_psnr", "revealed_ssim", "seconds_per_hide"], means))
    figures["revealed_psnr_after"] = {f"{name} {DISTORTIONS[name].label(strength)}": means[5 + i]
                                      for i, (name, strength) in enumerate(distortions)}
    return {"photos": len(files), **figures}


def _row(label: str, result: dict) -> str:
    cells = [f"{result[part][m]['mean']:.2f}" if m != "ssim" else f"{result[part][m]['mean']:.4f}"
             for part in ("stego", "revealed") for m in ("psnr", "ssim", "apd", "rmse")]
    return f"| {label} | " + " | ".join(cells) + " |"


def report_markdown(results: dict, title: str) -> str:
    """The tables of `report.md`."""
    lines = [f"# {title}", "", f"{results['pairs']} test pairs. Means over pairs; PSNR on RGB with peak 255, "
             "APD and RMSE in 0-255 units. Percentiles are in metrics.json.", "",
             "## Quality", "",
             "| method | stego PSNR | stego SSIM | stego APD | stego RMSE "
             "| revealed PSNR | revealed SSIM | revealed APD | revealed RMSE |",
             "|---|---|---|---|---|---|---|---|---|",
             _row("PixInPix, 8-bit stego (headline)", results["pixinpix"]["8bit"]),
             _row("PixInPix, float stego", results["pixinpix"]["float"])]
    lines += [_row(f"LSB {k}", r["8bit"]) for k, r in results["lsb"].items()]
    lines += ["", "## Robustness: revealed PSNR (dB) after distorting the 8-bit stego image", "",
              "| distortion | PixInPix | " + " | ".join(f"LSB {k}" for k in results["lsb"]) + " |",
              "|---|---|" + "---|" * len(results["lsb"])]
    lines.append("| none | {:.2f} | ".format(results["pixinpix"]["8bit"]["revealed"]["psnr"]["mean"])
                 + " | ".join(f"{r['8bit']['revealed']['psnr']['mean']:.2f}" for r in results["lsb"].values()) + " |")
    for name, levels in results["pixinpix"]["distortions"].items():
        for level, value in levels.items():
            lsb = " | ".join(f"{r['distortions'][name][level]['psnr']['mean']:.2f}" for r in results["lsb"].values())
            lines.append(f"| {name} {level} | {value['psnr']['mean']:.2f} | {lsb} |")
    if "digit_accuracy" in results:
        acc = results["digit_accuracy"]
        lines += ["", "## Digit classifier accuracy on the secrets", "",
                  "| digits | accuracy |", "|---|---|"]
        lines += [f"| {name.replace('_', ' ')} | {value:.2%} |" for name, value in acc.items()]
    return "\n".join(lines) + "\n"


def plot_samples(samples: dict, path: Path) -> None:
    """The paper's Figures 3 and 4: cover, stego, secret, revealed, |stego - cover| x 10."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = ("cover", "stego", "secret", "revealed", "|stego - cover| x 10")
    n = len(samples["covers"])
    fig, axes = plt.subplots(n, len(columns), figsize=(len(columns) * 1.6, n * 1.6), squeeze=False)
    residual = np.clip(np.abs(samples["stego"].astype(int) - samples["covers"].astype(int)) * 10, 0, 255)
    images = (samples["covers"], samples["stego"], samples["secrets"], samples["revealed"], residual.astype(np.uint8))
    for row in range(n):
        for col, batch in enumerate(images):
            ax = axes[row, col]
            image = batch[row]
            ax.imshow(image.squeeze(), cmap="gray" if image.shape[-1] == 1 else None, vmin=0, vmax=255,
                      interpolation="nearest")
            ax.set_xticks([]), ax.set_yticks([])
            if row == 0:
                ax.set_title(columns[col], fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_robustness(results: dict, path: Path) -> None:
    """Revealed PSNR against distortion strength, PixInPix against LSB k = 1..4 (nearest-level dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(DISTORTIONS)
    columns = 4
    rows = -(-len(names) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3 * rows), sharey=True, squeeze=False)
    axes = axes.ravel()
    methods = {"PixInPix": results["pixinpix"], **{f"LSB {k}": r for k, r in results["lsb"].items()}}
    for ax, name in zip(axes, names):
        distortion = DISTORTIONS[name]
        for label, result in methods.items():
            points = sorted([(0, result["8bit"]["revealed"]["psnr"]["mean"])] + [
                (s, result["distortions"][name][distortion.label(s)]["psnr"]["mean"]) for s in distortion.strengths])
            ax.plot(*zip(*points), marker="o", linewidth=2.5 if label == "PixInPix" else 1,
                    linestyle="--" if "nearest" in label else "-",
                    color="black" if label == "PixInPix" else None, label=label)
        ax.set_title(name)
        ax.set_xlabel(distortion.unit if name != "jpeg" else "100 - quality")
        ax.grid(alpha=0.3)
    for ax in axes[len(names):]:
        ax.axis("off")
    for row in range(rows):
        axes[row * columns].set_ylabel("revealed PSNR (dB)")
    axes[len(names) - 1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def headline(result: dict) -> dict:
    """The mean 8-bit stego and revealed PSNR of one method's results: {"stego": dB, "revealed": dB}."""
    return {part: result["8bit"][part]["psnr"]["mean"] for part in ("stego", "revealed")}


def plot_lsb_lines(ax, lsb: dict[str, dict]) -> None:
    """The LSB points of `results["lsb"]`-style {key: {"stego", "revealed"} PSNR} on `ax`, one
    line for plain substitution and one for the nearest level, each labelled with k."""
    for nearest, style in ((False, "s--"), (True, "^:")):
        line = {k: p for k, p in lsb.items() if k.endswith("nearest") == nearest}
        if not line:
            continue
        ax.plot([p["stego"] for p in line.values()], [p["revealed"] for p in line.values()], style,
                label="LSB k = 1..4" + (", nearest level" if nearest else ""))
        for k, p in line.items():
            ax.annotate(k.split()[0], (p["stego"], p["revealed"]), textcoords="offset points", xytext=(4, -10),
                        fontsize=8)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_outputs(results: dict, out: str | Path, title: str) -> None:
    """metrics.json, report.md, samples.png and robustness.png in `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    numbers = {k: v for k, v in results.items() if k != "samples"}
    _write_atomic(out / "metrics.json", json.dumps(numbers, indent=2) + "\n")
    _write_atomic(out / "report.md", report_markdown(results, title))
    plot_samples(results["samples"], out / "samples.png")
    plot_robustness(results, out / "robustness.png")


def run(model_path: str | Path, out: str | Path, cover: str | None = None, secret: str | None = None,
        num: int = 10_000, data_dir: str | None = None, seed: int | None = None, verbose: int = 1,
        refine_steps: int = 0) -> dict:
    """Evaluate a trained model on `num` test pairs and write the outputs to `out`.

    Cover, secret and seed default to those of the model's run (else cifar10,
    mnist and 0); the pairs are the same fixed test pairs that training validated on.
    """
    model = load_model(model_path)
    if refine_steps and model.embed_bits:
        raise EvaluationError(f"{model_path}: a model with embed_bits cannot be refined; leave out --refine")
    base = run_config(model_path) or get_preset("paper")
    cfg = base.replace(cover=cover or base.cover, secret=secret or base.secret, test_size=num,
                       seed=base.seed if seed is None else seed, image_size=model.image_size,
                       secret_channels=model.secret_channels, depth=model.depth)
    covers, secrets, labels = test_pairs(cfg, data_dir)
    digits = Source.parse(cfg.secret).name == "mnist"  # other labels are not digits
    results = evaluate_arrays(model, covers, secrets, labels if digits else None, seed=cfg.seed, verbose=verbose,
                              refine_steps=refine_steps)
    results.update(model=str(resolve_model_path(model_path)), cover=cfg.cover, secret=cfg.secret, seed=cfg.seed)
    refined = f", stego refined for {refine_steps} steps" if refine_steps else ""
    write_outputs(results, out, f"PixInPix evaluation: {cfg.secret} hidden in {cfg.cover}{refined}")
    return results
