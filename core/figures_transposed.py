"""Plotly figures for the transposed-convolution page: frames, the matrix view, the gallery animations.

Pure functions, data in, ``go.Figure`` out; the words (titles, button labels) come from the caller.
Built on :func:`core.figures.grid_heatmap` so every grid looks the same across the app.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.figures import DIVERGING_SCALE, GRID_SCALE, HIGHLIGHT, format_number

FRAME = "#0f172a"  # the kept output inside the canvas
ORIGINAL = "#1d4ed8"  # input values inside the zero-inserted grid


def outline(fig: go.Figure, top: int, left: int, height: int, width: int, color: str = FRAME,
            dash: str = "dash", row: int | None = None, col: int | None = None) -> go.Figure:
    """Draw a rectangle around the cells [top, top+height) × [left, left+width) of a grid heatmap."""
    shape = dict(type="rect", x0=left - 0.5, x1=left + width - 0.5, y0=top - 0.5, y1=top + height - 0.5,
                 line={"color": color, "width": 3, "dash": dash}, fillcolor="rgba(0,0,0,0)")
    if row is not None:
        fig.add_shape(**shape, row=row, col=col)
    else:
        fig.add_shape(**shape)
    return fig


def mark_cells(fig: go.Figure, cells, color: str = HIGHLIGHT, width: int = 4, dash: str = "solid") -> go.Figure:
    """Outline single cells (row, col) of a grid heatmap. One line trace for all of them: plotly
    validates every layout shape on its own, which is slow for the dozens a 5 × 5 kernel needs."""
    xs, ys = [], []
    for r, c in cells:
        xs += [c - 0.5, c + 0.5, c + 0.5, c - 0.5, c - 0.5, None]
        ys += [r - 0.5, r - 0.5, r + 0.5, r + 0.5, r - 0.5, None]
    if xs:
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": color, "width": width, "dash": dash},
                                 hoverinfo="skip", showlegend=False))
    return fig


def _heat(z, show_numbers: bool, zrange: tuple[float, float], diverging: bool, font: int = 15) -> go.Heatmap:
    z = np.asarray(z, dtype=float)
    return go.Heatmap(
        z=z,
        text=[[format_number(v) for v in row] for row in z] if show_numbers else None,
        texttemplate="%{text}" if show_numbers else None,
        textfont={"size": font},
        colorscale=DIVERGING_SCALE if diverging else GRID_SCALE,
        zmin=zrange[0], zmax=zrange[1], showscale=False, xgap=1, ygap=1,
        hovertemplate="%{y}, %{x}: %{z}<extra></extra>",
    )


def _range(*arrays) -> tuple[tuple[float, float], bool]:
    values = np.concatenate([np.asarray(a, dtype=float).ravel() for a in arrays])
    lo, hi = float(values.min()), float(values.max())
    if lo < 0 < hi:
        m = max(-lo, hi)
        return (-m, m), True
    lo = min(lo, 0.0)
    return (lo, hi if hi > lo else lo + 1.0), False


def matrix_figure(c, x_flat, y_flat, row_labels: Sequence[str], col_labels: Sequence[str],
                  titles: tuple[str, str, str], highlight_row: int | None = None) -> go.Figure:
    """Cᵀ applied to the flat input, drawn as xᵀ·C: the column x weights the rows of C, and each
    column of C, summed with those weights, gives one output value in the row y below."""
    c, x_flat, y_flat = (np.asarray(a, dtype=float) for a in (c, x_flat, y_flat))
    rows, cols = c.shape
    numbers = cols <= 36
    font = 13 if cols <= 25 else 10
    fig = make_subplots(rows=2, cols=2, column_widths=[1.2 / (cols + 1.2), cols / (cols + 1.2)],
                        row_heights=[rows / (rows + 1.6), 1.6 / (rows + 1.6)], horizontal_spacing=0.02,
                        vertical_spacing=0.03, shared_xaxes=True, shared_yaxes=True,
                        subplot_titles=(titles[0], titles[1]))
    zr, div = _range(c)
    fig.add_trace(_heat(c, numbers, zr, div, font), row=1, col=2)
    zr, div = _range(x_flat)
    fig.add_trace(_heat(x_flat[:, None], True, zr, div, font), row=1, col=1)
    zr, div = _range(y_flat)
    fig.add_trace(_heat(y_flat[None, :], numbers, zr, div, font), row=2, col=2)
    fig.update_yaxes(autorange="reversed", tickmode="array", tickvals=list(range(rows)), ticktext=list(row_labels),
                     row=1, col=1)
    fig.update_yaxes(autorange="reversed", row=1, col=2)
    fig.update_yaxes(autorange="reversed", tickvals=[0], ticktext=[titles[2]], showticklabels=True, row=2, col=2)
    fig.update_xaxes(tickvals=[0], ticktext=["x"], side="top", row=1, col=1)
    fig.update_xaxes(tickmode="array", tickvals=list(range(cols)), ticktext=list(col_labels), tickangle=-90,
                     row=2, col=2)
    fig.update_xaxes(showticklabels=False, row=1, col=2)
    if highlight_row is not None:
        for col in (1, 2):
            x0, x1 = (-0.5, 0.5) if col == 1 else (-0.5, cols - 0.5)
            fig.add_shape(type="rect", x0=x0, x1=x1, y0=highlight_row - 0.5, y1=highlight_row + 0.5,
                          line={"color": HIGHLIGHT, "width": 3}, row=1, col=col)
    fig.update_layout(height=min(760, max(260, 30 * rows + 150)), margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      plot_bgcolor="white")
    return fig


def scatter_animation(steps, x, crop: tuple[int, int, int, int], canvas_shape: tuple[int, int],
                      titles: tuple[str, str], play: str, pause: str, step_label: str,
                      ms_per_step: int = 900) -> go.Figure:
    """The gallery: the input (left) and the growing sum of kernel copies (right), one frame per input
    cell, played in the browser. ``steps`` are :class:`core.ops.transposed.ScatterStep`; the dashed frame
    is the part of the canvas the output keeps."""
    x = np.asarray(x, dtype=float)
    runnings = [np.zeros(canvas_shape)] + [np.asarray(s.running, dtype=float) for s in steps]
    zr_out, div_out = _range(*runnings)
    zr_in, div_in = _range(x)
    h, w = x.shape
    ch, cw = canvas_shape
    fig = make_subplots(rows=1, cols=2, column_widths=[w / (w + cw), cw / (w + cw)], horizontal_spacing=0.08,
                        subplot_titles=titles)
    fig.add_trace(_heat(x, True, zr_in, div_in, 18), row=1, col=1)
    fig.add_trace(_heat(runnings[0], True, zr_out, div_out, 16), row=1, col=2)

    top, left, oh, ow = crop
    frame_shape = dict(type="rect", xref="x2", yref="y2", x0=left - 0.5, x1=left + ow - 0.5, y0=top - 0.5,
                       y1=top + oh - 0.5, line={"color": FRAME, "width": 3, "dash": "dash"})

    def shapes(k: int) -> list[dict]:
        if k == 0:
            return [frame_shape]
        step = steps[k - 1]
        kh = max(t.row for t in step.touches) - step.anchor[0] + 1
        kw = max(t.col for t in step.touches) - step.anchor[1] + 1
        line = {"color": HIGHLIGHT, "width": 4}
        return [
            frame_shape,
            dict(type="rect", xref="x", yref="y", x0=step.j - 0.5, x1=step.j + 0.5, y0=step.i - 0.5,
                 y1=step.i + 0.5, line=line),
            dict(type="rect", xref="x2", yref="y2", x0=step.anchor[1] - 0.5, x1=step.anchor[1] + kw - 0.5,
                 y0=step.anchor[0] - 0.5, y1=step.anchor[0] + kh - 0.5, line=line),
        ]

    frames = []
    for k, running in enumerate(runnings):
        text = [[format_number(v) for v in row] for row in running]
        frames.append(go.Frame(name=str(k), traces=[1], data=[go.Heatmap(z=running, text=text)],
                               layout={"shapes": shapes(k)}))
    fig.frames = frames
    fig.update_layout(shapes=shapes(0))
    # Both grids on one scale: the input's axes span as many rows as the canvas, so cells are equal.
    rows_shown = max(h, ch)
    for col, (rows, cols) in ((1, (h, w)), (2, (ch, cw))):
        fig.update_yaxes(range=[rows_shown - 0.5, -0.5], scaleanchor=f"x{'' if col == 1 else col}",
                         constrain="domain", tickvals=list(range(rows)), showgrid=False, zeroline=False,
                         row=1, col=col)
        fig.update_xaxes(range=[-0.5, cols - 0.5], side="top", constrain="domain", tickvals=list(range(cols)),
                         showgrid=False, zeroline=False, row=1, col=col)
    for ann in fig.layout.annotations:  # subplot titles above the column numbers
        ann.update(yshift=28, font={"size": 16})
    animate = {"frame": {"duration": ms_per_step, "redraw": True}, "transition": {"duration": 0},
               "fromcurrent": True, "mode": "immediate"}
    fig.update_layout(
        height=min(760, max(360, 64 * max(h, ch) + 190)),
        margin={"l": 20, "r": 20, "t": 90, "b": 90},
        plot_bgcolor="white",
        updatemenus=[{
            "type": "buttons", "direction": "left", "x": 0.0, "y": -0.05, "xanchor": "left", "yanchor": "top",
            "pad": {"t": 10}, "showactive": False,
            "buttons": [
                {"label": play, "method": "animate", "args": [None, animate]},
                {"label": pause, "method": "animate",
                 "args": [[None], {"frame": {"duration": 0, "redraw": False}, "mode": "immediate"}]},
            ],
        }],
        sliders=[{
            "active": 0, "x": 0.18, "len": 0.82, "y": -0.02, "yanchor": "top",
            "currentvalue": {"prefix": step_label + " "},
            "steps": [{"label": str(k), "method": "animate",
                       "args": [[str(k)], {"frame": {"duration": 0, "redraw": True}, "mode": "immediate"}]}
                      for k in range(len(runnings))],
        }],
    )
    return fig
