r"""Instance segmentation on a photo: torchvision's Mask R-CNN v2, its objects and its feature pyramid.

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
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from core import device as devices
from core.zoo import checkpoints
from core.zoo.detection import detect, level_images
from core.zoo.weights import WeightsRef, published, weights_enum
from core.zoo.runtime import Stopwatch

__all__ = ["InstancesModel", "InstancesResult", "build_maskrcnn_v2", "load_maskrcnn_v2",
           "segment_instances", "instance_overlay", "regions_as_instances", "INSTANCE_COLORS", "DEFAULT_SIDE"]

DEFAULT_SIDE = 800  # the short side the COCO weights were trained at
# Distinct colours for objects (not classes): two people get two colours.
INSTANCE_COLORS = np.array([
    [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180],
    [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128], [220, 190, 255],
    [170, 110, 40], [255, 250, 200], [128, 0, 0], [170, 255, 195], [128, 128, 0], [255, 215, 180],
    [0, 0, 128], [128, 128, 128],
], dtype=np.uint8)


def build_maskrcnn_v2(state_dict: dict | None = None, num_classes: int = 91) -> nn.Module:
    """``maskrcnn_resnet50_fpn_v2`` built without downloading; ``state_dict`` loaded strictly."""
    from torchvision.models.detection import maskrcnn_resnet50_fpn_v2

    net = maskrcnn_resnet50_fpn_v2(weights=None, weights_backbone=None, num_classes=num_classes)
    if state_dict is not None:
        checkpoints.load_into(net, state_dict)
    return net.eval()


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
    state = None
    if weights.kind in ("cache", "file"):
        state = checkpoints.read_state_dict(weights.path)
    elif weights.kind == "upload":
        state = checkpoints.read_state_dict(data if data is not None else b"")
    device = torch.device(device)
    torch.manual_seed(0)
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
    from torchvision.models.detection.roi_heads import maskrcnn_inference, paste_masks_in_image
    from torchvision.models.detection.transform import resize_boxes

    amp = mixed_precision and model.device.type == "cuda"
    watch = Stopwatch(model.device)
    det = detect(model.net, image, short_side, watch, amp, score_threshold, max_detections, max_proposals)
    rh = model.net.roi_heads
    with watch("forward"), devices.autocast(model.device, amp):
        if len(det.boxes):
            f = rh.mask_roi_pool(det.features, [det.boxes], [det.image_size])  # (K, 256, 14, 14)
            logits = rh.mask_predictor(rh.mask_head(f))  # (K, classes, 28, 28)
            probs = maskrcnn_inference(logits.float(), [det.labels])[0]  # (K, 1, 28, 28): the detected class's mask
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
