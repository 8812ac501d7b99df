"""Figures of the training pages: live curves, per-class IoU, confusion matrix, prediction strips."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.figures.common import add_loss_curve

RUN_COLOURS = ["#c2410c", "#1d4ed8", "#15803d", "#7c3aed", "#be185d", "#0f766e"]
BAR_SLIVER = 0.006  # a bar of length 0 is drawn this long (0.6 % of the axis) so it stays visible


def log_ticks(values, max_ticks: int = 8) -> tuple[list[float], list[float]]:
    """Readable ticks for a log axis over ``values``: ``(tickvals, [log10(low), log10(high)])``.

    The ticks are 1, 2 and 5 × 10ⁿ, or only the powers of ten when those would be more than ``max_ticks``;
    the range runs from the tick just below the smallest value to the one just above the largest, so even a
    narrow range (a loss between 0.3 and 0.45) has a tick at each end. Values ≤ 0 or not finite are left out.
    """
    v = np.asarray([x for x in np.ravel(np.asarray(values, dtype=float)) if np.isfinite(x) and x > 0])
    if not len(v):
        return [0.1, 1.0], [-1.0, 0.0]
    lo, hi = float(v.min()), float(v.max())
    for mantissas in ((1, 2, 5), (1,)):
        grid = [m * 10.0 ** e for e in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 2)
                for m in mantissas]
        grid = [round(g, 12) for g in grid]  # 2 × 10⁻² is 0.02, not 0.020000000000000004
        below = max(g for g in grid if g <= lo * (1 + 1e-9))
        above = min(g for g in grid if g >= hi * (1 - 1e-9))
        if above == below:  # one value, on a tick: one step of the grid above it
            above = min(g for g in grid if g > below)
        ticks = [g for g in grid if below <= g <= above]
        if len(ticks) <= max_ticks:
            break
    else:  # more decades than ticks: every k-th power of ten
        ticks = ticks[::math.ceil(len(ticks) / max_ticks)]
    return ticks, [math.log10(below), math.log10(above)]


def set_log_axis(fig: go.Figure, values, row: int | None = None, col: int | None = None) -> None:
    """A log y-axis with the ticks of :func:`log_ticks` (numbers written as ``0.5``, ``1``, ``20``; the
    figure's ``separators`` give Romanian its decimal comma)."""
    ticks, span = log_ticks(values)
    fig.update_yaxes(type="log", tickmode="array", tickvals=ticks, tickformat="~g", range=span, row=row, col=col)


def curves(runs: list[tuple[str, list[dict], list[dict]]], loss_title: str, miou_title: str,
           step_title: str) -> go.Figure:
    """Training loss (log scale) and validation mIoU against the step, one colour per run."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(loss_title, miou_title), horizontal_spacing=0.08)
    for i, (name, steps, vals) in enumerate(runs):
        colour = RUN_COLOURS[i % len(RUN_COLOURS)]
        if steps:
            add_loss_curve(fig, steps, colour, name)
        if vals:
            fig.add_scatter(x=[v["step"] for v in vals], y=[v["miou"] for v in vals], mode="lines+markers",
                            name=name, line={"color": colour, "width": 3}, legendgroup=name, showlegend=not steps,
                            row=1, col=2)
    set_log_axis(fig, [it["loss"] for _, steps, _ in runs for it in steps], row=1, col=1)
    fig.update_yaxes(range=[0, 1], row=1, col=2)
    fig.update_xaxes(title_text=step_title)
    fig.update_layout(height=340, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      legend={"orientation": "h", "y": -0.25})
    return fig


def loss_curve(steps: list[dict], name: str, title: str, step_title: str, colour: str = RUN_COLOURS[0]) -> go.Figure:
    """One run's training loss against the step (log scale, readable ticks): each step faint, its trend bold."""
    fig = make_subplots(rows=1, cols=1, subplot_titles=(title,))
    if steps:
        add_loss_curve(fig, steps, colour, name)
    set_log_axis(fig, [it["loss"] for it in steps], row=1, col=1)
    fig.update_xaxes(title_text=step_title, rangemode="tozero")
    fig.update_layout(height=280, margin={"l": 10, "r": 10, "t": 40, "b": 10}, showlegend=False)
    return fig


def iou_bars(names: list[str], ious: list[float | None], palette: np.ndarray, title: str) -> go.Figure:
    """One bar per class, its IoU written beside it: an IoU of 0 keeps a sliver of a bar and its "0.00"; a
    class absent from both the truth and the prediction (None) has no bar, only "–"."""
    colours = ["rgb(%d,%d,%d)" % tuple(c) for c in palette[: len(names)]]
    known = [v is not None for v in ious]
    fig = go.Figure(go.Bar(
        x=[max(v, BAR_SLIVER) if ok else BAR_SLIVER for v, ok in zip(ious, known)], y=names, orientation="h",
        customdata=[v if ok else 0.0 for v, ok in zip(ious, known)],
        marker={"color": colours, "opacity": [1.0 if ok else 0.0 for ok in known],
                "line": {"color": "#334155", "width": [1 if ok else 0 for ok in known]}},
        texttemplate=["%{customdata:.2f}" if ok else "–" for ok in known], textposition="outside",
        cliponaxis=False, hovertemplate=[("%{y}: %{customdata:.3f}" if ok else "%{y}: –") + "<extra></extra>"
                                         for ok in known]))
    fig.update_xaxes(range=[0, 1.13], tickvals=[0, 0.25, 0.5, 0.75, 1])  # room for "1.00" outside the bar
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(title=title, height=60 + 36 * len(names), margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig


def confusion(cm, names: list[str], true_title: str, pred_title: str) -> go.Figure:
    """The confusion matrix normalised per true class (rows sum to 1), with the counts on hover."""
    cm = np.asarray(cm, dtype=float)
    rows = cm.sum(1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    fig = go.Figure(go.Heatmap(z=share, x=names, y=names, customdata=cm, colorscale="Blues", zmin=0, zmax=1,
                               text=[[f"{v:.2f}" for v in r] for r in share], texttemplate="%{text}",
                               hovertemplate="%{y} → %{x}: %{customdata:.0f} px<extra></extra>"))
    fig.update_yaxes(autorange="reversed", title_text=true_title)
    fig.update_xaxes(title_text=pred_title, side="top")
    fig.update_layout(height=120 + 40 * len(names), margin={"l": 10, "r": 10, "t": 60, "b": 10})
    return fig
