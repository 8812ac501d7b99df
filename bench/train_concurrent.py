"""Benchmark: training runs in worker processes, alone and four at once, against a bare loop; side by side.

Targets (issue 14, "A room at once"):

- the loop as the page runs it — :func:`core.training.loop.train` in a worker process of
  :mod:`core.training.workers`, on its default torch threads — keeps at least 0.9× the steps per second of a
  bare PyTorch loop on the same model, batch and threads, in this process;
- with four runs at once, each keeps at least 0.8× its share of a lone run's steps per second, its share being
  ``min(1, cores / (4 × threads per run))`` of it.

Each figure is read over the same wall-clock window (``--window`` seconds) once every run counted has taken
its first steps, so the workers' start (a new interpreter importing torch) is not counted against them; the
bare loop (``bench/train_loop.py``'s) takes about as many seconds of steps, after a warm-up. The lone run and the bare loop are
measured in turn, ``--repeats`` times, and their medians compared.

    OMP_NUM_THREADS=1 python bench/train_concurrent.py [--model unet] [--size 64] [--batch 8] [--window 20]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.train_loop import bare_loop
from core import device as devices
from core.training import workers
from core.training.loop import TrainConfig, build_model, segmentation_job

WARM_STEPS = 5  # steps a run takes before its window opens (allocator, kernels)


def worker_rates(cfg: TrainConfig, n: int, seconds: float, n_slots: int | None = None) -> list[float | None]:
    """``n`` runs submitted at once, each in its worker: each one's steps per second over the same ``seconds``
    (None for a run still waiting in the queue when ``n_slots`` is below ``n``)."""
    queue = workers.TrainingQueue(n_slots=n_slots or n)
    runs = []
    for i in range(n):
        torch.manual_seed(i)
        model = build_model(cfg)
        runs.append(queue.submit(workers.Job(segmentation_job, {"cfg": cfg, "model": model}), model, cfg=cfg))
    try:
        for run in runs:
            if run in queue.running:
                run.wait_for(lambda s: len(s.steps) >= WARM_STEPS, timeout=600)
        t0, before = time.monotonic(), [len(r.snapshot().steps) for r in runs]
        time.sleep(seconds)
        t1, after = time.monotonic(), [len(r.snapshot().steps) for r in runs]
    finally:
        for run in runs:
            run.abort()
        for run in runs:
            run.wait_for(lambda s: False, timeout=30)
    return [(b - a) / (t1 - t0) if b else None for a, b in zip(before, after)]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="unet")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--window", type=float, default=20.0, help="seconds each figure is measured over")
    p.add_argument("--runs", type=int, default=4, help="runs at once")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    threads = workers.threads_per_run()
    torch.set_num_threads(threads)  # the bare loop on the threads a worker gets
    cfg = TrainConfig(model=a.model, size=a.size, batch_size=a.batch, steps=10**9, val_every=10**9, first_val=10**9,
                      val_size=8, device=a.device)
    rows = []
    bare_loop(cfg, WARM_STEPS)  # warm-up: allocator, kernels
    for r in range(a.repeats):  # interleaved, so a slower moment of the machine hits both alike
        lone = worker_rates(cfg, 1, a.window)[0]
        rows.append((bare_loop(cfg, max(20, round(lone * a.window))), lone))  # about as many seconds of steps
        print(f"repeat {r + 1}: bare loop {rows[-1][0]:.2f} steps/s, lone worker run {rows[-1][1]:.2f} steps/s, "
              f"ratio {rows[-1][1] / rows[-1][0]:.3f}", flush=True)
    ratio = sorted(q / b for b, q in rows)[len(rows) // 2]  # the median of the paired ratios
    lone = sorted(q for _, q in rows)[len(rows) // 2]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"device {devices.resolve(a.device)}, {workers.cores()} cores (load average {load:.1f} before the runs "
          f"below), {threads} torch thread(s) per run, default slots {workers.slots()}; model {a.model}, "
          f"batch {a.batch}, size {a.size}, window {a.window:g} s")
    print(f"loop in a worker against a bare loop, median of {len(rows)} pairs: {ratio:.3f} (target >= 0.90)")
    for label, slots in ((f"{a.runs} at once", a.runs), (f"{a.runs} submitted, default limit", workers.slots())):
        rates = worker_rates(cfg, a.runs, a.window, n_slots=slots)
        training = [r for r in rates if r is not None]
        share = lone * min(1.0, workers.cores() / (len(training) * threads))
        print(f"{label} ({len(training)} training, {len(rates) - len(training)} queued), each against its share "
              f"of the lone run's {lone:.2f} steps/s ({share:.2f}):")
        for i, rate in enumerate(rates, 1):
            print(f"  run {i}: " + (f"{rate:.2f} steps/s = {rate / share:.3f} of its share (target >= 0.80)"
                                    if rate is not None else "waiting in the queue"))
        print(f"  together {sum(training):.2f} steps/s, {sum(training) / lone:.2f}x a lone run")


if __name__ == "__main__":
    main()
