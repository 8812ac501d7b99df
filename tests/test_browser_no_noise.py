"""Without weights, the SAM page in a real browser shows its "no weights yet" state and no mask.

A server of its own, with empty Hugging Face and torch caches and the hub switched off, so what the page
shows does not depend on what this machine happens to have cached.
"""
import re

import pytest

from core import lessons
from core.zoo import weights
from tests.conftest import (
    page_url,
    require_browser,
    screenshot,
    start_server,
    stop_server,
    wait_for_app,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory):
    require_browser()
    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("caches")
    mp.setenv("HF_HOME", str(home / "hf"))
    mp.setenv("HF_HUB_CACHE", str(home / "hf" / "hub"))
    mp.setenv("TORCH_HOME", str(home / "torch"))
    mp.setenv("HF_HUB_OFFLINE", "1")
    try:
        proc, base = start_server()
    finally:
        mp.undo()
    yield base
    stop_server(proc)


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_sam_without_weights_shows_the_state_not_a_mask(empty_server, browser_page, lang):
    from playwright.sync_api import expect

    W = lessons.texts("sam_common", lang)
    spec = weights.spec("sam_vit_b")
    page = browser_page
    page.goto(page_url(empty_server, "sam", lang))
    wait_for_app(page, 120_000)
    main = page.locator('[data-testid="stMainBlockContainer"]')
    expect(main.get_by_text(W("no_weights_title", label=spec.label))).to_be_visible(timeout=60_000)
    button = page.get_by_role("button", name=re.compile(re.escape(W("no_weights_button", label=spec.label,
                                                                    mb=spec.download_mb))))
    expect(button).to_have_count(1)  # one download button, visible
    expect(button).to_be_visible()
    expect(main.get_by_text("hf download facebook/sam-vit-base").last).to_be_visible()  # (the first: in a closed expander)
    assert page.locator(".ss-click img").count() == 0  # no picture to click, so no mask drawn on one
    text = main.inner_text()
    assert W("candidates") not in text and "Traceback" not in text
    screenshot(page, f"sam-no-weights-{lang}")

    page.get_by_text(W("untrained_toggle"), exact=True).click()  # the explicit choice: the untrained pipeline
    wait_for_app(page, 120_000)
    expect(main.get_by_text(W("untrained_prefix") + W("candidates"))).to_be_visible(timeout=120_000)
    expect(page.locator(".ss-click img")).to_have_count(1, timeout=60_000)
    assert "sam_untrained=true" in page.url.lower()  # the choice is kept in the address, language-free
    screenshot(page, f"sam-untrained-{lang}")
