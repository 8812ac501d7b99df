"""The best model by default, and no untrained noise presented as a result (SAM family, instances, pose photo).

No network and no weights here (``HF_HUB_OFFLINE=1``, an empty Hugging Face cache, an empty torch cache):
every page shows its "no weights yet" state and draws no mask; the tiny or random models run only when
chosen, and then every figure title says "Untrained model — "; weights the test writes into the (temporary)
cache are found and the picker opens on them; a choice in the page address wins over that default.
"""
from __future__ import annotations

import json

import pytest
import torch

from core import lessons
from core.promptable import models as promptable
from core.zoo import weights
from tests.conftest import page_text, run_page

LANGS = lessons.LANGUAGES
SMALL_DETECT = {"in_side": 160, "in_proposals": 50, "in_max": 3}
SMALL_POSE = {"pp_side": 160, "pp_proposals": 50, "pp_max": 2, "pp_boxes": "whole"}


@pytest.fixture(autouse=True)
def no_weights_anywhere(tmp_path, monkeypatch):
    """Offline, with an empty Hugging Face cache and an empty torch cache, all in ``tmp_path``."""
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield tmp_path / "hub"
    torch.set_num_threads(old)


def put_in_hf_cache(hub, repo: str, loaded) -> None:
    """A tiny model saved where the hub keeps ``repo`` (refs/main names the snapshot), as a download leaves it."""
    repo_dir = hub / ("models--" + repo.replace("/", "--"))
    snapshot = repo_dir / "snapshots" / ("1" * 40)
    loaded.model.save_pretrained(snapshot)
    loaded.processor.save_pretrained(snapshot)
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text("1" * 40)


def ok(at):
    assert not at.exception, [e.value for e in at.exception]
    return at


def figure_titles(at) -> list[str]:
    return [json.loads(c.proto.spec).get("layout", {}).get("title", {}).get("text", "") for c in at.get("plotly_chart")]


def buttons(at) -> list[str]:
    return [b.key for b in at.button]


# --- the Segment Anything pages ------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGS)
def test_sam_without_weights_shows_the_no_weights_state_and_no_mask(lang):
    at = ok(run_page("sam", lang))
    W = lessons.texts("sam_common", lang)
    spec = weights.spec("sam_vit_b")  # nothing cached: the picker opens on the first of the preference order
    text = page_text(at)
    assert W("no_weights_title", label=spec.label) in text
    assert W("no_weights_body", label=spec.label, repo=spec.repo, mb=spec.download_mb) in text
    button = next(b for b in at.button if b.key == "sam_download")
    assert button.label == W("no_weights_button", label=spec.label, mb=spec.download_mb)
    assert "hf download facebook/sam-vit-base" in [c.value for c in at.code]
    assert W("candidates") not in text and W("t_encoder") not in [m.label for m in at.metric]
    assert "sam_prompts" not in at.session_state  # no model ran, so no prompt and no mask
    assert W("untrained_toggle") in [t.label for t in at.toggle]


@pytest.mark.parametrize("lang", LANGS)
def test_sam_untrained_pipeline_only_by_choice_and_labelled(lang):
    at = ok(run_page("sam", lang, state={"sam_untrained": True}))
    W = lessons.texts("sam_common", lang)
    assert W("untrained_banner", kind="SAM") in [w.value for w in at.warning]
    text = page_text(at)
    assert f"**{W('untrained_prefix')}{W('candidates')}**" in text
    assert W("untrained_prefix") + W("mask_area", share=0, pixels=0).split(" ")[0] in text
    assert any(c.value.startswith(W("untrained_line", label="SAM", n=0).split("(")[0]) for c in at.caption)
    thumbs = [c for im in at.get("image") for c in im.captions]
    assert thumbs and all(c == W("untrained_prefix").strip(" —") for c in thumbs)  # the three candidates


def test_sam_picker_opens_on_the_cached_model_and_the_address_wins(no_weights_anywhere):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    slim = weights.spec("slimsam_77")
    put_in_hf_cache(no_weights_anywhere, slim.repo, promptable.load_tiny("sam"))
    at = ok(run_page("sam", "en"))
    W = lessons.texts("sam_common", "en")
    assert at.selectbox(key="sam_model").value == "slimsam_77"  # SAM ViT-B is not cached: the next one that is
    line = next(c.value for c in at.caption if c.value.startswith(slim.label))
    assert line.startswith(W("weights_from_cache", label=slim.label, n=0).split("(")[0])
    assert W("candidates") in page_text(at) and W("untrained_prefix") not in page_text(at)
    assert "sam_download" not in buttons(at) and not at.warning

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["sam_model"] = "sam_vit_l"  # a shared link names another checkpoint: it wins
    at.switch_page("app_pages/sam.py")
    ok(at.run())
    assert at.selectbox(key="sam_model").value == "sam_vit_l"
    assert W("no_weights_title", label=weights.spec("sam_vit_l").label) in page_text(at)


@pytest.mark.parametrize("lang", LANGS)
def test_how_sam_works_live_without_weights_keeps_the_published_anatomy(lang):
    T, W = lessons.texts("how_sam_works", lang), lessons.texts("sam_common", lang)
    at = ok(run_page("how_sam_works", lang, state={"hsw_arch": "live"}))
    text = page_text(at)
    assert W("no_weights_title", label="SAM ViT-B") in text and "hsw_download" in buttons(at)
    assert T("meta_caption") in text and T("measured_title") not in text  # nothing measured on a model
    assert not any(t.startswith(W("untrained_prefix")) for t in figure_titles(at))

    at = ok(run_page("how_sam_works", lang, state={"hsw_arch": "live", "hsw_untrained": True}))
    titles = figure_titles(at)
    assert len(titles) == 3 and all(t.startswith(W("untrained_prefix")) for t in titles)
    assert W("untrained_prefix") + T("measured_title") in page_text(at)


@pytest.mark.parametrize("lang", LANGS)
def test_sam2_image_mode_without_weights_and_untrained(lang):
    W = lessons.texts("sam_common", lang)
    at = ok(run_page("sam2_video", lang, state={"sv_mode": "image"}))
    assert W("no_weights_title", label="SAM 2.1 Hiera tiny") in page_text(at) and "s2_download" in buttons(at)
    assert W("candidates") not in page_text(at)
    at = ok(run_page("sam2_video", lang, state={"sv_mode": "image", "s2_untrained": True}))
    assert f"**{W('untrained_prefix')}{W('candidates')}**" in page_text(at)


def test_sam2_video_without_weights_prepares_no_tracker():
    at = ok(run_page("sam2_video", "en"))
    W = lessons.texts("sam_common", "en")
    assert W("no_weights_title", label="SAM 2.1 Hiera tiny") in page_text(at)
    assert "sv_tracker" not in at.session_state and "sv_propagate" not in buttons(at)


@pytest.mark.parametrize("lang", LANGS)
def test_grounded_sam_without_weights_and_untrained(lang):
    T, W = lessons.texts("grounded_sam", lang), lessons.texts("sam_common", lang)
    at = ok(run_page("grounded_sam", lang, state={"gs_text": "Horse. Sky.", "gs_box": 0.2, "gs_tok": 0.1}))
    text = page_text(at)
    for key in ("gdino_tiny", "sam_vit_b"):
        assert W("no_weights_title", label=weights.spec(key).label) in text
    assert {"gsd_download", "gss_download"} <= set(buttons(at))
    assert T("boxes_title") not in text and T("masks_title") not in text and not at.dataframe
    at = ok(run_page("grounded_sam", lang, state={"gs_text": "Horse. Sky.", "gs_box": 0.2, "gs_tok": 0.1,
                                                  "gs_untrained": True}))
    text = page_text(at)
    assert W("untrained_prefix") + T("boxes_title") in text and W("untrained_prefix") + T("masks_title") in text
    kinds = ", ".join(W(f"kind_{k}") for k in ("grounding_dino", "sam", "sam3"))
    assert W("untrained_banner", kind=kinds) in [w.value for w in at.warning]


# --- instances and pose on a photo ----------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGS)
def test_instances_without_weights_shows_the_state_and_no_objects(lang):
    T, W = lessons.texts("instances", lang), lessons.texts("photo_common", lang)
    at = ok(run_page("instances", lang, state=SMALL_DETECT))
    text = page_text(at)
    assert W("no_weights_title", what=T("model_name")) in text and "in_download" in buttons(at)
    assert not at.get("plotly_chart") and T("fpn_title") not in text  # no boxes, no pyramid of a random network
    shipped = lessons.texts("instances", lang)("regions_shipped")
    assert any(shipped in c.value for c in at.caption)  # the shipped U-Net's regions say where it comes from


@pytest.mark.parametrize("lang", LANGS)
def test_instances_random_by_choice_labels_every_figure(lang):
    T, W = lessons.texts("instances", lang), lessons.texts("photo_common", lang)
    at = ok(run_page("instances", lang, state={**SMALL_DETECT, "in_wmode": "random"}))
    titles = figure_titles(at)
    assert titles and all(t.startswith(W("untrained_prefix")) for t in titles)
    assert W("source_line_random", what=T("model_name")) in [c.value for c in at.caption]
    assert W("untrained_prefix") + T("fpn_title") in page_text(at)


def test_instances_with_weights_in_torchs_cache(tmp_path):
    from core.zoo import instances

    url = weights.weights_enum("maskrcnn_resnet50_fpn_v2").url
    torch.manual_seed(0)
    net = instances.load_maskrcnn_v2(weights.random_weights("chosen")).net
    weights.hub_file(url).parent.mkdir(parents=True)
    torch.save(net.state_dict(), weights.hub_file(url))
    at = ok(run_page("instances", "en", state=SMALL_DETECT))
    T, W = lessons.texts("instances", "en"), lessons.texts("photo_common", "en")
    assert W("source_line_cache", what=T("model_name"), file=weights.file_name(url)) in [c.value for c in at.caption]
    assert "in_download" not in buttons(at)
    assert figure_titles(at) and not any(t.startswith(W("untrained_prefix")) for t in figure_titles(at))


@pytest.mark.parametrize("lang", LANGS)
def test_pose_photo_without_weights_and_random_by_choice(lang):
    T, W = lessons.texts("pose_photo", lang), lessons.texts("photo_common", lang)
    at = ok(run_page("pose_photo", lang, state=SMALL_POSE))
    text = page_text(at)
    assert W("no_weights_title", what=T("krcnn_name")) in text and W("no_weights_title", what=T("hrnet_name")) in text
    assert {"pp_k_download", "pp_h_download"} <= set(buttons(at)) and not at.get("plotly_chart")
    assert T("speed_title") not in text

    at = ok(run_page("pose_photo", lang, state={**SMALL_POSE, "pp_k_wmode": "random", "pp_h_wmode": "random"}))
    titles = figure_titles(at)
    assert len(titles) >= 2 and all(t.startswith(W("untrained_prefix")) for t in titles)


def _finished_pose_run():
    from core.models import pose as pose_nets
    from core.training import pose as pose_training
    from core.training.runs import BackgroundRun

    cfg = pose_training.pose_config(size=48, batch_size=4, steps=4, val_every=2, device="cpu")
    torch.manual_seed(0)
    model = pose_nets.build_pose_model("hrnet", budget="tiny")
    run = BackgroundRun(pose_training.train_pose(cfg, model, "hrnet", 2.0, 4), model, name="Run 1 · HRNet · 48 px",
                        cfg=cfg, kind="hrnet", sigma=2.0)
    run.wait_for(lambda snap: snap.status == "finished", timeout=120)
    assert run.done and run.snapshot().vals
    return run


def test_pose_photo_opens_on_the_network_trained_in_this_session():
    run = _finished_pose_run()
    at = ok(run_page("pose_photo", "en", state={**SMALL_POSE, "pt_history": [run]}))
    T, W = lessons.texts("pose_photo", "en"), lessons.texts("photo_common", "en")
    assert at.radio(key="pp_h_wmode").value == "session"  # no published file cached: the session's network
    assert W("source_line_session", what=T("hrnet_name"), name=run.name) in [c.value for c in at.caption]
    assert T("crop_caption", h=48, w=48) in [c for im in at.get("image") for c in im.captions]  # its square crops
    hrnet_titles = [t for t in figure_titles(at) if T("hrnet_fig") in t or "14" in t]
    assert hrnet_titles and not any(t.startswith(W("untrained_prefix")) for t in hrnet_titles)
