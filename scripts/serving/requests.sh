#!/usr/bin/env bash
# Example REST requests against a served export (see serve.sh). The JSON bodies are
# in this folder; tests/test_export.py checks them against the signatures.
#   NAME=mnist bash scripts/serving/requests.sh [COVER.png SECRET.png]
set -euo pipefail
name="${NAME:?set NAME to the served model name}"
url="http://localhost:8501/v1/models/$name"
here="$(dirname "$0")"

curl -s "$url/metadata"                                            # the signatures, as saved_model_cli shows them
curl -s -X POST "$url:predict" -d @"$here/hide_request.json"       # float32 cover + secret -> stego
curl -s -X POST "$url:predict" -d @"$here/reveal_request.json"     # float32 stego -> revealed
curl -s -X POST "$url:predict" -d @"$here/serving_default_request.json"

if [ $# -eq 2 ]; then  # base64 PNG signatures: images of the model's size
  body=$(printf '{"signature_name": "hide_png", "instances": [{"cover_png": {"b64": "%s"}, "secret_png": {"b64": "%s"}}]}' \
    "$(base64 -w0 "$1")" "$(base64 -w0 "$2")")
  curl -s -X POST "$url:predict" -d "$body" \
    | python3 -c 'import base64, json, sys; r = json.load(sys.stdin)["predictions"][0]; open("stego.png", "wb").write(base64.b64decode(r["b64"] if "b64" in r else r["stego_png_bytes"]["b64"]))'
  echo "wrote stego.png"
fi
