"""The heatmap page in a real browser: a click on the picture places a keypoint and its heatmap appears."""
import json
import re
from urllib.parse import parse_qs, urlparse

import pytest

from core import lessons
from tests.conftest import page_url, screenshot, wait_for_app

pytestmark = pytest.mark.browser


def _text(page) -> str:
    return page.locator('[data-testid="stMainBlockContainer"]').inner_text()


@pytest.mark.parametrize("lang", ["en"])
def test_click_places_a_keypoint_and_shows_its_heatmap(app_server, browser_page, lang):
    T = lessons.texts("pose_heatmaps", lang)
    page = browser_page
    page.goto(page_url(app_server, "pose_heatmaps", lang) + "&ph_canvas=street&ph_stride=8")  # no keypoints yet
    wait_for_app(page)
    assert T("no_points") in _text(page)
    img = page.locator(".ss-click img")
    img.wait_for()
    box = img.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.5)  # pixel (31.5, 63.5) of 128
    page.wait_for_url(re.compile(r"ph_pts="), timeout=60_000)  # the keypoint is kept in the shared link
    wait_for_app(page)
    (x, y), = json.loads(parse_qs(urlparse(page.url).query)["ph_pts"][0])
    assert x == pytest.approx(31.5, abs=1.0) and y == pytest.approx(63.5, abs=1.0)
    title = T("heat_title", i=1, h=16, w=16)  # 128 px at stride 8
    # the keypoint's heatmap is drawn: a chart titled so (a layout title, or the wrapped title annotation)
    page.wait_for_function(
        """t => [...document.querySelectorAll('.js-plotly-plot')].some(gd =>
             [gd.layout?.title?.text, ...(gd.layout?.annotations || []).map(a => a.text)].some(s =>
               (s || '').replace(/<[^>]+>/g, ' ').replace(/\\s+/g, ' ').trim() === t))""",
        arg=title, timeout=60_000)
    assert T("no_points") not in _text(page)
    page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.25)  # a second one
    page.wait_for_function("() => decodeURIComponent(location.search).includes('],[')", timeout=60_000)
    wait_for_app(page)
    assert len(json.loads(parse_qs(urlparse(page.url).query)["ph_pts"][0])) == 2
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "pose_heatmaps-clicked")
