"""Figures of the architectures pages, drawn from live modules: diagrams, shape curves, feature maps.

Pure functions: measured data in (:mod:`core.models.inspect`), ``go.Figure`` or arrays out. Every word
shown comes in as an argument (the pages take it from the lessons).
"""
from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.figures.common import LINE_EM, figure_of, fit_font, spec_of, wrap_text
from core.models.diagrams import Edge
from core.models.inspect import LayerRow, StageBox

__all__ = [
    "KIND_COLORS",
    "EDGE_STYLES",
    "architecture_diagram",
    "shape_curves",
    "feature_mosaic",
    "map_row",
    "label_image",
]

KIND_COLORS = {  # box fill per node kind; text stays dark on all of them
    "input": "#e5e7eb",
    "conv": "#bfdbfe",
    "pool": "#93c5fd",
    "up": "#fdba74",
    "score": "#ddd6fe",
    "fuse": "#bbf7d0",
    "head": "#99f6e4",
    "output": "#fca5a5",
}
EDGE_STYLES = {  # kind → (colour, dash, width)
    "flow": ("#475569", "solid", 2),
    "skip": ("#7c3aed", "dash", 3),
    "concat": ("#16a34a", "dash", 3),
    "indices": ("#dc2626", "dot", 3),
    "fusion": ("#0d9488", "solid", 1),
    "lateral": ("#2563eb", "solid", 3),
    "topdown": ("#ea580c", "solid", 3),
}


def _shape_text(shape: Sequence[int]) -> str:
    return "×".join(str(int(s)) for s in shape)


def _exit_point(cx: float, cy: float, hw: float, hh: float, dx: float, dy: float) -> tuple[float, float]:
    """Where a ray from the centre of a ``2hw × 2hh`` box in direction ``(dx, dy)`` leaves the box."""
    tx = hw / abs(dx) if dx else math.inf
    ty = hh / abs(dy) if dy else math.inf
    t = min(tx, ty)
    return cx + t * dx, cy + t * dy


def _label_lines(key: str, shape: Sequence[int]) -> tuple[list[str], list[str]]:
    """A box's label on two lines (name, ``C×H×W``), on three (name, ``C×``, ``H×W``) for narrow boxes, and with
    a long name broken after its last underscore (``last_`` above ``layer``), so no word sets a tiny font."""
    text = _shape_text(shape)
    names = [[key]]
    if "_" in key.strip("_"):
        head, tail = key.rsplit("_", 1)
        names.append([f"{head}_", tail])
    shapes = [[text]]
    if len(shape) >= 3:
        c, hw = text.split("×", 1)
        shapes.append([f"{c}×", hw])
    return tuple(name + shape_lines for name in names for shape_lines in shapes)


def architecture_diagram(boxes: Mapping[str, StageBox], edges: Sequence[Edge], edge_labels: Mapping[str, str],
                         input_hw: tuple[int, int], hover: str = "{key}<br>{shape}<br>stride {jump}<br>RF {rf}",
                         highlight: str | None = None, x_gap: float = 1.25, y_gap: float = 1.15,
                         width_px: float = 860, grow: float = 1.0) -> go.Figure:
    """Boxes at the layout positions of the family's graph, each with its measured ``C×H×W``; arrows by kind.

    A box's height grows with its resolution (square root of ``H / H_input``), so the shrinking and
    growing of the maps is visible at a glance. ``edge_labels`` names the arrow kinds for the legend;
    ``hover`` is a template with ``key``, ``shape``, ``jump`` and ``rf``.

    The labels are sized to fit their boxes: ``width_px`` is about how wide the figure is drawn, ``grow`` how
    much :func:`core.figures.common.scale_for_projector` will enlarge its fonts and height afterwards
    (presentation mode). Each label takes the largest font its box allows (at most 12 px on a laptop); a shape
    too wide for its box goes on two lines (``C×`` above ``H×W``), a long name too (``last_`` above ``layer``).
    Every box is as tall as the tallest label plus what its rows add, so a taller box always has more rows.
    """
    h_in = max(1, input_hw[0])
    grid = {key: (box.node.col * x_gap, -box.node.row * y_gap) for key, box in boxes.items()}
    xs = [p[0] for p in grid.values()] or [0.0]
    ys = [p[1] for p in grid.values()] or [0.0]
    x_range = (min(xs) - 0.7, max(xs) + 0.7)
    y_range = (min(ys) - 0.6, max(ys) + 0.6)
    height = int(min(760, max(240, 72 * (y_range[1] - y_range[0]) + 70)))
    # pixels per layout unit once drawn (the legend under the plot takes about two lines of its font)
    px_x = (width_px - 10) / (x_range[1] - x_range[0])
    px_y = (height * min(grow, 1.3) - 15 - 2 * 14 * grow * LINE_EM) / (y_range[1] - y_range[0])
    hw = 0.54  # half a box's width, in layout units
    box_px = 2 * hw * px_x
    # how far each box is from the nearest box above or below it in its column, in layout units
    near = {k: min((abs(y - grid[j][1]) for j, (x2, _) in grid.items()
                    if j != k and abs(x - x2) < 2 * hw), default=math.inf) for k, (x, y) in grid.items()}
    fonts, lines, label_hh = {}, {}, {}
    for key, box in boxes.items():  # per box: name and C×H×W on two lines, or C× and H×W apart if that is larger
        def fit(ls, key=key):  # as wide as its box allows, and no taller than the gap to its neighbour
            tall = (near[key] * px_y - 10) / (len(ls) * LINE_EM)
            return int(max(8, min(fit_font(ls, 0.9 * box_px, 12 * grow, 8), tall))), ls
        fonts[key], lines[key] = max((fit(ls) for ls in _label_lines(key, box.shape)),
                                     key=lambda f: (f[0], -len(f[1])))  # a tie: the fewer lines
        label_hh[key] = (len(lines[key]) * fonts[key] * LINE_EM + 6) / 2 / px_y  # half its height, in layout units

    pos, half = {}, {}
    base = max([0.13, *label_hh.values()])  # one height for every label, so the rest says the rows alone
    for key, box in boxes.items():
        rel = box.shape[-2] / h_in if len(box.shape) >= 3 else 0.05  # vectors per box: a thin slab
        hh = base + 0.15 * math.sqrt(min(rel, 1.0))
        pos[key], half[key] = grid[key], (hw, min(hh, near[key] / 2 - 0.02))  # never over its neighbour

    # traces, arrows, boxes and labels are collected as plain data and become one figure at the end: added one
    # at a time, each annotation copies the ones before it (quadratic in the boxes) and is checked by plotly
    data, annotations, shapes, used = [], [], [], []
    for e in edges:
        if e.src not in pos or e.dst not in pos:
            continue
        (x0, y0), (x1, y1) = pos[e.src], pos[e.dst]
        dx, dy = x1 - x0, y1 - y0
        norm = math.hypot(dx, dy) or 1.0
        dx, dy = dx / norm, dy / norm
        sx, sy = _exit_point(x0, y0, *half[e.src], dx, dy)
        ex, ey = _exit_point(x1, y1, *half[e.dst], -dx, -dy)
        color, dash, width = EDGE_STYLES.get(e.kind, EDGE_STYLES["flow"])
        data.append({"type": "scatter", "x": [sx, ex], "y": [sy, ey], "mode": "lines", "hoverinfo": "skip",
                     "showlegend": False, "line": {"color": color, "dash": dash, "width": width}})
        annotations.append({"x": ex, "y": ey, "ax": ex - 0.12 * dx, "ay": ey - 0.12 * dy, "xref": "x", "yref": "y",
                            "axref": "x", "ayref": "y", "showarrow": True, "arrowhead": 2, "arrowsize": 1.1,
                            "arrowwidth": max(width, 1.5), "arrowcolor": color, "text": ""})
        if e.kind not in used:
            used.append(e.kind)

    for key, box in boxes.items():
        (x, y), (bw, bh) = pos[key], half[key]
        line = {"color": "#ea580c", "width": 4} if key == highlight else {"color": "#334155", "width": 1}
        shapes.append({"type": "rect", "x0": x - bw, "x1": x + bw, "y0": y - bh, "y1": y + bh, "line": line,
                       "fillcolor": KIND_COLORS.get(box.node.kind, "#f1f5f9"), "layer": "above"})
        n = 1 if lines[key][0] == key else 2  # the name's lines: whole, or broken after its last underscore
        name, rest = lines[key][:n], lines[key][n:]
        annotations.append({"x": x, "y": y, "text": "<br>".join([*(f"<b>{t}</b>" for t in name), *rest]),
                            "showarrow": False, "font": {"size": fonts[key] / grow, "color": "#0f172a"}})
    keys = list(boxes)
    data.append({
        "type": "scatter", "x": [pos[k][0] for k in keys], "y": [pos[k][1] for k in keys], "mode": "markers",
        "showlegend": False, "marker": {"size": 38, "opacity": 0, "symbol": "square"},
        "hovertext": [hover.format(key=k, shape=_shape_text(boxes[k].shape), jump=f"{boxes[k].jump:.3g}",
                                   rf=f"{boxes[k].rf:.0f}") for k in keys],
        "hoverinfo": "text",
    })
    for kind in used:  # legend entries for the arrow kinds that appear
        color, dash, width = EDGE_STYLES.get(kind, EDGE_STYLES["flow"])
        data.append({"type": "scatter", "x": [None], "y": [None], "mode": "lines", "name": edge_labels.get(kind, kind),
                     "line": {"color": color, "dash": dash, "width": width}})
    layout = {"xaxis": {"visible": False, "range": list(x_range)}, "yaxis": {"visible": False, "range": list(y_range)},
              "height": height, "margin": {"l": 5, "r": 5, "t": 10, "b": 5}, "plot_bgcolor": "white",
              "legend": {"orientation": "h", "y": -0.02, "yanchor": "top", "x": 0}, "hoverlabel": {"font": {"size": 13}}}
    if annotations:
        layout["annotations"] = annotations
    if shapes:
        layout["shapes"] = shapes
    return figure_of({"data": data, "layout": layout})


def shape_curves(rows: Sequence[LayerRow], labels: Mapping[str, str]) -> go.Figure:
    """Resolution (H of the output, log scale) and channels after every row of the layer table.

    ``labels``: ``resolution``, ``channels``, ``layer`` (axis titles).
    """
    idx = [r.index for r in rows]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=(labels["resolution"], labels["channels"]))
    hover = [f"{r.index}: {r.module or '·'} — {r.op} {r.detail}<br>{_shape_text(r.shape[1:])}" for r in rows]
    fig.add_trace(go.Scatter(x=idx, y=[r.shape[-2] for r in rows], mode="lines+markers", line_shape="hv",
                             hovertext=hover, hoverinfo="text", line={"color": "#2563eb"}, showlegend=False),
                  row=1, col=1)
    fig.add_trace(go.Scatter(x=idx, y=[r.shape[1] for r in rows], mode="lines+markers", line_shape="hv",
                             hovertext=hover, hoverinfo="text", line={"color": "#ea580c"}, showlegend=False),
                  row=2, col=1)
    fig.update_yaxes(type="log", dtick=math.log10(2), tickformat="d", row=1, col=1)
    fig.update_yaxes(type="log", dtick=math.log10(2), tickformat="d", row=2, col=1)
    fig.update_xaxes(title_text=labels["layer"], row=2, col=1)
    fig.update_layout(height=430, margin={"l": 10, "r": 10, "t": 40, "b": 10}, plot_bgcolor="white")
    return fig


def _normalise(a: np.ndarray) -> np.ndarray:
    lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def feature_mosaic(maps: np.ndarray, columns: int | None = None,
                   hover: str = "channel %{customdata[0]}: %{customdata[1]:.3g}", max_side: int = 56) -> go.Figure:
    """Channels ``(C, H, W)`` side by side, each scaled to its own range, with a gap between them.

    Tiles larger than ``max_side`` are shown subsampled (every k-th cell), which keeps the page light;
    hover gives the channel and the raw value; the channel number sits in each tile's corner.
    """
    maps = np.asarray(maps, dtype=float)
    step = max(1, math.ceil(max(maps.shape[-2:]) / max_side))
    maps = maps[:, ::step, ::step]
    c, h, w = maps.shape
    columns = columns or max(1, min(c, math.ceil(math.sqrt(c * h / w * 1.6))))
    rows = math.ceil(c / columns)
    gap = max(1, round(min(h, w) / 12))
    shape = (rows * (h + gap) - gap, columns * (w + gap) - gap)
    big = np.full(shape, np.nan)
    custom = np.full((*shape, 2), np.nan)
    for k in range(c):
        r, q = divmod(k, columns)
        y0, x0 = r * (h + gap), q * (w + gap)
        big[y0:y0 + h, x0:x0 + w] = _normalise(maps[k])
        custom[y0:y0 + h, x0:x0 + w, 0] = k
        custom[y0:y0 + h, x0:x0 + w, 1] = maps[k]
    fig = go.Figure(go.Heatmap(z=big, customdata=custom, hovertemplate=hover + "<extra></extra>",
                               colorscale="Viridis", showscale=False, hoverongaps=False))
    corners = [divmod(k, columns) for k in range(c)]  # one list: added one by one, each copies those before it
    fig.layout.annotations = [{"x": q * (w + gap) - 0.5, "y": r * (h + gap) - 0.5, "text": str(k), "showarrow": False,
                               "xanchor": "left", "yanchor": "top", "font": {"size": 10, "color": "white"},
                               "bgcolor": "rgba(15,23,42,0.6)"} for k, (r, q) in enumerate(corners)]
    fig.update_yaxes(autorange="reversed", scaleanchor="x", visible=False)
    fig.update_xaxes(visible=False)
    fig.update_layout(height=int(min(900, max(200, 720 * shape[0] / max(shape[1], 1)))),
                      margin={"l": 0, "r": 0, "t": 0, "b": 0}, plot_bgcolor="white")
    return fig


def map_row(maps: Sequence[np.ndarray], titles: Sequence[str], shared_range: bool = False,
            diverging: bool = False, height: int = 300, width_px: float | None = None,
            grow: float = 1.0) -> go.Figure:
    """A few 2-D maps side by side (each its own colour range unless ``shared_range``), zeros visible.

    With ``width_px`` (about how wide the figure is drawn) each title wraps to its map's width, at the size it
    has after presentation mode enlarges the fonts ``grow`` times; the top margin holds its lines.
    """
    maps = [np.asarray(m, dtype=float) for m in maps]
    size = 13
    if width_px:
        titles = [wrap_text(t, width_px / len(maps) - 8, size * grow) for t in titles]
    lines = max((t.count("<br>") + 1 for t in titles), default=1)
    spec = _row_of_subplots(len(maps), tuple(titles), size)
    layout = spec["layout"]
    lo = min(float(m.min()) for m in maps)
    hi = max(float(m.max()) for m in maps)
    for k, m in enumerate(maps, start=1):
        a, b = (lo, hi) if shared_range else (float(m.min()), float(m.max()))
        if diverging:
            b = max(abs(a), abs(b)) or 1.0
            a = -b
        n = k if k > 1 else ""
        spec["data"].append({"type": "heatmap", "z": m, "zmin": a, "zmax": b if b > a else a + 1, "showscale": False,
                             "colorscale": _named_scale("RdBu_r" if diverging else "Viridis"),
                             "hovertemplate": "(%{y}, %{x}): %{z:.3g}<extra></extra>", "xaxis": f"x{n}", "yaxis": f"y{n}"})
        layout[f"yaxis{n}"].update(autorange="reversed", scaleanchor=f"x{n}", visible=False)
        layout[f"xaxis{n}"].update(visible=False)
    top = max(56, round(lines * size * grow * LINE_EM + 20))  # the titles' lines, at their final size
    layout.update(height=height + top - 56, margin={"l": 0, "r": 0, "t": top, "b": 0}, plot_bgcolor="white")
    return figure_of(spec)


@functools.lru_cache(maxsize=64)
def _row_layout(cols: int, titles: tuple[str, ...], size: int) -> dict:
    """The layout of ``make_subplots`` for one row of ``cols`` maps with these titles (it costs tens of ms)."""
    fig = make_subplots(rows=1, cols=cols, subplot_titles=list(titles), horizontal_spacing=0.03)
    fig.update_annotations(font_size=size)
    return spec_of(fig)["layout"]


def _row_of_subplots(cols: int, titles: tuple[str, ...], size: int) -> dict:
    return {"data": [], "layout": spec_of({"layout": _row_layout(cols, titles, size)})["layout"]}


@functools.lru_cache(maxsize=16)
def _named_scale(name: str) -> tuple:
    """A named colour scale as plotly's validation writes it out (a list of stops)."""
    return go.Heatmap(colorscale=name).colorscale


def label_image(labels: np.ndarray, colors: Sequence[str], scale: int = 1) -> np.ndarray:
    """A label map as an RGB array (one colour per class), optionally enlarged by pixel repetition."""
    lut = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in colors], dtype=np.uint8)
    rgb = lut[np.clip(np.asarray(labels), 0, len(colors) - 1)]
    return rgb.repeat(scale, 0).repeat(scale, 1) if scale > 1 else rgb
