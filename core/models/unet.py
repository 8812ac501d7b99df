r"""U-Net: an encoder–decoder whose skips concatenate whole encoder maps (Ronneberger, Fischer & Brox, 2015).

"U-Net: Convolutional Networks for Biomedical Image Segmentation" (MICCAI 2015). Drawn as a U:

* **Contracting path** — at each level two 3×3 convolutions with ReLU, then a 2×2 max pooling; the
  channels double at every level (64, 128, 256, 512, 1024 at the bottom).
* **Expanding path** — a 2×2 "up-convolution" (transposed convolution, stride 2) doubles the size
  and halves the channels; the encoder map of the same level is **concatenated** to it (channels
  add up: 512 + 512), and two 3×3 convolutions mix them.
* A 1×1 convolution gives ``C`` scores per pixel.

Compared with the other skips of the lecture: FCN *adds* class scores (``C`` channels) from earlier
layers; SegNet sends only pooling *indices*; U-Net sends the *whole* feature map and lets the decoder
learn how to use it — the most information and the most memory.

Departures: the paper's convolutions have no padding (a 572×572 input gives a 388×388 output and
the encoder maps are cropped to fit); here they keep the size (padding 1), pooling rounds up and the
decoder's upsampled map is cropped to its skip (at most one row or column), so the output has the
input's size for any side ``>= 32``. Batch norm after each convolution (``batch_norm``) is standard
since the paper and helps the small default train; ``UNetConfig.paper()`` leaves it out (31 M parameters).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from core.models.base import Resize, SegmentationModel, center_crop, make_config, scaled

__all__ = ["UNetConfig", "DoubleConv", "UNetEncoder", "UNetDecoder", "UNet", "build_unet"]


@dataclass(frozen=True)
class UNetConfig:
    width: float = 0.125  # multiplies the paper's channels (64 at the top level): 1/8 trains on a CPU
    depth: int = 4  # how many times the encoder pools (the paper's U has 4 poolings, 5 levels)
    batch_norm: bool = True  # not in the 2015 paper; standard since, and it helps the small model train
    # how the decoder doubles the size: the paper's learned 2×2 up-convolution, or a fixed
    # interpolation followed by a 1×1 convolution that halves the channels (fewer parameters, no checkerboard)
    upsampling: Literal["transposed", "bilinear", "nearest"] = "transposed"

    @classmethod
    def paper(cls) -> "UNetConfig":
        """The paper's U-Net: 64 channels at the top, no batch norm, about 31 M parameters."""
        return cls(width=1.0, batch_norm=False)


class DoubleConv(nn.Sequential):
    """Two 3×3 convolutions (same size), each with optional batch norm and ReLU: one level of the U."""

    def __init__(self, c_in: int, c_out: int, batch_norm: bool):
        layers: list[nn.Module] = []
        for a, b in ((c_in, c_out), (c_out, c_out)):
            layers.append(nn.Conv2d(a, b, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(b))
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class UNetEncoder(nn.Module):
    """Contracting path: ``enc1`` at full size … ``enc{depth+1}`` at the bottom of the U."""

    def __init__(self, cfg: UNetConfig):
        super().__init__()
        self.depth = cfg.depth
        self.channels = [scaled(64 * 2**level, cfg.width) for level in range(cfg.depth + 1)]
        c_in = 3
        for level, c in enumerate(self.channels, start=1):
            if level > 1:
                self.add_module(f"pool{level - 1}", nn.MaxPool2d(2, 2, ceil_mode=True))
            self.add_module(f"enc{level}", DoubleConv(c_in, c, cfg.batch_norm))
            c_in = c

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        maps = []
        for level in range(1, self.depth + 2):
            if level > 1:
                x = getattr(self, f"pool{level - 1}")(x)  # (N, C, ⌈h/2⌉, ⌈w/2⌉)
            x = getattr(self, f"enc{level}")(x)  # (N, C_level, H/2^(level-1), W/2^(level-1))
            maps.append(x)
        return maps


class UNetDecoder(nn.Module):
    """Expanding path: up-convolution, concatenate the encoder map of the same level, two convolutions."""

    def __init__(self, channels: list[int], num_classes: int, batch_norm: bool, upsampling: str = "transposed"):
        super().__init__()
        self.depth = len(channels) - 1
        for level in range(self.depth, 0, -1):
            below, here = channels[level], channels[level - 1]
            self.add_module(f"up{level}", _up(below, here, upsampling))
            self.add_module(f"dec{level}", DoubleConv(2 * here, here, batch_norm))
        self.classifier = nn.Conv2d(channels[0], num_classes, 1)

    def forward(self, maps: list[torch.Tensor]) -> torch.Tensor:
        x = maps[-1]  # the bottom of the U
        for level in range(self.depth, 0, -1):
            skip = maps[level - 1]  # (N, C_l, h, w)
            x = center_crop(getattr(self, f"up{level}")(x), skip.shape[-2:])  # (N, C_l, h, w)
            x = torch.cat([skip, x], dim=1)  # (N, 2·C_l, h, w): encoder map first, then the decoder's
            x = getattr(self, f"dec{level}")(x)  # (N, C_l, h, w)
        return self.classifier(x)  # (N, num_classes, H, W)


def _up(c_in: int, c_out: int, how: str) -> nn.Module:
    """Double the size and go from ``c_in`` to ``c_out`` channels."""
    if how == "transposed":  # the paper's 2×2 up-convolution: each input cell paints a learned 2×2 block
        return nn.ConvTranspose2d(c_in, c_out, 2, stride=2)
    if how in ("bilinear", "nearest"):
        return nn.Sequential(nn.Upsample(scale_factor=2, mode=how), nn.Conv2d(c_in, c_out, 1))
    raise ValueError(f"upsampling must be transposed, bilinear or nearest, not {how!r}")


class UNet(SegmentationModel):
    def __init__(self, num_classes: int, cfg: UNetConfig):
        encoder = UNetEncoder(cfg)
        decoder = UNetDecoder(encoder.channels, num_classes, cfg.batch_norm, cfg.upsampling)
        super().__init__(encoder, decoder, Resize(), num_classes)
        self.config = cfg



def build_unet(*, num_classes: int, config: UNetConfig | None = None, paper: bool = False, weights=None,
               **overrides) -> UNet:
    """U-Net; ``paper=True`` for the original widths. No pretrained weights: ``weights`` stays None."""
    if weights is not None:
        raise ValueError("U-Net has no pretrained weights here; build it with weights=None and train it in the app")
    return UNet(num_classes, make_config(UNetConfig, config, paper, overrides))
