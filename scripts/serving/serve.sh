#!/usr/bin/env bash
# Serve a `pixinpix export` folder with TF Serving (REST on 8501, gRPC on 8500).
#   EXPORT=exports/mnist NAME=mnist bash scripts/serving/serve.sh
# NAME is the model name given to `pixinpix export --name` (default: the run directory's name).
set -euo pipefail
export_dir="$(cd "${EXPORT:?set EXPORT to a pixinpix export folder}" && pwd)"
name="${NAME:?set NAME to the exported model name}"

if command -v tensorflow_model_server >/dev/null; then
  # The model server binary (apt: tensorflow-model-server); models.config expects /models/NAME,
  # so point it at the export folder instead:
  exec tensorflow_model_server --rest_api_port=8501 --port=8500 \
    --model_name="$name" --model_base_path="$export_dir/saved_model/$name"
fi
# Docker: the export's saved_model/ folder becomes /models; models.config lists the model.
exec docker run --rm -p 8501:8501 -p 8500:8500 \
  -v "$export_dir/saved_model:/models" tensorflow/serving:2.18.0 \
  --model_config_file=/models/models.config
