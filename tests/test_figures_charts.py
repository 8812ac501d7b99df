"""The charts built as plain data (the full-resolution page's curves and bars, the photo pages' maps and a
pixel's bars) are the figures plotly's own calls build: each is
checked against a reference made with go.Figure, add_trace, add_vline and update_* (what the builders did
before they skipped plotly's checks), and against plotly's validation, in both languages and on a projector."""
import json

import plotly.graph_objects as go
import plotly.io as pio
import numpy as np
import pytest

from core.figures import photo
from core.figures import segmentation as seg
from core.figures.common import figure_of, scale_spec, set_title, spec_of
from core.figures.localize import localize_spec
from tests.conftest import drop_empty

FONT, GRID = {"size": 16}, "#e2e8f0"


def _reference_title(fig, title, width_px, height):
    fig.update_layout(legend={"orientation": "h", "y": 1.0, "x": 0, "yanchor": "bottom", "xanchor": "left"},
                      meta={"top_extra": seg.LEGEND_ROW})
    set_title(fig, title, width_px - 20)
    fig.update_layout(height=height + fig.layout.margin.t)


def reference_growth(x, series, title, x_title, y_title, mark_x=None, log_y=True, colors=None, hlines=(), width_px=600):
    fig = go.Figure()
    palette = list((colors or {}).values()) or list(seg.NET_COLORS.values())
    for k, (name, ys) in enumerate(series.items()):
        fig.add_trace(go.Scatter(x=list(x), y=list(ys), mode="lines+markers", name=name,
                                 line={"width": 4, "color": palette[k % len(palette)]}, marker={"size": 9}))
    if mark_x is not None:
        fig.add_vline(x=mark_x, line={"color": seg.HIGHLIGHT, "width": 3, "dash": "dash"})
    for y, label in hlines:
        fig.add_trace(go.Scatter(x=[min(x), max(x)], y=[y, y], mode="lines+text", name=label,
                                 text=[f"  {label}", ""], textposition="bottom right", textfont={"size": 15},
                                 line={"color": "#64748b", "width": 2, "dash": "dot"}, hoverinfo="skip",
                                 showlegend=False))
    fig.update_xaxes(title={"text": x_title}, showgrid=True, gridcolor=GRID)
    fig.update_yaxes(title={"text": y_title}, type="log" if log_y else "linear", showgrid=True, gridcolor=GRID)
    fig.update_layout(margin={"l": 60, "r": 10, "b": 50}, font=FONT, plot_bgcolor="white")
    _reference_title(fig, title, width_px, 360)
    return seg._readable_axes(fig, log_y)


def reference_bars(layers, series, title, y_title, log_y=False, width_px=600):
    fig = go.Figure()
    for k, (name, ys) in enumerate(series.items()):
        fig.add_trace(go.Bar(x=list(layers), y=list(ys), name=name,
                             marker={"color": seg.NET_COLORS["full_resolution" if k == 0 else "hourglass"]}))
    fig.update_yaxes(title={"text": y_title}, type="log" if log_y else "linear", gridcolor=GRID)
    fig.update_layout(barmode="group", margin={"l": 60, "r": 10, "b": 40}, font=FONT, plot_bgcolor="white")
    _reference_title(fig, title, width_px, 340)
    return seg._readable_axes(fig, log_y)


def reference_lines(layers, series, title, y_title, bands=None, width_px=900):
    fig = go.Figure()
    for k, (name, ys) in enumerate(series.items()):
        color = seg.NET_COLORS["full_resolution" if k == 0 else "hourglass"]
        if bands and name in bands:
            fig.add_trace(go.Scatter(x=list(layers), y=list(bands[name]), mode="lines", line={"width": 0},
                                     hoverinfo="skip", showlegend=False))
            fig.add_trace(go.Scatter(x=list(layers), y=list(ys), mode="lines", line={"width": 0}, fill="tonexty",
                                     fillcolor="rgba(29,78,216,0.18)", hoverinfo="skip", showlegend=False))
        fig.add_trace(go.Scatter(x=list(layers), y=list(ys), mode="lines+markers", name=name,
                                 line={"width": 4, "color": color}, marker={"size": 10}))
    fig.update_yaxes(title={"text": y_title}, rangemode="tozero", gridcolor=GRID)
    fig.update_layout(margin={"l": 60, "r": 10, "b": 40}, font=FONT, plot_bgcolor="white")
    _reference_title(fig, title, width_px, 340)
    return seg._readable_axes(fig)


def _reference_photo_layout(fig, h, w, title, height, title_width=None):
    fig.update_xaxes(visible=False, range=[-0.5, w - 0.5], constrain="domain")
    fig.update_yaxes(visible=False, range=[h - 0.5, -0.5], scaleanchor="x", constrain="domain")
    fitted = bool(title and title_width)
    fig.update_layout(height=height, margin={"l": 4, "r": 4, "t": 44 if title else 4, "b": 4}, font=FONT,
                      title={"text": title, "font": {"size": 18}} if title and not fitted else None,
                      plot_bgcolor="white", showlegend=False)
    if fitted:
        set_title(fig, title, title_width)
    return fig


def reference_value_map(values, title="", zmin=0.0, zmax=1.0, colorscale="Viridis", colorbar="", height=320,
                        max_side=220, hover="x=%{x}, y=%{y}: %{z:.3f}", title_width=None):
    h, w = values.shape
    k = max(1, int(np.ceil(max(h, w) / max_side)))
    fig = go.Figure(go.Heatmap(z=values[::k, ::k], x=np.arange(0, w, k), y=np.arange(0, h, k), zmin=zmin, zmax=zmax,
                               colorscale=colorscale, hovertemplate=hover + "<extra></extra>",
                               colorbar={"title": {"text": colorbar} if colorbar else None, "thickness": 14}))
    return _reference_photo_layout(fig, h, w, title, height, title_width)


def reference_distribution(names, probs, colors, title="", height=None, title_width=None):
    n, ink = len(probs), "#0f172a"
    inside = [p >= 0.5 for p in probs]
    fig = go.Figure(go.Bar(
        y=list(range(n)), x=list(probs), orientation="h", text=[f"{p:.3f}" for p in probs],
        textposition=["inside" if i else "outside" for i in inside], insidetextanchor="end", cliponaxis=False,
        textfont={"color": [photo._text_color(c) if i else ink for c, i in zip(colors, inside)]},
        marker={"color": [photo.hex_color(c) for c in colors], "line": {"color": ink, "width": 1}},
        customdata=list(names), hovertemplate="%{customdata}: %{x:.4f}<extra></extra>", showlegend=False))
    fig.update_xaxes(range=[0, 1.05], tickvals=[0, 0.25, 0.5, 0.75, 1], title={"text": "p"}, gridcolor=GRID,
                     tickfont={"size": 15})
    fig.update_yaxes(autorange="reversed", tickmode="array", tickvals=list(range(n)), ticktext=list(names),
                     tickfont={"size": 15})
    top = 70 if "<br>" in title else 44 if title else 10
    fitted = bool(title and title_width)
    fig.update_layout(height=(height or 70 + 36 * n) + top - 44, margin={"l": 10, "r": 10, "t": top, "b": 40},
                      font=FONT, title={"text": title, "font": {"size": 18}} if title and not fitted else None,
                      plot_bgcolor="white", bargap=0.25)
    if fitted:
        set_title(fig, title.replace("<br>", " "), title_width)
    return fig


def _reference_boxes(image, boxes, labels, colors, title="", height=480):
    """photo.boxes_figure with its layout made by plotly's own calls (the figure itself is built by plotly)."""
    h, w = image.shape[:2]
    fig = photo.boxes_figure(image, boxes, labels, colors)  # its traces, shapes and labels
    fig.layout = {"shapes": fig.layout.shapes, "annotations": fig.layout.annotations}
    return _reference_photo_layout(fig, h, w, title, height)


MAP = np.random.default_rng(0).random((300, 420)).astype(np.float32)
PIXEL = (["road", "car", "a person on a bicycle"], np.array([0.62, 0.25, 0.125], np.float32),
         [(128, 64, 128), (0, 0, 142), (255, 255, 255)])
SIZES = [64, 128, 256, 512, 1024]
NETS = {"full resolution": [0.5, 2.0, 8.0, 32.5, 130.0], "hourglass": [0.1, 0.4, 1.6, 6.5, 26.0]}
LAYERS = ["stem", "enc1", "dec1", "head"]
PER_LAYER = {"full resolution": [1.5, 3.0, 3.0, 0.25], "hourglass": [1.5, 0.75, 3.0, 0.25]}
TITLE = "Memory of the activations against the image side, which grows with its square (0.5 GiB at 512)"
CASES = {
    "growth": lambda: (seg.growth_curves, reference_growth,
                       (SIZES, NETS, TITLE, "side (px)", "GiB"), {"mark_x": 512, "hlines": [(16.0, "a 16 GiB GPU")],
                                                                  "width_px": 420}),
    "growth_linear": lambda: (seg.growth_curves, reference_growth, (SIZES, NETS, "Parameters", "side", "count"),
                              {"log_y": False, "colors": {"a": "#b91c1c", "b": "#1d4ed8"}}),
    "bars_log": lambda: (seg.layer_bars, reference_bars, (LAYERS, PER_LAYER, TITLE, "GFLOPs"),
                         {"log_y": True, "width_px": 380}),
    "bars": lambda: (seg.layer_bars, reference_bars, (LAYERS, PER_LAYER, "MiB per layer", "MiB"), {}),
    "map": lambda: (photo.value_map, reference_value_map, (MAP,), {"title": "Probability of road, 0.5 means unsure",
                                                                   "title_width": 240, "zmin": 0.25}),
    "map_magma": lambda: (photo.value_map, reference_value_map, (MAP[:40, :50],),
                          {"colorscale": "Magma", "colorbar": "bits", "title": "Entropy"}),
    "map_plain": lambda: (photo.value_map, reference_value_map, (MAP[:8, :8],), {}),
    "boxes": lambda: (photo.boxes_figure, _reference_boxes, (np.zeros((30, 40, 3), np.uint8), np.array([[2, 3, 20, 25]]),
                                                             ["car 0.91"], [(0, 0, 142)]), {"title": "Objects"}),
    "pixel": lambda: (photo.distribution_bars, reference_distribution, PIXEL,
                      {"title": "Pixel (3, 4): the six most probable classes", "title_width": 200}),
    "pixel_br": lambda: (photo.distribution_bars, reference_distribution, PIXEL, {"title": "Pixel<br>(3, 4)"}),
    "pixel_bare": lambda: (photo.distribution_bars, reference_distribution, PIXEL, {"height": 300}),
    "lines": lambda: (seg.layer_lines, reference_lines, (LAYERS, PER_LAYER, TITLE, "pixels"),
                      {"bands": {"hourglass": [1.0, 0.5, 2.0, 0.25]}}),
}


def _json(fig) -> dict:
    return drop_empty(json.loads(pio.to_json(fig, validate=False)))


@pytest.mark.parametrize("name", sorted(CASES))
def test_plain_chart_is_the_plotly_built_one(name):
    fast, reference, args, kwargs = CASES[name]()
    assert _json(fast(*args, **kwargs)) == _json(reference(*args, **kwargs))


@pytest.mark.parametrize("presentation", [False, True])
@pytest.mark.parametrize("lang", ["en", "ro"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_plain_chart_is_what_validation_makes_of_it(name, lang, presentation):
    fast, _, args, kwargs = CASES[name]()
    spec = spec_of(fast(*args, **kwargs))
    spec = localize_spec(scale_spec(spec) if presentation else spec, lang)
    assert _json(figure_of(spec)) == _json(go.Figure(spec_of(spec)))
