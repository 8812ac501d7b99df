r"""The VGG-16 convolution stages that FCN and SegNet both start from (Simonyan & Zisserman, 2015).

Thirteen 3×3 convolutions in five stages (2, 2, 3, 3, 3 convolutions), each stage followed by a 2×2 max
pooling that halves the map: strides 2, 4, 8, 16, 32 and 64 → 128 → 256 → 512 → 512 channels.
``width`` multiplies every channel count (``width=1`` is the paper's network); SegNet adds batch norm
after every convolution (VGG-16-BN). Pooling rounds up (``ceil_mode=True``) so odd sides keep their
last row and column.

:func:`torchvision_vgg16_bn_keys` pairs our parameter names with torchvision's ``vgg16_bn`` so that
ImageNet weights, when present, can initialise SegNet's encoder.
"""
from __future__ import annotations

from torch import nn

from core.models.base import scaled

__all__ = ["VGG16_STAGES", "stage_channels", "conv_block", "vgg_stage", "torchvision_vgg16_bn_keys"]

VGG16_STAGES: tuple[tuple[int, ...], ...] = (
    (64, 64),
    (128, 128),
    (256, 256, 256),
    (512, 512, 512),
    (512, 512, 512),
)


def stage_channels(width: float) -> list[list[int]]:
    """VGG-16's channel counts per stage, multiplied by ``width``."""
    return [[scaled(c, width) for c in stage] for stage in VGG16_STAGES]


class conv_block(nn.Sequential):  # noqa: N801 - reads like the layer it is
    """3×3 convolution (padding 1: same size), optional batch norm, ReLU."""

    def __init__(self, c_in: int, c_out: int, batch_norm: bool):
        layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 3, padding=1)]
        if batch_norm:
            layers.append(nn.BatchNorm2d(c_out))
        layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


def vgg_stage(c_in: int, channels: list[int], batch_norm: bool) -> nn.Sequential:
    """One VGG stage: its 3×3 conv blocks, same resolution throughout (pooling comes after)."""
    blocks, c = [], c_in
    for c_out in channels:
        blocks.append(conv_block(c, c_out, batch_norm))
        c = c_out
    return nn.Sequential(*blocks)


def torchvision_vgg16_bn_keys(prefix: str) -> dict[str, str]:
    """Our key → torchvision ``vgg16_bn`` key, for the 13 conv + BN pairs of an encoder at ``prefix``.

    torchvision numbers the layers of ``features`` in one run (conv, BN, ReLU, …, pool, …); ours are
    ``{prefix}stage{s}.{b}.{0 conv | 1 BN}``.
    """
    mapping: dict[str, str] = {}
    index = 0
    for s, stage in enumerate(VGG16_STAGES, start=1):
        for b in range(len(stage)):
            conv, bn = index, index + 1
            for name in ("weight", "bias"):
                mapping[f"{prefix}stage{s}.{b}.0.{name}"] = f"features.{conv}.{name}"
            for name in ("weight", "bias", "running_mean", "running_var"):
                mapping[f"{prefix}stage{s}.{b}.1.{name}"] = f"features.{bn}.{name}"
            index += 3  # conv, BN, ReLU
        index += 1  # the max pooling at the end of the stage
    return mapping
