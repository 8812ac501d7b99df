"""Max unpooling: pooling remembers where each maximum was, unpooling puts values back there."""
import functools

import pandas as pd
import streamlit as st
import torch
import torch.nn.functional as F

from app_pages.ui import common, stepper, widgets
from core.figures.common import format_number
from core.figures.upsampling import conceal, grid, grid_base, marked, memory_bars, pending, routing
from core.ops.pooling import (
    index_memory,
    max_pool2d_with_indices,
    max_pool_trace,
    max_unpool2d,
    max_unpool_trace,
    unpooling_questions,
)
from core.ops.resample import bed_of_nails, nearest_upsample

T = common.texts("max_unpooling")
common.header(T)

LECTURE_INPUT = [[1, 2, 6, 3], [3, 5, 2, 1], [1, 2, 2, 1], [7, 3, 4, 8]]
K = 2  # 2 × 2 windows, stride 2, as in the lecture and in SegNet

# --- 1. max pooling that remembers -----------------------------------------------------------------------
st.subheader(T("pool_title"))
x = torch.tensor(widgets.number_grid("mu_grid", LECTURE_INPUT, T("grid_label"), shape=(4, 4)))
pooled, idx = max_pool2d_with_indices(x[None], K)  # (1, 2, 2) each
pooled, idx = pooled[0], idx[0]
pool_steps = max_pool_trace(x, K)

# --- 2. the rest of the network ---------------------------------------------------------------------------
st.subheader(T("rest_title"))
st.markdown(T("rest_text"))
rest = torch.tensor(widgets.number_grid("mu_rest", [[1, 2], [3, 4]], T("rest_label"), shape=(2, 2)))
unpooled = max_unpool2d(rest[None], idx[None], K, output_size=(4, 4))[0]  # (4, 4)
routes = max_unpool_trace(rest, idx, (4, 4))

# --- step through both halves ------------------------------------------------------------------------------
st.subheader(T("walk_title"))
n_pool = len(pool_steps)
zrange = (min(float(x.min()), float(rest.min()), 0.0), max(float(x.max()), float(rest.max()), 0.0) or 1.0)
wide, narrow = common.column_px(4 / 8.8), common.column_px(2.4 / 8.8)  # each grid is laid out for its column


def computed(k: int, everything: bool):
    """What is computed up to step k: the first k+1 windows of pooling, then the first routes of unpooling, each
    of which fills its whole window of the unpooled map (the value at its remembered cell, zeros around it)."""
    windows = len(pool_steps) if everything or k >= n_pool else k + 1
    moved = len(routes) if everything else max(k - n_pool + 1, 0)
    pooled_done = pending(tuple(pooled.shape), [p.out for p in pool_steps[:windows]])
    unpooled_done = pending(tuple(unpooled.shape), [(r.src[0] * K + a, r.src[1] * K + b) for r in routes[:moved]
                                                    for a in range(K) for b in range(K)])
    return windows, moved, pooled_done, unpooled_done


@functools.cache
def grids() -> tuple[dict, dict, dict]:
    """The input, the pooled map and its indices as drawn for the page, laid out once for all the steps (each step
    marks its cells)."""
    return (stepper.final_spec(grid_base(x, T("input_title"), blocks=K, zrange=zrange, max_width_px=wide)),
            stepper.final_spec(grid_base(pooled, T("pooled_title"), zrange=zrange, cell_px=64, max_width_px=narrow)),
            stepper.final_spec(grid_base(idx, T("indices_title"), cell_px=64, max_width_px=narrow)))


def draw(k: int, everything: bool) -> stepper.Step:
    """Step ``k``: a pooling window (its maximum and where it was), or a value of the small map flying back."""
    windows, _, pooled_done, unpooled_done = computed(k, everything)
    remembered = [p.argmax for p in pool_steps[:windows]]
    input_grid, pooled_grid, idx_grid = grids()
    if k < n_pool:
        ps = pool_steps[k]
        (r0, c0), (r1, c1) = ps.cells[0], ps.cells[-1]
        figures = [
            marked(input_grid, window=(r0, c0, r1, c1), marks=remembered),
            marked(pooled_grid, highlight=[ps.out], hidden=pooled_done),
            marked(idx_grid, highlight=[ps.out], hidden=pooled_done),
        ]
        values = ", ".join(format_number(v) for v in ps.values)
        text = T("pool_step", wi=ps.out[0], wj=ps.out[1], r0=r0, r1=r1, c0=c0, c1=c1, values=values,
                 m=format_number(ps.value), r=ps.argmax[0], c=ps.argmax[1], idx=ps.index)
    else:
        rs = routes[k - n_pool]
        figures = [marked(input_grid, marks=remembered, sources=[rs.dest]), pooled_grid,
                   marked(idx_grid, highlight=[rs.src])]
        text = T("route_step", i=rs.src[0], j=rs.src[1], v=format_number(rs.value), idx=rs.index, r=rs.dest[0],
                 c=rs.dest[1])
    return stepper.Step(figures, text, pending=bool(pooled_done.any() or unpooled_done.any()))


k = stepper.step_through("mu_step", n_pool + len(routes), draw, params=(x.tolist(), rest.tolist()),
                         rows=[(4, 2.4, 2.4)], label=T("step_label"), show_all=True)
everything = widgets.shows_all("mu_step")
_, moved, _, unpooled_done = computed(k, everything)
current_route = k - n_pool if k >= n_pool else None
st.caption(T("indices_caption"))

ties = [s.out for s in pool_steps if sum(v == s.value for v in s.values) > 1]
if ties:
    st.warning(T("ties", windows=", ".join(f"({i}, {j})" for i, j in ties)))

# --- 3. unpooling: the routing ------------------------------------------------------------------------------
st.subheader(T("unpool_title"))
common.show_figure(routing(rest, unpooled, [(r.src, r.dest) for r in routes], current_route,
                           (T("rest_short"), T("unpooled_title")), block=K, shown=moved, hidden=unpooled_done),
                   key="mu_routing")

st.markdown(T("torch_title"))
ref_pooled, ref_idx = F.max_pool2d(x[None, None], K, return_indices=True)
common.torch_check(torch.stack([pooled, idx.double()]), torch.stack([ref_pooled[0, 0], ref_idx[0, 0].double()]),
                   what=T("torch_pool"))
common.torch_check(unpooled, F.max_unpool2d(rest[None, None], ref_idx, K, output_size=(4, 4))[0, 0],
                   what=T("torch_unpool"))

# --- 4. the same small map, three ways -------------------------------------------------------------------------
st.subheader(T("compare_title"))
st.markdown(T.md("compare"))
zrange = (min(float(rest.min()), 0.0), max(float(rest.max()), 0.0) or 1.0)  # the colours of the small map
ca, cb, cc = st.columns(3)
third = common.column_px(1 / 3)
with ca:
    common.show_figure(conceal(grid(unpooled, T("unpooled_title"), blocks=K, zrange=zrange, max_width_px=third), unpooled_done),
                       key="mu_cmp_unpool")
with cb:
    common.show_figure(grid(nearest_upsample(rest, K), T("nearest_title"), blocks=K, zrange=zrange, max_width_px=third),
                       key="mu_cmp_nearest")
with cc:
    common.show_figure(grid(bed_of_nails(rest, K), T("nails_title"), blocks=K, zrange=zrange, max_width_px=third),
                       key="mu_cmp_nails")

# --- 5. why SegNet stores indices ------------------------------------------------------------------------------
st.markdown(T.md("segnet"))
m1, m2, _ = st.columns([1, 1, 3])
height = m1.number_input(T("mem_height"), min_value=32, max_value=4096, value=360, step=8, key="mu_h",
                         bind="query-params")
width = m2.number_input(T("mem_width"), min_value=32, max_value=4096, value=480, step=8, key="mu_w",
                        bind="query-params")
rows = index_memory(int(height), int(width))
mib = 2.0 ** 20
table = pd.DataFrame({
    T("col_block"): [f"{r.block}" for r in rows],
    T("col_map"): [f"{r.channels} × {r.size[0]} × {r.size[1]}" for r in rows],
    T("col_features"): [r.feature_bytes / mib for r in rows],
    T("col_int64"): [r.index_bytes_int64 / mib for r in rows],
    T("col_2bit"): [r.index_bytes_2bit / mib for r in rows],
})
common.dataframe(table, hide_index=True, width="stretch",
             column_config={name: st.column_config.NumberColumn(format="%.2f")
                            for name in (T("col_features"), T("col_int64"), T("col_2bit"))})
total_f = sum(r.feature_bytes for r in rows) / mib
total_i = sum(r.index_bytes_int64 for r in rows) / mib
total_b = sum(r.index_bytes_2bit for r in rows) / mib
st.markdown(T("mem_total", h=int(height), w=int(width), f=f"{total_f:.1f}", i=f"{total_i:.1f}",
              b=f"{total_b:.2f}", ratio=f"{total_f / total_b:.0f}"))
common.show_figure(memory_bars([T("block_n", n=r.block) for r in rows], {
    T("col_features"): [r.feature_bytes / mib for r in rows],
    T("col_int64"): [r.index_bytes_int64 / mib for r in rows],
    T("col_2bit"): [r.index_bytes_2bit / mib for r in rows],
}, T("mem_chart_title", h=int(height), w=int(width)), "MiB"), key="mu_mem")

widgets.quiz(T, unpooling_questions, key="mu_quiz")
