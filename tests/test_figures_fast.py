"""The figures built as plain data (core.figures.common.spec_of / figure_of) are what plotly's own validation
makes of them: the grids of several pages, in English and Romanian, on a laptop and in presentation mode."""
import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest
import torch

from core import models
from core.data.constants import STREET_CLASSES, STREET_COLORS
from core.figures import architectures, segmentation, upsampling
from core.figures.common import (
    figure_of,
    grid_heatmap,
    scale_for_projector,
    scale_spec,
    set_title,
    spec_of,
)
from core.figures.localize import localize_figure, localize_spec
from core.models.inspect import edges_of, graph_trace, stage_boxes
from tests.conftest import drop_empty


def _figures():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 4)).round(3)
    labels = rng.integers(0, len(STREET_CLASSES), size=(6, 8))
    bars = upsampling.metric_bars(["nearest", "bilinear"], [0.25, 0.5], "Mean IoU 0.5 of 2 methods", best="bilinear")
    titled = set_title(go.Figure(go.Bar(x=["a", "b"], y=[1.5, 2.5], text=["1.5", "2.5"], textfont={"size": 12})),
                       "A long title with 2.5 numbers that wraps over more than one line", 220)
    graph, tr = graph_trace(models.build("unet", 6).eval(), torch.zeros(1, 3, 64, 64))
    boxes = stage_boxes(graph, tr)
    diagram = architectures.architecture_diagram(boxes, edges_of(graph, boxes), {"skip": "skip 1.5"}, (64, 64),
                                                 hover="%{key} 0.5", highlight=next(iter(boxes)), width_px=700)
    return {
        "diagram": diagram,
        "mosaic": architectures.feature_mosaic(rng.normal(size=(5, 6, 6))),
        "map_row": architectures.map_row([x, -x, x * 2.5], ["term 1", "sum 0.5", "a long title of ReLU"], diverging=True,
                                         width_px=400, grow=1.45),
        "map_row_shared": architectures.map_row([x, x + 1], ["a", "b"], shared_range=True),
        "grid": grid_heatmap(x, "Input x (4 × 4), values 0.5 apart", highlight=[(1, 2)]),
        "grid_labels": grid_heatmap(x[:2], "", row_labels=["a", "b"], col_labels=list("wxyz"), max_width_px=200),
        "grid_plain": grid_heatmap(np.arange(120.0).reshape(10, 12) / 7, "Many cells", show_numbers=False),
        "upsampling_grid": upsampling.grid(np.kron(x, np.ones((2, 2))), "Nearest ×2", highlight=[(0, 1)],
                                           sources=[(0, 0)], blocks=2),
        "fitted": upsampling.fitted_grid(x, "Fitted 1.25", width_px=300),
        "image_panels": upsampling.image_panels([rng.random((6, 8, 3)), rng.random((3, 4, 3)), rng.random((6, 8))],
                                                ["Truth 0.5 wide", "", "Error<br>MAE 0.25"], cols=2, error_max=0.5,
                                                width_px=500),
        "unit_square": upsampling.unit_square((0.25, 0.75), [0.1875, 0.5625, 0.0625, 0.1875], [1.0, 2.5, 3.0, 4.0],
                                              ["x[0,0]", "x[0,1]", "x[1,0]", "x[1,1]"], "Weights 0.25 × 0.75"),
        "unit_square_corner": upsampling.unit_square((0.0, 0.0), [1.0, 0.0, 0.0, 0.0], [1.0, 2.0, 3.0, 4.0],
                                                     ["a", "b", "c", "d"]),
        "step_grid": figure_of(upsampling.marked(upsampling.grid_base(x, "A step 0.5", blocks=2, max_width_px=300),
                                                 taps=[(0, 0), (0, 1), (1, 0), (1, 1)], point=(0.25, 0.5),
                                                 window=(2, 2, 3, 3), marks=[(3, 3)], highlight=[(2, 1)],
                                                 hidden=upsampling.pending((4, 4), 6))),
        "label_grid": segmentation.label_grid(labels, STREET_CLASSES, STREET_COLORS, "Labels", highlight=(1, 2)),
        "bars": bars,
        "titled": titled,
    }


FIGURES = _figures()


def _json(fig: go.Figure) -> dict:
    return drop_empty(json.loads(pio.to_json(fig, validate=False)))


@pytest.mark.parametrize("presentation", [False, True])
@pytest.mark.parametrize("lang", ["en", "ro"])
@pytest.mark.parametrize("name", sorted(FIGURES))
def test_fast_figure_is_what_validation_makes_of_it(name, lang, presentation):
    spec = spec_of(FIGURES[name])
    if presentation:
        spec = scale_spec(spec)
    spec = localize_spec(spec, lang)
    fast = figure_of(spec)
    validated = go.Figure(spec_of(spec))  # plotly checks and coerces every property of the same data
    assert _json(fast) == _json(validated)
    # the figure-level functions give the same figure as the plain-data steps the page uses
    fig = scale_for_projector(FIGURES[name]) if presentation else FIGURES[name]
    assert _json(localize_figure(fig, lang)) == _json(fast)


def test_spec_steps_leave_the_original_alone():
    fig = FIGURES["grid"]
    before = _json(fig)
    localize_spec(scale_spec(spec_of(fig)), "ro")
    assert _json(fig) == before
    ro = _json(localize_figure(scale_for_projector(fig), "ro"))
    assert ro["layout"]["separators"].startswith(",")
    assert ro["layout"]["height"] > before["layout"]["height"]
    assert any("0,5" in a["text"] for a in ro["layout"]["annotations"])


@pytest.mark.parametrize("name", ["grid", "upsampling_grid", "titled"])
def test_what_a_page_sends_is_the_figure(name):
    from app_pages.ui.common import _Drawn

    spec = localize_spec(scale_spec(spec_of(FIGURES[name])), "ro")
    sent = json.loads(pio.to_json(_Drawn(spec_of(spec)).to_dict(), validate=False))
    assert drop_empty(sent) == _json(go.Figure(spec_of(spec)))
