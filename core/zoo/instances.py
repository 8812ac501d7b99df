r"""Instance segmentation with Mask R-CNN: objects in a photo (v2), and the network's stages opened up (v1).

Semantic segmentation says "these pixels are person"; instance segmentation says "these pixels are
*this* person, those are *that* one". Mask R-CNN (He, Gkioxari, Dollár & Girshick, ICCV 2017) gets
there by detecting first and segmenting inside each box: for every detected object a small fully
convolutional head predicts a 28×28 mask per class, and the mask of the detected class is resized
into the box and pasted into the photo (threshold 0.5 makes it binary).

``maskrcnn_resnet50_fpn_v2`` is the improved recipe of Li et al., "Benchmarking Detection Transfer
Learning with Vision Transformers" (2021): the same architecture with BatchNorm, a heavier box head
and longer training, 47.4 box AP and 41.8 mask AP on COCO val2017 (the original: 37.9 and 34.6).

The feature pyramid the heads read from is shown as images: level ``'0'`` (stride 4) sees fine detail
and serves small objects, ``'3'`` and ``'pool'`` (strides 32 and 64) see large ones; RoIAlign takes
each box's features from the level that matches its size (Lin et al.'s rule
:math:`k = \lfloor 4 + \log_2(\sqrt{wh}/224) \rfloor`).

Two uses of torchvision's Mask R-CNN live here:

* **on a photo** ("Your images"): :func:`load_maskrcnn_v2` takes its weights from a
  :class:`~core.zoo.weights.WeightsRef`, :func:`segment_instances` runs steps 1–4 of
  :mod:`core.zoo.detection` and then the mask head on the kept boxes only;
* **opened up** (the FPN / Mask R-CNN page): the original ``maskrcnn_resnet50_fpn``, run once with
  hooks on every stage by :func:`run_maskrcnn`, which records each shape, the pyramid levels and the
  detections. Its stages: *transform* (normalise, short side ``min_size``, pad to a multiple of 32);
  *backbone* (ResNet-50 ``body`` gives C2–C5, the ``fpn`` turns them into P2–P6, 256 channels, strides
  4 to 64); *RPN* (a 3×3 conv and two 1×1 convs score 3 anchor shapes per position and nudge their
  boxes; the best ~1000 after non-maximum suppression are the proposals); *box head* (RoIAlign 7×7,
  two fully connected layers of 1024, 91 class scores and 91 × 4 box corrections); *mask head*
  (RoIAlign 14×14, four 3×3 convs, a 2×2 transposed conv to 28×28, a 1×1 conv: one mask per class).
  Its weights come from :func:`core.zoo.weights.find` (the cache, or a download when asked); without
  them the model is randomly initialised, which :class:`MaskRCNNBundle` says through ``pretrained``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from core import device as devices
from core.zoo import checkpoints
from core.zoo.detection import detect, level_images, object_logits
from core.zoo.runtime import Stopwatch
from core.zoo.weights import WeightsRef, WeightsStatus, find, published, weights_enum

__all__ = [
    # on a photo
    "InstancesModel", "InstancesResult", "build_maskrcnn_v2", "load_maskrcnn_v2", "segment_instances",
    "instance_overlay", "regions_as_instances", "INSTANCE_COLORS", "DEFAULT_SIDE",
    # opened up
    "MaskRCNNBundle", "MaskRCNNRun", "HeadShape", "build_maskrcnn", "run_maskrcnn", "LEVELS", "coco_classes",
    "draw_detections", "run_graph",
]

DEFAULT_SIDE = 800  # the short side the COCO weights were trained at
# Distinct colours for objects (not classes): two people get two colours.
INSTANCE_COLORS = np.array([
    [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180],
    [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128], [220, 190, 255],
    [170, 110, 40], [255, 250, 200], [128, 0, 0], [170, 255, 195], [128, 128, 0], [255, 215, 180],
    [0, 0, 128], [128, 128, 128],
], dtype=np.uint8)


# --- on a photo: Mask R-CNN v2 ------------------------------------------------------------------------------

def build_maskrcnn_v2(state_dict: dict | None = None, num_classes: int = 91) -> nn.Module:
    """``maskrcnn_resnet50_fpn_v2`` built without downloading; ``state_dict`` loaded strictly."""
    from torchvision.models.detection import maskrcnn_resnet50_fpn_v2

    net = maskrcnn_resnet50_fpn_v2(weights=None, weights_backbone=None, num_classes=num_classes)
    return checkpoints.with_weights(net, state_dict)


@dataclass(frozen=True)
class InstancesModel:
    """Shared by every session: nothing may change it after loading."""

    net: nn.Module
    categories: tuple[str, ...]  # COCO names by torchvision's ids (91 slots, "N/A" for unused ids)
    weights: WeightsRef
    device: torch.device
    info: dict = field(default_factory=dict)


def load_maskrcnn_v2(weights: WeightsRef, device: torch.device | str = "cpu", data: bytes | None = None,
                     num_classes: int = 91) -> InstancesModel:
    state = checkpoints.read_weights(weights, data)
    torch.manual_seed(0)  # random weights are the same in every session
    device = torch.device(device)
    net = devices.prepare(build_maskrcnn_v2(state, num_classes), device)
    coco = weights_enum("maskrcnn_resnet50_fpn_v2").meta["categories"]
    cats = tuple(coco) if num_classes == len(coco) else tuple(f"class {i}" for i in range(num_classes))
    return InstancesModel(net, cats, weights, device, published("maskrcnn_resnet50_fpn_v2"))


@dataclass
class InstancesResult:
    boxes: np.ndarray  # (K, 4) x0, y0, x1, y1 in the photo's pixels
    scores: np.ndarray  # (K,)
    labels: np.ndarray  # (K,) category ids (index into InstancesModel.categories)
    masks: np.ndarray  # (K, H, W) float16 mask probabilities in the photo
    levels: dict[str, np.ndarray]  # FPN level → (256, h, w) float16
    seconds: dict[str, float]
    resized: tuple[int, int]  # (h, w) the backbone saw, before padding
    device: str
    mixed_precision: bool


@torch.inference_mode()
def segment_instances(model: InstancesModel, image: np.ndarray, short_side: int = DEFAULT_SIDE,
                      score_threshold: float = 0.5, max_detections: int = 20, max_proposals: int | None = None,
                      mixed_precision: bool = True) -> InstancesResult:
    """Detect objects in ``image`` ``(H, W, 3)`` uint8 and segment each one."""
    from torchvision.models.detection.roi_heads import (
        maskrcnn_inference,
        paste_masks_in_image,
    )
    from torchvision.models.detection.transform import resize_boxes

    amp = mixed_precision and model.device.type == "cuda"
    watch = Stopwatch(model.device)
    det = detect(model.net, image, short_side, watch, amp, score_threshold, max_detections, max_proposals)
    logits = object_logits(model.net, det, "mask", watch, amp)  # (K, classes, 28, 28)
    with watch("forward"):
        if logits is not None:
            probs = maskrcnn_inference(logits, [det.labels])[0]  # (K, 1, 28, 28): the detected class's mask
        else:
            probs = det.boxes.new_zeros((0, 1, 28, 28))
    with watch("postprocess"):
        boxes = resize_boxes(det.boxes, det.image_size, det.original_size)  # (K, 4) in the photo
        masks = paste_masks_in_image(probs, boxes, det.original_size)[:, 0]  # (K, H, W)
        result = InstancesResult(boxes.cpu().numpy(), det.scores.cpu().numpy(), det.labels.cpu().numpy(),
                                 masks.cpu().numpy().astype(np.float16), level_images(det), {},
                                 det.image_size, str(model.device), amp)
    result.seconds = dict(watch.seconds)
    return result


def instance_overlay(image: np.ndarray, masks: np.ndarray, alpha: float = 0.5, threshold: float = 0.5,
                     colors: np.ndarray = INSTANCE_COLORS) -> np.ndarray:
    """Each object's mask (probability ≥ ``threshold``) blended over the photo in its own colour.

    Objects are drawn from the last (least confident) to the first, so a confident object stays on top.
    """
    out = image.astype(np.float32)
    for k in range(len(masks) - 1, -1, -1):
        m = masks[k] >= threshold
        out[m] = (1 - alpha) * out[m] + alpha * colors[k % len(colors)].astype(np.float32)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def regions_as_instances(mask: np.ndarray, classes, min_share: float = 0.002,
                         max_regions: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """What a *semantic* mask offers in place of instances: its connected regions, one "object" each.

    Every 4-connected region of a non-background class larger than ``min_share`` of the photo becomes a
    mask, largest first. Two touching people become one region and one person split by a lamp post
    becomes two — the failure instance segmentation exists to fix. Returns ``(masks (K, H, W) float32,
    class indices (K,))``.
    """
    from core.analysis import is_background
    from core.data.scenes import connected_components

    found: list[tuple[int, int, np.ndarray]] = []
    for c in np.unique(mask):
        if is_background(classes[int(c)]):
            continue
        regions, n = connected_components(mask == c)
        sizes = np.bincount(regions.ravel(), minlength=n + 1)
        for k in range(1, n + 1):
            if sizes[k] >= min_share * mask.size:
                found.append((int(sizes[k]), int(c), regions == k))
    found.sort(key=lambda f: -f[0])
    found = found[:max_regions]
    if not found:
        return np.zeros((0, *mask.shape), np.float32), np.zeros(0, np.int64)
    return np.stack([m for _, _, m in found]).astype(np.float32), np.array([c for _, c, _ in found], np.int64)


# --- opened up: the original Mask R-CNN, every stage recorded -----------------------------------------------

LEVELS = ("P2", "P3", "P4", "P5", "P6")  # torchvision names them "0", "1", "2", "3", "pool"


@dataclass
class MaskRCNNBundle:
    model: torch.nn.Module
    pretrained: bool
    status: WeightsStatus
    min_size: int


@dataclass(frozen=True)
class HeadShape:
    stage: str  # key: transform, C2…C5, P2…P6, rpn_objectness, rpn_boxes, proposals, box_roi, box_head,
    #             class_scores, box_deltas, mask_roi, mask_head, mask_logits, detections
    shape: tuple[int, ...]


@dataclass
class MaskRCNNRun:
    resized: tuple[int, int]  # (H, W) of the tensor the backbone saw (after resize and padding)
    levels: dict[str, np.ndarray]  # P2…P6: (256, h, w) float32
    shapes: list[HeadShape] = field(default_factory=list)
    boxes: np.ndarray | None = None  # (K, 4) x0, y0, x1, y1 in the original image
    labels: np.ndarray | None = None  # (K,) COCO category ids
    scores: np.ndarray | None = None  # (K,)
    masks: np.ndarray | None = None  # (K, H, W) probabilities in the original image


def build_maskrcnn(min_size: int = 480, download: bool = False, device: str | torch.device = "cpu") -> MaskRCNNBundle:
    """``maskrcnn_resnet50_fpn`` at ``min_size`` (short side) on ``device``; COCO weights if available, else random."""
    from torchvision.models.detection import maskrcnn_resnet50_fpn

    status = find("maskrcnn_resnet50_fpn", download=download)
    torch.manual_seed(0)
    model = maskrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=91, min_size=min_size,
                                  max_size=round(min_size * 5 / 3))
    pretrained = False
    if status.found:
        model.load_state_dict(status.state_dict)
        pretrained = True
    return MaskRCNNBundle(model.to(device).eval(), pretrained, status, min_size)


def _shape(t) -> tuple[int, ...]:
    return tuple(int(s) for s in t.shape)


@torch.no_grad()
def run_maskrcnn(bundle: MaskRCNNBundle, rgb: np.ndarray, score_threshold: float = 0.5,
                 max_detections: int = 20) -> MaskRCNNRun:
    """Run the model on an ``(H, W, 3)`` uint8 image; record shapes at every stage and the detections."""
    model = bundle.model
    device = next(model.parameters()).device
    x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float().to(device) / 255.0  # (3, H, W)
    seen: dict[str, object] = {}
    hooks = {
        "transform": model.transform, "body": model.backbone.body, "fpn": model.backbone.fpn,
        "rpn_head": model.rpn.head, "rpn": model.rpn, "box_roi": model.roi_heads.box_roi_pool,
        "box_head": model.roi_heads.box_head, "box_predictor": model.roi_heads.box_predictor,
        "mask_roi": model.roi_heads.mask_roi_pool, "mask_head": model.roi_heads.mask_head,
        "mask_predictor": model.roi_heads.mask_predictor,
    }
    handles = [m.register_forward_hook(lambda mod, args, out, name=name: seen.__setitem__(name, out))
               for name, m in hooks.items()]
    old = model.roi_heads.score_thresh
    model.roi_heads.score_thresh = min(old, score_threshold)
    try:
        out = model([x])[0]
    finally:
        model.roi_heads.score_thresh = old
        for h in handles:
            h.remove()

    shapes: list[HeadShape] = []
    images, _ = seen["transform"]
    resized = tuple(images.tensors.shape[-2:])
    shapes.append(HeadShape("transform", _shape(images.tensors)))
    for k, c in zip(("C2", "C3", "C4", "C5"), seen["body"].values()):
        shapes.append(HeadShape(k, _shape(c)))
    levels = {}
    for k, p in zip(LEVELS, seen["fpn"].values()):
        shapes.append(HeadShape(k, _shape(p)))
        levels[k] = p[0].float().cpu().numpy()
    objectness, deltas = seen["rpn_head"]
    for k, o, d in zip(LEVELS, objectness, deltas):
        shapes.append(HeadShape(f"rpn_objectness_{k}", _shape(o)))
        shapes.append(HeadShape(f"rpn_boxes_{k}", _shape(d)))
    proposals, _ = seen["rpn"]
    shapes.append(HeadShape("proposals", _shape(proposals[0])))
    for name in ("box_roi", "box_head"):
        shapes.append(HeadShape(name, _shape(seen[name])))
    scores, box_deltas = seen["box_predictor"]
    shapes += [HeadShape("class_scores", _shape(scores)), HeadShape("box_deltas", _shape(box_deltas))]
    for name, key in (("mask_roi", "mask_roi"), ("mask_head", "mask_head"), ("mask_predictor", "mask_logits")):
        if name in seen:
            shapes.append(HeadShape(key, _shape(seen[name])))
    shapes.append(HeadShape("detections", _shape(out["boxes"])))

    out = {k: v.cpu() for k, v in out.items()}
    keep = (out["scores"] >= score_threshold).nonzero().flatten()[:max_detections]
    return MaskRCNNRun(
        resized=resized, levels=levels, shapes=shapes,
        boxes=out["boxes"][keep].numpy(), labels=out["labels"][keep].numpy(), scores=out["scores"][keep].numpy(),
        masks=out["masks"][keep, 0].numpy() if "masks" in out else None,
    )


# Where each stage of one run sits in the diagram: (column, row, box colour kind).
_LAYOUT = {
    "transform": (0, 4, "input"),
    **{f"C{k}": (1, 5 - k + 1, "pool") for k in range(2, 6)},
    **{f"P{k}": (2, 5 - k + 1, "fuse") for k in range(2, 7)},
    "proposals": (3, 0.5, "head"),
    "box_roi": (4, 0.5, "up"), "box_head": (5, 0.5, "conv"), "class_scores": (6, 0, "score"),
    "box_deltas": (6, 1, "score"), "detections": (7, 2, "output"),
    "mask_roi": (4, 3, "up"), "mask_head": (5, 3, "conv"), "mask_logits": (6, 3, "output"),
}
_EDGES = (
    [("transform", "C2", "flow")] + [(f"C{k}", f"C{k + 1}", "flow") for k in range(2, 5)]
    + [(f"C{k}", f"P{k}", "lateral") for k in range(2, 6)] + [(f"P{k + 1}", f"P{k}", "topdown") for k in range(2, 5)]
    + [("P5", "P6", "flow")] + [(f"P{k}", "proposals", "fusion") for k in range(2, 7)]
    + [("proposals", "box_roi", "flow"), ("P3", "box_roi", "fusion"), ("box_roi", "box_head", "flow"),
       ("box_head", "class_scores", "flow"), ("box_head", "box_deltas", "flow"),
       ("class_scores", "detections", "flow"), ("box_deltas", "detections", "flow"),
       ("detections", "mask_roi", "flow"), ("P2", "mask_roi", "fusion"), ("mask_roi", "mask_head", "flow"),
       ("mask_head", "mask_logits", "flow")]
)


def run_graph(run: MaskRCNNRun):
    """The run as diagram boxes (shapes as measured) and arrows, for :func:`core.figures.architectures.architecture_diagram`.

    RoIAlign reads every pyramid level (each box from the level that suits its size); one arrow from a
    level stands for all of them.
    """
    from core.models.diagrams import Edge, Node
    from core.models.inspect import StageBox

    boxes = {}
    for s in run.shapes:
        if s.stage not in _LAYOUT:
            continue
        col, row, kind = _LAYOUT[s.stage]
        shape = s.shape[1:] if s.stage in ("transform",) or s.stage[:1] in "CP" else s.shape
        key = "image" if s.stage == "transform" else s.stage
        boxes[key] = StageBox(Node(key, s.stage, col, row, kind), tuple(shape), 0.0, 0.0)
    edges = [Edge("image" if a == "transform" else a, b, kind) for a, b, kind in _EDGES]
    return boxes, [e for e in edges if e.src in boxes and e.dst in boxes]


def draw_detections(rgb: np.ndarray, run: MaskRCNNRun, names: list[str], alpha: float = 0.45) -> np.ndarray:
    """The image with each detection's mask tinted, its box outlined and its class and score written."""
    from PIL import Image, ImageDraw

    palette = INSTANCE_COLORS[:10].astype(float)
    out = np.asarray(rgb, dtype=float).copy()
    for k in range(len(run.scores)):
        colour = palette[k % len(palette)]
        if run.masks is not None:
            m = run.masks[k] > 0.5
            out[m] = (1 - alpha) * out[m] + alpha * colour
    image = Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for k, (box, label, score) in enumerate(zip(run.boxes, run.labels, run.scores)):
        colour = tuple(int(v) for v in palette[k % len(palette)])
        draw.rectangle([float(v) for v in box], outline=colour, width=2)
        draw.text((float(box[0]) + 3, float(box[1]) + 2), f"{names[int(label)]} {score:.2f}", fill=colour)
    return np.asarray(image)


def coco_classes() -> list[str]:
    """COCO category names by torchvision's ids (91 slots; "N/A" marks unused ids), from the weights' metadata."""
    return list(weights_enum("maskrcnn_resnet50_fpn").meta["categories"])
