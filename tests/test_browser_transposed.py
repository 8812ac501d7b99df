"""The transposed-convolution page in a real Chromium: steps, sliders and tabs update it without errors."""
import pytest

from core import lessons
from tests.conftest import (
    no_exception,
    page_url,
    screenshot,
    wait_for_app,
    wait_for_text,
)

pytestmark = pytest.mark.browser
SLUG = "transposed_convolution"


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_step_control_and_slider_update_the_page(app_server, browser_page, lang):
    T = lessons.texts(SLUG, lang)
    page = browser_page
    page.goto(page_url(app_server, SLUG, lang))
    wait_for_app(page)
    no_exception(page)
    wait_for_text(page, T("size_summary", n=2, o=5, ratio="2.5"))

    # The step-through, played in the browser: "next" moves to the second input cell, x[0, 1] = 2, and once it
    # has settled the step reaches the address.
    page.locator(".st-key-tc_step_player .ss-next").first.click()
    wait_for_text(page, T("step_now", i=0, j=1, v="2", r=0, c=2, s=2).split("**")[1])
    page.wait_for_function("() => location.href.includes('tc_step=1')", timeout=30_000)
    no_exception(page)

    # A parameter slider: one step right takes the stride from 2 to 3, and the output from 5 to 6.
    thumb = page.locator('.st-key-tc_s input[type="range"]').first
    thumb.focus()
    page.keyboard.press("ArrowRight")
    wait_for_text(page, T("size_summary", n=2, o=6, ratio="3"))
    wait_for_app(page)
    assert "tc_s=3" in page.url
    no_exception(page)
    screenshot(page, f"{SLUG}-steps-{lang}")



def test_every_view_opens_and_the_gallery_plays(app_server, browser_page):
    T = lessons.texts(SLUG, "ro")
    page = browser_page
    page.goto(page_url(app_server, SLUG, "ro") + "&tc_k=4&tc_s=3&tc_op=1&tc_d=2")
    wait_for_app(page)
    for tab in ("tab_overlap", "tab_zero", "tab_matrix", "tab_gallery"):
        page.get_by_role("tab", name=T(tab)).click()
        wait_for_app(page)
        no_exception(page)
    wait_for_text(page, T("case_no_padding_note"))
    page.get_by_text(T("play")).first.click()
    # the animation is playing: its slider has moved past the first frame
    page.wait_for_function(
        """() => [...document.querySelectorAll('.js-plotly-plot')].some(
                 gd => (gd._fullLayout?.sliders || []).some(s => s.active > 0))""", timeout=30_000)
    no_exception(page)
    screenshot(page, f"{SLUG}-gallery-ro")
