"""Figures of the training pages: live curves, per-class IoU, confusion matrix, prediction strips."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.figures.common import add_loss_curve

RUN_COLOURS = ["#c2410c", "#1d4ed8", "#15803d", "#7c3aed", "#be185d", "#0f766e"]


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
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_yaxes(range=[0, 1], row=1, col=2)
    fig.update_xaxes(title_text=step_title)
    fig.update_layout(height=340, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      legend={"orientation": "h", "y": -0.25})
    return fig


def iou_bars(names: list[str], ious: list[float | None], palette: np.ndarray, title: str) -> go.Figure:
    values = [v if v is not None else 0.0 for v in ious]
    colours = ["rgb(%d,%d,%d)" % tuple(c) for c in palette[: len(names)]]
    fig = go.Figure(go.Bar(x=values, y=names, orientation="h", marker_color=colours,
                           text=[f"{v:.2f}" if v is not None else "–" for v in ious], textposition="auto"))
    fig.update_xaxes(range=[0, 1])
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
