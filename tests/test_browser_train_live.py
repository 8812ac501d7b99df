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
