"""Presentation mode on a projector: every page, both languages, at 1280×720 (and the densest at 1920×1080).

A teacher projects the app with presentation mode on (``?present=1`` in the address). On every page of the
manifest this test fails when a piece of text does not fit its box: a title or heading, a metric's label
or value, a tab list (tabs hidden behind a scroll arrow), a button, a label of the sidebar's navigation
(``scrollWidth > clientWidth``: the text is cut or ellipsised); or when two text labels of one plotly chart
overlap (annotations, the numbers in cells, tick labels, titles: compared by the boxes of their SVG text
nodes), or a chart's text runs out of its chart. One Streamlit server, one browser tab per window size and
language, each page opened by its address; a screenshot of each page goes to tests/artifacts/.
"""
from __future__ import annotations

import pytest

from app_pages.ui.manifest import SECTIONS, all_pages
from core import lessons
from tests.conftest import page_url, screenshot, wait_for_app

pytestmark = pytest.mark.browser

SMALL, LARGE = (1280, 720), (1920, 1080)
# The densest pages, also at 1920×1080; with the address of their most crowded state where the default is not.
DENSE = {
    "bilinear": "",
    "pixelwise_classification": "",
    "transposed_convolution": "tc_i=8&tc_k=5&tc_s=4&tc_op=3&tc_d=3",
    "architecture_explorer": "",
}

SIDEBAR_LABEL = "sidebar label"
# Text elements that must not be cut: the selector and what the failure calls it.
BOXES = [
    (('[data-testid="stMainBlockContainer"] h1, [data-testid="stMainBlockContainer"] h2, '
     '[data-testid="stMainBlockContainer"] h3'), "heading"),
    ('[data-testid="stMetricLabel"] *, [data-testid="stMetricValue"], [data-testid="stMetricValue"] *', "metric"),
    ('[data-testid="stTabs"] [role="tablist"]', "tab list"),
    ('[data-testid="stButtonGroup"] > div', "segmented control"),
    (('[data-testid="stBaseButton-secondary"], [data-testid="stBaseButton-primary"], '
     '[data-testid="stBaseButton-secondary"] p, [data-testid="stBaseButton-primary"] p'), "button"),
    # the link too: a label that wraps in its own box can still run past the link and the sidebar's edge
    (('[data-testid="stSidebarNavLink"], [data-testid="stSidebarNavLink"] span, '
     '[data-testid="stSidebarNavLink"] .stMarkdownEllipsis, [data-testid="stSidebarNavSeparator"] *, '
     '[data-testid="stNavSectionHeader"]'), SIDEBAR_LABEL),
    ('[data-testid="stWidgetLabel"] p', "widget label"),
]

OVERFLOWS = """(boxes) => {
  const out = [];
  // a row of tabs that does not fit hides its last tabs behind a scroll arrow (its own box does not overflow)
  for (const arrow of document.querySelectorAll('[data-testid^="stTabsScroll"]')) {
    if (arrow.offsetParent && !arrow.closest('[data-stale="true"]'))
      out.push(`tab list "${arrow.dataset.testid}": a scroll arrow hides the tabs past it`);
  }
  for (const list of document.querySelectorAll('[data-testid="stTabs"] [role="tablist"]')) {
    if (list.closest('[data-stale="true"]') || !list.offsetParent) continue;
    const box = list.parentElement.getBoundingClientRect();
    for (const tab of list.querySelectorAll('[role="tab"]')) {
      const r = tab.getBoundingClientRect();
      if (r.right > box.right + 1 || r.left < box.left - 1)
        out.push(`tab "${tab.innerText.trim().slice(0, 40)}": outside its row (${Math.round(r.left)}–`
                 + `${Math.round(r.right)} px in ${Math.round(box.left)}–${Math.round(box.right)} px)`);
    }
  }
  for (const [sel, what] of boxes) {
    for (const el of document.querySelectorAll(sel)) {
      if (el.closest('[data-stale="true"]') || !el.offsetParent) continue;   // old copies, hidden elements
      // a label that wraps breaks between words, never inside one ("Conti|nuă", "obiectelo|r"); a file name may
      // break where the page allows it (a zero-width space after its underscores)
      const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (const m of node.textContent.matchAll(/[^\\s\\-–—\\/\\u200b]+/g)) {
          const range = document.createRange();
          range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
          const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
          if (lines.size > 1)
            out.push(`${what} "${el.innerText.trim().slice(0, 60)}": the word "${m[0]}" is split over two lines`);
        }
      }
      const cs = getComputedStyle(el);
      if (cs.display === 'inline') continue;   // an inline box has no width of its own to overflow
      if (el.scrollWidth > el.clientWidth + 1)
        out.push(`${what} "${el.innerText.trim().slice(0, 60)}": ${el.scrollWidth} px in ${el.clientWidth} px`);
    }
  }
  return out;
}"""

# Every text node of every chart: the annotations, the text in cells and on bars, tick labels, titles and
# legend entries. Two of them overlap when their boxes share more than 2 px of height and are less than
# 2 px apart across ("1.251.75" reads as one number); a text also fails when
# it sticks out of its chart (the title cut at the edge). Tick labels plotly itself hides are left out.
OVERLAPS = """() => {
  const out = [];
  const charts = [...document.querySelectorAll('.js-plotly-plot')].filter(
      gd => !gd.closest('[data-stale="true"]') && gd.offsetParent);
  charts.forEach((gd, n) => {
    const frame = gd.getBoundingClientRect();
    const texts = [...gd.querySelectorAll('svg.main-svg text')].filter(t => {
      if (!t.textContent.trim()) return false;
      const cs = getComputedStyle(t);
      if (cs.display === 'none' || cs.visibility === 'hidden' || cs.opacity === '0') return false;
      for (let e = t; e && e !== gd; e = e.parentElement) {
        const s = getComputedStyle(e);
        if (s.display === 'none' || s.opacity === '0') return false;
      }
      if (t.closest('.slider-container, .updatemenu-container, .rangeslider-container, .modebar')) return false;
      const r = t.getBoundingClientRect();
      return r.width > 0 && r.height > 0;
    }).map(t => ({t, r: t.getBoundingClientRect(), s: t.textContent.trim().slice(0, 40)}));
    const title = (gd.querySelector('.gtitle')?.textContent || '').slice(0, 40);
    for (const a of texts) {
      if (a.r.left < frame.left - 1 || a.r.right > frame.right + 1 || a.r.top < frame.top - 1
          || a.r.bottom > frame.bottom + 1)
        out.push(`chart ${n} "${title}": "${a.s}" runs out of the chart`);
    }
    for (let i = 0; i < texts.length; i++) {
      for (let j = i + 1; j < texts.length; j++) {
        const a = texts[i].r, b = texts[j].r;
        const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (w > -2 && h > 2) {   // overlapping, or closer than 2 px side by side: read as one word
          if (texts[i].t.contains(texts[j].t) || texts[j].t.contains(texts[i].t)) continue;
          out.push(`chart ${n} "${title}": "${texts[i].s}" overlaps "${texts[j].s}"`);
        }
      }
    }
  });
  return out;
}"""


@pytest.fixture(scope="module")
def tabs(browser):
    """One tab per (window size, language), reused for every page of the module."""
    opened = {}

    def tab(size, lang):
        if (size, lang) not in opened:
            context = browser.new_context(viewport={"width": size[0], "height": size[1]})
            opened[size, lang] = (context, context.new_page())
        return opened[size, lang][1]

    yield tab
    for context, _ in opened.values():
        context.close()


def _open(page, base: str, slug: str, lang: str, extra: str = "") -> None:
    page.goto(page_url(base, slug, lang) + "&present=1" + (f"&{extra}" if extra else ""))
    wait_for_app(page, timeout_ms=120_000)
    # presentation mode came from the address, and every chart has been laid out
    page.wait_for_function("() => parseFloat(getComputedStyle(document.documentElement).fontSize) > 16")
    page.wait_for_function(
        """() => [...document.querySelectorAll('.js-plotly-plot')].every(gd => gd._fullLayout)""",
        timeout=60_000)
    page.evaluate("() => document.fonts.ready")


def _check(page, name: str) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, f"{name}: the page raised"
    problems = page.evaluate(OVERFLOWS, BOXES) + page.evaluate(OVERLAPS)
    screenshot(page, name)
    # a crowded chart fails with dozens of pairs: say the first few of each kind and how many there are
    shown: dict[str, list[str]] = {}
    for p in problems:
        shown.setdefault(p.split('"')[0] + p.split('"')[1], []).append(p)
    lines = [m for group in shown.values() for m in group[:4]
             + ([f"   … and {len(group) - 4} more like these"] if len(group) > 4 else [])]
    assert not problems, f"{name}: {len(problems)} problems\n" + "\n".join(lines)


def _cases(slugs, dense: bool):
    for slug in slugs:
        for lang in lessons.LANGUAGES:
            yield pytest.param(slug, lang, id=f"{slug}-{lang}" + ("-1080p" if dense else ""))


@pytest.mark.parametrize(("slug", "lang"), list(_cases([p.slug for p in all_pages()], dense=False)))
def test_page_fits_1280x720(app_server, tabs, slug, lang):
    page = tabs(SMALL, lang)
    _open(page, app_server, slug, lang)
    _check(page, f"present-720-{slug}-{lang}")


@pytest.mark.parametrize(("slug", "lang"), list(_cases(DENSE, dense=True)))
def test_dense_page_fits_1920x1080(app_server, tabs, slug, lang):
    page = tabs(LARGE, lang)
    _open(page, app_server, slug, lang, DENSE[slug])
    _check(page, f"present-1080-{slug}-{lang}")


# Step-throughs in their most crowded states: the largest grids (4 × 4 scaled 4 times: 16 × 16 cells in a third
# of the page), and max unpooling half-way through its routes (the pooled maps complete, the unpooled one not).
CROWDED_STEPS = {
    "nearest_bed_of_nails": "nb_rows=4&nb_cols=4&nb_scale=4&nb_step=37",
    "max_unpooling": "mu_step=6",
}


@pytest.mark.parametrize("slug", CROWDED_STEPS)
@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_crowded_step_through_fits_1280x720(app_server, tabs, slug, lang):
    page = tabs(SMALL, lang)
    _open(page, app_server, slug, lang, CROWDED_STEPS[slug])
    _check(page, f"present-720-{slug}-crowded-{lang}")


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_crowded_transposed_convolution_fits_1280x720(app_server, tabs, lang):
    page = tabs(SMALL, lang)
    _open(page, app_server, "transposed_convolution", lang, DENSE["transposed_convolution"])
    _check(page, f"present-720-transposed_convolution-crowded-{lang}")


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_sidebar_labels_fit_a_laptop(app_server, tabs, lang):
    """Without presentation mode too (1400×900), every label of the navigation is whole inside the sidebar:
    the long ones wrap ("After the lecture: SegFormer and Mask2Former") instead of ending in an ellipsis."""
    page = tabs((1400, 900), lang)
    page.goto(page_url(app_server, "bilinear", lang))
    wait_for_app(page)
    # the page's charts come after the app's own styles: once they are laid out, the whole run has been drawn
    page.wait_for_function("() => { const gds = [...document.querySelectorAll('.js-plotly-plot')];"
                           " return gds.length > 0 && gds.every(gd => gd._fullLayout); }", timeout=60_000)
    labels = page.locator('[data-testid="stSidebarNavLink"]')
    assert labels.count() == len(all_pages())
    assert page.evaluate(OVERFLOWS, [box for box in BOXES if box[1] == SIDEBAR_LABEL]) == []
    # and each label's text ends inside the sidebar (the rightmost of its characters, as drawn)
    past_edge = page.evaluate("""() => {
      const edge = document.querySelector('[data-testid="stSidebarContent"]').getBoundingClientRect().right;
      return [...document.querySelectorAll('[data-testid="stSidebarNavLink"]')].filter(a => {
        const r = document.createRange(); r.selectNodeContents(a);
        return r.getBoundingClientRect().right > edge - 4; }).map(a => a.innerText); }""")
    assert past_edge == []
    screenshot(page, f"laptop-1400-sidebar-{lang}")


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
@pytest.mark.parametrize("size", [(1400, 900), (1280, 720)], ids=["1400x900", "1280x720"])
def test_start_cards_show_whole_page_names_on_a_laptop(app_server, tabs, lang, size):
    """Without presentation mode, the Start page's section cards give every page's name whole: a long one wraps
    inside its card instead of ending in an ellipsis or running past the card's edge."""
    page = tabs(size, lang)
    page.goto(page_url(app_server, "start", lang))
    wait_for_app(page)
    links = page.locator('[data-testid="stMainBlockContainer"] [data-testid="stPageLink-NavLink"]')
    links.first.wait_for(timeout=60_000)
    assert links.count() == sum(len(s.pages) for s in SECTIONS if s.key != "start")  # a card per section
    cut = page.evaluate("""() => [...document.querySelectorAll(
        '[data-testid="stMainBlockContainer"] [data-testid="stPageLink-NavLink"]')].flatMap(a => {
      const card = a.closest('[data-testid="stVerticalBlockBorderWrapper"], [data-testid="stVerticalBlock"]');
      const edge = card.getBoundingClientRect().right;
      const r = document.createRange(); r.selectNodeContents(a);
      const spans = [a, ...a.querySelectorAll('span, p')];
      const over = spans.some(e => getComputedStyle(e).display !== 'inline' && e.scrollWidth > e.clientWidth + 1);
      return over || r.getBoundingClientRect().right > edge + 1 ? [a.innerText.trim()] : []; })""")
    assert cut == []
    screenshot(page, f"laptop-{size[0]}-start-{lang}")


def test_presentation_mode_is_kept_in_the_address(app_server, browser_page):
    """The sidebar's toggle writes ?present=1; a reload (F5) keeps presentation mode; off removes it."""
    page = browser_page
    page.goto(page_url(app_server, "bilinear", "en"))
    wait_for_app(page)
    assert "present=" not in page.url
    toggle = page.locator('[data-testid="stSidebar"] [data-testid="stCheckbox"]').first
    toggle.click()
    page.wait_for_url("**present=1**")
    page.reload()
    wait_for_app(page)
    page.wait_for_function("() => parseFloat(getComputedStyle(document.documentElement).fontSize) > 16")
    assert page.locator('[data-testid="stSidebar"] [role="checkbox"], [data-testid="stSidebar"] input'
                        '[type="checkbox"]').first.is_checked()
    page.locator('[data-testid="stSidebar"] [data-testid="stCheckbox"]').first.click()
    page.wait_for_function("() => !location.search.includes('present=')")
    page.wait_for_function("() => parseFloat(getComputedStyle(document.documentElement).fontSize) <= 16")
