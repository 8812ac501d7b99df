"""Benchmark: one SAM click with the image embedding cached, against a full run that computes it too.

Target (issue "Segment Anything"): on the full-size SAM ViT-B architecture (random weights: the cost does
not depend on their values), a click that reuses the cached embedding costs at most a tenth of a full run
(preprocessing + image encoder + prompt encoder + mask decoder + upscaling). The two are measured
alternately in one run, on the same image, so a busy machine slows both alike.

    python bench/sam_click.py [--rounds 2] [--clicks 5] [--device auto]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import device as devices  # noqa: E402
from core.promptable import models, samples  # noqa: E402
from core.promptable.segment import EmbeddingCache, Point, Segmenter  # noqa: E402

TARGET = 0.1  # a cached click must cost at most this share of a full run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="full runs (each followed by --clicks cached clicks)")
    parser.add_argument("--clicks", type=int, default=5, help="cached clicks timed after each full run")
    parser.add_argument("--device", default="auto", choices=devices.CHOICES)
    args = parser.parse_args()

    device = devices.resolve(args.device)
    start = time.perf_counter()
    segmenter = Segmenter(models.load_full_size_random("sam", device))
    print(f"SAM ViT-B, random weights: {segmenter.loaded.n_params / 1e6:.1f} M parameters, on {device} "
          f"(built in {time.perf_counter() - start:.1f} s)")
    image = samples.landscape(480, 640).image
    clicks = [Point(320 + 20 * k, 300 - 10 * k, 1) for k in range(args.clicks)]

    full, cached = [], []
    for _ in range(args.rounds):
        cache = EmbeddingCache()  # a new image for the model: nothing cached
        t0 = time.perf_counter()
        emb, computed = cache.get(segmenter, image)
        segmenter.predict(emb, clicks[:1])
        full.append(time.perf_counter() - t0)
        assert computed
        for k in range(1, args.clicks + 1):
            t0 = time.perf_counter()
            emb, computed = cache.get(segmenter, image)
            segmenter.predict(emb, clicks[:k])
            cached.append(time.perf_counter() - t0)
            assert not computed, "the second click ran the image encoder again"
        assert cache.encoder_runs == 1

    full_s, click_s = statistics.median(full), statistics.median(cached)
    ratio = click_s / full_s
    print(f"full run (embedding + click): median {full_s * 1000:8.1f} ms over {len(full)} runs")
    print(f"cached click               : median {click_s * 1000:8.1f} ms over {len(cached)} clicks")
    print(f"ratio cached / full        : {ratio:.4f}  (target <= {TARGET})")
    ok = ratio <= TARGET
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
