"""Figures and controls in a real browser, both languages: pose tables whose headers fit, live-training loss
ticks that read 1, 2, 5 × 10ⁿ, and screenshots of every page this work changed."""
import math

import pytest

from core import lessons
from tests.conftest import page_url, screenshot, wait_for_app

pytestmark = pytest.mark.browser

_CUT_HEADERS = """() => [...document.querySelectorAll('[data-testid="stTable"] th')]
    .filter(th => th.scrollWidth > th.clientWidth + 1).map(th => th.innerText)"""
_WIDE_TABLES = """() => [...document.querySelectorAll('[data-testid="stTable"]')]
    .filter(t => t.scrollWidth > t.clientWidth + 1).length"""


def _open(page, base, slug, lang, query=""):
    page.goto(page_url(base, slug, lang) + query)
    wait_for_app(page, timeout_ms=120_000)
    assert page.locator('[data-testid="stException"]').count() == 0


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
@pytest.mark.parametrize("slug", ["pose_heatmaps", "pose_hrnet_vs_hourglass"])
def test_pose_tables_show_their_whole_headers(app_server, browser_page, lang, slug):
    page = browser_page
    _open(page, app_server, slug, lang)
    page.locator('[data-testid="stTable"] th').first.wait_for()
    assert page.evaluate(_CUT_HEADERS) == []
    assert page.evaluate(_WIDE_TABLES) == 0
    screenshot(page, f"controls-{slug}-{lang}")


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_live_training_loss_ticks_and_iou_bars(app_server, browser_page, lang):
    T = lessons.texts("train_live", lang)
    page = browser_page
    _open(page, app_server, "train_live", lang, "&tl_model=fcn8s&tl_size=32&tl_batch=2&tl_steps=40")
    page.get_by_role("button", name=T("start")).click()
    page.locator(".gtitle", has_text=T("iou_title")).wait_for(timeout=240_000)
    page.get_by_text(T("status_finished")).first.wait_for(timeout=240_000)
    wait_for_app(page)
    ticks = page.evaluate("""() => [...document.querySelector('.js-plotly-plot').querySelectorAll('.yaxislayer-above')][0]
        ? [...document.querySelector('.js-plotly-plot').querySelectorAll('.yaxislayer-above')[0]
             .querySelectorAll('.ytick text')].map(t => t.textContent) : []""")
    values = [float(t.replace(",", ".")) for t in ticks]
    assert len(values) >= 2
    for v in values:  # 1, 2 or 5 times a power of ten
        e = math.floor(math.log10(v) + 1e-9)
        assert round(v / 10 ** e, 6) in (1, 2, 5), ticks
    screenshot(page, f"controls-train_live-{lang}")


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
@pytest.mark.parametrize(("slug", "query", "words"), [
    ("classification_recap", "", ("classification_recap", "logits_label")),
    ("architecture_explorer", "&ax_model=unet", ("architecture_explorer", "weights_trained")),
    ("fcn", "&fcn_steps=300", ("fcn", "not_trained")),
    ("sam2_video", "&sv_untrained=true&sv_frames=4", ("sam2_video", "anchors_one")),
    ("grounded_sam", "&gs_untrained=true&gs_sam3=false", ("grounded_sam", "boxes_title")),
])
def test_screenshots_of_the_changed_pages(app_server, browser_page, lang, slug, query, words):
    page = browser_page
    _open(page, app_server, slug, lang, query)
    T = lessons.texts(words[0], lang)
    expected = T(words[1], frame=0) if words[1] == "anchors_one" else T(words[1])
    page.get_by_text(expected).first.wait_for(timeout=120_000)
    screenshot(page, f"controls-{slug}-{lang}")
