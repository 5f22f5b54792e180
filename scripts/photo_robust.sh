#!/usr/bin/env bash
# The shipped `photo-robust` model, in the three stages it was trained in (its card lists them), then shipped:
#   1. the `robust` preset (4x4 pixel blocks, mirror padding, 128x128 crops of photo folders, JPEG and resizing
#      in training) from random weights, without the texture mask and at loss weights 4 / 0.75;
#   2. on from it with the texture mask at 0.25 (our run was stopped after its first epoch; it ran an earlier
#      TextureMask without the 16-level bound);
#   3. on from that with the preset as it is (texture mask 0.1, loss weights 6 / 0.75).
#   PHOTOS=folder of training photos (default: ../shared/data/photos_train, 180 photos)
#   EVAL_PHOTOS=photo folders for the card (default: Kodak and CBSD68 in ../shared/data/photos)
# Rerun the same command after an interruption: each stage resumes from its last finished epoch, and a
# finished stage trains nothing more.
set -euo pipefail
photos="${PHOTOS:-../shared/data/photos_train}"
eval_photos="${EVAL_PHOTOS:-../shared/data/photos/kodak ../shared/data/photos/CBSD68}"
runs="${RUNS:-runs}"
data=(--cover "$photos" --secret "$photos")
pixinpix train --preset robust "${data[@]}" --texture-mask 0 --loss-weights 4 0.75 --out "$runs/photo-robust-1"
pixinpix train --preset robust "${data[@]}" --texture-mask 0.25 --loss-weights 4 0.75 --learning-rate 3e-4 \
  --channel-ramp 0 --epochs 1 --init-from "$runs/photo-robust-1/best.keras" --out "$runs/photo-robust-2"
pixinpix train --preset robust "${data[@]}" --learning-rate 3e-4 --channel-ramp 0 --epochs 6 \
  --init-from "$runs/photo-robust-2/best.keras" --out "$runs/photo-robust-3"
# shellcheck disable=SC2086
python scripts/ship_pretrained.py "$runs/photo-robust-3" --name photo-robust --num 256 --photos $eval_photos --refine 0
