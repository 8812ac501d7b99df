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


def _slider_text(page, key: str) -> dict[str, str]:
    return page.evaluate("""key => {
        const box = document.querySelector('.st-key-' + key);
        const text = sel => [...box.querySelectorAll(sel)].map(e => e.textContent).join(' ');
        return {thumb: text('[data-testid="stSliderThumbValue"]'),
                ends: text('[data-testid="stSliderTickBar"] [data-testid="stMarkdownContainer"]')};
    }""", key)


def test_sliders_write_their_numbers_with_the_page_language_decimal_mark(app_server, browser_page):
    """Streamlit writes a slider's value with a decimal point; a Romanian page shows it with a comma, through
    every move and a language switch, while the address keeps the language-free value."""
    page = browser_page
    page.goto(page_url(app_server, "pixelwise_classification", "ro"))
    wait_for_app(page)
    key = "pw_noise"
    page.wait_for_function("() => document.querySelector('.st-key-pw_noise [data-testid=\"stSliderThumbValue\"]')")
    page.wait_for_function("""() => document.querySelector('.st-key-pw_noise [data-testid="stSliderThumbValue"]')
                              .textContent.includes(',')""")
    assert _slider_text(page, key) == {"thumb": "1,00", "ends": "0,00 4,00"}
    page.locator(f'.st-key-{key} input[type="range"]').first.focus()
    page.keyboard.press("ArrowRight")  # one step of 0.25
    page.wait_for_function("() => new URL(location.href).searchParams.get('pw_noise') === '1.25'")
    wait_for_app(page)
    page.wait_for_function("""() => document.querySelector('.st-key-pw_noise [data-testid="stSliderThumbValue"]')
                              .textContent === '1,25'""")
    screenshot(page, "language-slider-ro")
    page.locator('[data-testid="stSidebar"]').get_by_text("English", exact=True).click()
    wait_for_app(page)
    page.wait_for_function("""() => document.querySelector('.st-key-pw_noise [data-testid="stSliderThumbValue"]')
                              .textContent === '1.25'""")
    assert _slider_text(page, key) == {"thumb": "1.25", "ends": "0.00 4.00"}
    assert new_url_value(page, key) == "1.25"


def new_url_value(page, key: str) -> str | None:
    return page.evaluate("key => new URL(location.href).searchParams.get(key)", key)


def _type_in_cell(page, row: int, col: int, text: str) -> None:
    """Type ``text`` into a cell of the page's first editable grid (its index column is the first third)."""
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    width = box["width"] / 3  # the index and two columns, equally wide
    x, y = box["x"] + width * (col + 1.5), box["y"] + 35 * (row + 1.5)
    # open the cell's editor first and type into it: a key pressed on a merely selected cell opens the editor
    # itself, and on a busy machine the first character can be lost on the way ("2,5" arrived as ",5")
    page.mouse.dblclick(x, y)
    editor = page.locator("textarea.gdg-input, input.gdg-input").first
    editor.wait_for(timeout=15_000)
    editor.fill(text)
    page.keyboard.press("Enter")
    wait_for_app(page)


def test_a_romanian_grid_takes_a_decimal_comma_and_a_typo_loses_nothing(app_server, browser_page):
    page = browser_page
    page.goto(page_url(app_server, "nearest_bed_of_nails", "ro"))
    wait_for_app(page)
    _type_in_cell(page, 0, 1, "2,5")
    page.wait_for_function("() => new URL(location.href).searchParams.get('nb_grid') === '[[1.0,2.5],[3.0,4.0]]'")
    _type_in_cell(page, 1, 0, "trei")
    warning = lessons.texts("common", "ro")("grid_unreadable_cells", n=1)
    page.wait_for_function("t => document.body.innerText.includes(t)", arg=warning)
    assert new_url_value(page, "nb_grid") == "[[1.0,2.5],[3.0,4.0]]"  # the typo changed nothing
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "language-grid-ro")
