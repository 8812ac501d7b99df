"""A real Chromium on "Get ready for class": the catalogue, one model downloaded from a local hub, its outcome.

The app runs in its own Streamlit server whose environment points at a model hub this test starts on
127.0.0.1 (``HF_ENDPOINT``) and at empty caches (``TORCH_HOME``, ``HF_HOME``), so the button runs the real
download code end to end.
"""
import os

import pytest

from core import lessons
from core.promptable import tiny
from core.zoo import weights
from tests.conftest import require_browser, screenshot, start_server, stop_server, wait_for_app
from tests.local_servers import Repo, model_hub  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


@pytest.fixture
def served_app(model_hub, tmp_path, monkeypatch):
    """A Streamlit server for this test alone, online to ``model_hub`` only, with empty caches."""
    require_browser()
    model, processor = tiny.sam()
    folder = tmp_path / "tiny_sam"
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    model_hub.repos[weights.spec("slimsam_77").repo] = Repo.from_folder(folder)
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_CACHE", weights.MIRROR_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", model_hub.url)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    proc, base = start_server()  # it takes this test's environment
    yield base, tmp_path
    stop_server(proc)
    assert not os.environ.get("HF_HUB_OFFLINE")


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_download_one_model_from_the_page(served_app, browser_page, lang):
    base, tmp_path = served_app
    page = browser_page
    T = lessons.texts("get_ready", lang)
    page.goto(f"{base}/get_ready?lang={lang}")
    wait_for_app(page)
    page.get_by_text(T("table_title")).wait_for()
    page.locator('[data-testid="stDataFrame"]').wait_for()
    screenshot(page, f"get_ready-{lang}")
    page.get_by_text(T("one_title")).click()
    page.locator(".st-key-gr_fetch_slimsam_77").get_by_role("button", name=T("download_one")).click()
    label = weights.spec("slimsam_77").label
    page.locator('[data-testid="stAlert"]').filter(has_text=label).wait_for(timeout=120_000)
    wait_for_app(page)
    assert weights.hub_cached(weights.spec("slimsam_77"), tmp_path / "hf" / "hub") is not None
    page.locator(".st-key-gr_fetch_slimsam_77").wait_for(state="detached")  # cached now: no button left
    screenshot(page, f"get_ready-downloaded-{lang}")
