r"""Segmentation as classification of every pixel: one-hot volumes, per-pixel softmax and cross-entropy.

A classifier maps an image to :math:`C` scores. A segmentation network maps it to a **volume** of
scores, :math:`C \times H \times W`: at each pixel :math:`(i, j)` a vector :math:`z_{:,i,j}` of
:math:`C` logits. Everything a classifier does to its one vector is done here at every pixel, along
the class dimension (``dim=0`` of a ``(C, H, W)`` volume, ``dim=1`` of torch's ``(N, C, H, W)``):

.. math::

    p_{c,i,j} = \frac{e^{z_{c,i,j}/T}}{\sum_{k=1}^{C} e^{z_{k,i,j}/T}}, \qquad
    \ell_{i,j} = -\log p_{y_{i,j},\,i,j}, \qquad
    \mathcal{L} = \frac{1}{HW}\sum_{i,j} \ell_{i,j}

The label map :math:`y` (``H x W`` class numbers) is the same information as a one-hot volume
:math:`Y` (``C x H x W``, a single 1 along ``C`` at every pixel), and the loss is also
:math:`\ell_{i,j} = -\sum_c Y_{c,i,j} \log p_{c,i,j}`. The prediction is the argmax along ``C``.

The temperature :math:`T` only divides the logits: :math:`T < 1` sharpens the probabilities,
:math:`T > 1` flattens them; the argmax never changes. The functions below spell the formulas out
(subtracting the maximum logit before ``exp``, as every stable softmax does) and are checked
against ``torch.softmax`` and ``F.cross_entropy(..., reduction="none")``.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from core.quiz import Question

__all__ = [
    "one_hot_volume",
    "synthetic_logits",
    "pixel_log_softmax",
    "pixel_softmax",
    "pixel_cross_entropy",
    "torch_pixel_softmax",
    "torch_pixel_cross_entropy",
    "PixelReport",
    "pixel_report",
    "pixelwise_questions",
]


def _labels(labels) -> torch.Tensor:
    labels = torch.as_tensor(np.asarray(labels) if not isinstance(labels, torch.Tensor) else labels)
    if labels.ndim != 2:
        raise ValueError(f"A label map is (H, W); got shape {tuple(labels.shape)}.")
    return labels.long()


def one_hot_volume(labels, num_classes: int) -> torch.Tensor:
    """The ``(H, W)`` label map as a ``(C, H, W)`` float volume with one 1 along ``C`` at every pixel."""
    labels = _labels(labels)
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"Labels must lie in 0..{num_classes - 1}.")
    eye = torch.eye(num_classes)  # row c is the one-hot vector of class c
    return eye[labels].permute(2, 0, 1).contiguous()  # (H, W, C) -> (C, H, W)


def synthetic_logits(labels, num_classes: int, margin: float = 3.0, noise: float = 1.0,
                     seed: int = 0) -> torch.Tensor:
    """Logits ``(C, H, W)`` of an imaginary network: ``margin`` for the true class plus Gaussian noise.

    With ``noise`` small against ``margin`` every pixel is classified right and confidently; raise the
    noise and some pixels flip to another class. The same seed always gives the same volume.
    """
    if noise < 0:
        raise ValueError("noise must not be negative.")
    g = torch.Generator().manual_seed(int(seed))
    onehot = one_hot_volume(labels, num_classes)  # (C, H, W)
    return margin * onehot + noise * torch.randn(onehot.shape, generator=g)  # (C, H, W)


def pixel_log_softmax(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """``log p`` along ``C`` of a ``(C, H, W)`` volume: ``(z - max) - log(sum exp(z - max))``.

    Subtracting each pixel's largest logit first keeps ``exp`` from overflowing; it changes nothing
    in the result, because it scales numerator and denominator of the softmax alike.
    """
    if temperature <= 0:
        raise ValueError("The temperature must be positive.")
    z = logits / temperature
    z = z - z.max(dim=0, keepdim=True).values  # (C, H, W); the largest logit of each pixel becomes 0
    return z - z.exp().sum(dim=0, keepdim=True).log()  # (C, H, W)


def pixel_softmax(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Softmax along ``C`` of a ``(C, H, W)`` volume: ``exp(z - max) / sum exp(z - max)``; sums to 1 per pixel."""
    return pixel_log_softmax(logits, temperature).exp()  # (C, H, W)


def pixel_cross_entropy(logits: torch.Tensor, labels, temperature: float = 1.0) -> torch.Tensor:
    """Per-pixel loss map ``(H, W)``: ``-log`` of the probability given to the true class."""
    labels = _labels(labels)
    log_p = pixel_log_softmax(logits, temperature)  # (C, H, W)
    return -log_p.gather(0, labels[None]).squeeze(0)  # (H, W): pick -log p[y_ij, i, j]


def torch_pixel_softmax(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """torch's own: ``torch.softmax(logits / T, dim=0)``."""
    return torch.softmax(logits / temperature, dim=0)


def torch_pixel_cross_entropy(logits: torch.Tensor, labels, temperature: float = 1.0) -> torch.Tensor:
    """torch's own: ``F.cross_entropy`` on the batch of one, ``(1, C, H, W)`` against ``(1, H, W)``."""
    labels = _labels(labels)
    return F.cross_entropy((logits / temperature)[None], labels[None], reduction="none")[0]  # (H, W)


@dataclass(frozen=True)
class PixelReport:
    """Everything the page says about one clicked pixel."""

    row: int
    col: int
    logits: list[float]  # C logits after dividing by the temperature
    probs: list[float]  # C probabilities, summing to 1
    label: int  # the true class
    argmax: int  # the predicted class
    loss: float  # -log probs[label]


def pixel_report(logits: torch.Tensor, labels, row: int, col: int, temperature: float = 1.0) -> PixelReport:
    """Read one pixel's column of the volume: its logits, probabilities, argmax and loss."""
    labels = _labels(labels)
    h, w = labels.shape
    if not (0 <= row < h and 0 <= col < w):
        raise ValueError(f"Pixel ({row}, {col}) is outside the {h} x {w} grid.")
    log_p = pixel_log_softmax(logits[:, row:row + 1, col:col + 1], temperature)[:, 0, 0]  # (C,)
    probs = log_p.exp()
    label = int(labels[row, col])
    return PixelReport(
        row=row,
        col=col,
        logits=(logits[:, row, col] / temperature).tolist(),
        probs=probs.tolist(),
        label=label,
        argmax=int(probs.argmax()),
        loss=float(-log_p[label]),
    )


def pixelwise_questions(rng: random.Random) -> list[Question]:
    """The size of the volume, one pixel's softmax, and a mean loss over a 2x2 map."""
    c, h, w = rng.randint(2, 21), rng.choice([4, 8, 13, 32]), rng.choice([4, 8, 23, 32])
    q_size = Question("volume_numbers", {"c": c, "h": h, "w": w}, float(c * h * w))
    z = [rng.randint(-2, 3) for _ in range(3)]
    t = rng.choice([1, 2])
    k = rng.randrange(3)
    probs = pixel_softmax(torch.tensor(z, dtype=torch.float64)[:, None, None], t)[:, 0, 0]
    q_soft = Question("pixel_softmax", {"z0": z[0], "z1": z[1], "z2": z[2], "t": t, "k": k},
                      round(float(probs[k]), 4), tolerance=0.005)
    ps = [rng.choice([1.0, 0.5, 0.25]) for _ in range(4)]
    loss = sum(-math.log(p) for p in ps) / 4
    q_mean = Question("mean_loss", {"p00": ps[0], "p01": ps[1], "p10": ps[2], "p11": ps[3]}, round(loss, 4),
                      tolerance=0.01)
    return [q_size, q_soft, q_mean]
