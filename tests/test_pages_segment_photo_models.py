"""“Segment your photo” opens on the best model present and says which it is; SegFormer and Mask2Former join it.

Every test starts with empty caches (a temporary ``TORCH_HOME`` and Hugging Face cache, the hub switched off),
then puts into them what it needs: tiny SegFormer / Mask2Former checkpoints written by the test.
"""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core import lessons
from core.zoo import semantic
from core.zoo.checkpoints import read_header, shipped_checkpoints
from tests.conftest import ROOT, page_text
from tests.hub_models import cache_model, empty_caches  # noqa: F401 (an autouse fixture)

SMALL = {"sp_side": 64}
UNET = "unet-streets.safetensors"


def run(lang: str = "en", state: dict | None = None, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["lang"] = lang
    for key, value in {**SMALL, **(state or {})}.items():
        at.session_state[key] = value
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page("app_pages/segment_photo.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def words(lang: str):
    return lessons.texts("segment_photo", lang)


def alerts(at) -> list[str]:
    return [a.value for kind in ("success", "info", "warning", "error") for a in getattr(at, kind)]


def unet(T, lang: str) -> str:
    """The picker's name of the shipped U-Net, in the page's words."""
    return T("model_shipped", net=lessons.texts("arch_common", lang).table("models")["unet"])


def shipped_line(T, lang: str) -> str:
    header = read_header(shipped_checkpoints()[UNET])
    net = lessons.texts("arch_common", lang).table("models")["unet"]
    return T("source_shipped", net=net, file=UNET, miou=semantic.app_miou(header))


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_nothing_cached_opens_on_the_shipped_unet_and_says_so(lang):
    at = run(lang)
    T = words(lang)
    assert at.selectbox(key="sp_model").value == f"app:{UNET}"
    assert shipped_line(T, lang) in [s.value for s in at.success]
    text = page_text(at)
    assert T("result_title", model=unet(T, lang)) in text
    assert T.md("random") not in text and T.md("maps_random") not in text  # prose for random weights only
    assert T("model_app", name=UNET) not in text  # shipped, not "trained here"


def test_a_cached_segformer_is_where_the_page_opens(empty_caches):
    cache_model("segformer_b0", empty_caches / "hub", empty_caches)
    at = run("en")
    T = words("en")
    assert at.selectbox(key="sp_model").value == "hf:segformer_b0"
    name = T("model_segformer_b0")
    assert T("source_hf_cache", model=name) in [s.value for s in at.success]
    text = page_text(at)
    assert T("result_title", model=name) in text
    assert T("input_size", h=64, w=85) in text  # the photo (270×360) seen at a 64-pixel short side
    legend = "\n".join(m.value for m in at.markdown)
    assert any(T.table("classes")[c] in legend for c in ("wall", "building", "sky", "road", "person", "car"))


def test_the_choice_in_the_address_wins(empty_caches):
    cache_model("segformer_b0", empty_caches / "hub", empty_caches)
    at = run("ro", query={"sp_model": "tv:lraspp_mobilenet_v3_large"})
    T = words("ro")
    assert at.selectbox(key="sp_model").value == "tv:lraspp_mobilenet_v3_large"
    name = T("model_lraspp_mobilenet_v3_large")
    assert T("source_random", model=name) in [w.value for w in at.warning]
    text = page_text(at)
    assert T("result_title_random", model=name) in text  # an untrained result says so in its title
    assert T.md("random") in text and T.md("maps_random") in text


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_segformer_without_weights_shows_how_to_get_them_and_no_mask(lang):
    at = run(lang, state={"sp_model": "hf:segformer_b0"})
    T = words(lang)
    seg = T("model_segformer_b0")
    shown = alerts(at)
    assert any(T("hub_fallback", model=unet(T, lang)) in a and
               "hf download nvidia/segformer-b0-finetuned-ade-512-512" in a for a in shown)
    text = page_text(at)
    assert T("result_title", model=seg) not in text and T("result_title_random", model=seg) not in text
    assert T("result_title", model=unet(T, lang)) in text  # the best model present instead
    assert shipped_line(T, lang) in [s.value for s in at.success]
    assert at.button(key="sp_a_download")  # the one-click download (disabled here: the hub is off)
    assert T("not_here") in at.selectbox(key="sp_model").format_func("hf:segformer_b0")


def test_mask2former_against_segformer_on_one_photo(empty_caches):
    cache_model("segformer_b0", empty_caches / "hub", empty_caches)
    cache_model("mask2former_swin_t", empty_caches / "hub", empty_caches, seed=1)
    at = run("en", state={"sp_model": "hf:mask2former_swin_t", "sp_compare": True, "sp_model_b": "hf:segformer_b0"})
    T = words("en")
    successes = [s.value for s in at.success]
    for key in ("mask2former_swin_t", "segformer_b0"):
        assert T("source_hf_cache", model=T(f"model_{key}")) in successes
    text = page_text(at)
    assert T("compare_title") in text and T("result_title", model=T("model_mask2former_swin_t")) in text
    assert T("input_size", h=64, w=96) in text  # Mask2Former's sides are rounded to multiples of 32
    shared = next(m for m in at.metric if m.label == T("agree_shared"))
    assert shared.value == "6"  # the two tiny checkpoints share their six ADE20K class names


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_the_weights_folder_field_says_file_missing_folder_or_missing_files(tmp_path, lang):
    """What a student types into SegFormer's folder field is judged as what it is: a file is not a folder, a path
    that does not exist is no folder at all, and an empty folder lacks files named in the page's language."""
    a_file = tmp_path / "x.pt"
    a_file.write_bytes(b"\0" * 16)
    absent = tmp_path / "nonexistent" / "dir"
    empty = tmp_path / "empty"
    empty.mkdir()
    W = lessons.texts("sam_common", lang)
    either = f" {W('files_or')} "
    expected = {
        a_file: W("folder_is_file", path=str(a_file)),
        absent: W("folder_absent", path=str(absent)),
        empty: W("weights_bad_folder", missing=", ".join(
            ["config.json", either.join(["preprocessor_config.json", "processor_config.json"]), "*.safetensors"])),
    }
    for typed, sentence in expected.items():
        at = run(lang, state={"sp_model": "hf:segformer_b0", "sp_a_folder": str(typed)})
        errors = [e.value for e in at.error]
        assert sentence in errors, errors
        assert not any(f"{typed}," in e or e.endswith(f"{typed}.") for e in errors if e != sentence)
        if lang == "ro":
            assert not any(" or " in e for e in errors), errors  # the Romanian "sau", not the English "or"
