"""An offline lecture hall: a page load asks nothing of the internet, and the start page's own address works."""
from urllib.parse import urlparse

import pytest

from app_pages.ui.manifest import all_pages
from core import lessons
from tests.conftest import page_url, screenshot, wait_for_app

pytestmark = pytest.mark.browser
LOCAL = {"127.0.0.1", "localhost"}


def _leaving(requests: list[str]) -> list[str]:
    """The requests that would go to another machine (data: and blob: URLs stay in the browser)."""
    return [u for u in requests if urlparse(u).scheme in ("http", "https", "ws", "wss")
            and urlparse(u).hostname not in LOCAL]


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
@pytest.mark.parametrize("slug", ["start", "bilinear", "segment_photo", "sam"])
def test_a_page_load_fetches_nothing_from_the_internet(app_server, browser_page, slug, lang):
    requests: list[str] = []
    browser_page.on("request", lambda r: requests.append(r.url))
    browser_page.on("websocket", lambda ws: requests.append(ws.url))
    browser_page.goto(page_url(app_server, slug, lang))
    wait_for_app(browser_page)
    browser_page.wait_for_load_state("networkidle")
    assert any(urlparse(u).hostname in LOCAL for u in requests)  # the page did load from the app
    assert _leaving(requests) == [], _leaving(requests)
    # the page icons of the menu are drawn from the font that ships with the app, not left as words
    icon = browser_page.locator('[data-testid="stSidebarNav"] [data-testid="stIconMaterial"]').first
    assert icon.count() == 1
    assert browser_page.evaluate(
        "() => [...document.fonts].some(f => f.family.includes('Material Symbols') && f.status === 'loaded')")
    icon_url = browser_page.evaluate("() => document.querySelector('link[rel*=icon]')?.href || ''")
    assert urlparse(icon_url).hostname in LOCAL, icon_url  # the tab's icon is the app's own file


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_the_start_page_opens_at_its_own_address(app_server, browser_page, lang):
    browser_page.goto(f"{app_server}/start?lang={lang}")
    wait_for_app(browser_page)
    assert browser_page.locator('[role="dialog"]').count() == 0  # no "Page not found"
    assert browser_page.locator("h1").first.inner_text().strip() == lessons.texts("start", lang).title
    assert lessons.texts("start", lang).title in browser_page.locator('[data-testid="stSidebarNav"]').inner_text()
    browser_page.wait_for_selector(".js-plotly-plot .main-svg")  # the hourglass figure is drawn
    screenshot(browser_page, f"start-address-{lang}")
    other = next(p.slug for p in all_pages() if p.slug != "start")
    browser_page.locator('[data-testid="stSidebarNav"]').get_by_text(lessons.texts(other, lang).title).click()
    browser_page.wait_for_url(f"**/{other}**")
    wait_for_app(browser_page)
    assert browser_page.locator("h1").first.inner_text().strip() == lessons.texts(other, lang).title
