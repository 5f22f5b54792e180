"""The package's structure: imports point one way, checked by import-linter (contracts in pyproject.toml)."""

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def lint_imports(folder: Path, back_edge: str | None = None) -> subprocess.CompletedProcess:
    """lint-imports on a copy of the package laid out as installed (`export/` is installed as
    pixinpix_tf.export, a package-dir mapping import-linter cannot follow in an editable install),
    with `back_edge` ("module: import line") added to it."""
    package = folder / "pixinpix_tf"
    shutil.copytree(ROOT / "pixinpix_tf", package, ignore=shutil.ignore_patterns("pretrained", "assets", "__pycache__"))
    shutil.copytree(ROOT / "export", package / "export", ignore=shutil.ignore_patterns("__pycache__"))
    if back_edge:
        module, line = back_edge.split(": ")
        with (package / f"{module}.py").open("a") as f:
            f.write(f"\n{line}\n")
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml"), "--no-cache"], cwd=folder,
                          capture_output=True, text=True, timeout=120)


def test_imports_follow_the_layers_and_the_model_imports_no_tensorflow(tmp_path):
    result = lint_imports(tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "2 kept, 0 broken" in result.stdout


def test_a_back_edge_or_tensorflow_in_the_model_breaks_the_contracts(tmp_path):
    for number, edge in enumerate(("nets/model: from pixinpix_tf import api",
                                   "inference/loading: from pixinpix_tf import cli",
                                   "nets/model: import tensorflow")):
        result = lint_imports(tmp_path / str(number), edge)
        assert result.returncode == 1 and "1 broken" in result.stdout, (edge, result.stdout[-2000:])
