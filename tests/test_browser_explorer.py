"""A real browser on the architecture explorer: change the model and the input size, watch the diagram follow."""
import re

import pytest

from core import lessons
from tests.conftest import page_url, screenshot, wait_for_app

pytestmark = pytest.mark.browser


def diagram_text(page) -> str:
    return page.locator('[data-testid="stPlotlyChart"]').first.text_content() or ""


def wait_for_diagram(page, needle: str, timeout_ms: int = 90_000) -> None:
    page.wait_for_function(
        "(needle) => { const c = document.querySelector('[data-testid=stPlotlyChart]');"
        " return c && c.textContent.includes(needle); }", arg=needle, timeout=timeout_ms)


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_explorer_follows_model_and_input_size(app_server, browser_page, lang):
    page = browser_page
    page.goto(page_url(app_server, "architecture_explorer", lang))
    wait_for_app(page)
    wait_for_diagram(page, "score_pool3")  # FCN-8s is the default
    assert "3×96×128" in diagram_text(page)

    # another model, from the select box
    page.locator('[data-testid="stMainBlockContainer"] [data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name="SegNet", exact=True).click()
    wait_for_diagram(page, "unpool5")
    assert "score_pool3" not in diagram_text(page)
    assert "ax_model=segnet" in page.url

    # an odd input height: every box follows (97 → 49 → 25 → 13 → 7 → 4)
    height = page.locator('[data-testid="stMainBlockContainer"] [data-testid="stNumberInput"] input').first
    height.fill("97")
    height.press("Enter")
    wait_for_diagram(page, "3×97×128")
    text = diagram_text(page)
    assert "8×49×64" in text and "64×4×4" in text  # pool1 and pool5 of the small SegNet
    assert "5×97×128" in text  # the classifier answers at the input size
    assert re.search(r"ax_h=97", page.url)
    wait_for_app(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, f"architecture_explorer-segnet-97-{lang}")

    # a reload keeps the state (it is in the address)
    page.reload()
    wait_for_app(page)
    wait_for_diagram(page, "3×97×128")
    assert "unpool5" in diagram_text(page)
