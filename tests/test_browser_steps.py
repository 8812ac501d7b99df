"""Step-throughs in a real Chromium play in the browser: next, previous and play change the figures and the
sentence without asking the server (no websocket message leaves the page until the step has settled), the
settled step reaches the address, and a reload (F5) opens on the same step with the same cells still hidden;
"Show all" reveals them. Screenshots in both languages, normal and in presentation mode at 1280×720."""
import time

import pytest
import torch

from core import lessons
from core.ops.pooling import max_pool2d_with_indices, max_unpool_trace
from core.ops.resample import nearest_trace
from tests.conftest import page_url, screenshot, wait_for_app

pytestmark = pytest.mark.browser
LECTURE = [[1.0, 2.0, 6.0, 3.0], [3.0, 5.0, 2.0, 1.0], [1.0, 2.0, 2.0, 1.0], [7.0, 3.0, 4.0, 8.0]]
REST = [[1.0, 2.0], [3.0, 4.0]]  # the page's default "rest of the network"


def _nearest_words(lang: str, k: int) -> tuple[str, int, int]:
    """Step k's sentence on the default nearest page, the figure that hides cells, and how many it hides."""
    steps = nearest_trace(torch.tensor([[1.0, 2.0], [3.0, 4.0]]), 2)
    t = steps[k]
    T = lessons.texts("nearest_bed_of_nails", lang)
    text = T("nearest_step", i=t.out[0], j=t.out[1], s=2, si=t.src[0], sj=t.src[1], v=f"{t.value:g}")
    return text, 1, len(steps) - (k + 1)


def _pooling_words(lang: str, k: int) -> tuple[str, int, int]:
    """The same for the max-unpooling page at a pooling step k: the pooled map hides the windows to come."""
    from core.ops.pooling import max_pool_trace

    ps = max_pool_trace(torch.tensor(LECTURE), 2)[k]
    (r0, c0), (r1, c1) = ps.cells[0], ps.cells[-1]
    T = lessons.texts("max_unpooling", lang)
    values = ", ".join(f"{v:g}" for v in ps.values)
    text = T("pool_step", wi=ps.out[0], wj=ps.out[1], r0=r0, r1=r1, c0=c0, c1=c1, values=values,
             m=f"{ps.value:g}", r=ps.argmax[0], c=ps.argmax[1], idx=ps.index)
    return text, 1, 4 - (k + 1)


CASES = {"nearest_bed_of_nails": ("nb_step", 3, _nearest_words), "max_unpooling": ("mu_step", 2, _pooling_words)}


def _root(key: str) -> str:
    return f".st-key-{key}_player .ss-steps"


def _question_marks(page, key: str, panel: int) -> int:
    """How many cells of a step-through's figure are grey "?" cells, read from plotly's own data."""
    return page.evaluate(
        """([sel, p]) => { const gd = document.querySelectorAll(sel + " .ss-steps-fig")[p];
                           return (gd?.data || []).flatMap(t => (t.text || []).flat()).filter(s => s === "?").length; }""",
        [_root(key), panel])


def _shows(page, key: str, k: int, sentence: str) -> None:
    """The step-through stands at step k, its slider too, and says step k's sentence."""
    page.wait_for_function(
        """([sel, k, text]) => { const r = document.querySelector(sel);
             return r && r.dataset.step === String(k) && r.querySelector("input[type=range]").value === String(k)
                    && r.querySelector(".ss-steps-caption").innerText.includes(text); }""",
        arg=[_root(key), k, sentence.replace("**", "")], timeout=30_000)


def _href(page) -> str:
    return page.evaluate("location.href")


def _no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


class Sent:
    """Counts the messages the page sends the server over its websocket (a rerun request is one)."""

    def __init__(self, page):
        self.count = 0
        page.on("websocket", lambda ws: ws.on("framesent", self._sent))

    def _sent(self, _payload) -> None:
        self.count += 1


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
@pytest.mark.parametrize("slug", list(CASES))
def test_steps_play_in_the_browser_and_survive_a_reload(app_server, browser_page, slug, lang):
    key, k, words = CASES[slug]
    sentence, panel, hidden = words(lang, k)
    page = browser_page
    sent = Sent(page)
    page.goto(page_url(app_server, slug, lang))
    wait_for_app(page)
    _no_exception(page)
    page.wait_for_selector(_root(key) + " .ss-steps-fig .main-svg", timeout=30_000)
    page.locator(_root(key)).scroll_into_view_if_needed()
    _shows(page, key, 0, words(lang, 0)[0])
    time.sleep(1.0)  # anything the page had to say at its start has been said

    # next, next, …: every step is drawn at once, and the server hears nothing until the step settles
    before = sent.count
    for _ in range(k + 1):
        page.locator(_root(key) + " .ss-next").click()
    page.locator(_root(key) + " .ss-prev").click()
    _shows(page, key, k, sentence)
    assert sent.count == before, "a step waited for the server"
    assert _question_marks(page, key, panel) == hidden
    page.wait_for_function("t => location.href.includes(t)", arg=f"{key}={k}", timeout=30_000)  # settled: kept
    assert sent.count > before

    # play: steps follow one another in the browser; the server hears of the step where it pauses
    before = sent.count
    page.locator(_root(key) + " .ss-play").click()
    page.wait_for_function("([sel, k]) => Number(document.querySelector(sel).dataset.step) >= k + 2",
                           arg=[_root(key), k], timeout=10_000)
    assert sent.count == before, "playing asked the server"
    page.locator(_root(key) + " .ss-play").click()  # pause
    paused = int(page.locator(_root(key)).get_attribute("data-step"))
    page.wait_for_function("t => location.href.includes(t)", arg=f"{key}={paused}", timeout=30_000)

    # back to step k with the slider's keys, then F5: a new session, only the address is left
    page.locator(_root(key) + " input[type=range]").focus()
    for _ in range(paused - k):
        page.keyboard.press("ArrowLeft")
    _shows(page, key, k, sentence)
    page.wait_for_function("t => location.href.includes(t)", arg=f"{key}={k}", timeout=30_000)
    wait_for_app(page)
    page.reload()
    wait_for_app(page)
    _no_exception(page)
    page.wait_for_selector(_root(key) + " .ss-steps-fig .main-svg", timeout=30_000)
    _shows(page, key, k, sentence)
    assert _question_marks(page, key, panel) == hidden
    page.locator(_root(key)).scroll_into_view_if_needed()
    screenshot(page, f"steps-{slug}-{lang}")

    # presentation mode at a projector's 1280×720, then "Show all"
    page.set_viewport_size({"width": 1280, "height": 720})
    page.locator(".st-key-presentation label").first.click()
    wait_for_app(page)
    _no_exception(page)
    page.wait_for_selector(_root(key) + ".ss-big", timeout=30_000)
    _shows(page, key, k, sentence)
    clipped = page.evaluate(
        """sel => [...document.querySelectorAll(sel)]
                   .filter(e => e.textContent.trim() && e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)""",
        f".st-key-{key}_all *, {_root(key)} .ss-steps-bar *")
    assert not clipped, clipped  # the step control's labels fit a projector's 1280 px
    page.locator(_root(key)).scroll_into_view_if_needed()
    screenshot(page, f"steps-{slug}-{lang}-presentation")
    page.locator(f".st-key-{key}_all label").first.click()
    wait_for_app(page)
    page.wait_for_function("t => location.href.includes(t)", arg=f"{key}_all=1", timeout=30_000)
    page.wait_for_function(
        """([sel, p]) => { const gd = document.querySelectorAll(sel + " .ss-steps-fig")[p];
                           return gd && gd.data && !gd.data.some(t => (t.text || []).flat().includes("?")); }""",
        arg=[_root(key), panel], timeout=30_000)
    _shows(page, key, k, sentence)  # still on the same step
    _no_exception(page)
    screenshot(page, f"steps-{slug}-{lang}-presentation-all")


def test_a_step_chosen_elsewhere_on_the_page_moves_the_step_through(app_server, browser_page):
    """The max-unpooling page's step-through also follows the address of a shared link opened mid-lesson."""
    page = browser_page
    page.goto(page_url(app_server, "max_unpooling", "en") + "&mu_step=6")
    wait_for_app(page)
    page.wait_for_selector(_root("mu_step") + " .ss-steps-fig .main-svg", timeout=30_000)
    _, idx = max_pool2d_with_indices(torch.tensor(LECTURE)[None], 2)
    r = max_unpool_trace(torch.tensor(REST), idx[0], (4, 4))[2]
    T = lessons.texts("max_unpooling", "en")
    _shows(page, "mu_step", 6, T("route_step", i=r.src[0], j=r.src[1], v=f"{r.value:g}", idx=r.index,
                                 r=r.dest[0], c=r.dest[1]))
