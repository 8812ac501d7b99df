"""The "Your images" pages with an uploaded photo, models trained in the app, weights files and a GPU failure."""
import io
import os

import numpy as np
import pytest
import torch
from PIL import Image

from core import lessons, models
from core.data.streets import make_street
from core.training.loop import TrainConfig, checkpoint_meta
from core.zoo import semantic, weights
from core.zoo.checkpoints import checkpoint_bytes
from tests.conftest import page_text, run_page

SMALL_SEGMENT = {"sp_side": 64}  # the network sees 64 pixels on the short side: quick on a CPU
SMALL_DETECT = {"in_side": 160, "in_proposals": 50, "in_max": 3}
SMALL_POSE = {"pp_side": 160, "pp_proposals": 50, "pp_max": 2, "pp_boxes": "whole"}


pytestmark = pytest.mark.usefixtures("one_thread")


def _png(h: int = 90, w: int = 120) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(make_street(9, (h, w))[0]).save(buf, format="PNG")
    return buf.getvalue()


def _upload(at, key: str, data: bytes, name: str = "photo.png"):
    at.file_uploader(key=key).set_value((name, data, "image/png")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _text(at) -> str:
    """What the page shows, image captions included."""
    return page_text(at) + "\n" + "\n".join(c for im in at.get("image") for c in im.captions)


def _words(slug, lang):
    return lessons.texts(slug, lang), lessons.texts("photo_common", lang)


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_segment_an_uploaded_photo(lang):
    at = run_page("segment_photo", lang, state={**SMALL_SEGMENT, "sp_source": "upload"})
    _upload(at, "sp_upload", _png(90, 120))
    T, _ = _words("segment_photo", lang)
    text = _text(at)
    assert T("photo_caption", h=90, w=120) in text
    net = lessons.texts("arch_common", lang).table("models")["unet"]
    unet = T("model_shipped", net=net)  # nothing cached here: the shipped U-Net
    assert T("result_title", model=unet) in text
    assert T("input_size", h=64, w=85) in text
    assert len(at.get("download_button")) == 3


def test_a_file_that_is_not_an_image_gets_a_sentence():
    at = run_page("segment_photo", "en", state={**SMALL_SEGMENT, "sp_source": "upload"})
    _upload(at, "sp_upload", b"this is not a picture", name="notes.png")
    W = lessons.texts("photo_common", "en")
    assert any(e.value.startswith(W("bad_image", reason="").split("{")[0][:20]) for e in at.error)
    assert lessons.texts("segment_photo", "en")("photo_caption", h=270, w=360) in _text(at)  # the sample instead


def _app_model() -> bytes:
    cfg = TrainConfig(model="fcn8s", size=32)
    torch.manual_seed(0)
    net = models.build("fcn8s", num_classes=cfg.num_classes)
    return checkpoint_bytes(net, {**checkpoint_meta(cfg, None), "name": "fcn8s #1"})


def test_a_model_trained_in_the_app_compared_with_torchvision():
    at = run_page("segment_photo", "ro", state={
        **SMALL_SEGMENT, "trained_models": {"fcn8s #1": _app_model()}, "sp_model": "app:fcn8s #1",
        "sp_compare": True, "sp_model_b": "tv:lraspp_mobilenet_v3_large"})
    assert not at.exception, [e.value for e in at.exception]
    T, _ = _words("segment_photo", "ro")
    text = _text(at)
    assert T("result_title", model=T("model_app", name="fcn8s #1")) in text
    assert T("app_side_note", side=32, model="fcn8s") in text
    assert T("compare_title") in text
    labels = [m.label for m in at.metric]
    assert T("agree_miou") in labels and T("agree_pixels") in labels
    shared = next(m for m in at.metric if m.label == T("agree_shared"))
    assert shared.value == "2"  # background and person: the street classes VOC also has


def test_an_uploaded_app_checkpoint_joins_the_list():
    at = run_page("segment_photo", "en", state=SMALL_SEGMENT)
    at.file_uploader(key="sp_app_upload").set_value(("street.safetensors", _app_model(), "application/octet-stream"))
    at.run()
    at.selectbox(key="sp_model").set_value("app:street.safetensors").run()
    assert not at.exception, [e.value for e in at.exception]
    T, _ = _words("segment_photo", "en")
    assert T("result_title", model=T("model_upload", name="street.safetensors")) in _text(at)


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_uploaded_checkpoints_stop_at_the_session_limit_and_the_student_picks_what_goes(lang):
    from core import limits

    C = lessons.texts("common", lang)
    T, _ = _words("segment_photo", lang)
    at = run_page("segment_photo", lang, state=SMALL_SEGMENT)
    data = _app_model()
    for k in range(limits.UPLOADED_CHECKPOINTS + 1):
        at.file_uploader(key="sp_app_upload").set_value((f"m{k}.safetensors", data, "application/octet-stream"))
        at.run()
    assert not at.exception
    kept = at.session_state["sp_app_models"]
    assert list(kept) == [f"m{k}.safetensors" for k in range(limits.UPLOADED_CHECKPOINTS)]  # the last one waits
    full = C("limit_full", n=limits.UPLOADED_CHECKPOINTS, what=T("uploads_what"))
    assert any(w.value == full for w in at.warning)
    at.selectbox(key="sp_app_kept_pick").set_value("m0.safetensors")
    at.button(key="sp_app_kept_remove").click().run()
    assert not at.exception
    assert "m0.safetensors" not in at.session_state["sp_app_models"]
    at.run()  # the upload still in its box joins the list now that there is room
    assert f"m{limits.UPLOADED_CHECKPOINTS}.safetensors" in at.session_state["sp_app_models"]
    assert not any(w.value == full for w in at.warning)


def test_a_checkpoint_too_large_is_refused_with_a_sentence():
    from core import limits

    T, _ = _words("segment_photo", "ro")
    at = run_page("segment_photo", "ro", state=SMALL_SEGMENT)
    big = b"\0" * (limits.CHECKPOINT_MB * 2**20 + 1)
    at.file_uploader(key="sp_app_upload").set_value(("huge.safetensors", big, "application/octet-stream")).run()
    assert not at.exception and "huge.safetensors" not in at.session_state["sp_app_models"]
    assert any(e.value == T("app_upload_too_big", mb=len(big) / 2**20, limit=limits.CHECKPOINT_MB) for e in at.error)


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_weights_files_given_by_path(tmp_path):
    good = tmp_path / "good"
    good.mkdir()
    torch.manual_seed(1)
    net = semantic.build_torchvision("lraspp_mobilenet_v3_large")
    name = weights.weights_enum("lraspp_mobilenet_v3_large").url.rsplit("/", 1)[1]
    torch.save(net.state_dict(), good / name)
    lraspp = {**SMALL_SEGMENT, "sp_model": "tv:lraspp_mobilenet_v3_large"}
    at = run_page("segment_photo", "en", state={**lraspp, "sp_a_wpath": str(good)})
    assert not at.exception, [e.value for e in at.exception]
    T, W = _words("segment_photo", "en")
    assert any(W("weights_from_file", what=T("model_lraspp_mobilenet_v3_large"), file=name) == s.value
               for s in at.success)
    assert T("source_tv_file", model=T("model_lraspp_mobilenet_v3_large"), file=name) in [s.value for s in at.success]
    assert not any(T("source_random", model=T("model_lraspp_mobilenet_v3_large")) == w.value for w in at.warning)

    marker = tmp_path / "it_ran"
    evil = tmp_path / "evil.pth"
    torch.save({"weight": torch.zeros(1), "x": _RunsCode(marker)}, evil)
    at = run_page("segment_photo", "en", state={**lraspp, "sp_a_wpath": str(evil)})
    assert not at.exception, [e.value for e in at.exception]
    assert any("posix.system" in e.value or "os.system" in e.value for e in at.error)
    assert not marker.exists()
    assert any(T("source_random", model=T("model_lraspp_mobilenet_v3_large")) == w.value for w in at.warning)

    at = run_page("segment_photo", "en", state={**lraspp, "sp_a_wpath": str(tmp_path / "absent.pth")})
    assert any(W("weights_path_missing", path=str(tmp_path / "absent.pth")) == w.value for w in at.warning)


def test_gpu_out_of_memory_is_explained(monkeypatch):
    def too_big(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(semantic, "predict", too_big)
    state = {"sp_side": 96, "sp_model": "tv:lraspp_mobilenet_v3_large"}  # a size no other test caches
    at = run_page("segment_photo", "en", state=state)
    assert not at.exception, [e.value for e in at.exception]
    W = lessons.texts("photo_common", "en")
    assert any(W("oom") == e.value for e in at.error)
    at.button(key="yi_oom_photo_semantic_prediction").click().run()
    assert at.session_state["yi_cpu"] is True  # the next runs use the CPU (this machine has no GPU anyway)


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_instances_of_an_uploaded_photo(lang):
    at = run_page("instances", lang, state={**SMALL_DETECT, "in_source": "upload", "in_fpn_view": "channel",
                                            "in_channel": 7, "in_wmode": "random"})  # no weights here: chosen
    _upload(at, "in_upload", _png(96, 128))
    T, W = _words("instances", lang)
    text = _text(at)
    assert T("photo_caption", h=96, w=128) in text and T("fpn_title") in text
    assert any(W("untrained", model=T("model_name")) in w.value for w in at.warning)
    captions = [c for c in text.split("\n") if "stride" in c or "pas " in c]
    assert captions  # the five pyramid levels are labelled
    assert len(at.get("download_button")) == 2


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_pose_of_an_uploaded_photo(lang):
    at = run_page("pose_photo", lang, state={**SMALL_POSE, "pp_source": "upload", "pp_decode": "argmax",
                                             "pp_k_wmode": "random", "pp_h_wmode": "random"})  # no weights: chosen
    _upload(at, "pp_upload", _png(120, 90))
    T, W = _words("pose_photo", lang)
    text = _text(at)
    assert T("photo_caption", h=120, w=90) in text
    assert T("hrnet_title") in text and T("crop_caption", h=256, w=192) in text
    assert any(W("untrained", model=T("hrnet_name")) == w.value for w in at.warning)
    df = at.dataframe[-1].value
    assert len(df) == 2  # a timings row for each network


def test_pose_with_mmpose_weights_from_a_folder(tmp_path):
    net = models.build("pose_hrnet_w32", num_classes=17)
    state = {(f"keypoint_head.{k}" if k.startswith("final_layer") else f"backbone.{k}"): v
             for k, v in net.state_dict().items()}
    torch.save({"state_dict": state, "meta": {"epoch": 210}}, tmp_path / "hrnet_w32_coco_256x192-c78dce93_20200708.pth")
    at = run_page("pose_photo", "en", state={**SMALL_POSE, "pp_h_wpath": str(tmp_path)})
    assert not at.exception, [e.value for e in at.exception]
    T, W = _words("pose_photo", "en")
    assert T("dialect_mmpose") in _text(at)
    assert not any(W("untrained", model=T("hrnet_name")) == w.value for w in at.warning)
    assert np.isfinite(at.dataframe[-1].value.iloc[:, 1:].to_numpy(dtype=float)).all()


def test_instances_page_cuts_an_app_models_mask_into_regions():
    at = run_page("instances", "en", state={**SMALL_DETECT, "trained_models": {"fcn8s #1": _app_model()}})
    assert not at.exception, [e.value for e in at.exception]
    T = lessons.texts("instances", "en")
    assert T("regions_title") in page_text(at)
    assert any(c.endswith(T("regions_caption", n=0, model="fcn8s #1")[1:]) for im in at.get("image")
               for c in im.captions)


def test_every_sample_picture_is_drawn():
    from app_pages.ui import images

    for name in images.PHOTOS.samples + images.PICTURES.samples:
        picture = images._SAMPLES[name]()
        assert picture.dtype == np.uint8 and picture.ndim == 3 and picture.shape[2] == 3, name
