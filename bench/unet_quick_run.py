"""Benchmark: the default quick U-Net run on the synthetic streets, against its target.

Target (issue "Train live"): validation mIoU >= 0.85 within 120 s on a 2-core CPU. This runs the
same code as the page and the command line (:func:`core.training.loop.train` with the page's defaults) for a
wall-clock budget and prints the validation mIoU reached, with the time and steps it took.

    python bench/unet_quick_run.py [--seconds 120] [--size 64] [--batch 8] [--device auto] [--threads N]

On a 2-core machine shared with other work, ``--threads 1`` is steadier: two threads that must wait
for a busy core lose far more than one thread gives up on an idle machine.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.training.loop import TrainConfig, train  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=120)
    p.add_argument("--model", default="unet")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None, help="torch's CPU threads (default: torch's choice)")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    print(f"torch threads: {torch.get_num_threads()}")
    cfg = TrainConfig(model=a.model, size=a.size, batch_size=a.batch, lr=a.lr, steps=10**9, seconds=a.seconds,
                      val_every=100, device=a.device)
    start = time.perf_counter()
    best = None
    for item in train(cfg):
        if item["kind"] == "val":
            best = item
            print(f"step {item['step']:5d}  {item['elapsed_s']:6.1f} s  val mIoU {item['miou']:.3f}  "
                  f"pixel acc {item['pixel_acc']:.3f}", flush=True)
    total = time.perf_counter() - start
    verdict = "meets" if best["miou"] >= 0.85 else "misses"
    print(f"final: val mIoU {best['miou']:.3f} after {best['step']} steps, {best['elapsed_s']:.1f} s of training "
          f"({total:.1f} s with validation); {verdict} the target of 0.85 within {a.seconds:.0f} s")


if __name__ == "__main__":
    main()
