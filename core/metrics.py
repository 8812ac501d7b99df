r"""Measuring a segmentation: the confusion matrix and the scores read from it.

A segmentation is a classification of every pixel, so it is measured like one, pixel by pixel.
Everything starts from the **confusion matrix** :math:`M` of a prediction against the ground truth:
:math:`M_{ij}` counts the pixels whose true class is :math:`i` (row) and whose predicted class is
:math:`j` (column). Its diagonal holds the correct pixels; a row sum is the true area of a class,
a column sum the area the model gave it. From :math:`M`:

.. math::

    \text{pixel accuracy} = \frac{\sum_i M_{ii}}{\sum_{ij} M_{ij}}, \qquad
    \text{IoU}_c = \frac{M_{cc}}{\sum_j M_{cj} + \sum_i M_{ic} - M_{cc}}, \qquad
    \text{Dice}_c = \frac{2 M_{cc}}{\sum_j M_{cj} + \sum_i M_{ic}}

IoU (intersection over union, the Jaccard index) is ``TP / (TP + FP + FN)`` for one class; Dice (the
F1 score) is ``2 TP / (2 TP + FP + FN)``, always ``2 IoU / (1 + IoU)``, so both rank predictions alike.
The **mean IoU** averages IoU over classes, each class counting once whatever its area: this is why a
model that ignores a small class keeps a high pixel accuracy but loses a whole class's share of mIoU.

Two conventions that evaluation code must state, and this module follows those of the PASCAL VOC and
Cityscapes benchmarks:

* ``ignore_index`` — pixels whose *true* label is this value (VOC marks object borders with 255) are
  not counted at all, whatever was predicted there.
* a class absent from both the ground truth and the prediction has ``0 / 0`` IoU: it is reported as
  NaN and left out of the mean, rather than counted as a perfect 1 or a failing 0.

The confusion matrix is built with one ``torch.bincount`` over ``true * C + pred``, so it runs on
whatever device the labels live on (a GPU during training) without a Python loop. Inputs may be
torch tensors or numpy arrays of any shape, as long as prediction and target have the same shape.

**Mistakes made on purpose.** The last part of this module makes the typical mistakes of a segmentation
from a ground truth, to see what each score says of them:

* **shift** — the whole map moves by a few pixels (misregistered output, an off-by-one crop);
* **erode** / **dilate** — one class loses or gains a band of pixels at its border (blurry or
  over-confident boundaries; upsampling from a coarse map does both);
* **swap** — one class is predicted as another everywhere (a confusion the matrix shows off the
  diagonal);
* **miss small classes** — every class under a share of the image vanishes into its surroundings: the
  pixel accuracy hardly moves, the mean IoU loses each missed class's whole share.

All work on ``(H, W)`` integer label maps (numpy) and return a new map; neighbours are the 4 pixels
above, below, left and right.
"""
from __future__ import annotations

import math
import random

import numpy as np
import torch

from core.quiz import Question

__all__ = [
    "confusion_matrix",
    "confusion_matrix_one_hot",
    "counts_per_class",
    "pixel_accuracy",
    "class_accuracy",
    "iou_per_class",
    "mean_iou",
    "dice_per_class",
    "mean_dice",
    "summary",
    "largest_confusion",
    "metrics_questions",
    "shift", "erode", "dilate", "swap", "erase", "miss_small_classes", "boundary_band",
]


def _as_tensor(x) -> torch.Tensor:
    """Labels or a matrix as a tensor, without copying a tensor that already is one."""
    if isinstance(x, torch.Tensor):
        return x
    return torch.as_tensor(np.asarray(x))


def _counted_labels(pred, target, num_classes: int, ignore_index: int | None):
    """Flattened (pred, target) of the pixels that count, after checking shapes and label ranges."""
    pred, target = _as_tensor(pred), _as_tensor(target)
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}.")
    if pred.shape != target.shape:
        raise ValueError(
            f"The prediction has shape {tuple(pred.shape)} but the ground truth has shape "
            f"{tuple(target.shape)}; they must cover the same pixels."
        )
    if pred.is_floating_point() or target.is_floating_point():
        raise ValueError(
            "Labels must be whole class numbers; take argmax over the class dimension of the logits first."
        )
    pred = pred.reshape(-1).long().to(target.device)  # (P,)
    target = target.reshape(-1).long()  # (P,)
    if ignore_index is not None:
        keep = target != ignore_index
        pred, target = pred[keep], target[keep]
    for name, labels in (("ground truth", target), ("prediction", pred)):
        bad = labels[(labels < 0) | (labels >= num_classes)]
        if bad.numel():
            raise ValueError(
                f"The {name} contains label {int(bad[0])}, outside the classes 0..{num_classes - 1}"
                + (" and not the ignored label." if ignore_index is not None else ".")
            )
    return pred, target


def confusion_matrix(pred, target, num_classes: int, ignore_index: int | None = None) -> torch.Tensor:
    """The ``(C, C)`` int64 confusion matrix: rows are the true class, columns the predicted one.

    ``pred`` and ``target`` hold class numbers and share one shape (``(H, W)``, ``(N, H, W)``, ...).
    Pixels whose target equals ``ignore_index`` are not counted. Runs on the target's device.
    """
    pred, target = _counted_labels(pred, target, num_classes, ignore_index)
    # Each (true, predicted) pair gets its own bin number true*C + pred; counting bins fills M row by row.
    bins = torch.bincount(target * num_classes + pred, minlength=num_classes * num_classes)  # (C*C,)
    return bins.reshape(num_classes, num_classes)  # (C, C)


def confusion_matrix_one_hot(pred, target, num_classes: int, ignore_index: int | None = None) -> torch.Tensor:
    """The same matrix by a second road: ``one_hot(target)^T @ one_hot(pred)``.

    Each pixel contributes the outer product of its true and predicted one-hot vectors. Slower and
    heavier in memory than :func:`confusion_matrix`; kept to check it on the pages and in the tests.
    """
    pred, target = _counted_labels(pred, target, num_classes, ignore_index)
    t = torch.nn.functional.one_hot(target, num_classes).double()  # (P, C)
    p = torch.nn.functional.one_hot(pred, num_classes).double()  # (P, C)
    return (t.T @ p).round().long()  # (C, C)


def _matrix(cm) -> torch.Tensor:
    cm = _as_tensor(cm).double()
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"A confusion matrix is square (C, C); got shape {tuple(cm.shape)}.")
    return cm


def _ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """num / den, with NaN where den is 0 (a class that appears nowhere)."""
    return torch.where(den > 0, num / den.clamp(min=1), torch.full_like(num, math.nan))


def counts_per_class(cm) -> dict[str, torch.Tensor]:
    """``tp`` (the diagonal), ``fp`` (predicted as c but not c: column minus diagonal), ``fn`` (c missed:
    row minus diagonal), each ``(C,)`` int64."""
    cm = _as_tensor(cm).long()
    tp = cm.diagonal()
    return {"tp": tp, "fp": cm.sum(dim=0) - tp, "fn": cm.sum(dim=1) - tp}


def pixel_accuracy(cm) -> float:
    """Correct pixels over counted pixels: ``trace(M) / sum(M)``; NaN when no pixel counts."""
    cm = _matrix(cm)
    total = cm.sum()
    return float(cm.diagonal().sum() / total) if total > 0 else math.nan


def class_accuracy(cm) -> torch.Tensor:
    """Per class, the share of its true pixels predicted right (recall): ``M_cc / row_c``; NaN if absent."""
    cm = _matrix(cm)
    return _ratio(cm.diagonal(), cm.sum(dim=1))


def iou_per_class(cm) -> torch.Tensor:
    """``TP / (TP + FP + FN)`` per class, float64 ``(C,)``; NaN for a class absent from both maps."""
    cm = _matrix(cm)
    tp = cm.diagonal()
    union = cm.sum(dim=1) + cm.sum(dim=0) - tp  # true area + predicted area - overlap
    return _ratio(tp, union)


def mean_iou(cm) -> float:
    """Mean of :func:`iou_per_class` over the classes present in the ground truth or the prediction."""
    iou = iou_per_class(cm)
    present = ~torch.isnan(iou)
    return float(iou[present].mean()) if present.any() else math.nan


def dice_per_class(cm) -> torch.Tensor:
    """``2 TP / (2 TP + FP + FN)`` per class (the F1 score), float64 ``(C,)``; NaN when absent from both."""
    cm = _matrix(cm)
    tp = cm.diagonal()
    return _ratio(2 * tp, cm.sum(dim=1) + cm.sum(dim=0))


def mean_dice(cm) -> float:
    """Mean of :func:`dice_per_class` over the classes present in the ground truth or the prediction."""
    dice = dice_per_class(cm)
    present = ~torch.isnan(dice)
    return float(dice[present].mean()) if present.any() else math.nan


def largest_confusion(cm) -> tuple[int, int, float] | None:
    """``(true, predicted, share)``: the class pair with the largest share of the true class's pixels given
    to another class, i.e. the brightest cell off the diagonal of the row-normalised matrix; None when no
    pixel is given to a wrong class. Ties go to the first row, then the first column."""
    cm = _matrix(cm)
    rows = cm.sum(dim=1, keepdim=True)
    share = torch.where(rows > 0, cm / rows.clamp(min=1), torch.zeros_like(cm))  # (C, C), rows sum to 1
    share.fill_diagonal_(0)
    if not share.max() > 0:
        return None
    true, pred = divmod(int(share.argmax()), cm.shape[1])
    return true, pred, float(share[true, pred])


def summary(cm) -> dict:
    """All scores of one confusion matrix as plain Python numbers (lists per class; NaN = absent)."""
    return {
        "pixel_accuracy": pixel_accuracy(cm),
        "mean_iou": mean_iou(cm),
        "mean_dice": mean_dice(cm),
        "iou": iou_per_class(cm).tolist(),
        "dice": dice_per_class(cm).tolist(),
        "class_accuracy": class_accuracy(cm).tolist(),
    }


def metrics_questions(rng: random.Random) -> list[Question]:
    """IoU from counts, Dice from IoU, and the mean IoU of a model that misses a small class."""
    tp, fp, fn = rng.randint(10, 90), rng.randint(0, 40), rng.randint(0, 40)
    cm = torch.tensor([[tp, fn], [fp, 0]])  # class 0's row and column carry TP, FN and FP
    q_iou = Question("iou", {"tp": tp, "fp": fp, "fn": fn}, round(float(iou_per_class(cm)[0]), 4), tolerance=0.005)
    i = rng.choice([0.2, 0.25, 0.5, 0.6, 0.75, 0.8])
    q_dice = Question("dice_from_iou", {"iou": i}, round(2 * i / (1 + i), 4), tolerance=0.005)
    big = rng.choice([90, 95, 96, 98, 99])
    small = 100 - big  # percent of the pixels; the model predicts the big class everywhere
    cm = torch.tensor([[big, 0], [small, 0]])
    q_miou = Question("miou_missed", {"big": big, "small": small, "acc": big}, round(mean_iou(cm), 4),
                      tolerance=0.005)
    return [q_iou, q_dice, q_miou]


# --- mistakes made on purpose from a ground truth ---------------------------------------------------
def _check(labels) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"A label map is (H, W); got shape {labels.shape}.")
    return labels.astype(np.int64, copy=True)


def _neighbours(labels: np.ndarray) -> list[np.ndarray]:
    """The label above, below, left and right of every pixel (the border repeats itself)."""
    p = np.pad(labels, 1, mode="edge")
    return [p[:-2, 1:-1], p[2:, 1:-1], p[1:-1, :-2], p[1:-1, 2:]]


def shift(labels, dy: int = 0, dx: int = 0) -> np.ndarray:
    """Move the map ``dy`` rows down and ``dx`` columns right; the uncovered border repeats the edge."""
    labels = _check(labels)
    h, w = labels.shape
    rows = np.clip(np.arange(h) - dy, 0, h - 1)
    cols = np.clip(np.arange(w) - dx, 0, w - 1)
    return labels[rows][:, cols]


def erode(labels, cls: int, steps: int = 1) -> np.ndarray:
    """Peel ``steps`` one-pixel layers off class ``cls``: a border pixel takes a neighbouring other class."""
    out = _check(labels)
    for _ in range(steps):
        fill = np.full_like(out, -1)
        for nb in _neighbours(out):  # the first neighbour (up, down, left, right) of another class wins
            fill = np.where((fill < 0) & (nb != cls), nb, fill)
        peel = (out == cls) & (fill >= 0)
        if not peel.any():
            break
        out[peel] = fill[peel]
    return out


def dilate(labels, cls: int, steps: int = 1) -> np.ndarray:
    """Grow class ``cls`` by ``steps`` one-pixel layers over its neighbours."""
    out = _check(labels)
    for _ in range(steps):
        touch = np.zeros(out.shape, dtype=bool)
        for nb in _neighbours(out):
            touch |= nb == cls
        out[touch] = cls
    return out


def swap(labels, a: int, b: int) -> np.ndarray:
    """Predict class ``a`` as ``b`` and ``b`` as ``a``."""
    labels = _check(labels)
    out = labels.copy()
    out[labels == a] = b
    out[labels == b] = a
    return out


def erase(labels, cls: int) -> np.ndarray:
    """Let class ``cls`` vanish completely into the classes around it (erode until nothing is left)."""
    out = _check(labels)
    if (out == cls).all():
        return out  # nothing else to fill with
    while (out == cls).any():
        out = erode(out, cls, 1)
    return out


def miss_small_classes(labels, max_share: float = 0.05) -> np.ndarray:
    """Erase every class that covers less than ``max_share`` of the pixels (the imbalance trap)."""
    out = _check(labels)
    classes, counts = np.unique(out, return_counts=True)
    for c, n in zip(classes, counts):
        if n / out.size < max_share:
            out = erase(out, int(c))
    return out


def boundary_band(labels, width: int = 1) -> np.ndarray:
    """Bool mask of pixels within ``width`` of a class change: where PASCAL VOC puts its 'ignore' label."""
    labels = _check(labels)
    band = np.zeros(labels.shape, dtype=bool)
    for nb in _neighbours(labels):
        band |= nb != labels
    for _ in range(width - 1):
        grown = band.copy()
        for nb in _neighbours(band.astype(np.int64)):
            grown |= nb.astype(bool)
        band = grown
    return band
