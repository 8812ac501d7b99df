"""A section prepared beside the page, in a real Chromium: the FPN page opens with our FPN drawn and a line
saying Mask R-CNN is being prepared, and the Mask R-CNN section then appears by itself (the page's own timed
check), with no click and no reload. A fresh server of this module's own: nothing is prepared yet."""
import pytest

from core import lessons
from tests.conftest import no_exception, page_url, screenshot, wait_for_app, wait_for_text

pytestmark = pytest.mark.browser


def test_mask_rcnn_appears_by_itself(app_server, browser_page):
    page = browser_page
    T, common = lessons.texts("fpn_mask_rcnn", "ro"), lessons.texts("common", "ro")
    page.goto(page_url(app_server, "fpn_mask_rcnn", "ro"))
    preparing = T("preparing", size=480)
    wait_for_text(page, preparing, 60_000)  # the first visit: the model is built and run beside the page
    body = page.locator("body").inner_text()
    assert common("preparing", what="", s="").split(":")[1].strip()[:20] in body  # it says what is happening
    assert "max |Δ| = 0" in body  # our FPN, checked against torchvision's, did not wait for it
    page.wait_for_function("t => !document.body.innerText.includes(t)", arg=preparing, timeout=120_000)
    wait_for_text(page, T("pyramid_head", h=480, w=640).split(".")[0].strip("*"), 30_000)  # the run's pyramid
    wait_for_app(page, 60_000)
    assert page.locator('[data-testid="stDataFrame"]').count() >= 1
    no_exception(page)
    screenshot(page, "prepared-fpn_mask_rcnn-ro")
