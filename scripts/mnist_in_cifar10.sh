#!/usr/bin/env bash
# Paper experiment 1: MNIST digits hidden in CIFAR-10 images.
#   PRESET=fast (default, our CPU recipe) or PRESET=paper (SGD 0.01, 100 epochs).
# Rerun the same command after an interruption: training resumes from the last
# finished epoch. Extra arguments go to `pixinpix train` (e.g. --data-dir DIR).
set -euo pipefail
preset="${PRESET:-fast}"
out="${OUT:-runs/mnist-in-cifar10-$preset}"
exec pixinpix train --cover cifar10 --secret mnist --preset "$preset" --out "$out" --verbose 2 "$@"
