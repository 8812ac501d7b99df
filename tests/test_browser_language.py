"""Romanian numbers as a real browser draws them: KaTeX formulas and plotly cells with decimal commas."""
import pytest

from core import lessons
from tests.conftest import page_url, screenshot, wait_for_app

pytestmark = pytest.mark.browser
SLUG = "bilinear"


def _drawn(page) -> dict[str, str]:
    """The text KaTeX drew (without its hidden MathML copy) and the text of every plotly figure."""
    return page.evaluate("""() => ({
        katex: [...document.querySelectorAll('.katex-html')].map(e => e.textContent).join(' | '),
        plots: [...document.querySelectorAll('.js-plotly-plot text')].map(e => e.textContent).join(' | '),
    })""")


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_bilinear_weights_are_written_in_the_page_language(app_server, browser_page, lang):
    page = browser_page
    page.goto(page_url(app_server, SLUG, lang))
    wait_for_app(page)
    page.wait_for_selector(".katex-html")
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot text').length > 0")
    assert page.locator('[data-testid="stException"]').count() == 0
    drawn = _drawn(page)
    # the default sample sits at fractions 0.25 and 0.75: weights 0.1875, 0.5625, 0.0625, 0.1875
    point, comma = "0.1875", "0,1875"
    mine, other = (comma, point) if lang == "ro" else (point, comma)
    assert mine in drawn["katex"] and other not in drawn["katex"], drawn["katex"][:400]
    assert mine in drawn["plots"] and other not in drawn["plots"], drawn["plots"][:400]
    if lang == "ro":  # KaTeX draws 0{,}1875 without the space it puts after a punctuation comma
        assert "0, 1875" not in drawn["katex"]
    screenshot(page, f"language-{SLUG}-{lang}")
