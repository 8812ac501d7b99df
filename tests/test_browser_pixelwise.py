"""A real Chromium clicks a pixel on the pixelwise page and reads that pixel's probabilities.

AppTest cannot click inside a plotly chart; this test does, through the transparent click layer, and
checks the numbers against ``core.pixelwise`` for the page's default logits.
"""
import pytest

from core import lessons, pixelwise
from core.data import scenes
from tests.conftest import screenshot, wait_for_app

pytestmark = pytest.mark.browser

DEFAULTS = {"margin": 3.0, "noise": 1.0, "seed": 0, "temperature": 1.0}  # the page's slider defaults


def _expected(lang: str, row: int, col: int) -> tuple[str, pixelwise.PixelReport]:
    grid = scenes.street_grid().labels
    z = pixelwise.synthetic_logits(grid, 6, margin=DEFAULTS["margin"], noise=DEFAULTS["noise"], seed=DEFAULTS["seed"])
    r = pixelwise.pixel_report(z, grid, row, col, DEFAULTS["temperature"])
    T = lessons.texts("pixelwise_classification", lang)
    names = [T.table("classes")[k] for k in scenes.STREET_CLASSES]
    summary = T("pixel_summary", row=row, col=col, label=names[r.label], argmax=names[r.argmax],
                p=f"{r.probs[r.label]:.4f}", loss=f"{r.loss:.4f}")
    return summary.replace("**", ""), r  # the browser shows the text without the markdown stars


def _click_cell(page, chart_key: str, row: int, col: int) -> None:
    chart = page.locator(f".st-key-{chart_key} .js-plotly-plot")
    chart.wait_for(timeout=60_000)
    chart.scroll_into_view_if_needed()
    # plotly has laid the chart out, it is fresh (not a stale copy), in view, and in the same place on two
    # frames in a row (the predicate runs once per animation frame; it keeps the last box on the element)
    page.wait_for_function(
        """(sel) => { const gd = document.querySelector(sel);
             if (!gd || !gd._fullLayout?.xaxis?._length || gd.closest('[data-stale="true"]')) return false;
             const r = gd.getBoundingClientRect(), box = [r.left, r.top, r.width, r.height].join();
             const still = gd.__lastBox === box;
             gd.__lastBox = box;
             return still && r.top < window.innerHeight && r.bottom > 0; }""",
        arg=f".st-key-{chart_key} .js-plotly-plot", timeout=30_000)
    x, y = chart.evaluate(
        """(gd, rc) => { const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
             const box = gd.getBoundingClientRect();
             return [box.left + xa._offset + xa.l2p(rc[1]), box.top + ya._offset + ya.l2p(rc[0])]; }""",
        [row, col])
    page.mouse.click(x, y)


def _wait_for_pixel(page, lang: str, row: int, col: int) -> pixelwise.PixelReport:
    summary, report = _expected(lang, row, col)
    page.locator('[data-testid="stMarkdownContainer"]', has_text=summary).first.wait_for(timeout=30_000)
    T = lessons.texts("pixelwise_classification", lang)
    # while a rerun is under way Streamlit keeps the previous figure as a stale copy: read the fresh one
    bars = page.locator('.st-key-pw_fig_probs:not([data-stale="true"])')
    bars.get_by_text(T("probs_fig", row=row, col=col)).wait_for(timeout=30_000)
    shown = bars.first.inner_text()
    from core.figures.common import format_number

    for p in report.probs:  # every one of the C probabilities is written on its bar, the language's way
        written = format_number(p, 3)
        assert (written.replace(".", ",") if lang == "ro" else written) in shown.split("\n")
    assert page.locator(".st-key-pw_row input").input_value() == str(row)
    assert page.locator(".st-key-pw_col input").input_value() == str(col)
    return report


def test_click_a_pixel_shows_its_probabilities(app_server, browser_page):
    page = browser_page
    page.goto(f"{app_server}/pixelwise_classification?lang=en")
    wait_for_app(page)
    _wait_for_pixel(page, "en", 11, 4)  # the default pixel: the lecture's purse

    _click_cell(page, "pw_click_pred", 2, 7)
    _wait_for_pixel(page, "en", 2, 7)
    page.wait_for_function("() => location.search.includes('pw_row=2') && location.search.includes('pw_col=7')")
    screenshot(page, "pixelwise-click-en")

    # the row selector is the fallback, and stays in sync with the clicks
    row_input = page.locator(".st-key-pw_row input")
    row_input.fill("5")
    row_input.press("Enter")
    _wait_for_pixel(page, "en", 5, 7)


def test_click_on_the_loss_map_in_romanian(app_server, browser_page):
    page = browser_page
    page.goto(f"{app_server}/pixelwise_classification?lang=ro")
    wait_for_app(page)
    _click_cell(page, "pw_click_loss", 12, 22)
    _wait_for_pixel(page, "ro", 12, 22)
    screenshot(page, "pixelwise-click-ro")
