"""The shared click and paint components in a real browser: coordinates come back in image pixels."""
import pytest

from tests.conftest import (
    ROOT,
    require_browser,
    screenshot,
    start_server,
    stop_server,
    wait_for_app,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def components_server():
    require_browser()
    proc, base = start_server(ROOT / "tests" / "apps" / "components_app.py")
    yield base
    stop_server(proc)


def _text(page):
    return page.locator('[data-testid="stMainBlockContainer"]').inner_text()


def test_click_and_drag_give_original_pixel_coordinates(components_server, browser_page):
    page = browser_page
    page.goto(components_server)
    wait_for_app(page)
    img = page.locator(".ss-click img")
    img.wait_for()
    box = img.bounding_box()
    assert box["width"] == pytest.approx(480, abs=2)  # shown 4× larger than the 120-pixel image
    page.mouse.click(box["x"] + 400, box["y"] + 40)
    page.wait_for_function("() => document.body.innerText.includes('kind')")
    text = _text(page)
    assert '"x":100' in text.replace(" ", "") and '"y":10' in text.replace(" ", "")
    page.get_by_text("box").click()
    wait_for_app(page)
    page.mouse.move(box["x"] + 40, box["y"] + 40)
    page.mouse.down()
    page.mouse.move(box["x"] + 200, box["y"] + 160, steps=5)
    page.mouse.up()
    page.wait_for_function("() => document.body.innerText.includes('x0')")
    flat = _text(page).replace(" ", "")
    assert '"x0":10' in flat and '"y1":40' in flat
    screenshot(page, "components-click")


def test_painting_a_stroke_labels_pixels(components_server, browser_page):
    page = browser_page
    page.goto(components_server)
    wait_for_app(page)
    canvas = page.locator(".ss-paint canvas")
    canvas.wait_for()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 40, box["y"] + 120)
    page.mouse.down()
    page.mouse.move(box["x"] + 440, box["y"] + 120, steps=10)
    page.mouse.up()
    page.wait_for_function("() => /painted pixels: [1-9]/.test(document.body.innerText)")
    painted = int(_text(page).split("painted pixels:")[1].split()[0])
    assert 400 <= painted <= 900  # a 6-pixel-wide line across 100 pixels of the image
    screenshot(page, "components-paint")
