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


class _Number:
    """Stands for a number in a lesson sentence: it formats as a marker that :func:`_pattern` reads as digits."""

    def __format__(self, spec: str) -> str:
        return "\x00"


N = _Number()


def _pattern(sentence: str) -> str:
    """A regular expression (for Python and for the page's JavaScript) of a lesson sentence: each N is ``(\\d+)``."""
    return re.escape(sentence).replace("\x00", r"(\d+)")


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_click_adds_a_point_and_draws_a_mask(app_server, browser_page, lang):
    from playwright.sync_api import (
        expect,  # only where a browser runs: collecting needs no playwright
    )

    W = lessons.texts("sam_common", lang)  # the words of the SAM pages' shared prompting panel
    last_point, last_box = _pattern(W("last_point", x=N, y=N)), _pattern(W("last_box", x0=N, y0=N, x1=N, y1=N))
    page = browser_page
    page.goto(page_url(app_server, "sam", lang))
    wait_for_app(page, 120_000)
    if not page.locator(".ss-click img").count():  # no weights here: choose the untrained pipeline, as a user would
        page.get_by_text(W("untrained_toggle"), exact=True).click()
        wait_for_app(page, 120_000)
    img = page.locator(".ss-click img")
    img.wait_for(timeout=120_000)
    _wait_text(page, re.escape(W("candidates")))  # the sample starts with one click on the horse
    masked = img.get_attribute("src")
    page.get_by_role("button", name=W("clear")).click()
    _wait_text(page, re.escape(W("no_prompt")))
    expect(img).not_to_have_attribute("src", masked, timeout=60_000)  # the picture is drawn again, bare
    wait_for_app(page, 120_000)
    plain = img.get_attribute("src")
    img.scroll_into_view_if_needed()
    box = img.bounding_box()
    # The picture is 512 × 384 pixels, whatever size the browser shows it at.
    page.mouse.click(box["x"] + 0.3 * box["width"], box["y"] + 0.7 * box["height"])
    _wait_text(page, last_point)
    _wait_text(page, re.escape(W("candidates")))
    text = _main_text(page)
    x, y = map(int, re.search(last_point, text).groups())
    assert abs(x - 0.3 * 512) <= 3 and abs(y - 0.7 * 384) <= 3
    assert W("prompt_count", points=1, negatives=0, box=W("no")) in text
    expect(img).not_to_have_attribute("src", plain, timeout=60_000)  # wait for the picture's new drawing
    assert img.get_attribute("src") != plain  # the mask and the point are drawn on the picture
    screenshot(page, f"sam-click-{lang}")

    page.get_by_text(W("mode_box"), exact=True).click()
    _wait_text(page, re.escape(W("hint_box")))
    img.scroll_into_view_if_needed()
    box = img.bounding_box()
    page.mouse.move(box["x"] + 0.1 * box["width"], box["y"] + 0.2 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + 0.9 * box["height"], steps=6)
    page.mouse.up()
    _wait_text(page, last_box)
    x0, y0, x1, y1 = map(int, re.search(last_box, _main_text(page)).groups())
    assert abs(x0 - 51) <= 3 and abs(y0 - 77) <= 3 and abs(x1 - 256) <= 3 and abs(y1 - 346) <= 3
    assert re.search(_pattern(W("prompt_count", points=N, negatives=N, box=W("yes"))), _main_text(page))


def _settle(page, seconds: int = 180) -> None:
    """Wait until the page has finished (script run over, no spinner: models loaded, pictures arrived)."""
    wait_for_app(page, seconds * 1000)
    page.wait_for_function(
        """() => !document.querySelector('[data-testid="stSpinner"]')
                 && [...document.images].every(i => i.complete)""", timeout=seconds * 1000)
    wait_for_app(page, seconds * 1000)


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
