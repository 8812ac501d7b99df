"""Figures of the "From classification to segmentation" pages (tasks, recap, pixelwise, cost, metrics).

Pure functions: arrays and already-translated words in, ``go.Figure`` out. Sized and coloured for a
projector: large fonts, saturated class colours, numbers in cells only where cells are big enough.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.figures.common import (
    CHAR_EM,
    HIGHLIGHT,
    LINE_EM,
    figure_of,
    fit_font,
    format_number,
    scale_for_projector,
    set_title,
    title_layout,
)

# How much larger presentation mode draws every font (scale_for_projector's factor). A builder that places
# text by hand (a label above a bar, a legend row above the plot) makes room for it at this size, so the
# figure holds it on a laptop and on the projector alike.
PROJECTOR = scale_for_projector.__defaults__[0]
HEIGHT_GROWTH = 1.3  # and heights at most this much (the fonts grow more than the space for them)
LEGEND_ROW = 34  # px of a one-row legend above the plot, at the legend's font of 16 (not grown on a projector)
INK = "#0f172a"
INSTANCE_COLORS = ("#2563eb", "#db2777", "#f59e0b", "#0d9488", "#7c3aed")  # one per object, not per class
NET_COLORS = {"full_resolution": "#b91c1c", "hourglass": "#1d4ed8", "flatten": "#b91c1c", "gap": "#1d4ed8"}
FONT = {"size": 16}
TICKS = {"size": 15}  # Streamlit's chart theme shrinks tick labels unless they are set explicitly


def _readable_axes(fig: go.Figure, log_y: bool = False) -> go.Figure:
    """Tick labels and axis titles large enough for the back row; a log axis only at powers of ten."""
    fig.update_xaxes(tickfont=TICKS, title_font={"size": 16})
    fig.update_yaxes(tickfont=TICKS, title_font={"size": 16})
    fig.update_layout(legend_font_size=16)
    if log_y:
        fig.update_yaxes(dtick=1, exponentformat="SI")
    return fig


def _rgb(hex_color: str) -> np.ndarray:
    return np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)


def _text_color(hex_color: str) -> str:
    """Black or white, whichever reads better on ``hex_color``."""
    r, g, b = _rgb(hex_color)
    return INK if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "white"


def _image_axes(fig: go.Figure, height: int, title: str) -> go.Figure:
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    # The same bottom margin whether or not there is a legend, so that panels side by side show the image
    # at the same size.
    fig.update_layout(height=height, margin={"l": 5, "r": 5, "t": 50 if title else 5, "b": 64},
                      title={"text": title, "font": {"size": 20}} if title else None, font=FONT,
                      plot_bgcolor="white", legend={"orientation": "h", "y": -0.02, "yanchor": "top",
                                                    "font": {"size": 16}})
    return fig


def _box(fig: go.Figure, box, color: str, label: str, width: int = 4) -> None:
    x0, y0, x1, y1 = box
    fig.add_shape(type="rect", x0=x0 - 0.5, y0=y0 - 0.5, x1=x1 + 0.5, y1=y1 + 0.5,
                  line={"color": color, "width": width})
    fig.add_annotation(x=x0 - 0.5, y=y0 - 0.5, text=f"<b>{label}</b>", showarrow=False, xanchor="left",
                       yanchor="bottom", bgcolor=color, font={"color": _text_color(color), "size": 16},
                       borderpad=2)


def _legend_entries(fig: go.Figure, names: Sequence[str], colors: Sequence[str]) -> None:
    for name, color in zip(names, colors):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name,
                                 marker={"size": 16, "symbol": "square", "color": color,
                                         "line": {"color": "#64748b", "width": 1}}))


def task_view(image: np.ndarray, task: str, output: dict, class_names: Sequence[str],
              class_colors: Sequence[str], title: str = "", instance_names: Sequence[str] = (),
              height: int = 420) -> go.Figure:
    """The scene as one task outputs it (``output`` from :func:`core.data.scenes.task_output`)."""
    fig = go.Figure()
    if task == "semantic":
        labels = output["labels"]
        lut = np.stack([_rgb(c) for c in class_colors]).astype(np.uint8)
        fig.add_trace(go.Image(z=lut[labels], hoverinfo="skip"))
        present = sorted(set(np.unique(labels).tolist()))
        _legend_entries(fig, [class_names[c] for c in present], [class_colors[c] for c in present])
    elif task == "instance":
        tinted = image.astype(float) * 0.35 + 255 * 0.65  # a pale photo under the masks
        for k, (_, mask) in enumerate(output["masks"]):
            tinted[mask] = 0.25 * image[mask] + 0.75 * _rgb(INSTANCE_COLORS[k % len(INSTANCE_COLORS)])
        fig.add_trace(go.Image(z=tinted.astype(np.uint8), hoverinfo="skip"))
        _legend_entries(fig, instance_names, INSTANCE_COLORS)
    else:
        fig.add_trace(go.Image(z=image, hoverinfo="skip"))
    if task == "classification":
        fig.add_annotation(x=0.5, y=0.97, xref="paper", yref="paper", text=f"<b>{class_names[output['label']]}</b>",
                           showarrow=False, font={"size": 30, "color": "white"}, bgcolor=INK, borderpad=8)
    elif task == "localisation":
        _box(fig, output["box"], class_colors[output["label"]], class_names[output["label"]], width=5)
    elif task == "detection":
        for c, box in output["boxes"]:
            _box(fig, box, class_colors[c], class_names[c])
    return _image_axes(fig, height, title)


def _discrete_scale(colors: Sequence[str]) -> list:
    n = len(colors)
    scale = []
    for i, c in enumerate(colors):
        scale += [[i / n, c], [(i + 1) / n, c]]
    return scale


def _add_click_layer(fig: go.Figure, h: int, w: int, hover: np.ndarray | None = None) -> None:
    """An almost invisible marker on every cell, carrying ``customdata = [row, col]``: clicks select it.

    Streamlit reports selections of plotly *points*, not heatmap cells, hence the markers. Their hover must
    stay on (``hoverinfo="skip"`` would also switch off click events), so they carry the cell's hover text.
    """
    rows, cols = np.mgrid[0:h, 0:w]
    fig.add_trace(go.Scatter(
        x=cols.ravel(), y=rows.ravel(), mode="markers",
        marker={"size": 22, "color": "rgba(0,0,0,0.01)", "symbol": "square"},
        customdata=np.stack([rows.ravel(), cols.ravel()], axis=1), showlegend=False,
        text=None if hover is None else np.asarray(hover).ravel(),
        hovertemplate="(%{y}, %{x})" + ("" if hover is None else ": %{text}") + "<extra></extra>",
    ))
    fig.update_traces(hoverinfo="skip", selector={"type": "heatmap"})
    fig.update_layout(clickmode="event+select", dragmode=False, hovermode="closest")


def _grid_layout(fig: go.Figure, h: int, w: int, title: str, cell: int, highlight, legend: bool = False,
                 width_px: float | None = None) -> go.Figure:
    """Ticks every few cells, the title wrapped above the column numbers, a height that holds the cells.

    The numbers in the cells have no fixed size: plotly fits them to the cells it draws (at most the
    figure's font), so they stay inside their cells in a narrow column and on a projector alike.
    ``width_px``: the width of the column the grid is drawn in; the cells are no wider than it allows.
    """
    if highlight is not None:
        r, c = highlight
        fig.add_shape(type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5,
                      line={"color": HIGHLIGHT, "width": 5})
    step = 2 if max(h, w) <= 24 else 8  # a tick every few cells, never a crowd of them
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showgrid=False, zeroline=False,
                     tickmode="array", tickvals=list(range(0, h, step)), tickfont={"size": 13})
    fig.update_xaxes(side="top", showgrid=False, zeroline=False, tickmode="array",
                     tickvals=list(range(0, w, step)), tickfont={"size": 13})
    if width_px:
        cell = max(4, min(cell, (width_px - 50) / w))
    fig.update_layout(
        margin={"l": 30, "r": 10, "b": 10}, plot_bgcolor="white", font=FONT, meta={"top_extra": 13 * LINE_EM + 20},
        legend={"orientation": "h", "y": -0.02, "yanchor": "top", "font": {"size": 15}},
    )
    set_title(fig, title, width_px or 600)
    fig.update_layout(height=round(cell * h + fig.layout.margin.t + (70 if legend else 10)))
    return fig


def label_grid(labels: np.ndarray, class_names: Sequence[str], class_colors: Sequence[str], title: str = "",
               numbers: bool = True, highlight: tuple[int, int] | None = None, clickable: bool = False,
               ignore_index: int | None = None, cell: int = 30, legend: bool = True,
               ignore_name: str = "", legend_all: bool = False, width_px: float | None = None) -> go.Figure:
    """A label map as coloured cells (class numbers written in them), row 0 at the top.

    ``ignore_index`` cells are drawn white with a dot; ``clickable`` adds the click layer; ``width_px``: the
    width of its column (see :func:`_grid_layout`).
    """
    labels = np.asarray(labels)
    h, w = labels.shape
    n = len(class_colors)
    z = labels.astype(float)
    ignored = labels == ignore_index if ignore_index is not None else np.zeros(labels.shape, dtype=bool)
    z[ignored] = np.nan
    names = np.array([[("·" if ignored[i, j] else class_names[int(labels[i, j])]) for j in range(w)]
                      for i in range(h)])
    text = np.where(ignored, "·", labels.astype(str)) if numbers else None
    fig = go.Figure([go.Heatmap(
        z=z, zmin=-0.5, zmax=n - 0.5, colorscale=_discrete_scale(class_colors), showscale=False,
        xgap=1 if max(h, w) <= 32 else 0, ygap=1 if max(h, w) <= 32 else 0,  # no grid lines on large maps
        text=text, texttemplate="%{text}" if numbers else None, customdata=names,
        hovertemplate="(%{y}, %{x}): %{customdata}<extra></extra>",
    )], _validate=False)  # the heatmap is checked as it is built; the layout steps are ours
    if legend:
        present = list(range(n)) if legend_all else sorted(set(np.unique(labels[~ignored]).tolist()))
        _legend_entries(fig, [class_names[c] for c in present], [class_colors[c] for c in present])
        if ignored.any() and ignore_name:
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=ignore_name,
                                     marker={"size": 16, "symbol": "square-open", "color": INK}))
    if clickable:
        _add_click_layer(fig, h, w, hover=names)
    return _grid_layout(fig, h, w, title, cell, highlight, legend, width_px)


def value_grid(values: np.ndarray, title: str = "", zmin: float = 0.0, zmax: float | None = None,
               colorscale: str | list = "Viridis", numbers: bool = False, digits: int = 2,
               highlight: tuple[int, int] | None = None, clickable: bool = False, cell: int = 30,
               colorbar: str = "", width_px: float | None = None) -> go.Figure:
    """A real-valued ``(H, W)`` map (a loss map, one channel of a volume) with a colour bar."""
    values = np.asarray(values, dtype=float)
    h, w = values.shape
    zmax = float(np.nanmax(values)) if zmax is None else zmax
    text = [[format_number(v, digits) for v in row] for row in values] if numbers else None
    fig = go.Figure([go.Heatmap(
        z=values, zmin=zmin, zmax=max(zmax, zmin + 1e-9), colorscale=colorscale, xgap=1, ygap=1,
        text=text, texttemplate="%{text}" if numbers else None,
        colorbar={"title": {"text": colorbar}, "thickness": 14},
        hovertemplate="(%{y}, %{x}): %{z:.3f}<extra></extra>",
    )], _validate=False)  # the heatmap is checked as it is built; the layout steps are ours
    if clickable:
        _add_click_layer(fig, h, w, hover=np.vectorize(lambda v: f"{v:.3f}")(values))
    return _grid_layout(fig, h, w, title, cell, highlight, width_px=width_px and width_px - 60)  # the colour bar


def volume_slices(volume: np.ndarray, channel_titles: Sequence[str], title: str = "", zmax: float = 1.0,
                  highlight: tuple[int, int] | None = None, cols: int = 3, colorscale="Blues",
                  zmin: float = 0.0, width_px: float = 900) -> go.Figure:
    """A ``(C, H, W)`` volume cut into its ``C`` sheets, one small heatmap per class, on one colour scale.

    The title is wrapped to ``width_px`` (its column's width) above the first row's sheet titles."""
    volume = np.asarray(volume, dtype=float)
    c, h, w = volume.shape
    rows = -(-c // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=list(channel_titles),
                        horizontal_spacing=0.03, vertical_spacing=0.12 / rows * 2)
    for k in range(c):
        r, col = k // cols + 1, k % cols + 1
        fig.add_trace(go.Heatmap(z=volume[k], zmin=zmin, zmax=zmax, colorscale=colorscale, xgap=1, ygap=1,
                                 showscale=k == 0, colorbar={"thickness": 14, "len": 0.9},
                                 hovertemplate=f"c={k}, " + "(%{y}, %{x}): %{z:.3f}<extra></extra>"),
                      row=r, col=col)
        if highlight is not None:
            fig.add_shape(type="rect", x0=highlight[1] - 0.5, x1=highlight[1] + 0.5, y0=highlight[0] - 0.5,
                          y1=highlight[0] + 0.5, line={"color": HIGHLIGHT, "width": 3}, row=r, col=col)
    fig.update_yaxes(autorange="reversed", showticklabels=False, showgrid=False, scaleanchor="x")
    fig.update_xaxes(showticklabels=False, showgrid=False)
    for ax in range(2, c + 1):  # each subplot keeps its cells square
        fig.layout[f"yaxis{ax}"].scaleanchor = f"x{ax}"
    sheet_font = fit_font(channel_titles, (width_px - 20) / cols / PROJECTOR, 16, smallest=9)
    fig.update_annotations(font={"size": sheet_font})
    fig.update_layout(margin={"l": 10, "r": 10, "b": 10}, font=FONT, plot_bgcolor="white",
                      meta={"top_extra": sheet_font * LINE_EM + 8})
    set_title(fig, title, width_px - 20)
    fig.update_layout(height=rows * (h * 17 + 60) + fig.layout.margin.t)
    return fig


def volume_3d(volume: np.ndarray, channel_names: Sequence[str], title: str = "", zmax: float = 1.0,
              highlight: tuple[int, int] | None = None, colorscale="Blues", zmin: float = 0.0) -> go.Figure:
    """The ``(C, H, W)`` volume as ``C`` stacked sheets in 3-D: class ``c`` at height ``c``.

    Every cell is drawn as a flat square (vertices at the cell edges, each value repeated), so cells stay
    crisp instead of being smoothed into their neighbours; flat lighting keeps the colours true.
    """
    volume = np.asarray(volume, dtype=float)
    c, h, w = volume.shape
    edges_x = np.repeat(np.arange(w + 1), 2)[1:-1] - 0.5  # (2w,) -0.5, 0.5, 0.5, 1.5, ...
    edges_y = np.repeat(np.arange(h + 1), 2)[1:-1] - 0.5  # (2h,)
    xs, ys = np.meshgrid(edges_x, edges_y)  # (2h, 2w)
    if colorscale == "Blues":  # white cells would vanish against the white page; start from a pale grey-blue
        colorscale = [[0.0, "#dbe4f0"], [1.0, "#08306b"]]
    fig = go.Figure()
    for k in range(c):
        cells = np.repeat(np.repeat(volume[k], 2, axis=0), 2, axis=1)  # (2h, 2w): each value on its 4 corners
        fig.add_trace(go.Surface(x=xs, y=ys, z=np.full(xs.shape, k * 3.0), surfacecolor=cells, cmin=zmin,
                                 cmax=zmax, colorscale=colorscale, showscale=k == 0, opacity=0.95,
                                 lighting={"ambient": 1.0, "diffuse": 0.0, "specular": 0.0, "fresnel": 0.0},
                                 colorbar={"thickness": 14, "len": 0.7}, name=channel_names[k],
                                 hovertemplate=f"{k}: {channel_names[k]} " + "%{surfacecolor:.3f}<extra></extra>"))
    if highlight is not None:
        r, col = highlight  # the column of C values that one pixel owns
        fig.add_trace(go.Scatter3d(x=[col] * c, y=[r] * c, z=[3.0 * k for k in range(c)], mode="lines+markers",
                                   marker={"size": 6, "color": HIGHLIGHT}, line={"color": HIGHLIGHT, "width": 8},
                                   hoverinfo="skip", showlegend=False))
    fig.update_layout(
        height=560, margin={"l": 0, "r": 0, "t": 50 if title else 0, "b": 0}, font=FONT,
        title={"text": title, "font": {"size": 20}} if title else None,
        scene={"xaxis": {"title": {"text": "W"}, "showticklabels": False},
               "yaxis": {"title": {"text": "H"}, "autorange": "reversed", "showticklabels": False},
               "zaxis": {"title": {"text": "C"}, "tickvals": [3.0 * k for k in range(c)],
                         "ticktext": [str(k) for k in range(c)], "tickfont": {"size": 15}},
               "aspectmode": "manual", "aspectratio": {"x": 1.6, "y": 0.9, "z": 1.1},
               "camera": {"eye": {"x": 1.5, "y": -1.7, "z": 0.9}}},
    )
    return fig


def probability_bars(probs: Sequence[float], class_names: Sequence[str], class_colors: Sequence[str],
                     true_label: int, argmax: int, title: str = "", true_text: str = "",
                     argmax_text: str = "", width_px: float = 320) -> go.Figure:
    """One pixel's ``C`` probabilities as horizontal bars; the true class outlined and named, the argmax named.

    Each class's name is written above its bar, not beside the axis, so the bars keep the column's whole
    width however long the names are (a narrow column beside a map, a projector's larger font); the names'
    font fits ``width_px``, the width of that column, at the projector's size.
    """
    probs = list(probs)
    names = []
    for c, name in enumerate(class_names):
        tags = [t for t, on in ((true_text, c == true_label), (argmax_text, c == argmax)) if on and t]
        names.append(f"{name} ({', '.join(tags)})" if tags else name)
    widths = [4 if c == true_label else 1 for c in range(len(probs))]
    values = [format_number(p, 3) for p in probs]
    label_font = fit_font(names, (width_px - 20) / PROJECTOR, 15, smallest=8)
    value_font = fit_font(["0.000"], 0.22 * (width_px - 20) / PROJECTOR, 15, smallest=8)
    bar = 0.5  # of a row; the other half, above the bar, holds the class's name
    fig = go.Figure(go.Bar(
        y=list(range(len(probs))), x=probs, orientation="h", text=values, cliponaxis=False, showlegend=False,
        # a long bar holds its number, a short one has it just after its end: never past the axis' end
        textposition=["inside" if p >= 0.6 else "outside" for p in probs], insidetextanchor="end",
        textfont={"size": value_font}, constraintext="none", width=bar,
        marker={"color": list(class_colors), "line": {"color": INK, "width": widths}},
        customdata=list(class_names), hovertemplate="%{customdata}: %{x:.4f}<extra></extra>",
    ))
    for c, name in enumerate(names):
        fig.add_annotation(x=0, y=c - bar / 2, xref="x", yref="y", xanchor="left", yanchor="bottom", showarrow=False,
                           text=f"<b>{name}</b>" if c == true_label else name, yshift=1,
                           font={"size": label_font, "color": INK})
    fig.update_xaxes(range=[0, 1], tickvals=[0, 0.5, 1], title={"text": "p"}, gridcolor="#e2e8f0")
    fig.update_yaxes(autorange=False, range=[len(probs) - 0.6, -0.85], showticklabels=False, showgrid=False,
                     zeroline=False)
    # a row per class: the gap of half a row above each bar holds its name and the half of a number that
    # may stand out of the bar above, at the projector's size, where the plot grows only HEIGHT_GROWTH times
    need = (label_font * LINE_EM + value_font * LINE_EM / 2) * PROJECTOR + 6
    unit = need / (1 - bar) / HEIGHT_GROWTH
    fig.update_layout(margin={"l": 10, "r": 10, "b": 40}, font=FONT, plot_bgcolor="white", meta={"top_extra": 4})
    _readable_axes(fig)
    set_title(fig, title, width_px - 20)
    fig.update_layout(height=round(unit * (len(probs) + 0.25) + fig.layout.margin.t + 40))
    return fig


def matrix_heatmap(values: np.ndarray, row_labels: Sequence[str], col_labels: Sequence[str], title: str = "",
                   x_title: str = "", y_title: str = "", digits: int = 3, colorscale="Blues",
                   zmax: float | None = None, color_values: np.ndarray | None = None,
                   highlight_row: int | None = None, width_px: float = 600) -> go.Figure:
    """A small labelled matrix (one-hot labels, probabilities, a confusion matrix) with its numbers.

    The numbers' size is left to plotly, which fits them to the cells (at most the figure's font); the title
    is wrapped to ``width_px`` (its column's width) above the column labels and their axis title."""
    values = np.asarray(values, dtype=float)
    colors = values if color_values is None else np.asarray(color_values, dtype=float)
    h, w = values.shape
    text = [[format_number(v, digits) for v in row] for row in values]
    fig = go.Figure(go.Heatmap(
        z=colors, x=list(col_labels), y=list(row_labels), text=text, texttemplate="%{text}",
        colorscale=colorscale, zmin=0,
        zmax=zmax if zmax is not None else max(float(np.nanmax(colors)) if colors.size else 1.0, 1e-9),
        showscale=False, xgap=2, ygap=2, hovertemplate="%{y} → %{x}: %{text}<extra></extra>",
    ))
    if highlight_row is not None:
        fig.add_shape(type="rect", x0=-0.5, x1=w - 0.5, y0=highlight_row - 0.5, y1=highlight_row + 0.5,
                      line={"color": HIGHLIGHT, "width": 4})
    fig.update_yaxes(autorange="reversed", title={"text": y_title, "font": {"size": 16}}, tickfont={"size": 15},
                     type="category")
    fig.update_xaxes(side="top", title={"text": x_title, "font": {"size": 16}}, tickfont={"size": 15},
                     type="category")
    # above the cells: the column labels, then the axis title (fonts that presentation mode leaves as they are)
    top_extra = 15 * LINE_EM + 12 + (16 * LINE_EM + 12 if x_title else 0)
    fig.update_layout(margin={"l": 10, "r": 10, "b": 10}, font=FONT, plot_bgcolor="white",
                      meta={"top_extra": top_extra})
    # the title starts where the cells do, right of the row labels and the axis title
    left = max((len(str(t)) for t in row_labels), default=1) * CHAR_EM * 15 + (16 * LINE_EM + 10 if y_title else 0)
    set_title(fig, title, width_px - 20 - left)
    fig.update_layout(height=max(220, round(52 * h + fig.layout.margin.t + 20)))
    return fig


def class_score_bars(class_names: Sequence[str], series: dict[str, Sequence[float]], title: str = "",
                     absent_text: str = "", colors: Sequence[str] = ("#1d4ed8", "#ea580c")) -> go.Figure:
    """Per-class scores side by side (IoU and Dice); NaN classes are marked with ``absent_text``."""
    fig = go.Figure()
    for (name, vals), color in zip(series.items(), colors):
        vals = [None if (v is None or not np.isfinite(v)) else v for v in vals]
        fig.add_trace(go.Bar(x=list(class_names), y=vals, name=name, marker={"color": color},
                             text=["" if v is None else f"{v:.2f}" for v in vals], textposition="outside",
                             textfont={"size": 15}))
    first = next(iter(series.values()), [])
    for name, v in zip(class_names, first):
        if v is None or not np.isfinite(v):
            fig.add_annotation(x=name, y=0.05, text=absent_text, showarrow=False, textangle=-90,
                               yanchor="bottom", font={"size": 15, "color": "#64748b"})
    fig.update_yaxes(range=[0, 1.18])
    fig.update_layout(height=400, barmode="group", margin={"l": 40, "r": 10, "t": 60 if title else 20, "b": 40},
                      title={"text": title, "font": {"size": 20}} if title else None, font=FONT,
                      plot_bgcolor="white", legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right",
                                                    "yanchor": "bottom"})
    return _readable_axes(fig)


GRID = "#e2e8f0"


def _axis(title: str | None = None, log: bool = False, **extra) -> dict:
    """One axis of a line or bar chart, as :func:`_readable_axes` leaves it (plain data)."""
    axis = {"tickfont": TICKS, "title": {"text": title, "font": {"size": 16}} if title is not None else {"font": {"size": 16}}}
    axis.update(extra)
    if log:
        axis.update(type="log", dtick=1, exponentformat="SI")
    return axis


def _chart(data: list[dict], xaxis: dict, yaxis: dict, title: str, width_px: float, height: int, bottom: int,
           **layout) -> go.Figure:
    """A chart whose legend is a row above the plot and whose title is wrapped above the legend
    (the legend's row kept in ``meta`` for presentation mode), built as plain data: the full-resolution page redraws five of them at every
    move of its sliders, and plotly's checks of each property cost more than the page's own work."""
    spec_layout = {"xaxis": xaxis, "yaxis": yaxis, "margin": {"l": 60, "r": 10, "b": bottom}, "font": FONT,
                   "plot_bgcolor": "white", "meta": {"top_extra": LEGEND_ROW},
                   "legend": {"orientation": "h", "y": 1.0, "x": 0, "yanchor": "bottom", "xanchor": "left",
                              "font": {"size": 16}}, **layout}
    title_layout(spec_layout, title, width_px - 20)
    spec_layout["height"] = height + spec_layout["margin"]["t"]
    return figure_of({"data": data, "layout": spec_layout})


def growth_curves(x: Sequence[float], series: dict[str, Sequence[float]], title: str, x_title: str, y_title: str,
                  mark_x: float | None = None, log_y: bool = True, colors: dict[str, str] | None = None,
                  hlines: Sequence[tuple[float, str]] = (), width_px: float = 600) -> go.Figure:
    """Quantities against the image size, one line per network/head (log scale by default).

    ``width_px``: the width of its column, to which the title is wrapped."""
    palette = list((colors or {}).values()) or list(NET_COLORS.values())
    data = [{"type": "scatter", "x": list(x), "y": list(ys), "mode": "lines+markers", "name": name,
             "line": {"width": 4, "color": palette[k % len(palette)]}, "marker": {"size": 9}}
            for k, (name, ys) in enumerate(series.items())]
    for y, label in hlines:  # a reference level as a dotted line trace (shapes misplace labels on log axes)
        data.append({"type": "scatter", "x": [min(x), max(x)], "y": [y, y], "mode": "lines+text", "name": label,
                     "text": [f"  {label}", ""], "textposition": "bottom right", "textfont": {"size": 15},
                     "line": {"color": "#64748b", "width": 2, "dash": "dot"}, "hoverinfo": "skip",
                     "showlegend": False})
    shapes = [] if mark_x is None else [{"type": "line", "x0": mark_x, "x1": mark_x, "xref": "x", "y0": 0, "y1": 1,
                                         "yref": "y domain", "line": {"color": HIGHLIGHT, "width": 3, "dash": "dash"}}]
    yaxis = _axis(y_title, log_y, showgrid=True, gridcolor=GRID, type="linear")
    return _chart(data, _axis(x_title, showgrid=True, gridcolor=GRID), yaxis, title, width_px, 360, 50,
                  **({"shapes": shapes} if shapes else {}))


def layer_bars(layers: Sequence[str], series: dict[str, Sequence[float]], title: str, y_title: str,
               log_y: bool = False, width_px: float = 600) -> go.Figure:
    """One value per layer for each network, grouped by layer."""
    data = [{"type": "bar", "x": list(layers), "y": list(ys), "name": name,
             "marker": {"color": NET_COLORS["full_resolution" if k == 0 else "hourglass"]}}
            for k, (name, ys) in enumerate(series.items())]
    return _chart(data, _axis(), _axis(y_title, log_y, type="linear", gridcolor=GRID), title, width_px, 340, 40,
                  barmode="group")


def layer_lines(layers: Sequence[str], series: dict[str, Sequence[float]], title: str, y_title: str,
                bands: dict[str, Sequence[float]] | None = None, width_px: float = 900) -> go.Figure:
    """One line per network across its layers (receptive field); ``bands`` gives a lower edge to shade."""
    data = []
    for k, (name, ys) in enumerate(series.items()):
        color = NET_COLORS["full_resolution" if k == 0 else "hourglass"]
        if bands and name in bands:
            data.append({"type": "scatter", "x": list(layers), "y": list(bands[name]), "mode": "lines",
                         "line": {"width": 0}, "hoverinfo": "skip", "showlegend": False})
            data.append({"type": "scatter", "x": list(layers), "y": list(ys), "mode": "lines", "line": {"width": 0},
                         "fill": "tonexty", "fillcolor": "rgba(29,78,216,0.18)", "hoverinfo": "skip",
                         "showlegend": False})
        data.append({"type": "scatter", "x": list(layers), "y": list(ys), "mode": "lines+markers", "name": name,
                     "line": {"width": 4, "color": color}, "marker": {"size": 10}})
    return _chart(data, _axis(), _axis(y_title, rangemode="tozero", gridcolor=GRID), title, width_px, 340, 40)
