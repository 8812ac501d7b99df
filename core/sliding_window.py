r"""Before FCNs: slide a classifier over patches, or run it once as a convolution over the whole picture.

The first deep networks that labelled every pixel of a scene (Farabet, Couprie, Najman & LeCun,
"Learning Hierarchical Features for Scene Labeling", TPAMI 2013; Pinheiro & Collobert, "Recurrent
Convolutional Neural Networks for Scene Labeling", ICML 2014) classified **the patch around each
pixel**: cut a :math:`P \times P` window centred on the pixel, give it to a small classifier, keep the
:math:`C` scores as that pixel's answer, move one pixel, repeat. It works, but neighbouring windows
overlap almost completely, and every window recomputes from scratch the features its neighbours
have already computed.

A convolution computes the same feature at every position *once* and shares it between all the
windows that contain it. So the same classifier, run as one **fully convolutional** pass over the
padded picture, gives exactly the same :math:`C \times H \times W` map for a fraction of the work.
The only layer that needs rewriting is the last one: a fully connected layer over an
:math:`r \times r` feature map is a convolution with an :math:`r \times r` kernel (its weights
reshaped), which can slide too (Long, Shelhamer & Darrell, "Fully Convolutional Networks for
Semantic Segmentation", CVPR 2015, call this "convolutionalization"). That is the reason FCNs exist.

Here the classifier is deliberately small: ``layers`` 3×3 convolutions without padding, then a fully
connected layer over the last ``head_side`` × ``head_side`` map, so a patch is
:math:`P = 2 \cdot \text{layers} + \text{head\_side}` pixels wide. Both ways pad the picture with
:math:`P - 1` rows and columns of zeros (half before, half after) so a border pixel has a whole window
too. Departures from the papers: no multi-scale pyramid (Farabet) and no recurrence (Pinheiro &
Collobert); a stride-1 classifier without pooling, so the convolutional pass gives one answer per pixel
without the shift-and-stitch trick a pooling classifier would need.

Multiply-adds are counted by torch (``FlopCounterMode`` on the ``meta`` device, two FLOPs per
multiply-add) for both ways, and both ways are also timed side by side (:func:`time_both`).
"""
from __future__ import annotations

import copy
import functools
import math
import random
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from core.background import once
from core.data.constants import STREET_CLASSES
from core.data.streets import make_street, to_tensor
from core.quiz import Question

__all__ = [
    "PatchConfig",
    "PatchClassifier",
    "patches_of",
    "sliding_window",
    "as_fully_convolutional",
    "fully_convolutional",
    "WindowCost",
    "costs",
    "time_both",
    "side_timings",
    "seeded_classifier",
    "train_patch_classifier",
    "picture",
    "sliding_questions",
]


@dataclass(frozen=True)
class PatchConfig:
    in_channels: int = 3  # an RGB picture
    width: int = 16  # channels of every 3×3 convolution: small, so a CPU slides it over thousands of patches
    layers: int = 3  # 3×3 convolutions without padding; each one shrinks the patch by 2
    head_side: int = 5  # side of the last feature map, which the fully connected layer reads whole
    num_classes: int = len(STREET_CLASSES)  # C: the street scenes' six classes

    @property
    def patch(self) -> int:
        """P, the side of the window around a pixel: each valid 3×3 convolution eats one pixel per side."""
        return 2 * self.layers + self.head_side


class PatchClassifier(nn.Module):
    """A classifier of one ``P × P`` patch: valid 3×3 convolutions, then a fully connected layer to C scores.

    contract: ``(N, 3, P, P)`` → ``(N, C)`` logits, the class of each patch's centre pixel.
    """

    def __init__(self, cfg: PatchConfig = PatchConfig()):
        super().__init__()
        self.config = cfg
        layers, c_in = [], cfg.in_channels
        for _ in range(cfg.layers):
            layers += [nn.Conv2d(c_in, cfg.width, 3), nn.ReLU(inplace=True)]
            c_in = cfg.width
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(cfg.width * cfg.head_side ** 2, cfg.num_classes)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        f = self.features(patches)  # (N, width, head_side, head_side)
        return self.classifier(f.flatten(1))  # (N, C)


def _padded(image: torch.Tensor, cfg: PatchConfig) -> torch.Tensor:
    """``(3, H, W)`` or ``(N, 3, H, W)`` → ``(N, 3, H + P − 1, W + P − 1)``: zeros around, so border pixels get
    a whole window."""
    before, after = (cfg.patch - 1) // 2, cfg.patch // 2  # an even window has one pixel more after its centre
    batched = image if image.dim() == 4 else image[None]  # (N, 3, H, W)
    return F.pad(batched, (before, after, before, after))  # (N, 3, H + P − 1, W + P − 1)


def patches_of(image: torch.Tensor, cfg: PatchConfig) -> torch.Tensor:
    """Every pixel's window: ``(3, H, W)`` → ``(H·W, 3, P, P)``, row by row (pixel (i, j) is patch i·W + j)."""
    p = cfg.patch
    cols = F.unfold(_padded(image, cfg), p)  # (1, 3·P·P, H·W)
    return cols[0].T.reshape(-1, image.shape[0], p, p)  # (H·W, 3, P, P)


def _in(model: PatchClassifier, dtype: torch.dtype | None) -> PatchClassifier:
    """``model`` in eval mode, as a copy in ``dtype`` when one is asked for (the shared model is never changed)."""
    return (copy.deepcopy(model).to(dtype) if dtype is not None else model).eval()


def seeded_classifier(seed: int = 0, cfg: PatchConfig = PatchConfig()) -> PatchClassifier:
    """A new classifier with the weights ``torch.manual_seed(seed); PatchClassifier(cfg)`` would give, drawn
    from a generator of its own: torch's global generator, which every page's seeded results share, is never
    touched (so the warm-up thread can train one while students' pages draw their own random numbers)."""
    with torch.device("meta"):
        model = PatchClassifier(cfg)
    model = model.to_empty(device="cpu")
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():  # construction order, the order the default initialisation draws in
            if isinstance(m, (nn.Conv2d, nn.Linear)):  # their reset_parameters(), with our generator
                nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=g)
                bound = 1 / math.sqrt(m.weight[0].numel())  # 1 / sqrt(fan_in)
                nn.init.uniform_(m.bias, -bound, bound, generator=g)
    return model


# Patches per batch. In float32 large batches are fastest; float64 has no fast convolution on the CPU, and its
# per-sample path is fastest on small batches (4096 windows of 11×11 on this 2-core CPU, one thread:
# 64 per batch 125 ms, 1024 per batch 350 ms).
BATCH = {torch.float64: 64}


@torch.no_grad()
def sliding_window(model: PatchClassifier, image: torch.Tensor, batch: int | None = None,
                   dtype: torch.dtype | None = None) -> torch.Tensor:
    """The classifier run on every pixel's patch, ``batch`` patches at a time: ``(3, H, W)`` → ``(C, H, W)``.

    ``dtype=torch.float64`` computes in double precision, where the two ways agree to ~1e-13 (in float32 the
    different order of the sums leaves differences of ~1e-5 on trained weights)."""
    batch = batch or BATCH.get(dtype or image.dtype, 1024)
    model = _in(model, dtype)
    image = image.to(dtype) if dtype is not None else image
    h, w = image.shape[-2:]
    patches = patches_of(image, model.config)  # (H·W, 3, P, P)
    scores = torch.cat([model(patches[i:i + batch]) for i in range(0, len(patches), batch)])  # (H·W, C)
    return scores.T.reshape(-1, h, w)  # (C, H, W)


def as_fully_convolutional(model: PatchClassifier) -> nn.Sequential:
    """The same classifier as a network of convolutions only: the fully connected layer becomes an
    ``r × r`` convolution with the same weights (``(C, width·r·r)`` reshaped to ``(C, width, r, r)``)."""
    cfg, fc = model.config, model.classifier
    head = torch.nn.utils.skip_init(nn.Conv2d, cfg.width, cfg.num_classes, cfg.head_side, dtype=fc.weight.dtype,
                                    device=fc.weight.device)  # no initial weights drawn: they are copied below
    with torch.no_grad():
        head.weight.copy_(fc.weight.view(cfg.num_classes, cfg.width, cfg.head_side, cfg.head_side))
        head.bias.copy_(fc.bias)
    return nn.Sequential(model.features, head).eval()


@torch.no_grad()
def fully_convolutional(model: PatchClassifier, image: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """One pass of :func:`as_fully_convolutional` over the padded picture: ``(3, H, W)`` → ``(C, H, W)``."""
    model = _in(model, dtype)
    image = image.to(dtype) if dtype is not None else image
    return as_fully_convolutional(model)(_padded(image, model.config))[0]  # (C, H, W)


@dataclass(frozen=True)
class WindowCost:
    patch: int  # P
    pixels: int  # H·W: how many windows the sliding classifier runs
    per_patch_macs: int  # multiply-adds of the classifier on one window
    sliding_macs: int  # pixels × per_patch_macs
    fcn_macs: int  # the one convolutional pass over the padded picture

    @property
    def ratio(self) -> float:
        return self.sliding_macs / self.fcn_macs


def _macs(module: nn.Module, shape: tuple[int, ...]) -> int:
    """Multiply-adds torch counts for ``module`` on an input of ``shape`` (on ``meta``: shapes, no data)."""
    counter = FlopCounterMode(display=False)
    with counter, torch.device("meta"):
        module(torch.empty(shape))
    return counter.get_total_flops() // 2  # torch counts two FLOPs per multiply-add


@functools.lru_cache(maxsize=64)
def costs(cfg: PatchConfig, height: int, width: int) -> WindowCost:
    """Both ways on one ``height × width`` picture, counted by torch on networks built on ``meta`` (once per
    configuration and size: the page redraws them at every rerun)."""
    with torch.device("meta"):
        model = PatchClassifier(cfg)
    p = cfg.patch
    one = _macs(model, (1, cfg.in_channels, p, p))
    fcn = _macs(as_fully_convolutional_shared(model), (1, cfg.in_channels, height + p - 1, width + p - 1))
    return WindowCost(p, height * width, one, one * height * width, fcn)


def time_both(model: PatchClassifier, image: torch.Tensor, repeats: int = 3) -> tuple[float, float]:
    """Seconds for the sliding classifier and for the convolutional pass, measured side by side (the best of
    ``repeats`` runs of each, alternating, so both see the same machine load)."""
    best = [float("inf"), float("inf")]
    for _ in range(repeats):
        for k, fn in enumerate((sliding_window, fully_convolutional)):
            t0 = time.perf_counter()
            fn(model, image)
            best[k] = min(best[k], time.perf_counter() - t0)
    return best[0], best[1]


@once
def side_timings(side: int) -> tuple[float, float]:
    """:func:`time_both` on a ``side × side`` picture, measured once per process and side, then kept.

    The time depends on the picture's size and the network's shape, not on its weights or its pixels, so one
    measurement per side serves every seed, both weight choices and every session."""
    return time_both(seeded_classifier(0).eval(), picture(0, side)[0])


def picture(seed: int, side: int) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """One street scene: the normalised input ``(3, side, side)``, the RGB picture and its labels."""
    rgb, mask = make_street(seed, side)
    return to_tensor(rgb), rgb, mask


def train_patch_classifier(steps: int, cfg: PatchConfig = PatchConfig(), seed: int = 0, side: int = 48,
                           batch_size: int = 4, lr: float = 3e-3, on_step=None) -> tuple[PatchClassifier, list[float]]:
    """Train the patch classifier on synthetic streets, every patch of a batch at once.

    The cross-entropy of every pixel's window is exactly the per-pixel cross-entropy of the fully
    convolutional pass, so training runs the cheap form and teaches the patch classifier itself (the two
    share their weights). Returns the trained classifier (eval mode) and the loss of every step;
    ``on_step(step, loss)`` is called after each step (a progress bar).
    """
    model = seeded_classifier(seed, cfg)  # torch's global generator untouched
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    pool = [make_street(seed * 1_000_003 + 50_000 + i, side) for i in range(64)]  # scenes the page never shows
    rng = random.Random(seed)
    losses = []
    fcn = as_fully_convolutional_shared(model)
    model.train()
    for step in range(1, steps + 1):
        batch = rng.sample(pool, batch_size)
        x = torch.stack([to_tensor(img) for img, _ in batch])  # (B, 3, side, side)
        y = torch.stack([torch.from_numpy(m) for _, m in batch])  # (B, side, side)
        logits = fcn(_padded(x, cfg))  # (B, C, side, side)
        loss = F.cross_entropy(logits, y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
        if on_step is not None:
            on_step(step, losses[-1])
    return model.eval(), losses


PAGE_STEPS = 150  # the page's patch classifier: trained this many steps, once per server
PAGE_SIDES = (32, 48, 64, 96)  # the picture sides the page offers (each timed once per server: side_timings)


@once
def trained_classifier(steps: int = PAGE_STEPS) -> PatchClassifier:
    """The patch classifier trained ``steps`` steps with the defaults, once per process and shared (read it only:
    it is every session's). A second caller while it trains waits for the first instead of training again."""
    return train_patch_classifier(steps)[0]


class _SharedHead(nn.Module):
    """The fully connected layer applied as a convolution *with the same tensors* (so gradients reach it)."""

    def __init__(self, model: PatchClassifier):
        super().__init__()
        self.model = model

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        cfg, fc = self.model.config, self.model.classifier
        weight = fc.weight.view(cfg.num_classes, cfg.width, cfg.head_side, cfg.head_side)  # a view: shared
        return F.conv2d(f, weight, fc.bias)  # (N, C, H, W)


def as_fully_convolutional_shared(model: PatchClassifier) -> nn.Sequential:
    """:func:`as_fully_convolutional` whose head shares the classifier's parameters (for training)."""
    return nn.Sequential(model.features, _SharedHead(model))


def sliding_questions(rng: random.Random) -> list[Question]:
    """How many windows, and how many times the work the convolutional pass saves, on a random picture."""
    side = rng.choice([32, 48, 64, 96])
    layers = rng.randint(2, 4)
    cfg = PatchConfig(layers=layers)
    c = costs(cfg, side, side)
    return [
        Question("windows", {"side": side}, float(c.pixels)),
        Question("patch_side", {"layers": layers, "r": cfg.head_side}, float(cfg.patch)),
    ]
