"""`pixinpix web`: a localhost server for the page that hides and reveals in the browser.

The page (`web/index.html`, `web/app.js`) runs the model's image graphs,
`hide_image.onnx` and `reveal_image.onnx`, in onnxruntime-web: the images are
decoded, run and encoded in the browser and never leave it. This module serves
the page, onnxruntime-web's `dist/` folder from `web/node_modules` (`npm ci
--ignore-scripts` in `web/`) under `/ort/`, the two graphs under `/model/` and
what the page needs to know of the model and of keys (`keys.scramble_facts`) as
`/model.json`, with the
cross-origin isolation headers that let onnxruntime-web use threads
(SharedArrayBuffer) and a content security policy that lets the page talk to
this server only.

`web/` lives at the repository root beside `pixinpix_tf/` and is not part of an
installed wheel: the server finds it as `Path(pixinpix_tf.__file__).parent.parent
/ "web"`, which holds for an editable install from a checkout (`pip install -e
.`), the way to use the page.

The graphs: a model whose ONNX folder already has both image graphs (a `pixinpix
export` folder, a shipped model) is served as it is; any other is converted once with
`pixinpix_tf.export.onnx.convert` (TensorFlow and tf2onnx, the `export` extra;
about a minute) into a per-user cache folder (`$XDG_CACHE_HOME/pixinpix/web`,
else `~/.cache/pixinpix/web`), one folder per model and version of its weights
file, written atomically. A pretrained folder's converted graphs store their
weights in the precision its ONNX files do (`figures.json`), so the page
computes what `pixinpix hide` does.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import os
import shutil
import tempfile
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pixinpix_tf
from pixinpix_tf import keys
from pixinpix_tf.inference import cards, loading
from pixinpix_tf.errors import ConfigError
from pixinpix_tf.inference.tiling import layout

WEB_DIR = Path(pixinpix_tf.__file__).resolve().parent.parent / "web"  # the checkout's web/ (see above)
ORT_DIST = Path("node_modules") / "onnxruntime-web" / "dist"
IMAGE_GRAPHS = ("hide_image.onnx", "reveal_image.onnx")
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript",
         ".wasm": "application/wasm", ".onnx": "application/octet-stream", ".json": "application/json"}
COMPRESSED = (".html", ".js", ".mjs", ".wasm", ".json")  # sent gzipped to a browser that accepts it
# The page may load and fetch from this server only; WebAssembly needs 'wasm-unsafe-eval'.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; "
                           "img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; connect-src 'self'")
HEADERS = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp",
           "Cross-Origin-Resource-Policy": "same-origin", "Content-Security-Policy": CONTENT_SECURITY_POLICY,
           "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}


def check_page(web_dir: Path | None = None) -> None:
    """ConfigError unless `web_dir` (default WEB_DIR) has the page and onnxruntime-web is installed in it."""
    web_dir = web_dir or WEB_DIR
    if not (web_dir / "index.html").is_file():
        raise ConfigError(f"pixinpix web needs the web/ folder of a checkout (pip install -e . from the "
                          f"repository); {web_dir} has no index.html")
    if not (web_dir / ORT_DIST / "ort.wasm.min.mjs").is_file():
        raise ConfigError(f"onnxruntime-web is not installed in {web_dir}: run `npm ci --ignore-scripts` there")


def cache_dir() -> Path:
    """The per-user folder of converted image graphs."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pixinpix" / "web"


def facts(model, name: str) -> dict:
    """What the page needs to know of `model` (a PixInPix or OnnxPixInPix): /model.json."""
    return {"name": name, "secret_channels": int(model.secret_channels), "min_side": layout(model)["tile"],
            "whole_image": bool(model.whole_image)}


def _shipped_graphs(files: loading.ModelFiles) -> Path | None:
    return files.onnx if files.onnx and all((files.onnx / name).is_file() for name in IMAGE_GRAPHS) else None


def _float16(files: loading.ModelFiles) -> bool:
    return files.path.is_dir() and cards.onnx_float16(files.path)


def _cached(files: loading.ModelFiles, cache: Path) -> Path:
    """The cache folder for `files`: named by the model and a hash of its weights file's path, size and time."""
    weights = files.keras / "weights.npz" if files.keras.is_dir() else files.keras
    stat = weights.stat()
    key = f"{weights.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{_float16(files)}|{pixinpix_tf.__version__}"
    return cache / f"{files.name}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def needs_conversion(name_or_path: str | Path, cache: Path | None = None) -> bool:
    """Whether `graphs` will convert the model (TensorFlow, about a minute) rather than reuse files."""
    files = loading.locate(name_or_path)
    return _shipped_graphs(files) is None and not (_cached(files, cache or cache_dir()) / "model.json").is_file()


def graphs(name_or_path: str | Path, cache: Path | None = None) -> tuple[Path, dict]:
    """The folder with the model's hide_image.onnx and reveal_image.onnx, and its `facts`."""
    files = loading.locate(name_or_path)
    shipped = _shipped_graphs(files)
    if shipped is not None:
        return shipped, facts(loading.load_onnx(files.path), files.name)
    if files.keras is None:
        raise ConfigError(f"{name_or_path}: its ONNX folder has no {' or '.join(IMAGE_GRAPHS)}; export it again "
                          "with `pixinpix export` from the model it came from")
    folder = _cached(files, cache or cache_dir())
    if not (folder / "model.json").is_file():
        from pixinpix_tf.export import onnx as onnx_export

        model = loading.load_model(files.path)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder.parent))
        try:
            onnx_export.convert(model, tmp, float16=_float16(files), names=("hide_image", "reveal_image"))
            (tmp / "model.json").write_text(json.dumps(facts(model, files.name)) + "\n")
            try:
                os.replace(tmp, folder)
            except OSError:  # another server finished the same conversion first
                if not (folder / "model.json").is_file():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return folder, json.loads((folder / "model.json").read_text())


@functools.lru_cache(maxsize=16)
def _content(path: str, mtime_ns: int, compressed: bool) -> bytes:
    data = Path(path).read_bytes()
    return gzip.compress(data, compresslevel=1, mtime=0) if compressed else data


def make_server(name_or_path: str | Path, host: str = "127.0.0.1", port: int = 8000, cache: Path | None = None,
                web_dir: Path | None = None) -> ThreadingHTTPServer:
    """A server (not yet serving: call `serve_forever`) of the page and the model `name_or_path`;
    `port` 0 picks a free port (`server.server_address`); `web_dir` defaults to WEB_DIR."""
    web_dir = web_dir or WEB_DIR
    check_page(web_dir)
    folder, model = graphs(name_or_path, cache)
    routes = {"/": web_dir / "index.html", "/index.html": web_dir / "index.html", "/app.js": web_dir / "app.js",
              **{f"/model/{name}": folder / name for name in IMAGE_GRAPHS}}
    ort = web_dir / ORT_DIST
    model_json = json.dumps({**model, "key": keys.scramble_facts()}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
            name, file, body = path[len("/ort/"):], routes.get(path), None
            if path.startswith("/ort/") and "/" not in name and not name.startswith(".") and (ort / name).is_file():
                file = ort / name
            if path == "/model.json":
                file, body = Path(path), model_json
            if file is None:
                self.send_error(404)
                return
            compressed = file.suffix in COMPRESSED and "gzip" in self.headers.get("Accept-Encoding", "")
            if body is None:
                body = _content(str(file), file.stat().st_mtime_ns, compressed)
            elif compressed:
                body = gzip.compress(body, mtime=0)
            self.send_response(200)
            headers = {**HEADERS, "Content-Type": TYPES.get(file.suffix, "application/octet-stream"),
                       "Content-Length": str(len(body)), "Vary": "Accept-Encoding"}
            for header, value in {**headers, **({"Content-Encoding": "gzip"} if compressed else {})}.items():
                self.send_header(header, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):  # quiet: the page's own status says what happens
            pass

    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as err:
        raise ConfigError(f"cannot serve on {host}:{port} ({err.strerror or err})") from None
    server.daemon_threads = True
    wasm = ort / "ort-wasm-simd-threaded.wasm"
    _content(str(wasm), wasm.stat().st_mtime_ns, True)  # compress the 14 MB runtime before the first page load
    return server
