r"""What every segmentation network of the lecture shares: features, a head, and back to the input size.

A semantic-segmentation network answers with one score per class for every pixel. However different
the architectures look, they all do three things in the same order, and :class:`SegmentationModel`
owns that order once:

1. ``features = encoder(x)`` — an image ``(N, 3, H, W)`` becomes feature maps at smaller resolutions
   (strides 4 … 32), with more channels as the maps shrink;
2. ``logits = head(features)`` — the family's own idea of getting resolution back: FCN adds 1×1
   score maps from earlier layers, SegNet unpools with the encoder's max-pooling indices, U-Net
   concatenates encoder maps, HRNet never lets the high-resolution branch go, FPN merges a pyramid;
3. ``upsample(logits, (H, W))`` — whatever stride the head ends at, the scores are resized to the
   input, so the contract holds for any ``H, W >= 32`` (not only multiples of 32).

Concrete models only assemble parts. How each family is drawn (which module's output is which box,
and which arrows join them) lives apart, in :mod:`core.models.diagrams`; the shapes in the boxes are
measured on a real forward pass by :mod:`core.models.inspect`.
"""
from __future__ import annotations

import math
from dataclasses import fields, replace

import torch
import torch.nn.functional as F
from torch import nn

from core.ops.resample import bilinear_upsample_weight

__all__ = [
    "MIN_SIDE",
    "SegmentationModel",
    "Resize",
    "BilinearTransposed",
    "scaled",
    "check_input",
    "center_crop",
    "make_config",
    "ceil_div",
    "count_parameters",
]

MIN_SIDE = 32  # the smallest side every model accepts: five halvings still leave at least one cell


def scaled(channels: int, width: float, minimum: int = 4) -> int:
    """``channels × width`` rounded to a whole number of at least ``minimum`` (a width multiplier)."""
    return max(minimum, int(round(channels * width)))


def check_input(x: torch.Tensor) -> None:
    """Refuse an input the models cannot take, with a sentence that says how to fix it."""
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"the models take images shaped (N, 3, H, W); got {tuple(x.shape)}")
    if min(x.shape[-2:]) < MIN_SIDE:
        h, w = x.shape[-2:]
        raise ValueError(f"the input is {h}×{w}; both sides must be at least {MIN_SIDE} pixels "
                         f"(resize or pad it to at least {max(h, MIN_SIDE)}×{max(w, MIN_SIDE)})")


def center_crop(x: torch.Tensor, size) -> torch.Tensor:
    """The top-left ``size = (h, w)`` window of ``x``: undoes the rounding up of ceil-mode pooling.

    Every model here pools with ``ceil_mode=True``, so a cell at stride ``s`` covers pixels
    ``[i·s, (i+1)·s)`` and an upsampled map is aligned with the image from its top-left corner; the
    extra rows and columns at the bottom and right come from the last, partial cells.
    """
    h, w = int(size[0]), int(size[1])
    return x[..., :h, :w]  # (N, C, h, w)


class Resize(nn.Module):
    """Bilinear interpolation to a given size (no parameters): the last step of most heads."""

    def forward(self, x: torch.Tensor, size) -> torch.Tensor:
        if tuple(x.shape[-2:]) == tuple(size):
            return x
        return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)  # (N, C, H, W)


class BilinearTransposed(nn.ConvTranspose2d):
    r"""FCN's upsampling layer: a transposed convolution by ``factor``, initialised as bilinear interpolation.

    Kernel ``2f × 2f``, stride ``f``, padding ``f/2`` (FCN's choice; see
    :func:`core.ops.resample.bilinear_upsample_weight`), one kernel per class on the diagonal of the
    weight, so at initialisation it *is* bilinear upsampling; training may then change it (Long,
    Shelhamer & Darrell 2015 learn the ×2 layers and keep the last one fixed: ``learnable=False``).
    The output is ``factor`` times the input; ``forward(x, size)`` crops it to ``size``.
    """

    def __init__(self, channels: int, factor: int, learnable: bool = True):
        weight, stride, padding = bilinear_upsample_weight(channels, factor)
        super().__init__(channels, channels, weight.shape[-1], stride=stride, padding=padding, bias=False)
        self.factor = factor
        with torch.no_grad():
            self.weight.copy_(weight.to(self.weight.dtype))
        self.weight.requires_grad_(learnable)

    def reset_parameters(self) -> None:  # nn.ConvTranspose2d calls this while building; the init is ours
        if hasattr(self, "factor"):
            weight, _, _ = bilinear_upsample_weight(self.in_channels, self.factor)
            with torch.no_grad():
                self.weight.copy_(weight.to(self.weight.dtype))

    def forward(self, x: torch.Tensor, size=None) -> torch.Tensor:
        y = super().forward(x)  # (N, C, f·h, f·w)
        return y if size is None else center_crop(y, size)  # (N, C, *size)


class SegmentationModel(nn.Module):
    """encoder → head → upsample to the input size.

    ``encoder(x)`` returns whatever the head needs (a list of maps, or maps and pooling indices);
    ``head(features)`` returns class scores at some stride; ``upsample(logits, size)`` brings them to
    the input's ``(H, W)``.
    """

    def __init__(self, encoder: nn.Module, head: nn.Module, upsample: nn.Module, num_classes: int):
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.upsample = upsample
        self.num_classes = num_classes

    # contract: forward(x (N, 3, H, W)) returns logits (N, num_classes, H, W), for any H, W >= 32
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x)
        features = self.encoder(x)
        logits = self.head(features)  # (N, num_classes, H/s, W/s) for the family's stride s
        return self.upsample(logits, x.shape[-2:])  # (N, num_classes, H, W)


def make_config(cls, config=None, paper: bool = False, overrides: dict | None = None):
    """A family's configuration: ``config`` if given, else the small default or ``cls.paper()``, then overrides.

    An unknown field raises a ``TypeError`` that names the valid ones.
    """
    base = config if config is not None else (cls.paper() if paper else cls())
    overrides = dict(overrides or {})
    valid = {f.name for f in fields(cls)}
    unknown = sorted(set(overrides) - valid)
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {', '.join(unknown)}; "
                        f"valid fields are {', '.join(sorted(valid))}")
    return replace(base, **overrides)


def ceil_div(size: int, stride: int) -> int:
    """Side of a map at ``stride`` when every halving rounds up (ceil-mode pooling, stride-2 convs)."""
    return math.ceil(size / stride)


def count_parameters(model: nn.Module) -> int:
    """The number of learned numbers in ``model``."""
    return sum(p.numel() for p in model.parameters())
