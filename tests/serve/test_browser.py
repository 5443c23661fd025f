"""The explorer page end to end in headless Chromium (the system's, e.g. Debian's `chromium`, driven by
Playwright): click the map and the decoded image changes and equals the model's decode of the shown
latent; drag; move the interpolation slider; press resample; take a screenshot (into docs/serve-screenshot.png when VAEKIT_UPDATE_SCREENSHOT=1,
else into the test's temporary folder, so a test run leaves the checkout clean). On a text run: hover a
code and read its test sentence, click the map and read the sentence the API and the model decode there."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

import pytest
import torch

from vaekit.runs import load_run, load_vocabulary
from vaekit.viz.text import decode_rows

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "serve-screenshot.png"
CHROMIUM = os.environ.get("VAEKIT_CHROMIUM") or next(
    (path for path in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if path), None)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install -y chromium, "
                                                         "or set VAEKIT_CHROMIUM to a Chromium executable)")

CANVAS_PIXELS = """id => { const canvas = document.getElementById(id);
    return Array.from(canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data); }"""
GRID_PIXELS = """id => Array.from(document.querySelectorAll('#' + id + ' canvas')).flatMap(canvas =>
    Array.from(canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data))"""


def _grey(rgba: list[int]) -> torch.Tensor:
    return torch.tensor(rgba[0::4], dtype=torch.float32)          # (H·W,) the red channel of a grey image


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[test])")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@contextlib.contextmanager
def _browse(browser, url: str):
    """The explorer at ``url`` in a new page, once the page says it is ready; no script errors on the way."""
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    yield page
    assert not errors, errors
    page.close()


@pytest.fixture(scope="module")
def page(browser, live_server):
    with _browse(browser, live_server[0]) as page:
        yield page


@pytest.fixture(scope="module")
def text_page(browser, text_live_server):
    with _browse(browser, text_live_server[0]) as page:
        yield page


def _click_map(page, x: float, y: float) -> tuple[list[float], torch.Tensor]:
    """Click at fractions (x, y) of the map; the latent the page shows and its mean image's pixels."""
    box = page.locator("#latent-map").bounding_box()
    previous = page.locator("#map-z").get_attribute("data-latent")
    page.mouse.click(box["x"] + x * box["width"], box["y"] + y * box["height"])
    page.wait_for_function("previous => document.getElementById('map-z').dataset.latent !== previous", arg=previous)
    return json.loads(page.locator("#map-z").get_attribute("data-latent")), _grey(page.evaluate(CANVAS_PIXELS, "map-mean"))


def test_clicking_the_map_decodes_the_models_image_of_that_point(page, vae2_run):
    _, model = load_run(vae2_run)
    assert "Projection: none" in page.locator("#projection-note").inner_text()
    assert page.locator("circle.prior-circle").count() == 2 and page.locator("circle.code").count() > 100
    first_latent, first = _click_map(page, 0.3, 0.3)
    second_latent, second = _click_map(page, 0.75, 0.7)
    assert second_latent[0] > first_latent[0] and second_latent[1] < first_latent[1]   # right and down on screen
    assert (first - second).abs().max() >= 30                                          # the image changed
    for latent, shown in ((first_latent, first), (second_latent, second)):
        with torch.no_grad():
            expected = (model.decode(torch.tensor([latent])).mean.clamp(0, 1) * 255).round().flatten()
        assert (shown - expected).abs().max() <= 1, "the page's mean image is not the model's decode"


def test_dragging_updates_the_decode_live(page):
    box = page.locator("#latent-map").bounding_box()
    before = page.locator("#map-z").get_attribute("data-latent")     # "" until a first decode
    page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + 0.5 * box["height"])
    page.mouse.down()
    for step in range(1, 6):
        page.mouse.move(box["x"] + (0.5 - 0.05 * step) * box["width"], box["y"] + 0.5 * box["height"])
    page.mouse.up()
    target = page.evaluate("() => state.view.toMap([0.25 * 440, 0.5 * 440])")  # the drag's end on the map
    pixel = 1.5 / page.evaluate("() => state.view.scale")          # mouse positions land on whole pixels
    page.wait_for_function("""([target, pixel]) => {
        const text = document.getElementById('map-z').dataset.latent;
        if (!text) return false;
        const z = JSON.parse(text);
        return Math.abs(z[0] - target[0]) <= pixel && Math.abs(z[1] - target[1]) <= pixel; }""", arg=[target, pixel])
    assert page.locator("#map-z").get_attribute("data-latent") != before
    assert page.locator("#latency").inner_text().startswith("round trip")


def test_the_interpolation_slider_moves_along_the_path(page, live_server):
    before = _grey(page.evaluate(CANVAS_PIXELS, "interp-mean"))
    page.locator("#interp-slider").fill("100")
    page.wait_for_function("() => document.getElementById('interp-mean').dataset.t === '1'")
    assert page.locator("#interp-t").inner_text() == "t = 1.00"
    after = _grey(page.evaluate(CANVAS_PIXELS, "interp-mean"))
    assert (before - after).abs().max() >= 30                     # test images 0 and 1 differ
    start_image, end_image = (page.evaluate(f"""() => fetch('/api/interpolate', {{method: 'POST',
        headers: {{'Content-Type': 'application/json'}}, body: JSON.stringify({{start: 0, end: 1, t: {t}}})}})
        .then(r => r.json()).then(j => j.means[0])""") for t in (0, 1))
    torch.testing.assert_close(after, (torch.tensor(end_image) * 255).round(), atol=1, rtol=0)
    torch.testing.assert_close(before, (torch.tensor(start_image) * 255).round(), atol=1, rtol=0)


def test_resample_redraws_the_samples_and_a_screenshot_is_saved(page, tmp_path):
    before = page.evaluate(GRID_PIXELS, "samples-means")
    assert len(before) == 8 * 8 * 8 * 4                            # 8 mean images of 8×8 RGBA
    page.locator("#resample").click()
    page.wait_for_function("() => document.getElementById('resample').dataset.seed === '1'")
    assert page.evaluate(GRID_PIXELS, "samples-means") != before
    assert len(page.evaluate(GRID_PIXELS, "samples-draws")) == len(before)
    screenshot = SCREENSHOT if os.environ.get("VAEKIT_UPDATE_SCREENSHOT") == "1" else tmp_path / SCREENSHOT.name
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.read_bytes()[:4] == b"\x89PNG"


def test_a_text_runs_page_shows_test_sentences_and_the_decoded_sentence_of_a_clicked_point(text_page,
                                                                                          sentence_vae_run):
    page = text_page
    _, model = load_run(sentence_vae_run)
    vocabulary = load_vocabulary(sentence_vae_run)
    info = page.evaluate("() => state.info")
    assert page.locator("body").get_attribute("data-kind") == "text" and page.locator("#map-mean").is_hidden()
    assert "PCA of the 40 test sentences' posterior means" in page.locator("#projection-note").inner_text()
    assert "sentence length" in page.locator("#legend").inner_text()
    last = page.locator("circle.code").count() - 1                    # drawn last: on top of the other codes
    page.locator("circle.code").nth(last).hover()
    page.wait_for_function(f"() => document.getElementById('map-hover').dataset.index === '{last}'")
    assert page.locator("#map-hover").text_content() == info["sentences"][last]

    box = page.locator("#latent-map").bounding_box()
    page.mouse.click(box["x"] + 0.3 * box["width"], box["y"] + 0.6 * box["height"])
    page.wait_for_function("() => document.getElementById('map-z').dataset.latent !== ''")
    latent = json.loads(page.locator("#map-z").get_attribute("data-latent"))
    shown = page.locator("#map-greedy").text_content()
    from_api = page.evaluate("""latent => fetch('/api/decode', {method: 'POST', headers: {'Content-Type':
        'application/json'}, body: JSON.stringify({latents: [latent]})}).then(r => r.json())""", latent)
    with torch.no_grad():
        from_model = decode_rows(vocabulary, model.decode(torch.tensor([latent])).greedy())
    assert shown == from_api["greedy"][0] == from_model[0] and shown
    assert set(page.locator("#map-sampled").text_content().split()) <= set(vocabulary.words)

    homotopy = page.locator("#homotopy li .sentence").all_text_contents()
    assert len(homotopy) == 7 and homotopy[0] != homotopy[-1]
    assert page.locator("#samples-sentences li").count() == 8 and page.locator("#traversal-greedy").text_content()
    assert "<i>red</i>" in page.locator("#thumbnails").text_content()        # the word, shown as text
    assert page.locator("main i").count() == 0                                 # no markup made from data
