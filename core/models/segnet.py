r"""SegNet: an encoder–decoder whose decoder unpools with the encoder's max-pooling indices.

"SegNet: A Deep Convolutional Encoder-Decoder Architecture for Image Segmentation" (Badrinarayanan,
Kendall & Cipolla, TPAMI 2017):

* **Encoder** — the 13 convolutions of VGG-16, each followed by batch norm and ReLU, in five stages;
  every stage ends with a 2×2 max pooling that *also returns where each maximum was* (its indices).
* **Decoder** — a mirror image. Each stage starts with **max unpooling**: the small map's values are
  put back at the remembered positions of a map twice as large, zeros everywhere else. That map is
  sparse (3 zeros in every 2×2 block); the stage's trainable convolutions then make it dense again.
* **Classifier** — the last convolution gives ``C`` scores per pixel, at the input's full resolution.

Only the indices cross from encoder to decoder (FCN and U-Net send whole feature maps), so the
skip costs almost no memory, and the values land on the edges where the maxima were: boundaries
come back in the right place.

Departures: pooling rounds up (``ceil_mode=True``) and unpooling is told the size it must restore,
so any side ``>= 32`` works, odd ones included; ``width`` multiplies every channel count (1/8 by
default, 1 for the paper's 29.4 M parameters). With ``weights="imagenet"`` and ``width=1`` the encoder
starts from torchvision's ImageNet VGG-16-BN, as the paper's did, when those weights are on this
machine (see :mod:`core.zoo.weights`).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from core.models.base import Resize, SegmentationModel, make_config
from core.models.vgg import (
    conv_block,
    stage_channels,
    torchvision_vgg16_bn_keys,
    vgg_stage,
)

__all__ = ["SegNetConfig", "SegNetEncoder", "SegNetDecoder", "SegNet", "build_segnet", "load_vgg16_bn"]


@dataclass(frozen=True)
class SegNetConfig:
    width: float = 0.125  # multiplies VGG-16's channels: 1/8 trains on a CPU in class, 1.0 is the paper's

    @classmethod
    def paper(cls) -> "SegNetConfig":
        """The paper's SegNet: VGG-16-BN encoder and its mirror, about 29.4 M parameters."""
        return cls(width=1.0)


class SegNetEncoder(nn.Module):
    """VGG-16-BN's 13 convolutions; each stage's pooling keeps its indices and the size it pooled."""

    def __init__(self, cfg: SegNetConfig):
        super().__init__()
        self.channels = stage_channels(cfg.width)
        c_in = 3
        for s, stage in enumerate(self.channels, start=1):
            self.add_module(f"stage{s}", vgg_stage(c_in, stage, batch_norm=True))
            self.add_module(f"pool{s}", nn.MaxPool2d(2, 2, ceil_mode=True, return_indices=True))
            c_in = stage[-1]
        self.out_channels = c_in

    def forward(self, x: torch.Tensor):
        pools = []
        for s in range(1, 6):
            x = getattr(self, f"stage{s}")(x)  # (N, C_s, h, w)
            size = x.shape[-2:]
            x, indices = getattr(self, f"pool{s}")(x)  # (N, C_s, ⌈h/2⌉, ⌈w/2⌉) values and their positions
            pools.append((indices, size))
        return x, pools


class SegNetDecoder(nn.Module):
    """Mirror of the encoder: unpool with the stage's indices, then convolutions densify the sparse map."""

    def __init__(self, channels: list[list[int]], num_classes: int):
        super().__init__()
        for s in range(5, 0, -1):
            stage = channels[s - 1]
            # Mirror the stage: same number of convolutions, the last one hands over to the next
            # stage's width (stage 1 hands over to the classifier below).
            outs = list(stage[:-1]) + ([channels[s - 2][-1]] if s > 1 else [])
            self.add_module(f"unpool{s}", nn.MaxUnpool2d(2, 2))
            blocks, c = [], stage[-1]
            for c_out in outs:
                blocks.append(conv_block(c, c_out, batch_norm=True))
                c = c_out
            self.add_module(f"stage{s}_D", nn.Sequential(*blocks))
        self.classifier = nn.Conv2d(channels[0][-1], num_classes, 3, padding=1)

    def forward(self, features) -> torch.Tensor:
        x, pools = features
        for s in range(5, 0, -1):
            indices, size = pools[s - 1]
            x = getattr(self, f"unpool{s}")(x, indices, output_size=size)  # (N, C_s, h, w), sparse
            x = getattr(self, f"stage{s}_D")(x)  # (N, C_{s-1}, h, w), dense
        return self.classifier(x)  # (N, num_classes, H, W)


class SegNet(SegmentationModel):
    def __init__(self, num_classes: int, cfg: SegNetConfig):
        encoder = SegNetEncoder(cfg)
        super().__init__(encoder, SegNetDecoder(encoder.channels, num_classes), Resize(), num_classes)
        self.config = cfg



def load_vgg16_bn(model: SegNet, state_dict: dict[str, torch.Tensor]) -> None:
    """Copy torchvision ``vgg16_bn`` weights into SegNet's encoder (the decoder keeps its own start)."""
    if model.config.width != 1.0:
        raise ValueError("ImageNet VGG-16-BN weights fit only the full-width SegNet: build it with width=1")
    mapping = torchvision_vgg16_bn_keys("encoder.")
    own = model.state_dict()
    with torch.no_grad():
        for ours, theirs in mapping.items():
            if own[ours].shape != state_dict[theirs].shape:
                raise ValueError(f"{theirs} has shape {tuple(state_dict[theirs].shape)}, "
                                 f"{ours} needs {tuple(own[ours].shape)}")
            own[ours].copy_(state_dict[theirs])


def build_segnet(*, num_classes: int, config: SegNetConfig | None = None, paper: bool = False, weights=None,
                 download: bool = False, **overrides) -> SegNet:
    """SegNet. ``weights="imagenet"`` starts the encoder from ImageNet VGG-16-BN (full width only).

    The weights come from the torch hub cache, or from the internet when ``download=True``; when
    neither works, :class:`core.zoo.weights.WeightsUnavailable` says why.
    """
    model = SegNet(num_classes, make_config(SegNetConfig, config, paper, overrides))
    if weights is None:
        return model
    if weights != "imagenet":
        raise ValueError(f"SegNet weights can be None or 'imagenet', not {weights!r}")
    from core.zoo.weights import require

    load_vgg16_bn(model, require("vgg16_bn", download=download))
    return model
