"""Nearest neighbour and bed of nails: the two simplest ways to make a map s times larger."""
import functools

import streamlit as st
import torch
import torch.nn.functional as F

from app_pages.ui import common, stepper, widgets
from core.figures.common import format_number
from core.figures.upsampling import grid_base, marked, pending
from core.ops.resample import (
    bed_of_nails,
    nearest_questions,
    nearest_trace,
    nearest_upsample,
)

T = common.texts("nearest_bed_of_nails")
common.header(T)

c1, c2, c3 = st.columns(3)
rows = c1.slider(T("rows"), 1, 4, value=2, key="nb_rows", bind="query-params")
cols = c2.slider(T("cols"), 1, 4, value=2, key="nb_cols", bind="query-params")
s = c3.slider(T("scale"), 2, 4, value=2, key="nb_scale", bind="query-params")

x = torch.tensor(widgets.number_grid("nb_grid", [[1, 2], [3, 4]], T("grid_label"), shape=(rows, cols)))
near = nearest_upsample(x, s)  # (s·rows, s·cols)
nails = bed_of_nails(x, s)  # (s·rows, s·cols)
steps = nearest_trace(x, s)

st.subheader(T("walk_title"))
zrange = (min(float(x.min()), 0.0), max(float(x.max()), 0.0) or 1.0)
small, wide = common.column_px(2 / 8), common.column_px(3 / 8)  # each grid is laid out for its column


@functools.cache
def grids() -> tuple[dict, dict, dict]:
    """The three grids as drawn for the page, laid out once for all the steps (each step marks its cells)."""
    return (stepper.final_spec(grid_base(x, T("input_title", h=rows, w=cols), zrange=zrange, max_width_px=small)),
            stepper.final_spec(grid_base(near, T("nearest_title", h=rows * s, w=cols * s), blocks=s, zrange=zrange,
                                         max_width_px=wide)),
            stepper.final_spec(grid_base(nails, T("nails_title", h=rows * s, w=cols * s), blocks=s, zrange=zrange,
                                         max_width_px=wide)))


def draw(k: int, everything: bool) -> stepper.Step:
    """Step ``k``: the input cell read, the output cell written, and only the cells computed so far (reading
    order, up to this step) unless "show all" is on."""
    step = steps[k]
    (i, j), (si, sj) = step.out, step.src
    hidden = pending(tuple(near.shape), None if everything else [t.out for t in steps[:k + 1]])
    small_grid, near_grid, nails_grid = grids()
    figures = [marked(small_grid, sources=[step.src]), marked(near_grid, highlight=[step.out], hidden=hidden),
               marked(nails_grid, highlight=[step.out], hidden=hidden)]
    v = format_number(step.value)
    nail = (T("nails_step_hit", i=i, j=j, s=s, si=si, sj=sj, v=v) if step.nail
            else T("nails_step_hole", i=i, j=j, s=s, ri=i % s, rj=j % s))
    return stepper.Step(figures, T("nearest_step", i=i, j=j, s=s, si=si, sj=sj, v=v) + "\n\n" + nail,
                        pending=bool(hidden.any()))


stepper.step_through("nb_step", len(steps), draw, params=(rows, cols, s, x.tolist()), rows=[(2, 3, 3)],
                     label=T("step_label"), show_all=True)

st.markdown(T.md("nearest"))
st.markdown(T.md("bed_of_nails"))

st.subheader(T("torch_title"))
common.torch_check(near, F.interpolate(x[None, None], scale_factor=s, mode="nearest")[0, 0],
                   what=T("torch_nearest"))
one_hot = torch.zeros(1, 1, s, s, dtype=x.dtype)
one_hot[0, 0, 0, 0] = 1.0  # bed of nails is a transposed convolution whose kernel is a single 1
common.torch_check(nails, F.conv_transpose2d(x[None, None], one_hot, stride=s)[0, 0], what=T("torch_nails"))
st.markdown(T.md("relations"))

widgets.quiz(T, nearest_questions, key="nb_quiz")
