"""Typical mistakes of a segmentation, made on purpose from a ground truth, to see what each metric says.

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

import numpy as np

__all__ = ["shift", "erode", "dilate", "swap", "erase", "miss_small_classes", "boundary_band"]


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
