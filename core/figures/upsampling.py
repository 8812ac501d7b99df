"""Figures of the upsampling section: nearest, bed of nails, bilinear, max unpooling, the transposed
convolution (its frames, the matrix view, the gallery animations) and the comparison of them all.

Pure functions: numbers and already-translated labels in, ``go.Figure`` out. They build on
:func:`core.figures.common.grid_heatmap` (a small grid with its numbers in the cells), so every grid
looks the same across the app.
"""
from __future__ import annotations

import copy
import functools
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import make_colorscale, sequential
from plotly.subplots import make_subplots

from core.figures.common import (
    DIVERGING_SCALE,
    GRID_SCALE,
    HIGHLIGHT,
    LINE_EM,
    PENDING_LAYER,
    figure_of,
    fit_font,
    format_number,
    grid_spec,
    scale_for_projector,
    scale_spec,
    set_title,
    spec_of,
    title_layout,
    wrap_text,
)
from core.figures.training import log_ticks

# One colour per bilinear tap (top-left, top-right, bottom-left, bottom-right), kept the same in every
# figure of the page so the eye links a neighbour, its weight and its rectangle. Saturated for projectors.
TAP_COLORS = ("#dc2626", "#16a34a", "#7c3aed", "#b45309")
SOURCE = "#16a34a"  # the input cell(s) an output cell comes from
BLOCK = "#64748b"  # outlines of pooling windows / upsampled blocks
INK = "#0f172a"
# Error maps: black (no error) to yellow. Inferno starts at "#000004", one of the placeholder colours
# ("#000001" to "#000010") that Streamlit's chart theme replaces by its own palette, so start at pure black.
ERROR_SCALE = [[0.0, "#000000"]] + make_colorscale(sequential.Inferno)[1:]
# How much larger presentation mode draws the fonts (scale_for_projector's factor), and the most it grows a
# figure's height: text placed by hand is wrapped and given room at the projector's size, so it fits both.
PROJECTOR = scale_for_projector.__defaults__[0]
HEIGHT_GROWTH = 1.3


def _rect(r0: float, c0: float, r1: float, c1: float, color: str, width: float = 4, dash: str | None = None) -> dict:
    """The outline of cells r0..r1 × c0..c1 (inclusive) of a grid drawn by ``grid_heatmap``, as a layout shape."""
    line = {"color": color, "width": width} | ({"dash": dash} if dash else {})
    return {"type": "rect", "x0": c0 - 0.5, "x1": c1 + 0.5, "y0": r0 - 0.5, "y1": r1 + 0.5, "line": line}


def grid(values, title: str = "", highlight=(), sources=(), blocks: int | tuple[int, int] | None = None,
         digits: int = 2, zrange=None, cell_px: int = 56, taps: Sequence[tuple[int, int]] = (),
         point: tuple[float, float] | None = None, window: tuple[int, int, int, int] | None = None,
         marks: Sequence[tuple[int, int]] = (), max_width_px: float | None = None) -> go.Figure:
    """A number grid with what the current step touches.

    ``highlight``: output cells (orange); ``sources``: input cells they come from (green, dashed);
    ``blocks``: draw the ``b × b`` blocks (pooling windows, upsampled blocks) as grey lines;
    ``taps``: four cells outlined in the tap colours; ``point``: a fractional (row, col) sample
    position drawn as a black dot; ``window``: ``(r0, c0, r1, c1)`` outlined in orange (a pooling
    window); ``marks``: cells outlined in dark ink (remembered maxima); ``max_width_px``: the narrowest
    its column gets: the grid is then laid out for it by :func:`fitted_grid` (cells, title, numbers and row and
    column numbers that fit it, on a laptop and on a projector).

    :func:`grid_base` and :func:`marked` are its two halves, for a step-through that marks other cells of the
    same grid at every step.
    """
    base = grid_base(values, title, blocks=blocks, digits=digits, zrange=zrange, cell_px=cell_px,
                     max_width_px=max_width_px)
    return figure_of(marked(base, highlight=highlight, sources=sources, taps=taps, point=point, window=window,
                            marks=marks))


def grid_base(values, title: str = "", blocks: int | tuple[int, int] | None = None, digits: int = 2, zrange=None,
              cell_px: int = 56, max_width_px: float | None = None) -> dict:
    """What every step of a step-through shares of a :func:`grid`: its numbers laid out for the column and the
    grey outlines of its blocks, as plain data (a copy of its own)."""
    a = np.asarray(values, dtype=float)
    if max_width_px:  # laid out for its column: cells, title, numbers and row/column numbers that fit it
        spec = fitted_spec(a, title, max_width_px, digits=digits, zrange=zrange, cell_px=cell_px)
    else:
        spec = grid_spec(a, title=title, digits=digits, zrange=zrange, cell_px=cell_px)
    if blocks:
        bh, bw = blocks if isinstance(blocks, tuple) else (blocks, blocks)
        shapes = spec["layout"].setdefault("shapes", [])
        for r in range(0, a.shape[0], bh):
            for c in range(0, a.shape[1], bw):
                shapes.append(_rect(r, c, min(r + bh, a.shape[0]) - 1, min(c + bw, a.shape[1]) - 1, BLOCK, width=2))
    return spec


def marked(spec: dict, highlight=(), sources=(), taps: Sequence[tuple[int, int]] = (),
           point: tuple[float, float] | None = None, window: tuple[int, int, int, int] | None = None,
           marks: Sequence[tuple[int, int]] = (), hidden=None,
           frame: tuple[int, int, int, int] | None = None) -> dict:
    """A grid (:func:`grid_base`'s plain data, as it is or already drawn for the page: larger, localised) with
    what one step touches (the options of :func:`grid`) and, where ``hidden``, its cells not computed yet
    (:func:`conceal`); ``frame``: ``(top, left, height, width)`` outlined dashed (the part of a canvas that is
    the output, as :func:`outline` draws it).

    A new figure that shares with ``spec`` everything it does not change (``spec`` is left as it is): a
    step-through lays a grid out once and marks it at every step, and its frames see at once what stayed.
    """
    shapes = [_rect(r, c, r, c, INK, width=4) for r, c in marks]
    shapes += [_rect(r, c, r, c, SOURCE, width=5, dash="dot") for r, c in sources]
    if window is not None:
        shapes.append(_rect(*window, HIGHLIGHT, width=5))
    shapes += [_rect(r, c, r, c, color, width=5) for (r, c), color in zip(taps, TAP_COLORS)]
    shapes += [_rect(r, c, r, c, HIGHLIGHT, width=5) for r, c in highlight]
    if frame is not None:
        top, left, height, width = frame
        shapes.append(_rect(top, left, top + height - 1, left + width - 1, FRAME, width=3, dash="dash"))
    layout = spec["layout"]
    if shapes:
        layout = {**layout, "shapes": [*(layout.get("shapes") or ()), *shapes]}
    data = list(spec["data"])
    hidden = None if hidden is None else np.asarray(hidden, dtype=bool)
    if hidden is not None and hidden.any():
        heat = data[0]
        data[0] = _blanked(heat, hidden)
        data.insert(1, _unknown(heat.get("x"), heat.get("y"), hidden, (heat.get("textfont") or {}).get("size")))
    if point is not None:
        data.append({"type": "scatter", "x": [point[1]], "y": [point[0]], "mode": "markers",
                     "marker": {"size": 16, "color": INK, "line": {"color": "white", "width": 2}},
                     "hoverinfo": "skip", "showlegend": False})
    return {**spec, "data": data, "layout": layout}


def _drawn_cell(spec: dict) -> float:
    """The side in px of a cell of a ``grid_heatmap`` figure (as plain data) as plotly draws it in its column."""
    layout = spec["layout"]
    m, meta = layout["margin"], layout["meta"]
    return min((meta["max_width_px"] - m["l"] - m["r"]) / meta["cols"], (layout["height"] - m["t"] - m["b"]) / meta["rows"])


def _tick_step(cell: float, longest: int, font: float) -> int:
    """Every how many cells a row or column number fits beside the next one (1, 2, 5, 10, ...)."""
    need = max(longest * 0.6 * font + 4, font * LINE_EM + 2)  # across: the number's width; down: its height
    for step in (1, 2, 5, 10, 20, 50):
        if step * cell >= need:
            return step
    return 100


def fitted_grid(values, title: str = "", width_px: float = 400, **kwargs) -> go.Figure:
    """:func:`~core.figures.common.grid_heatmap` for a column ``width_px`` wide, however many cells it holds.

    Its numbers are written in the cells only where a cell holds them at a legible size, and the row and
    column numbers come every few cells where one cell is narrower than its number; both on a laptop and
    at the projector's size (:func:`~core.figures.common.scale_for_projector`). ``layout.meta["numbers"]``
    says whether the numbers are shown (the page then says where to read them otherwise).
    """
    return figure_of(fitted_spec(values, title, width_px, **kwargs))


def fitted_spec(values, title: str = "", width_px: float = 400, **kwargs) -> dict:
    """:func:`fitted_grid` as plain data (a copy of its own the caller may change). Laying a grid out twice, at the
    laptop's and the projector's size, costs a few milliseconds, and a page redraws the same grids at every
    rerun: the layout is kept for the last few hundred grids (by their numbers, title, width and options)."""
    a = np.asarray(values, dtype=float)
    try:
        key = (a.tobytes(), a.shape, title, float(width_px), tuple(sorted(kwargs.items())))
        hash(key)
    except TypeError:  # an option that is not hashable (a list for zrange): laid out afresh
        return _fitted_spec(a, title, width_px, **kwargs)
    return copy.deepcopy(_kept_fitted_spec(key))


@functools.lru_cache(maxsize=512)
def _kept_fitted_spec(key) -> dict:
    raw, shape, title, width_px, options = key
    return _fitted_spec(np.frombuffer(raw, dtype=float).reshape(shape), title, width_px, **dict(options))


def _fitted_spec(a: np.ndarray, title: str, width_px: float, **kwargs) -> dict:
    spec = grid_spec(a, title, max_width_px=width_px, **kwargs)
    drawn = (spec, scale_spec(spec_of(spec)))
    labels = spec["layout"]["meta"]["labels"]
    # a colour range (one scale for every step of a step-through) bounds the numbers any step shows
    bounds = [format_number(v) for v in kwargs.get("zrange") or ()]
    longest = max((len(t) for t in [*labels, *bounds]), default=0)
    numbers = bool(labels) and all(f["data"][0]["textfont"]["size"] * longest * 0.6 <= 0.88 * _drawn_cell(f) + 0.5
                                   and f["data"][0]["textfont"]["size"] * LINE_EM <= _drawn_cell(f) + 1 for f in drawn)
    if labels and not numbers:
        spec = grid_spec(a, title, max_width_px=width_px, show_numbers=False, **kwargs)
    h, w = a.shape
    for axis, n in (("x", w), ("y", h)):
        step = max(_tick_step(_drawn_cell(f), len(str(n - 1)), f["layout"][f"{axis}axis"]["tickfont"]["size"])
                   for f in drawn)
        spec["layout"][f"{axis}axis"].update(tickvals=list(range(0, n, step)), ticktext=[str(i) for i in range(0, n, step)])
    spec["layout"]["meta"] = {**spec["layout"]["meta"], "numbers": numbers or not labels}
    return spec


def clickable(fig: go.Figure, h: int, w: int) -> go.Figure:
    """Add an almost invisible marker at every cell centre so a click selects ``(row, col)``.

    Streamlit reports clicks on plotly points; heatmap cells are not points, so these markers carry
    ``customdata = [row, col]``.
    """
    rows, cols = np.mgrid[0:h, 0:w]
    fig.add_trace(go.Scatter(
        x=cols.ravel(), y=rows.ravel(), mode="markers",
        marker={"size": 34, "color": "rgba(0,0,0,0.01)", "symbol": "square"},
        customdata=np.stack([rows.ravel(), cols.ravel()], axis=1), hoverinfo="none", showlegend=False,
    ))
    fig.update_layout(clickmode="event+select", dragmode=False)
    return fig


def unit_square(frac: tuple[float, float], weights: Sequence[float], values: Sequence[float],
                corner_labels: Sequence[str], title: str = "") -> go.Figure:
    r"""Bilinear weights as areas: the unit square between four input pixels, split at the sample point.

    The point sits at ``(frac_row, frac_col)`` from the top-left pixel. Each neighbour's weight is the
    area of the rectangle *opposite* to it, drawn in that neighbour's colour — the nearer the point
    is to a pixel, the larger that pixel's rectangle.
    """
    return figure_of(unit_square_spec(frac, weights, values, corner_labels, title))


def unit_square_spec(frac: tuple[float, float], weights: Sequence[float], values: Sequence[float],
                     corner_labels: Sequence[str], title: str = "") -> dict:
    """:func:`unit_square` as plain data (a step-through draws one per output pixel)."""
    fy, fx = (float(v) for v in frac)
    height, top, bottom = 380, (50 if title else 10), 10
    # px per unit of the square: the height decides (the figure is wider than tall); presentation mode grows
    # fonts 1.45× but the height only 1.3×, hence the slack of 1.12
    unit_px = (height - top - bottom) / 1.85 / 1.12
    # rectangle opposite to each corner: (x0, x1, y0, y1) with y pointing down
    rects = [(fx, 1, fy, 1), (0, fx, fy, 1), (fx, 1, 0, fy), (0, fx, 0, fy)]
    shapes, annotations, data = [], [], []
    below = []  # weights whose rectangle is too small for their number: written in a row under the square
    for (x0, x1, y0, y1), color, wgt in zip(rects, TAP_COLORS, weights):
        shapes.append({"type": "rect", "x0": x0, "x1": x1, "y0": y0, "y1": y1, "fillcolor": color, "opacity": 0.28,
                       "line": {"color": color, "width": 2}})
        label = format_number(wgt, 4)
        size = fit_font([label], 0.85 * (x1 - x0) * unit_px, 17, smallest=0)
        if size >= 11 and size * LINE_EM <= (y1 - y0) * unit_px:
            annotations.append({"x": (x0 + x1) / 2, "y": (y0 + y1) / 2, "text": f"<b>{label}</b>", "showarrow": False,
                                "font": {"size": size, "color": color}})
        elif (x1 - x0) * (y1 - y0) > 1e-9:
            below.append((label, color))
    for n, (label, color) in enumerate(below):  # one slot per weight, a third of the square wide
        annotations.append({"x": (n + 0.5) / max(3, len(below)) * 1.5 - 0.25, "y": 1.45, "text": f"<b>{label}</b>",
                            "showarrow": False, "font": {"size": 15, "color": color}})
    corners = [(0, 0), (1, 0), (0, 1), (1, 1)]  # (x, y) of top-left, top-right, bottom-left, bottom-right
    for (x, y), color, label, v in zip(corners, TAP_COLORS, corner_labels, values):
        data.append({"type": "scatter", "x": [x], "y": [y], "mode": "markers", "hoverinfo": "skip", "showlegend": False,
                     "marker": {"size": 22, "color": color, "line": {"color": "white", "width": 2}}})
        annotations.append({"x": x, "y": y, "text": f"{label} = <b>{format_number(v)}</b>", "showarrow": False,
                            "yshift": 26 if y == 0 else -26, "font": {"size": 15, "color": color}})
    data.append({"type": "scatter", "x": [fx], "y": [fy], "mode": "markers", "hoverinfo": "skip", "showlegend": False,
                 "marker": {"size": 16, "color": INK, "line": {"color": "white", "width": 2}}})
    layout = {"xaxis": {"range": [-0.25, 1.25], "visible": False},
              "yaxis": {"range": [1.55, -0.3], "visible": False, "scaleanchor": "x"},
              "height": height, "margin": {"l": 10, "r": 10, "t": top, "b": bottom}, "plot_bgcolor": "white",
              "shapes": shapes, "annotations": annotations}
    title_layout(layout, title, 1.5 * unit_px * 1.12)
    return {"data": data, "layout": layout}


def linear_strip(values: Sequence[float], u: Sequence[float], current: int, labels: dict[str, str]) -> go.Figure:
    """1-D linear interpolation along one row: input samples, the line between them, and every output sample.

    ``u`` is the source coordinate of each output index; the current one is drawn in orange with
    dotted lines down to the axis. ``labels`` holds ``input``, ``output``, ``axis`` and ``title``.
    """
    v = np.asarray(values, dtype=float)
    u = np.asarray(u, dtype=float)
    n = len(v)
    # the interpolated curve is flat beyond the first and last sample (the border is clamped)
    xs = np.concatenate([[min(-0.5, u.min())], np.arange(n), [max(n - 0.5, u.max())]])
    ys = np.concatenate([[v[0]], v, [v[-1]]])
    out = np.interp(u, np.arange(n), v)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": "#93c5fd", "width": 3},
                             hoverinfo="skip", showlegend=False))
    fig.add_trace(go.Scatter(x=np.arange(n), y=v, mode="markers+text", name=labels["input"],
                             text=[format_number(t) for t in v], textposition="top center",
                             textfont={"size": 15},
                             marker={"size": 18, "color": "#1d4ed8", "symbol": "square"}))
    fig.add_trace(go.Scatter(x=u, y=out, mode="markers", name=labels["output"],
                             marker={"size": 11, "color": "white", "line": {"color": INK, "width": 2}}))
    fig.add_trace(go.Scatter(x=[u[current]], y=[out[current]], mode="markers+text", showlegend=False,
                             text=[format_number(out[current])], textposition="bottom center",
                             textfont={"size": 16, "color": HIGHLIGHT},
                             marker={"size": 16, "color": HIGHLIGHT}))
    lo = float(min(v.min(), 0))
    fig.add_shape(type="line", x0=u[current], x1=u[current], y0=lo, y1=out[current],
                  line={"color": HIGHLIGHT, "dash": "dot", "width": 2})
    span = float(v.max() - lo) or 1.0
    fig.update_yaxes(range=[lo - 0.08 * span, v.max() + 0.25 * span], zeroline=True, title=None)
    fig.update_xaxes(title=labels["axis"], tickmode="array", tickvals=list(range(n)), range=[xs[0] - 0.3, xs[-1] + 0.3])
    # the legend sits in the figure's bottom strip, under the axis title, clear of the title and the samples
    fig.update_layout(height=330, margin={"l": 40, "r": 10, "t": 50, "b": 80}, plot_bgcolor="#f8fafc",
                      legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 1,
                              "xanchor": "right"})
    set_title(fig, labels["title"], 520)
    return fig


def _bezier(p0, p1, p2, p3, n: int = 40) -> np.ndarray:
    """Points of a cubic Bézier curve from ``p0`` to ``p3`` (``(n, 2)``)."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    pts = [np.asarray(p, dtype=float) for p in (p0, p1, p2, p3)]
    return ((1 - t) ** 3) * pts[0] + 3 * ((1 - t) ** 2) * t * pts[1] + 3 * (1 - t) * t ** 2 * pts[2] + t ** 3 * pts[3]


UNKNOWN = "#e2e8f0"  # a cell a step-through has not computed yet
UNKNOWN_INK = "#475569"


def pending(shape: tuple[int, int], done: Sequence[tuple[int, int]] | int | None) -> np.ndarray:
    """``(H, W)`` booleans, True where a cell is not computed yet.

    ``done`` lists the computed cells ``(row, col)``, or is a count: the first ``done`` cells in reading order
    (left to right, then top to bottom). ``None``: everything is computed.
    """
    if done is None:
        return np.zeros(shape, dtype=bool)
    if isinstance(done, (int, np.integer)):
        return np.arange(shape[0] * shape[1]).reshape(shape) >= done
    hidden = np.ones(shape, dtype=bool)
    for r, c in done:
        hidden[r, c] = False
    return hidden


def _unknown(x, y, hidden: np.ndarray, font_size: float | None) -> dict:
    """Grey cells with a "?" where ``hidden``, transparent elsewhere: drawn over a grid's own heatmap (plain data)."""
    return {"type": "heatmap", "name": PENDING_LAYER, "z": [[0.0 if h else None for h in row] for row in hidden.tolist()],
            "x": x, "y": y, "zmin": 0.0, "zmax": 1.0, "colorscale": [[0.0, UNKNOWN], [1.0, UNKNOWN]],
            "showscale": False, "xgap": 2, "ygap": 2, "text": [["?" if h else "" for h in row] for row in hidden.tolist()],
            "texttemplate": "%{text}", "textfont": {"size": font_size or 16, "color": UNKNOWN_INK}, "hoverinfo": "skip"}


def _blanked(heat: dict, hidden: np.ndarray) -> dict:
    """A heatmap trace (plain data) without the numbers of its ``hidden`` cells (their colour, text and hover);
    its rows with nothing hidden are the trace's own."""
    z = heat["z"].tolist() if isinstance(heat["z"], np.ndarray) else heat["z"]
    rows = hidden.any(axis=1).tolist()
    cells = hidden.tolist()
    out = {**heat, "z": [[None if h else v for v, h in zip(row, cells[r])] if rows[r] else row
                         for r, row in enumerate(z)]}
    if heat.get("text") is not None:
        out["text"] = [["" if h else t for t, h in zip(row, cells[r])] if rows[r] else row
                       for r, row in enumerate(heat["text"])]
    return out


def _unknown_layer(x, y, hidden: np.ndarray, font_size: float | None) -> go.Heatmap:
    """:func:`_unknown` as a trace of a figure."""
    return go.Heatmap(_unknown(x, y, np.asarray(hidden, dtype=bool), font_size))


def _blank(heat: go.Heatmap, hidden: np.ndarray) -> None:
    """Take the numbers of the ``hidden`` cells out of a heatmap trace of a figure (its colour, text and hover)."""
    blanked = _blanked({"z": np.asarray(heat.z, dtype=float), "text": heat.text}, np.asarray(hidden, dtype=bool))
    heat.z = blanked["z"]
    if heat.text is not None:
        heat.text = blanked["text"]


def conceal(fig: go.Figure, hidden) -> go.Figure:
    """A grid figure (from :func:`grid`) with the ``hidden`` cells blanked: grey, a "?" and no number.

    A step-through shows only what it has computed so far, so the class can guess the next cell before it
    appears. The colour scale is left as it was, so a revealed cell keeps the colour it will have at the end.
    """
    hidden = np.asarray(hidden, dtype=bool)
    if not hidden.any():
        return fig
    return figure_of(marked(spec_of(fig), hidden=hidden))


def routing(small, big, routes: Sequence[tuple[tuple[int, int], tuple[int, int]]], current: int | None,
            titles: tuple[str, str], block: int | None = None, shown: int | None = None,
            hidden=None) -> go.Figure:
    """Max unpooling as arrows: each cell of the small map flies to its remembered cell of the big one.

    ``routes`` is ``[(src (row, col), dest (row, col)), ...]``; the ``current`` route is orange, the
    others grey. Both grids share one pair of axes: the small one on the left, the big one on the right.
    Arrows leave the small grid through its outer edge (right column: to the right; others: over the
    top or under the bottom), so no arrow crosses another cell of the small map; in the big grid they run
    along the lines between rows (top half: the line above the cell, bottom half: the line below) and turn
    into the destination at the last moment, so no arrow covers a number. ``block`` outlines the
    pooling windows of the big grid. For a step-through: ``shown`` draws only the first ``shown`` routes
    (all when None), and ``hidden`` (booleans shaped like ``big``) blanks the cells not computed yet.
    """
    s = np.asarray(small, dtype=float)
    b = np.asarray(big, dtype=float)
    hs, ws = s.shape
    hb, wb = b.shape
    gap = 2.4
    off_r = (hb - hs) / 2  # centre the small grid vertically
    off_c = ws + gap  # the big grid starts after the small one and a gap
    lo = float(min(s.min(), b.min(), 0))
    hi = float(max(s.max(), b.max()))
    hi = hi if hi > lo else lo + 1
    scale = [[0.0, "#eff6ff"], [0.5, "#93c5fd"], [1.0, "#1d4ed8"]]
    fig = go.Figure()
    for a, r0, c0 in ((s, off_r, 0.0), (b, 0.0, off_c)):
        h, w = a.shape
        fig.add_trace(go.Heatmap(
            z=a, x=c0 + np.arange(w), y=r0 + np.arange(h), zmin=lo, zmax=hi, colorscale=scale,
            showscale=False, xgap=2, ygap=2, text=[[format_number(v) for v in row] for row in a],
            texttemplate="%{text}", textfont={"size": 18}, hoverinfo="skip"))
    hidden = np.zeros(b.shape, dtype=bool) if hidden is None else np.asarray(hidden, dtype=bool)
    if hidden.any():  # the big map's cells not computed yet: grey, "?", no number
        _blank(fig.data[1], hidden)
        fig.add_trace(_unknown_layer(fig.data[1].x, fig.data[1].y, hidden, 18))
    if block:
        for r in range(0, hb, block):
            for c in range(0, wb, block):
                fig.add_shape(type="rect", x0=off_c + c - 0.5, x1=off_c + min(c + block, wb) - 0.5,
                              y0=r - 0.5, y1=min(r + block, hb) - 0.5, line={"color": BLOCK, "width": 2})
    drawn = range(len(routes) if shown is None else min(max(shown, 0), len(routes)))
    order = [k for k in drawn if k != current] + ([current] if current in drawn else [])
    for k in order:  # the current route last, so it is drawn on top
        (sr, sc), (dr, dc) = routes[k]
        on = k == current
        color = HIGHLIGHT if on else "rgba(100,116,139,0.6)"
        sy, sx = off_r + sr, float(sc)
        yb = dr - 0.5 if dr < hb / 2 else dr + 0.5  # the line between rows the arrow runs along
        into = 1.0 if yb < dr else -1.0  # down into the cell from the line above, or up from the line below
        entry = (off_c - 0.5, yb)  # where the arrow meets the big grid's left edge
        corner = (off_c + dc, yb)  # above (or below) the destination, where it turns into the cell
        tip = (off_c + dc, dr - into * 0.27)  # stops short of the cell's number
        if sc == ws - 1:  # rightmost column: leave through the right edge
            p0 = (sx + 0.45, sy)
            p1 = (sx + 1.4, sy)
        elif sr == 0:  # top row: leave over the top
            p0 = (sx, sy - 0.45)
            p1 = (sx, sy - 1.5)
        else:  # other rows: leave under the bottom
            p0 = (sx, sy + 0.45)
            p1 = (sx, sy + 1.5)
        path = np.vstack([_bezier(p0, p1, (entry[0] - 1.3, yb), entry), [corner]])
        fig.add_trace(go.Scatter(x=path[:, 0], y=path[:, 1], mode="lines", hoverinfo="skip",
                                 line={"color": color, "width": 4 if on else 2}, showlegend=False))
        fig.add_annotation(x=tip[0], y=tip[1], ax=corner[0], ay=corner[1], xref="x", yref="y",
                           axref="x", ayref="y", showarrow=True, arrowhead=3, arrowsize=1.1,
                           arrowwidth=4 if on else 2, arrowcolor=color, text="")
        if on:
            for r, c in ((sy, sx), (dr, off_c + dc)):
                fig.add_shape(type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5,
                              line={"color": HIGHLIGHT, "width": 5})
    top = min(-0.5, off_r - 2.1)
    bottom = max(hb - 0.5, off_r + hs + 1.1)
    for text, x, y in ((titles[0], (ws - 1) / 2, top + 0.15), (titles[1], off_c + (wb - 1) / 2, -0.95)):
        fig.add_annotation(x=x, y=y, text=f"<b>{text}</b>", showarrow=False, font={"size": 15})
    fig.update_xaxes(visible=False, range=[-0.7, off_c + wb - 0.3], constrain="domain")
    fig.update_yaxes(visible=False, range=[bottom + 0.1, top - 0.2], scaleanchor="x", constrain="domain")
    fig.update_layout(height=max(300, 70 * (bottom - top) + 40), margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      plot_bgcolor="white", showlegend=False)
    return fig


def image_panels(images: Sequence[np.ndarray], titles: Sequence[str], cols: int = 3,
                 panel_px: int = 240, error_max: float = 1.0, width_px: float = 900) -> go.Figure:
    """Images side by side, one per subplot, same display size whatever their resolution.

    ``images`` are ``(H, W, 3)`` floats in [0, 1] (colour) or ``(H, W)`` (drawn with a heat scale,
    for error maps, 0 to ``error_max``). A low-resolution image is stretched to the panel so its pixels
    show as blocks. ``width_px`` is the width of the figure's column: each title is wrapped to its panel's
    width (at the projector's font, so it fits there too; ``<br>`` starts a line of its own), and each row of
    panels is as tall as its images drawn that wide (at most ``panel_px``), with room for its titles above.
    """
    rows = (len(images) + cols - 1) // cols
    font = 15
    panel_w = (width_px - 10) / cols * 0.96  # 2 % of the width between panels
    wrapped = ["<br>".join(wrap_text(part, panel_w, font * PROJECTOR) for part in t.split("<br>")) for t in titles]
    lines = [max((t.count("<br>") + 1 for t in wrapped[r * cols:(r + 1) * cols]), default=1) for r in range(rows)]
    aspect = max(np.asarray(a).shape[0] / np.asarray(a).shape[1] for a in images)  # the tallest image: H / W
    panel_h = min(panel_px, panel_w * aspect)
    # the gap above a row holds its titles at the projector's font, in a height that grows less than that font
    gaps = [n * font * LINE_EM * PROJECTOR / HEIGHT_GROWTH + 8 for n in lines]
    plot_h = rows * panel_h + sum(gaps[1:])
    # the subplots laid out as make_subplots(rows, cols, horizontal_spacing=0.02, vertical_spacing=…) lays them
    # out, as plain data: the page redraws these panels at every move, and plotly's checks cost most of it
    h_gap, v_gap = 0.02, (max(gaps[1:], default=0) / plot_h if rows > 1 else 0.0)
    cell_w, cell_h = (1 - h_gap * (cols - 1)) / cols, (1 - v_gap * (rows - 1)) / rows
    data, layout = [], {"annotations": []}
    for k in range(rows * cols):
        r, c = divmod(k, cols)
        n = "" if k == 0 else str(k + 1)
        x0, y0 = c * (cell_w + h_gap), (rows - 1 - r) * (cell_h + v_gap)  # rows counted up from the bottom
        y1 = y0 + cell_h
        layout[f"xaxis{n}"] = {"anchor": f"y{n}", "domain": [x0, min(x0 + cell_w, 1.0)]}
        layout[f"yaxis{n}"] = {"anchor": f"x{n}", "domain": [y0, min(y1, 1.0)]}
        if k < len(wrapped) and wrapped[k]:  # as make_subplots, no annotation for an empty title
            layout["annotations"].append({"font": {"size": font, "color": INK}, "showarrow": False, "text": wrapped[k],
                                          "x": x0 + cell_w / 2, "xanchor": "center", "xref": "paper", "y": y1,
                                          "yanchor": "bottom", "yref": "paper"})
        if k >= len(images):
            continue
        a = np.asarray(images[k], dtype=float)
        h, w = a.shape[:2]
        if a.ndim == 3:
            data.append({"type": "image", "z": np.clip(a * 255.0, 0, 255).astype(np.uint8), "dx": 1.0, "dy": 1.0,
                         "hoverinfo": "skip", "xaxis": f"x{n}", "yaxis": f"y{n}"})
        else:
            data.append({"type": "heatmap", "z": a, "colorscale": ERROR_SCALE, "zmin": 0.0, "zmax": error_max,
                         "showscale": False, "hoverinfo": "skip", "xaxis": f"x{n}", "yaxis": f"y{n}"})
        layout[f"xaxis{n}"].update(visible=False, range=[-0.5, w - 0.5])
        layout[f"yaxis{n}"].update(visible=False, range=[h - 0.5, -0.5], scaleanchor=f"x{n}")
    layout.update(margin={"l": 5, "r": 5, "b": 5}, plot_bgcolor="white", meta={"top_extra": lines[0] * font * LINE_EM + 6})
    title_layout(layout, "", width_px)
    layout["height"] = round(plot_h + layout["margin"]["t"] + 5)
    return figure_of({"data": data, "layout": layout})


def metric_bars(names: Sequence[str], values: Sequence[float], title: str, best: str | None = None,
                width_px: float = 400) -> go.Figure:
    """One bar per method (e.g. PSNR in dB); the best one in the accent colour, numbers on the bars.

    Horizontal bars, the methods' names beside them wrapped to 40 % of ``width_px`` (the width of its column),
    so long names never run into each other; the title is wrapped to the width right of them."""
    vals = [v if np.isfinite(v) else 0.0 for v in values]
    colors = [HIGHLIGHT if n == best else "#1d4ed8" for n in names]
    labels = [wrap_text(n, 0.4 * width_px, 13) for n in names]
    lines = max((t.count("<br>") + 1 for t in labels), default=1)
    fig = go.Figure(go.Bar(y=list(range(len(vals))), x=vals, orientation="h", marker_color=colors,
                           text=[format_number(v, 1) for v in vals], textposition="outside", textfont={"size": 15},
                           cliponaxis=False))
    fig.update_xaxes(range=[0, max(vals + [1.0]) * 1.4])  # room after the longest bar for its number
    fig.update_yaxes(autorange="reversed", tickmode="array", tickvals=list(range(len(vals))), ticktext=labels,
                     tickfont={"size": 13})
    fig.update_layout(margin={"l": 10, "r": 10, "b": 30}, plot_bgcolor="#f8fafc", showlegend=False,
                      meta={"top_extra": 6})
    set_title(fig, title, 0.6 * width_px - 30)  # it starts where the bars do, right of the names
    # a row holds the longest name's lines; in presentation mode the bars' numbers grow, the names do not
    row = max(lines * 13 * LINE_EM + 10, 15 * PROJECTOR * LINE_EM / HEIGHT_GROWTH + 10)
    fig.update_layout(height=round(row * len(vals) + fig.layout.margin.t + 30))
    return fig


def memory_bars(blocks: Sequence[str], series: dict[str, Sequence[float]], title: str, unit: str) -> go.Figure:
    """Grouped bars per encoder block: what each way of remembering costs (e.g. in MiB), log scale.

    Each bar's number stands upright above it: fifteen bars share the width, so numbers written across would
    run into their neighbours' ("10.555.27") on a projector."""
    palette = ("#1d4ed8", "#ea580c", "#16a34a")
    fig = go.Figure()
    for (name, vals), color in zip(series.items(), palette):
        fig.add_trace(go.Bar(name=name, x=list(blocks), y=list(vals), marker_color=color,
                             text=[format_number(v, 2) for v in vals], textposition="outside", textangle=-90,
                             cliponaxis=False))
    # ticks at 1, 2, 5 × 10ⁿ (or the powers of ten), and room above the tallest bar for its upright number
    ticks, (low, high) = log_ticks([v for vals in series.values() for v in vals])
    fig.update_yaxes(type="log", title=unit, tickmode="array", tickvals=ticks, tickformat="~g",
                     range=[low, high + 0.3 * (high - low)])
    fig.update_layout(barmode="group", height=360, title={"text": title}, plot_bgcolor="#f8fafc",
                      margin={"l": 50, "r": 10, "t": 60, "b": 40},
                      legend={"orientation": "h", "y": -0.15})
    return fig


def _tex_number(v: float) -> str:
    text = format_number(v, 4)
    return f"({text})" if text.startswith("-") else text


def weighted_sum_latex(weights: Sequence[float], values: Sequence[float], result: float) -> str:
    r"""``w₁·x₁ + … = y`` in LaTeX, each term in its tap's colour (the colours of :data:`TAP_COLORS`)."""
    terms = [rf"\color{{{c}}}{{{format_number(w, 4)} \cdot {_tex_number(v)}}}"
             for w, v, c in zip(weights, values, TAP_COLORS)]
    return " + ".join(terms) + rf" = \mathbf{{{format_number(result, 4)}}}"


def weights_latex(frac: tuple[float, float], weights: Sequence[float], names: Sequence[str]) -> str:
    r"""The four weights as products of 1-D weights, e.g. ``w_{TL} = (1 - 0.25)(1 - 0.75) = 0.1875``."""
    fr, fc = (format_number(f, 4) for f in frac)
    factors = [f"(1 - {fr})(1 - {fc})", f"(1 - {fr})\\cdot {fc}", f"{fr}\\cdot(1 - {fc})", f"{fr}\\cdot {fc}"]
    lines = [rf"\color{{{c}}}{{w_{{\text{{{n}}}}} = {f} = {format_number(w, 4)}}}"
             for n, f, w, c in zip(names, factors, weights, TAP_COLORS)]
    return r"\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}"


# --- the transposed convolution ---------------------------------------------------------------

FRAME = "#0f172a"  # the kept output inside the canvas
ORIGINAL = "#1d4ed8"  # input values inside the zero-inserted grid


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


def matrix_row(spec: dict, row: int) -> dict:
    """A :func:`matrix_figure` drawn with a row outlined (as plain data) with row ``row`` outlined instead: a new
    figure sharing everything else with ``spec``, for a step-through that moves along the rows."""
    shapes = [{**shape, "y0": row - 0.5, "y1": row + 0.5} for shape in spec["layout"].get("shapes") or ()]
    return {**spec, "layout": {**spec["layout"], "shapes": shapes}}


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


def signed(v: float) -> str:
    """A number inside a sum: negative ones in parentheses."""
    return f"({format_number(v)})" if v < 0 else format_number(v)


def scatter_zrange(lo: float, hi: float) -> tuple[float, float]:
    """One colour scale for every step of a scatter: symmetric around 0 when the sums have both signs."""
    if lo < 0 < hi:
        return -max(-lo, hi), max(-lo, hi)
    return min(lo, 0.0), max(hi, min(lo, 0.0) + 1)
