r"""Why a segmentation network does not stay at full resolution: FLOPs, memory, receptive field.

The most direct way to classify every pixel is a stack of 3x3 convolutions with padding 1: the map
stays :math:`H \times W` at every layer and the last layer outputs :math:`C \times H \times W`. Two
things go wrong as the network gets deeper and wider:

* **cost** — a 3x3 convolution from :math:`C_{in}` to :math:`C_{out}` channels on an
  :math:`H_o \times W_o` output does :math:`9\,C_{in} C_{out} H_o W_o` multiply-adds. At full resolution
  every layer pays the full :math:`H W`, and the widest layers (hundreds of channels) pay it too.
  Training also keeps every layer's output for the backward pass, so activation memory grows the same way.
* **context** — each 3x3 layer widens the receptive field by only 2 pixels, so after :math:`L` layers a
  pixel "sees" a :math:`(2L+1)`-pixel window: too small to recognise a person that covers 200 pixels.

The **hourglass** (encoder–decoder; Long, Shelhamer & Darrell, FCN, 2015; Badrinarayanan et al.,
SegNet, 2017) uses the same layers with the same widths, but the encoder halves the resolution at each
stage (stride-2 convolutions here) while the channels double, and the decoder doubles it back
(nearest-neighbour upsampling then a convolution). The wide layers run on small maps, which cuts FLOPs
and memory, and each stride doubles how fast the receptive field grows.

Both networks are real ``nn.Module`` objects. FLOPs are counted by torch itself
(``torch.utils.flop_counter.FlopCounterMode``, which counts a multiply-add as 2 FLOPs and counts only
convolutions and matrix products: no bias, ReLU or upsampling), running on the ``meta`` device, where
tensors have shapes but no data, so a 2048 x 2048 image costs nothing to measure. The hand formula
:func:`conv_flops` is shown beside torch's count.

The receptive field is traced through the layers' own kernel sizes, strides, paddings and upsampling
factors (the convolution arithmetic of Dumoulin & Visin, "A guide to convolution arithmetic", 2016),
keeping for every output position the first and last input pixel it depends on, and is checked by
back-propagating from one output pixel (:func:`empirical_receptive_field`). Tracing exactly, rather
than with the textbook recurrence ``r += (k - 1) * jump``, matters for the decoder: nearest-neighbour
upsampling is not shift-invariant, so the field of an hourglass depends on the pixel's position
(25 or 33 pixels for three stages), and the recurrence gives neither number (31).
"""
from __future__ import annotations

import copy
import random
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

from core.background import once
from core.quiz import Question

__all__ = [
    "NetConfig",
    "widths",
    "build_full_resolution",
    "build_hourglass",
    "build",
    "LayerCost",
    "conv_flops",
    "layer_costs",
    "totals",
    "cost_curves",
    "receptive_field_at",
    "empirical_receptive_field",
    "cost_questions",
]


@dataclass(frozen=True)
class NetConfig:
    stages: int = 3  # downsampling steps of the hourglass; both nets have 2*stages + 2 conv layers
    base_width: int = 32  # channels of the first layer; every stage doubles them, the decoder halves back
    in_channels: int = 3  # an RGB image
    num_classes: int = 6  # C: the lecture's street scene has 6 classes


def widths(cfg: NetConfig) -> list[int]:
    """Output channels of every layer, stem to head (the same list for both networks)."""
    enc = [cfg.base_width * 2 ** k for k in range(cfg.stages + 1)]  # stem, enc1..encS
    dec = [cfg.base_width * 2 ** k for k in range(cfg.stages - 1, -1, -1)]  # decS..dec1
    return enc + dec + [cfg.num_classes]


def _conv(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.ReLU(inplace=True))


def _up_conv(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                         nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.ReLU(inplace=True))


def _build(cfg: NetConfig, hourglass: bool) -> nn.Sequential:
    w = widths(cfg)
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    layers["stem"] = _conv(cfg.in_channels, w[0])
    for k in range(1, cfg.stages + 1):  # encoder: channels double; the hourglass also halves H and W
        layers[f"enc{k}"] = _conv(w[k - 1], w[k], stride=2 if hourglass else 1)
    for k in range(cfg.stages, 0, -1):  # decoder: channels halve; the hourglass doubles H and W first
        c_in, c_out = cfg.base_width * 2 ** k, cfg.base_width * 2 ** (k - 1)
        layers[f"dec{k}"] = _up_conv(c_in, c_out) if hourglass else _conv(c_in, c_out)
    layers["head"] = nn.Conv2d(w[cfg.stages * 2], cfg.num_classes, 1, bias=False)  # C scores per pixel
    return nn.Sequential(layers)


def build_full_resolution(cfg: NetConfig) -> nn.Sequential:
    """Only 3x3 convolutions with padding 1 and stride 1: every layer keeps ``H x W``."""
    return _build(cfg, hourglass=False)


def build_hourglass(cfg: NetConfig) -> nn.Sequential:
    """The same layers and widths, with stride-2 encoder convolutions and x2 upsampling in the decoder."""
    return _build(cfg, hourglass=True)


def build(kind: str, cfg: NetConfig, device: str | torch.device | None = None) -> nn.Sequential:
    """``"full_resolution"`` or ``"hourglass"``; ``device="meta"`` builds it with shapes but no weights."""
    builders = {"full_resolution": build_full_resolution, "hourglass": build_hourglass}
    if kind not in builders:
        raise ValueError(f"Unknown network '{kind}'; valid names are {', '.join(builders)}.")
    with torch.device(device or "cpu"):
        return builders[kind](cfg)


@dataclass(frozen=True)
class LayerCost:
    name: str  # stem, enc1, ..., dec1, head
    out_shape: tuple[int, int, int]  # (C, H, W) of the layer's output
    flops: int  # counted by torch's FlopCounterMode (2 per multiply-add)
    flops_formula: int  # the hand formula, summed over the layer's convolutions
    activation_bytes: int  # bytes of the maps this layer produces and training keeps (float32)
    params: int
    receptive_field: int  # side, in input pixels, of the widest window one output pixel depends on
    receptive_field_min: int  # the narrowest such window (nearest upsampling makes it depend on position)
    jump: float  # distance in input pixels between neighbouring outputs (the layer's total stride)


def conv_flops(conv: nn.Conv2d, out_h: int, out_w: int, batch: int = 1) -> int:
    """``2 * C_in/groups * k_h * k_w * C_out * H_out * W_out * N``: two FLOPs per multiply-add, no bias."""
    kh, kw = conv.kernel_size
    return 2 * batch * (conv.in_channels // conv.groups) * kh * kw * conv.out_channels * out_h * out_w


def layer_costs(model: nn.Sequential, height: int, width: int | None = None, batch: int = 1) -> list[LayerCost]:
    """Run a ``(batch, C_in, H, W)`` input through each layer of ``model`` on the meta device.

    Each top-level child is one "layer"; its FLOPs are counted by ``FlopCounterMode``, its activation
    memory is the bytes of the outputs of its convolutions and upsamplings (ReLUs work in place).
    """
    width = height if width is None else width
    first = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    meta = _on_meta(model)
    x = torch.empty(batch, first.in_channels, height, width, device="meta")
    jump = 1.0
    lo = hi = np.arange(_LINE)  # every input position depends on itself
    out = []
    for (name, layer), (_, meta_layer) in zip(model.named_children(), meta.named_children()):
        produced: list[int] = []
        hooks = [m.register_forward_hook(lambda _m, _i, o: produced.append(o.numel() * o.element_size()))
                 for m in meta_layer.modules() if isinstance(m, (nn.Conv2d, nn.Upsample))]
        formula = 0
        with FlopCounterMode(display=False) as counter:
            for m in meta_layer.children() if isinstance(meta_layer, nn.Sequential) else [meta_layer]:
                x = m(x)
                if isinstance(m, nn.Conv2d):
                    formula += conv_flops(m, x.shape[-2], x.shape[-1], batch)
        for h in hooks:
            h.remove()
        lo, hi = _propagate_intervals(layer, lo, hi)
        for m in layer.modules():
            if isinstance(m, nn.Conv2d):
                jump *= m.stride[0]
            elif isinstance(m, nn.Upsample):
                jump /= float(m.scale_factor)
        rf_min, rf_max = _extent_range(lo, hi)
        out.append(LayerCost(
            name=name,
            out_shape=tuple(x.shape[1:]),
            flops=int(counter.get_total_flops()),
            flops_formula=int(formula),
            activation_bytes=int(sum(produced)),
            params=sum(p.numel() for p in layer.parameters()),
            receptive_field=rf_max,
            receptive_field_min=rf_min,
            jump=jump,
        ))
    return out


def _on_meta(model: nn.Module) -> nn.Module:
    """``model`` itself when it already lives on the meta device, else a data-free copy there."""
    if all(p.is_meta for p in model.parameters()):
        return model
    return copy.deepcopy(model).to("meta")


def totals(costs: list[LayerCost]) -> dict:
    """Whole-network sums: FLOPs (torch's count and the formula), activation bytes, parameters, final RF."""
    return {
        "flops": sum(c.flops for c in costs),
        "flops_formula": sum(c.flops_formula for c in costs),
        "activation_bytes": sum(c.activation_bytes for c in costs),
        "params": sum(c.params for c in costs),
        "receptive_field": costs[-1].receptive_field,
    }


def cost_curves(cfg: NetConfig, sizes: list[int]) -> dict[str, dict[str, list]]:
    """For each network and each square image side in ``sizes``: total FLOPs and activation bytes.

    Both networks' maps are the image divided by powers of two, so when the smallest side is a multiple of
    ``2**stages`` and every other side a multiple of it, each layer's FLOPs and bytes are exactly the smallest
    side's times ``(side / smallest)²``: counted by torch once, at the smallest side, and scaled in integers
    (the same numbers as counting every side, 9 times faster). Other sides are each counted."""
    base = min(sizes)
    scales = base % 2 ** cfg.stages == 0 and all(s % base == 0 for s in sizes)
    curves = {}
    for kind in ("full_resolution", "hourglass"):
        model = build(kind, cfg, device="meta")
        if scales:
            once = totals(layer_costs(model, base))
            rows = [{k: once[k] * (s // base) ** 2 for k in ("flops", "activation_bytes")} for s in sizes]
        else:
            rows = [totals(layer_costs(model, s)) for s in sizes]
        curves[kind] = {"size": list(sizes), "flops": [r["flops"] for r in rows],
                        "activation_bytes": [r["activation_bytes"] for r in rows]}
    return curves


_LINE = 4096  # a 1-D line long enough that its middle is far from both borders for every config here


def _propagate_intervals(layer: nn.Module, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Carry, for every position of a 1-D line, the first and last input position it depends on.

    Reads the real modules' attributes: a convolution's output ``i`` reads inputs ``i*s - p + t*d``
    (``t = 0..k-1``, those inside the map; padding zeros depend on nothing); nearest upsampling's
    output ``i`` reads input ``floor(i / f)``. Rows and columns behave alike (square kernels here).
    """
    for m in layer.modules():
        if isinstance(m, nn.Conv2d):
            k, s, p, d = m.kernel_size[0], m.stride[0], m.padding[0], m.dilation[0]
            n = len(lo)
            n_out = (n + 2 * p - d * (k - 1) - 1) // s + 1
            first = np.arange(n_out) * s - p  # (n_out,) leftmost tap of each output
            taps = first[:, None] + d * np.arange(k)[None, :]  # (n_out, k)
            valid = (taps >= 0) & (taps < n)
            left = np.where(valid, taps, n).min(axis=1)  # first tap inside the map
            right = np.where(valid, taps, -1).max(axis=1)  # last tap inside the map
            lo, hi = lo[left], hi[right]
        elif isinstance(m, nn.Upsample):
            if m.mode != "nearest":
                raise ValueError("Only nearest-neighbour upsampling is traced here.")
            f = int(m.scale_factor)
            idx = np.arange(len(lo) * f) // f  # (n * f,) output i copies input floor(i / f)
            lo, hi = lo[idx], hi[idx]
    return lo, hi


def _extent_range(lo: np.ndarray, hi: np.ndarray) -> tuple[int, int]:
    """Narrowest and widest receptive field over the positions in the middle half of the line."""
    n = len(lo)
    extent = hi[n // 4: 3 * n // 4] - lo[n // 4: 3 * n // 4] + 1
    return int(extent.min()), int(extent.max())


def receptive_field_at(model: nn.Sequential, size: int, position: int) -> tuple[int, int]:
    """``(first, last)`` input column that output column ``position`` of a ``size``-wide image depends on."""
    lo = hi = np.arange(size)
    for layer in model.children():
        lo, hi = _propagate_intervals(layer, lo, hi)
    return int(lo[position]), int(hi[position])


def empirical_receptive_field(model: nn.Module, size: int, position: int | None = None) -> tuple[int, int]:
    """Measure with autograd the ``(first, last)`` input column that one output pixel depends on.

    All weights are set to a positive constant (so no contributions cancel), a ones image goes in, and
    the gradient of output pixel ``(position, position)`` (the centre by default) with respect to the
    input is non-zero exactly on its receptive field. Use a narrow copy of a wide model: the field
    depends on kernels, strides and upsampling, not on the number of channels.
    """
    position = size // 2 if position is None else position
    probe = copy.deepcopy(model).float().cpu()
    with torch.no_grad():
        for p in probe.parameters():
            p.fill_(0.01)
    first = next(m for m in probe.modules() if isinstance(m, nn.Conv2d))
    x = torch.ones(1, first.in_channels, size, size, requires_grad=True)
    y = probe(x)  # (1, C, size, size)
    y[0, 0, position, position].backward()
    cols = (x.grad[0].abs().sum(dim=(0, 1)) > 0).nonzero().flatten()  # input columns reaching that pixel
    return int(cols.min()), int(cols.max())


@once
def receptive_field_check(kind: str, stages: int) -> tuple[int, tuple[int, int], tuple[int, int]]:
    """The centre pixel's receptive field on a probe image, traced and measured by autograd: ``(side, traced,
    measured)``, each ``(first, last)`` input column. Once per process and (network, stages), then kept.

    The field depends on kernels, strides and upsampling, not on widths or classes: a one-channel copy is
    probed, on a side that is a multiple of ``2**stages`` wider than twice the hourglass's field. It is built on
    ``meta`` and given constant weights, so torch's global generator is never drawn from."""
    cfg = NetConfig(stages=stages, base_width=1, num_classes=1)
    field = max(c.receptive_field for c in layer_costs(build("hourglass", cfg, device="meta"), 2 ** stages))
    step = 2 ** stages
    side = step * -(-(2 * field + 2) // step)
    narrow = build(kind, cfg, device="meta").to_empty(device="cpu")
    return side, receptive_field_at(narrow, side, side // 2), empirical_receptive_field(narrow, side)


def cost_questions(rng: random.Random) -> list[Question]:
    """Multiply-adds of one 3x3 layer, the receptive field of a full-resolution stack, the gain of halving."""
    c_in, c_out, side = rng.choice([16, 32, 64]), rng.choice([16, 32, 64, 128]), rng.choice([32, 64, 128])
    with torch.device("meta"):
        conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
    macs = conv_flops(conv, side, side) // 2  # FLOPs count 2 per multiply-add
    q_macs = Question("conv_macs", {"c_in": c_in, "c_out": c_out, "side": side}, round(macs / 1e6, 3))
    layers = rng.randint(3, 20)
    q_rf = Question("rf_full", {"l": layers}, float(2 * layers + 1))
    k = rng.randint(1, 4)
    q_half = Question("halving", {"k": k}, float(4 ** k))
    return [q_macs, q_rf, q_half]
