#!/usr/bin/env bash
# The shipped `photo-robust` model: the `robust` preset (4x4 pixel blocks, mirror padding, 128x128 crops
# of photo folders, JPEG and resizing in training) from random weights, then shipped with its card.
#   PHOTOS=folder of training photos (default: ../shared/data/photos_train, 180 photos)
#   EVAL_PHOTOS=photo folders for the card (default: Kodak and CBSD68 in ../shared/data/photos)
# Rerun the same command after an interruption: training resumes from the last finished epoch.
# Extra arguments go to `pixinpix train` (e.g. --epochs 4, --init-from photo-robust to go on from it).
set -euo pipefail
photos="${PHOTOS:-../shared/data/photos_train}"
eval_photos="${EVAL_PHOTOS:-../shared/data/photos/kodak ../shared/data/photos/CBSD68}"
out="${OUT:-runs/photo-robust}"
pixinpix train --preset robust --cover "$photos" --secret "$photos" --out "$out" "$@"
# shellcheck disable=SC2086
python scripts/ship_pretrained.py "$out" --name photo-robust --num 1000 --photos $eval_photos --refine 0
