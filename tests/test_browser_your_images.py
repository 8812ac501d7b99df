"""A real Chromium uploads a photo on "Segment your photo", sees the overlay, and clicks one of its pixels."""
import pytest
from PIL import Image

from core import lessons
from core.data.streets import make_street
from tests.conftest import screenshot, wait_for_app

pytestmark = pytest.mark.browser

H, W = 150, 200  # the uploaded photo's size (small: the network runs at a 64-pixel short side)


@pytest.fixture
def photo_file(tmp_path):
    path = tmp_path / "my_photo.png"
    Image.fromarray(make_street(21, (H, W))[0]).save(path)
    return path


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_upload_a_photo_and_click_the_overlay(app_server, browser_page, photo_file, lang):
    from playwright.sync_api import (
        expect,  # only where a browser runs: collecting needs no playwright
    )

    page = browser_page
    page.goto(f"{app_server}/segment_photo?lang={lang}&sp_source=upload&sp_side=64")
    wait_for_app(page)
    T = lessons.texts("segment_photo", lang)
    page.locator(".st-key-sp_upload input[type=file]").set_input_files(str(photo_file))
    page.get_by_text(T("photo_caption", h=H, w=W)).wait_for(timeout=120_000)
    wait_for_app(page)
    overlay = page.locator(".ss-click img")
    overlay.wait_for(timeout=120_000)
    overlay.scroll_into_view_if_needed()
    # the component lives in a shadow root: ask the located element itself, until the photo has arrived
    expect(overlay).to_have_js_property("complete", True, timeout=60_000)
    expect(overlay).to_have_js_property("naturalWidth", W, timeout=60_000)
    expect(overlay).to_have_js_property("naturalHeight", H, timeout=60_000)
    size = overlay.evaluate("i => i.complete ? [i.naturalWidth, i.naturalHeight] : null")
    assert size == [W, H]  # the overlay is drawn on the uploaded photo, pixel for pixel
    assert overlay.get_attribute("alt") == T("overlay_alt")
    box = overlay.bounding_box()
    assert box["width"] > W  # shown larger than the photo, so one click lands on one pixel
    page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.25)
    x, y = int(0.75 * W), int(0.25 * H)
    title = T("pixel_fig", x=x, y=y).split("<br>")[0]  # the title's first line names the pixel
    # the pixel's chart is drawn with that title (a layout title, or the wrapped title annotation)
    page.wait_for_function(
        """t => [...document.querySelectorAll('.st-key-sp_fig_pixel .js-plotly-plot')].some(gd =>
             [gd.layout?.title?.text, ...(gd.layout?.annotations || []).map(a => a.text)].some(s =>
               (s || '').replace(/<[^>]+>/g, ' ').replace(/\\s+/g, ' ').includes(t)))""",
        arg=title, timeout=60_000)
    wait_for_app(page)  # the rerun the click started has finished: its inputs hold the clicked pixel
    page.wait_for_function("(x) => document.querySelector('.st-key-sp_x input')?.value === x", arg=str(x),
                           timeout=30_000)
    assert page.locator(".st-key-sp_x input").input_value() == str(x)
    assert page.locator(".st-key-sp_y input").input_value() == str(y)
    wait_for_app(page)
    screenshot(page, f"segment_photo-upload-{lang}")
