r"""FPN: a pyramid of feature maps that are all semantically strong, and a segmentation head on top.

"Feature Pyramid Networks for Object Detection" (Lin, Dollár, Girshick, He, Hariharan & Belongie,
CVPR 2017); the semantic head follows "Panoptic Feature Pyramid Networks" (Kirillov, Girshick, He &
Dollár, CVPR 2019).

* **Bottom-up** — any backbone; here a ResNet. Its stages end at strides 4, 8, 16, 32: maps
  ``C2 … C5``. Deep maps know *what* is there, shallow ones *where*, but the shallow ones are weak.
* **Top-down** — start from ``C5``, reduced to ``d`` channels (256) by a **lateral 1×1 conv**; go up
  one level at a time: nearest-neighbour ×2, plus the lateral 1×1 of the ``C`` map of that level.
  Every level now mixes deep meaning with its own resolution.
* **Smoothing** — a 3×3 conv on each sum (it also calms the blockiness of the ×2 copy) gives
  ``P2 … P5``; ``P6`` is ``P5`` subsampled by 2 (a 1×1 max pooling with stride 2), for large objects.

.. math::

    M_5 = L_5(C_5), \qquad M_k = L_k(C_k) + \mathrm{up}_2(M_{k+1}), \qquad P_k = S_k(M_k), \qquad
    P_6 = \mathrm{maxpool}_{1, \text{stride } 2}(P_5)

Unlike an encoder–decoder, an FPN does not rebuild the image: it is a *feature extractor* with
outputs at several scales, and the task decides what reads them. Detectors (Faster/Mask R-CNN,
RetinaNet) look for small objects on ``P2`` and large ones on ``P5``/``P6``. For segmentation, the
**semantic head** of Panoptic FPN brings every level to stride 4 (a 3×3 conv, group norm, ReLU and
bilinear ×2, repeated once per halving; one conv for ``P2``), sums them, scores ``C`` classes with a
1×1 conv and upsamples ×4.

torchvision has the middle part, ``torchvision.ops.FeaturePyramidNetwork``: laterals
(``inner_blocks``), smoothing (``layer_blocks``) and an optional extra level, and nothing else —
no backbone, no head, and its input and output are dictionaries of maps. :class:`FeaturePyramid`
is the same computation written out (:func:`as_torchvision` copies its weights into torchvision's
module, and the two agree to the last bit), with the bottom-up ResNet and the semantic head around it.
``width`` multiplies every channel count (1/8 by default; ``FPNConfig.paper()`` is ResNet-50 with
``d = 256`` and a 128-channel head).
"""
from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from core.models.base import Resize, SegmentationModel, make_config, scaled
from core.models.blocks import Bottleneck, make_layer

__all__ = ["FPNConfig", "ResNetEncoder", "FeaturePyramid", "SemanticHead", "FPN", "as_torchvision", "build_fpn"]


@dataclass(frozen=True)
class FPNConfig:
    width: float = 0.125  # multiplies ResNet-50's and the FPN's channels: 1/8 trains on a CPU in class
    layers: tuple[int, int, int, int] = (1, 1, 1, 1)  # bottleneck blocks per ResNet stage; ResNet-50 has (3, 4, 6, 3)
    pyramid_channels: int = 256  # d, the channels of every P level (the paper's 256), times width
    head_channels: int = 128  # channels of the semantic head's branches (Panoptic FPN's 128), times width

    @classmethod
    def paper(cls) -> "FPNConfig":
        """ResNet-50 bottom-up, d = 256, a 128-channel semantic head."""
        return cls(width=1.0, layers=(3, 4, 6, 3))


class ResNetEncoder(nn.Module):
    """The bottom-up pathway: a ResNet (torchvision's module names); returns ``[C2, C3, C4, C5]``."""

    def __init__(self, cfg: FPNConfig):
        super().__init__()
        stem = scaled(64, cfg.width)
        self.conv1 = nn.Conv2d(3, stem, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        c_in, self.out_channels = stem, []
        for k, (blocks, stride) in enumerate(zip(cfg.layers, (1, 2, 2, 2)), start=1):
            planes = scaled(64 * 2 ** (k - 1), cfg.width)
            self.add_module(f"layer{k}", make_layer(Bottleneck, c_in, planes, blocks, stride))
            c_in = planes * Bottleneck.expansion
            self.out_channels.append(c_in)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (N, stem, H/4, W/4)
        maps = []
        for k in range(1, 5):
            x = getattr(self, f"layer{k}")(x)  # C_{k+1}: (N, ·, H/2^(k+1), W/2^(k+1))
            maps.append(x)
        return maps


class FeaturePyramid(nn.Module):
    """Lateral 1×1 convs, the top-down pathway, 3×3 smoothing: ``[C2..C5]`` → ``[P2, P3, P4, P5, P6]``."""

    def __init__(self, in_channels: list[int], channels: int):
        super().__init__()
        self.inner_blocks = nn.ModuleList(nn.Conv2d(c, channels, 1) for c in in_channels)  # laterals
        self.layer_blocks = nn.ModuleList(nn.Conv2d(channels, channels, 3, padding=1) for _ in in_channels)
        for m in self.modules():  # torchvision's initialisation, so both start from the same kind of weights
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_uniform_(m.weight, a=1)
                nn.init.constant_(m.bias, 0)

    def forward(self, cs: list[torch.Tensor]) -> list[torch.Tensor]:
        merged = self.inner_blocks[-1](cs[-1])  # M5: (N, d, H/32, W/32)
        ps = [self.layer_blocks[-1](merged)]  # P5
        for k in range(len(cs) - 2, -1, -1):  # down the pyramid: C4, C3, C2
            lateral = self.inner_blocks[k](cs[k])  # (N, d, h_k, w_k)
            top_down = F.interpolate(merged, size=lateral.shape[-2:], mode="nearest")  # (N, d, h_k, w_k)
            merged = lateral + top_down
            ps.insert(0, self.layer_blocks[k](merged))
        ps.append(F.max_pool2d(ps[-1], kernel_size=1, stride=2))  # P6: (N, d, ⌈h_5/2⌉, ⌈w_5/2⌉)
        return ps


def _group_norm(channels: int) -> nn.GroupNorm:
    """Group norm with 32 groups as in Panoptic FPN, or fewer when the channels are fewer."""
    return nn.GroupNorm(math.gcd(32, channels), channels)


class SemanticHead(nn.Module):
    """Panoptic FPN's semantic branch: every level to stride 4, summed, then 1×1 conv to the classes."""

    def __init__(self, channels: int, head_channels: int, num_classes: int, levels: int = 4):
        super().__init__()
        self.scale_heads = nn.ModuleList()
        for k in range(levels):  # P2 needs one conv and no upsampling; P(k+2) needs k convs and k ×2 steps
            convs, c = [], channels
            for _ in range(max(1, k)):
                convs.append(nn.Sequential(nn.Conv2d(c, head_channels, 3, padding=1, bias=False),
                                           _group_norm(head_channels), nn.ReLU(inplace=True)))
                c = head_channels
            self.scale_heads.append(nn.Sequential(*convs))
        self.predictor = nn.Conv2d(head_channels, num_classes, 1)

    def forward(self, ps: list[torch.Tensor]) -> torch.Tensor:
        sizes = [p.shape[-2:] for p in ps]
        total = 0
        for k, convs in enumerate(self.scale_heads):
            x = ps[k]
            for t, conv in enumerate(convs):
                x = conv(x)
                if k > 0:  # up one level: ×2, to the exact size of the finer map
                    x = F.interpolate(x, size=sizes[k - t - 1], mode="bilinear", align_corners=False)
            total = total + x  # (N, head, H/4, W/4)
        return self.predictor(total)  # (N, num_classes, H/4, W/4)


class FPN(SegmentationModel):
    def __init__(self, num_classes: int, cfg: FPNConfig):
        encoder = ResNetEncoder(cfg)
        d = scaled(cfg.pyramid_channels, cfg.width)
        head = nn.Sequential(OrderedDict(
            neck=FeaturePyramid(encoder.out_channels, d),
            semantic=SemanticHead(d, scaled(cfg.head_channels, cfg.width), num_classes),
        ))
        super().__init__(encoder, head, Resize(), num_classes)
        self.config = cfg



def as_torchvision(pyramid: FeaturePyramid):
    """The same pyramid as ``torchvision.ops.FeaturePyramidNetwork`` (with ``LastLevelMaxPool`` for P6).

    torchvision wraps each conv in a ``Conv2dNormActivation`` (keys ``inner_blocks.k.0.weight``);
    otherwise the weights are the same tensors. Its forward takes and returns ordered dicts of maps.
    """
    from torchvision.ops import FeaturePyramidNetwork
    from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

    in_channels = [m.in_channels for m in pyramid.inner_blocks]
    tv = FeaturePyramidNetwork(in_channels, pyramid.inner_blocks[0].out_channels, extra_blocks=LastLevelMaxPool())
    renamed = {}
    for key, value in pyramid.state_dict().items():
        group, k, name = key.split(".")  # e.g. inner_blocks.0.weight
        renamed[f"{group}.{k}.0.{name}"] = value
    tv.load_state_dict(renamed, strict=True)
    return tv.to(next(pyramid.parameters()).device).eval()


def build_fpn(*, num_classes: int, config: FPNConfig | None = None, paper: bool = False, weights=None,
              **overrides) -> FPN:
    """ResNet + FPN + Panoptic FPN's semantic head; ``paper=True`` for ResNet-50 and 256 channels."""
    if weights is not None:
        raise ValueError("the FPN segmentation model has no pretrained weights here; build it with weights=None")
    return FPN(num_classes, make_config(FPNConfig, config, paper, overrides))
