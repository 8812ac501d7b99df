"""Figures of the pose pages: keypoints and skeletons drawn on images, heatmaps, error and loss curves.

Pure functions: arrays in, images (``(H, W, 3)`` uint8) or ``go.Figure`` out. Coordinates are input
pixels with pixel centres at integers; heatmap cell ``(v, u)`` sits over input pixel ``(s·v, s·u)``.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageDraw, ImageFont
from plotly.colors import get_colorscale
from plotly.subplots import make_subplots

from core.data.poses import EDGES, JOINT_COLOURS
from core.figures.common import add_loss_curve, figure_of, set_title
from core.figures.training import set_log_axis

_BLUES = [[float(a), c] for a, c in get_colorscale("Blues")]  # as plotly writes "Blues" out

POINT_COLOURS = ["#ea580c", "#2563eb", "#16a34a", "#db2777", "#7c3aed", "#0891b2", "#ca8a04", "#dc2626",
                 "#4f46e5", "#059669", "#c026d3", "#65a30d", "#0284c7", "#e11d48"]
METHOD_STYLE = {"argmax": ("#dc2626", "x"), "quarter": ("#7c3aed", "triangle-up"), "subpixel": ("#16a34a", "diamond")}
MODEL_COLOURS = {"hrnet": "#c2410c", "hourglass": "#1d4ed8", "regression": "#6b7280"}
# Plotly's Inferno, but its first colour: Streamlit's chart theme uses colours like #000004 as placeholders
# that the browser swaps for theme colours, which turned every empty cell pink.
HEAT_SCALE = [[i / 9, c] for i, c in enumerate(["#07050f", "#1b0c41", "#4a0c6b", "#781c6d", "#a52c60", "#cf4446",
                                                "#ed6925", "#fb9b06", "#f7d13d", "#fcffa4"])]


def _hex(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4))


def _enlarged(image: np.ndarray, scale: int) -> Image.Image:
    img = np.repeat(np.repeat(np.asarray(image, np.uint8), scale, axis=0), scale, axis=1)
    return Image.fromarray(img)


def _at(x: float, y: float, scale: int) -> tuple[float, float]:
    """A point of the original image in the enlarged one (pixel i spans [i·scale, (i+1)·scale))."""
    return (x + 0.5) * scale, (y + 0.5) * scale


def draw_points(image: np.ndarray, points, scale: int = 4, numbered: bool = True) -> np.ndarray:
    """``image`` enlarged ``scale`` times with the keypoints ``(n, 2)`` as numbered coloured rings."""
    canvas = _enlarged(image, scale)
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=max(12, 3 * scale + 2))
    r = max(5, 2 * scale)
    for i, (x, y) in enumerate(np.asarray(points, float).reshape(-1, 2)):
        cx, cy = _at(x, y, scale)
        colour = _hex(POINT_COLOURS[i % len(POINT_COLOURS)])
        draw.ellipse([cx - r - 1, cy - r - 1, cx + r + 1, cy + r + 1], outline=(255, 255, 255), width=2)
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=colour, width=2)
        draw.point([(cx, cy)], fill=colour)
        if numbered:
            draw.text((cx + r + 2, cy - r - 2), str(i + 1), fill=colour, font=font, stroke_width=2,
                      stroke_fill=(255, 255, 255))
    return np.asarray(canvas)


def draw_pose(image: np.ndarray, joints=None, pred=None, scale: int = 4) -> np.ndarray:
    """``image`` enlarged, with the true joints ``(K, 3)`` as white rings and a predicted skeleton ``(K, 2)``.

    The skeleton is coloured by side (left warm, right cool, centre green); unlabelled true joints
    (visibility 0) are left out.
    """
    canvas = _enlarged(image, scale)
    draw = ImageDraw.Draw(canvas)
    r = max(3, scale)
    if pred is not None:
        p = np.asarray(pred, float)
        for a, b in EDGES:
            colour = tuple(int(c) for c in JOINT_COLOURS[b])
            draw.line([_at(*p[a], scale), _at(*p[b], scale)], fill=(255, 255, 255), width=max(3, scale // 2 + 3))
            draw.line([_at(*p[a], scale), _at(*p[b], scale)], fill=colour, width=max(1, scale // 2 + 1))
        for k, (x, y) in enumerate(p):
            cx, cy = _at(x, y, scale)
            draw.ellipse([cx - r / 2, cy - r / 2, cx + r / 2, cy + r / 2], fill=tuple(int(c) for c in JOINT_COLOURS[k]))
    if joints is not None:
        for x, y, v in np.asarray(joints, float):
            if v > 0:
                cx, cy = _at(x, y, scale)
                draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=(255, 255, 255), width=2)
    return np.asarray(canvas)


def heat_overlay(image: np.ndarray, heat, stride: int, scale: int = 4, alpha: float = 0.75) -> np.ndarray:
    """The maximum over the heatmaps ``(K, h, w)`` laid over ``image``, each cell where it sits.

    Cell ``(v, u)`` covers the input pixels nearest to ``(s·v, s·u)``: the coarser the stride, the
    bigger the blocks.
    """
    heat = np.asarray(heat, np.float32)
    if heat.ndim == 3:  # no keypoints at all leaves an empty stack: nothing to light up
        heat = heat.max(0) if len(heat) else np.zeros(heat.shape[1:], np.float32)  # (h, w)
    h, w = image.shape[:2]
    rows = np.clip(np.round(np.arange(h) / stride), 0, heat.shape[0] - 1).astype(int)
    cols = np.clip(np.round(np.arange(w) / stride), 0, heat.shape[1] - 1).astype(int)
    level = np.clip(heat[rows][:, cols], 0, 1)[..., None]  # (H, W, 1)
    # A warm scale: dark red at the foot of a hill, yellow at its top.
    colour = np.concatenate([np.full_like(level, 255), 40 + 215 * level, 30 * level], axis=-1)
    grey = image.astype(np.float32).mean(-1, keepdims=True) * 0.6  # the image dimmed, so the hills stand out
    out = grey * (1 - alpha * level) + colour * alpha * level
    return np.asarray(_enlarged(np.clip(out + 0.5, 0, 255).astype(np.uint8), scale))


def heatmap_figure(heat, stride: int, true_xy=None, decoded: dict | None = None, labels: dict | None = None,
                   title: str = "", x_title: str = "", y_title: str = "", height: int = 440,
                   title_width: float | None = None) -> go.Figure:
    """One heatmap ``(h, w)`` on axes in input pixels, with the true point and the decoded ones marked.

    ``decoded`` maps a method name to its (x, y); ``labels`` maps "truth" and the method names to the
    legend's words. With ``title_width`` (the column's width in pixels) the title wraps to it above the plot,
    and again at presentation mode's larger font.
    """
    heat = np.asarray(heat, np.float32)
    h, w = heat.shape
    labels = labels or {}
    fig = go.Figure(go.Heatmap(z=heat, x=np.arange(w) * stride, y=np.arange(h) * stride, colorscale=HEAT_SCALE,
                               zmin=0, zmax=max(1.0, float(heat.max())), showscale=True,
                               hovertemplate="x=%{x}, y=%{y}: %{z:.3f}<extra></extra>"))
    if true_xy is not None:
        fig.add_scatter(x=[true_xy[0]], y=[true_xy[1]], mode="markers", name=labels.get("truth", "truth"),
                        marker={"symbol": "circle-open", "size": 16, "color": "#22d3ee", "line": {"width": 3}})
    for method, (x, y) in (decoded or {}).items():
        colour, symbol = METHOD_STYLE.get(method, ("#ffffff", "cross"))
        fig.add_scatter(x=[x], y=[y], mode="markers", name=labels.get(method, method),
                        marker={"symbol": symbol, "size": 12, "color": colour,
                                "line": {"width": 1.5, "color": "white"}})
    fig.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain", title_text=y_title)
    fig.update_xaxes(constrain="domain", title_text=x_title)
    fitted = bool(title and title_width)
    fig.update_layout(title=None if fitted else title, height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      legend={"orientation": "h", "y": -0.08})
    if fitted:
        set_title(fig, title, title_width)
    return fig


def quantisation_figure(strides, errors: dict[str, list[float]], labels: dict[str, str], x_title: str,
                        y_title: str, worst_label: str, current: int | None = None) -> go.Figure:
    """Mean decoding error against the stride, one line per method, and argmax's worst case s/√2."""
    strides = list(strides)
    fig = go.Figure()
    fig.add_scatter(x=strides, y=[s / np.sqrt(2) for s in strides], mode="lines", name=worst_label,
                    line={"color": "#9ca3af", "dash": "dash"})
    for method, values in errors.items():
        colour, symbol = METHOD_STYLE.get(method, ("#000000", "circle"))
        fig.add_scatter(x=strides, y=values, mode="lines+markers", name=labels.get(method, method),
                        line={"color": colour, "width": 3}, marker={"symbol": symbol, "size": 10})
    if current is not None:
        fig.add_vline(x=current, line={"color": "#f59e0b", "width": 2, "dash": "dot"})
    fig.update_xaxes(title_text=x_title, type="log", tickvals=strides, ticktext=[str(s) for s in strides])
    fig.update_yaxes(title_text=y_title, rangemode="tozero")
    fig.update_layout(height=380, margin={"l": 10, "r": 10, "t": 20, "b": 10}, legend={"orientation": "h", "y": -0.2})
    return fig


def mse_figure(pred, target, titles: tuple[str, str, str], stride: int) -> go.Figure:
    """The prediction, the target and their squared difference, side by side (axes in input pixels).

    Built as plain data, three side-by-side subplots as ``make_subplots(rows=1, cols=3)`` lays them out: the
    page redraws it at every move of its sliders, and building it through plotly's checks cost ~30 ms."""
    pred, target = np.asarray(pred, np.float32), np.asarray(target, np.float32)
    h, w = target.shape
    xs, ys = (np.arange(w) * stride).tolist(), (np.arange(h) * stride).tolist()
    top = max(1.0, float(pred.max()), float(target.max()))
    diff = (pred - target) ** 2
    gap, width = 0.06, (1 - 2 * 0.06) / 3
    data, layout = [], {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "height": 330, "annotations": []}
    for col, (z, title) in enumerate(zip((pred, target, diff), titles), start=1):
        n = "" if col == 1 else str(col)
        left = (col - 1) * (width + gap)
        trace = {"type": "heatmap", "z": z.tolist(), "x": xs, "y": ys, "xaxis": f"x{n}", "yaxis": f"y{n}"}
        if col < 3:
            trace.update(colorscale=HEAT_SCALE, zmin=0, zmax=top, showscale=False,
                         hovertemplate="x=%{x}, y=%{y}: %{z:.3f}<extra></extra>")
        else:
            trace.update(colorscale=_BLUES, zmin=0, zmax=max(float(diff.max()), 1e-6),
                         colorbar={"len": 0.9, "thickness": 12}, hovertemplate="x=%{x}, y=%{y}: %{z:.4f}<extra></extra>")
        data.append(trace)
        layout[f"xaxis{n}"] = {"anchor": f"y{n}", "domain": [left, min(left + width, 1.0)]}
        layout[f"yaxis{n}"] = {"anchor": f"x{n}", "domain": [0.0, 1.0], "autorange": "reversed", "scaleanchor": f"x{n}"}
        layout["annotations"].append({"font": {"size": 16}, "showarrow": False, "text": title, "x": left + width / 2,
                                      "xanchor": "center", "xref": "paper", "y": 1.0, "yanchor": "bottom",
                                      "yref": "paper"})
    return figure_of({"data": data, "layout": layout})


def loss_offset_figure(offsets, curves: dict[float, list[float]], name: str, x_title: str, y_title: str,
                       current: float | None = None) -> go.Figure:
    """Heatmap MSE against how far the predicted hill is from the target, one line per σ."""
    fig = go.Figure()
    palette = ["#0891b2", "#16a34a", "#ea580c", "#7c3aed", "#db2777"]
    for i, (sigma, values) in enumerate(curves.items()):
        fig.add_scatter(x=list(offsets), y=values, mode="lines", name=name.format(sigma=sigma),
                        line={"color": palette[i % len(palette)], "width": 3})
    if current is not None:
        fig.add_vline(x=current, line={"color": "#f59e0b", "width": 2, "dash": "dot"})
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title, rangemode="tozero")
    fig.update_layout(height=330, margin={"l": 10, "r": 10, "t": 20, "b": 10}, legend={"orientation": "h", "y": -0.25})
    return fig


def pose_curves(runs: list[tuple[str, str, list[dict], list[dict]]], titles: tuple[str, str, str],
                step_title: str) -> go.Figure:
    """Training loss (log scale), mean pixel error and PCK of validation, one colour per run.

    ``runs`` are ``(name, colour, steps, vals)``; steps carry ``loss``, vals ``mean_error`` and ``pck``.
    """
    fig = make_subplots(rows=1, cols=3, subplot_titles=titles, horizontal_spacing=0.07)
    for name, colour, steps, vals in runs:
        if steps:
            add_loss_curve(fig, steps, colour, name)
        if vals:
            x = [v["step"] for v in vals]
            fig.add_scatter(x=x, y=[v["mean_error"] for v in vals], mode="lines+markers", name=name, legendgroup=name,
                            showlegend=not steps, line={"color": colour, "width": 3}, row=1, col=2)
            fig.add_scatter(x=x, y=[v["pck"] for v in vals], mode="lines+markers", name=name, legendgroup=name,
                            showlegend=False, line={"color": colour, "width": 3}, row=1, col=3)
    set_log_axis(fig, [it["loss"] for _, _, steps, _ in runs for it in steps], row=1, col=1)
    fig.update_yaxes(rangemode="tozero", row=1, col=2)
    fig.update_yaxes(range=[0, 1], row=1, col=3)
    fig.update_xaxes(title_text=step_title)
    fig.update_layout(height=330, margin={"l": 10, "r": 10, "t": 40, "b": 10}, legend={"orientation": "h", "y": -0.25})
    return fig


def colour_map(values, scale=None) -> np.ndarray:
    """Values in [0, 1] → RGB uint8 through a colour scale's stops (linear between them)."""
    stops = scale or HEAT_SCALE
    pos = np.array([p for p, _ in stops])
    rgb = np.array([_hex(c) for _, c in stops], np.float32)  # (n, 3)
    v = np.clip(np.asarray(values, np.float32), 0, 1)
    out = np.stack([np.interp(v, pos, rgb[:, i]) for i in range(3)], axis=-1)
    return (out + 0.5).astype(np.uint8)


def heatmap_tiles(target, pred, names: list[str], row_titles: tuple[str, str], columns: int = 7,
                  cell: int = 6) -> np.ndarray:
    """Every joint's target heatmap above its predicted one, as one picture (cheap to redraw every second).

    Tiles are the heatmaps enlarged ``cell`` times (each cell a crisp square), ``columns`` joints to a row,
    with the joint's name above and the row's title (target / predicted) at the left.
    """
    target, pred = np.asarray(target, np.float32), np.asarray(pred, np.float32)
    k, h, w = target.shape
    th, tw = h * cell, w * cell
    font = ImageFont.load_default(size=13)
    label_w = max(int(font.getlength(t)) for t in row_titles) + 12
    gap, title_h = 6, 18
    bands = -(-k // columns)
    band_h = title_h + 2 * th + gap
    canvas = Image.new("RGB", (label_w + columns * (tw + gap), bands * (band_h + gap)), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    tile = lambda m: Image.fromarray(colour_map(m).repeat(cell, 0).repeat(cell, 1))  # noqa: E731
    for j in range(k):
        b, c = divmod(j, columns)
        x, y = label_w + c * (tw + gap), b * (band_h + gap)
        name = names[j]
        while font.getlength(name) > tw and len(name) > 3:  # a long name is cut to fit its tile
            name = name[:-2] + "…"
        draw.text((x + tw / 2, y + title_h / 2), name, fill=(30, 30, 30), font=font, anchor="mm")
        canvas.paste(tile(target[j]), (x, y + title_h))
        canvas.paste(tile(pred[j]), (x, y + title_h + th + 2))
    for b in range(bands):
        y = b * (band_h + gap) + title_h
        for r, label in enumerate(row_titles):
            draw.text((label_w - 8, y + r * (th + 2) + th / 2), label, fill=(90, 90, 90), font=font, anchor="rm")
    return np.asarray(canvas)


def comparison_bars(names: list[str], values: list[float], colours: list[str], title: str, fmt: str = "{:.1f}",
                    value_range: tuple[float, float] | None = None) -> go.Figure:
    """One horizontal bar per model, its value written on it."""
    fig = go.Figure(go.Bar(x=values, y=names, orientation="h", marker_color=colours,
                           text=[fmt.format(v) for v in values], textposition="auto"))
    fig.update_yaxes(autorange="reversed")
    if value_range:
        fig.update_xaxes(range=list(value_range))
    fig.update_layout(title=title, height=70 + 45 * len(names), margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig
