"""Tables and figures of evaluations: `report.md`, the sample grid, the robustness plot.

Used by `pixinpix evaluate`, the demo, scripts and benchmarks, so every figure
of the package is drawn one way. The JSON and Markdown files are written atomically.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from pixinpix_tf.distortions import DISTORTIONS


def _row(label: str, result: dict) -> str:
    cells = [f"{result[part][m]['mean']:.2f}" if m != "ssim" else f"{result[part][m]['mean']:.4f}"
             for part in ("stego", "revealed") for m in ("psnr", "ssim", "apd", "rmse")]
    return f"| {label} | " + " | ".join(cells) + " |"


def baselines(results: dict) -> dict[str, dict]:
    """The classical methods of an evaluation by their registry names: lsbK and lsbK-nearest (K = 1..4),
    webpK and jpegK (evaluations before these were added have none)."""
    return {**results["lsb"], **results.get("compressed", {})}


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
    classical = baselines(results)
    lines += [_row(label, r["8bit"]) for label, r in classical.items()]
    lines += ["", "## Robustness: revealed PSNR (dB) after distorting the 8-bit stego image", "",
              "| distortion | PixInPix | " + " | ".join(classical) + " |",
              "|---|---|" + "---|" * len(classical)]
    lines.append("| none | {:.2f} | ".format(results["pixinpix"]["8bit"]["revealed"]["psnr"]["mean"])
                 + " | ".join(f"{r['8bit']['revealed']['psnr']['mean']:.2f}" for r in classical.values()) + " |")
    for name, levels in results["pixinpix"]["distortions"].items():
        for level, value in levels.items():
            others = " | ".join(f"{r['distortions'][name][level]['psnr']['mean']:.2f}" for r in classical.values())
            lines.append(f"| {name} {level} | {value['psnr']['mean']:.2f} | {others} |")
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
    """Revealed PSNR against distortion strength, PixInPix against the classical methods (LSB solid,
    nearest-level LSB dashed, a compressed secret in the low bits dotted)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [name for name, distortion in DISTORTIONS.items() if distortion.keeps_size]  # as evaluate_arrays
    columns = 4
    rows = -(-len(names) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3 * rows), sharey=True, squeeze=False)
    axes = axes.ravel()
    methods = {"PixInPix": results["pixinpix"], **baselines(results)}
    for ax, name in zip(axes, names):
        distortion = DISTORTIONS[name]
        for label, result in methods.items():
            points = sorted([(0, result["8bit"]["revealed"]["psnr"]["mean"])] + [
                (s, result["distortions"][name][distortion.label(s)]["psnr"]["mean"]) for s in distortion.strengths])
            ax.plot(*zip(*points), marker="o", linewidth=2.5 if label == "PixInPix" else 1,
                    linestyle=_line_style(label),
                    color="black" if label == "PixInPix" else None, label=label)
        ax.set_title(name)
        ax.set_xlabel(distortion.unit if name != "jpeg" else "100 - quality")
        ax.grid(alpha=0.3)
    for ax in axes[len(names):]:
        ax.axis("off")
    for row in range(rows):
        axes[row * columns].set_ylabel("revealed PSNR (dB)")
    axes[len(names) - 1].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _family(label: str) -> str:
    """The family of the method `label` names (`methods.base.Method.family`); other labels are networks."""
    from pixinpix_tf.methods.registry import method_class

    return method_class(label).family


def _line_style(label: str) -> str:
    """Nearest-level LSB dashed, a compressed secret in the low bits dotted, everything else solid."""
    if "nearest" in label:
        return "--"
    return ":" if _family(label) == "compressed" else "-"


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


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file: a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_outputs(results: dict, out: str | Path, title: str) -> None:
    """metrics.json, report.md, samples.png and robustness.png in `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    numbers = {k: v for k, v in results.items() if k != "samples"}
    write_atomic(out / "metrics.json", json.dumps(numbers, indent=2) + "\n")
    write_atomic(out / "report.md", report_markdown(results, title))
    plot_samples(results["samples"], out / "samples.png")
    plot_robustness(results, out / "robustness.png")


def plot_jpeg_curves(results: dict[str, dict[str, dict]], path: Path) -> None:
    """Revealed PSNR against JPEG quality (PNG at 100), every method on the same axes, one panel per
    photo folder: `results[folder][method]` as `evaluate.photo_figures` returns it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 4), sharey=True, squeeze=False)
    labels = list(dict.fromkeys(label for methods in results.values() for label in methods))
    for ax, (folder, methods) in zip(axes[0], results.items()):
        for label, figures in methods.items():
            points = [(100.0, figures["revealed_psnr"])] + [  # keys read "jpeg quality 90"
                (float(key.split()[-1]), value) for key, value in figures["revealed_psnr_after"].items()
                if key.startswith("jpeg")]
            classical = _family(label) in ("lsb", "compressed")
            ax.plot(*zip(*sorted(points)), marker="o", label=label, linewidth=1 if classical else 2.5,
                    linestyle=_line_style(label), color=f"C{labels.index(label) % 10}")  # one colour per method
        ax.set_title(f"{folder}: stego saved as JPEG")
        ax.set_xlabel("JPEG quality (100: the PNG itself)")
        ax.invert_xaxis()
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("revealed PSNR (dB)")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
