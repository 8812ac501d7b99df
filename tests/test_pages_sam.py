"""The Segment Anything pages in AppTest, in both languages, with widgets away from their defaults.

No weights exist here (``HF_HUB_OFFLINE=1`` and an empty Hugging Face cache), so these tests turn on each
page's explicit choice of the untrained pipeline (``<prefix>_untrained``) and run it on the tiny random models;
tests/test_pages_best_model.py checks the "no weights yet" state a page shows without that choice.
"""
from __future__ import annotations

import json

import pytest

from core import lessons
from core.zoo import weights
from tests.conftest import page_text, run_page

LANGS = lessons.LANGUAGES


@pytest.fixture(autouse=True)
def offline_and_empty_cache(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))


def words(slug: str, lang: str):
    return lessons.texts(slug, lang)


def errors(at):
    return [e.value for e in at.exception]


UNTRAINED = {"sam_untrained": True}


@pytest.mark.parametrize("lang", LANGS)
def test_sam_page_says_what_is_missing_and_segments_with_the_tiny_model(lang):
    at = run_page("sam", lang, state=UNTRAINED)
    assert not errors(at)
    W = words("sam_common", lang)
    assert "hf download facebook/sam-vit-base" in [c.value for c in at.code]
    assert W("untrained_banner", kind="SAM") in [w.value for w in at.warning]
    text = page_text(at)
    assert W("candidates") in text  # the sample starts with one click, so masks are shown at once
    assert W("prompt_count", points=1, negatives=0, box=W("no")) in text


def test_sam_page_prompts_undo_and_clear():
    at = run_page("sam", "en", state=UNTRAINED)
    W = words("sam_common", "en")
    items = at.session_state["sam_prompts"]["items"]
    items += [{"kind": "point", "x": 400.0, "y": 60.0, "label": 0},
              {"kind": "box", "x0": 40.0, "y0": 150.0, "x1": 300.0, "y1": 360.0}]
    at.session_state["sam_multimask"] = False
    at.run()
    assert not errors(at)
    text = page_text(at)
    assert W("prompt_count", points=1, negatives=1, box=W("yes")) in text
    assert W("last_box", x0=40, y0=150, x1=300, y1=360) in text
    assert W("single_caption") in text  # one mask when the three candidates are switched off
    at.button(key="sam_undo").click().run()
    assert W("prompt_count", points=1, negatives=1, box=W("no")) in page_text(at)
    at.button(key="sam_clear").click().run()
    assert not errors(at)
    assert W("no_prompt") in page_text(at)


def test_sam_prompts_travel_in_the_link():
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["sam_p"] = '[["p",400,60,0],["b",40,150,300,360]]'
    at.session_state["sam_untrained"] = True
    at.switch_page("app_pages/sam.py")
    at.run()
    assert not errors(at)
    W = words("sam_common", "en")
    assert W("prompt_count", points=0, negatives=1, box=W("yes")) in page_text(at)
    at.button(key="sam_undo").click().run()
    assert at.query_params["sam_p"] in ('[["p",400,60,0]]', ['[["p",400,60,0]]'])
    at.button(key="sam_clear").click().run()
    assert "sam_p" not in at.query_params


@pytest.mark.parametrize("lang", LANGS)
def test_sam_page_segments_everything(lang):
    at = run_page("sam", lang, state={"sam_mode": "everything", "sam_grid": 4, "sam_iou": 0.0, "sam_stab": 0.0,
                                      **UNTRAINED})
    assert not errors(at)
    W = words("sam_common", lang)
    assert W("everything_first") in page_text(at)
    at.button(key="sam_everything_run").click().run()
    assert not errors(at)
    assert [m.label for m in at.metric][:1] == [W("segments")]
    assert int(at.metric[0].value) >= 1
    assert "16" in page_text(at)  # 16 point prompts in the funnel


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("arch", ["sam_full", "sam2_full", "live"])
def test_how_sam_works_each_architecture(lang, arch):
    at = run_page("how_sam_works", lang, state={"hsw_arch": arch, "hsw_untrained": True})
    assert not errors(at)
    T = words("how_sam_works", lang)
    labels = [m.label for m in at.metric]
    assert T("flops_encoder") in labels and T("flops_ratio") in labels
    if arch == "live":
        assert T("t_encoder") in labels and T("pca_title") in page_text(at)
    else:
        assert T("meta_caption") in page_text(at)
        ratio = float("".join(ch for ch in at.metric[labels.index(T("flops_ratio"))].value.split("×")[0] if ch.isdigit()))
        assert ratio > 50  # the published encoders cost far more than a click


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.slow
def test_sam2_video_prompt_propagate_correct(lang):
    at = run_page("sam2_video", lang, state={"sv_untrained": True})
    assert not errors(at)
    T = words("sam2_video", lang)
    assert T("anchors_one", frame=0) in page_text(at)  # the sample clip starts with a click on the ball
    assert "hf download facebook/sam2.1-hiera-tiny" in [c.value for c in at.code]
    at.button(key="sv_propagate").click().run()
    assert not errors(at)
    text = page_text(at)
    assert T("propagated") in text and T("per_frame_title") in text and T("as_video") in text
    # the player keeps the size of the frame clicked on above it, whatever its column's width
    clicked = [json.loads(c.proto.json) for c in at.get("bidi_component") if c.proto.id.endswith("-sv_click")]
    videos = at.get("video")
    if videos:  # an mp4 player where the machine can encode one; a still strip otherwise
        assert [v.proto.width_config.pixel_width for v in videos] == [clicked[0]["width"]] == [640]
    tracker = at.session_state["sv_tracker"]
    assert sorted(tracker.masks) == list(range(16))  # the sample keeps 16 frames
    from core.promptable.segment import Point

    tracker.add(9, 1, Point(200, 190, 0))  # a correction on a later frame, as a click would add it
    at.run()
    assert T("anchors", frames="0, 9") in page_text(at) and T("not_propagated") in page_text(at)
    at.button(key="sv_propagate").click().run()
    assert T("propagated") in page_text(at)


@pytest.mark.parametrize("lang", LANGS)
def test_sam2_image_mode(lang):
    at = run_page("sam2_video", lang, state={"sv_mode": "image", "s2_sample": "animals", "s2_untrained": True})
    assert not errors(at)
    assert words("sam_common", lang)("candidates") in page_text(at)


@pytest.mark.parametrize("lang", LANGS)
def test_grounded_sam_text_to_boxes_to_masks(lang):
    at = run_page("grounded_sam", lang, state={"gs_text": "Horse. Sky.", "gs_box": 0.2, "gs_tok": 0.1,
                                               "gs_untrained": True})
    assert not errors(at)
    T = words("grounded_sam", lang)
    text = page_text(at)
    assert T("boxes_title") in text and T("masks_title") in text and T("sam3_title") in text
    table = at.dataframe[0].value
    assert set(table[T("col_phrase")]) <= {"horse", "sky"} and len(table) > 0
    W = words("sam_common", lang)
    for spec in ("gdino_tiny", "sam_vit_b", "sam3"):  # each missing model keeps its way to the weights
        assert W("no_weights_title", label=weights.spec(spec).label) in text


def test_grounded_sam_without_phrases_or_sam3():
    at = run_page("grounded_sam", "en", state={"gs_text": " . ", "gs_sam3": False, "gs_untrained": True})
    assert not errors(at)
    assert words("grounded_sam", "en")("no_phrases") in [w.value for w in at.warning]
    at.session_state["gs_text"] = "horse."
    at.session_state["gs_box"] = 1.0  # nothing can pass
    at.run()
    T = words("grounded_sam", "en")
    assert T("nothing_found") in page_text(at) and T("sam3_title") not in page_text(at)


def test_a_wrong_weights_folder_is_explained_and_the_page_still_runs(tmp_path):
    W = words("sam_common", "en")
    at = run_page("sam", "en", state={"sam_folder": str(tmp_path)})  # an empty folder
    assert not errors(at)
    warning = "\n".join(w.value for w in at.warning)
    assert W("weights_bad_folder", missing="config.json, preprocessor_config.json or processor_config.json, "
                                           "*.safetensors") in warning
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "sam"}')
    (broken / "processor_config.json").write_text("{}")
    (broken / "model.safetensors").write_bytes(b"not tensors")
    at = run_page("sam", "en", state={"sam_folder": str(broken)})
    assert not errors(at)
    assert any(W("load_failed", label="SAM ViT-B", reason="").split("(")[0] in e.value for e in at.error)
    assert W("no_weights_title", label="SAM ViT-B") in page_text(at)  # no mask from a model that did not load
    assert W("candidates") not in page_text(at)
