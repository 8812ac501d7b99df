"""Figures of the "Your images" pages: maps over a photo, a pixel's class distribution, poses and heatmaps.

Pure functions: arrays and already-translated words in, ``go.Figure`` out. Large maps are shown at a
reduced size (every ``k``-th pixel) so the browser receives tens of thousands of numbers, not millions;
hovering still reads the value under the mouse.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from _plotly_utils.basevalidators import ColorscaleValidator
from plotly.subplots import make_subplots

from core.figures.common import figure_of, title_layout

__all__ = ["value_map", "distribution_bars", "boxes_figure", "pose_figure", "heatmap_grid", "hex_color", "mark_pixel"]

FONT = {"size": 16}
INK = "#0f172a"
SEQUENTIAL = "Viridis"


def hex_color(rgb) -> str:
    r, g, b = (int(v) for v in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"


def _text_color(rgb) -> str:
    r, g, b = (float(v) for v in rgb)
    return INK if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "white"


def mark_pixel(image: np.ndarray, x: int, y: int) -> np.ndarray:
    """A copy of ``image`` with a ring around pixel ``(x, y)`` (white with a dark edge, visible on any colour)."""
    h, w = image.shape[:2]
    r = max(4, round(min(h, w) / 40))  # the ring grows with the photo so it stays visible when shown smaller
    yy, xx = np.ogrid[:h, :w]
    d = np.sqrt((xx - x) ** 2 + (yy - y) ** 2)
    out = image.copy()
    out[(d >= r) & (d < r + max(1, r / 3))] = 255
    out[(d >= r + max(1, r / 3)) & (d < r + max(2, r / 2))] = (15, 23, 42)
    return out


def _step(h: int, w: int, max_side: int) -> int:
    return max(1, int(np.ceil(max(h, w) / max_side)))


@functools.lru_cache(maxsize=16)
def _scale(colorscale: str) -> list:
    """A named colour scale as the list of ``[position, colour]`` plotly sends (plotly.js knows fewer names):
    what plotly's own check of a heatmap's ``colorscale`` makes of the name."""
    return [list(pair) for pair in ColorscaleValidator("colorscale", "heatmap").validate_coerce(colorscale)]


def _photo_spec(h: int, w: int, title: str, height: int, title_width: float | None = None) -> dict:
    """The layout of a figure over a photo, as plain data: axes in the photo's pixels, row 0 at the top. With
    ``title_width`` (the column's width in pixels) the title wraps to it above the plot, and wraps again in
    presentation mode (:func:`~core.figures.common.title_layout`)."""
    fitted = bool(title and title_width)
    layout = {"xaxis": {"visible": False, "range": [-0.5, w - 0.5], "constrain": "domain"},
              "yaxis": {"visible": False, "range": [h - 0.5, -0.5], "scaleanchor": "x", "constrain": "domain"},
              "height": height, "margin": {"l": 4, "r": 4, "t": 44 if title else 4, "b": 4}, "font": FONT,
              "plot_bgcolor": "white", "showlegend": False}
    if title and not fitted:
        layout["title"] = {"text": title, "font": {"size": 18}}
    if fitted:
        title_layout(layout, title, title_width)
    return layout


def _photo_layout(fig: go.Figure, h: int, w: int, title: str, height: int) -> go.Figure:
    """:func:`_photo_spec` on a figure built trace by trace (a photo with boxes or a pose over it)."""
    return fig.update_layout(_photo_spec(h, w, title, height))


def value_map(values: np.ndarray, title: str = "", zmin: float = 0.0, zmax: float = 1.0,
              colorscale=SEQUENTIAL, colorbar: str = "", height: int = 320, max_side: int = 220,
              hover: str = "x=%{x}, y=%{y}: %{z:.3f}", title_width: float | None = None) -> go.Figure:
    """An ``(H, W)`` map of numbers over the photo's grid (x, y in the photo's pixels), with a colour bar
    (titled ``colorbar``, none when empty: a title that says what the map holds may be enough).
    ``title_width``: see :func:`_photo_spec`. Built as plain data (three of them redraw at every move of the
    photo page's sliders, and plotly's checks of each property cost more than the maps themselves)."""
    h, w = values.shape
    k = _step(h, w, max_side)
    sub = values[::k, ::k]  # (⌈H/k⌉, ⌈W/k⌉): every k-th pixel
    trace = {"type": "heatmap", "z": sub, "x": np.arange(0, w, k), "y": np.arange(0, h, k), "zmin": zmin,
             "zmax": zmax, "colorscale": _scale(colorscale) if isinstance(colorscale, str) else colorscale,
             "hovertemplate": hover + "<extra></extra>",
             "colorbar": {"thickness": 14, **({"title": {"text": colorbar}} if colorbar else {})}}
    return figure_of({"data": [trace], "layout": _photo_spec(h, w, title, height, title_width)})


def distribution_bars(names: Sequence[str], probs: Sequence[float], colors: Sequence, title: str = "",
                      height: int | None = None, title_width: float | None = None) -> go.Figure:
    """A pixel's most probable classes as horizontal bars, the winner on top, each in its class colour.

    A probability is written inside a long bar (in ink that reads on its colour) and after a short one, so no
    number runs past the chart's edge. With ``title_width`` the title wraps to it (``<br>`` in it is a space
    then); without, a ``<br>`` in the title breaks it there. Built as plain data, like :func:`value_map`."""
    n = len(probs)
    probs = [float(p) for p in probs]
    inside = [p >= 0.5 for p in probs]
    bar = {"type": "bar", "y": list(range(n)), "x": probs, "orientation": "h", "text": [f"{p:.3f}" for p in probs],
           "textposition": ["inside" if i else "outside" for i in inside], "insidetextanchor": "end",
           "cliponaxis": False, "textfont": {"color": [_text_color(c) if i else INK for c, i in zip(colors, inside)]},
           "marker": {"color": [hex_color(c) for c in colors], "line": {"color": INK, "width": 1}},
           "customdata": list(names), "hovertemplate": "%{customdata}: %{x:.4f}<extra></extra>", "showlegend": False}
    top = 70 if "<br>" in title else 44 if title else 10
    fitted = bool(title and title_width)
    layout = {"xaxis": {"range": [0, 1.05], "tickvals": [0, 0.25, 0.5, 0.75, 1], "title": {"text": "p"},
                        "gridcolor": "#e2e8f0", "tickfont": {"size": 15}},
              "yaxis": {"autorange": "reversed", "tickmode": "array", "tickvals": list(range(n)),
                        "ticktext": list(names), "tickfont": {"size": 15}},
              "height": (height or 70 + 36 * n) + top - 44, "margin": {"l": 10, "r": 10, "t": top, "b": 40},
              "font": FONT, "plot_bgcolor": "white", "bargap": 0.25}
    if title and not fitted:
        layout["title"] = {"text": title, "font": {"size": 18}}
    if fitted:
        title_layout(layout, title.replace("<br>", " "), title_width)
    return figure_of({"data": [bar], "layout": layout})


def boxes_figure(image: np.ndarray, boxes: np.ndarray, labels: Sequence[str], colors: Sequence,
                 title: str = "", height: int = 480) -> go.Figure:
    """The photo (with masks already blended in) and each object's box and label in its colour."""
    h, w = image.shape[:2]
    fig = go.Figure(go.Image(z=image, hoverinfo="skip"))
    for (x0, y0, x1, y1), label, color in zip(boxes, labels, colors):
        c = hex_color(color)
        fig.add_shape(type="rect", x0=x0, y0=y0, x1=x1, y1=y1, line={"color": c, "width": 3})
        fig.add_annotation(x=x0, y=y0, text=f"<b>{label}</b>", showarrow=False, xanchor="left", yanchor="bottom",
                           bgcolor=c, font={"color": _text_color(color), "size": 14}, borderpad=2)
    return _photo_layout(fig, h, w, title, height)


def pose_figure(image: np.ndarray, people: Sequence[np.ndarray], scores: Sequence[np.ndarray],
                skeleton: Sequence[tuple[int, int]], names: Sequence[str], threshold: float,
                boxes: Sequence | None = None, colors: Sequence | None = None, title: str = "",
                height: int = 480) -> go.Figure:
    """Keypoints ``(17, 2)`` per person and the skeleton's limbs between joints scored above ``threshold``.

    Joints below the threshold are drawn hollow (the model is unsure), limbs only between confident joints.
    """
    h, w = image.shape[:2]
    fig = go.Figure(go.Image(z=image, hoverinfo="skip"))
    palette = colors if colors is not None else [(234, 88, 12)] * len(people)
    for p, (points, conf) in enumerate(zip(people, scores)):
        c = hex_color(palette[p % len(palette)])
        if boxes is not None:
            x0, y0, x1, y1 = boxes[p]
            fig.add_shape(type="rect", x0=x0, y0=y0, x1=x1, y1=y1, line={"color": c, "width": 2, "dash": "dot"})
        xs, ys = [], []
        for a, b in skeleton:
            if conf[a] >= threshold and conf[b] >= threshold:
                xs += [float(points[a, 0]), float(points[b, 0]), None]
                ys += [float(points[a, 1]), float(points[b, 1]), None]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": c, "width": 4}, hoverinfo="skip"))
        sure = np.asarray(conf) >= threshold
        fig.add_trace(go.Scatter(
            x=points[:, 0], y=points[:, 1], mode="markers",
            marker={"size": 9, "color": [c if s else "rgba(0,0,0,0)" for s in sure],
                    "line": {"color": ["white" if s else c for s in sure], "width": 2}},
            customdata=[[n, float(s)] for n, s in zip(names, conf)],
            hovertemplate="%{customdata[0]}: %{customdata[1]:.2f}<extra></extra>"))
    return _photo_layout(fig, h, w, title, height)


def heatmap_grid(maps: np.ndarray, names: Sequence[str], title: str = "", cols: int = 6, zmax: float | None = None,
                 colorscale=SEQUENTIAL, height_per_row: int = 170, peaks: np.ndarray | None = None) -> go.Figure:
    """``(K, h, w)`` heatmaps as small multiples, one per joint, each titled with its name.

    ``peaks`` ``(K, 2)`` (x, y in the maps' cells) marks each map's decoded point.
    """
    k = len(maps)
    rows = int(np.ceil(k / cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=list(names), horizontal_spacing=0.015,
                        vertical_spacing=0.06)
    top = float(zmax if zmax is not None else max(float(maps.max()), 1e-6))
    for i in range(k):
        r, c = i // cols + 1, i % cols + 1
        fig.add_trace(go.Heatmap(z=maps[i], zmin=0, zmax=top, colorscale=colorscale, showscale=i == 0,
                                 colorbar={"thickness": 12, "len": 0.9},
                                 hovertemplate=f"{names[i]}<br>x=%{{x}}, y=%{{y}}: %{{z:.3f}}<extra></extra>"),
                      row=r, col=c)
        if peaks is not None:
            fig.add_trace(go.Scatter(x=[peaks[i, 0]], y=[peaks[i, 1]], mode="markers", hoverinfo="skip",
                                     marker={"symbol": "x", "size": 9, "color": "#f43f5e"}), row=r, col=c)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    for i in range(k):  # each small map keeps its own aspect ratio
        fig.layout[f"yaxis{'' if i == 0 else i + 1}"].scaleanchor = f"x{'' if i == 0 else i + 1}"
    fig.update_annotations(font={"size": 13})
    fig.update_layout(height=40 + height_per_row * rows, margin={"l": 4, "r": 4, "t": 60 if title else 24, "b": 4},
                      title={"text": title, "font": {"size": 18}} if title else None, showlegend=False,
                      plot_bgcolor="white", font=FONT)
    return fig
