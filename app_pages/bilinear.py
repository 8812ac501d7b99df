"""Bilinear interpolation: one output pixel at a time, its four neighbours and their weights as areas."""
import functools

import streamlit as st
import torch
import torch.nn.functional as F

from app_pages.ui import common, stepper, widgets
from core.figures.common import figure_of, grid_heatmap
from core.figures.upsampling import (
    clickable,
    grid,
    grid_base,
    linear_strip,
    marked,
    pending,
    unit_square_spec,
    weighted_sum_latex,
    weights_latex,
)
from core.ops.resample import (
    bilinear_questions,
    bilinear_step,
    bilinear_upsample,
    bilinear_upsample_weight,
    coordinate_formula,
    linear_taps,
)
from core.ops.transposed import conv_transpose2d

T = common.texts("bilinear")
common.header(T)

c1, c2, c3 = st.columns([2, 2, 1.9])  # "align_corners" whole on its line, on a projector too
with c1:
    rows = st.slider(T("in_rows"), 2, 4, value=2, key="bl_rows", bind="query-params")
    cols = st.slider(T("in_cols"), 2, 4, value=2, key="bl_cols", bind="query-params")
with c2:
    out_rows = st.slider(T("out_rows"), 2, 8, value=4, key="bl_out_rows", bind="query-params")
    out_cols = st.slider(T("out_cols"), 2, 8, value=4, key="bl_out_cols", bind="query-params")
with c3:
    ac = st.toggle("align_corners", value=False, key="bl_ac", bind="query-params", help=T("ac_help"))

x = torch.tensor(widgets.number_grid("bl_grid", [[1, 2], [3, 4]], T("grid_label"), shape=(rows, cols)))
y = bilinear_upsample(x, (out_rows, out_cols), align_corners=ac)  # (out_rows, out_cols)

# --- pick an output pixel: step control, two selectors, or a click on the output grid --------------------
st.subheader(T("pick_title"))
st.caption(T("pick_help"))


def _go_to(row: int, col: int) -> None:
    st.session_state["bl_step"] = row * st.session_state.get("bl_out_cols", out_cols) + col


def _picked_by_selectors() -> None:
    _go_to(int(st.session_state["bl_row"]), int(st.session_state["bl_col"]))


START = out_cols + min(2, out_cols - 1)  # start on an off-grid pixel: (1, 2)
i, j = divmod(widgets.current_step("bl_step", out_rows * out_cols, START), out_cols)
st.session_state["bl_row"], st.session_state["bl_col"] = i, j
s1, s2, _ = st.columns([1, 1, 4])
s1.selectbox(T("out_row"), range(out_rows), key="bl_row", on_change=_picked_by_selectors)
s2.selectbox(T("out_col"), range(out_cols), key="bl_col", on_change=_picked_by_selectors)

names = [T("tl"), T("tr"), T("bl"), T("br")]
zrange = (min(float(x.min()), 0.0), max(float(x.max()), 0.0) or 1.0)
third = common.column_px(1 / 3)  # each grid sizes its cells to fit its column


@functools.cache
def grids() -> tuple[dict, dict]:
    """The input and the output grid as drawn for the page, laid out once for all the steps (each step marks its
    cells); a click on an output cell is a click on its point."""
    output = clickable(figure_of(grid_base(y, T("output_title", h=out_rows, w=out_cols), zrange=zrange,
                                           max_width_px=third)), out_rows, out_cols)
    return (stepper.final_spec(grid_base(x, T("input_title", h=rows, w=cols), zrange=zrange, max_width_px=third)),
            stepper.final_spec(output))


def draw(k: int, everything: bool) -> stepper.Step:
    """Output pixel ``k`` (reading order): where it samples the input, its four weights as areas, and the output
    computed up to it (all of it with "show all"); a click on an output cell goes to that pixel."""
    r, c = divmod(k, out_cols)
    at = bilinear_step(x, (out_rows, out_cols), (r, c), align_corners=ac)
    corner_labels = [f"x[{a},{b}]" for a, b in at.taps]
    input_grid, output_grid = grids()
    figures = [
        marked(input_grid, taps=at.taps, point=at.u),
        stepper.final_spec(unit_square_spec(at.frac, at.weights, at.values, corner_labels, T("square_title"))),
        marked(output_grid, highlight=[(r, c)], hidden=pending((out_rows, out_cols), None if everything else k + 1)),
    ]
    text = T("input_caption", ur=f"{at.u[0]:.4g}", uc=f"{at.u[1]:.4g}")
    if len(set(at.taps)) < 4:  # at the last row or column the neighbour beyond is the border pixel itself
        text += "\n\n" + T("border_note")
    return stepper.Step(figures, text)


k = stepper.step_through("bl_step", out_rows * out_cols, draw, params=(x.tolist(), out_rows, out_cols, ac),
                         rows=[(3, 3, 3)], label=T("step_label"), show_all=True, default=START, click=(2, out_cols))
i, j = divmod(k, out_cols)
step = bilinear_step(x, (out_rows, out_cols), (i, j), align_corners=ac)
(r0, c0) = step.taps[0]

with st.container(border=True):
    formula = T("formula_ac") if ac else T("formula_half")
    st.markdown(T("coord_intro", formula=formula))
    st.markdown(T("coord_row", i=i, text=coordinate_formula(i, rows, out_rows, ac)))
    st.markdown(T("coord_col", j=j, text=coordinate_formula(j, cols, out_cols, ac)))
    st.markdown(T("frac_line", r0=r0, c0=c0, fr=f"{step.frac[0]:.4g}", fc=f"{step.frac[1]:.4g}"))
    st.latex(common.localized(weights_latex(step.frac, step.weights, names), math=True))
    st.markdown(T("sum_line", i=i, j=j))
    st.latex(common.localized(weighted_sum_latex(step.weights, step.values, step.result), math=True))

common.torch_check(y, F.interpolate(x[None, None], size=(out_rows, out_cols), mode="bilinear",
                                    align_corners=ac)[0, 0], what=T("torch_bilinear"))

st.markdown(T.md("coordinates"))

# --- the 1-D intuition ------------------------------------------------------------------------------------
st.markdown(T.md("strip"))
lo, hi, w_lo, w_hi, u_cols = linear_taps(cols, out_cols, ac)
strip_row = step.taps[0][0]
common.show_figure(linear_strip(x[strip_row].tolist(), u_cols, j, {
    "input": T("strip_input"), "output": T("strip_output"), "axis": T("strip_axis"),
    "title": T("strip_title", r=strip_row)}), key="bl_strip")
st.caption(T("strip_caption", j=j, u=f"{u_cols[j]:.4g}", lo=int(lo[j]), hi=int(hi[j]),
             wlo=f"{w_lo[j]:.4g}", whi=f"{w_hi[j]:.4g}"))
st.markdown(T.md("separable"))

# --- the bilinear kernel as a fixed transposed convolution (FCN) ------------------------------------------
st.markdown(T.md("kernel"))
scale = st.slider(T("kernel_scale"), 2, 4, value=2, key="bl_kscale", bind="query-params")
weight, stride, padding = bilinear_upsample_weight(1, scale)  # (1, 1, k, k)
ksize = weight.shape[-1]
up_tc = conv_transpose2d(x[None, None], weight, stride=stride, padding=padding)[0, 0]  # (s·rows, s·cols)
up_bi = bilinear_upsample(x, (scale * rows, scale * cols))
ka, kb, kc = st.columns(3)
with ka:
    common.show_figure(grid_heatmap(weight[0, 0], T("kernel_title", k=ksize), digits=4 if ksize <= 5 else 3,
                                    cell_px=44, max_width_px=third), key="bl_kernel")
    peak = weight[0, 0].max().item()  # the tent's top: one cell of 1 for an odd s, shared cells below 1 for an even s
    tops = int((weight[0, 0] == peak).sum())
    st.caption(T("kernel_caption", k=ksize, s=stride, p=padding) + " " + (
        T("kernel_peak_one", s=scale) if tops == 1 and peak == 1 else
        T("kernel_peak_shared", s=scale, n=tops, peak=peak, side=peak ** 0.5)))
with kb:
    common.show_figure(grid(up_tc, T("tc_title"), zrange=zrange, blocks=scale, max_width_px=third), key="bl_tc")
with kc:
    common.show_figure(grid(up_bi, T("bi_title"), zrange=zrange, blocks=scale, max_width_px=third), key="bl_bi")
common.torch_check(up_tc, F.conv_transpose2d(x[None, None], weight, stride=stride, padding=padding)[0, 0],
                   what=T("torch_tc"))
m = (scale + 1) // 2  # the border where kernel copies run off the grid
inner = (up_tc - up_bi)[m:-m, m:-m].abs().max().item() if min(up_tc.shape) > 2 * m else 0.0
border = (up_tc - up_bi).abs().max().item()
st.markdown(T("kernel_compare", m=m, inner=f"{inner:.2g}", border=f"{border:.3g}"))

widgets.quiz(T, bilinear_questions, key="bl_quiz")
