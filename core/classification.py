r"""Recap of image classification: one-hot labels, softmax, cross-entropy, and the classifier's head.

A classifier ends with :math:`C` scores (logits) :math:`z` per image. Softmax turns them into
probabilities, and the label :math:`y` is written as a **one-hot** vector :math:`Y` (a 1 at the true
class, 0 elsewhere). The **cross-entropy** between the two is

.. math::

    \ell = -\sum_{c=1}^{C} Y_c \log p_c = -\log p_y, \qquad p_c = \frac{e^{z_c}}{\sum_k e^{z_k}}

so only the probability of the true class matters, and the loss is 0 only when that probability is 1.
Averaged over a batch, this is ``F.cross_entropy``.

The **head** turns the backbone's feature map (``C_f x h x w``, typically ``h = H/32``) into the
``C`` scores. Two ways, both in the lecture:

* **flatten + fully connected**: ``C_f * h * w`` inputs, so ``C_f h w C + C`` parameters. The layer
  is built for one ``h x w``: a different input size changes ``h w`` and the matrix no longer fits.
* **global average pooling (GAP) + fully connected** (Lin et al., "Network in Network", 2014; used by
  ResNet): average each channel over space first, ``C_f`` inputs and ``C_f C + C`` parameters,
  whatever the input size. This is the first step towards a network that accepts any image size,
  which segmentation needs.

Parameter counts here come from real ``nn.Module`` objects, built on torch's ``meta`` device so that
even a head of a billion parameters costs no memory.
"""
from __future__ import annotations

import math
import random

import torch
import torch.nn as nn
import torch.nn.functional as F

from core.models.base import count_parameters  # noqa: F401  (the recap counts a head's parameters)
from core.quiz import Question

__all__ = [
    "one_hot",
    "softmax",
    "cross_entropy",
    "torch_cross_entropy",
    "feature_size",
    "flatten_head",
    "gap_head",
    "count_parameters",
    "head_parameters",
    "TinyClassifier",
    "try_forward",
    "recap_questions",
]


def one_hot(labels, num_classes: int) -> torch.Tensor:
    """``(N,)`` class numbers as ``(N, C)`` float one-hot rows (``F.one_hot(...).float()``)."""
    labels = torch.as_tensor(labels).long()
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"Labels must lie in 0..{num_classes - 1}.")
    return torch.eye(num_classes)[labels]  # row c of the identity is the one-hot vector of class c


def softmax(logits: torch.Tensor) -> torch.Tensor:
    """Softmax along the last dimension, written out with the usual max subtraction."""
    z = logits - logits.max(dim=-1, keepdim=True).values  # (N, C); shift so exp cannot overflow
    e = z.exp()
    return e / e.sum(dim=-1, keepdim=True)


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-sample loss ``(N,)`` = ``-sum_c Y_c log p_c`` for ``(N, C)`` logits and one-hot (or soft) targets."""
    z = logits - logits.max(dim=-1, keepdim=True).values  # (N, C)
    log_p = z - z.exp().sum(dim=-1, keepdim=True).log()  # (N, C) log-softmax
    return -(targets * log_p).sum(dim=-1)  # (N,)


def torch_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """torch's own: ``F.cross_entropy(logits, targets, reduction="none")`` with probability targets."""
    return F.cross_entropy(logits, targets, reduction="none")


def feature_size(input_size: int, stride: int = 32) -> int:
    """Side of the feature map after ``log2(stride)`` 3x3 convolutions of stride 2 and padding 1."""
    if stride < 1 or stride & (stride - 1):
        raise ValueError("The backbone stride must be a power of two.")
    size = input_size
    for _ in range(stride.bit_length() - 1):
        size = (size - 1) // 2 + 1  # conv arithmetic: floor((i + 2p - k) / s) + 1 with k=3, p=1, s=2
    return size


def flatten_head(channels: int, feat_h: int, feat_w: int, num_classes: int) -> nn.Sequential:
    """Flatten the ``(C_f, h, w)`` map and apply one fully connected layer: built for that ``h x w`` only."""
    return nn.Sequential(nn.Flatten(), nn.Linear(channels * feat_h * feat_w, num_classes))


def gap_head(channels: int, num_classes: int) -> nn.Sequential:
    """Average each channel over space, then one fully connected layer: any ``h x w`` fits."""
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes))


def head_parameters(kind: str, channels: int, input_size: int, num_classes: int, stride: int = 32) -> int:
    """Parameters of a ``"flatten"`` or ``"gap"`` head for a square input, counted on a real module."""
    side = feature_size(input_size, stride)
    with torch.device("meta"):  # shapes only: no memory, however large the layer
        if kind == "flatten":
            head = flatten_head(channels, side, side, num_classes)
        elif kind == "gap":
            head = gap_head(channels, num_classes)
        else:
            raise ValueError(f"Unknown head '{kind}'; valid heads are flatten, gap.")
    return count_parameters(head)


class TinyClassifier(nn.Module):
    """A small real classifier: five stride-2 convolutions (stride 32 in all), then a head.

    ``head="flatten"`` fixes the input size to ``built_for x built_for``; ``head="gap"`` does not.
    """

    def __init__(self, head: str, num_classes: int = 10, built_for: int = 224,
                 widths: tuple[int, ...] = (8, 16, 32, 64, 64)):
        super().__init__()
        layers, c_in = [], 3
        for c_out in widths:
            layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.ReLU(inplace=True)]
            c_in = c_out
        self.backbone = nn.Sequential(*layers)
        stride = 2 ** len(widths)
        side = feature_size(built_for, stride)
        self.head = flatten_head(c_in, side, side, num_classes) if head == "flatten" else gap_head(c_in, num_classes)
        self.feature_channels = c_in
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # contract: (N, 3, H, W) -> logits (N, num_classes)
        return self.head(self.backbone(x))  # (N, C_f, H/32, W/32) -> (N, num_classes)


def try_forward(model: nn.Module, height: int, width: int) -> tuple[tuple[int, ...] | None, str | None]:
    """Run a zero image of ``height x width`` through ``model``: ``(output shape, None)`` or ``(None, error)``.

    The error is torch's own message, for the page to show next to its explanation.
    """
    with torch.no_grad():
        try:
            return tuple(model(torch.zeros(1, 3, height, width)).shape), None
        except RuntimeError as err:
            return None, str(err).splitlines()[0]


def recap_questions(rng: random.Random) -> list[Question]:
    """A cross-entropy from one probability, and the parameters of both heads."""
    p = rng.choice([0.9, 0.8, 0.5, 0.25, 0.1, 0.05])
    q_ce = Question("ce_loss", {"p": p}, round(-math.log(p), 4), tolerance=0.01)
    c, k = rng.choice([64, 128, 256, 512]), rng.choice([10, 20, 100])
    side = rng.choice([64, 96, 128, 160, 192, 224, 256, 320])
    f = feature_size(side, 32)
    q_flat = Question("flatten_params", {"c": c, "side": side, "k": k, "f": f},
                      float(head_parameters("flatten", c, side, k)))
    c2, k2 = rng.choice([256, 512, 1024, 2048]), rng.choice([10, 100, 1000])
    q_gap = Question("gap_params", {"c": c2, "k": k2, "side": side}, float(head_parameters("gap", c2, side, k2)))
    return [q_ce, q_flat, q_gap]
