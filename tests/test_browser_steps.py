"""Step-throughs in a real Chromium: step forward, reload the page (F5), and the page is on the same step with the
same cells still hidden; "Show all" reveals them. Screenshots in both languages, normal and in presentation mode
at 1280×720."""
import pytest
import torch

from core import lessons
from core.ops.pooling import max_pool2d_with_indices, max_unpool_trace
from core.ops.resample import nearest_trace
from tests.conftest import page_url, screenshot, wait_for_app

pytestmark = pytest.mark.browser
LECTURE = [[1.0, 2.0, 6.0, 3.0], [3.0, 5.0, 2.0, 1.0], [1.0, 2.0, 2.0, 1.0], [7.0, 3.0, 4.0, 8.0]]
REST = [[1.0, 2.0], [3.0, 4.0]]  # the page's default "rest of the network"


def _nearest_words(lang: str, k: int) -> tuple[str, str, int]:
    """The sentence of step k on the default nearest page, its output figure, and how many cells it hides."""
    steps = nearest_trace(torch.tensor([[1.0, 2.0], [3.0, 4.0]]), 2)
    t = steps[k]
    T = lessons.texts("nearest_bed_of_nails", lang)
    text = T("nearest_step", i=t.out[0], j=t.out[1], s=2, si=t.src[0], sj=t.src[1], v=f"{t.value:g}")
    return text, "nb_near", len(steps) - (k + 1)


def _unpooling_words(lang: str, k: int) -> tuple[str, str, int]:
    """The same for the max-unpooling page at an unpooling step k (4 pooling windows come first)."""
    _, idx = max_pool2d_with_indices(torch.tensor(LECTURE)[None], 2)
    r = max_unpool_trace(torch.tensor(REST), idx[0], (4, 4))[k - 4]
    T = lessons.texts("max_unpooling", lang)
    text = T("route_step", i=r.src[0], j=r.src[1], v=f"{r.value:g}", idx=r.index, r=r.dest[0], c=r.dest[1])
    return text, "mu_routing", 4 * (4 - (k - 4 + 1))  # the unpooled map's windows still to come, 4 cells each


CASES = {"nearest_bed_of_nails": ("nb_step", 3, _nearest_words), "max_unpooling": ("mu_step", 5, _unpooling_words)}


def _question_marks(page, chart_key: str) -> int:
    """How many cells of a chart are grey "?" cells (not computed yet), read from plotly's own data."""
    page.locator(f".st-key-{chart_key}").scroll_into_view_if_needed()  # a chart is drawn once it is in view
    page.wait_for_selector(f".st-key-{chart_key} .js-plotly-plot", timeout=30_000)
    return page.evaluate(
        """key => { const gd = document.querySelector(`.st-key-${key} .js-plotly-plot`);
                    return (gd?.data || []).flatMap(t => (t.text || []).flat()).filter(s => s === "?").length; }""",
        chart_key)


def _at_step(page, key: str, k: int, sentence: str) -> None:
    """The step slider stands at k and the page says step k's sentence."""
    thumb = f'.st-key-{key} input[type="range"]'
    page.wait_for_function("([sel, k]) => document.querySelector(sel)?.value === String(k)", arg=[thumb, k],
                           timeout=30_000)
    plain = sentence.replace("**", "")
    page.wait_for_function("t => document.body.innerText.includes(t)", arg=plain, timeout=30_000)


def _no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
@pytest.mark.parametrize("slug", list(CASES))
def test_step_survives_a_reload(app_server, browser_page, slug, lang):
    key, k, words = CASES[slug]
    sentence, chart, hidden = words(lang, k)
    page = browser_page
    page.goto(page_url(app_server, slug, lang))
    wait_for_app(page)
    _no_exception(page)
    for _ in range(k):
        page.locator(f".st-key-{key}__next button").first.click()
        wait_for_app(page)
    _at_step(page, key, k, sentence)
    assert f"{key}={k}" in page.url
    assert _question_marks(page, chart) == hidden

    page.reload()  # F5: a new session, only the address is left
    wait_for_app(page)
    _no_exception(page)
    _at_step(page, key, k, sentence)
    assert _question_marks(page, chart) == hidden
    screenshot(page, f"steps-{slug}-{lang}")

    # presentation mode at a projector's 1280×720, then "Show all"
    page.set_viewport_size({"width": 1280, "height": 720})
    page.locator(".st-key-presentation label").first.click()
    wait_for_app(page)
    _no_exception(page)
    _at_step(page, key, k, sentence)
    clipped = page.evaluate(
        """sel => [...document.querySelectorAll(sel)]
                   .filter(e => e.textContent.trim() && e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)""",
        f".st-key-{key}_all *, .st-key-{key} [data-testid=stWidgetLabel] *")
    assert not clipped, clipped  # the step control's labels fit a projector's 1280 px
    screenshot(page, f"steps-{slug}-{lang}-presentation")
    page.locator(f".st-key-{key}_all label").first.click()
    wait_for_app(page)
    assert f"{key}_all=1" in page.url
    _question_marks(page, chart)  # in view and drawn
    page.wait_for_function(
        """key => { const gd = document.querySelector(`.st-key-${key} .js-plotly-plot`);
                    return gd && !(gd.data || []).some(t => (t.text || []).flat().includes("?")); }""",
        arg=chart, timeout=30_000)
    _no_exception(page)
    screenshot(page, f"steps-{slug}-{lang}-presentation-all")
