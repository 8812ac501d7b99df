"""Compare all: one image shrunk and grown back by every method of the lecture, with its error."""
import math

import pandas as pd
import streamlit as st
import torch

from app_pages.ui import common, widgets
from core.figures.upsampling import image_panels, metric_bars
from core.ops.compare import (
    DOWNSAMPLINGS,
    PATTERNS,
    SCALES,
    compare_questions,
    compare_upsampling,
    synthetic_image,
)

T = common.texts("compare_upsampling")
common.header(T)

# The two choices are mirrored in the address by their language-free keys (?cu_pattern=rings), as app.py
# does for the language: a bound widget would write its translated label there instead.
for key, options in (("cu_pattern", PATTERNS), ("cu_down", DOWNSAMPLINGS)):
    if key not in st.session_state:
        asked = st.query_params.get(key)
        st.session_state[key] = asked if asked in options else options[0]

c1, c2, c3 = st.columns([2, 2, 2])
pattern = c1.radio(T("pattern"), PATTERNS, key="cu_pattern", horizontal=True, format_func=lambda p: T(f"pattern_{p}"))
scale = c2.select_slider(T("scale"), SCALES, value=2, key="cu_scale", bind="query-params")
how = c3.radio(T("downsampling"), DOWNSAMPLINGS, key="cu_down", horizontal=True, format_func=lambda d: T(f"down_{d}"))
for key, value, default in (("cu_pattern", pattern, PATTERNS[0]), ("cu_down", how, DOWNSAMPLINGS[0])):
    if value == default:
        st.query_params.pop(key, None)
    else:
        st.query_params[key] = value

image = synthetic_image(pattern)  # (3, H, W) in [0, 1]
result = compare_upsampling(image, scale, how)
h, w = result.truth.shape[-2:]
lh, lw = result.low.shape[-2:]
names = {m: T(f"method_{m}") for m in (r.method for r in result.results)}

st.markdown(T.md("setup"))
common.show_figure(image_panels(
    [result.truth.permute(1, 2, 0).numpy(), result.low.permute(1, 2, 0).numpy()],
    [T("truth_title", h=h, w=w), T("low_title", h=lh, w=lw, s=scale, how=T(f"down_{how}").lower())],
    cols=2, panel_px=300, width_px=common.column_px(1.0)), key="cu_inputs")

st.subheader(T("results_title", s=scale))
ERROR_MAX = 0.5  # error maps saturate at half the range, so small errors stay visible
panels = [r.image.permute(1, 2, 0).numpy() for r in result.results] + [r.error_map.numpy() for r in result.results]
titles = [f"{names[r.method]}<br>PSNR {r.psnr:.1f} dB" for r in result.results] + \
         [T("error_title", mae=f"{r.mae:.3f}") for r in result.results]
common.show_figure(image_panels(panels, titles, cols=len(result.results), panel_px=230, error_max=ERROR_MAX,
                                width_px=common.column_px(1.0)),
                   key="cu_results")
st.caption(T("panels_caption", emax=ERROR_MAX))

best_psnr = max(result.results, key=lambda r: r.psnr).method
left, right = st.columns([3, 2])
with left:
    table = pd.DataFrame({
        T("col_method"): [names[r.method] for r in result.results],
        "MAE ↓": [r.mae for r in result.results],
        "RMSE ↓": [r.rmse for r in result.results],
        "PSNR (dB) ↑": [r.psnr if math.isfinite(r.psnr) else float("nan") for r in result.results],
        T("col_torch"): [r.torch_delta for r in result.results],
    })
    common.dataframe(table, hide_index=True, width="stretch", column_config={
        "MAE ↓": st.column_config.NumberColumn(format="%.4f"),
        "RMSE ↓": st.column_config.NumberColumn(format="%.4f"),
        "PSNR (dB) ↑": st.column_config.NumberColumn(format="%.2f"),
        T("col_torch"): st.column_config.NumberColumn(format="%.1e"),
    })
    st.markdown(T("best", psnr=names[best_psnr], mae=names[result.best()]))
    common.torch_check(torch.stack([r.image for r in result.results]),
                       torch.stack([r.reference for r in result.results]), what=T("torch_all"))
with right:
    common.show_figure(metric_bars([names[r.method] for r in result.results], [r.psnr for r in result.results],
                                   T("psnr_chart"), best=names[best_psnr], width_px=common.column_px(0.4)),
                       key="cu_bars")

st.markdown(T.md("reading"))
widgets.quiz(T, compare_questions, key="cu_quiz")
