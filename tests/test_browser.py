"""A real Chromium against a real server: every page opens in both languages, deep links keep the app."""
import pytest

from app_pages.ui.manifest import all_pages
from core import lessons
from tests.conftest import (
    page_url,
    require_browser,
    screenshot,
    start_server,
    stop_server,
    wait_for_app,
)

pytestmark = pytest.mark.browser
PAGES = [p.slug for p in all_pages()]


def test_deep_link_on_a_fresh_server_has_navigation_and_sidebar(browser):
    require_browser()
    if len(PAGES) < 2:
        pytest.skip("only the start page is registered")
    slug = PAGES[-1]  # not the default page
    proc, base = start_server()
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{base}/{slug}?lang=ro")  # the very first request this server answers
        wait_for_app(page)
        assert page.locator('[data-testid="stSidebarNav"]').count() == 1
        nav_text = page.locator('[data-testid="stSidebarNav"]').inner_text()
        assert lessons.texts(slug, "ro").title in nav_text
        sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
        assert "Română" in sidebar and lessons.texts("common", "ro")("presentation") in sidebar
        assert page.locator("h1").first.inner_text().strip() == lessons.texts(slug, "ro").title
        page.close()
    finally:
        stop_server(proc)


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
@pytest.mark.parametrize("slug", PAGES)
def test_page_opens_without_error(app_server, browser_page, slug, lang):
    browser_page.goto(page_url(app_server, slug, lang))
    wait_for_app(browser_page)
    assert browser_page.locator('[data-testid="stException"]').count() == 0
    assert browser_page.locator("h1").first.inner_text().strip() == lessons.texts(slug, lang).title
    screenshot(browser_page, f"{slug}-{lang}")


def test_language_switch_survives_navigation(app_server, browser_page):
    browser_page.goto(page_url(app_server, "start"))
    wait_for_app(browser_page)
    browser_page.locator('[data-testid="stSidebar"]').get_by_text("Română").click()
    browser_page.wait_for_function(
        "() => document.querySelector('[data-testid=stSidebar]').innerText.includes('Dispozitiv')")
    assert "lang=ro" in browser_page.url
    target = PAGES[-1]
    if target == "start":
        return
    browser_page.locator('[data-testid="stSidebarNav"]').get_by_text(lessons.texts(target, "ro").title).click()
    browser_page.wait_for_url(f"**/{target}**")
    wait_for_app(browser_page)
    assert "Dispozitiv" in browser_page.locator('[data-testid="stSidebar"]').inner_text()
    assert browser_page.locator("h1").first.inner_text().strip() == lessons.texts(target, "ro").title


def test_presentation_mode_enlarges_text(app_server, browser_page):
    browser_page.goto(page_url(app_server, "start"))
    wait_for_app(browser_page)
    size = lambda: browser_page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    before = size()
    browser_page.locator('[data-testid="stSidebar"] [data-testid="stCheckbox"]').first.click()
    browser_page.wait_for_function(f"() => parseFloat(getComputedStyle(document.documentElement).fontSize) > {before}")
    assert size() > before
    screenshot(browser_page, "start-presentation")
