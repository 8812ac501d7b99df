"""Scribbles in a real browser: paint two strokes with the mouse, train, see the labelled picture."""
import pytest

from core import lessons
from tests.conftest import page_url, screenshot, wait_for_app

pytestmark = pytest.mark.browser


def _drag(page, box, x0, y0, x1, y1):
    page.mouse.move(box["x"] + x0, box["y"] + y0)
    page.mouse.down()
    page.mouse.move(box["x"] + x1, box["y"] + y1, steps=8)
    page.mouse.up()


def test_paint_train_and_see_the_result(app_server, browser_page):
    T = lessons.texts("scribbles", "en")
    page = browser_page
    page.goto(page_url(app_server, "scribbles", "en") + "&sc_steps=30")
    wait_for_app(page)
    canvas = page.locator(".ss-paint canvas")
    canvas.wait_for()
    box = canvas.bounding_box()
    _drag(page, box, box["width"] * 0.3, box["height"] * 0.8, box["width"] * 0.5, box["height"] * 0.85)
    page.wait_for_function("() => /in 1 stroke\\./.test(document.body.innerText)", timeout=60_000)
    page.get_by_text(T("class_1"), exact=True).click()
    hint = T("paint_hint", name=T("class_1"))
    page.get_by_text(hint).wait_for(timeout=60_000)  # the rerun with the new class has reached the page
    wait_for_app(page)
    box = canvas.bounding_box()
    _drag(page, box, box["width"] * 0.1, box["height"] * 0.1, box["width"] * 0.9, box["height"] * 0.12)
    page.wait_for_function("() => /in 2 strokes/.test(document.body.innerText)", timeout=60_000)
    page.get_by_role("button", name=T("train")).click()
    page.get_by_text(T("result")).wait_for(timeout=90_000)
    wait_for_app(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stImage"]').count() >= 2
    screenshot(page, "scribbles-trained")
