"""The training figures: readable log ticks, an IoU of 0 that stays visible, the loss axes that use them."""
import math

import numpy as np
import pytest

from core.figures.pose import pose_curves
from core.figures.training import BAR_SLIVER, curves, iou_bars, log_ticks


def _is_nice(v: float) -> bool:
    e = math.floor(math.log10(v) + 1e-9)
    return round(v / 10 ** e, 9) in (1, 2, 5)


@pytest.mark.parametrize("values", [[0.3, 0.45], [1.7, 0.02], [2.0], [0.05, 0.8], [1e-4, 3e3], [1e-9, 1e9],
                                    [5.0, 5.0001], [1.79, 1.81]])
def test_log_ticks_are_one_two_five_times_a_power_of_ten_and_cover_the_values(values):
    ticks, (lo, hi) = log_ticks(values)
    assert 2 <= len(ticks) <= 8
    assert all(_is_nice(t) for t in ticks)
    assert ticks == sorted(ticks)
    assert 10 ** lo <= min(values) * (1 + 1e-9) and 10 ** hi >= max(values) * (1 - 1e-9)
    assert math.isclose(10 ** lo, ticks[0]) and math.isclose(10 ** hi, ticks[-1])  # a tick at each end


def test_log_ticks_leave_out_what_a_log_axis_cannot_show():
    assert log_ticks([0.0, -1.0, float("nan"), 0.5, 0.7])[0] == [0.5, 1.0]


def _steps(losses):
    return [{"step": i + 1, "loss": v} for i, v in enumerate(losses)]


def test_the_loss_axes_of_both_training_pages_use_those_ticks():
    losses = list(np.geomspace(1.9, 0.04, 50))
    fig = curves([("run", _steps(losses), [{"step": 50, "miou": 0.4}])], "loss", "mIoU", "step")
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis.tickformat == "~g"
    assert list(fig.layout.yaxis.tickvals) == log_ticks(losses)[0]
    pose = pose_curves([("hrnet", "#000", _steps(losses), [{"step": 50, "mean_error": 3.0, "pck": 0.5}])],
                           ("loss", "error", "PCK"), "step")
    assert list(pose.layout.yaxis.tickvals) == log_ticks(losses)[0]


def test_an_iou_of_zero_keeps_its_bar_and_its_number_and_an_absent_class_says_so():
    palette = np.array([[200, 0, 0], [0, 200, 0], [0, 0, 200]])
    fig = iou_bars(["road", "person", "sky"], [0.0, None, 0.8125], palette, "IoU")
    bar = fig.data[0]
    assert bar.x[0] == BAR_SLIVER and bar.customdata[0] == 0.0 and bar.marker.opacity[0] == 1.0
    assert bar.texttemplate[0] == "%{customdata:.2f}" and bar.textposition == "outside"
    assert bar.marker.opacity[1] == 0.0 and bar.texttemplate[1] == "–"  # no bar for a class in neither map
    assert bar.x[2] == 0.8125 and bar.customdata[2] == 0.8125
    assert fig.layout.xaxis.range[1] > 1  # "1.00" written outside a full bar still fits
