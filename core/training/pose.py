r"""Training the pose networks: the shared loop (:mod:`core.training.loop`) with a heatmap task.

The heatmap task scores a prediction by the masked per-pixel MSE against Gaussian hills
(:mod:`core.heatmaps`) and validates by decoding the hills back to points: mean pixel error, PCK
(a joint within ``alpha`` × the figure's size counts as found) and the error of each joint. The
coordinate task trains :class:`core.models.pose.CoordinateRegression` on the (x, y) of each joint.
:func:`race` trains several contenders side by side on the same batches.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import numpy as np
import torch
from torch import nn

from core import device as devices
from core import heatmaps
from core.data.poses import JOINTS, SyntheticPoses
from core.models.pose import STRIDE, build_pose_model
from core.training.loop import TrainConfig, predict_batches, train

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


def figure_errors(coords, joints) -> np.ndarray:
    """The mean pixel error of each figure over its labelled joints: ``coords (N, K, 2)`` and ``joints (N, K, 3)``
    give ``(N,)`` (NaN for a figure with no labelled joint) — the number under each drawn figure."""
    coords = np.asarray(coords, np.float32)
    joints = np.asarray(joints, np.float32)
    labelled = joints[..., 2] > 0  # (N, K)
    dist = np.linalg.norm(coords - joints[..., :2], axis=-1)  # (N, K)
    n = labelled.sum(1)  # (N,)
    return np.where(n > 0, np.where(labelled, dist, 0).sum(1) / np.maximum(n, 1), np.nan)


class PoseTask:
    """The heatmap task for :func:`core.training.loop.train`: masked per-pixel MSE; validation decodes the hills.

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
    """:func:`core.training.loop.train` on the synthetic figures with the task that fits ``kind``.

    Nothing runs until the first item is asked for, so all the work happens in the thread that trains,
    on one torch thread (:func:`single_threaded`) on the CPU.
    """
    data = SyntheticPoses(10**9, cfg.size, seed=cfg.seed + 1, stride=STRIDE, sigma=sigma)
    with single_threaded() if devices.resolve(cfg.device).type == "cpu" else nullcontext():
        val = validation_set(cfg.size, sigma, cfg.seed, val_size)
        yield from train(cfg, model, data=data, val_data=val, task=task_for(kind, (cfg.size, cfg.size)))


def pose_job(cfg: TrainConfig, model: nn.Module, kind: str = "hrnet", sigma: float = 1.5, val_size: int = 16):
    """:func:`train_pose` as a worker's job (:class:`core.training.workers.Job`): the model and its items."""
    return model, train_pose(cfg, model, kind, sigma, val_size)


def race_job(contenders: nn.ModuleDict, cfg: TrainConfig, sigma: float = 1.5, val_size: int = 16):
    """:func:`race` of the given contenders (kind → network) as a worker's job: the ModuleDict and the items."""
    return contenders, race(list(contenders), cfg, sigma, val_size=val_size, contenders=dict(contenders.items()))[1]


def race(kinds, cfg: TrainConfig, sigma: float = 1.5, budget: str = "tiny", val_size: int = 16,
         contenders: dict[str, nn.Module] | None = None) -> tuple[dict[str, nn.Module], Iterator[dict]]:
    """Train several contenders side by side, one step each in turn, on the same batches.

    Returns the models (built at ``budget`` unless ``contenders`` gives them) and one stream of the loop's
    items, each tagged with ``"model": kind``. Sending ``"finish"`` ends the race with a last validation of
    every contender that has stepped since its previous one.
    """
    contenders = contenders or {kind: build_pose_model(kind, len(JOINTS), budget) for kind in kinds}
    runs = {kind: train_pose(cfg, model, kind, sigma, val_size) for kind, model in contenders.items()}

    def finish() -> Iterator[dict]:
        """Every contender that has stepped since its last validation validates once more, then the race ends."""
        for kind in list(runs):
            try:
                yield {**runs[kind].send("finish"), "model": kind}
            except (StopIteration, TypeError):  # TypeError: a contender that never started has nothing to show
                pass
            runs.pop(kind).close()

    def items() -> Iterator[dict]:
        try:
            while runs:
                for kind in list(runs):
                    try:
                        item = next(runs[kind])
                    except StopIteration:
                        del runs[kind]
                        continue
                    if (yield {**item, "model": kind}) == "finish":
                        yield from finish()
                        return
                    if item["kind"] == "step" and item.get("val_follows"):
                        val = {**next(runs[kind]), "model": kind}  # the validation that follows this step
                        if (yield val) == "finish":
                            yield from finish()
                            return
        finally:
            for run in runs.values():
                run.close()

    return contenders, items()
