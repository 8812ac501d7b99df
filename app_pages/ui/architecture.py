"""What the architecture pages share: the input-size widgets, the live diagram, the per-layer table.

The words come from ``lessons/<lang>/arch_common.toml``; the numbers from :mod:`core.models.inspect`
run on the cached models of :mod:`app_pages.ui.loaders`.
"""
from __future__ import annotations

import inspect
import math

import pandas as pd
import streamlit as st

from app_pages.ui import common, loaders
from core.figures.architectures import architecture_diagram
from core.figures.common import scale_for_projector
from core.models.inspect import edges_of, stage_boxes, totals

# How much presentation mode enlarges a figure's fonts (the default factor of scale_for_projector).
PROJECTOR = inspect.signature(scale_for_projector).parameters["factor"].default

MAX_SIDE = 512  # small models run on real numbers: keep a CPU answer quick
MAX_SIDE_PAPER = 1024  # paper-size models are only measured (meta tensors), so larger inputs are fine


def grow() -> float:
    """How much the figures grow once drawn: :data:`PROJECTOR` in presentation mode, else 1."""
    return PROJECTOR if common.presentation() else 1.0


def words():
    return common.texts("arch_common")


def size_inputs(prefix: str, default=(96, 128), max_side: int = MAX_SIDE) -> tuple[int, int]:
    """Height and width of the input, both kept in the URL; any side from 32 (odd sizes too)."""
    W = words()
    a, b = st.columns(2)
    h = a.number_input(W("height"), min_value=32, max_value=max_side, value=default[0], step=1,
                       key=f"{prefix}_h", bind="query-params")
    w = b.number_input(W("width"), min_value=32, max_value=max_side, value=default[1], step=1,
                       key=f"{prefix}_w", bind="query-params")
    return int(h), int(w)


def clamp_state(key: str, lo: int, hi: int) -> None:
    """Keep a slider's remembered value inside its range when the range shrinks (a smaller input, a branch)."""
    if key in st.session_state:
        st.session_state[key] = min(max(st.session_state[key], lo), hi)


def diagram(name: str, num_classes: int, h: int, w: int, paper: bool = False, highlight: str | None = None,
            key: str | None = None, options: tuple = ()):
    """Draw the live diagram of ``name`` at ``h × w``; returns ``(graph, trace, boxes)``."""
    W = words()
    graph, tr = loaders.traced(name, num_classes, paper, h, w, options)
    boxes = stage_boxes(graph, tr)
    # the labels fit their boxes at the width the diagram gets, and after presentation mode enlarges it
    fig = architecture_diagram(boxes, edges_of(graph, boxes), W.table("edges"), (h, w), hover=W("hover"),
                               highlight=highlight, width_px=common.column_px(1),
                               grow=grow())
    common.show_figure(fig, key=key)
    st.caption(W("diagram_caption", h=h, w=w))
    return graph, tr, boxes


def metrics(tr) -> None:
    """Parameters, FLOPs, output shape and the largest receptive field of one trace."""
    W = words()
    t = totals(tr.rows)
    out = tr.output
    shape = tuple(out.shape[1:]) if hasattr(out, "shape") else ()
    cols = st.columns(4)
    cols[0].metric(W("params_metric"), W("mb", v=tr.total_params / 1e6))
    cols[1].metric(W("flops_metric"), W("gflops", v=tr.total_flops / 1e9))
    cols[2].metric(W("output_metric"), "×".join(str(s) for s in shape))
    cols[3].metric(W("rf_metric"), W("px", v=t["rf"]))


def layer_frame(rows, ops: set[str] | None = None) -> pd.DataFrame:
    """The per-layer table in the session's language (``ops`` keeps only those kinds)."""
    W = words()
    names = W.table("ops")
    kept = [r for r in rows if ops is None or r.op in ops]
    return pd.DataFrame({
        W("col_index"): [r.index for r in kept],
        W("col_module"): [r.module or "·" for r in kept],
        W("col_op"): [names.get(r.op, r.op) for r in kept],
        W("col_detail"): [r.detail for r in kept],
        W("col_shape"): ["×".join(str(s) for s in r.shape[1:]) for r in kept],
        W("col_params"): [r.params for r in kept],
        W("col_flops"): [r.flops for r in kept],
        W("col_rf"): [r.rf if math.isfinite(r.rf) else None for r in kept],
        W("col_stride"): [r.jump for r in kept],
    })


def layer_table(rows, ops: set[str] | None = None, height: int = 360) -> None:
    W = words()
    frame = layer_frame(rows, ops)
    common.dataframe(frame, hide_index=True, height=height, width="stretch", column_config={
        W("col_params"): st.column_config.NumberColumn(format="localized"),
        W("col_flops"): st.column_config.NumberColumn(format="compact"),
        W("col_rf"): st.column_config.NumberColumn(format="%.0f"),
        W("col_stride"): st.column_config.NumberColumn(format="%.3g"),
    })
