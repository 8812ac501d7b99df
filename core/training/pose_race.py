"""The race of the "HRNet or encoder–decoder?" page: its default settings, and what that race measured.

The page and ``bench/pose_race.py`` both read :data:`DEFAULT`, so the page's lesson can say how many steps
its numbers took and they are the steps the page starts with. :data:`MEASURED` holds the final mean
pixel errors that ``python bench/pose_race.py`` printed for :data:`DEFAULT` on a CPU;
``tests/test_pages_statements.py`` fails when the two stop describing the same race.
"""
from __future__ import annotations

from dataclasses import dataclass

from core.training.loop import TrainConfig
from core.training.pose import pose_config


@dataclass(frozen=True)
class RaceSettings:
    size: int = 64  # side of the figures in pixels: big enough for 14 joints at stride 4 (16 × 16 heatmaps)
    steps: int = 800  # per model: the curves have settled and a CPU finishes in a few minutes
    sigma: float = 2.0  # width of each joint's Gaussian hill, in heatmap pixels at 64 px
    lr: float = 1e-2  # the three small networks learn fastest at this rate with the loop's warm-up
    batch_size: int = 8  # the same batches for every contender
    val_size: int = 16  # fixed validation figures, decoded to points after every validation step

    def config(self, steps: int | None = None, size: int | None = None, device: str = "auto") -> TrainConfig:
        steps = int(steps or self.steps)
        return pose_config(size=int(size or self.size), batch_size=self.batch_size, lr=self.lr, steps=steps,
                           val_every=max(10, steps // 15), device=device)


DEFAULT = RaceSettings()

# Final mean error in pixels of each contender, per budget, from `python bench/pose_race.py` (CPU).
# Printed on a 2-core CPU in 353 s (tiny) and 183 s (small), one torch thread.
MEASURED = {
    "settings": {"steps": 800, "size": 64, "sigma": 2.0},
    "tiny": {"hrnet": 6.82, "hourglass": 2.77, "regression": 4.9,
             "params": {"hrnet": 185678, "hourglass": 195174, "regression": 195328}},
    "small": {"hrnet": 4.23, "hourglass": 1.92, "regression": 5.14,
              "params": {"hrnet": 738062, "hourglass": 767334, "regression": 767628}},
}


def lesson_numbers(measured: dict = MEASURED) -> dict:
    """The numbers the lesson's "What we measured" paragraph says, all read from ``measured``.

    Errors in pixels per model and budget (``hr_tiny``, ``ed_small``, ...), the settings, HRNet's parameters
    rounded to ten thousands, how many times more parameters the small budget has, the share of the error
    each architecture loses with them (percent), and the regression's error over the encoder–decoder's.
    """
    tiny, small = measured["tiny"], measured["small"]
    short = {"hrnet": "hr", "hourglass": "ed", "regression": "rg"}
    out = {f"{short[k]}_{b}": measured[b][k] for b in ("tiny", "small") for k in short}
    out.update(measured["settings"])
    out.update(
        p_tiny=f"{round(tiny['params']['hrnet'], -4):,}".replace(",", "\u2009"),
        p_small=f"{round(small['params']['hrnet'], -4):,}".replace(",", "\u2009"),
        growth=small["params"]["hrnet"] / tiny["params"]["hrnet"],
        hr_cut=100 * (1 - small["hrnet"] / tiny["hrnet"]),
        ed_cut=100 * (1 - small["hourglass"] / tiny["hourglass"]),
        rg_ratio_tiny=tiny["regression"] / tiny["hourglass"],
        rg_ratio_small=small["regression"] / small["hourglass"],
    )
    return out
