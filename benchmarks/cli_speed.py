"""`pixinpix hide` and `reveal` from a fresh process: wall time and peak memory, as a user runs them.

Each command runs under `/usr/bin/time` (GNU time), which reports the
process's elapsed time and maximum resident set size; the figure printed is the
median of `--runs` runs. Covers and secrets: two photos, by default Kodak's
kodim01 (cover, 768x512) and kodim02 (secret).

Example:
    python benchmarks/cli_speed.py --photos ../shared/data/photos/kodak --refine 0 10
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path


def timed(command: list[str]) -> tuple[float, float]:
    """(seconds, peak MB) of one run of `command` under GNU time."""
    result = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M", *command], capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    seconds, kilobytes = re.findall(r"TIME ([\d.]+) (\d+)", result.stderr)[-1]
    return float(seconds), int(kilobytes) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", required=True, help="folder with the cover and secret photos")
    parser.add_argument("--cover", default="kodim01.png")
    parser.add_argument("--secret", default="kodim02.png")
    parser.add_argument("--model", help="--model for pixinpix (default: the one hide picks for the channel)")
    parser.add_argument("--channel", help="--channel for pixinpix hide (default: the output's, png)")
    parser.add_argument("--refine", type=int, nargs="+", default=[0], help="refinement steps to time (default: 0)")
    parser.add_argument("--runs", type=int, default=3, help="runs per command; the median is printed")
    parser.add_argument("--enlarge", type=float, default=1.0,
                        help="enlarge both photos by this factor first (bicubic, plus camera-like grain of "
                        "sigma 3), to time a phone-sized photo; default: 1, as they are")
    args = parser.parse_args()
    if not shutil.which("pixinpix") or not Path("/usr/bin/time").is_file():
        raise SystemExit("needs the pixinpix command (pip install -e .) and GNU time (/usr/bin/time)")
    model = ["--model", args.model] if args.model else []
    channel = ["--channel", args.channel] if args.channel else []
    cover, secret = Path(args.photos) / args.cover, Path(args.photos) / args.secret
    with tempfile.TemporaryDirectory() as tmp:
        if args.enlarge != 1:
            cover, secret = (_enlarged(path, args.enlarge, Path(tmp)) for path in (cover, secret))
        stego, revealed = Path(tmp) / "stego.png", Path(tmp) / "revealed.png"
        commands = {f"hide --refine {steps}": ["pixinpix", "hide", str(cover), str(secret), "-o", str(stego),
                                               "--refine", str(steps), *model, *channel] for steps in args.refine}
        commands["reveal"] = ["pixinpix", "reveal", str(stego), "-o", str(revealed), *model]
        print(f"{cover.name} ({'x'.join(map(str, _size(cover)))}) hiding {secret.name}, "
              f"median of {args.runs} fresh processes")
        for label, command in commands.items():
            runs = [timed(command) for _ in range(args.runs)]
            print(f"  pixinpix {label:16s} {statistics.median(r[0] for r in runs):6.2f} s wall, "
                  f"{statistics.median(r[1] for r in runs):6.0f} MB peak", flush=True)


def _enlarged(path: Path, factor: float, folder: Path) -> Path:
    """`path` enlarged by `factor` (bicubic) with Gaussian grain of sigma 3, as a PNG in `folder`."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        size = (round(image.width * factor), round(image.height * factor))
        big = np.asarray(image.convert("RGB").resize(size, Image.BICUBIC), np.float64)
    grain = np.random.default_rng(0).normal(0, 3, big.shape)
    out = folder / path.name
    Image.fromarray(np.clip(np.round(big + grain), 0, 255).astype(np.uint8)).save(out)
    return out


def _size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as image:
        return image.size


if __name__ == "__main__":
    main()
