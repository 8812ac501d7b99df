r"""The lecture's segmentation architectures as PyTorch modules, built by name.

>>> from core import models
>>> model = models.build("fcn8s", num_classes=5)            # small: trains on a CPU in class
>>> paper = models.build("segnet", num_classes=12, paper=True)  # the paper's widths
>>> model(torch.randn(1, 3, 97, 130)).shape                   # any H, W >= 32
torch.Size([1, 5, 97, 130])

=================  =====================================================  ===========================
name               idea                                                   module
=================  =====================================================  ===========================
``fcn32s``         VGG-16 made fully convolutional, one ×32 step           :mod:`core.models.fcn`
``fcn16s``         + a skip from pool4 (stride 16)                         :mod:`core.models.fcn`
``fcn8s``          + a skip from pool3 (stride 8)                          :mod:`core.models.fcn`
``segnet``         decoder unpools with the encoder's pooling indices      :mod:`core.models.segnet`
``unet``           decoder concatenates the encoder's maps                 :mod:`core.models.unet`
``hrnet``          parallel resolutions, fused again and again (HRNetV2)   :mod:`core.models.hrnet`
``fpn``            ResNet + feature pyramid + Panoptic FPN semantic head   :mod:`core.models.fpn`
``pose_hrnet_w32`` the official pose HRNet-W32 (heatmaps at stride 4)      :mod:`core.models.hrnet`
=================  =====================================================  ===========================

Every segmentation model maps ``(N, 3, H, W)`` to logits ``(N, num_classes, H, W)``. Keyword
arguments: ``paper=True`` for the paper's size, any field of the family's config (``width=0.25``),
``weights`` where a family has pretrained weights (SegNet's ``"imagenet"`` encoder; a state dict for
``pose_hrnet_w32``).
"""
from __future__ import annotations

from functools import partial

from torch import nn

from core.models.base import MIN_SIDE, SegmentationModel  # noqa: F401
from core.models.fcn import FCNConfig, build_fcn
from core.models.fpn import FPNConfig, build_fpn
from core.models.hrnet import HRNetConfig, build_hrnet, build_pose_hrnet
from core.models.segnet import SegNetConfig, build_segnet
from core.models.unet import UNetConfig, build_unet

__all__ = ["build", "available", "config_class", "SEGMENTATION", "MIN_SIDE", "SegmentationModel"]

_REGISTRY = {
    "fcn32s": partial(build_fcn, skips=0),
    "fcn16s": partial(build_fcn, skips=1),
    "fcn8s": partial(build_fcn, skips=2),
    "segnet": build_segnet,
    "unet": build_unet,
    "hrnet": build_hrnet,
    "fpn": build_fpn,
    "pose_hrnet_w32": build_pose_hrnet,
}

_CONFIGS = {
    "fcn32s": FCNConfig, "fcn16s": FCNConfig, "fcn8s": FCNConfig, "segnet": SegNetConfig, "unet": UNetConfig,
    "hrnet": HRNetConfig, "fpn": FPNConfig, "pose_hrnet_w32": HRNetConfig,
}

# The names that output per-pixel class scores at the input size (pose_hrnet_w32 outputs heatmaps).
SEGMENTATION = ("fcn32s", "fcn16s", "fcn8s", "segnet", "unet", "hrnet", "fpn")


def available() -> list[str]:
    """Every name :func:`build` knows, segmentation models first."""
    return list(_REGISTRY)


def config_class(name: str):
    """The configuration dataclass of ``name`` (its fields are the keyword arguments :func:`build` takes)."""
    try:
        return _CONFIGS[name]
    except KeyError:
        raise ValueError(f"unknown model '{name}'; valid names are {', '.join(_REGISTRY)}") from None


def build(name: str, num_classes: int, **kw) -> nn.Module:
    """Build the model ``name`` with ``num_classes`` outputs; ``kw`` go to the family's builder."""
    try:
        builder = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model '{name}'; valid names are {', '.join(_REGISTRY)}") from None
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a whole number of at least 1, got {num_classes!r}")
    return builder(num_classes=num_classes, **kw)
