"""The SAM page in a real browser: a click on the picture adds a point in picture pixels and draws a mask."""
import re

import pytest

from core import lessons
from tests.conftest import page_url, screenshot, wait_for_app

pytestmark = pytest.mark.browser


def _main_text(page) -> str:
    return page.locator('[data-testid="stMainBlockContainer"]').inner_text()


def _wait_text(page, pattern: str, timeout_ms: int = 120_000) -> None:
    page.wait_for_function("(p) => new RegExp(p).test(document.body.innerText)", arg=pattern, timeout=timeout_ms)


def test_click_adds_a_point_and_draws_a_mask(app_server, browser_page):
    page = browser_page
    page.goto(page_url(app_server, "sam", "en"))
    wait_for_app(page, 120_000)
    img = page.locator(".ss-click img")
    img.wait_for(timeout=120_000)
    _wait_text(page, "The decoder's candidates")  # the sample starts with one click on the horse
    page.get_by_role("button", name="Clear").click()
    _wait_text(page, "Click on the picture to give the first prompt")
    page.wait_for_timeout(500)
    plain = img.get_attribute("src")
    img.scroll_into_view_if_needed()
    box = img.bounding_box()
    # The picture is 512 × 384 pixels, whatever size the browser shows it at.
    page.mouse.click(box["x"] + 0.3 * box["width"], box["y"] + 0.7 * box["height"])
    _wait_text(page, r"Latest click at x = \d+, y = \d+")
    _wait_text(page, "The decoder's candidates")
    text = _main_text(page)
    x, y = map(int, re.search(r"Latest click at x = (\d+), y = (\d+)", text).groups())
    assert abs(x - 0.3 * 512) <= 3 and abs(y - 0.7 * 384) <= 3
    assert "Prompts: 1 on the object, 0 off it, box: no." in text
    page.wait_for_timeout(500)
    assert img.get_attribute("src") != plain  # the mask and the point are drawn on the picture
    screenshot(page, "sam-click-en")

    page.get_by_text("Box", exact=True).click()
    _wait_text(page, "Press, drag and release")
    img.scroll_into_view_if_needed()
    box = img.bounding_box()
    page.mouse.move(box["x"] + 0.1 * box["width"], box["y"] + 0.2 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + 0.9 * box["height"], steps=6)
    page.mouse.up()
    _wait_text(page, r"Latest box from")
    x0, y0, x1, y1 = map(int, re.search(r"Latest box from \((\d+), (\d+)\) to \((\d+), (\d+)\)",
                                        _main_text(page)).groups())
    assert abs(x0 - 51) <= 3 and abs(y0 - 77) <= 3 and abs(x1 - 256) <= 3 and abs(y1 - 346) <= 3
    assert "box: yes" in _main_text(page)


def _settle(page, seconds: int = 180) -> None:
    """Wait until the page has stopped changing for a few seconds (models load, pictures arrive)."""
    last, stable = None, 0
    for _ in range(seconds):
        now = _main_text(page)
        busy = page.locator('[data-testid="stSpinner"]').count()
        stable = stable + 1 if now == last and not busy else 0
        last = now
        if stable >= 4:
            return
        page.wait_for_timeout(1000)


def test_sam_pages_in_romanian(app_server, browser_page):
    page = browser_page
    for slug in ("sam", "how_sam_works", "sam2_video", "grounded_sam"):
        page.goto(page_url(app_server, slug, "ro"))
        wait_for_app(page, 120_000)
        _settle(page)
        text = _main_text(page)
        assert "Traceback" not in text
        assert lessons.texts(slug, "ro").title in text
        screenshot(page, f"{slug}-ro")
