r"""torchvision's Mask R-CNN, opened up: the FPN levels it computes and what each head adds on top.

Mask R-CNN (He, Gkioxari, Dollár & Girshick, ICCV 2017) is Faster R-CNN (Ren, He, Girshick & Sun,
2015) plus a small mask branch, and torchvision's ``maskrcnn_resnet50_fpn`` runs it on a ResNet-50 FPN:

1. **transform** — the image is normalised and resized so its short side is ``min_size`` (800 for the
   COCO weights), then padded to a multiple of 32;
2. **backbone** — ResNet-50 (``body``) gives C2–C5, the FPN (``fpn``) turns them into P2–P6, 256
   channels each, strides 4 to 64;
3. **RPN** — on every level, a 3×3 conv and two 1×1 convs score 3 anchor shapes per position as
   object or not and nudge their boxes; the best ~1000 boxes, after non-maximum suppression, are the
   *proposals*;
4. **box head** — RoIAlign cuts a 7×7 window for each proposal from the level that suits its size,
   two fully connected layers (1024) follow, then 91 class scores and 91 × 4 box corrections;
5. **mask head** — for each kept detection, RoIAlign cuts 14×14, four 3×3 convs and a 2×2 transposed
   conv give 28×28, and a 1×1 conv one mask per class; the mask of the detected class is resized into
   its box. This small fully convolutional network per object is what Mask R-CNN adds.

:func:`run_maskrcnn` runs all of it once with hooks on these modules and returns every shape, the
pyramid levels and the detections. Weights come from :mod:`core.zoo.weights` (cache, or a download
when asked); without them the model is randomly initialised and its detections mean nothing, which
:class:`MaskRCNNBundle` says through ``pretrained``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from core.zoo.weights import WeightsStatus, find

__all__ = ["MaskRCNNBundle", "MaskRCNNRun", "HeadShape", "build_maskrcnn", "run_maskrcnn", "LEVELS", "coco_classes",
           "draw_detections", "run_graph"]

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

    palette = np.array([[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
                        [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212]], float)
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
    from core.zoo.weights import weights_enum

    return list(weights_enum("maskrcnn_resnet50_fpn").meta["categories"])
