r"""Watch a real tensor flow through a model: every layer's shape, parameters, FLOPs and receptive field.

One forward pass is enough. :func:`trace` runs the model under a ``TorchDispatchMode`` that sees every
tensor operation (convolutions, poolings, upsamplings, additions, concatenations…), with hooks on the
modules so each operation knows which layer it belongs to, and returns

* one :class:`LayerRow` per operation that changes or combines feature maps: its output shape, the
  parameters of its layer, its FLOPs (torch's own formulas, ``torch.utils.flop_counter``) and its
  theoretical **receptive field**;
* the tensors at the boxes of the family's diagram (:class:`~core.models.diagrams.StageGraph`), for
  :func:`stage_boxes` and for showing feature maps.

The receptive field follows Araujo, Norris & Sim ("Computing Receptive Fields of Convolutional Neural
Networks", Distill 2019). Each tensor carries two numbers: ``rf``, how many input pixels one of its
cells can see along a side, and ``jump``, how many input pixels apart two neighbouring cells are
(the stride so far). For a convolution or pooling with kernel ``k``, stride ``s`` and dilation ``d``:

.. math::

    \text{rf}_\text{out} = \text{rf}_\text{in} + (d(k-1)) \cdot \text{jump}_\text{in}, \qquad
    \text{jump}_\text{out} = s \cdot \text{jump}_\text{in}

Upsampling divides the jump by its factor (bilinear also looks one more cell wide); a transposed
convolution with stride ``s`` mixes about ``⌈k/s⌉`` input cells; an addition or concatenation sees
what the widest of its inputs sees. These are the largest possible fields; the *effective* field,
where the weights are large, is smaller.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode
from torch.utils.weak import WeakTensorKeyDictionary

from core.models import diagrams
from core.models.diagrams import Edge, Node, StageGraph
from core.ops.args import int_pair

__all__ = ["LayerRow", "Trace", "StageBox", "trace", "layer_table", "stage_boxes", "totals", "OPS"]

aten = torch.ops.aten

# The operations that become rows, by kind (the pages name the kinds in the student's language).
OPS = ("conv", "transposed_conv", "max_pool", "avg_pool", "max_unpool", "upsample_nearest", "upsample_bilinear",
       "add", "concat", "crop")


@dataclass(frozen=True)
class LayerRow:
    index: int  # order of execution
    module: str  # the layer it belongs to ("encoder.stage1.0.0"), "" for the model's own forward
    op: str  # one of OPS
    detail: str  # kernel, stride, factor… ("3×3 /2"), language-neutral
    shape: tuple[int, ...]  # output (N, C, H, W)
    params: int  # parameters of this operation (a conv's weight and bias), 0 for the others
    flops: int  # torch.utils.flop_counter's count (multiply-add = 2 FLOPs); 0 where it counts none
    rf: float  # receptive field side, in input pixels
    jump: float  # input pixels between neighbouring output cells: the stride so far


@dataclass
class Trace:
    rows: list[LayerRow]
    taps: dict[str, torch.Tensor]  # tap → the tensor there (a detached copy)
    fields: dict[str, tuple[float, float]]  # tap → (rf, jump)
    output: object
    input_size: tuple[int, int]
    total_flops: int = 0
    total_params: int = 0
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class StageBox:
    node: Node
    shape: tuple[int, ...]  # (C, H, W) of the tensor at the box
    rf: float
    jump: float


class _Tracer(TorchDispatchMode):
    """Propagates (rf, jump) through every op and writes a row for the ones that matter."""

    def __init__(self, stack: list[str]):
        super().__init__()
        self.stack = stack
        self.info = WeakTensorKeyDictionary()
        self.rows: list[LayerRow] = []
        self.flop_registry = FlopCounterMode(display=False).flop_registry

    def _in(self, t) -> tuple[float, float]:
        return self.info.get(t, (1.0, 1.0)) if torch.is_tensor(t) else (1.0, 1.0)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        packet = func.overloadpacket
        tensors = [a for a in args if torch.is_tensor(a)]
        tensors += [t for a in args if isinstance(a, (list, tuple)) for t in a if torch.is_tensor(t)]
        known = [self.info[t] for t in tensors if t in self.info]
        rf, jump = (max(k[0] for k in known), min(k[1] for k in known)) if known else (1.0, 1.0)
        row = None
        first = out[0] if isinstance(out, (tuple, list)) else out

        if packet is aten.convolution:
            x, w = args[0], args[1]
            rf, jump = self._in(x)
            stride, dilation, transposed = int_pair("stride", args[3]), int_pair("dilation", args[5]), bool(args[6])
            k = int_pair("kernel size", tuple(w.shape[-2:]))
            k_eff = dilation[0] * (k[0] - 1) + 1
            if transposed:
                rf, jump = rf + (math.ceil(k_eff / stride[0]) - 1) * jump, jump / stride[0]
                op, detail = "transposed_conv", f"{k[0]}×{k[1]} ×{stride[0]}"
            else:
                rf, jump = rf + (k_eff - 1) * jump, jump * stride[0]
                op = "conv"
                detail = f"{k[0]}×{k[1]}" + (f" /{stride[0]}" if stride[0] > 1 else "") + \
                         (f" d{dilation[0]}" if dilation[0] > 1 else "")
            params = w.numel() + (args[2].numel() if torch.is_tensor(args[2]) else 0)
            row = (op, detail, params)
        elif packet in (aten.max_pool2d_with_indices, aten.max_pool2d, aten.avg_pool2d):
            rf, jump = self._in(args[0])
            k = int_pair("kernel size", args[1])
            s = int_pair("stride", args[2]) if len(args) > 2 and args[2] else k
            d = int_pair("dilation", args[4]) if len(args) > 4 and packet is not aten.avg_pool2d else (1, 1)
            rf, jump = rf + d[0] * (k[0] - 1) * jump, jump * s[0]
            kind = "avg_pool" if packet is aten.avg_pool2d else "max_pool"
            row = (kind, f"{k[0]}×{k[1]} /{s[0]}", 0)
        elif packet is aten.max_unpool2d:
            rf, jump = self._in(args[0])
            factor = first.shape[-2] / args[0].shape[-2]
            jump = jump / factor
            row = ("max_unpool", f"×{factor:g}", 0)
        elif packet in (aten.upsample_nearest2d, aten.upsample_bilinear2d, aten._upsample_nearest_exact2d):
            rf, jump = self._in(args[0])
            factor = first.shape[-2] / args[0].shape[-2]
            bilinear = packet is aten.upsample_bilinear2d
            if bilinear:
                rf = rf + jump  # two neighbours along each side
            jump = jump / factor
            row = ("upsample_bilinear" if bilinear else "upsample_nearest", f"×{factor:.3g}", 0)
        elif packet is aten.add and len(tensors) == 2 and tensors[0].dim() == 4 and \
                tensors[0].shape == tensors[1].shape:
            row = ("add", "", 0)
        elif packet is aten.cat and first.dim() == 4:
            row = ("concat", "+".join(str(t.shape[1]) for t in args[0]), 0)
        elif packet is aten.slice and torch.is_tensor(first) and first.dim() == 4 and \
                args[0].shape[-2:] != first.shape[-2:] and args[0].dim() == 4:
            row = ("crop", "", 0)
        elif packet in (aten.mean, aten._adaptive_avg_pool2d) and torch.is_tensor(first) and first.dim() == 4 \
                and first.shape[-2:] == (1, 1):
            rf = math.inf

        for t in (out if isinstance(out, (tuple, list)) else [out]):
            if torch.is_tensor(t):
                self.info[t] = (rf, jump)
        if row is not None:
            op, detail, params = row
            flops = 0
            if packet in self.flop_registry:
                flops = int(self.flop_registry[packet](*args, **kwargs, out_val=out))
            self.rows.append(LayerRow(len(self.rows), self.stack[-1] if self.stack else "", op, detail,
                                      tuple(first.shape), int(params), flops, rf, jump))
        return out


_TAP = re.compile(r"^(?P<path>[^\[:]*)(?::(?P<inp>in))?(?:\[(?P<idx>\d+)\])?$")


def _parse(tap: str) -> tuple[str, bool, int | None]:
    m = _TAP.match(tap)
    if not m:
        raise ValueError(f"cannot read the tap '{tap}'")
    return m["path"], bool(m["inp"]), int(m["idx"]) if m["idx"] is not None else None


def trace(model: nn.Module, x: torch.Tensor, taps=()) -> Trace:
    """Run ``model(x)`` once (no gradients) and record every row and the tensors at ``taps``.

    A tap is ``""`` (the input), ``"path"`` (a module's output; its first element if it returns a
    tuple), ``"path:in"`` (the module's first input) or ``"path[i]"`` (element ``i`` of a list output).
    The model should be in eval mode: the trace changes nothing in it.
    """
    wanted: dict[str, list[tuple[str, bool, int | None]]] = {}
    for tap in taps:
        if tap == "":
            continue
        path, inp, idx = _parse(tap)
        wanted.setdefault(path, []).append((tap, inp, idx))
    modules = dict(model.named_modules())
    missing = [p for p in wanted if p not in modules]
    if missing:
        raise ValueError(f"the model has no module {', '.join(missing)}")

    stack: list[str] = []
    tracer = _Tracer(stack)
    captured: dict[str, torch.Tensor] = {}
    fields: dict[str, tuple[float, float]] = {}

    def keep(tap: str, value, idx):
        if isinstance(value, (tuple, list)):
            value = value[idx if idx is not None else 0]
        if torch.is_tensor(value):
            fields[tap] = tracer.info.get(value, (1.0, 1.0))
            captured[tap] = value.detach().clone()

    handles = []
    for name, module in modules.items():
        def pre(mod, args, name=name):
            stack.append(name)
            for tap, inp, idx in wanted.get(name, ()):
                if inp:
                    keep(tap, args[0], idx)

        def post(mod, args, output, name=name):
            stack.pop()
            for tap, inp, idx in wanted.get(name, ()):
                if not inp:
                    keep(tap, output, idx)

        handles.append(module.register_forward_pre_hook(pre))
        handles.append(module.register_forward_hook(post))
    try:
        with torch.no_grad(), tracer:
            tracer.info[x] = (1.0, 1.0)
            output = model(x)
    finally:
        for h in handles:
            h.remove()
    captured[""] = x.detach()
    fields[""] = (1.0, 1.0)
    rows = tracer.rows
    return Trace(rows, captured, fields, output, tuple(x.shape[-2:]),
                 total_flops=sum(r.flops for r in rows),
                 total_params=sum(p.numel() for p in model.parameters()))


def layer_table(model: nn.Module, x: torch.Tensor) -> list[LayerRow]:
    """The per-operation table of one forward pass (see :func:`trace`)."""
    return trace(model, x).rows


def stage_boxes(graph: StageGraph, tr: Trace) -> dict[str, StageBox]:
    """The diagram's boxes with the shapes and receptive fields measured in ``tr``."""
    boxes = {}
    for node in graph.nodes:
        t = tr.taps.get(node.tap)
        if t is None:
            continue
        rf, jump = tr.fields.get(node.tap, (1.0, 1.0))
        boxes[node.key] = StageBox(node, tuple(t.shape[1:]), rf, jump)
    return boxes


def graph_trace(model: nn.Module, x: torch.Tensor) -> tuple[StageGraph, Trace]:
    """Trace ``model`` with every tap its diagram needs."""
    graph = diagrams.graph(model)
    return graph, trace(model, x, [n.tap for n in graph.nodes])


def totals(rows: list[LayerRow]) -> dict[str, float]:
    """Sums over a table: FLOPs, parameters of its convolutions, and the largest receptive field."""
    finite = [r.rf for r in rows if math.isfinite(r.rf)]
    return {"flops": sum(r.flops for r in rows), "params": sum(r.params for r in rows),
            "rf": max(finite) if finite else 1.0, "layers": len(rows)}


def edges_of(graph: StageGraph, boxes: dict[str, StageBox]) -> list[Edge]:
    """The arrows whose two ends were measured."""
    return [e for e in graph.edges if e.src in boxes and e.dst in boxes]
