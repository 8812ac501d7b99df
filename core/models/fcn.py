r"""FCN-32s, FCN-16s and FCN-8s: a classifier turned fully convolutional, with skips (Long, Shelhamer & Darrell).

"Fully Convolutional Networks for Semantic Segmentation" (Long, Shelhamer & Darrell, CVPR 2015; the
longer version by Shelhamer, Long & Darrell, TPAMI 2017) starts from VGG-16, an ImageNet classifier:

* **Convolutionalise** the classifier: the first fully connected layer, which read a 7×7×512 map, is
  the same computation as a 7×7 convolution with 4096 filters (``fc6``); the next one is a 1×1
  convolution (``fc7``). Now any image size works, and the network outputs a *map* of class scores
  instead of one vector (:func:`convolutionalize` does this to a ``nn.Linear``).
* **Score** with a 1×1 convolution to ``C`` classes (``score_fr``): a coarse map at stride 32.
* **Upsample** with a transposed convolution initialised as bilinear interpolation:
  ``FCN-32s`` goes from stride 32 to the image in one ×32 step, and its boundaries are blobs.
* **Skip**: ``FCN-16s`` upsamples the stride-32 scores by ×2, adds 1×1 scores of ``pool4``
  (stride 16), then upsamples ×16. ``FCN-8s`` repeats with ``pool3`` (stride 8) before a ×8 step.
  The deep layers say *what*; the shallow ones say *where*; the sum says both.

.. math::

    s_{16} = \mathrm{up}_2(s_{32}) + W_4 * \text{pool4}, \qquad
    s_{8} = \mathrm{up}_2(s_{16}) + W_3 * \text{pool3}, \qquad
    \text{logits} = \mathrm{up}_8(s_8)

Where this code departs from the paper, and why:

* Padding. The paper pads the input by 100 pixels and crops the output with offsets; here every
  convolution keeps its size (``fc6`` pads by 3) and pooling rounds up, so each upsampled map is
  aligned with the finer one from the top-left corner and is cropped to its size (:func:`center_crop`).
* Small by default: ``width`` multiplies every channel count (1/8 here, 1 in the paper) and batch norm
  follows each convolution, so the model trains from scratch on a CPU in class. The paper fine-tuned
  ImageNet VGG-16 without batch norm: ``FCNConfig.paper()``.
* As in the paper, the skip score layers start at zero (so FCN-8s starts out computing FCN-32s' answer),
  the ×2 upsampling layers are learned from a bilinear start and the last one stays bilinear.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from core.models.base import BilinearTransposed, SegmentationModel, make_config, scaled
from core.models.vgg import stage_channels, vgg_stage

__all__ = ["FCNConfig", "FCNBackbone", "FCNHead", "FCN", "convolutionalize", "build_fcn"]


@dataclass(frozen=True)
class FCNConfig:
    width: float = 0.125  # multiplies VGG-16's channels: 1/8 trains on a CPU in class, 1.0 is the paper's
    fc_channels: int = 4096  # filters of fc6 and fc7 (VGG's 4096 hidden units), also multiplied by width
    fc_kernel: int = 7  # fc6 reads a 7×7 window of pool5, as VGG's first fully connected layer did
    batch_norm: bool = True  # not in the paper (it fine-tuned ImageNet VGG); lets the small model train from scratch
    dropout: float = 0.5  # after fc6 and fc7, as in VGG and FCN

    @classmethod
    def paper(cls) -> "FCNConfig":
        """VGG-16 at full width, no batch norm: about 134 M parameters for FCN-8s with 21 classes."""
        return cls(width=1.0, batch_norm=False)


def convolutionalize(linear: nn.Linear, in_channels: int, kernel: int) -> nn.Conv2d:
    """A fully connected layer that read a flattened ``in_channels × k × k`` map, as a ``k × k`` convolution.

    ``nn.Flatten`` orders the inputs channel by channel, then row by row, which is exactly the
    layout of a conv weight ``(out, in, k, k)``: the weights are only reshaped. On a ``k × k`` map the
    convolution gives the layer's output; on a larger map, one output per position.
    """
    if linear.in_features != in_channels * kernel * kernel:
        raise ValueError(f"the layer reads {linear.in_features} numbers, not {in_channels}×{kernel}×{kernel}")
    conv = nn.Conv2d(in_channels, linear.out_features, kernel, bias=linear.bias is not None)
    with torch.no_grad():
        conv.weight.copy_(linear.weight.reshape(linear.out_features, in_channels, kernel, kernel))  # (out, in, k, k)
        if linear.bias is not None:
            conv.bias.copy_(linear.bias)
    return conv


class FCNBackbone(nn.Module):
    """VGG-16 made fully convolutional: five conv stages with pooling, then fc6 (7×7 conv) and fc7 (1×1)."""

    def __init__(self, cfg: FCNConfig):
        super().__init__()
        channels = stage_channels(cfg.width)
        fc = scaled(cfg.fc_channels, cfg.width)
        c_in = 3
        for s, stage in enumerate(channels, start=1):
            self.add_module(f"stage{s}", vgg_stage(c_in, stage, cfg.batch_norm))
            self.add_module(f"pool{s}", nn.MaxPool2d(2, 2, ceil_mode=True))
            c_in = stage[-1]
        self.fc6 = nn.Conv2d(c_in, fc, cfg.fc_kernel, padding=cfg.fc_kernel // 2)
        self.relu6 = nn.ReLU(inplace=True)
        self.drop6 = nn.Dropout(cfg.dropout)
        self.fc7 = nn.Conv2d(fc, fc, 1)
        self.relu7 = nn.ReLU(inplace=True)
        self.drop7 = nn.Dropout(cfg.dropout)
        self.out_channels = {"pool3": channels[2][-1], "pool4": channels[3][-1], "fc7": fc}

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        kept = {}
        for s in range(1, 6):
            x = getattr(self, f"pool{s}")(getattr(self, f"stage{s}")(x))  # (N, C_s, H/2^s, W/2^s)
            kept[f"pool{s}"] = x
        x = self.drop6(self.relu6(self.fc6(x)))  # (N, 4096·w, H/32, W/32)
        x = self.drop7(self.relu7(self.fc7(x)))  # (N, 4096·w, H/32, W/32)
        return {"pool3": kept["pool3"], "pool4": kept["pool4"], "fc7": x}


class FCNHead(nn.Module):
    """Score at stride 32, then ``skips`` times: upsample ×2 and add the scores of a shallower pool."""

    def __init__(self, in_channels: dict[str, int], num_classes: int, skips: int):
        super().__init__()
        if skips not in (0, 1, 2):
            raise ValueError(f"FCN has 0 (32s), 1 (16s) or 2 (8s) skips, not {skips}")
        self.skips = skips
        self.stride = 32 >> skips
        self.score_fr = nn.Conv2d(in_channels["fc7"], num_classes, 1)
        if skips >= 1:
            self.score_pool4 = self._zero_score(in_channels["pool4"], num_classes)
            self.upscore2 = BilinearTransposed(num_classes, 2)
        if skips >= 2:
            self.score_pool3 = self._zero_score(in_channels["pool3"], num_classes)
            self.upscore_pool4 = BilinearTransposed(num_classes, 2)

    @staticmethod
    def _zero_score(c_in: int, num_classes: int) -> nn.Conv2d:
        conv = nn.Conv2d(c_in, num_classes, 1)
        nn.init.zeros_(conv.weight)  # the paper's choice: a new skip starts by adding nothing
        nn.init.zeros_(conv.bias)
        return conv

    def predictions(self, features: dict[str, torch.Tensor]) -> dict[int, torch.Tensor]:
        """The score map at every stride this head passes through: ``{32: s32, 16: s16, 8: s8}``."""
        score = self.score_fr(features["fc7"])  # (N, C, H/32, W/32)
        out = {32: score}
        if self.skips >= 1:
            pool4 = self.score_pool4(features["pool4"])  # (N, C, H/16, W/16)
            score = self.upscore2(score, pool4.shape[-2:]) + pool4  # (N, C, H/16, W/16)
            out[16] = score
        if self.skips >= 2:
            pool3 = self.score_pool3(features["pool3"])  # (N, C, H/8, W/8)
            score = self.upscore_pool4(score, pool3.shape[-2:]) + pool3  # (N, C, H/8, W/8)
            out[8] = score
        return out

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.predictions(features)[self.stride]  # (N, C, H/stride, W/stride)


class FCN(SegmentationModel):
    """FCN-32s / 16s / 8s: the same backbone, 0, 1 or 2 skips, and a fixed bilinear ×stride at the end."""

    def __init__(self, num_classes: int, skips: int, cfg: FCNConfig):
        encoder = FCNBackbone(cfg)
        head = FCNHead(encoder.out_channels, num_classes, skips)
        super().__init__(encoder, head, BilinearTransposed(num_classes, head.stride, learnable=False), num_classes)
        self.config = cfg



def build_fcn(*, num_classes: int, skips: int = 2, config: FCNConfig | None = None, paper: bool = False,
              weights=None, **overrides) -> FCN:
    """FCN with ``skips`` = 0 (FCN-32s), 1 (FCN-16s: + pool4) or 2 (FCN-8s: + pool4 and pool3).

    ``paper=True`` starts from :meth:`FCNConfig.paper`; keyword ``overrides`` change single fields
    (``width=0.25``). There are no pretrained weights for these: ``weights`` must stay None.
    """
    if weights is not None:
        raise ValueError("FCN has no pretrained weights here; build it with weights=None and train it in the app")
    return FCN(num_classes, skips, make_config(FCNConfig, config, paper, overrides))
