#!/usr/bin/env bash
# Paper experiment 1: MNIST digits hidden in CIFAR-10 images.
#   PRESET=fast (default, our CPU recipe) or PRESET=paper (SGD 0.01, 100 epochs).
# With the fast preset the revealed loss weighs 0.5 instead of 0.75: a digit is
# easy to reveal, and the weight goes to the cover's quality instead.
# Rerun the same command after an interruption: training resumes from the last
# finished epoch. Extra arguments go to `pixinpix train` (e.g. --data-dir DIR).
set -euo pipefail
preset="${PRESET:-fast}"
out="${OUT:-runs/mnist-in-cifar10-$preset}"
weights=()
[ "$preset" = fast ] && weights=(--loss-weights 1 0.5)
exec pixinpix train --cover cifar10 --secret mnist --preset "$preset" --out "$out" --verbose 2 "${weights[@]}" "$@"
