"""Plotly figure builders shared by the pages. Pure functions: data in, ``go.Figure`` out."""
from __future__ import annotations

import copy
import re
from collections.abc import Iterable

import numpy as np
import plotly.graph_objects as go

# A colour scale that keeps numbers readable in every cell on a projector.
GRID_SCALE = [[0.0, "#eff6ff"], [0.5, "#93c5fd"], [1.0, "#1d4ed8"]]
DIVERGING_SCALE = [[0.0, "#b91c1c"], [0.5, "#f8fafc"], [1.0, "#1d4ed8"]]
HIGHLIGHT = "#ea580c"


def format_number(v: float, digits: int = 2) -> str:
    """Integers without a decimal point, others rounded: what a student writes on paper."""
    if not np.isfinite(v):
        return str(v)
    r = round(float(v), digits)
    return str(int(r)) if r == int(r) else f"{r:.{digits}f}".rstrip("0").rstrip(".")


# How wide a piece of text is, for figures that size themselves from what they hold. The figures' sans-serif
# font is about 0.55 of its size wide per digit or letter; 0.6 keeps a margin. A line is 1.3 sizes high.
CHAR_EM = 0.6
LINE_EM = 1.3
TITLE_FONT = 16  # the size of a figure's title; scale_for_projector grows it with the rest
TICK_FONT = 12


def fit_font(texts: Iterable[str], box_px: float, largest: float, smallest: float = 9) -> int:
    """The largest font size (at most ``largest``) at which the longest of ``texts`` fits ``box_px`` wide."""
    longest = max((len(t) for t in texts), default=1) or 1
    return int(max(smallest, min(largest, box_px / (longest * CHAR_EM))))


def wrap_text(text: str, width_px: float, size: float) -> str:
    """``text`` broken into lines (``<br>``) that fit ``width_px`` at font ``size``, at spaces only.

    A word longer than a line stays whole on its own line (a figure title is a few words)."""
    chars = max(8, int(width_px / (CHAR_EM * size)))
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= chars:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def spec_of(fig) -> dict:
    """The figure as plain data, ``{"data": [...], "layout": {...}}``: a copy that later steps may change.

    Plotly checks every property it is given against its schema, which costs more than a page's own work on a
    small grid; the builders here and the page's last steps (projector, language) work on this plain form and
    make one figure of it at the end (:func:`figure_of`). What ``fig.to_dict()`` gives, except that the layout's
    template (plotly's theme, a few thousand entries no step here changes) is shared, not copied."""
    if isinstance(fig, dict):
        data, layout, frames = fig.get("data") or [], fig.get("layout") or {}, fig.get("frames") or []
    else:
        data, layout, frames = fig._data, fig._layout, [frame._props for frame in fig._frame_objs]
    spec = {"data": copy.deepcopy(data),
            "layout": {k: v if k == "template" else copy.deepcopy(v) for k, v in layout.items()}}
    if frames:
        spec["frames"] = copy.deepcopy(frames)
    return spec


def figure_of(spec: dict) -> go.Figure:
    """A figure of plain data without checking it again (it came from :func:`spec_of` or a builder here,
    whose output ``tests/test_figures_fast.py`` checks against plotly's own validation)."""
    return go.Figure(spec, _validate=False)


_AXIS_KEY = re.compile(r"^[xy]axis\d*$")


def axes_of(layout: dict, letter: str = "") -> list[dict]:
    """The axes of a layout (``xaxis``, ``yaxis2``, …), those of one ``letter`` when given."""
    return [v for k, v in layout.items() if _AXIS_KEY.match(k) and k.startswith(letter) and isinstance(v, dict)]


def _put_title(layout: dict, text: str, size: float, above_px: float) -> None:
    """The figure's title as an annotation left-aligned over the plot, ``above_px`` above its top edge.

    An annotation anchored at its bottom keeps every line of a wrapped title inside the figure (a layout
    title anchored at the top lets its first line leave it); the margin above must hold its lines."""
    annotations = [a for a in layout.get("annotations") or () if a.get("name") != "title"]
    layout.pop("title", None)
    if text:
        annotations.append({"name": "title", "text": f"<b>{text}</b>", "showarrow": False, "xref": "paper",
                            "yref": "paper", "x": 0, "y": 1, "xanchor": "left", "yanchor": "bottom",
                            "yshift": round(above_px), "align": "left", "font": {"size": size, "color": "#0f172a"}})
    if annotations or "annotations" in layout:
        layout["annotations"] = annotations


def title_layout(layout: dict, title: str, width_px: float, factor: float = 1.0) -> None:
    """:func:`set_title` on a figure's plain layout, changed in place."""
    meta = dict(layout["meta"]) if isinstance(layout.get("meta"), dict) else {}
    meta.setdefault("top_extra", 10)
    meta.update(title=title, title_width=width_px)
    size = round(TITLE_FONT * factor)
    text = wrap_text(title, width_px, size) if title else ""
    lines = text.count("<br>") + 1 if text else 0
    layout["meta"] = meta
    layout.setdefault("margin", {})["t"] = round(meta["top_extra"] * factor + (lines * size * LINE_EM + 10 if lines else 0))
    _put_title(layout, text, size, meta["top_extra"] * factor)


def set_title(fig: go.Figure, title: str, width_px: float, factor: float = 1.0) -> go.Figure:
    """Give ``fig`` the title ``title`` wrapped to ``width_px``, with room for its lines above the plot.

    The raw title and width go in ``layout.meta``, so :func:`scale_for_projector` wraps it again at its
    larger font. The top margin is what the title needs plus ``meta["top_extra"]`` (room kept for a legend
    or tick labels above the plot)."""
    layout = {"meta": fig.layout.meta, "margin": {}, "annotations": [a.to_plotly_json() for a in fig.layout.annotations]}
    title_layout(layout, title, width_px, factor)
    fig.update_layout(meta=layout["meta"], margin=layout["margin"])
    if fig.layout.title.to_plotly_json():  # a layout title gives way to the annotation
        fig.update_layout(title=None)
    fig.layout.annotations = layout["annotations"]
    return fig


PENDING_LAYER = "pending"  # the name of the layer that covers a step-through's cells not computed yet


def _grid_layout(spec: dict, factor: float = 1.0) -> None:
    """Height, top margin, title lines and the font of the cells' numbers of a grid, from its ``meta``.

    ``grid_heatmap`` records what it holds (rows, columns, cell size, its labels, its title); this lays it out
    for a given scale (1 on a laptop, larger in presentation mode), so a bigger font never leaves its cell.
    """
    layout = spec["layout"]
    meta = layout["meta"]
    h, w = meta["rows"], meta["cols"]
    title_font = round(TITLE_FONT * factor)
    tick_font = round(TICK_FONT * factor)
    side = 40 + tick_font  # the row labels and the margins beside the cells
    cell = meta["cell_px"] * min(factor, 1.3)
    if meta.get("max_width_px"):  # the column it is drawn in: cells no wider than it allows
        cell = min(cell, (meta["max_width_px"] - side) / w)
    width = w * cell + side  # what the grid needs across
    title = wrap_text(meta["title"], width, title_font) if meta["title"] else ""
    lines = title.count("<br>") + 1 if title else 0
    top = round(12 + tick_font * LINE_EM + (lines * title_font * LINE_EM + 24 if lines else 0))
    bottom = 10
    height = min(round(640 * min(factor, 1.3)), max(round(180 * min(factor, 1.3)), round(cell * h + top + bottom)))
    cell = min(cell, (height - top - bottom) / h)  # a tall grid is capped: its cells shrink to fit
    if spec.get("data") and meta.get("labels"):
        largest = (16 if max(h, w) <= 8 else 12) * factor
        size = spec["data"][0].setdefault("textfont", {})["size"] = fit_font(meta["labels"], 0.88 * cell, largest)
        for trace in spec["data"][1:]:  # a step-through's "?" over the cells not computed yet: as large as the numbers
            if trace.get("name") == PENDING_LAYER:
                trace.setdefault("textfont", {})["size"] = size
    layout["height"] = height
    layout.setdefault("margin", {}).update({"l": 30 + round(tick_font), "r": 10, "t": top, "b": bottom})
    _put_title(layout, title, title_font, tick_font * LINE_EM + 24)  # above the column numbers and their gap
    for letter in "xy":
        for axis in axes_of(layout, letter) or [layout.setdefault(f"{letter}axis", {})]:
            axis.setdefault("tickfont", {})["size"] = tick_font


def grid_spec(
    values,
    title: str = "",
    highlight: Iterable[tuple[int, int]] = (),
    digits: int = 2,
    diverging: bool | None = None,
    zrange: tuple[float, float] | None = None,
    cell_px: int = 56,
    show_numbers: bool = True,
    row_labels: list[str] | None = None,
    col_labels: list[str] | None = None,
    max_width_px: float | None = None,
) -> dict:
    """A small 2-D array as a heatmap with its numbers in the cells, row 0 at the top, as plain data.

    ``highlight`` outlines cells ``(row, col)``; ``diverging`` centres the colours on zero (chosen
    automatically when the array has both signs). The numbers' font fits the longest of them in a cell
    and a long title wraps to the grid's width; :func:`scale_for_projector` keeps both true when it grows.
    ``max_width_px``: the narrowest the grid's column gets (a page of three columns says so); the cells
    are sized to fit it.
    """
    a = np.asarray(values, dtype=float)
    if a.ndim != 2:
        raise ValueError(f"grid_heatmap needs a 2-D array, got shape {a.shape}")
    h, w = a.shape
    finite = a[np.isfinite(a)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if diverging is None:
        diverging = lo < 0 < hi
    if zrange is None:
        if diverging:
            m = max(abs(lo), abs(hi)) or 1.0
            zrange = (-m, m)
        else:
            zrange = (min(lo, 0.0), hi if hi > min(lo, 0.0) else min(lo, 0.0) + 1.0)
    text = [[format_number(v, digits) for v in row] for row in a] if show_numbers else None
    heatmap = {"type": "heatmap", "z": a, "x": list(range(w)), "y": list(range(h)),
               "textfont": {"size": 16 if max(h, w) <= 8 else 11},
               "colorscale": DIVERGING_SCALE if diverging else GRID_SCALE, "zmin": zrange[0], "zmax": zrange[1],
               "showscale": False, "xgap": 2, "ygap": 2, "hovertemplate": "(%{y}, %{x}): %{z}<extra></extra>"}
    if show_numbers:
        heatmap.update(text=text, texttemplate="%{text}")
    shapes = [{"type": "rect", "x0": c - 0.5, "x1": c + 0.5, "y0": r - 0.5, "y1": r + 0.5,
               "line": {"color": HIGHLIGHT, "width": 4}} for r, c in highlight]
    layout = {
        "yaxis": {"autorange": "reversed", "scaleanchor": "x", "constrain": "domain", "showgrid": False,
                  "tickmode": "array", "tickvals": list(range(h)),
                  "ticktext": row_labels if row_labels else [str(i) for i in range(h)]},
        "xaxis": {"side": "top", "constrain": "domain", "showgrid": False, "tickmode": "array",
                  "tickvals": list(range(w)), "ticktext": col_labels if col_labels else [str(j) for j in range(w)]},
        "plot_bgcolor": "white",
        "meta": {"rows": h, "cols": w, "cell_px": cell_px, "title": title, "max_width_px": max_width_px,
                 "labels": sorted({t for row in text for t in row}, key=lambda t: (len(t), t))[-1:] if text else []},
    }
    if shapes:
        layout["shapes"] = shapes
    spec = {"data": [heatmap], "layout": layout}
    _grid_layout(spec)
    return spec


def grid_heatmap(values, title: str = "", **kwargs) -> go.Figure:
    """:func:`grid_spec` as a figure: a small 2-D array as a heatmap with its numbers in the cells."""
    return figure_of(grid_spec(values, title, **kwargs))


def scale_spec(spec: dict, factor: float = 1.45) -> dict:
    """:func:`scale_for_projector` on a figure's plain data (:func:`spec_of`), changed in place and returned."""
    layout = spec.setdefault("layout", {})
    base = layout.get("font", {}).get("size") or 14
    layout.setdefault("font", {})["size"] = round(base * factor)
    meta = layout.get("meta")
    if isinstance(meta, dict) and "cell_px" in meta:
        for ann in layout.get("annotations") or ():
            font = ann.setdefault("font", {})
            font["size"] = round((font.get("size") or base) * factor)
        _grid_layout(spec, factor)
        return spec
    if layout.get("height"):
        layout["height"] = round(layout["height"] * min(factor, 1.3))
    if isinstance(meta, dict) and "title_width" in meta:  # a title from set_title: wrapped again, larger
        grown = layout.get("height") and layout.get("margin", {}).get("t")
        title_layout(layout, meta["title"], meta["title_width"], factor)
        if grown and layout.get("height"):  # the plot keeps its own height; the title's lines come on top
            layout["height"] += max(0, layout["margin"]["t"] - round(grown * min(factor, 1.3)))
    for trace in spec.get("data") or ():
        tf = trace.get("textfont")
        if tf and tf.get("size"):
            tf["size"] = round(tf["size"] * factor)
    for ann in layout.get("annotations") or ():
        if ann.get("name") != "title":
            font = ann.setdefault("font", {})
            font["size"] = round((font.get("size") or base) * factor)
    return spec


def scale_for_projector(fig: go.Figure, factor: float = 1.45) -> go.Figure:
    """Larger fonts and figures for presentation mode; returns a scaled copy.

    A grid of :func:`grid_heatmap` is laid out again at the larger scale (its cells grow, the numbers fit
    them, the title wraps anew); any other figure has its fonts, text and annotations scaled."""
    return figure_of(scale_spec(spec_of(fig), factor))


def hourglass_diagram(stage_labels: list[str], input_label: str, output_label: str,
                      down_label: str, up_label: str) -> go.Figure:
    """The lecture's hourglass: feature maps shrink in space through the encoder, grow back in the decoder.

    Each stage is drawn as a slab whose height is its spatial size and whose width grows with channels.
    """
    sizes = [1.0, 0.5, 0.25, 0.125, 0.25, 0.5, 1.0]  # H relative to the input at each stage
    widths = [0.35, 0.6, 0.85, 1.1, 0.85, 0.6, 0.35]  # more channels where the maps are small
    colors = ["#60a5fa"] * 3 + ["#1e3a8a"] + ["#fb923c"] * 3
    fig = go.Figure()
    x = 0.0
    centers = []
    for size, width, color in zip(sizes, widths, colors):
        fig.add_shape(type="rect", x0=x, x1=x + width, y0=-size / 2, y1=size / 2,
                      fillcolor=color, line={"color": "#0f172a", "width": 1})
        centers.append(x + width / 2)
        x += width + 0.35
    for cx, label in zip(centers, stage_labels):
        fig.add_annotation(x=cx, y=-0.62, text=label, showarrow=False, font={"size": 13})
    fig.add_annotation(x=centers[0] - widths[0] / 2, y=0.62, text=input_label, showarrow=False,
                       xanchor="left", font={"size": 14})
    fig.add_annotation(x=centers[-1] + widths[-1] / 2, y=0.62, text=output_label, showarrow=False,
                       xanchor="right", font={"size": 14})
    fig.add_annotation(x=centers[1] + 0.2, y=0.42, text=down_label, showarrow=False,
                       font={"size": 15, "color": "#1d4ed8"})
    fig.add_annotation(x=centers[5] - 0.2, y=0.42, text=up_label, showarrow=False,
                       font={"size": 15, "color": "#c2410c"})
    fig.update_xaxes(visible=False, range=[-0.2, x - 0.15])
    fig.update_yaxes(visible=False, range=[-0.75, 0.75])
    fig.update_layout(height=260, margin={"l": 0, "r": 0, "t": 10, "b": 0}, plot_bgcolor="white",
                      showlegend=False)
    return fig


def add_loss_curve(fig: go.Figure, steps: list[dict], colour: str, name: str, row: int = 1, col: int = 1) -> None:
    """A training loss against the step: each step faint, a running mean in bold (the trend readable)."""
    s = np.array([it["step"] for it in steps])
    loss = np.array([it["loss"] for it in steps])
    k = max(1, min(15, len(loss) // 10))  # the running mean's window
    smooth = np.convolve(loss, np.ones(k) / k, mode="valid")
    fig.add_scatter(x=s, y=loss, mode="lines", line={"color": colour, "width": 1}, opacity=0.25,
                    showlegend=False, hoverinfo="skip", row=row, col=col)
    fig.add_scatter(x=s[k - 1:], y=smooth, mode="lines", name=name, legendgroup=name,
                    line={"color": colour, "width": 3}, row=row, col=col)
