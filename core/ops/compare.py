r"""Every upsampling method on the same input, scored against the image it should give back.

The experiment: draw a high-resolution image by code (so the true answer is known), shrink it by a
factor ``s`` — by averaging each ``s × s`` block, or by max pooling that remembers where each maximum
was — and grow it back by ``s`` with each method of the lecture:

=================  ====================================================================
nearest            copy each value into its ``s × s`` block
bed of nails       each value in the block's top-left corner, zeros elsewhere
bilinear           ``F.interpolate(mode="bilinear")`` with ``align_corners=False``
transposed conv.   a transposed convolution with FCN's fixed bilinear kernel
                   (``k = 2s - s mod 2``, stride ``s``, padding ``⌈(s-1)/2⌉``)
max unpooling      each value back where its block's maximum was, zeros elsewhere
=================  ====================================================================

The error against the original image is measured per method: mean absolute error (MAE), root mean
squared error (RMSE) and the peak signal-to-noise ratio :math:`\text{PSNR} = 10 \log_{10}(1 / \text{MSE})`
for values in ``[0, 1]`` (higher is better). Bed of nails and max unpooling score badly on purpose:
they are not meant to be the last layer. In SegNet trainable convolutions follow each unpooling and
fill in the zeros; what unpooling contributes is *where* the values go.
The bilinear transposed convolution equals bilinear interpolation except in a border ``⌈s/2⌉`` pixels
wide, where its kernel copies run off the image and nothing replaces the missing neighbours.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from core.data.scenes import make_scene
from core.ops.pooling import max_pool2d_with_indices, max_unpool2d
from core.ops.resample import (
    bed_of_nails,
    bilinear_upsample,
    bilinear_upsample_weight,
    nearest_upsample,
)
from core.ops.transposed import conv_transpose2d
from core.quiz import Question

__all__ = [
    "PATTERNS",
    "METHODS",
    "DOWNSAMPLINGS",
    "SCALES",
    "synthetic_image",
    "downsample",
    "upsample_with",
    "torch_reference",
    "MethodResult",
    "Comparison",
    "compare_upsampling",
    "error_metrics",
    "compare_questions",
]

PATTERNS = ("scene", "rings", "blobs")  # keys: the pages name them in the student's language
METHODS = ("nearest", "bed_of_nails", "bilinear", "transposed", "max_unpool")
DOWNSAMPLINGS = ("average", "max")
SCALES = (2, 3, 4, 6, 8)  # every one divides both sides of the default image
IMAGE_SIZE = (96, 120)  # (H, W) of the high-resolution image


def synthetic_image(pattern: str = "scene", size: tuple[int, int] = IMAGE_SIZE) -> torch.Tensor:
    r"""A high-resolution RGB image drawn by code, ``(3, H, W)`` float in ``[0, 1]``.

    * ``scene`` — the app's cartoon scene (sky, grass, a tree, two dogs and a cat) with inked
      outlines: flat regions and sharp edges, like a segmentation map.
    * ``rings`` — a zone plate :math:`\tfrac12 + \tfrac12\cos(\pi r^2 / 400)`: rings that get finer
      away from the centre, so shrinking loses the outer ones (aliasing) and no method can recover them.
    * ``blobs`` — a few soft Gaussian blobs in colour: smooth everywhere, where interpolation shines.
    """
    h, w = size
    if pattern == "scene":
        rgb = make_scene(h, w).image  # (H, W, 3) uint8
        return torch.from_numpy(rgb.astype(np.float32) / 255.0).permute(2, 0, 1).contiguous()  # (3, H, W)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    if pattern == "rings":
        r2 = (yy - h / 2) ** 2 + (xx - w / 2) ** 2
        gray = 0.5 + 0.5 * np.cos(np.pi * r2 / 400.0)  # (H, W): local frequency r/400 cycles per pixel
        img = np.stack([gray, gray, gray])  # (3, H, W)
    elif pattern == "blobs":
        img = np.zeros((3, h, w))
        for cy, cx, sigma, colour in ((0.3, 0.3, 0.16, (0.9, 0.3, 0.1)), (0.65, 0.7, 0.2, (0.1, 0.4, 0.9)),
                                      (0.75, 0.25, 0.12, (0.2, 0.8, 0.3)), (0.25, 0.8, 0.1, (0.9, 0.8, 0.1))):
            g = np.exp(-(((yy / h - cy) ** 2) + ((xx / w - cx) ** 2)) / (2 * sigma ** 2))  # (H, W)
            img += np.asarray(colour)[:, None, None] * g[None]
        img = np.clip(img, 0.0, 1.0)
    else:
        raise ValueError(f"unknown pattern {pattern!r}; valid patterns are {', '.join(PATTERNS)}")
    return torch.from_numpy(img.astype(np.float32))


def downsample(image: torch.Tensor, scale: int, how: str = "average"):
    """Shrink ``(C, H, W)`` by ``scale``: block averages or block maxima.

    Returns ``(low, indices)``: ``low`` is ``(C, H/s, W/s)``; ``indices`` are the positions of the
    block maxima (max pooling), which max unpooling needs whichever way ``low`` was made.
    """
    if how not in DOWNSAMPLINGS:
        raise ValueError(f"unknown downsampling {how!r}; valid ones are {', '.join(DOWNSAMPLINGS)}")
    pooled, indices = max_pool2d_with_indices(image, scale)  # (C, H/s, W/s) each
    if how == "max":
        return pooled, indices
    h, w = pooled.shape[-2:]
    blocks = image[:, : h * scale, : w * scale].reshape(image.shape[0], h, scale, w, scale)  # (C, h, s, w, s)
    return blocks.mean(dim=(2, 4)), indices  # (C, h, w)


def _bilinear_transposed(low: torch.Tensor, scale: int, conv) -> torch.Tensor:
    weight, stride, padding = bilinear_upsample_weight(1, scale)  # (1, 1, k, k)
    per_channel = low[:, None]  # (C, 1, h, w): every channel on its own, as in FCN
    out = conv(per_channel, weight.to(low.dtype), stride=stride, padding=padding)  # (C, 1, H, W)
    return out[:, 0]  # (C, H, W)


def upsample_with(method: str, low: torch.Tensor, scale: int, indices: torch.Tensor | None = None) -> torch.Tensor:
    """Grow ``(C, h, w)`` by ``scale`` with one method, using this package's own ops."""
    if method == "nearest":
        return nearest_upsample(low, scale)
    if method == "bed_of_nails":
        return bed_of_nails(low, scale)
    if method == "bilinear":
        return bilinear_upsample(low, (low.shape[-2] * scale, low.shape[-1] * scale))
    if method == "transposed":
        return _bilinear_transposed(low, scale, conv_transpose2d)
    if method == "max_unpool":
        if indices is None:
            raise ValueError("max unpooling needs the indices remembered by max pooling")
        return max_unpool2d(low, indices, scale)
    raise ValueError(f"unknown method {method!r}; valid methods are {', '.join(METHODS)}")


def torch_reference(method: str, low: torch.Tensor, scale: int, indices: torch.Tensor | None = None) -> torch.Tensor:
    """The same upsampling with torch's own operators, for the page's "max |Δ|" check.

    Torch has no bed-of-nails function: its reference is a transposed convolution with stride ``s``
    and an ``s × s`` kernel holding a single 1 in its top-left corner. Max unpooling uses the indices
    of torch's own ``F.max_pool2d`` when they are given.
    """
    x = low[None]  # (1, C, h, w)
    if method == "nearest":
        out = F.interpolate(x, scale_factor=scale, mode="nearest")
    elif method == "bed_of_nails":
        nail = torch.zeros(1, 1, scale, scale, dtype=low.dtype)
        nail[0, 0, 0, 0] = 1.0
        out = F.conv_transpose2d(low[:, None], nail, stride=scale)[:, 0][None]  # (1, C, H, W)
    elif method == "bilinear":
        out = F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False)
    elif method == "transposed":
        out = _bilinear_transposed(low, scale, F.conv_transpose2d)[None]
    elif method == "max_unpool":
        out = F.max_unpool2d(x, indices[None], scale)
    else:
        raise ValueError(f"unknown method {method!r}; valid methods are {', '.join(METHODS)}")
    return out[0]  # (C, H, W)


def error_metrics(estimate: torch.Tensor, truth: torch.Tensor) -> dict[str, float]:
    """MAE, RMSE and PSNR (dB, peak 1) of ``estimate`` against ``truth``; PSNR is ``inf`` when equal."""
    diff = (estimate.double() - truth.double())
    mse = float((diff ** 2).mean())
    return {
        "mae": float(diff.abs().mean()),
        "rmse": math.sqrt(mse),
        "psnr": math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse),
    }


@dataclass(frozen=True)
class MethodResult:
    method: str  # one of METHODS
    image: torch.Tensor  # (C, H, W) upsampled with our op
    reference: torch.Tensor  # (C, H, W) the same with torch's op
    error_map: torch.Tensor  # (H, W) |image - truth| averaged over channels
    mae: float
    rmse: float
    psnr: float  # dB; higher is better
    torch_delta: float  # max |ours - torch|


@dataclass(frozen=True)
class Comparison:
    truth: torch.Tensor  # (C, H, W) the high-resolution image, cropped to a multiple of the scale
    low: torch.Tensor  # (C, H/s, W/s) what every method gets as input
    indices: torch.Tensor  # (C, H/s, W/s) where each block's maximum was
    scale: int
    downsampling: str
    results: tuple[MethodResult, ...]  # in METHODS order

    def best(self) -> str:
        """The method with the lowest mean absolute error."""
        return min(self.results, key=lambda r: r.mae).method


def compare_upsampling(image: torch.Tensor, scale: int, downsampling: str = "average",
                       methods=METHODS) -> Comparison:
    """Shrink ``image`` ``(C, H, W)`` by ``scale`` and grow it back with every method; score each one."""
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f"the scale must be a whole number of at least 1, got {scale!r}")
    if min(image.shape[-2:]) < scale:
        raise ValueError(f"an image of {tuple(image.shape[-2:])} pixels is smaller than one {scale} × {scale} block")
    h, w = (image.shape[-2] // scale) * scale, (image.shape[-1] // scale) * scale
    truth = image[:, :h, :w]  # (C, H, W), whole blocks only
    low, indices = downsample(truth, scale, downsampling)
    ref_indices = F.max_pool2d(truth[None], scale, return_indices=True)[1][0]  # torch's own, for its unpooling
    results = []
    for m in methods:
        ours = upsample_with(m, low, scale, indices)
        ref = torch_reference(m, low, scale, ref_indices)
        err = error_metrics(ours, truth)
        results.append(MethodResult(
            method=m, image=ours, reference=ref, error_map=(ours - truth).abs().mean(0),
            mae=err["mae"], rmse=err["rmse"], psnr=err["psnr"],
            torch_delta=float((ours.double() - ref.double()).abs().max()),
        ))
    return Comparison(truth, low, indices, scale, downsampling, tuple(results))


# ---------------------------------------------------------------------------------------------------
# Check yourself


def compare_questions(rng: random.Random) -> list[Question]:
    """Three questions: how sparse bed of nails is, PSNR from an error, FCN's kernel for a scale."""
    s = rng.choice(SCALES)
    h, w = IMAGE_SIZE
    kept = (h // s) * (w // s)
    q_kept = Question("nails_kept", {"h": h, "w": w, "s": s, "lh": h // s, "lw": w // s, "total": h * w,
                                     "ans": str(kept)}, answer=float(kept))
    mse = rng.choice([0.1, 0.01, 0.001, 0.0001, 0.02, 0.005])
    psnr = 10 * math.log10(1 / mse)
    q_psnr = Question("psnr", {"mse": f"{mse:g}", "inv": f"{1 / mse:g}", "ans": f"{psnr:.2f}"},
                      answer=round(psnr, 4), tolerance=0.05)
    s2 = rng.choice([2, 3, 4, 5, 8])
    k = 2 * s2 - s2 % 2
    q_kernel = Question("fcn_kernel", {"s": s2, "mod": s2 % 2, "p": math.ceil((s2 - 1) / 2), "ans": str(k)},
                        answer=float(k))
    return [q_kept, q_psnr, q_kernel]
