"""The lecture content added for issue 15 in a real Chromium, both languages: the sliding classifier on the
full-resolution page, SegNet's densifying convolution, the transposed convolution's channels and learned
kernel (trained by its button), and the pose pages' check-yourself block. Screenshots in tests/artifacts."""
import pytest

from core import lessons
from tests.conftest import (
    no_exception,
    page_url,
    screenshot,
    wait_for_app,
    wait_for_text,
)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_sliding_classifier_and_segnet_densify(app_server, browser_page, lang):
    page = browser_page
    T = lessons.texts("full_resolution", lang)
    page.goto(page_url(app_server, "full_resolution", lang))
    wait_for_app(page, timeout_ms=120_000)
    wait_for_text(page, T("sw_title"), 60_000)
    wait_for_text(page, T("sw_macs_head"), 60_000)
    no_exception(page)
    screenshot(page, f"extras-full_resolution-{lang}")

    T = lessons.texts("segnet", lang)
    page.goto(page_url(app_server, "segnet", lang))
    wait_for_app(page)
    wait_for_text(page, T("walk_weights_shipped"), 60_000)
    no_exception(page)
    screenshot(page, f"extras-segnet-{lang}")


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_transposed_channels_and_learned_kernel(app_server, browser_page, lang):
    page = browser_page
    T = lessons.texts("transposed_extra", lang)
    page.goto(page_url(app_server, "transposed_convolution", lang) + "&tcx_cin=3&tcx_cout=2&tcx_steps=300")
    wait_for_app(page)
    wait_for_text(page, T("ch_title"), 60_000)
    wait_for_text(page, T("ln_untrained", steps=300), 60_000)
    button = page.get_by_role("button", name=T("ln_train", steps=300))
    button.scroll_into_view_if_needed()
    button.click()
    wait_for_text(page, T.data["ui"]["ln_done"].split("{")[0], 60_000)
    wait_for_app(page)
    wait_for_text(page, T("ln_after_many", step=300), 60_000)
    no_exception(page)
    screenshot(page, f"extras-transposed-{lang}")


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
@pytest.mark.parametrize("slug", ["pose_heatmaps", "pose_train", "pose_hrnet_vs_hourglass"])
def test_pose_pages_check_yourself(app_server, browser_page, lang, slug):
    page = browser_page
    page.goto(page_url(app_server, slug, lang))
    wait_for_app(page)
    wait_for_text(page, lessons.texts("common", lang)("quiz_title"), 60_000)
    no_exception(page)
    if slug == "pose_heatmaps":
        screenshot(page, f"extras-{slug}-{lang}")
