r"""Training a segmentation network, written as a generator of metrics.

:func:`train` runs the classic loop — forward, per-pixel cross-entropy, backward, AdamW step — and
*yields* a small dict after every step (loss, learning rate, images per second) and after every
validation (pixel accuracy, mIoU, per-class IoU). The caller decides what to do with them: the page
draws live curves and can pause between two steps, the command line prints one JSON line each, the
tests check that the loss falls. One loop, three users.

On CUDA it uses mixed precision (bfloat16 autocast where supported) and channels_last; on the CPU it
runs in float32. The seed fixes the initial weights, the data order and the validation set.

Checkpoints are safetensors files (tensors only, nothing that can run code when loaded) with a JSON
header of their own: the model name and build arguments, the classes and palette, the input size and
the last metrics — everything the "Your images" pages need to rebuild and use the model.

    python -m core.train --model unet --dataset synthetic --seconds 60 --out unet.safetensors
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F

from core import device as devices
from core import metrics
from core.data.streets import CLASSES, IGNORE_INDEX, PALETTE, SyntheticStreets
from core.zoo.checkpoints import save_checkpoint


@dataclass
class TrainConfig:
    model: str = "unet"  # a name from core.models.SEGMENTATION
    model_kwargs: dict = field(default_factory=dict)  # extra build() arguments (width, upsampling, ...)
    dataset: str = "synthetic"  # only the synthetic streets are built in; folders come through `data=`
    size: int = 64  # training crops are size × size: small enough for a CPU in class
    batch_size: int = 8  # a batch a 2-core CPU finishes in well under a second for the small models
    lr: float = 3e-3  # AdamW's peak rate; the small models tolerate a high one
    weight_decay: float = 1e-4  # light regularisation; the data is endless, overfitting is not the risk
    steps: int = 300  # the schedule's length; `seconds` may stop earlier
    seconds: float | None = None  # wall-clock budget; None trains all `steps`
    warmup: int = 20  # linear warm-up steps before the cosine decay
    val_every: int = 50  # validate this many steps after the first validation (and at the end)
    first_val: int = 25  # the first validation comes this early (or at val_every, or the end, if sooner)
    val_size: int = 32  # fixed validation scenes: the same images all run long
    seed: int = 0  # fixes weights, data order and the validation set
    device: str = "auto"  # auto, cpu, cuda or mps
    amp: bool = True  # mixed precision on CUDA (ignored elsewhere)
    classes: tuple[str, ...] = CLASSES  # the label set (the street classes unless the data has its own)

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def lr_at(step: int, cfg: TrainConfig, elapsed: float = 0.0) -> float:
    """Linear warm-up to ``cfg.lr``, then a cosine decay to 5 % of it at the end of the run.

    The end is ``cfg.steps`` or, with a time budget, ``cfg.seconds`` — whichever comes first, so a run
    on a slow CPU still finishes its schedule instead of stopping at a high rate.
    """
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    if cfg.seconds:
        progress = max(progress, elapsed / cfg.seconds)
    progress = min(1.0, progress)
    return cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def first_validation(cfg: TrainConfig) -> int:
    """The step of a run's first validation."""
    return max(1, min(cfg.first_val, cfg.val_every, cfg.steps))


def validates_at(step: int, cfg: TrainConfig) -> bool:
    """Whether a validation follows step ``step``: the first at ``min(first_val, val_every)`` (so a run stopped
    early already has its mIoU and predictions), then every ``val_every`` steps after it, and at the end."""
    first = first_validation(cfg)
    return step == cfg.steps or (step >= first and (step - first) % cfg.val_every == 0)


def upsampling_options(model: str) -> tuple[str, ...]:
    """The decoder upsampling choices a model offers (its config's ``upsampling`` field), or ()."""
    import dataclasses
    import typing

    from core import models

    config = models.config_class(model)
    for f in dataclasses.fields(config):
        if f.name == "upsampling":
            return tuple(typing.get_args(typing.get_type_hints(config)["upsampling"]))
    return ()


def build_model(cfg: TrainConfig) -> torch.nn.Module:
    from core import models

    return models.build(cfg.model, num_classes=cfg.num_classes, **cfg.model_kwargs)


@torch.no_grad()
def predict_batches(model: torch.nn.Module, x: torch.Tensor, device: torch.device, amp: bool = True,
                    batch: int = 16) -> torch.Tensor:
    """The model's raw outputs on ``x``, in eval mode and in batches, back on the CPU as float32."""
    was_training = model.training
    model.eval()
    outs = []
    for i in range(0, len(x), batch):
        xb = x[i:i + batch].to(device)
        if device.type == "cuda":
            xb = xb.contiguous(memory_format=torch.channels_last)
        with devices.autocast(device, amp):
            outs.append(model(xb).float().cpu())  # (n, C, H, W)
    model.train(was_training)
    return torch.cat(outs)


def to_device(target, device: torch.device):
    """A batch's target on ``device``: a tensor, or a tuple, list or dict of them (keypoint targets)."""
    if torch.is_tensor(target):
        return target.to(device, non_blocking=True)
    if isinstance(target, dict):
        return {k: to_device(v, device) for k, v in target.items()}
    if isinstance(target, (list, tuple)):
        return type(target)(to_device(v, device) for v in target)
    return target


class SegmentationTask:
    """What makes the loop a *segmentation* loop: its loss and its validation.

    Another task (keypoint heatmaps, say) gives :func:`train` an object with the same two methods:
    ``loss(output, target) -> scalar tensor`` and ``evaluate(model, x, y, device, amp) -> dict``.
    """

    def __init__(self, num_classes: int, ignore_index: int = IGNORE_INDEX):
        self.num_classes, self.ignore_index = num_classes, ignore_index

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-pixel cross-entropy, averaged over the pixels that count."""
        return F.cross_entropy(logits.float(), target, ignore_index=self.ignore_index)

    def evaluate(self, model, x, y, device, amp=True) -> dict:
        """Pixel accuracy, mIoU and per-class IoU on ``(x, y)``, the confusion matrix and the predictions."""
        pred = predict_batches(model, x, device, amp).argmax(1)  # (N, H, W)
        cm = metrics.confusion_matrix(pred, y, self.num_classes, ignore_index=self.ignore_index)
        iou = metrics.iou_per_class(cm)
        return {"pixel_acc": metrics.pixel_accuracy(cm), "miou": metrics.mean_iou(cm),
                "iou_per_class": [None if math.isnan(v) else round(float(v), 4) for v in iou],
                "confusion": cm.tolist(), "pred": pred}


def train(cfg: TrainConfig, model: torch.nn.Module | None = None, data=None,
          val_data: tuple[torch.Tensor, torch.Tensor] | None = None, task=None) -> Iterator[dict]:
    """Train ``model`` (built from ``cfg`` when None), yielding metrics as it goes.

    Yields ``{"kind": "step", ...}`` after each step and ``{"kind": "val", ...}`` after each validation;
    the last item is always a validation. A step item's ``"val_follows"`` says that a validation comes
    right after it (so a caller that pauses can take the two together). ``data`` is any dataset of ``(x, target)`` items (default: the
    synthetic streets; a ``batch(indices)`` method is used when it has one); ``val_data`` a fixed
    ``(x, y)`` batch; ``task`` the loss and validation (default: :class:`SegmentationTask`). The model is
    trained in place. Stop early either by not asking for the next item, or by sending ``"finish"``
    (``items.send("finish")`` in place of ``next(items)``): the loop then ends with one last validation of
    what it has learned, which is the item ``send`` returns (none when the last item already was one).
    """
    task = task if task is not None else SegmentationTask(cfg.num_classes)
    torch.manual_seed(cfg.seed)
    device = devices.resolve(cfg.device)
    model = model if model is not None else build_model(cfg)
    model = devices.prepare(model, device).train()
    data = data if data is not None else SyntheticStreets(10**9, cfg.size, seed=cfg.seed + 1)
    if val_data is None:
        val_data = SyntheticStreets(cfg.val_size, cfg.size, seed=10_000 + cfg.seed).batch(range(cfg.val_size))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    order = torch.Generator().manual_seed(cfg.seed)
    start = time.perf_counter()
    step = 0
    last_val = -1
    while step < cfg.steps:
        if cfg.seconds is not None and time.perf_counter() - start >= cfg.seconds:
            break
        t0 = time.perf_counter()
        idx = torch.randint(len(data), (cfg.batch_size,), generator=order).tolist()
        xb, yb = (data.batch(idx) if hasattr(data, "batch")
                  else [torch.stack(t) for t in zip(*(data[i] for i in idx))])
        xb, yb = xb.to(device, non_blocking=True), to_device(yb, device)
        if device.type == "cuda":
            xb = xb.contiguous(memory_format=torch.channels_last)
        lr = lr_at(step, cfg, t0 - start)
        for group in opt.param_groups:
            group["lr"] = lr
        with devices.autocast(device, cfg.amp):
            loss = task.loss(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        dt = time.perf_counter() - t0
        val_follows = validates_at(step, cfg)
        reply = yield {"kind": "step", "step": step, "loss": loss.item(), "lr": lr,
                       "images_per_s": cfg.batch_size / dt if dt > 0 else float("inf"),
                       "elapsed_s": time.perf_counter() - start,
                       "val_follows": val_follows}  # its validation comes next
        if reply == "finish":
            break
        if val_follows:
            last_val = step
            reply = yield {"kind": "val", "step": step, "elapsed_s": time.perf_counter() - start,
                           **task.evaluate(model, *val_data, device, cfg.amp)}
            if reply == "finish":
                break
    if last_val != step and step > 0:
        yield {"kind": "val", "step": step, "elapsed_s": time.perf_counter() - start,
               **task.evaluate(model, *val_data, device, cfg.amp)}


def segmentation_job(cfg: TrainConfig, model: torch.nn.Module, data=None,
                     val_data: tuple[torch.Tensor, torch.Tensor] | None = None):
    """:func:`train` as a worker's job (:class:`core.training.workers.Job`): the model and its items."""
    return model, train(cfg, model, data=data, val_data=val_data)


# --- checkpoints (their format: core.zoo.checkpoints) --------------------------------------------

def checkpoint_meta(cfg: TrainConfig, last_val: dict | None) -> dict:
    scores = {k: last_val[k] for k in ("pixel_acc", "miou", "iou_per_class", "step")} if last_val else {}
    return {"model": cfg.model, "model_kwargs": cfg.model_kwargs, "classes": list(cfg.classes),
            "palette": PALETTE.tolist(), "input_size": [cfg.size, cfg.size], "dataset": cfg.dataset,
            "metrics": scores, "config": {k: v for k, v in asdict(cfg).items() if k != "model_kwargs"}}


# --- command line -----------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m core.train", description="Train a segmentation model and "
                                "print one JSON object of metrics per line.")
    p.add_argument("--model", default="unet")
    p.add_argument("--dataset", default="synthetic", choices=["synthetic"])
    p.add_argument("--seconds", type=float, default=None, help="wall-clock budget")
    p.add_argument("--steps", type=int, default=None, help="number of steps (default: 300, or unbounded "
                   "with --seconds)")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--val-every", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=list(devices.CHOICES))
    p.add_argument("--width", type=float, default=None, help="the model's width multiplier (1.0 = the paper's)")
    p.add_argument("--out", default=None, help="write the trained model here (.safetensors)")
    p.add_argument("--save-dtype", default="float32", choices=["float32", "float16"],
                   help="precision of the saved weights (float16 halves the file)")
    args = p.parse_args(argv)
    steps = args.steps if args.steps is not None else (10**9 if args.seconds is not None else 300)
    cfg = TrainConfig(model=args.model, size=args.size, batch_size=args.batch_size, lr=args.lr, steps=steps,
                      seconds=args.seconds, val_every=args.val_every, seed=args.seed, device=args.device,
                      model_kwargs={"width": args.width} if args.width else {})
    try:
        model = build_model(cfg)
    except (KeyError, ValueError) as err:
        print(json.dumps({"error": str(err)}), file=sys.stderr)
        return 2
    last_val = None
    for item in train(cfg, model):
        if item["kind"] == "val":
            last_val = item
            out = {k: v for k, v in item.items() if k not in ("pred", "confusion")}
            out["val_miou"], out["val_pixel_acc"] = item["miou"], item["pixel_acc"]
        else:
            out = item
        print(json.dumps(out), flush=True)
    if args.out:
        save_checkpoint(args.out, model, checkpoint_meta(cfg, last_val), dtype=getattr(torch, args.save_dtype))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
