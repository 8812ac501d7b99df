r"""HRNet: keep a high-resolution branch all the way, add lower ones, and fuse them again and again.

"Deep High-Resolution Representation Learning for Human Pose Estimation" (Sun, Xiao, Liu & Wang,
CVPR 2019) and its segmentation version HRNetV2 (Wang et al., "Deep High-Resolution Representation
Learning for Visual Recognition", TPAMI 2021).

Encoder–decoders throw resolution away and rebuild it. HRNet never lets it go:

* a **stem** (two stride-2 3×3 convolutions, then four bottleneck blocks, ``layer1``) brings the image
  to stride 4;
* **stage 2** runs two parallel branches (strides 4 and 8), **stage 3** three (4, 8, 16), **stage 4**
  four (4, 8, 16, 32). Branch ``k`` has ``2^k · C`` channels (``C`` = 32 for HRNet-W32). A new branch
  comes from the lowest one by a strided 3×3 convolution (a ``transition``);
* inside a stage, each **module** runs a few residual blocks on every branch, then **fuses**: every
  output branch ``i`` is the ReLU of a sum over all input branches ``j``:

.. math::

    y_i = \mathrm{ReLU}\Big(\sum_j f_{ij}(x_j)\Big), \qquad
    f_{ij} = \begin{cases}
      \text{1×1 conv, BN, nearest upsampling} \times 2^{j-i} & j > i \text{ (lower resolution)} \\
      \text{identity} & j = i \\
      (i-j) \text{ strided 3×3 convs (BN, ReLU between)} & j < i \text{ (higher resolution)}
    \end{cases}

  (strided convolutions, not pooling, go down; nearest neighbour goes up).

Heads: the **pose** head is one 1×1 convolution on the highest-resolution branch, one heatmap per
joint at stride 4 (input 256×192 → 17 heatmaps of 64×48). The **segmentation** head (HRNetV2)
upsamples every branch to stride 4, concatenates them, mixes with 1×1 convolutions and scores ``C``
classes, then the scores are upsampled to the image.

``build("pose_hrnet_w32", num_classes=17)`` has exactly the parameter and buffer names of the official
implementation (they are the checkpoint format), so published checkpoints load with ``strict=True``.
Its faults are not kept: no input lists are mutated, and the upsampling goes to the size of the
target branch instead of multiplying by ``2^{j-i}``, which is the same thing when the sides are
multiples of 32 and also works when they are not (the official model then fails).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from core.models.base import Resize, SegmentationModel, check_input, make_config
from core.models.blocks import BN_MOMENTUM, BasicBlock, Bottleneck, conv3x3, make_layer

__all__ = [
    "HRNetConfig",
    "BasicBlock",
    "Bottleneck",
    "HighResolutionModule",
    "HighResolutionNet",
    "PoseHighResolutionNet",
    "HRNetSegHead",
    "HRNetSeg",
    "build_hrnet",
    "build_pose_hrnet",
    "fusion_kind",
]

@dataclass(frozen=True)
class HRNetConfig:
    width: int = 8  # C, the channels of the stride-4 branch (branches have C, 2C, 4C, 8C): 32 for HRNet-W32
    stem_channels: int = 16  # after the two stride-2 convolutions; 64 in the paper (layer1 then gives 4× this)
    layer1_blocks: int = 2  # bottleneck blocks at stride 4 before the branches split; 4 in the paper
    modules: tuple[int, int, int] = (1, 2, 2)  # modules (blocks, then a fusion) in stages 2, 3, 4; paper (1, 4, 3)
    blocks: int = 2  # basic residual blocks per branch in each module; 4 in the paper

    @classmethod
    def paper(cls) -> "HRNetConfig":
        """HRNet-W32 as in the paper (the pose model's backbone)."""
        return cls(width=32, stem_channels=64, layer1_blocks=4, modules=(1, 4, 3), blocks=4)

    def branch_channels(self, stage: int) -> list[int]:
        """Channels of the branches of stage 2, 3 or 4: C, 2C, … (one more branch per stage)."""
        return [self.width * 2**k for k in range(stage)]


def fusion_kind(i: int, j: int) -> str:
    """What the fusion does to input branch ``j`` on its way to output branch ``i``: up, identity or down."""
    return "up" if j > i else "identity" if j == i else "down"


class HighResolutionModule(nn.Module):
    """One module of a stage: residual blocks on every branch, then the i×j multi-scale fusion."""

    def __init__(self, channels: list[int], blocks: int, multi_scale_output: bool = True):
        super().__init__()
        n = len(channels)
        self.branches = nn.ModuleList(make_layer(BasicBlock, c, c, blocks) for c in channels)
        fuse_layers = []
        for i in range(n if multi_scale_output else 1):
            row = []
            for j in range(n):
                if j > i:  # lower resolution: 1×1 conv to branch i's channels (the upsampling is in forward)
                    row.append(nn.Sequential(
                        nn.Conv2d(channels[j], channels[i], 1, bias=False),
                        nn.BatchNorm2d(channels[i], momentum=BN_MOMENTUM),
                    ))
                elif j == i:  # the same branch passes unchanged
                    row.append(nn.Identity())
                else:  # higher resolution: i − j strided 3×3 convs; only the last one changes the channels
                    steps = []
                    for k in range(i - j):
                        last = k == i - j - 1
                        layers = [conv3x3(channels[j], channels[i] if last else channels[j], stride=2),
                                  nn.BatchNorm2d(channels[i] if last else channels[j], momentum=BN_MOMENTUM)]
                        if not last:
                            layers.append(nn.ReLU(inplace=False))
                        steps.append(nn.Sequential(*layers))
                    row.append(nn.Sequential(*steps))
            fuse_layers.append(nn.ModuleList(row))
        self.fuse_layers = nn.ModuleList(fuse_layers)
        self.relu = nn.ReLU(inplace=False)

    def fuse_terms(self, xs: list[torch.Tensor], i: int) -> list[torch.Tensor]:
        """The contributions ``f_ij(x_j)`` to output branch ``i``, all shaped like branch ``i``."""
        target = xs[i].shape[-2:]
        terms = []
        for j, x in enumerate(xs):
            y = self.fuse_layers[i][j](x)  # (N, C_i, h_j, w_j) or, for j < i, already (N, C_i, h_i, w_i)
            if j > i:
                y = F.interpolate(y, size=target, mode="nearest")  # (N, C_i, h_i, w_i): ×2^(j−i)
            terms.append(y)
        return terms

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs)]  # a new list: the caller's is not changed
        return [self.relu(sum(self.fuse_terms(xs, i))) for i in range(len(self.fuse_layers))]


def _transition(pre: list[int], cur: list[int]) -> nn.ModuleList:
    """From the branches of one stage to the next: adapt channels, and grow a new, lower branch."""
    layers = []
    for i, c in enumerate(cur):
        if i < len(pre):  # an existing branch: a 3×3 conv only if its channels change
            layers.append(nn.Sequential(conv3x3(pre[i], c), nn.BatchNorm2d(c, momentum=BN_MOMENTUM),
                                        nn.ReLU(inplace=True))
                          if pre[i] != c else nn.Identity())
        else:  # a new branch: strided 3×3 convs from the lowest existing branch
            steps = []
            for k in range(i + 1 - len(pre)):
                c_out = c if k == i - len(pre) else pre[-1]
                steps.append(nn.Sequential(conv3x3(pre[-1], c_out, stride=2),
                                           nn.BatchNorm2d(c_out, momentum=BN_MOMENTUM), nn.ReLU(inplace=True)))
            layers.append(nn.Sequential(*steps))
    return nn.ModuleList(layers)


class HighResolutionNet(nn.Module):
    """The HRNet backbone with the official module names; returns the branch outputs of stage 4."""

    def __init__(self, cfg: HRNetConfig, multi_scale_output: bool = True):
        super().__init__()
        self.config = cfg
        stem = cfg.stem_channels
        self.conv1 = nn.Conv2d(3, stem, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem, momentum=BN_MOMENTUM)
        self.conv2 = nn.Conv2d(stem, stem, 3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(stem, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = make_layer(Bottleneck, stem, stem, cfg.layer1_blocks)
        pre = [stem * Bottleneck.expansion]
        for stage, n_modules in zip((2, 3, 4), cfg.modules):
            cur = cfg.branch_channels(stage)
            self.add_module(f"transition{stage - 1}", _transition(pre, cur))
            keep_all = multi_scale_output or stage < 4
            self.add_module(f"stage{stage}", nn.Sequential(*[
                HighResolutionModule(cur, cfg.blocks, multi_scale_output=keep_all or m < n_modules - 1)
                for m in range(n_modules)]))
            pre = cur
        self.out_channels = pre if multi_scale_output else pre[:1]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.relu(self.bn1(self.conv1(x)))  # (N, stem, H/2, W/2)
        x = self.relu(self.bn2(self.conv2(x)))  # (N, stem, H/4, W/4)
        ys = [self.layer1(x)]  # [(N, 4·stem, H/4, W/4)]
        for stage in (2, 3, 4):
            transition = getattr(self, f"transition{stage - 1}")
            # existing branches go through their transition; a new branch grows from the lowest one
            xs = [t(ys[i] if i < len(ys) else ys[-1]) for i, t in enumerate(transition)]
            ys = getattr(self, f"stage{stage}")(xs)  # [(N, 2^k·C, H/2^(k+2), W/2^(k+2)) for each branch k]
        return ys


class PoseHighResolutionNet(HighResolutionNet):
    """HRNet for human pose: one heatmap per joint, at stride 4, from the highest-resolution branch."""

    def __init__(self, cfg: HRNetConfig, num_joints: int):
        super().__init__(cfg, multi_scale_output=False)
        self.final_layer = nn.Conv2d(cfg.width, num_joints, 1)

    # contract: forward(x (N, 3, H, W)) returns heatmaps (N, num_joints, ⌈H/4⌉, ⌈W/4⌉)
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x)
        return self.final_layer(super().forward(x)[0])  # (N, joints, H/4, W/4)


class HRNetSegHead(nn.Module):
    """HRNetV2: upsample all branches to stride 4, concatenate, 1×1 conv + BN + ReLU, 1×1 conv to classes."""

    def __init__(self, in_channels: list[int], num_classes: int):
        super().__init__()
        total = sum(in_channels)
        self.last_layer = nn.Sequential(
            nn.Conv2d(total, total, 1),
            nn.BatchNorm2d(total, momentum=BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Conv2d(total, num_classes, 1),
        )

    def forward(self, ys: list[torch.Tensor]) -> torch.Tensor:
        size = ys[0].shape[-2:]
        ups = [ys[0]] + [F.interpolate(y, size=size, mode="bilinear", align_corners=False) for y in ys[1:]]
        x = torch.cat(ups, dim=1)  # (N, C + 2C + 4C + 8C, H/4, W/4)
        return self.last_layer(x)  # (N, num_classes, H/4, W/4)


class HRNetSeg(SegmentationModel):
    def __init__(self, num_classes: int, cfg: HRNetConfig):
        encoder = HighResolutionNet(cfg)
        super().__init__(encoder, HRNetSegHead(encoder.out_channels, num_classes), Resize(), num_classes)
        self.config = cfg



def build_hrnet(*, num_classes: int, config: HRNetConfig | None = None, paper: bool = False, weights=None,
                **overrides) -> HRNetSeg:
    """HRNetV2 for segmentation; ``paper=True`` gives the W32 backbone of the paper (``width=48`` for W48)."""
    if weights is not None:
        raise ValueError("the segmentation HRNet has no pretrained weights here; build it with weights=None")
    return HRNetSeg(num_classes, make_config(HRNetConfig, config, paper, overrides))


def build_pose_hrnet(*, num_classes: int = 17, config: HRNetConfig | None = None, paper: bool = True, weights=None,
                     **overrides) -> PoseHighResolutionNet:
    """The official pose HRNet (W32 unless overridden): its state_dict loads published checkpoints.

    ``weights`` may be a state dict (e.g. from ``torch.load(path, weights_only=True)``), loaded strictly.
    """
    model = PoseHighResolutionNet(make_config(HRNetConfig, config, paper, overrides), num_classes)
    if weights is not None:
        model.load_state_dict(weights, strict=True)
    return model
