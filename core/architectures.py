r"""The architecture pages' computations and quizzes: a sample image, one idea of each family made visible,
and "check yourself" questions.

* :func:`sample_scene` / :func:`to_input` — the app's synthetic scene (sky, grass, tree, two dogs, a
  cat; :mod:`core.data.scenes`) at any size, normalised as ImageNet models expect (:func:`to_input` is
  :func:`core.zoo.runtime.to_input`, the one the pretrained models use).
* :func:`fit_fcn` — a short training of a small FCN on variations of that scene, with a loss on the
  stride-32, 16 and 8 predictions alike (deep supervision), so each of them is a real prediction; a
  generator, so a page can show progress and stop it.
* :func:`stride_predictions` / :func:`ideal_stride_predictions` — what each FCN stride predicts, and
  the best a score map at that stride could ever do (the true labels averaged over each cell).
* :func:`segnet_walkthrough` — one feature map through pool → indices → unpool → convolution.
* :func:`fusion_unit` — one HRNet fusion, term by term.
* :func:`explorer_questions`, :func:`fcn_questions`, … — fresh numbers every time (a seeded
  ``random.Random`` replays a quiz), answered with the code the models run (:func:`core.models.base.ceil_div`
  for sizes, :func:`core.models.inspect.trace` for receptive fields), so a question never disagrees
  with the page; their texts are ``[quiz.<key>]`` in the page's lesson file.
"""
from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.data.constants import IMAGENET_MEAN, IMAGENET_STD
from core.data.scenes import SCENE_CLASSES, make_scene
from core.models.base import ceil_div
from core.models.hrnet import HighResolutionModule, fusion_kind
from core.models.inspect import trace
from core.ops.pooling import max_unpool2d
from core.quiz import Question
from core.zoo.runtime import (
    to_input,  # the one image → tensor, here for the architecture pages
)

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "NUM_CLASSES",
    "sample_scene",
    "to_input",
    "scene_pool",
    "scene_batch",
    "FitStep",
    "fit_fcn",
    "stride_predictions",
    "ideal_stride_predictions",
    "boundary_accuracy",
    "ConvolutionalizeCheck",
    "convolutionalize_check",
    "bilinear_layer_check",
    "SegNetWalk",
    "segnet_walkthrough",
    "SkipTraffic",
    "skip_traffic",
    "pyramid_check",
    "busiest_window",
    "FusionTerm",
    "FusionUnit",
    "fusion_unit",
    "explorer_questions",
    "fcn_questions",
    "segnet_questions",
    "unet_questions",
    "hrnet_questions",
    "fpn_questions",
]

NUM_CLASSES = len(SCENE_CLASSES)  # sky, grass, tree, dog, cat


def sample_scene(height: int, width: int, overlap: float = 0.35):
    """The synthetic scene at ``height × width`` (sides below 24 × 32 are drawn larger, then cropped)."""
    h, w = max(height, 24), max(width, 32)
    scene = make_scene(h, w, overlap)
    return scene.image[:height, :width], scene.semantic[:height, :width]


def scene_pool(height: int, width: int, n: int = 9) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` drawings of the scene with the dogs from apart (overlap 0) to close together (0.8)."""
    return [sample_scene(height, width, overlap=0.8 * k / max(n - 1, 1)) for k in range(n)]


def scene_batch(n: int, pool: list[tuple[np.ndarray, np.ndarray]], rng: random.Random):
    """``n`` variations drawn from ``pool``: mirrored or not, brighter or darker. ``(n, 3, H, W)``, ``(n, H, W)``."""
    xs, ys = [], []
    for _ in range(n):
        rgb, labels = pool[rng.randrange(len(pool))]
        if rng.random() < 0.5:
            rgb, labels = rgb[:, ::-1], labels[:, ::-1]
        rgb = np.clip(rgb.astype(np.float32) * rng.uniform(0.8, 1.2), 0, 255).astype(np.uint8)
        xs.append(to_input(rgb))
        ys.append(torch.from_numpy(np.ascontiguousarray(labels)))
    return torch.cat(xs), torch.stack(ys)  # (n, 3, H, W), (n, H, W)


@dataclass(frozen=True)
class FitStep:
    step: int
    loss: float  # sum of the three strides' cross-entropies
    seconds: float


def _upsampled(preds: dict[int, torch.Tensor], size) -> dict[int, torch.Tensor]:
    return {s: F.interpolate(p, size=size, mode="bilinear", align_corners=False) for s, p in preds.items()}


def fit_fcn(model, steps: int = 150, size: tuple[int, int] = (96, 128), batch: int = 4, lr: float = 3e-3,
            seed: int = 0) -> Iterator[FitStep]:
    """Train an FCN on scene variations; yields after every step (the model is trained in place).

    The loss adds the cross-entropy of every stride's prediction (upsampled to the image), so the
    stride-32 scores are a prediction in their own right and the skips are judged by what they add.
    """
    import time

    torch.manual_seed(seed)
    rng = random.Random(seed)
    pool = scene_pool(*size)
    optimiser = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    start = time.perf_counter()
    for step in range(1, steps + 1):
        x, y = scene_batch(batch, pool, rng)
        preds = _upsampled(model.head.predictions(model.encoder(x)), y.shape[-2:])
        loss = sum(F.cross_entropy(p, y) for p in preds.values())
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        yield FitStep(step, float(loss.detach()), time.perf_counter() - start)
    model.eval()


@torch.no_grad()
def stride_predictions(model, x: torch.Tensor) -> dict[int, np.ndarray]:
    """FCN's label map at every stride its head passes through: ``{32: (H, W), 16: …, 8: …}``."""
    model.eval()
    preds = _upsampled(model.head.predictions(model.encoder(x)), x.shape[-2:])
    return {s: p[0].argmax(0).numpy() for s, p in preds.items()}


def ideal_stride_predictions(labels: np.ndarray, num_classes: int, strides=(32, 16, 8)) -> dict[int, np.ndarray]:
    """The best a score map at each stride can do: class shares per cell, upsampled bilinearly, argmax.

    A cell of a stride-``s`` map covers ``s × s`` pixels; even a perfect network can only say how
    much of each class the cell holds. Upsampling those shares and taking the largest is the
    sharpest boundary that resolution allows.
    """
    y = torch.from_numpy(np.asarray(labels)).long()
    one_hot = F.one_hot(y, num_classes).permute(2, 0, 1).float()[None]  # (1, K, H, W)
    out = {}
    for s in strides:
        shares = F.avg_pool2d(one_hot, s, s, ceil_mode=True)  # (1, K, ⌈H/s⌉, ⌈W/s⌉)
        up = F.interpolate(shares, size=y.shape, mode="bilinear", align_corners=False)  # (1, K, H, W)
        out[s] = up[0].argmax(0).numpy()
    return out


def boundary_accuracy(pred: np.ndarray, labels: np.ndarray, band: int = 3) -> float:
    """Pixel accuracy within ``band`` pixels of a true class boundary (where strides make the difference)."""
    labels = np.asarray(labels)
    edge = np.zeros(labels.shape, dtype=bool)
    edge[1:, :] |= labels[1:, :] != labels[:-1, :]
    edge[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    near = F.max_pool2d(torch.from_numpy(edge).float()[None, None], 2 * band + 1, 1, band)[0, 0].numpy() > 0
    return float((np.asarray(pred)[near] == labels[near]).mean()) if near.any() else 1.0


@dataclass(frozen=True)
class ConvolutionalizeCheck:
    linear_out: np.ndarray  # (out,) the fully connected layer on a flattened C×k×k map
    conv_out: np.ndarray  # (out,) the same layer as a k×k convolution on that map
    big_in: tuple[int, ...]  # (C, H, W) a larger map
    big_out: tuple[int, ...]  # (out, H-k+1, W-k+1): the convolution answers at every position


@torch.no_grad()
def convolutionalize_check(channels: int = 8, kernel: int = 7, outputs: int = 10, big: tuple[int, int] = (12, 16),
                           seed: int = 0) -> ConvolutionalizeCheck:
    """A random ``nn.Linear`` reading ``C×k×k`` numbers, and the same weights as a convolution."""
    from core.models.fcn import convolutionalize

    torch.manual_seed(seed)
    linear = torch.nn.Linear(channels * kernel * kernel, outputs)
    conv = convolutionalize(linear, channels, kernel)
    x = torch.randn(1, channels, kernel, kernel)
    large = torch.randn(1, channels, *big)
    return ConvolutionalizeCheck(linear(x.flatten(1))[0].numpy(), conv(x).flatten(1)[0].numpy(),
                                 tuple(large.shape[1:]), tuple(conv(large).shape[1:]))


@torch.no_grad()
def bilinear_layer_check(layer, size: tuple[int, int] = (6, 8), seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """An FCN upsampling layer and ``F.interpolate(mode="bilinear")`` on the same random scores.

    Returns both results without the border ``⌈f/2⌉`` pixels wide, where the transposed convolution
    runs off the map and interpolation repeats the edge instead: inside it they are equal.
    """
    torch.manual_seed(seed)
    x = torch.randn(1, layer.in_channels, *size)
    f = layer.factor
    b = math.ceil(f / 2)
    ours = layer(x)  # (1, C, f·h, f·w)
    theirs = F.interpolate(x, scale_factor=f, mode="bilinear", align_corners=False)
    return ours[..., b:-b, b:-b], theirs[..., b:-b, b:-b]


@dataclass(frozen=True)
class SegNetWalk:
    feature: np.ndarray  # (h, w) one channel of the encoder's stage-1 output
    pooled: np.ndarray  # (⌈h/2⌉, ⌈w/2⌉) after 2×2 max pooling
    indices: np.ndarray  # (⌈h/2⌉, ⌈w/2⌉) flat position of each maximum in the (h, w) map
    unpooled: np.ndarray  # (h, w) torch's max_unpool2d: values back at their positions, zeros elsewhere
    ours: np.ndarray  # (h, w) the same from core.ops.max_unpool2d (written from scratch)
    densified: np.ndarray  # (h, w) one channel of the decoder's first 3×3 convolution on the unpooled maps
    nonzero: tuple[float, float, float]  # share of non-zero cells: feature, unpooled, densified


@torch.no_grad()
def segnet_walkthrough(model, x: torch.Tensor, channel: int = 0) -> SegNetWalk:
    """Stage 1 of a SegNet: its map, pooled with indices, unpooled with them, densified by the decoder's conv.

    The unpooling and the convolution are the decoder's own layers (``unpool1`` and the first
    convolution of ``stage1_D``), applied to the encoder's stage-1 maps.
    """
    model.eval()
    enc, dec = model.encoder, model.head
    feature = enc.stage1(x)  # (1, C1, H, W)
    pooled, indices = enc.pool1(feature)  # (1, C1, ⌈H/2⌉, ⌈W/2⌉) each
    unpooled = dec.unpool1(pooled, indices, output_size=feature.shape[-2:])  # (1, C1, H, W)
    ours = max_unpool2d(pooled, indices, 2, 2, output_size=feature.shape[-2:])
    dense = dec.stage1_D[0][0](unpooled)  # (1, C, H, W): the first conv of the decoder's last stage
    c = channel % feature.shape[1]
    share = lambda t: float((t != 0).float().mean())  # noqa: E731
    return SegNetWalk(feature[0, c].numpy(), pooled[0, c].numpy(), indices[0, c].numpy(), unpooled[0, c].numpy(),
                      ours[0, c].numpy(), dense[0, c % dense.shape[1]].numpy(),
                      (share(feature[0, c]), share(unpooled[0, c]), share(dense[0, c % dense.shape[1]])))


@dataclass(frozen=True)
class SkipTraffic:
    model: str
    what: str  # "scores", "indices" or "maps": what crosses from encoder to decoder
    values: int  # how many numbers cross, for one image
    stored_bytes: int  # as PyTorch keeps them (float32 maps and scores, int64 indices)
    needed_bytes: int  # what the idea needs (2 bits per index; maps and scores as stored)


def skip_traffic(name: str, shapes: dict[str, tuple[int, ...]]) -> SkipTraffic:
    """What the skips of ``name`` carry, from the ``(C, H, W)`` shapes of its diagram's boxes.

    FCN-8s adds class scores from pool4 and pool3; SegNet hands over one index per pooled value;
    U-Net concatenates every encoder level except the bottom.
    """
    count = lambda keys: sum(int(np.prod(shapes[k])) for k in keys if k in shapes)  # noqa: E731
    if name.startswith("fcn"):
        n = count(["score_pool4", "score_pool3"])
        return SkipTraffic(name, "scores", n, 4 * n, 4 * n)
    if name == "segnet":
        n = count([f"pool{s}" for s in range(1, 6)])
        return SkipTraffic(name, "indices", n, 8 * n, math.ceil(n * 2 / 8))
    if name == "unet":
        levels = sorted(k for k in shapes if k.startswith("enc"))[:-1]  # the bottom level is not a skip
        n = count(levels)
        return SkipTraffic(name, "maps", n, 4 * n, 4 * n)
    raise ValueError(f"no skip traffic for {name!r}; valid models are fcn8s, segnet, unet")


@torch.no_grad()
def pyramid_check(model, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Our FPN's P2…P6 and torchvision's ``FeaturePyramidNetwork`` (same weights) on the same C2…C5."""
    from core.models.fpn import as_torchvision

    model.eval()
    cs = model.encoder(x)
    ours = model.head.neck(cs)
    theirs = list(as_torchvision(model.head.neck)({str(k): c for k, c in enumerate(cs)}).values())
    return ours, theirs


def busiest_window(a: np.ndarray, size: int = 8, step: int = 2) -> tuple[int, int]:
    """Top-left corner (multiples of ``step``) of the ``size × size`` window with the most variation."""
    a = np.asarray(a, dtype=float)
    if a.ndim != 2 or min(a.shape) < size:  # a map smaller than a window: its one (partial) window
        return (0, 0)
    windows = np.lib.stride_tricks.sliding_window_view(a, (size, size))[::step, ::step]  # (R, C, size, size)
    spread = windows.std(axis=(-2, -1))  # (R, C): every window's standard deviation
    r, c = np.unravel_index(int(np.argmax(spread)), spread.shape)  # the first of the largest, row by row
    return int(r) * step, int(c) * step


@dataclass(frozen=True)
class FusionTerm:
    j: int  # input branch
    kind: str  # "up" (j > i), "identity" (j == i) or "down" (j < i)
    input_shape: tuple[int, ...]  # (C_j, h_j, w_j)
    ops: tuple[str, ...]  # the layers applied, language-neutral ("conv 1×1", "BN", "nearest ×4")
    term: np.ndarray  # (C_i, h_i, w_i) the contribution to branch i


@dataclass(frozen=True)
class FusionUnit:
    stage: int
    module: int
    i: int  # the output branch
    terms: tuple[FusionTerm, ...]
    total: np.ndarray  # (C_i, h_i, w_i) the sum before the ReLU
    output: np.ndarray  # (C_i, h_i, w_i) after the ReLU: what the module returns for branch i


def _layer_names(seq) -> tuple[str, ...]:
    names = []
    for m in seq.modules():
        if isinstance(m, torch.nn.Conv2d):
            k, s = m.kernel_size[0], m.stride[0]
            names.append(f"conv {k}×{k}" + (f" /{s}" if s > 1 else "") + f" → {m.out_channels}")
        elif isinstance(m, torch.nn.BatchNorm2d):
            names.append("BN")
        elif isinstance(m, torch.nn.ReLU):
            names.append("ReLU")
    return tuple(names)


@torch.no_grad()
def fusion_unit(backbone, x: torch.Tensor, stage: int, module: int, i: int) -> FusionUnit:
    """Run ``backbone`` on ``x`` and expand one fusion: output branch ``i`` of ``stage{stage}[module]``."""
    unit: HighResolutionModule = getattr(backbone, f"stage{stage}")[module]
    if i >= len(unit.fuse_layers):
        raise ValueError(f"stage {stage}, module {module} outputs {len(unit.fuse_layers)} branch(es); "
                         f"choose i below {len(unit.fuse_layers)}")
    seen = {}
    handle = unit.register_forward_pre_hook(lambda mod, args: seen.setdefault("xs", list(args[0])))
    try:
        backbone.eval()
        backbone(x)
    finally:
        handle.remove()
    xs = [branch(t) for branch, t in zip(unit.branches, seen["xs"])]  # after the module's residual blocks
    terms = unit.fuse_terms(xs, i)
    out = []
    for j, (t_in, t) in enumerate(zip(xs, terms)):
        kind = fusion_kind(i, j)
        ops = _layer_names(unit.fuse_layers[i][j])
        if kind == "up":
            ops += (f"nearest ×{2 ** (j - i)}",)
        out.append(FusionTerm(j, kind, tuple(t_in.shape[1:]), ops, t[0].numpy()))
    total = sum(terms)
    return FusionUnit(stage, module, i, tuple(out), total[0].numpy(), unit.relu(total)[0].numpy())


def cells(size: int, stride: int) -> int:
    """Cells along a side of ``size`` pixels at ``stride`` (rounding up, as the models do)."""
    return math.ceil(size / stride)


# --- check yourself ------------------------------------------------------------------------------

def _odd_size(rng: random.Random) -> int:
    return rng.choice([97, 113, 129, 161, 187, 225, 257, 321, 353, 481])


def explorer_questions(rng: random.Random) -> list[Question]:
    """The receptive field of a small stack, and the side of a map after a few ceil-mode poolings."""
    n1, n2 = rng.randint(1, 3), rng.randint(1, 3)
    layers = [nn.Conv2d(1, 1, 3, padding=1) for _ in range(n1)] + [nn.MaxPool2d(2, 2, ceil_mode=True)]
    layers += [nn.Conv2d(1, 1, 3, padding=1) for _ in range(n2)]
    rf = trace(nn.Sequential(*layers).eval(), torch.zeros(1, 1, 64, 64)).rows[-1].rf
    h, p = _odd_size(rng), rng.randint(2, 5)
    return [
        Question("rf_stack", {"n1": n1, "n2": n2, "a": 1 + 2 * n1, "b": 2 + 2 * n1}, int(rf)),
        Question("ceil_side", {"h": h, "p": p, "f": 2 ** p}, ceil_div(h, 2 ** p)),
    ]


def fcn_questions(rng: random.Random) -> list[Question]:
    """How many stride-16 cells an input gives, and the parameters of a convolutionalised fc layer."""
    h, w = _odd_size(rng), _odd_size(rng)
    c, k, out = rng.choice([256, 512]), rng.choice([3, 5, 7]), rng.choice([1024, 2048, 4096])
    return [
        Question("fcn_cells", {"h": h, "w": w, "ch": ceil_div(h, 16), "cw": ceil_div(w, 16)},
                 ceil_div(h, 16) * ceil_div(w, 16)),
        Question("fc_params", {"c": c, "k": k, "out": out}, c * k * k * out + out),
    ]


def segnet_questions(rng: random.Random) -> list[Question]:
    """The share of non-zero cells after unpooling, and the bits an index needs."""
    k = rng.choice([2, 3, 4])
    k2 = rng.choice([2, 3, 4, 5])
    return [
        Question("sparse_share", {"k": k, "kk": k * k}, round(100 / (k * k), 2), tolerance=0.5),
        Question("index_bits", {"k": k2, "kk": k2 * k2}, math.ceil(math.log2(k2 * k2))),
    ]


def unet_questions(rng: random.Random) -> list[Question]:
    """Channels after a concatenation, and the rows cropped at a level on an odd input."""
    base, level = rng.choice([16, 32, 64]), rng.randint(1, 4)
    c = base * 2 ** (level - 1)
    h, lv = _odd_size(rng), rng.randint(1, 3)
    skip = ceil_div(h, 2 ** (lv - 1))
    up = 2 * ceil_div(skip, 2)
    return [
        Question("concat_channels", {"base": base, "level": level, "c": c}, 2 * c),
        Question("crop_rows", {"h": h, "level": lv, "skip": skip, "below": ceil_div(skip, 2), "up": up}, up - skip),
    ]


def hrnet_questions(rng: random.Random) -> list[Question]:
    """Channels and side of a branch, and how many strided convolutions one fusion path uses."""
    width, k, h = rng.choice([18, 32, 48]), rng.randint(1, 3), rng.choice([256, 384, 512])
    j, i = sorted(rng.sample(range(4), 2))
    return [
        Question("branch_channels", {"width": width, "k": k, "h": h, "side": h // 2 ** (k + 2)}, width * 2 ** k),
        Question("down_convs", {"i": i, "j": j}, i - j),
    ]


def fpn_questions(rng: random.Random) -> list[Question]:
    """The side of a pyramid level, and how many objectness scores the RPN gives on it."""
    h, level = rng.choice([480, 512, 600, 640, 800]), rng.randint(2, 6)
    side = ceil_div(h, 2 ** level)
    w = rng.choice([640, 704, 768, 832])
    ws = ceil_div(w, 2 ** level)
    return [
        Question("level_side", {"h": h, "level": level, "f": 2 ** level}, side),
        Question("rpn_scores", {"h": h, "w": w, "level": level, "sh": side, "sw": ws}, 3 * side * ws),
    ]
