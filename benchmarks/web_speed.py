"""The page of `pixinpix web` in headless Chromium: page-ready time, a 768x512 hide, bytes downloaded.

Each run opens the page in a fresh browser context (nothing cached) from a
server on localhost, waits until both graphs are loaded ("ready"), then hides
the cover photo's secret once. Printed per run and as the median: page ready
(from navigation start, the page's own clock), the hide (the graph's run alone,
and from the click to the stego shown), and the bytes the page downloaded (as
sent, gzipped where the server compresses, and decoded). The issue's goals:
ready in at most 2 s, a 768x512 hide in at most 3 s, at most 25 MB downloaded.
Cover and secret: Kodak's kodim01 (768x512) and kodim02 from --photos, else the
bundled sample pair resized to 768x512.

Example:
    python benchmarks/web_speed.py --photos ../shared/data/photos/kodak --screenshot docs/images/web.png
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image

from pixinpix_tf import api, web
from pixinpix_tf.images import SAMPLES

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SIZE = (768, 512)


def photos(folder: Path, out: Path) -> tuple[Path, Path]:
    """The cover and secret files: kodim01 and kodim02 if `folder` has them, else the samples at SIZE."""
    cover, secret = folder / "kodim01.png", folder / "kodim02.png"
    if cover.is_file() and secret.is_file():
        return cover, secret
    print(f"no kodim01.png and kodim02.png in {folder}: the bundled samples resized to {SIZE[0]}x{SIZE[1]}")
    for name in ("cover", "secret"):
        Image.open(SAMPLES / f"{name}.png").convert("RGB").resize(SIZE, Image.LANCZOS).save(out / f"{name}.png")
    return out / "cover.png", out / "secret.png"


def one_run(browser, url: str, cover: Path, secret: Path, screenshot: str | None) -> dict:
    context = browser.new_context()
    page = context.new_page()
    sizes = []

    def finished(request):
        if request.url.startswith("http"):
            response = request.response()
            sizes.append((request.sizes()["responseBodySize"] + request.sizes()["responseHeadersSize"],
                          len(response.body()) if response else 0))

    page.on("requestfinished", finished)
    page.goto(url)
    page.wait_for_selector("body:not([data-state=loading])", timeout=120_000)
    if page.get_attribute("body", "data-state") != "ready":
        raise SystemExit(f"the page did not load: {page.inner_text('#status')}")
    ready = float(page.get_attribute("body", "data-ready-ms")) / 1000
    page.set_input_files("#cover", cover)
    page.set_input_files("#secret", secret)
    started = time.perf_counter()
    page.click("#hide")
    page.wait_for_selector("body[data-state=hidden], body[data-state=error]", timeout=120_000)
    shown = time.perf_counter() - started
    if page.get_attribute("body", "data-state") != "hidden":
        raise SystemExit(f"the hide failed: {page.inner_text('#status')}")
    hide = float(page.get_attribute("body", "data-last-run-ms")) / 1000
    status = page.inner_text("#status")
    if screenshot:
        page.wait_for_selector("#download-stego:not([hidden])")
        page.screenshot(path=screenshot, full_page=True)
    context.close()
    return {"ready": ready, "hide": hide, "shown": shown, "sent": sum(s[0] for s in sizes) / 1e6,
            "decoded": sum(s[1] for s in sizes) / 1e6, "requests": len(sizes), "status": status}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=api.DEFAULT_MODEL, help=f"as `pixinpix web --model` ({api.DEFAULT_MODEL})")
    parser.add_argument("--photos", default=str(Path(__file__).resolve().parents[2] / "shared/data/photos/kodak"),
                        help="folder with kodim01.png and kodim02.png (default: ../shared/data/photos/kodak)")
    parser.add_argument("--runs", type=int, default=3, help="fresh page loads, each with one hide (default: 3)")
    parser.add_argument("--screenshot", help="save a screenshot of the page after the last hide here (PNG)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    if web.needs_conversion(args.model):
        print(f"converting {args.model} to the image graphs (once) ...", flush=True)
    server = web.make_server(args.model, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        cover, secret = photos(Path(args.photos), Path(tmp))
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        print(f"{args.model}, {cover.name} ({'x'.join(map(str, Image.open(cover).size))}) hiding {secret.name}; "
              f"Chromium {browser.version}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
        runs = []
        for number in range(args.runs):
            last = number == args.runs - 1
            runs.append(one_run(browser, url, cover, secret, args.screenshot if last else None))
            run = runs[-1]
            print(f"  run {number + 1}: ready {run['ready']:.2f} s, hide {run['hide']:.2f} s (graph run; "
                  f"{run['shown']:.2f} s click to stego shown), {run['sent']:.1f} MB sent "
                  f"({run['decoded']:.1f} MB decoded, {run['requests']} requests)", flush=True)
        print(f"  status line: {runs[-1]['status']}")
        browser.close()
    server.shutdown()
    median = {key: statistics.median(run[key] for run in runs) for key in ("ready", "hide", "shown", "sent")}
    print(f"median of {args.runs}: page ready {median['ready']:.2f} s (goal <= 2), 768x512 hide {median['hide']:.2f} s "
          f"graph / {median['shown']:.2f} s click to stego (goal <= 3), downloaded {median['sent']:.1f} MB "
          f"(goal <= 25)")
    if args.screenshot:
        print(f"screenshot in {args.screenshot}")


if __name__ == "__main__":
    main()
