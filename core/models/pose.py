r"""The pose networks of the case study: a small HRNet, an hourglass of the same budget, and a coordinate head.

Pose estimation as dense regression: a heatmap per joint, learned by per-pixel MSE, decoded to a point.

The lecture's case study (trained by :mod:`core.training.pose`). A keypoint is not predicted as two numbers but as a probability map: for
each of the :math:`K` joints the network outputs a heatmap at stride :math:`s` (4 here, as in HRNet),
trained towards a Gaussian centred on the joint (:mod:`core.heatmaps`) with the mean squared error at
every pixel — regression, at every pixel, exactly like segmentation is classification at every pixel:

.. math:: \mathcal{L} = \frac{1}{\sum_k v_k}\sum_k v_k \,\frac{1}{hw}\sum_{u,v}\big(\hat H_k(u,v) - G_k(u,v)\big)^2

(:math:`v_k` = 1 for a labelled joint, 0 for one outside the picture). The point is read back as the
top of the predicted hill (argmax, refined to sub-cell precision).

**Why a heatmap beats regressing (x, y) directly** (DeepPose, Toshev & Szegedy, CVPR 2014, regressed
the coordinates; Tompson et al., NeurIPS 2014, and every strong model since predict heatmaps):

* *Where is kept where it is.* A fully convolutional network is translation-equivariant: move the
  person and the hill moves with it, because the same small detector runs at every position. A
  coordinate head must turn "what the features look like" into a number, and after global pooling the
  features say *what* is in the image and only indirectly *where* (:class:`CoordinateRegression` is
  the same network as :class:`PoseHourglass` with such a head instead of the heatmap layer).
* *Dense supervision.* Every one of the :math:`h \times w` cells gets a target and a gradient; a
  coordinate head gets two numbers per joint.
* *Doubt has a shape.* Unsure between two places, a heatmap holds two hills; a regressed coordinate
  averages them into a point in between, where no joint is.

**HRNet versus an encoder–decoder.** An encoder–decoder (the stacked hourglass of Newell, Yang & Deng,
ECCV 2016, or the U-Net shape of :class:`PoseHourglass`) goes down to stride 32 and rebuilds stride 4
from the bottleneck plus skip connections. HRNet (:mod:`core.models.hrnet`, Sun et al., CVPR 2019)
keeps a stride-4 branch all the way and fuses it again and again with the lower branches, so the
fine position is never thrown away and rebuilt. :func:`build_pose_model` gives both with the same
parameter budget (their names in :mod:`core.models`: ``pose_hrnet_small``, ``pose_hourglass`` and
``pose_regression``). At these tiny budgets the encoder–decoder learns faster on the synthetic figures:
HRNet's branches have C, 2C, 4C and 8C channels, so most of its parameters sit in the coarse branches
and its stride-4 branch — the one the heatmaps are read from — is only C = 8 or 16 channels wide.

Departures from the papers: tiny widths and depths so a CPU trains them in a lesson; the synthetic
stick people of :mod:`core.data.poses` instead of COCO; PCK is measured against the figure's size
(the longer side of its joints' bounding box), not the head or torso segment.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn

from core.data.poses import JOINTS
from core.models.base import center_crop, check_input, count_parameters, make_config
from core.models.blocks import BN_MOMENTUM
from core.models.hrnet import HRNetConfig, PoseHighResolutionNet, build_pose_hrnet
from core.models.unet import DoubleConv

STRIDE = 4  # the heatmaps' stride: HRNet's highest branch, and the hourglass's output level
# The case study's words for its contenders, and their names in the registry of :mod:`core.models`.
REGISTRY_NAMES = {"hrnet": "pose_hrnet_small", "hourglass": "pose_hourglass", "regression": "pose_regression"}
KINDS = tuple(REGISTRY_NAMES)
# HRNet sizes that a CPU trains during a lesson (the `hrnet` family's config; the paper's W32 has 28.5 M).
BUDGETS = {
    "tiny": HRNetConfig(width=8, stem_channels=16, layer1_blocks=1, modules=(1, 1, 1), blocks=1),
    "small": HRNetConfig(width=16, stem_channels=32, layer1_blocks=1, modules=(1, 1, 1), blocks=1),
}


# --- the contenders ---------------------------------------------------------------------------------

def build_pose_hrnet_small(*, num_classes: int = len(JOINTS), budget: str = "tiny", config: HRNetConfig | None = None,
                           weights=None, **overrides) -> PoseHighResolutionNet:
    """The pose HRNet of :mod:`core.models` at a lesson's budget: ``num_classes`` heatmaps at stride 4.

    ``budget`` picks a config of :data:`BUDGETS` (``config`` or single fields override it); ``weights``
    is a state dict, loaded strictly, as for ``pose_hrnet_w32``.
    """
    return build_pose_hrnet(num_classes=num_classes, config=config if config is not None else _budget(budget), weights=weights, **overrides)


def small_hrnet(num_joints: int = len(JOINTS), budget: str = "tiny") -> nn.Module:
    """:func:`build_pose_hrnet_small` with ``K`` joints (the case study's short form)."""
    return build_pose_hrnet_small(num_classes=num_joints, budget=budget)


def _budget(budget: str) -> HRNetConfig:
    try:
        return BUDGETS[budget]
    except KeyError:
        raise ValueError(f"unknown budget '{budget}'; valid budgets are {', '.join(BUDGETS)}") from None


@dataclass(frozen=True)
class HourglassConfig:
    width: int = 16  # C, the channels at stride 4; each level down doubles them (C, 2C, 4C, 8C)
    depth: int = 3  # poolings below stride 4: the bottleneck sits at stride 4·2^depth = 32, like HRNet's last branch
    stem_channels: int = 16  # the same stem as the small HRNet: two stride-2 3×3 convolutions to stride 4


class Stem(nn.Sequential):
    """Two stride-2 3×3 convolutions (with BN and ReLU): the image at stride 4, as HRNet's stem does."""

    def __init__(self, c_out: int):
        super().__init__(
            nn.Conv2d(3, c_out, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c_out, momentum=BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c_out, momentum=BN_MOMENTUM),
            nn.ReLU(inplace=True))


class HourglassTrunk(nn.Module):
    """A U-Net-shaped encoder–decoder: down to stride 32, back up to stride 4 with skips; gives stride-4 features."""

    def __init__(self, cfg: HourglassConfig):
        super().__init__()
        self.config = cfg
        self.channels = [cfg.width * 2**level for level in range(cfg.depth + 1)]
        self.out_channels = self.channels[0]
        self.stem = Stem(cfg.stem_channels)
        c_in = cfg.stem_channels
        for level, c in enumerate(self.channels):
            if level:
                self.add_module(f"pool{level}", nn.MaxPool2d(2, 2, ceil_mode=True))
            self.add_module(f"enc{level}", DoubleConv(c_in, c, batch_norm=True))
            c_in = c
        for level in range(cfg.depth, 0, -1):  # up: nearest ×2, concatenate the skip, two convolutions
            self.add_module(f"dec{level}", DoubleConv(self.channels[level] + self.channels[level - 1],
                                                      self.channels[level - 1], batch_norm=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)  # (N, stem, H/4, W/4)
        skips = []
        for level in range(len(self.channels)):
            if level:
                x = getattr(self, f"pool{level}")(x)  # (N, C_{l-1}, H/4/2^l, W/4/2^l)
            x = getattr(self, f"enc{level}")(x)  # (N, C_l, H/4/2^l, W/4/2^l)
            skips.append(x)
        for level in range(len(self.channels) - 1, 0, -1):
            skip = skips[level - 1]
            up = center_crop(F.interpolate(x, scale_factor=2, mode="nearest"), skip.shape[-2:])  # (N, C_l, h, w)
            x = getattr(self, f"dec{level}")(torch.cat([skip, up], dim=1))  # (N, C_{l-1}, h, w)
        return x  # (N, C, H/4, W/4)


class PoseHourglass(nn.Module):
    """The encoder–decoder with a heatmap head: a 1×1 convolution to one heatmap per joint at stride 4."""

    def __init__(self, cfg: HourglassConfig, num_joints: int):
        super().__init__()
        self.config = cfg
        self.trunk = HourglassTrunk(cfg)
        self.final_layer = nn.Conv2d(self.trunk.out_channels, num_joints, 1)

    # contract: forward(x (N, 3, H, W)) returns heatmaps (N, num_joints, ⌈H/4⌉, ⌈W/4⌉)
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x)
        return self.final_layer(self.trunk(x))  # (N, K, H/4, W/4)


@lru_cache(maxsize=64)
def _hourglass_parameters(width: int, depth: int, stem_channels: int, num_joints: int) -> int:
    return count_parameters(PoseHourglass(HourglassConfig(width, depth, stem_channels), num_joints))


def matched_hourglass_config(num_joints: int, parameters: int, depth: int = 3,
                             stem_channels: int = 16) -> HourglassConfig:
    """The hourglass width whose parameter count is nearest to ``parameters`` (a fair budget).

    The count grows with the width, so a bisection finds the first width at or above the budget; the
    answer is that width or the one below it, whichever is nearer.
    """
    def size(width: int) -> int:
        return _hourglass_parameters(width, depth, stem_channels, num_joints)

    lo, hi = 1, 256
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if size(mid) < parameters else (lo, mid)
    best = min((w for w in (lo - 1, lo) if w >= 1), key=lambda w: abs(size(w) - parameters))
    return HourglassConfig(best, depth, stem_channels)


class RegressionHead(nn.Sequential):
    """Global average pooling, then a linear layer to (x, y) per joint, as fractions of the image side."""

    def __init__(self, in_channels: int, num_joints: int):
        super().__init__(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(in_channels, 2 * num_joints))
        nn.init.zeros_(self[2].weight)
        nn.init.constant_(self[2].bias, 0.5)  # start every joint at the centre of the image


class CoordinateRegression(nn.Module):
    """The baseline: the encoder–decoder's very trunk, but a pooled head that regresses (x, y) directly.

    Only the head differs from :class:`PoseHourglass` (1×1 convolution to heatmaps → pooling and a linear
    layer), so the difference in their errors is the difference between the two ways of answering.
    """

    def __init__(self, cfg: HourglassConfig, num_joints: int):
        super().__init__()
        self.num_joints = num_joints
        self.trunk = HourglassTrunk(cfg)
        self.head = RegressionHead(self.trunk.out_channels, num_joints)

    # contract: forward(x (N, 3, H, W)) returns (N, K, 2): x/W and y/H of every joint
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x)
        return self.head(self.trunk(x)).view(len(x), self.num_joints, 2)  # (N, 2K) → (N, K, 2)


def _build_on_the_hourglass_trunk(cls, *, num_classes: int, budget: str, config: HourglassConfig | None, weights,
                                  overrides: dict) -> nn.Module:
    """``cls`` (the heatmap or the coordinate head on the hourglass trunk), by default as large as the
    small HRNet of ``budget``: the trunk's width is matched to that parameter count."""
    if config is None:
        config = matched_hourglass_config(num_classes, count_parameters(small_hrnet(num_classes, budget)))
    model = cls(make_config(HourglassConfig, config, overrides=overrides), num_classes)
    if weights is not None:
        model.load_state_dict(weights, strict=True)
    return model


def build_pose_hourglass(*, num_classes: int = len(JOINTS), budget: str = "tiny", config: HourglassConfig | None = None,
                         weights=None, **overrides) -> PoseHourglass:
    """The encoder–decoder with heatmaps, matched to the small HRNet's parameter budget unless ``config`` is given."""
    return _build_on_the_hourglass_trunk(PoseHourglass, num_classes=num_classes, budget=budget, config=config,
                                         weights=weights, overrides=overrides)


def build_pose_regression(*, num_classes: int = len(JOINTS), budget: str = "tiny",
                          config: HourglassConfig | None = None, weights=None, **overrides) -> CoordinateRegression:
    """The hourglass's trunk (the same budget) with a pooled head that regresses (x, y) per joint."""
    return _build_on_the_hourglass_trunk(CoordinateRegression, num_classes=num_classes, budget=budget,
                                         config=config, weights=weights, overrides=overrides)


def build_pose_model(kind: str, num_joints: int = len(JOINTS), budget: str = "tiny") -> nn.Module:
    """``hrnet`` (heatmaps), ``hourglass`` (heatmaps, HRNet's parameter budget) or ``regression``
    (the hourglass's trunk with a coordinate head), built through :func:`core.models.build`."""
    from core import models  # the registry imports this module

    if kind not in REGISTRY_NAMES:
        raise ValueError(f"unknown pose model '{kind}'; valid kinds are {', '.join(KINDS)}")
    return models.build(REGISTRY_NAMES[kind], num_classes=num_joints, budget=budget)
