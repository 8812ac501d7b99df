r"""The two-stage detector under Mask R-CNN and Keypoint R-CNN, run step by step without changing the model.

torchvision's R-CNN family (``GeneralizedRCNN``) runs, at inference:

1. **transform** — normalise, resize so the short side is ``min_size`` (800 for the COCO weights; the
   long side at most ``max_size``), pad to a multiple of 32;
2. **backbone** — ResNet-50 and a feature pyramid (FPN, Lin et al., CVPR 2017): five maps of 256
   channels, ``'0'``–``'3'`` at strides 4, 8, 16, 32 (P2–P5) and ``'pool'`` at 64 (P6);
3. **RPN** — scores anchors on every level; the best ~1000 boxes after non-maximum suppression
   are the proposals;
4. **box head** — RoIAlign 7×7 from the level that suits each proposal's size, two fully connected
   layers, class scores and box corrections; per class, boxes above 0.05 survive non-maximum
   suppression;
5. a **per-object head** on the surviving boxes: a 28×28 mask (Mask R-CNN) or 17 keypoint heatmaps of
   56×56 (Keypoint R-CNN).

:func:`detect` performs steps 1–4 exactly like ``RoIHeads.forward`` in eval mode, keeps the best
``max_detections`` boxes above ``score_threshold`` *before* step 5 (so a randomly initialised model,
which finds "objects" everywhere, does not spend seconds on 100 of them), and returns the FPN features
for the per-object heads and for display. The resize lives in a fresh ``GeneralizedRCNNTransform`` per
call instead of changing ``model.transform``: a cached model is shared by every session and must never
be modified.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from core import device as devices
from core.zoo.runtime import Stopwatch

__all__ = ["Detections", "detect", "object_logits", "max_side_for", "level_images", "LEVEL_STRIDES"]

LEVEL_STRIDES = {"0": 4, "1": 8, "2": 16, "3": 32, "pool": 64}  # torchvision's FPN keys → stride (P2…P6)


def max_side_for(short_side: int) -> int:
    """The long-side cap torchvision pairs with a short side (800 → 1333)."""
    return round(short_side * 1333 / 800)


@dataclass
class Detections:
    features: dict[str, torch.Tensor]  # FPN levels, (1, 256, h, w) each, on the device
    boxes: torch.Tensor  # (K, 4) in the resized image, on the device
    scores: torch.Tensor  # (K,)
    labels: torch.Tensor  # (K,)
    image_size: tuple[int, int]  # (h, w) after resizing, before padding
    padded_size: tuple[int, int]  # (H, W) the backbone saw
    original_size: tuple[int, int]  # (H, W) of the photo


@torch.inference_mode()
def detect(model: nn.Module, image: np.ndarray, short_side: int, watch: Stopwatch, amp: bool = True,
           score_threshold: float = 0.5, max_detections: int = 10, max_proposals: int | None = None) -> Detections:
    """Steps 1–4 above on ``image`` ``(H, W, 3)`` uint8; ``watch`` records preprocess and forward.

    ``max_proposals`` keeps only the RPN's best proposals for the box head (all ~1000 when None, as
    torchvision does): the RPN returns them sorted by objectness, so this is the top of its list.
    """
    from torchvision.models.detection.transform import GeneralizedRCNNTransform

    device = next(model.parameters()).device
    amp = amp and device.type == "cuda"
    with watch("preprocess"):
        transform = GeneralizedRCNNTransform(short_side, max_side_for(short_side), model.transform.image_mean,
                                             model.transform.image_std)
        x = torch.from_numpy(np.ascontiguousarray(image)).to(device).permute(2, 0, 1).float() / 255.0  # (3, H, W)
        images, _ = transform([x])  # tensors (1, 3, H', W') padded to a multiple of 32
        if device.type == "cuda":
            images.tensors = images.tensors.contiguous(memory_format=torch.channels_last)
    rh = model.roi_heads
    with watch("forward"), devices.autocast(device, amp):
        features = model.backbone(images.tensors)  # {'0': (1, 256, H'/4, W'/4), ..., 'pool': (1, 256, H'/64, W'/64)}
        proposals, _ = model.rpn(images, features)  # [(≤1000, 4)], best first
        if max_proposals is not None:
            proposals = [p[:max_proposals] for p in proposals]
        box_features = rh.box_roi_pool(features, proposals, images.image_sizes)  # (P, 256, 7, 7)
        box_features = rh.box_head(box_features)  # (P, 1024)
        class_logits, box_regression = rh.box_predictor(box_features)  # (P, classes), (P, classes·4)
        boxes, scores, labels = rh.postprocess_detections(class_logits.float(), box_regression.float(), proposals,
                                                          images.image_sizes)
        boxes, scores, labels = boxes[0], scores[0], labels[0]  # sorted by score within each class
        order = scores.argsort(descending=True)
        keep = order[scores[order] >= score_threshold][:max_detections]
    return Detections(features, boxes[keep].float(), scores[keep].float(), labels[keep], tuple(images.image_sizes[0]),
                      tuple(images.tensors.shape[-2:]), tuple(image.shape[:2]))


@torch.inference_mode()
def object_logits(model: nn.Module, det: Detections, head: str, watch: Stopwatch,
                  amp: bool = True) -> torch.Tensor | None:
    """Step 5 on the kept boxes: RoIAlign 14×14 from the pyramid, then the ``head`` (``"mask"`` or ``"keypoint"``).

    Returns float32 logits (masks ``(K, classes, 28, 28)``, keypoints ``(K, 17, 56, 56)``), or None when no
    box was kept; ``watch`` adds the time to ``forward``.
    """
    rh = model.roi_heads
    pool, layers, predictor = (getattr(rh, f"{head}_{part}") for part in ("roi_pool", "head", "predictor"))
    device = det.boxes.device
    with watch("forward"), devices.autocast(device, amp and device.type == "cuda"):
        if not len(det.boxes):
            return None
        features = pool(det.features, [det.boxes], [det.image_size])  # (K, 256, 14, 14)
        return predictor(layers(features)).float()


def level_images(det: Detections) -> dict[str, np.ndarray]:
    """Every FPN level cropped to the resized photo (padding removed): ``(256, h, w)`` float16 on the CPU."""
    out = {}
    for name, f in det.features.items():
        stride = det.padded_size[0] / f.shape[-2]
        h = max(1, int(np.ceil(det.image_size[0] / stride)))
        w = max(1, int(np.ceil(det.image_size[1] / stride)))
        out[name] = f[0, :, :h, :w].float().cpu().numpy().astype(np.float16)  # (256, h, w)
    return out
