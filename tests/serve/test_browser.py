"""The explorer page end to end in headless Chromium (the system's, e.g. Debian's `chromium`, driven by
Playwright): click the map and the decoded image changes and equals the model's decode of the shown
latent; drag; move the interpolation slider; press resample; save docs/serve-screenshot.png."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch

from vaekit.runs import load_run

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
def page(live_server):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[test])")
    url, _, _ = live_server
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        errors = []
        page.on("pageerror", lambda error: errors.append(error))
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]", timeout=30_000)
        yield page
        assert not errors, errors
        browser.close()


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
    before = json.loads(page.locator("#map-z").get_attribute("data-latent"))
    page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + 0.5 * box["height"])
    page.mouse.down()
    for step in range(1, 6):
        page.mouse.move(box["x"] + (0.5 - 0.05 * step) * box["width"], box["y"] + 0.5 * box["height"])
    page.mouse.up()
    target = page.evaluate("() => state.view.toMap([0.25 * 440, 0.5 * 440])")  # the drag's end on the map
    pixel = 1.5 / page.evaluate("() => state.view.scale")          # mouse positions land on whole pixels
    page.wait_for_function("""([target, pixel]) => {
        const z = JSON.parse(document.getElementById('map-z').dataset.latent);
        return Math.abs(z[0] - target[0]) <= pixel && Math.abs(z[1] - target[1]) <= pixel; }""", arg=[target, pixel])
    assert json.loads(page.locator("#map-z").get_attribute("data-latent")) != before
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


def test_resample_redraws_the_samples_and_a_screenshot_is_saved(page):
    before = page.evaluate(GRID_PIXELS, "samples-means")
    assert len(before) == 8 * 8 * 8 * 4                            # 8 mean images of 8×8 RGBA
    page.locator("#resample").click()
    page.wait_for_function("() => document.getElementById('resample').dataset.seed === '1'")
    assert page.evaluate(GRID_PIXELS, "samples-means") != before
    assert len(page.evaluate(GRID_PIXELS, "samples-draws")) == len(before)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.read_bytes()[:4] == b"\x89PNG"
