#!/usr/bin/env bash
# Paper experiment 2: down-sampled ImageNet hidden in CIFAR-10 images.
#   SECRET=imagenet_resized/32x32 (default; the paper's data, a 3 GB tfds download)
#   SECRET=tiny_imagenet32 (the offline stand-in in ../shared/data/tfds)
#   PRESET=fast (default, our CPU recipe) or PRESET=paper (SGD 0.01, 100 epochs).
# Rerun the same command after an interruption: training resumes from the last
# finished epoch. Extra arguments go to `pixinpix train` (e.g. --data-dir DIR).
set -euo pipefail
preset="${PRESET:-fast}"
secret="${SECRET:-imagenet_resized/32x32}"
out="${OUT:-runs/imagenet-in-cifar10-$preset}"
exec pixinpix train --cover cifar10 --secret "$secret" --preset "$preset" --out "$out" --verbose 2 "$@"
