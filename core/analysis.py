r"""Reading a segmentation network's output: masks, how sure it is, how much of the image each class takes.

A semantic segmentation network gives, at every pixel, a probability for each of the :math:`C` classes,
:math:`p_c(x, y)` with :math:`\sum_c p_c = 1`. Everything a page shows about one photo comes from
that volume:

* the **mask** — the most probable class, :math:`\arg\max_c p_c`;
* the **confidence** — that class's probability, :math:`\max_c p_c` (between :math:`1/C` and 1);
* the **entropy** — how spread the distribution is, :math:`H = -\sum_c p_c \log p_c`, shown divided by
  :math:`\log C` so that 0 means "certain" and 1 means "all classes equally likely". Confident but
  wrong pixels have low entropy too: uncertainty maps show doubt, not errors;
* the **areas** — the share of pixels each class receives;
* the **agreement** of two models on one photo — the intersection over union of their masks, class by
  class, :math:`\mathrm{IoU}_c = |A_c \cap B_c| / |A_c \cup B_c|`, averaged over the classes either of
  them uses. Models with different label sets are compared on the classes they share by name.

The exports are what a student takes away: the mask as a palette PNG (each pixel stores its class
number; the file's palette makes it look coloured), the overlay as a PNG and the areas as CSV.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

__all__ = ["confidence", "entropy", "ClassArea", "class_areas", "pixel_distribution", "Agreement", "agreement",
           "colormap", "mask_png", "png_bytes", "areas_csv", "is_background", "class_name_key"]

# Viridis at nine stops (perceptually uniform, readable in grey and by colour-blind students).
_VIRIDIS = np.array([
    [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
    [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
], dtype=np.float32)


def confidence(probs: np.ndarray) -> np.ndarray:
    """``(C, H, W)`` probabilities → ``(H, W)`` probability of the chosen class."""
    return probs.max(axis=0)


def entropy(probs: np.ndarray, normalised: bool = True) -> np.ndarray:
    """``(C, H, W)`` → ``(H, W)`` entropy in nats, over ``log C`` when ``normalised`` (0 = sure, 1 = uniform)."""
    p = np.clip(probs.astype(np.float64), 1e-12, 1.0)
    h = -(p * np.log(p)).sum(axis=0)
    if normalised and probs.shape[0] > 1:
        h = h / np.log(probs.shape[0])
    return np.clip(h, 0.0, None).astype(np.float32)


@dataclass(frozen=True)
class ClassArea:
    index: int
    name: str
    pixels: int
    share: float  # of all pixels, 0–1


def class_areas(mask: np.ndarray, classes: Sequence[str]) -> list[ClassArea]:
    """The classes present in ``mask``, largest first, with their pixel counts and shares."""
    counts = np.bincount(mask.ravel(), minlength=len(classes))[:len(classes)]
    total = max(int(mask.size), 1)
    present = [ClassArea(c, classes[c], int(n), float(n / total)) for c, n in enumerate(counts) if n > 0]
    return sorted(present, key=lambda a: (-a.pixels, a.index))


def pixel_distribution(probs: np.ndarray, x: int, y: int, top: int | None = None) -> list[tuple[int, float]]:
    """The class probabilities of pixel ``(x, y)`` (column, row), most probable first; ``top`` keeps the first few."""
    h, w = probs.shape[1:]
    if not (0 <= x < w and 0 <= y < h):
        raise ValueError(f"pixel ({x}, {y}) lies outside the {w}×{h} image")
    p = probs[:, y, x]
    order = np.argsort(-p, kind="stable")
    if top is not None:
        order = order[:top]
    return [(int(c), float(p[c])) for c in order]


def class_name_key(name: str) -> str:
    """A class name reduced for matching across label sets: ``__background__`` and ``Background`` agree."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


def is_background(name: str) -> bool:
    return class_name_key(name) == "background"


@dataclass(frozen=True)
class Agreement:
    shared: tuple[str, ...]  # class names both models know (in model A's order)
    iou: dict[str, float]  # per shared class used by either model: IoU of the two masks
    mean_iou: float  # over those classes (NaN when neither model uses any shared class)
    pixel_agreement: float  # share of pixels where both give the same class name
    disagree: np.ndarray  # (H, W) bool: where they differ


def agreement(mask_a: np.ndarray, classes_a: Sequence[str], mask_b: np.ndarray,
              classes_b: Sequence[str]) -> Agreement:
    """How much two models agree on one photo (see the module docstring)."""
    if mask_a.shape != mask_b.shape:
        raise ValueError(f"the masks differ in size: {mask_a.shape} and {mask_b.shape}")
    keys_b = {class_name_key(n): j for j, n in enumerate(classes_b)}
    # Model B's labels in model A's numbering; classes A does not know become -1.
    to_a = np.full(len(classes_b), -1, dtype=np.int64)
    shared = []
    for i, name in enumerate(classes_a):
        j = keys_b.get(class_name_key(name))
        if j is not None:
            to_a[j] = i
            shared.append(name)
    b_in_a = to_a[mask_b]
    same = mask_a == b_in_a
    iou = {}
    for name in shared:
        i = classes_a.index(name)
        a, b = mask_a == i, b_in_a == i
        union = int((a | b).sum())
        if union:
            iou[name] = int((a & b).sum()) / union
    mean = float(np.mean(list(iou.values()))) if iou else float("nan")
    return Agreement(tuple(shared), iou, mean, float(same.mean()), ~same)


def colormap(values: np.ndarray, vmin: float = 0.0, vmax: float = 1.0) -> np.ndarray:
    """``(H, W)`` numbers → ``(H, W, 3)`` uint8 viridis colours (``vmin`` dark purple, ``vmax`` yellow)."""
    span = (vmax - vmin) or 1.0
    t = np.clip((np.asarray(values, dtype=np.float32) - vmin) / span, 0.0, 1.0) * (len(_VIRIDIS) - 1)
    lo = np.floor(t).astype(np.int64).clip(0, len(_VIRIDIS) - 2)
    frac = (t - lo)[..., None]
    rgb = _VIRIDIS[lo] * (1 - frac) + _VIRIDIS[lo + 1] * frac  # (H, W, 3)
    return (rgb + 0.5).astype(np.uint8)


def mask_png(mask: np.ndarray, palette: np.ndarray) -> bytes:
    """The mask as a palette PNG: pixel value = class number, coloured by ``palette`` ``(C, 3)`` in viewers."""
    palette = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    if len(palette) > 256 or mask.max(initial=0) >= 256:
        raise ValueError("a palette PNG holds at most 256 classes")
    img = Image.fromarray(mask.astype(np.uint8))  # mode "L"; putpalette below makes it "P"
    flat = np.zeros((256, 3), dtype=np.uint8)
    flat[:len(palette)] = palette
    img.putpalette(flat.ravel().tolist())
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def png_bytes(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.asarray(rgb, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def areas_csv(mask: np.ndarray, classes: Sequence[str]) -> str:
    """One row per class present: ``class_index, class, pixels, share`` (share of all pixels, 0–1)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["class_index", "class", "pixels", "share"])
    for a in class_areas(mask, classes):
        writer.writerow([a.index, a.name, a.pixels, f"{a.share:.6f}"])
    return out.getvalue()
