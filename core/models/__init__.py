r"""The lecture's networks, segmentation and pose, as PyTorch modules built by name from one registry.

>>> from core import models
>>> model = models.build("fcn8s", num_classes=5)            # small: trains on a CPU in class
>>> paper = models.build("segnet", num_classes=12, paper=True)  # the paper's widths
>>> model(torch.randn(1, 3, 97, 130)).shape                   # any H, W >= 32
torch.Size([1, 5, 97, 130])

====================  =====================================================  =========================
name                  idea                                                   module
====================  =====================================================  =========================
``fcn32s``            VGG-16 made fully convolutional, one ×32 step          :mod:`core.models.fcn`
``fcn16s``            + a skip from pool4 (stride 16)                        :mod:`core.models.fcn`
``fcn8s``             + a skip from pool3 (stride 8)                         :mod:`core.models.fcn`
``segnet``            decoder unpools with the encoder's pooling indices     :mod:`core.models.segnet`
``unet``              decoder concatenates the encoder's maps                :mod:`core.models.unet`
``hrnet``             parallel resolutions, fused again and again (HRNetV2)  :mod:`core.models.hrnet`
``fpn``               ResNet + feature pyramid + Panoptic FPN semantic head  :mod:`core.models.fpn`
``pose_hrnet_w32``    the official pose HRNet-W32 (heatmaps at stride 4)     :mod:`core.models.hrnet`
``pose_hrnet_small``  the pose HRNet at a lesson's budget                    :mod:`core.models.pose`
``pose_hourglass``    an encoder–decoder with heatmaps, HRNet's budget       :mod:`core.models.pose`
``pose_regression``   the hourglass's trunk, (x, y) regressed per joint      :mod:`core.models.pose`
====================  =====================================================  =========================

Every segmentation model maps ``(N, 3, H, W)`` to logits ``(N, num_classes, H, W)``; the pose models
take ``num_classes`` = the number of joints and give one heatmap per joint at stride 4, or (for
``pose_regression``) ``(N, joints, 2)`` coordinates as fractions of the image side. Keyword
arguments: ``paper=True`` for the paper's size, any field of the family's config (``width=0.25``),
``weights`` where a family has pretrained weights (SegNet's ``"imagenet"`` encoder; a state dict for
the pose models), ``budget="tiny" | "small"`` for the pose case study's three. Each entry of the one
registry (:class:`Entry`) says how to build the model, its config class, what kind of answer it gives
and its idea; :func:`build`, :func:`available`, :func:`config_class` and :data:`SEGMENTATION` read it.
How each model is drawn is in :mod:`core.models.diagrams`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from torch import nn

from core.models.base import MIN_SIDE, SegmentationModel  # noqa: F401
from core.models.fcn import FCNConfig, build_fcn
from core.models.fpn import FPNConfig, build_fpn
from core.models.hrnet import HRNetConfig, build_hrnet, build_pose_hrnet
from core.models.pose import (
    HourglassConfig,
    build_pose_hourglass,
    build_pose_hrnet_small,
    build_pose_regression,
)
from core.models.segnet import SegNetConfig, build_segnet
from core.models.unet import UNetConfig, build_unet

__all__ = ["Entry", "entry", "build", "available", "config_class", "SEGMENTATION", "MIN_SIDE", "SegmentationModel"]

KINDS = ("segmentation", "heatmaps", "coordinates")  # what a model answers; see Entry.kind


@dataclass(frozen=True)
class Entry:
    builder: Callable[..., nn.Module]  # keyword-only: num_classes=, weights=None, config fields; wires the parts
    config: type  # the config dataclass: its fields are the keyword arguments build takes besides num_classes
    kind: str  # segmentation: logits (N, C, H, W); heatmaps: (N, joints, ⌈H/4⌉, ⌈W/4⌉); coordinates: (N, joints, 2)
    idea: str  # one line: what the model adds to the lecture (the table above)


_REGISTRY = {  # the only table of models; read, never changed
    "fcn32s": Entry(partial(build_fcn, skips=0), FCNConfig, "segmentation",
                    "VGG-16 made fully convolutional, one ×32 step"),
    "fcn16s": Entry(partial(build_fcn, skips=1), FCNConfig, "segmentation", "+ a skip from pool4 (stride 16)"),
    "fcn8s": Entry(partial(build_fcn, skips=2), FCNConfig, "segmentation", "+ a skip from pool3 (stride 8)"),
    "segnet": Entry(build_segnet, SegNetConfig, "segmentation", "decoder unpools with the encoder's pooling indices"),
    "unet": Entry(build_unet, UNetConfig, "segmentation", "decoder concatenates the encoder's maps"),
    "hrnet": Entry(build_hrnet, HRNetConfig, "segmentation", "parallel resolutions, fused again and again (HRNetV2)"),
    "fpn": Entry(build_fpn, FPNConfig, "segmentation", "ResNet + feature pyramid + Panoptic FPN semantic head"),
    "pose_hrnet_w32": Entry(build_pose_hrnet, HRNetConfig, "heatmaps",
                            "the official pose HRNet-W32 (heatmaps at stride 4)"),
    "pose_hrnet_small": Entry(build_pose_hrnet_small, HRNetConfig, "heatmaps",
                              "the pose HRNet at a lesson's budget"),
    "pose_hourglass": Entry(build_pose_hourglass, HourglassConfig, "heatmaps",
                            "an encoder–decoder with heatmaps, HRNet's budget"),
    "pose_regression": Entry(build_pose_regression, HourglassConfig, "coordinates",
                             "the hourglass's trunk, (x, y) regressed per joint"),
}


def entry(name: str) -> Entry:
    """The registry's entry of ``name``; an unknown name raises a ``ValueError`` that lists the valid ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model '{name}'; valid names are {', '.join(_REGISTRY)}") from None


def available(kind: str | None = None) -> list[str]:
    """Every name :func:`build` knows (segmentation models first), or those of one ``kind`` of answer."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown kind '{kind}'; valid kinds are {', '.join(KINDS)}")
    return [name for name, entry in _REGISTRY.items() if kind is None or entry.kind == kind]


# The names that output per-pixel class scores at the input size (the pose models output heatmaps or points).
SEGMENTATION = tuple(available("segmentation"))


def config_class(name: str):
    """The configuration dataclass of ``name`` (its fields are the keyword arguments :func:`build` takes)."""
    return entry(name).config


def build(name: str, num_classes: int, **kw) -> nn.Module:
    """Build the model ``name`` with ``num_classes`` outputs; ``kw`` go to the family's builder."""
    builder = entry(name).builder
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a whole number of at least 1, got {num_classes!r}")
    return builder(num_classes=num_classes, **kw)
