"""Transposed convolution: the scatter of weighted kernel copies, four ways to see it, and a gallery."""
import functools

import numpy as np
import streamlit as st

from app_pages.ui import common, stepper, widgets
from core.figures.common import format_number
from core.figures.upsampling import (
    ORIGINAL,
    fitted_grid,
    fitted_spec,
    mark_cells,
    marked,
    matrix_figure,
    matrix_row,
    scatter_animation,
    scatter_zrange,
    signed,
)
from core.ops import transposed as tc

T = common.texts("transposed_convolution")
common.header(T)


@st.cache_data(max_entries=64, show_spinner=False)
def views(x: list, kernel: list, s: int, p: int, op: int, d: int) -> tc.LessonViews:
    """Every view of one parameter set (raises tc.ParameterError when torch would refuse it)."""
    return tc.lesson_views(x, kernel, s, p, op, d)


@st.cache_data(max_entries=16, show_spinner=False)
def gallery_case(key: str) -> tuple:
    return tc.gallery_trace(key)


# --- parameters -------------------------------------------------------------------------------------
st.subheader(T("params_title"))
row1, row2 = st.columns(3), st.columns(3)
n = row1[0].slider(T("input_size"), 1, 8, value=2, key="tc_i", bind="query-params", help=T("input_size_help"))
k = row1[1].slider(T("kernel_size"), 1, 5, value=3, key="tc_k", bind="query-params", help=T("kernel_size_help"))
s = row1[2].slider(T("stride"), 1, 4, value=2, key="tc_s", bind="query-params", help=T("stride_help"))
p = row2[0].slider(T("padding"), 0, 4, value=0, key="tc_p", bind="query-params", help=T("padding_help"))
op = row2[1].slider(T("output_padding"), 0, 3, value=0, key="tc_op", bind="query-params",
                    help=T("output_padding_help"))
d = row2[2].slider(T("dilation"), 1, 3, value=1, key="tc_d", bind="query-params", help=T("dilation_help"))

# A grid the student never edited follows the size slider with a fresh default; edited numbers are kept.
for key, size, make in (("tc_x", n, tc.default_input), ("tc_w", k, tc.default_kernel)):
    old = st.session_state.get(key)
    if old is not None and np.asarray(old).shape != (size, size) and np.array_equal(old, make(len(old))):
        widgets.reset_grid(key)

left, right = st.columns(2)
with left:
    x = widgets.number_grid("tc_x", tc.default_input(n), T("input_grid", n=n), shape=(n, n))
with right:
    kernel = widgets.number_grid("tc_w", tc.default_kernel(k), T("kernel_grid", k=k), shape=(k, k))

# --- the output size ------------------------------------------------------------------------------
st.subheader(T("size_title"))
st.markdown(T.md("formula"))
st.latex(tc.output_size_latex(n, k, s, p, op, d))
try:
    size = tc.conv_transpose_output_size(n, k, s, p, op, d)
    data = views(x.tolist(), kernel.tolist(), s, p, op, d)
except tc.ParameterError as e:
    st.error(T(f"err_{e.code}", **e.values) if T.has(f"err_{e.code}") else str(e))
    st.info(T("fix_params"))
    data = None

if data is not None:
    st.caption(T("size_summary", n=n, o=size, ratio=format_number(size / n)))
    scatter, zero, matrix = data.scatter, data.zero, data.matrix
    top, lft, oh, ow = scatter.crop
    ch, cw = scatter.canvas_shape

    # The step (an input cell) is shared by the views that show it: the scatter and the matrix each have their
    # own player in the browser, the zero-insertion view marks where the current input cell lands.
    n_steps = len(scatter.steps)
    step = scatter.steps[widgets.current_step("tc_step", n_steps)]
    widgets.keep_step("tc_step", 0)
    cropped = (top, lft, oh, ow) != (0, 0, ch, cw)

    def step_now(t) -> str:
        return T("step_now", i=t.i, j=t.j, v=format_number(t.value), r=t.anchor[0], c=t.anchor[1], s=s)

    # The open tab is kept in the address by its language-free name (?tc_view=matrix), so a shared link opens
    # the same view in either language and switching language keeps it; the tab widget holds only the label.
    names = ("scatter", "overlap", "zero", "matrix", "gallery")
    labels = {name: T(f"tab_{name}") for name in names}
    if st.session_state.get("tc_view") not in names:
        asked = st.query_params.get("tc_view")
        st.session_state["tc_view"] = asked if asked in names else names[0]
    st.session_state["tc_view__tab"] = labels[st.session_state["tc_view"]]

    def pick_view() -> None:
        st.session_state["tc_view"] = next(n for n, label in labels.items()
                                           if label == st.session_state["tc_view__tab"])

    tabs = st.tabs(list(labels.values()), key="tc_view__tab", on_change=pick_view)
    if st.session_state["tc_view"] == names[0]:
        st.query_params.pop("tc_view", None)
    else:
        st.query_params["tc_view"] = st.session_state["tc_view"]

    # --- 1. scatter --------------------------------------------------------------------------------
    with tabs[0]:
        if tabs[0].open is not False:
            st.markdown(T.md("scatter"))
            st.subheader(T("steps_title"))
            # One colour scale for all steps, so a cell's colour changes only when its number does.
            lo, hi = scatter.value_range()
            zrange = scatter_zrange(lo, hi)
            # Three grids in a row while the canvas is small; a wide canvas gets a row of its own under the
            # input and the copy, so that every grid keeps cells large enough to read.
            if cw <= 8:
                shares = [max(n, 2), max(k, 2), max(cw, 4)]
                rows = [tuple(shares)]
                widths = [common.column_px(v / sum(shares)) for v in shares]
            else:
                shares = [max(n, 2), max(k, 2)]
                rows = [tuple(shares), (1,)]
                widths = [common.column_px(v / sum(shares)) for v in shares] + [common.column_px(1.0)]

            @functools.cache
            def input_grid() -> dict:
                return stepper.final_spec(fitted_spec(x, T("fig_input"), widths[0]))

            def scatter_step(t: int, _everything: bool) -> stepper.Step:
                """Input cell ``t``: it, its weighted copy of the kernel, the running sum and what it adds there."""
                cell = scatter.steps[t]
                copy = cell.value * np.asarray(kernel)
                running = fitted_spec(cell.running, T("fig_running", t=t + 1, total=n_steps), widths[2], zrange=zrange)
                figures = [marked(input_grid(), highlight=[(cell.i, cell.j)]),
                           stepper.final_spec(fitted_spec(copy, T("fig_copy", v=format_number(cell.value)), widths[1])),
                           stepper.final_spec(marked(running, highlight=[(h.row, h.col) for h in cell.touches],
                                                     frame=(top, lft, oh, ow) if cropped else None))]
                # The additions laid out like the kernel copy itself: one table cell per output cell touched.
                rows_touched, cols_touched, by_cell = cell.touched()

                def addition(h) -> str:
                    return T("arith_cell" if h.kept else "arith_cell_cropped", before=signed(h.before),
                             v=signed(cell.value), w=signed(h.weight), after=format_number(h.after))

                header = [""] + [T("arith_col", c=c) for c in cols_touched]
                body = [[T("arith_row", r=r)] + [addition(by_cell[(r, c)]) for c in cols_touched] for r in rows_touched]
                caption = [step_now(cell), T("arith_title", v=format_number(cell.value), i=cell.i, j=cell.j),
                           stepper.Html(stepper.table_html(header, body))]
                if any(not h.kept for h in cell.touches):
                    caption.append(T("arith_cropped_note"))
                if not running["layout"]["meta"]["numbers"]:
                    caption.append(T("numbers_hidden"))
                return stepper.Step(figures, caption)

            stepper.step_through("tc_step", n_steps, scatter_step, rows=rows, label=T("step_label"),
                                 params=(x.tolist(), kernel.tolist(), s, p, op, d, widths))
            if cropped:
                st.caption(T("crop_note", p=p, op=op))

            st.markdown(T("final_title"))
            f1, f2 = st.columns(2)
            for place, grid, name in ((f1, scatter.output, T("fig_ours")), (f2, data.theirs, T("fig_torch"))):
                with place:
                    common.show_figure(fitted_spec(grid, name, common.column_px(0.5)))
            common.torch_check(scatter.output, data.theirs, what=T("torch_name"))

    # --- 2. overlaps and the checkerboard ---------------------------------------------------------
    with tabs[1]:
        if tabs[1].open is not False:
            st.markdown(T.md("overlaps"))
            counts, cmp = data.counts, data.compare
            common.show_figure(fitted_spec(counts, T("fig_counts"), common.column_px(1.0)))
            common.torch_check(counts, data.theirs_counts, what=T("torch_ones_name"))
            pattern = cmp.pattern[0]
            if len(set(pattern)) > 1:
                st.warning(T("pattern_uneven", s=s, k=k, d=d, counts=", ".join(map(str, pattern))))
            else:
                st.success(T("pattern_even", s=s, k=k, d=d, counts=", ".join(map(str, pattern))))
            st.markdown(T.md("resize"))
            g1, g2 = st.columns(2)
            with g1:
                common.show_figure(fitted_spec(cmp.transposed, T("fig_flat_transposed", m=max(n, 4)),
                                               common.column_px(0.5)))
                lo, hi = cmp.transposed_range
                st.caption(T("range_note", lo=format_number(lo), hi=format_number(hi)))
            with g2:
                common.show_figure(fitted_spec(cmp.resized, T("fig_flat_resized", s=s, m=max(n, 4)),
                                               common.column_px(0.5)))
                lo, hi = cmp.resized_range
                st.caption(T("range_note", lo=format_number(lo), hi=format_number(hi)))

    # --- 3. zero insertion ------------------------------------------------------------------------
    with tabs[2]:
        if tabs[2].open is not False:
            st.markdown(T.md("zero_insertion"))
            qh = zero.pad[0]
            st.markdown(T("zero_recipe", zeros=s - 1, q=qh, dk=d * (k - 1), p=p, op=op))
            for key, limit in (("tc_zr", oh - 1), ("tc_zc", ow - 1)):
                st.session_state[key] = min(int(st.session_state.get(key, 0)), limit)
            z1, z2 = st.columns(2)
            r = z1.slider(T("out_row"), 0, max(oh - 1, 1), key="tc_zr", disabled=oh == 1)
            c = z2.slider(T("out_col"), 0, max(ow - 1, 1), key="tc_zc", disabled=ow == 1)
            r, c = min(r, oh - 1), min(c, ow - 1)
            ph, pw = zero.padded.shape
            shares = [max(pw, 4), max(k, 4), max(ow, 4)]
            y1, y2, y3 = st.columns(shares)
            widths = [common.column_px(v / sum(shares)) for v in shares]
            with y1:
                fig = fitted_grid(zero.padded, T("fig_padded"), widths[0])
                mark_cells(fig, zero.input_cells(), ORIGINAL, width=2, dash="dot")
                mark_cells(fig, zero.window_cells(r, c))
                si, sj = (int(v) for v in zero.positions[step.i, step.j])
                if 0 <= si < ph and 0 <= sj < pw:
                    mark_cells(fig, [(si, sj)], "#16a34a", width=5)
                common.show_figure(fig)
            with y2:
                common.show_figure(fitted_spec(zero.flipped, T("fig_flipped"), widths[1]))
            with y3:
                common.show_figure(fitted_spec(zero.output, T("fig_zero_result"), widths[2], highlight=[(r, c)]))
            st.caption(T("zero_legend"))
            if np.array_equal(kernel, kernel[::-1, ::-1]):
                st.caption(T("flip_symmetric"))
            terms = [f"{signed(a)}·{signed(b)}" for a, b in zero.products(r, c)]
            st.markdown(T("zero_arith", r=r, c=c, terms=" + ".join(terms) if terms else "0",
                          value=format_number(float(zero.output[r, c]))))
            common.torch_check(zero.output, data.theirs, what=T("torch_name"))

    # --- 4. the matrix view and the gradient ------------------------------------------------------
    with tabs[3]:
        if tabs[3].open is not False:
            st.markdown(T.md("matrix"))
            rows, cols = matrix.c.shape
            st.markdown(T("matrix_shape", rows=rows, cols=cols, n=n, o=oh))
            if rows <= 36 and cols <= 121:
                row_labels = [f"x[{i},{j}]" for i in range(n) for j in range(n)]
                col_labels = [f"y[{i},{j}]" for i in range(oh) for j in range(ow)]

                @functools.cache
                def matrix_base() -> dict:
                    return stepper.final_spec(matrix_figure(matrix.c, matrix.x_flat, matrix.y_flat, row_labels,
                                                            col_labels, (T("fig_x_flat"), T("fig_matrix"),
                                                                         T("fig_y_flat")), highlight_row=0))

                def matrix_step(t: int, _everything: bool) -> stepper.Step:
                    """Row ``t`` of C: the kernel copy input cell ``t`` scatters."""
                    cell = scatter.steps[t]
                    return stepper.Step([matrix_row(matrix_base(), t)],
                                        [step_now(cell), T("matrix_caption", t=t, i=cell.i, j=cell.j)])

                stepper.step_through("tc_step", n_steps, matrix_step, label=T("step_label"), player="matrix",
                                     params=(x.tolist(), kernel.tolist(), s, p, op, d))
            else:
                st.info(T("matrix_too_big", rows=rows, cols=cols))
            if matrix.dropped_rows:
                st.caption(T("matrix_dropped", op=op, s=s))
            common.torch_check(matrix.output, data.theirs, what=T("torch_name"))
            st.markdown(T.md("autograd"))
            grad = data.grad
            common.beside_torch(grad.ours, grad.gradient, T("fig_ours"), T("fig_gradient"), what=T("autograd_name"))

    # --- 5. gallery -------------------------------------------------------------------------------
    with tabs[4]:
        if tabs[4].open is not False:
            st.markdown(T.md("gallery"))
            keys = [c.key for c in tc.GALLERY]
            chosen = common.choice(st.selectbox, T("case_pick"), keys, key="tc_case",
                                   format_func=lambda key: T(f"case_{key}"))
            case, gx, trace = gallery_case(chosen)
            go_size = tc.conv_transpose_output_size(case.input_size, case.kernel_size, case.stride, case.padding,
                                                    case.output_padding, case.dilation)
            st.markdown(T("case_params", i=case.input_size, k=case.kernel_size, s=case.stride, p=case.padding,
                          op=case.output_padding, d=case.dilation, o=go_size))
            st.markdown(T(f"case_{chosen}_note"))
            common.show_figure(scatter_animation(trace.steps, gx, trace.crop, trace.canvas_shape,
                                                 (T("fig_input"), T("fig_gallery_out")), T("play"), T("pause"),
                                                 T("gallery_step")), key=f"tc_anim_{chosen}")
            st.caption(T("gallery_caption"))

from app_pages.ui import transposed_extra  # channels C_in → C_out and a learned kernel

transposed_extra.show()

# --- check yourself ---------------------------------------------------------------------------------
st.markdown(T.md("recap"))
widgets.quiz(T, tc.transposed_questions, key="tc_quiz")

