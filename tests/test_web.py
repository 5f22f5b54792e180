"""`pixinpix web`: the page hides and reveals in headless Chromium (Playwright) as the Python runtime does."""

from __future__ import annotations

import importlib.util
import threading
import urllib.parse
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pixinpix_tf import api, cli, web
from pixinpix_tf.errors import PixInPixError
from pixinpix_tf.images import SAMPLES, read_image
from pixinpix_tf.inference.tiling import fit_secret

CHROMIUM = Path("/usr/bin/chromium")
PASSPHRASE = "ein Schlüssel, 🔑"  # not ASCII: the page encodes it as UTF-8, as pixinpix_tf.keys does
# Chromium's own traffic off: no background, component, sync or QUIC requests on a closed network.
CHROMIUM_ARGS = ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def browser_missing() -> str | None:
    """Why the browser test cannot run here, or None."""
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} not found (apt-get install -y chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install playwright; no `playwright install`)"
    try:
        web.check_page()
    except PixInPixError as err:
        return str(err)
    return None


def assert_close(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    """At most one level apart on at most 1% of the values, as node/check.js allows."""
    assert actual.shape == expected.shape, (what, actual.shape, expected.shape)
    difference = np.abs(actual.astype(int) - expected.astype(int))
    assert difference.max() <= 1 and np.mean(difference > 0) <= 0.01, (what, difference.max(), np.mean(difference > 0))


def test_web_without_onnxruntime_web_exits_2_with_the_npm_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "index.html").write_text("<!doctype html>")
    monkeypatch.setattr(web, "WEB_DIR", tmp_path)
    assert cli.main(["web"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "npm ci --ignore-scripts" in err and str(tmp_path) in err


@pytest.mark.slow
@pytest.mark.skipif(browser_missing() is not None, reason=browser_missing() or "")
def test_page_hides_and_reveals_as_python_does_with_and_without_a_key_and_stays_on_localhost(
        tmp_path, tiny_model_file, capsys):
    from playwright.sync_api import sync_playwright

    model = str(tiny_model_file)
    server = web.make_server(model, port=0, cache=tmp_path / "cache")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    cover_file, secret_file = tmp_path / "cover.png", tmp_path / "secret.png"
    cover = read_image(SAMPLES / "cover.png")
    Image.fromarray(cover).save(cover_file)
    Image.fromarray(fit_secret(read_image(SAMPLES / "secret.png"), *cover.shape[:2])).save(secret_file)
    Image.fromarray(cover[:8, :8]).save(tmp_path / "small.png")
    hosts = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.on("request", lambda request: hosts.append(urllib.parse.urlsplit(request.url)))
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
            page.wait_for_selector("body:not([data-state=loading])", timeout=60_000)
            assert page.get_attribute("body", "data-state") == "ready", page.inner_text("#status")

            def run(button: str, state: str, download: str, out: Path) -> np.ndarray:
                page.click(button)
                page.wait_for_selector(f"body[data-state={state}], body[data-state=error]", timeout=60_000)
                assert page.get_attribute("body", "data-state") == state, page.inner_text("#status")
                with page.expect_download() as downloaded:
                    page.click(download)
                downloaded.value.save_as(out)
                return read_image(out)

            page.set_input_files("#cover", cover_file)
            page.set_input_files("#secret", secret_file)
            stego = run("#hide", "hidden", "#download-stego", tmp_path / "stego.png")
            page.set_input_files("#stego", tmp_path / "stego.png")
            revealed = run("#reveal", "revealed", "#download-revealed", tmp_path / "revealed.png")
            page.fill("#key", PASSPHRASE)
            keyed_stego = run("#hide", "hidden", "#download-stego", tmp_path / "keyed-stego.png")
            page.set_input_files("#stego", tmp_path / "keyed-stego.png")
            keyed_revealed = run("#reveal", "revealed", "#download-revealed", tmp_path / "keyed-revealed.png")
            page.fill("#key", "")
            page.set_input_files("#cover", tmp_path / "small.png")
            page.click("#hide")
            page.wait_for_selector("body[data-state=error]", timeout=30_000)
            message = page.inner_text("#status")
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    assert_close(stego, api.hide(cover, read_image(secret_file), model=model), "stego")
    assert_close(revealed, api.reveal(stego, model=model), "revealed")
    assert_close(keyed_stego, api.hide(cover, read_image(secret_file), model=model, key=PASSPHRASE), "keyed stego")
    assert_close(keyed_revealed, api.reveal(keyed_stego, model=model, key=PASSPHRASE), "keyed revealed")
    outside = {f"{url.scheme}://{url.netloc}" for url in hosts
               if url.scheme not in ("blob", "data") and url.hostname not in ("127.0.0.1", "localhost")}
    assert not outside, outside
    capsys.readouterr()
    assert cli.main(["hide", str(tmp_path / "small.png"), str(secret_file), "-o", str(tmp_path / "s.png"),
                     "--model", model]) == 2
    assert f"pixinpix: error: {message}" == capsys.readouterr().err.strip() == \
        "pixinpix: error: the cover is 8x8; it must be at least 32x32"
