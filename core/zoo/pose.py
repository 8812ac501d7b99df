r"""Human pose on a photo, two ways: Keypoint R-CNN's per-box heatmaps, and top-down HRNet.

A pose network answers, for each of COCO's 17 joints (nose, eyes, ears, shoulders, elbows, wrists,
hips, knees, ankles), *where* it is — as a heatmap whose peak is the joint, the way a segmentation
network answers *what* each pixel is.

**Keypoint R-CNN** (the keypoint branch of He et al.'s Mask R-CNN paper, ICCV 2017) detects people,
cuts a 14×14 RoIAlign window per person from the feature pyramid, runs eight 3×3 convolutions, a
transposed convolution (×2) and a bilinear ×2: 17 maps of 56×56 *per box*. Training treats each map
as a 56·56-way classification (softmax over positions, cross-entropy against the true cell), so a
spatial softmax turns a map into "where the joint is, as probabilities". The peak is mapped from the
56×56 grid back into the box and then into the photo.

**Top-down HRNet** (Sun, Xiao, Liu & Wang, CVPR 2019) is a two-step pipeline: a detector finds
people; each box is widened to the 3:4 shape of the network's input, enlarged by 25 % for context,
cut out and resized to 256×192; HRNet-W32 outputs 17 heatmaps of 64×48 (stride 4), trained by MSE
towards Gaussians; :func:`core.heatmaps.decode` finds each peak (with sub-pixel refinement), and the
point is mapped from the heatmap to the crop (×4) and from the crop back to the photo.

HRNet reads published checkpoints (:mod:`core.zoo.checkpoints`): the official ``pose_hrnet_w32_256x192.pth``
and mmpose's ``hrnet_w32_coco_256x192`` (its ``backbone.`` / ``keypoint_head.`` prefixes stripped).
Both expect RGB input normalised with the ImageNet mean and deviation.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image
from torch import nn

from core import device as devices
from core import heatmaps as hm
from core.data.constants import IMAGENET_MEAN, IMAGENET_STD
from core.zoo import checkpoints
from core.zoo.detection import detect, object_logits
from core.zoo.runtime import Stopwatch
from core.zoo.weights import WeightsRef, published

__all__ = ["KEYPOINT_NAMES", "SKELETON", "HRNET_URL", "HRNET_FILES", "HRNET_INPUT", "KeypointModel",
           "KeypointResult", "HRNetModel", "TopDownResult", "Crop", "build_keypointrcnn",
           "load_keypointrcnn", "keypoint_rcnn", "build_hrnet", "load_hrnet", "person_crop", "top_down",
           "spatial_softmax", "whole_image_box", "paste_into_photo"]

KEYPOINT_NAMES = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
                  "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
                  "right_knee", "left_ankle", "right_ankle")  # COCO's order, which both models output
# COCO's skeleton: the limbs drawn between joints (indices into KEYPOINT_NAMES).
SKELETON = ((15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8), (7, 9),
            (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6))

# mmpose's published COCO HRNet-W32 at 256×192 (the official files live on cloud drives, not plain URLs).
HRNET_URL = "https://download.openmmlab.com/mmpose/top_down/hrnet/hrnet_w32_coco_256x192-c78dce93_20200708.pth"
HRNET_FILES = ("hrnet_w32_coco_256x192-c78dce93_20200708.pth", "pose_hrnet_w32_256x192.pth")  # looked for in folders
HRNET_INPUT = (256, 192)  # (H, W) of a person crop; heatmaps are a quarter of that
HRNET_PADDING = 1.25  # a detected box is enlarged by this factor: joints near its edge keep some context


# --- Keypoint R-CNN ----------------------------------------------------------------------------------

def build_keypointrcnn(state_dict: dict | None = None) -> nn.Module:
    """``keypointrcnn_resnet50_fpn`` (2 classes: background and person, 17 keypoints) built without downloading."""
    from torchvision.models.detection import keypointrcnn_resnet50_fpn

    net = keypointrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=2, num_keypoints=17)
    return checkpoints.with_weights(net, state_dict)  # the published file uses frozen BatchNorm: no step counters


@dataclass(frozen=True)
class KeypointModel:
    """Shared by every session: nothing may change it after loading."""

    net: nn.Module
    weights: WeightsRef
    device: torch.device
    info: dict = field(default_factory=dict)


def load_keypointrcnn(weights: WeightsRef, device: torch.device | str = "cpu",
                      data: bytes | None = None) -> KeypointModel:
    state = checkpoints.read_weights(weights, data)
    torch.manual_seed(0)  # random weights are the same in every session
    device = torch.device(device)
    return KeypointModel(devices.prepare(build_keypointrcnn(state), device), weights, device,
                         published("keypointrcnn_resnet50_fpn"))


@dataclass
class KeypointResult:
    boxes: np.ndarray  # (P, 4) x0, y0, x1, y1 in the photo
    scores: np.ndarray  # (P,) person scores
    keypoints: np.ndarray  # (P, 17, 2) x, y in the photo
    keypoint_scores: np.ndarray  # (P, 17) the heatmaps' peak logits
    heatmaps: np.ndarray  # (P, 17, 56, 56) logits over each person's box
    seconds: dict[str, float]
    device: str
    mixed_precision: bool


@torch.inference_mode()
def keypoint_rcnn(model: KeypointModel, image: np.ndarray, short_side: int = 800, score_threshold: float = 0.7,
                  max_people: int = 5, max_proposals: int | None = None,
                  mixed_precision: bool = True) -> KeypointResult:
    """People and their 17 keypoints, with the 56×56 heatmaps the keypoints are read from."""
    from torchvision.models.detection.roi_heads import keypointrcnn_inference
    from torchvision.models.detection.transform import resize_boxes, resize_keypoints

    amp = mixed_precision and model.device.type == "cuda"
    watch = Stopwatch(model.device)
    det = detect(model.net, image, short_side, watch, amp, score_threshold, max_people, max_proposals)
    logits = object_logits(model.net, det, "keypoint", watch, amp)  # (P, 17, 56, 56)
    if logits is None:
        logits = det.boxes.new_zeros((0, 17, 56, 56))
    with watch("postprocess"):
        if len(det.boxes):
            points, scores = keypointrcnn_inference(logits, [det.boxes])  # [(P, 17, 3)], [(P, 17)]
            points, scores = points[0], scores[0]
        else:
            points, scores = logits.new_zeros((0, 17, 3)), logits.new_zeros((0, 17))
        boxes = resize_boxes(det.boxes, det.image_size, det.original_size)
        points = resize_keypoints(points, det.image_size, det.original_size)
        result = KeypointResult(boxes.cpu().numpy(), det.scores.cpu().numpy(), points[..., :2].cpu().numpy(),
                                scores.cpu().numpy(), logits.cpu().numpy(), {}, str(model.device), amp)
    result.seconds = dict(watch.seconds)
    return result


def spatial_softmax(logits: np.ndarray) -> np.ndarray:
    """``(..., h, w)`` logits → probabilities over the ``h·w`` positions of each map (as Keypoint R-CNN trains)."""
    flat = logits.reshape(*logits.shape[:-2], -1).astype(np.float64)  # (..., h·w)
    flat = np.exp(flat - flat.max(axis=-1, keepdims=True))
    return (flat / flat.sum(axis=-1, keepdims=True)).reshape(logits.shape).astype(np.float32)


# --- top-down HRNet ----------------------------------------------------------------------------------

def build_hrnet(state_dict: dict | None = None, **config) -> nn.Module:
    """The official pose HRNet-W32 (``config`` overrides make a smaller one for tests); strict loading."""
    from core import models

    return checkpoints.with_weights(models.build("pose_hrnet_w32", num_classes=17, **config), state_dict)


@dataclass(frozen=True)
class HRNetModel:
    net: nn.Module
    weights: WeightsRef
    device: torch.device
    dialect: str = ""  # "plain" (official file), "mmpose", "app" (trained here), or "" for random weights


def load_hrnet(weights: WeightsRef, device: torch.device | str = "cpu", data: bytes | None = None,
               **config) -> HRNetModel:
    state = checkpoints.read_weights(weights, data)
    dialect = ""
    if state is not None:
        dialect = "mmpose" if any(k.startswith("backbone.") for k in state) else "plain"
        source = data if weights.kind == "upload" else weights.path
        header = checkpoints.app_header_of(source) if source is not None else None
        if header is not None:  # a pose HRNet trained in the app: rebuild it with its own (smaller) config
            if header.get("model") != "pose_hrnet_w32" or len(header.get("classes") or ()) != len(KEYPOINT_NAMES):
                raise checkpoints.CheckpointError(
                    "wrong_model", f"The checkpoint holds a {header.get('model')} model, not a pose HRNet with "
                    "COCO's 17 joints.", model=str(header.get("model")))
            config = {**header.get("model_kwargs", {}), **config}
            dialect = "app"
    device = torch.device(device)
    torch.manual_seed(0)
    return HRNetModel(devices.prepare(build_hrnet(state, **config), device), weights, device, dialect)


@dataclass(frozen=True)
class Crop:
    """An axis-aligned window of the photo, resized to the network's input: photo = origin + crop · scale."""

    x0: float
    y0: float
    scale: float  # photo pixels per crop pixel (the same on both axes: the window has the input's shape)
    size: tuple[int, int]  # (H, W) of the crop

    @property
    def box(self) -> tuple[float, float, float, float]:
        """The window in the photo: x0, y0, x1, y1."""
        return self.x0, self.y0, self.x0 + self.size[1] * self.scale, self.y0 + self.size[0] * self.scale

    def to_photo(self, points: np.ndarray) -> np.ndarray:
        """``(..., 2)`` x, y in crop pixels → photo pixels."""
        return np.asarray(points, dtype=np.float32) * self.scale + np.array([self.x0, self.y0], dtype=np.float32)


def whole_image_box(image: np.ndarray) -> np.ndarray:
    """The whole photo as one person box ``(1, 4)``: for a portrait, or when no detector is trained."""
    h, w = image.shape[:2]
    return np.array([[0.0, 0.0, float(w), float(h)]], dtype=np.float32)


def person_crop(image: np.ndarray, box, size: tuple[int, int] = HRNET_INPUT,
                padding: float = HRNET_PADDING) -> tuple[np.ndarray, Crop]:
    """Cut ``box`` (x0, y0, x1, y1) out of ``image`` the way top-down pose models expect it.

    The box is widened or heightened to the input's aspect ratio (3:4 for 256×192) around its centre,
    enlarged by ``padding``, and resampled to ``size``; outside the photo is black. Returns the crop
    ``(H, W, 3)`` uint8 and the :class:`Crop` that maps its pixels back.
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    out_h, out_w = size
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w, h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    aspect = out_w / out_h
    if w > aspect * h:  # too wide: make it taller
        h = w / aspect
    else:
        w = h * aspect
    w, h = w * padding, h * padding
    crop = Crop(cx - w / 2, cy - h / 2, w / out_w, (out_h, out_w))
    # PIL's affine map sends each output pixel (u, v) to the photo point (x0 + u·s, y0 + v·s).
    pixels = Image.fromarray(np.ascontiguousarray(image)).transform(
        (out_w, out_h), Image.Transform.AFFINE, (crop.scale, 0, crop.x0, 0, crop.scale, crop.y0),
        resample=Image.Resampling.BILINEAR, fillcolor=(0, 0, 0))
    return np.asarray(pixels, dtype=np.uint8), crop


@dataclass
class TopDownResult:
    crops: np.ndarray  # (P, 256, 192, 3) uint8: what HRNet saw
    windows: list[Crop]  # where each crop came from
    heatmaps: np.ndarray  # (P, 17, 64, 48) float32
    keypoints: np.ndarray  # (P, 17, 2) x, y in the photo
    confidence: np.ndarray  # (P, 17) each heatmap's peak
    seconds: dict[str, float]
    device: str
    mixed_precision: bool


@torch.inference_mode()
def top_down(model: HRNetModel, image: np.ndarray, boxes: np.ndarray, input_size: tuple[int, int] = HRNET_INPUT,
             method: str = "subpixel", mixed_precision: bool = True) -> TopDownResult:
    """HRNet on each person box: crop, heatmaps, decoded peaks mapped back to the photo."""
    device = model.device
    amp = mixed_precision and device.type == "cuda"
    watch = Stopwatch(device)
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    with watch("preprocess"):
        cut = [person_crop(image, b, input_size) for b in boxes]
        crops = np.stack([c for c, _ in cut]) if cut else np.zeros((0, *input_size, 3), np.uint8)
        windows = [w for _, w in cut]
        x = torch.from_numpy(crops).to(device).permute(0, 3, 1, 2).float() / 255.0  # (P, 3, H, W)
        x = (x - torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)) / torch.tensor(
            IMAGENET_STD, device=device).view(1, 3, 1, 1)
        if device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
    with watch("forward"), devices.autocast(device, amp):
        heat = model.net(x).float() if len(x) else x.new_zeros((0, 17, input_size[0] // 4, input_size[1] // 4))
    with watch("postprocess"):
        heat = heat.cpu()  # (P, 17, H/4, W/4)
        stride = input_size[0] / heat.shape[-2] if heat.ndim == 4 and heat.shape[-2] else 4.0
        if len(heat):
            coords, conf = hm.decode(heat, stride=stride, method=method)  # (P, 17, 2) in crop pixels, (P, 17)
            points = np.stack([w.to_photo(c.numpy()) for w, c in zip(windows, coords)])
            conf = conf.numpy()
        else:
            points, conf = np.zeros((0, 17, 2), np.float32), np.zeros((0, 17), np.float32)
    return TopDownResult(crops, windows, heat.numpy(), points, conf, dict(watch.seconds), str(device), amp)


def paste_into_photo(maps: np.ndarray, box, size: tuple[int, int]) -> np.ndarray:
    """Heatmaps ``(K, h, w)`` that cover ``box`` (x0, y0, x1, y1) → their maximum over joints on the photo's grid.

    Each map is stretched bilinearly over the box (how Keypoint R-CNN's 56×56 grid and a top-down
    crop's heatmap relate to the photo); outside the box the result is 0. Returns ``(H, W)`` float32.
    """
    import torch.nn.functional as F

    H, W = size
    x0, y0, x1, y1 = (float(v) for v in box)
    out = np.zeros((H, W), dtype=np.float32)
    ix0, iy0 = max(int(np.floor(x0)), 0), max(int(np.floor(y0)), 0)
    ix1, iy1 = min(int(np.ceil(x1)), W), min(int(np.ceil(y1)), H)
    if ix1 <= ix0 or iy1 <= iy0 or len(maps) == 0:
        return out
    ox, oy = int(np.floor(x0)), int(np.floor(y0))
    bw, bh = max(int(np.ceil(x1)) - ox, 1), max(int(np.ceil(y1)) - oy, 1)  # the box's whole pixels
    t = torch.as_tensor(np.asarray(maps, dtype=np.float32))[None]  # (1, K, h, w)
    big = F.interpolate(t, size=(bh, bw), mode="bilinear", align_corners=False)[0].amax(0)  # (bh, bw)
    out[iy0:iy1, ix0:ix1] = big[iy0 - oy:iy1 - oy, ix0 - ox:ix1 - ox].numpy()
    return out
