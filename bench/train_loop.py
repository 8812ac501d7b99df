"""Benchmark: the page's training loop against a bare PyTorch loop, side by side in one run.

Target (issue "Train live"): the loop inside the page — :func:`core.training.loop.train` driven by
:class:`core.training.runs.BackgroundRun` in its thread — reaches at least 0.9× the steps per second of a bare
loop on the same model, batch and device. Both loops draw their batches the same way (synthetic scenes
made on the fly), so the comparison measures the overhead of the generator, the metrics it yields and
the thread, not the data.

    python bench/train_loop.py [--model unet] [--size 64] [--batch 8] [--steps 60] [--device auto]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import device as devices  # noqa: E402
from core.data.streets import IGNORE_INDEX, SyntheticStreets  # noqa: E402
from core.training.runs import BackgroundRun  # noqa: E402
from core.training.loop import TrainConfig, build_model, lr_at, train  # noqa: E402


def bare_loop(cfg: TrainConfig, steps: int) -> float:
    """The textbook loop, nothing else: returns steps per second."""
    torch.manual_seed(cfg.seed)
    device = devices.resolve(cfg.device)
    model = devices.prepare(build_model(cfg), device).train()
    data = SyntheticStreets(10**9, cfg.size, seed=cfg.seed + 1)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    order = torch.Generator().manual_seed(cfg.seed)
    start = time.perf_counter()
    for step in range(steps):
        xb, yb = data.batch(torch.randint(len(data), (cfg.batch_size,), generator=order).tolist())
        xb, yb = xb.to(device), yb.to(device)
        if device.type == "cuda":
            xb = xb.contiguous(memory_format=torch.channels_last)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg)
        with devices.autocast(device, cfg.amp):
            loss = F.cross_entropy(model(xb).float(), yb, ignore_index=IGNORE_INDEX)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - start)


def page_loop(cfg: TrainConfig, steps: int) -> float:
    """The page's path: the generator in a background thread; returns steps per second."""
    torch.manual_seed(cfg.seed)
    model = build_model(cfg)
    start = time.perf_counter()
    run = BackgroundRun(train(cfg, model), model)
    snap = run.wait_for(lambda s: s.status == "finished", timeout=3600)
    elapsed = time.perf_counter() - start
    assert len(snap.steps) == steps, snap
    return steps / elapsed


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="unet")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None, help="torch's CPU threads (1 is steadier on a busy machine)")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    # No validation inside the timed steps (val_every beyond the run): the bare loop has none either;
    # the final validation the generator always runs is part of the page's cost and is counted.
    cfg = TrainConfig(model=a.model, size=a.size, batch_size=a.batch, steps=a.steps, val_every=10**9,
                      val_size=8, device=a.device)
    bare_loop(cfg, 5)  # warm-up: allocator, kernels, threads
    rows = []
    for r in range(a.repeats):  # interleaved, so a slower moment of the machine hits both alike
        rows.append((bare_loop(cfg, a.steps), page_loop(cfg, a.steps)))
        print(f"repeat {r + 1}: bare {rows[-1][0]:.2f} steps/s, page {rows[-1][1]:.2f} steps/s, "
              f"ratio {rows[-1][1] / rows[-1][0]:.3f}", flush=True)
    bare = sorted(b for b, _ in rows)[len(rows) // 2]
    page = sorted(q for _, q in rows)[len(rows) // 2]
    device = devices.resolve(a.device)
    print(f"device {device}, model {a.model}, batch {a.batch}, size {a.size}, {a.steps} steps")
    print(f"median: bare loop {bare:.2f} steps/s, page loop {page:.2f} steps/s, ratio {page / bare:.3f} "
          f"(target >= 0.90)")


if __name__ == "__main__":
    main()
