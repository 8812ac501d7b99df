"""How each network of the lecture is drawn: boxes tapped from module outputs, and the arrows between them.

A model file holds the network; this module holds its picture. A diagram is a :class:`StageGraph`:
each :class:`Node` is one box, placed at a layout position (``col`` left to right, ``row`` top to
bottom) and tied to the tensor a module outputs (its ``tap``); each :class:`Edge` is one arrow,
whose ``kind`` says what travels along it (flow, skip, concat, indices, fusion, lateral, topdown).
:func:`graph` gives the diagram of a built model. The shapes in the boxes are not written here: they
are measured on a real forward pass by :mod:`core.models.inspect`, and drawn by
:func:`core.figures.architectures.architecture_diagram`.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from core.models import SEGMENTATION
from core.models.fcn import FCN
from core.models.fpn import FPN
from core.models.hrnet import HRNetConfig, HRNetSeg, PoseHighResolutionNet
from core.models.segnet import SegNet
from core.models.unet import UNet

__all__ = ["Node", "Edge", "StageGraph", "chain", "graph", "DRAWN", "hrnet_graph", "segformer_graph"]

# The names of :mod:`core.models` the architecture pages draw: every segmentation model and the official
# pose HRNet (the pose case study's contenders are shown on their own pages, without diagrams).
DRAWN = (*SEGMENTATION, "pose_hrnet_w32")


@dataclass(frozen=True)
class Node:
    """One box of a diagram: the tensor that the module at ``tap`` outputs (or receives)."""

    key: str  # unique name, shown in the box (module names are the same in every language)
    tap: str  # module path; "" is the model's input, "<path>:in" the first input of that module
    col: float  # layout: left to right
    row: float  # layout: top to bottom (rows of a grid, or how deep in the network)
    kind: str = "conv"  # input, conv, pool, up, score, fuse, head, output: the box's colour


@dataclass(frozen=True)
class Edge:
    """One arrow: ``kind`` is flow, skip, concat, indices, fusion, lateral or topdown."""

    src: str
    dst: str
    kind: str = "flow"


@dataclass(frozen=True)
class StageGraph:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    def node(self, key: str) -> Node:
        for n in self.nodes:
            if n.key == key:
                return n
        raise KeyError(f"no node '{key}'; nodes are {', '.join(n.key for n in self.nodes)}")


def chain(keys: list[str]) -> list[Edge]:
    """Flow arrows along consecutive boxes."""
    return [Edge(a, b) for a, b in zip(keys, keys[1:])]


def fcn_graph(model: FCN) -> StageGraph:
    """VGG's pools in a row; each skip one row lower, its 1×1 scores added to the ×2-upsampled coarser ones."""
    skips, stride = model.head.skips, model.head.stride
    encoder = ["image", "pool1", "pool2", "pool3", "pool4", "pool5", "fc7", "score_fr"]
    nodes = [Node("image", "", 0, 0, "input")]
    nodes += [Node(f"pool{s}", f"encoder.pool{s}", s, 0, "pool") for s in range(1, 6)]
    nodes += [Node("fc7", "encoder.fc7", 6, 0, "conv"), Node("score_fr", "head.score_fr", 7, 0, "score")]
    edges = chain(encoder)
    last, out_at = "score_fr", (8, 0)
    if skips >= 1:  # stride 16: up ×2 from score_fr, plus the 1×1 scores of pool4
        nodes += [Node("score_pool4", "head.score_pool4", 4, 1.5, "score"),
                  Node("upscore2", "head.upscore2", 8, 0.75, "up"),
                  Node("fuse_pool4", "upsample:in" if skips == 1 else "head.upscore_pool4:in", 8, 1.5, "fuse")]
        edges += [Edge("pool4", "score_pool4"), Edge("score_fr", "upscore2"),
                  Edge("score_pool4", "fuse_pool4", "skip"), Edge("upscore2", "fuse_pool4")]
        last, out_at = "fuse_pool4", (9, 1.5)
    if skips >= 2:  # stride 8: up ×2 again, plus the 1×1 scores of pool3
        nodes += [Node("score_pool3", "head.score_pool3", 3, 3.0, "score"),
                  Node("upscore_pool4", "head.upscore_pool4", 9, 2.25, "up"),
                  Node("fuse_pool3", "upsample:in", 9, 3.0, "fuse")]
        edges += [Edge("pool3", "score_pool3"), Edge("fuse_pool4", "upscore_pool4"),
                  Edge("score_pool3", "fuse_pool3", "skip"), Edge("upscore_pool4", "fuse_pool3")]
        last, out_at = "fuse_pool3", (10, 3.0)
    nodes.append(Node(f"upscore{stride}", "upsample", *out_at, "output"))
    edges.append(Edge(last, f"upscore{stride}"))
    return StageGraph(tuple(nodes), tuple(edges))


def segnet_graph(model: SegNet) -> StageGraph:
    """Encoder down to the right, decoder up to the right; the index arrows run straight across."""
    down = ["image"] + [f"pool{s}" for s in range(1, 6)]
    nodes = [Node("image", "", 0, 0, "input")]
    # encoder down to the right, decoder up to the right; every level on its own row, so the index
    # arrows run straight across from pool{s} to unpool{s}; each decoder stage sits above its unpooling
    nodes += [Node(f"pool{s}", f"encoder.pool{s}", s, s, "pool") for s in range(1, 6)]
    nodes += [Node(f"unpool{s}", f"head.unpool{s}", 11 - s, s, "up") for s in range(5, 0, -1)]
    nodes += [Node(f"stage{s}_D", f"head.stage{s}_D", 11 - s, s - 0.55, "conv") for s in range(5, 0, -1)]
    nodes.append(Node("classifier", "head.classifier", 11, 0, "output"))
    edges = chain(down) + [Edge("pool5", "unpool5")]
    for s in range(5, 0, -1):
        edges.append(Edge(f"unpool{s}", f"stage{s}_D"))
        if s > 1:
            edges.append(Edge(f"stage{s}_D", f"unpool{s - 1}"))
        edges.append(Edge(f"pool{s}", f"unpool{s}", "indices"))
    edges.append(Edge("stage1_D", "classifier"))
    return StageGraph(tuple(nodes), tuple(edges))


def unet_graph(model: UNet) -> StageGraph:
    """The U: encoder levels down to the right, decoder levels up to the right, one row per level."""
    d = model.encoder.depth
    # the U: encoder levels down to the right, decoder levels up to the right, one row per level,
    # so each concatenation arrow runs straight across
    nodes = [Node("image", "", 0, 0, "input")]
    nodes += [Node(f"enc{lv}", f"encoder.enc{lv}", lv, lv - 1, "pool" if lv > 1 else "conv")
              for lv in range(1, d + 2)]
    for lv in range(d, 0, -1):
        nodes.append(Node(f"up{lv}", f"head.up{lv}", 2 * d + 2 - lv, lv - 0.45, "up"))
        nodes.append(Node(f"dec{lv}", f"head.dec{lv}", 2 * d + 2 - lv, lv - 1, "fuse"))
    nodes.append(Node("classifier", "head.classifier", 2 * d + 2, 0, "output"))
    edges = [Edge("image", "enc1")] + [Edge(f"enc{lv}", f"enc{lv + 1}") for lv in range(1, d + 1)]
    edges.append(Edge(f"enc{d + 1}", f"up{d}"))
    for lv in range(d, 0, -1):
        edges += [Edge(f"up{lv}", f"dec{lv}"), Edge(f"enc{lv}", f"dec{lv}", "concat")]
        if lv > 1:
            edges.append(Edge(f"dec{lv}", f"up{lv - 1}"))
    edges.append(Edge("dec1", "classifier"))
    return StageGraph(tuple(nodes), tuple(edges))


def hrnet_graph(cfg: HRNetConfig, prefix: str, multi_scale_output: bool, head: tuple[str, str],
                output: str | None = None) -> StageGraph:
    """The HRNet picture: one row per branch (resolution), one column per module; fusion arrows between."""
    nodes = [Node("image", "", 0, 0, "input"), Node("stem", f"{prefix}layer1", 1, 0, "conv")]
    edges = [Edge("image", "stem")]
    previous = ["stem"]  # the boxes of the last column, one per branch
    col = 1
    for stage, n_modules in zip((2, 3, 4), cfg.modules):
        for m in range(n_modules):
            col += 1
            last_of_net = stage == 4 and m == n_modules - 1
            n_out = stage if (multi_scale_output or not last_of_net) else 1
            current = []
            for b in range(n_out):
                key = f"s{stage}m{m}b{b}"
                nodes.append(Node(key, f"{prefix}stage{stage}.{m}[{b}]", col, b, "fuse" if b else "conv"))
                current.append(key)
            for b in range(n_out):  # every output branch hears every input branch of the module
                for j in range(stage):
                    src = previous[min(j, len(previous) - 1)]  # a new branch grows from the lowest one
                    same = j == b and j < len(previous)
                    edges.append(Edge(src, current[b], "flow" if same else "fusion"))
            previous = current
    key, tap = head
    nodes.append(Node(key, tap, col + 1, 0, "head"))
    edges += [Edge(p, key, "flow" if i == 0 else "fusion") for i, p in enumerate(previous)]
    if output:
        nodes.append(Node("output", output, col + 2, 0, "output"))
        edges.append(Edge(key, "output"))
    return StageGraph(tuple(nodes), tuple(_unique(edges)))


def _unique(edges: list[Edge]) -> list[Edge]:
    seen, out = set(), []
    for e in edges:
        if (e.src, e.dst) not in seen:
            seen.add((e.src, e.dst))
            out.append(e)
    return out


def hrnet_seg_graph(model: HRNetSeg) -> StageGraph:
    """HRNetV2: every branch reaches the head, which is upsampled to the image."""
    return hrnet_graph(model.config, "encoder.", multi_scale_output=True, head=("last_layer", "head"),
                       output="upsample")


def pose_hrnet_graph(model: PoseHighResolutionNet) -> StageGraph:
    """The pose HRNet: the last fusion keeps only the stride-4 branch, read by the heatmap layer."""
    return hrnet_graph(model.config, "", multi_scale_output=False, head=("final_layer", "final_layer"))


def fpn_graph(model: FPN) -> StageGraph:
    """Bottom-up C2…C5 in one column, the pyramid P2…P6 beside it, the semantic head reading P2…P5."""
    nodes = [Node("image", "", 0, 4.2, "input")]
    nodes += [Node(f"C{k}", f"encoder.layer{k - 1}", 1, 5 - k, "pool") for k in range(2, 6)]
    nodes += [Node(f"P{k}", f"head.neck[{k - 2}]", 3, 5 - k, "fuse") for k in range(2, 7)]
    nodes += [Node("semantic", "head.semantic", 5, 3, "head"), Node("output", "upsample", 6, 3, "output")]
    edges = [Edge("image", "C2")] + [Edge(f"C{k}", f"C{k + 1}") for k in range(2, 5)]
    edges += [Edge(f"C{k}", f"P{k}", "lateral") for k in range(2, 6)]
    edges += [Edge(f"P{k + 1}", f"P{k}", "topdown") for k in range(2, 5)]
    edges += [Edge("P5", "P6")]
    edges += [Edge(f"P{k}", "semantic", "fusion") for k in range(2, 6)]
    edges += [Edge("semantic", "output")]
    return StageGraph(tuple(nodes), tuple(edges))


def segformer_graph(model: nn.Module) -> StageGraph:
    """transformers' SegFormer: the encoder's stages in one column (strides 4, 8, 16, 32), and its all-MLP
    decoder beside them — a 1×1 projection per stage, a bilinear upsampling of each to stride 4, their
    concatenation, the 1×1 fusion, the 1×1 classifier and the ×4 upsampling to the input.

    The stages and projections are found by walking the live module (``SegformerStage`` modules, the
    decode head's ``linear_projections``), so a model with other depths or widths is drawn as it is.
    Two taps are not module outputs: ``@up<i>`` (stage ``i``'s part of the fusion layer's input) and
    ``@output`` (the upsampled scores); :func:`core.zoo.universal.segformer_decoder` measures them.
    """
    stages = [name for name, m in model.named_modules() if type(m).__name__ == "SegformerStage"]
    head = next((name for name, m in model.named_modules() if type(m).__name__ == "SegformerDecodeHead"), None)
    if not stages or head is None:
        raise ValueError(f"{type(model).__name__} is not a SegFormer with an all-MLP decode head")
    decode = model.get_submodule(head)
    proj = "linear_projections" if hasattr(decode, "linear_projections") else "linear_c"
    n = len(stages)
    mid = (n - 1) / 2
    nodes = [Node("image", "", 0, 0, "input")]
    edges = [Edge("image", "stage1")]
    for i, path in enumerate(stages):
        s = i + 1
        nodes += [Node(f"stage{s}", path, 1, i, "conv"),  # (C_s, H/stride, W/stride)
                  Node(f"mlp{s}", f"{head}.{proj}.{i}", 2, i, "score"),  # 1×1: C_s → D, same size
                  Node(f"up{s}", f"@up{i}", 3, i, "up")]  # bilinear to stride 4: (D, H/4, W/4)
        edges += [Edge(f"stage{s}", f"mlp{s}", "lateral"), Edge(f"mlp{s}", f"up{s}"),
                  Edge(f"up{s}", "concat", "concat")]
        if s < n:
            edges.append(Edge(f"stage{s}", f"stage{s + 1}"))
    nodes += [Node("concat", f"{head}.linear_fuse:in", 4, mid, "fuse"),  # (n·D, H/4, W/4)
              Node("linear_fuse", f"{head}.linear_fuse", 5, mid, "conv"),  # 1×1: n·D → D
              Node("classifier", f"{head}.classifier", 6, mid, "head"),  # 1×1: D → K
              Node("output", "@output", 7, mid, "output")]  # bilinear ×4: (K, H, W)
    edges += chain(["concat", "linear_fuse", "classifier", "output"])
    return StageGraph(tuple(nodes), tuple(edges))


_DIAGRAMS = {  # a model's class → how it is drawn
    FCN: fcn_graph,
    SegNet: segnet_graph,
    UNet: unet_graph,
    HRNetSeg: hrnet_seg_graph,
    PoseHighResolutionNet: pose_hrnet_graph,
    FPN: fpn_graph,
}


def graph(model: nn.Module) -> StageGraph:
    """The diagram of a built model (its layout follows the model's own config: skips, depth, modules)."""
    for cls in type(model).__mro__:
        if cls in _DIAGRAMS:
            return _DIAGRAMS[cls](model)
    raise ValueError(f"there is no diagram of {type(model).__name__}; diagrams exist for "
                     f"{', '.join(c.__name__ for c in _DIAGRAMS)}")
