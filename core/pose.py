r"""Pose estimation as dense regression: a heatmap per joint, learned by per-pixel MSE, decoded to a point.

The lecture's case study. A keypoint is not predicted as two numbers but as a probability map: for
each of the :math:`K` joints the network outputs a heatmap at stride :math:`s` (4 here, as in HRNet),
trained towards a Gaussian centred on the joint (:mod:`core.heatmaps`) with the mean squared error at
every pixel — regression, at every pixel, exactly like segmentation is classification at every pixel:

.. math:: \mathcal{L} = \frac{1}{\sum_k v_k}\sum_k v_k \,\frac{1}{hw}\sum_{u,v}\big(\hat H_k(u,v) - G_k(u,v)\big)^2

(:math:`v_k` = 1 for a labelled joint, 0 for one outside the picture). The point is read back as the
top of the predicted hill (argmax, refined to sub-cell precision).

**Why a heatmap beats regressing (x, y) directly** (DeepPose, Toshev & Szegedy, CVPR 2014, regressed
the coordinates; Tompson et al., NeurIPS 2014, and every strong model since predict heatmaps):

* *Where is kept where it is.* A fully convolutional network is translation-equivariant: move the
  person and the hill moves with it, because the same small detector runs at every position. A
  coordinate head must turn "what the features look like" into a number, and after global pooling the
  features say *what* is in the image and only indirectly *where* (:class:`CoordinateRegression` is
  the same network as :class:`PoseHourglass` with such a head instead of the heatmap layer).
* *Dense supervision.* Every one of the :math:`h \times w` cells gets a target and a gradient; a
  coordinate head gets two numbers per joint.
* *Doubt has a shape.* Unsure between two places, a heatmap holds two hills; a regressed coordinate
  averages them into a point in between, where no joint is.

**HRNet versus an encoder–decoder.** An encoder–decoder (the stacked hourglass of Newell, Yang & Deng,
ECCV 2016, or the U-Net shape of :class:`PoseHourglass`) goes down to stride 32 and rebuilds stride 4
from the bottleneck plus skip connections. HRNet (:mod:`core.models.hrnet`, Sun et al., CVPR 2019)
keeps a stride-4 branch all the way and fuses it again and again with the lower branches, so the
fine position is never thrown away and rebuilt. :func:`build_pose_model` gives both with the same
parameter budget. At these tiny budgets the encoder–decoder learns faster on the synthetic figures:
HRNet's branches have C, 2C, 4C and 8C channels, so most of its parameters sit in the coarse branches
and its stride-4 branch — the one the heatmaps are read from — is only C = 8 or 16 channels wide.

Departures from the papers: tiny widths and depths so a CPU trains them in a lesson; the synthetic
stick people of :mod:`core.data.poses` instead of COCO; PCK is measured against the figure's size
(the longer side of its joints' bounding box), not the head or torso segment.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core import device as devices
from core import heatmaps, models
from core.data.poses import JOINTS, SyntheticPoses
from core.models.base import check_input, center_crop
from core.models.blocks import BN_MOMENTUM
from core.models.hrnet import HRNetConfig
from core.models.unet import DoubleConv
from core.train import TrainConfig, predict_batches, train

STRIDE = 4  # the heatmaps' stride: HRNet's highest branch, and the hourglass's output level
KINDS = ("hrnet", "hourglass", "regression")
# HRNet sizes that a CPU trains during a lesson (the `hrnet` family's config; the paper's W32 has 28.5 M).
BUDGETS = {
    "tiny": HRNetConfig(width=8, stem_channels=16, layer1_blocks=1, modules=(1, 1, 1), blocks=1),
    "small": HRNetConfig(width=16, stem_channels=32, layer1_blocks=1, modules=(1, 1, 1), blocks=1),
}


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# --- the contenders ---------------------------------------------------------------------------------

def small_hrnet(num_joints: int = len(JOINTS), budget: str = "tiny") -> nn.Module:
    """The pose HRNet of :mod:`core.models` with a small config: ``K`` heatmaps at stride 4."""
    return models.build("pose_hrnet_w32", num_classes=num_joints, config=_budget(budget))


def _budget(budget: str) -> HRNetConfig:
    try:
        return BUDGETS[budget]
    except KeyError:
        raise ValueError(f"unknown budget '{budget}'; valid budgets are {', '.join(BUDGETS)}") from None


@dataclass(frozen=True)
class HourglassConfig:
    width: int = 16  # C, the channels at stride 4; each level down doubles them (C, 2C, 4C, 8C)
    depth: int = 3  # poolings below stride 4: the bottleneck sits at stride 4·2^depth = 32, like HRNet's last branch
    stem_channels: int = 16  # the same stem as the small HRNet: two stride-2 3×3 convolutions to stride 4


class Stem(nn.Sequential):
    """Two stride-2 3×3 convolutions (with BN and ReLU): the image at stride 4, as HRNet's stem does."""

    def __init__(self, c_out: int):
        super().__init__(
            nn.Conv2d(3, c_out, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c_out, momentum=BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c_out, momentum=BN_MOMENTUM),
            nn.ReLU(inplace=True))


class HourglassTrunk(nn.Module):
    """A U-Net-shaped encoder–decoder: down to stride 32, back up to stride 4 with skips; gives stride-4 features."""

    def __init__(self, cfg: HourglassConfig):
        super().__init__()
        self.config = cfg
        self.channels = [cfg.width * 2**level for level in range(cfg.depth + 1)]
        self.out_channels = self.channels[0]
        self.stem = Stem(cfg.stem_channels)
        c_in = cfg.stem_channels
        for level, c in enumerate(self.channels):
            if level:
                self.add_module(f"pool{level}", nn.MaxPool2d(2, 2, ceil_mode=True))
            self.add_module(f"enc{level}", DoubleConv(c_in, c, batch_norm=True))
            c_in = c
        for level in range(cfg.depth, 0, -1):  # up: nearest ×2, concatenate the skip, two convolutions
            self.add_module(f"dec{level}", DoubleConv(self.channels[level] + self.channels[level - 1],
                                                      self.channels[level - 1], batch_norm=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)  # (N, stem, H/4, W/4)
        skips = []
        for level in range(len(self.channels)):
            if level:
                x = getattr(self, f"pool{level}")(x)  # (N, C_{l-1}, H/4/2^l, W/4/2^l)
            x = getattr(self, f"enc{level}")(x)  # (N, C_l, H/4/2^l, W/4/2^l)
            skips.append(x)
        for level in range(len(self.channels) - 1, 0, -1):
            skip = skips[level - 1]
            up = center_crop(F.interpolate(x, scale_factor=2, mode="nearest"), skip.shape[-2:])  # (N, C_l, h, w)
            x = getattr(self, f"dec{level}")(torch.cat([skip, up], dim=1))  # (N, C_{l-1}, h, w)
        return x  # (N, C, H/4, W/4)


class PoseHourglass(nn.Module):
    """The encoder–decoder with a heatmap head: a 1×1 convolution to one heatmap per joint at stride 4."""

    def __init__(self, cfg: HourglassConfig, num_joints: int):
        super().__init__()
        self.config = cfg
        self.trunk = HourglassTrunk(cfg)
        self.final_layer = nn.Conv2d(self.trunk.out_channels, num_joints, 1)

    # contract: forward(x (N, 3, H, W)) returns heatmaps (N, num_joints, ⌈H/4⌉, ⌈W/4⌉)
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x)
        return self.final_layer(self.trunk(x))  # (N, K, H/4, W/4)


@lru_cache(maxsize=64)
def _hourglass_parameters(width: int, depth: int, stem_channels: int, num_joints: int) -> int:
    return count_parameters(PoseHourglass(HourglassConfig(width, depth, stem_channels), num_joints))


def matched_hourglass_config(num_joints: int, parameters: int, depth: int = 3,
                             stem_channels: int = 16) -> HourglassConfig:
    """The hourglass width whose parameter count is nearest to ``parameters`` (a fair budget).

    The count grows with the width, so a bisection finds the first width at or above the budget; the
    answer is that width or the one below it, whichever is nearer.
    """
    def size(width: int) -> int:
        return _hourglass_parameters(width, depth, stem_channels, num_joints)

    lo, hi = 1, 256
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if size(mid) < parameters else (lo, mid)
    best = min((w for w in (lo - 1, lo) if w >= 1), key=lambda w: abs(size(w) - parameters))
    return HourglassConfig(best, depth, stem_channels)


class RegressionHead(nn.Sequential):
    """Global average pooling, then a linear layer to (x, y) per joint, as fractions of the image side."""

    def __init__(self, in_channels: int, num_joints: int):
        super().__init__(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(in_channels, 2 * num_joints))
        nn.init.zeros_(self[2].weight)
        nn.init.constant_(self[2].bias, 0.5)  # start every joint at the centre of the image


class CoordinateRegression(nn.Module):
    """The baseline: the encoder–decoder's very trunk, but a pooled head that regresses (x, y) directly.

    Only the head differs from :class:`PoseHourglass` (1×1 convolution to heatmaps → pooling and a linear
    layer), so the difference in their errors is the difference between the two ways of answering.
    """

    def __init__(self, cfg: HourglassConfig, num_joints: int):
        super().__init__()
        self.num_joints = num_joints
        self.trunk = HourglassTrunk(cfg)
        self.head = RegressionHead(self.trunk.out_channels, num_joints)

    # contract: forward(x (N, 3, H, W)) returns (N, K, 2): x/W and y/H of every joint
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x)
        return self.head(self.trunk(x)).view(len(x), self.num_joints, 2)  # (N, 2K) → (N, K, 2)


def build_pose_model(kind: str, num_joints: int = len(JOINTS), budget: str = "tiny") -> nn.Module:
    """``hrnet`` (heatmaps), ``hourglass`` (heatmaps, HRNet's parameter budget) or ``regression``
    (the hourglass's trunk with a coordinate head)."""
    if kind == "hrnet":
        return small_hrnet(num_joints, budget)
    if kind not in ("hourglass", "regression"):
        raise ValueError(f"unknown pose model '{kind}'; valid kinds are {', '.join(KINDS)}")
    cfg = matched_hourglass_config(num_joints, count_parameters(small_hrnet(num_joints, budget)))
    return PoseHourglass(cfg, num_joints) if kind == "hourglass" else CoordinateRegression(cfg, num_joints)


# --- metrics and tasks ------------------------------------------------------------------------------

def keypoint_metrics(coords, joints, alpha: float = 0.1) -> dict:
    """Errors of predicted ``coords (N, K, 2)`` against ``joints (N, K, 3)`` (x, y, visibility), in pixels.

    ``mean_error``: the mean distance over the labelled joints (visibility > 0). ``pck``: the share of
    them within ``alpha`` × the figure's size (the longer side of its labelled joints' bounding box).
    ``per_joint_error``: the mean distance of each joint (None where never labelled).
    """
    coords = torch.as_tensor(coords).float()
    joints = torch.as_tensor(joints).float()
    labelled = joints[..., 2] > 0  # (N, K)
    dist = (coords - joints[..., :2]).norm(dim=-1)  # (N, K)
    big = torch.finfo(torch.float32).max
    lo = torch.where(labelled[..., None], joints[..., :2], big).amin(1)  # (N, 2)
    hi = torch.where(labelled[..., None], joints[..., :2], -big).amax(1)
    size = (hi - lo).amax(-1).clamp(min=1.0)  # (N,)
    hit = dist <= alpha * size[:, None]
    n = labelled.sum()
    per_joint = [float(dist[:, k][labelled[:, k]].mean()) if labelled[:, k].any() else None
                 for k in range(joints.shape[1])]
    return {"mean_error": float(dist[labelled].mean()) if n else float("nan"),
            "pck": float(hit[labelled].float().mean()) if n else float("nan"),
            "per_joint_error": per_joint, "alpha": alpha}


class PoseTask:
    """The heatmap task for :func:`core.train.train`: masked per-pixel MSE; validation decodes the hills.

    ``target`` is what :class:`core.data.poses.SyntheticPoses` gives: a dict with ``heatmaps``,
    ``weights`` and ``joints``.
    """

    def __init__(self, stride: int = STRIDE, method: str = "subpixel", alpha: float = 0.1):
        self.stride, self.method, self.alpha = stride, method, alpha

    def loss(self, output: torch.Tensor, target: dict) -> torch.Tensor:
        return heatmaps.mse_loss(output.float(), target["heatmaps"], target["weights"])

    def evaluate(self, model, x, y, device, amp=True) -> dict:
        """Mean pixel error, PCK and per-joint error of the decoded hills; the heatmaps and points."""
        pred = predict_batches(model, x, device, amp)  # (N, K, h, w)
        coords, conf = heatmaps.decode(pred, self.stride, self.method)  # (N, K, 2), (N, K)
        return {**keypoint_metrics(coords, y["joints"], self.alpha), "val_loss": float(self.loss(pred, y)),
                "pred": pred, "coords": coords, "conf": conf}


class CoordinateTask:
    """The direct-regression task: MSE between predicted and true (x/W, y/H) of the labelled joints."""

    def __init__(self, size: tuple[int, int], alpha: float = 0.1):
        self.scale = torch.tensor([size[1], size[0]], dtype=torch.float32)  # (x, y) ← divide by (W, H)
        self.alpha = alpha

    def loss(self, output: torch.Tensor, target: dict) -> torch.Tensor:
        joints = target["joints"]
        truth = joints[..., :2] / self.scale.to(joints.device)  # (N, K, 2)
        weight = (joints[..., 2] > 0).float()  # (N, K)
        per_joint = ((output.float() - truth) ** 2).mean(-1)  # (N, K)
        return (per_joint * weight).sum() / weight.sum().clamp(min=1)

    def evaluate(self, model, x, y, device, amp=True) -> dict:
        out = predict_batches(model, x, device, amp)  # (N, K, 2)
        coords = out * self.scale  # (N, K, 2) in pixels
        return {**keypoint_metrics(coords, y["joints"], self.alpha), "val_loss": float(self.loss(out, y)),
                "coords": coords}


def task_for(kind: str, size: tuple[int, int], alpha: float = 0.1):
    return CoordinateTask(size, alpha) if kind == "regression" else PoseTask(STRIDE, "subpixel", alpha)


# --- training ---------------------------------------------------------------------------------------

def pose_config(size: int = 64, batch_size: int = 8, lr: float = 3e-3, steps: int = 300, val_every: int = 25,
                seed: int = 0, device: str = "auto", **kw) -> TrainConfig:
    """The shared loop's config for keypoints (its ``model`` and ``classes`` fields are not used here)."""
    return TrainConfig(model="pose_hrnet_w32", size=size, batch_size=batch_size, lr=lr, steps=steps,
                       val_every=val_every, seed=seed, device=device, classes=JOINTS, **kw)


def showcase(joints, n: int) -> list[int]:
    """The ``n`` figures of a batch worth drawing: most labelled joints first, then the biggest figures."""
    joints = np.asarray(joints, np.float32)  # (N, K, 3)
    labelled = joints[..., 2] > 0
    spans = [float(np.ptp(j[m, :2], axis=0).max()) if m.sum() > 1 else 0.0 for j, m in zip(joints, labelled)]
    order = sorted(range(len(joints)), key=lambda i: (-int(labelled[i].sum()), -spans[i], i))
    return sorted(order[:n])


def validation_set(size: int, sigma: float, seed: int = 0, n: int = 16):
    """The fixed validation figures of a run: ``(x, target)`` with the joints and target heatmaps."""
    return SyntheticPoses(n, size, seed=10_000 + seed, stride=STRIDE, sigma=sigma).batch(range(n))


_threads_lock = threading.Lock()
_threads_users = [0, 0]  # [runs training now, the thread count to restore when the last one ends]


@contextmanager
def single_threaded():
    """Torch on one intra-op thread while a pose network trains (the count is restored after the last run).

    The pose models are tiny: their convolutions on 16 × 16 maps are far too small to share between
    threads, and OpenMP's waiting threads then cost more than they bring. Measured on a 2-core machine
    (HRNet "tiny", 64 px, batch 8, the loop in a background thread): 0.3 steps/s with 2 threads when the
    thread started the way a Streamlit script starts it, 6.7 steps/s at best, 25 steps/s with one thread.
    ``torch.set_num_threads`` is process-wide, so runs that overlap share one counter.
    """
    with _threads_lock:
        if _threads_users[0] == 0:
            _threads_users[1] = torch.get_num_threads()
            torch.set_num_threads(1)
        _threads_users[0] += 1
    try:
        yield
    finally:
        with _threads_lock:
            _threads_users[0] -= 1
            if _threads_users[0] == 0:
                torch.set_num_threads(_threads_users[1])


def train_pose(cfg: TrainConfig, model: nn.Module, kind: str = "hrnet", sigma: float = 1.5,
               val_size: int = 16) -> Iterator[dict]:
    """:func:`core.train.train` on the synthetic figures with the task that fits ``kind``.

    Nothing runs until the first item is asked for, so all the work happens in the thread that trains,
    on one torch thread (:func:`single_threaded`) on the CPU.
    """
    data = SyntheticPoses(10**9, cfg.size, seed=cfg.seed + 1, stride=STRIDE, sigma=sigma)
    with single_threaded() if devices.resolve(cfg.device).type == "cpu" else nullcontext():
        val = validation_set(cfg.size, sigma, cfg.seed, val_size)
        yield from train(cfg, model, data=data, val_data=val, task=task_for(kind, (cfg.size, cfg.size)))


def race(kinds, cfg: TrainConfig, sigma: float = 1.5, budget: str = "tiny",
         val_size: int = 16) -> tuple[dict[str, nn.Module], Iterator[dict]]:
    """Train several contenders side by side, one step each in turn, on the same batches.

    Returns the models and one stream of the loop's items, each tagged with ``"model": kind``.
    """
    contenders = {kind: build_pose_model(kind, len(JOINTS), budget) for kind in kinds}
    runs = {kind: train_pose(cfg, model, kind, sigma, val_size) for kind, model in contenders.items()}

    def items() -> Iterator[dict]:
        try:
            while runs:
                for kind in list(runs):
                    try:
                        item = next(runs[kind])
                    except StopIteration:
                        del runs[kind]
                        continue
                    yield {**item, "model": kind}
                    if item["kind"] == "step" and cfg.val_every and item["step"] % cfg.val_every == 0:
                        yield {**next(runs[kind]), "model": kind}  # the validation that follows this step
        finally:
            for run in runs.values():
                run.close()

    return contenders, items()


# --- what the heatmap page measures -------------------------------------------------------------------

def quantisation_errors(strides, sigma: float = 2.0, noise: float = 0.0, n: int = 200, seed: int = 0,
                        methods=heatmaps.METHODS, cells: int = 16) -> dict[str, list[float]]:
    """The mean decoding error, in input pixels, of ``n`` random points at each stride, per method.

    Each point is encoded on a ``cells × cells`` heatmap (the image is ``cells · s`` pixels wide), with
    Gaussian ``noise`` of that standard deviation added (a trained network's heatmaps are never clean),
    and decoded back. Points stay 3 cells from the border, so no hill is cut.
    """
    rng = np.random.default_rng(seed)
    unit = rng.uniform(3, cells - 3, size=(n, 2))  # (n, 2) in heatmap cells, the same for every stride
    noise_field = torch.from_numpy(rng.normal(0, 1, size=(n, cells, cells)).astype(np.float32))
    out: dict[str, list[float]] = {m: [] for m in methods}
    for s in strides:
        points = unit * s  # (n, 2) in input pixels
        heat, _ = heatmaps.encode(points, (cells, cells), s, sigma)  # (n, cells, cells): one map per point
        heat = (heat + noise * noise_field).clamp(min=0)
        for m in methods:
            coords, _ = heatmaps.decode(heat, s, m)  # (n, 2)
            out[m].append(float(np.linalg.norm(coords.numpy() - points, axis=1).mean()))
    return out


def shifted_pair(point, offset, heatmap_size: tuple[int, int], stride: int, sigma: float,
                 pred_sigma: float | None = None, amplitude: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """A target hill at ``point`` and a "prediction": the hill moved by ``offset`` (input pixels),
    with its own width ``pred_sigma`` and height ``amplitude``; both ``(1, h, w)``."""
    target, _ = heatmaps.encode([list(point)], heatmap_size, stride, sigma)
    moved = [point[0] + offset[0], point[1] + offset[1]]
    pred, _ = heatmaps.encode([moved], heatmap_size, stride, pred_sigma or sigma)
    return pred * amplitude, target


def loss_vs_offset(offsets, sigmas, stride: int = 4, cells: int = 32) -> dict[float, list[float]]:
    """The heatmap MSE of a hill moved sideways by each offset (input pixels), for each target σ (cells).

    It rises, then stays flat once the hills no longer overlap: beyond about 3σ the loss cannot tell
    "a bit wrong" from "far off", and its gradient vanishes — the reason σ cannot be too small.
    """
    centre = cells * stride / 2
    return {s: [float(heatmaps.mse_loss(*shifted_pair((centre, centre), (d, 0.0), (cells, cells), stride, s)))
                for d in offsets] for s in sigmas}
