"""Train live in a real browser: start a run and watch the curve grow while the page stays usable."""
import pytest

from core import lessons
from tests.conftest import page_url, screenshot, wait_for_app

pytestmark = pytest.mark.browser

# the step the second metric shows ("Step" over "12 / 400") is past ``n``: what ``read`` below reads, in the page
STEP_ABOVE = """(n) => { const m = document.querySelectorAll('[data-testid="stMetric"]')[1];
    return !!m && parseInt(m.innerText.split("\\n").pop().split("/")[0], 10) > n; }"""


def test_start_training_and_see_the_curve_grow(app_server, browser_page):
    T = lessons.texts("train_live", "en")
    page = browser_page
    page.goto(page_url(app_server, "train_live", "en") + "&tl_model=fcn8s&tl_size=32&tl_batch=4&tl_steps=400")
    wait_for_app(page)
    page.get_by_role("button", name=T("start")).click()
    step_metric = page.locator('[data-testid="stMetric"]').nth(1)
    step_metric.wait_for(timeout=60_000)
    read = lambda: int(step_metric.inner_text().split("\n")[-1].split("/")[0])  # noqa: E731
    page.wait_for_function(STEP_ABOVE, arg=0, timeout=120_000)
    first = read()
    assert first > 0
    page.wait_for_function(STEP_ABOVE, arg=first, timeout=60_000)  # the live view redraws by itself, no click
    assert read() > first
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "train_live-running")
    page.get_by_role("button", name=T("pause")).click()
    page.get_by_role("button", name=T("resume")).wait_for(timeout=30_000)


def test_a_reload_finds_the_run_again(app_server, browser_page):
    T = lessons.texts("train_live", "en")
    page = browser_page
    page.goto(page_url(app_server, "train_live", "en") + "&tl_model=fcn8s&tl_size=32&tl_batch=2&tl_steps=5000")
    wait_for_app(page)
    page.get_by_role("button", name=T("start")).click()
    page.wait_for_function(STEP_ABOVE, arg=0, timeout=120_000)
    assert "run=" in page.url  # the run's token is in the address
    page.reload()  # F5: a new session of the same browser, the same address
    wait_for_app(page)
    page.wait_for_function(STEP_ABOVE, arg=1, timeout=60_000)  # the same run, still training
    stop = page.get_by_role("button", name=T("stop"))
    assert stop.is_enabled()
    stop.click()
    page.get_by_text(T("download")).wait_for(timeout=60_000)  # stopped: its last validation, the weights to keep
    assert page.locator('[data-testid="stException"]').count() == 0


SCRIPT_STATE = "() => document.querySelector('[data-testid=stApp]').getAttribute('data-test-script-state')"
BUSY = "() => { const s = getComputedStyle(document.querySelector('[data-testid=stApp]'), '::after'); " \
       "return [s.content, s.visibility]; }"


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_a_running_script_shows_that_the_page_is_working(app_server, browser_page, lang):
    """Streamlit's own running indicator is hidden by toolbarMode = "minimal": the app's pill takes its place."""
    page = browser_page
    page.goto(page_url(app_server, "train_live", lang))
    wait_for_app(page)
    assert page.evaluate(SCRIPT_STATE) == "notRunning"  # the attribute the pill follows is Streamlit's own
    assert page.evaluate(BUSY)[1] == "hidden"
    # a rerun as slow as a busy server makes it: the state Streamlit writes while the script runs, held
    page.evaluate("() => document.querySelector('[data-testid=stApp]').setAttribute('data-test-script-state', 'running')")
    word = lessons.texts("common", lang)("busy")
    page.wait_for_function(f"() => {{ const s = ({BUSY})(); return s[1] === 'visible' && s[0].includes({word!r}); }}",
                           timeout=5_000)
    screenshot(page, f"busy-{lang}")
    page.evaluate("() => document.querySelector('[data-testid=stApp]').setAttribute('data-test-script-state', 'notRunning')")
    assert page.evaluate(BUSY)[1] == "hidden"
