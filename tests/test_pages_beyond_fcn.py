"""“After the lecture”: the lesson in both languages, SegFormer's decoder measured on the live module, Mask2Former's
queries counted on one, and the one-click link to FCN against SegFormer on “Segment your photo”."""
from __future__ import annotations

import pytest

from core import lessons
from core.zoo import universal
from tests.conftest import page_text, run_page
from tests.hub_models import LABELS, cache_model, empty_caches  # noqa: F401 (an autouse fixture)


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_the_lesson_and_the_live_numbers_without_weights(lang):
    at = run_page("beyond_fcn", lang, state={"bf_side": 96})
    assert not at.exception, [e.value for e in at.exception]
    T = lessons.texts("beyond_fcn", lang)
    text = page_text(at)
    for section in ("changed", "stayed", "segformer", "mask2former", "compare", "summary"):
        assert T.md(section).splitlines()[0] in text
    info = [i.value for i in at.info]
    assert T("live_architecture", label="SegFormer-B0 (ADE20K)") in info  # said: not the published weights
    assert T("queries_small", label="Mask2Former Swin-T (ADE20K)") in info
    shown = metrics(at)
    # SegFormer-B0's layout: stages of 32, 64, 160, 256 channels, four 256-wide projections fused back to 256
    assert shown[T("fuse_metric")] == T("fuse_value", cin=1024, cout=256)
    assert shown[T("scores_metric")] == f"150×{universal.stage_side(96, 1)}×{universal.stage_side(128, 1)}"
    assert shown[T("queries_metric")] == "100"
    assert shown[T("class_logits_metric")] == "100×151"
    table = at.dataframe[0].value
    assert list(table[T("col_stride")]) == [4, 8, 16, 32]
    assert list(table[T("col_encoder")]) == [f"{c}×{universal.stage_side(96, i)}×{universal.stage_side(128, i)}"
                                             for i, c in enumerate((32, 64, 160, 256), start=1)]
    link = at.get("page_link")[0]
    assert link.value == T("compare_link")
    assert "sp_model_b=hf%3Asegformer_b0" in link.proto.query_string or \
        "sp_model_b=hf:segformer_b0" in link.proto.query_string


def test_a_cached_segformer_is_measured_itself(empty_caches):
    cache_model("segformer_b0", empty_caches / "hub", empty_caches)
    at = run_page("beyond_fcn", "en", state={"bf_side": 64})
    assert not at.exception, [e.value for e in at.exception]
    T = lessons.texts("beyond_fcn", "en")
    assert T("live_pretrained", label="SegFormer-B0 (ADE20K)") in [s.value for s in at.success]
    model, _ = universal.tiny_segformer(LABELS)
    d = model.config.decoder_hidden_size
    shown = metrics(at)
    assert shown[T("fuse_metric")] == T("fuse_value", cin=4 * d, cout=d)  # the cached (tiny) model's own widths
    assert shown[T("scores_metric")] == f"{len(LABELS)}×16×22"


def test_the_input_size_is_kept_in_the_address():
    at = run_page("beyond_fcn", "en", state={"bf_side": 160})
    assert at.query_params.get("bf_side") in ("160", ["160"])
    assert at.slider(key="bf_side").value == 160
