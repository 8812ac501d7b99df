"""Scribble strokes are outlined (a white halo around a dark edge under the class colour), so they stay
visible on any picture: read back from the canvas the browser drew."""
import pytest

from app_pages.ui.components import STROKE_OUTLINE
from core import lessons
from tests.conftest import page_url, screenshot, wait_for_app

pytestmark = pytest.mark.browser

# The canvas's own pixels: how many are (nearly) the stroke colour, the dark edge and the white halo.
_COUNT = """(c, colours) => {
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  const counts = colours.map(() => 0);
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] < 250) continue;  // only opaque pixels: the strokes, not the picture under the canvas
    colours.forEach(([r, g, b], k) => {
      if (Math.abs(d[i] - r) + Math.abs(d[i + 1] - g) + Math.abs(d[i + 2] - b) < 24) counts[k]++;
    });
  }
  return counts;
}"""


def _rgb(hex_colour: str) -> list[int]:
    return [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_a_painted_stroke_has_its_colour_inside_a_dark_edge_and_a_white_halo(app_server, browser_page, lang):
    T = lessons.texts("scribbles", lang)
    page = browser_page
    page.goto(page_url(app_server, "scribbles", lang) + "&sc_brush=9")
    wait_for_app(page)
    canvas = page.locator(".ss-paint canvas")
    canvas.wait_for()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.15, box["y"] + box["height"] * 0.5)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.85, box["y"] + box["height"] * 0.55, steps=10)
    page.mouse.up()
    wait_for_app(page)
    stroke = [230, 57, 70]  # the first class's colour on the scribbles page
    colour, edge, halo = canvas.evaluate(_COUNT, [stroke, _rgb(STROKE_OUTLINE["edge"]), _rgb(STROKE_OUTLINE["halo"])])
    assert colour > 500  # the stroke itself
    assert edge > 200 and halo > 200  # both rims along its whole length
    assert page.locator('[data-testid="stException"]').count() == 0
    assert T("paint_hint", name=T("class_0"))[:20] in page.inner_text("body")
    screenshot(page, f"scribbles-outlined-stroke-{lang}")
