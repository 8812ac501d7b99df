"""Benchmark: the pose page's race (HRNet, encoder–decoder, direct regression) at its default settings.

Prints, per parameter budget, each contender's parameter count and final mean pixel error on the
validation figures, then the ``MEASURED`` table that ``core/training/pose_race.py`` keeps for the lesson.

    OMP_NUM_THREADS=1 python bench/pose_race.py [--budgets tiny small] [--device cpu]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.models import pose as pose_nets  # noqa: E402
from core.training import pose as pose_training  # noqa: E402
from core.training.pose_race import DEFAULT  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budgets", nargs="+", default=list(pose_nets.BUDGETS))
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    table = {"settings": {"steps": DEFAULT.steps, "size": DEFAULT.size, "sigma": DEFAULT.sigma}}
    for budget in args.budgets:
        cfg = DEFAULT.config(device=args.device)
        models, items = pose_training.race(pose_nets.KINDS, cfg, DEFAULT.sigma, budget, DEFAULT.val_size)
        start, last = time.perf_counter(), {}
        for item in items:
            if item["kind"] == "val":
                last[item["model"]] = item["mean_error"]
        params = {k: pose_nets.count_parameters(m) for k, m in models.items()}
        table[budget] = {k: round(last[k], 2) for k in pose_nets.KINDS} | {"params": params}
        print(json.dumps({"budget": budget, "seconds": round(time.perf_counter() - start, 1), **table[budget]}),
              flush=True)
    print(json.dumps(table))


if __name__ == "__main__":
    main()
