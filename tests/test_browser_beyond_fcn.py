"""In Chromium: “After the lecture” draws SegFormer's decoder, and its link opens “Segment your photo” with FCN
against SegFormer; “Segment your photo” opens on the shipped U-Net and says so. Screenshots in both languages."""
import pytest

from core import lessons
from core.zoo import semantic
from core.zoo.checkpoints import read_header, shipped_checkpoints
from tests.conftest import screenshot, wait_for_app

pytestmark = pytest.mark.browser

UNET = "unet-streets.safetensors"


def unet_name(lang: str) -> str:
    return lessons.texts("arch_common", lang).table("models")["unet"]


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_segment_photo_opens_on_the_shipped_unet(app_server, browser_page, lang):
    page = browser_page
    page.goto(f"{app_server}/segment_photo?lang={lang}&sp_side=64")
    wait_for_app(page, timeout_ms=120_000)
    T = lessons.texts("segment_photo", lang)
    net = lessons.texts("arch_common", lang).table("models")["unet"]
    line = T("source_shipped", net=net, file=UNET, miou=semantic.app_miou(read_header(shipped_checkpoints()[UNET])))
    page.get_by_text(line).wait_for(timeout=60_000)
    page.get_by_text(T("result_title", model=T("model_shipped", net=unet_name(lang)))).wait_for(timeout=60_000)
    page.locator(".ss-click img").wait_for(timeout=60_000)
    screenshot(page, f"segment_photo-default-{lang}")


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_after_the_lecture_and_its_link_to_fcn_against_segformer(app_server, browser_page, lang):
    page = browser_page
    page.goto(f"{app_server}/beyond_fcn?lang={lang}&bf_side=128")
    wait_for_app(page, timeout_ms=120_000)
    T = lessons.texts("beyond_fcn", lang)
    page.locator(".st-key-bf_diagram .main-svg").first.wait_for(timeout=60_000)
    for box in ("stage4", "up4", "linear_fuse", "classifier"):  # boxes drawn from the live module
        page.locator(".st-key-bf_diagram").get_by_text(box, exact=True).first.wait_for(timeout=30_000)
    screenshot(page, f"beyond_fcn-{lang}")

    page.get_by_text(T("compare_link")).click()
    wait_for_app(page, timeout_ms=180_000)
    S = lessons.texts("segment_photo", lang)
    assert "sp_model_b=hf" in page.url and "sp_model=tv" in page.url
    page.get_by_text(S("result_title_random", model=S("model_fcn_resnet50"))).wait_for(timeout=120_000)
    # SegFormer has no weights here: the page says how to get them instead of drawing noise
    page.get_by_text(S("hub_fallback", model=S("model_shipped", net=unet_name(lang)))).wait_for(timeout=60_000)
    page.get_by_text(S("compare_title")).wait_for(timeout=60_000)
    screenshot(page, f"segment_photo-fcn-vs-segformer-{lang}")
