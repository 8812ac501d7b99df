"""core.zoo: where weights come from, how files are read (and refused), and every model family end to end.

No test touches the network: downloads go to a ``file://`` URL written here or to a closed local port,
and every model is built with ``weights=None, weights_backbone=None`` at a tiny input size.
"""
import hashlib
import io
import json
import os
import socket

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from core import models
from core.data.streets import make_street
from core.zoo import checkpoints, instances, pose, semantic, weights
from core.zoo.checkpoints import CheckpointError
from core.zoo.detection import LEVEL_STRIDES, max_side_for
from core.zoo.runtime import (
    Stopwatch,
    free_memory,
    is_out_of_memory,
    short_side_size,
    to_input,
)

RANDOM = weights.random_weights("not_cached")


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty torch hub cache for the test, moved the way a user moves it (``TORCH_HOME``), so nothing is
    pinned for the tests that run after it."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    yield tmp_path / "hub" / "checkpoints"


@pytest.fixture(scope="module")
def photo():
    return make_street(5, (48, 64))[0]  # (48, 64, 3) uint8


# --- resolution order ----------------------------------------------------------------------------------------------

URL = "https://example.invalid/models/tiny_net-0123abcd.pth"


def test_locate_follows_the_design_order(hub, tmp_path):
    assert weights.locate(URL) == weights.random_weights("not_cached")
    own = tmp_path / "mine" / "tiny_net-0123abcd.pth"
    own.parent.mkdir()
    own.write_bytes(b"x")
    found = weights.locate(URL, own.parent)  # a folder holding the published file name
    assert (found.kind, found.path) == ("file", own)
    assert weights.locate(URL, own).kind == "file"
    missing = weights.locate(URL, tmp_path / "nowhere")
    assert (missing.kind, missing.reason) == ("random", "local_missing")
    hub.mkdir(parents=True)
    (hub / "tiny_net-0123abcd.pth").write_bytes(b"y")
    assert weights.locate(URL, own).kind == "cache"  # the cache comes first
    nested = tmp_path / "copied" / "hub" / "checkpoints"
    nested.mkdir(parents=True)
    (nested / "other.pth").write_bytes(b"z")
    assert weights.locate(None, tmp_path / "copied" / "hub" / "checkpoints").path.name == "other.pth"
    up = weights.uploaded("a.pth", b"abc")
    assert up.kind == "upload" and up.digest == hashlib.sha1(b"abc").hexdigest() and up.pretrained
    assert not missing.pretrained and missing.key != up.key


def _published(tmp_path, payload: bytes, good: bool = True) -> str:
    digest = hashlib.sha256(payload).hexdigest()[:8] if good else "deadbeef"
    src = tmp_path / "server" / f"tiny_net-{digest}.pth"
    src.parent.mkdir(exist_ok=True)
    src.write_bytes(payload)
    return src.as_uri()


def test_download_in_chunks_with_progress_into_the_cache(hub, tmp_path):
    buffer = io.BytesIO()  # a real state dict: the download is read back with torch.load before it is kept
    torch.save({"w": torch.randn(75_000)}, buffer)
    payload = buffer.getvalue()
    url = _published(tmp_path, payload)
    seen = []
    path = weights.download(url, progress=lambda done, total: seen.append((done, total)), chunk=65_536)
    assert path.parent == hub and path.read_bytes() == payload
    assert seen[0] == (0, len(payload)) and seen[-1] == (len(payload), len(payload)) and len(seen) > 3
    assert weights.locate(url).kind == "cache"
    assert [p.name for p in hub.iterdir()] == [path.name]  # no partial file left behind


def test_download_fails_cleanly(hub, tmp_path):
    bad = _published(tmp_path, b"not the published bytes", good=False)
    with pytest.raises(weights.DownloadError) as err:
        weights.download(bad)
    assert err.value.code == "checksum"
    with socket.socket() as s:  # a port nobody listens on: what "offline" looks like
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(weights.DownloadError) as err:
        weights.download(f"http://127.0.0.1:{port}/tiny_net-0123abcd.pth", timeout=2)
    assert err.value.code == "offline"
    assert not any(hub.iterdir())


# --- reading files -------------------------------------------------------------------------------------------------

class _RunsCode:
    """A pickle that would run a shell command when loaded (if anything ever loaded it unsafely)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_state_dict_written_here_loads_strictly(tmp_path):
    net = models.build("pose_hrnet_w32", num_classes=17, paper=False)
    path = tmp_path / "net.pth"
    torch.save(net.state_dict(), path)
    again = pose.build_hrnet(checkpoints.read_state_dict(path), paper=False)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), again.state_dict().values()))
    wrapped = tmp_path / "wrapped.pth"  # DataParallel keys, inside a training checkpoint with a numpy number
    torch.save({"state_dict": {f"module.{k}": v for k, v in net.state_dict().items()},
                "meta": {"best": np.float64(0.75), "epoch": 3}}, wrapped)
    pose.build_hrnet(checkpoints.read_state_dict(wrapped), paper=False)


def test_safetensors_and_missing_and_garbage(tmp_path):
    net = models.build("pose_hrnet_w32", num_classes=17, paper=False)
    path = tmp_path / "net.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    assert checkpoints.read_state_dict(path).keys() == net.state_dict().keys()
    assert checkpoints.read_state_dict(path.read_bytes()).keys() == net.state_dict().keys()
    with pytest.raises(CheckpointError) as err:
        checkpoints.read_state_dict(tmp_path / "absent.pth")
    assert err.value.code == "missing" and err.value.params["path"].endswith("absent.pth")
    for junk in (b"GIF89a not weights at all", b"\x80\x02}q\x00."):
        with pytest.raises(CheckpointError) as err:
            checkpoints.read_state_dict(junk)
        assert err.value.code in ("unreadable", "empty")


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "it_ran"
    path = tmp_path / "evil.pth"
    torch.save({"weight": torch.zeros(2), "surprise": _RunsCode(marker)}, path)
    with pytest.raises(CheckpointError) as err:
        checkpoints.read_state_dict(path)
    assert err.value.code == "unsafe" and "system" in err.value.params["name"]
    assert not marker.exists()


def test_mismatch_is_counted_and_old_counters_are_filled():
    net = models.build("pose_hrnet_w32", num_classes=17, paper=False)
    state = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    checkpoints.load_into(models.build("pose_hrnet_w32", num_classes=17, paper=False), state)  # old file: fine
    state = dict(state)
    state.pop("conv1.weight")
    state["extra.bias"] = torch.zeros(1)
    state["final_layer.weight"] = torch.zeros(5, 8, 1, 1)
    with pytest.raises(CheckpointError) as err:
        checkpoints.load_into(net, state)
    assert err.value.code == "mismatch"
    assert (err.value.params["missing"], err.value.params["unexpected"], err.value.params["wrong_shape"]) == (1, 1, 1)


@pytest.mark.parametrize("head", ["keypoint_head", "head"])  # mmpose 0.x and 1.x
def test_mmpose_checkpoint_prefixes_are_stripped(tmp_path, head):
    net = models.build("pose_hrnet_w32", num_classes=17, paper=False)
    state = {(f"{head}.{k}" if k.startswith("final_layer") else f"backbone.{k}"): v
             for k, v in net.state_dict().items()}
    path = tmp_path / "hrnet_w32_coco_256x192-c78dce93_20200708.pth"
    torch.save({"meta": {"hook_msgs": {"best_score": np.float64(0.74)}}, "state_dict": state}, path)
    ref = weights.locate(pose.HRNET_URL, tmp_path, pose.HRNET_FILES)
    loaded = pose.load_hrnet(ref, paper=False)
    assert loaded.dialect == "mmpose" and ref.kind == "file"
    x = torch.randn(1, 3, 64, 48)
    with torch.no_grad():
        assert torch.allclose(loaded.net(x), net.eval()(x))


def test_app_checkpoints_rebuild_their_model(photo):
    from core.training.loop import TrainConfig, checkpoint_meta
    from core.zoo.checkpoints import checkpoint_bytes

    cfg = TrainConfig(model="fcn8s", size=32)
    net = models.build("fcn8s", num_classes=cfg.num_classes)
    data = checkpoint_bytes(net, checkpoint_meta(cfg, None))
    loaded = semantic.load_app("mine", data)
    assert loaded.classes == cfg.classes and loaded.default_side == 32 and loaded.palette.shape == (6, 3)
    pred = semantic.predict(loaded, photo, loaded.default_side)
    assert pred.probs.shape == (6, 48, 64) and np.allclose(pred.probs.sum(0), 1, atol=1e-4)
    with pytest.raises(CheckpointError) as err:
        checkpoints.app_header(b"\x00" * 64)
    assert err.value.code == "not_app"
    pose_cfg = TrainConfig(model="pose_hrnet_w32", model_kwargs={"paper": False})
    pose_net = models.build("pose_hrnet_w32", num_classes=17, paper=False)
    pose_bytes = checkpoint_bytes(pose_net, {**checkpoint_meta(pose_cfg, None), "classes": list(pose.KEYPOINT_NAMES)})
    with pytest.raises(CheckpointError) as err:
        semantic.load_app("pose", pose_bytes)
    assert err.value.code == "not_segmentation"
    hr = pose.load_hrnet(weights.uploaded("pose.safetensors", pose_bytes), data=pose_bytes)
    assert hr.dialect == "app"


# --- every family, random weights, tiny inputs -----------------------------------------------------------------

@pytest.mark.parametrize("name", list(semantic.TORCHVISION))
def test_torchvision_semantic_models_run(name, photo):
    model = semantic.load_torchvision(name, RANDOM)
    assert model.classes[0] == "__background__" and len(model.classes) == 21 and not model.weights.pretrained
    pred = semantic.predict(model, photo, short_side=64)
    assert pred.probs.shape == (21, 48, 64) and pred.input_size == (64, 85)
    assert np.allclose(pred.probs.sum(0), 1, atol=1e-4)
    assert set(pred.seconds) == {"preprocess", "forward", "postprocess"} and pred.device == "cpu"


def test_published_layout_loads_and_matches_torchvision(tmp_path, photo):
    from torchvision.models.segmentation import deeplabv3_mobilenet_v3_large

    torch.manual_seed(3)
    reference = deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=21, aux_loss=True).eval()
    path = tmp_path / weights.weights_enum("deeplabv3_mobilenet_v3_large").url.rsplit("/", 1)[1]
    torch.save(reference.state_dict(), path)  # the published file's layout: auxiliary head included
    model = semantic.load_torchvision("deeplabv3_mobilenet_v3_large", weights.locate(None, tmp_path))
    x = to_input(photo, 64, torch.device("cpu"))
    with torch.no_grad():
        theirs = reference(x)["out"]
        ours = model.net(x)["out"]
    assert torch.allclose(ours, theirs, atol=1e-5)
    assert model.weights.kind == "file"


def _reference_rcnn(builder, **kw):
    torch.manual_seed(0)
    net = builder(weights=None, weights_backbone=None, min_size=64, max_size=max_side_for(64), **kw).eval()
    net.rpn._post_nms_top_n = {"training": 2000, "testing": 40}  # the reference keeps what ours keeps
    net.roi_heads.detections_per_img = 3
    return net


def test_mask_rcnn_step_by_step_equals_torchvision(photo):
    from torchvision.models.detection import maskrcnn_resnet50_fpn_v2

    net = _reference_rcnn(maskrcnn_resnet50_fpn_v2, num_classes=91)
    model = instances.InstancesModel(net, tuple(weights.weights_enum("maskrcnn_resnet50_fpn_v2").meta["categories"]), RANDOM,
                                     torch.device("cpu"))
    ours = instances.segment_instances(model, photo, 64, score_threshold=0.05, max_detections=3, max_proposals=40)
    with torch.no_grad():
        theirs = net([torch.from_numpy(photo).permute(2, 0, 1).float() / 255])[0]
    assert len(ours.boxes) == len(theirs["boxes"]) > 0
    assert np.allclose(ours.boxes, theirs["boxes"].numpy(), atol=1e-3)
    assert np.array_equal(ours.labels, theirs["labels"].numpy())
    assert np.allclose(ours.masks.astype(np.float32), theirs["masks"][:, 0].numpy(), atol=2e-3)
    assert ours.masks.shape[1:] == (48, 64)
    assert list(ours.levels) == list(LEVEL_STRIDES) and all(v.shape[0] == 256 for v in ours.levels.values())
    assert ours.levels["0"].shape[1:] == (16, 22)  # the 64×85 input at stride 4, padding cropped off
    over = instances.instance_overlay(photo, ours.masks.astype(np.float32), 0.5)
    assert over.shape == photo.shape and over.dtype == np.uint8


def test_keypoint_rcnn_step_by_step_equals_torchvision(photo):
    from torchvision.models.detection import keypointrcnn_resnet50_fpn

    net = _reference_rcnn(keypointrcnn_resnet50_fpn, num_classes=2, num_keypoints=17)
    model = pose.KeypointModel(net, RANDOM, torch.device("cpu"))
    ours = pose.keypoint_rcnn(model, photo, 64, score_threshold=0.05, max_people=3, max_proposals=40)
    with torch.no_grad():
        theirs = net([torch.from_numpy(photo).permute(2, 0, 1).float() / 255])[0]
    assert len(ours.boxes) == len(theirs["boxes"]) > 0
    assert np.allclose(ours.keypoints, theirs["keypoints"][..., :2].numpy(), atol=1e-3)
    assert np.allclose(ours.keypoint_scores, theirs["keypoints_scores"].numpy(), atol=1e-3)
    assert ours.heatmaps.shape == (len(ours.boxes), 17, 56, 56)
    probs = pose.spatial_softmax(ours.heatmaps)
    assert np.allclose(probs.reshape(len(probs), 17, -1).sum(-1), 1, atol=1e-5)
    pasted = pose.paste_into_photo(probs[0], ours.boxes[0], photo.shape[:2])
    assert pasted.shape == (48, 64) and pasted.max() > 0


def test_keypoint_rcnn_loads_files_without_batchnorm_counters():
    """torchvision's Keypoint R-CNN file was saved with frozen BatchNorm: no num_batches_tracked buffers."""
    kp = pose.build_keypointrcnn()
    state = {k: v for k, v in kp.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert len(state) < len(kp.state_dict())
    checkpoints.load_into(kp, state)
    buf = io.BytesIO()
    torch.save({"w": torch.zeros(3)}, buf)
    with pytest.raises(CheckpointError) as err:  # an upload of the wrong file is a sentence, not a traceback
        pose.load_keypointrcnn(weights.uploaded("k.pth", buf.getvalue()), data=buf.getvalue())
    assert err.value.code == "mismatch"


def test_person_crop_maps_back_to_the_photo():
    image = np.zeros((120, 90, 3), np.uint8)
    image[70, 40] = 255  # one bright pixel at x=40, y=70
    crop, window = pose.person_crop(image, (30, 40, 60, 110), size=(64, 48))
    assert crop.shape == (64, 48, 3)
    x0, y0, x1, y1 = window.box
    assert (x1 - x0) / (y1 - y0) == pytest.approx(48 / 64)  # the window has the input's 3:4 shape
    assert (y1 - y0) == pytest.approx(70 * pose.HRNET_PADDING)  # the box's 70-pixel height, enlarged by 25 %
    cy, cx = np.unravel_index(crop[..., 0].argmax(), crop.shape[:2])
    back = window.to_photo(np.array([cx, cy], dtype=np.float32))
    assert np.abs(back - np.array([40, 70])).max() <= window.scale  # within one crop pixel


def test_top_down_hrnet_small_and_full(photo):
    small = pose.HRNetModel(pose.build_hrnet(paper=False), RANDOM, torch.device("cpu"))
    boxes = np.array([[5, 5, 30, 45], [30, 2, 60, 46]], np.float32)
    td = pose.top_down(small, photo, boxes, input_size=(64, 48))
    assert td.crops.shape == (2, 64, 48, 3) and td.heatmaps.shape == (2, 17, 16, 12)
    assert td.keypoints.shape == (2, 17, 2) and td.confidence.shape == (2, 17)
    for points, window in zip(td.keypoints, td.windows):  # every decoded point lies in its crop window
        x0, y0, x1, y1 = window.box
        cell = 4 * window.scale  # sub-pixel refinement may step up to one heatmap cell past the edge
        assert (points[:, 0] >= x0 - cell).all() and (points[:, 0] <= x1 + cell).all()
        assert (points[:, 1] >= y0 - cell).all() and (points[:, 1] <= y1 + cell).all()
    empty = pose.top_down(small, photo, np.zeros((0, 4)), input_size=(64, 48))
    assert empty.keypoints.shape == (0, 17, 2)
    full = pose.HRNetModel(pose.build_hrnet(), RANDOM, torch.device("cpu"))  # the official W32, once
    one = pose.top_down(full, photo, pose.whole_image_box(photo), input_size=(64, 48))
    assert one.heatmaps.shape == (1, 17, 16, 12)


# --- running ------------------------------------------------------------------------------------------------------

def test_input_tensor_and_stopwatch(photo):
    x = to_input(photo, 96, torch.device("cpu"))
    assert x.shape == (1, 3, 96, 128) and short_side_size(48, 64, 96) == (96, 128)
    plain = to_input(photo, None, torch.device("cpu"))
    from torchvision.transforms.functional import normalize

    expected = normalize(torch.from_numpy(photo).permute(2, 0, 1).float() / 255, [0.485, 0.456, 0.406],
                         [0.229, 0.224, 0.225])
    assert torch.allclose(plain[0], expected, atol=1e-6)
    watch = Stopwatch()
    with watch("forward"):
        pass
    with watch("forward"):
        pass
    assert list(watch.seconds) == ["forward"] and watch.seconds["forward"] >= 0


def test_out_of_memory_is_recognised():
    assert is_out_of_memory(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"))
    assert is_out_of_memory(RuntimeError("MPS backend out of memory"))
    assert not is_out_of_memory(ValueError("out of memory"))
    assert not is_out_of_memory(RuntimeError("shapes do not match"))
    free_memory()  # harmless without a GPU


def test_json_header_of_app_checkpoint_is_parsed_without_tensors():
    from core.training.loop import TrainConfig, checkpoint_meta
    from core.zoo.checkpoints import checkpoint_bytes

    data = checkpoint_bytes(models.build("unet", num_classes=6), checkpoint_meta(TrainConfig(model="unet"), None))
    header = checkpoints.app_header(data)
    assert header["model"] == "unet" and json.dumps(header)
    assert checkpoints.app_header_of(data)["model"] == "unet" and checkpoints.app_header_of(b"junk") is None


def test_regions_of_a_semantic_mask_merge_touching_objects():
    mask = np.zeros((20, 30), np.int64)
    mask[2:8, 2:8] = 1  # one person
    mask[2:8, 20:26] = 1  # another, apart
    mask[12:18, 2:10] = 1
    mask[12:18, 10:16] = 1  # two people touching: one region
    mask[15:19, 25:29] = 2  # a purse
    masks, labels = instances.regions_as_instances(mask, ["background", "person", "purse"])
    assert labels.tolist() == [1, 1, 1, 2]  # largest first
    assert masks.shape == (4, 20, 30) and masks[0].sum() == 6 * 14
    none, _ = instances.regions_as_instances(np.zeros((4, 4), np.int64), ["background"])
    assert none.shape == (0, 4, 4)


def test_a_model_choice_reads_back_its_address_key():
    choice = semantic.ModelChoice.parse("app:street.safetensors")
    assert (choice.source, choice.name, choice.from_app) == ("app", "street.safetensors", True)
    assert semantic.ModelChoice("tv", "fcn_resnet50").key == "tv:fcn_resnet50"
    assert semantic.ModelChoice.parse("tv:a:b").name == "a:b"  # only the first colon separates
    for bad in ("fcn_resnet50", "xx:fcn", "tv:"):
        with pytest.raises(ValueError, match="tv:<torchvision name>"):
            semantic.ModelChoice.parse(bad)


def test_to_input_at_the_image_size_is_the_plain_imagenet_normalisation():
    from core.data.constants import IMAGENET_MEAN, IMAGENET_STD

    rgb = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    x = torch.from_numpy(rgb).permute(2, 0, 1).float() / 255.0  # (3, H, W)
    expected = ((x - torch.tensor(IMAGENET_MEAN)[:, None, None]) / torch.tensor(IMAGENET_STD)[:, None, None])[None]
    assert torch.equal(to_input(rgb), expected)  # bit for bit: the architecture pages' scenes use it too
