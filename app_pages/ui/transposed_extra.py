"""The transposed-convolution page's last section: several channels (C_in → C_out), and a kernel that learns.

Kept out of the page script so the page's own layout and tabs can change without touching this: the page
calls :func:`show` once. Its words are ``lessons/<lang>/transposed_extra.*``.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.ui import common
from core import lessons
from core.figures.upsampling import fitted_spec
from core.ops import transposed_learned as tl

KEY = "tcx"  # prefix of this section's session and address keys
STEPS = [50, 100, 300, 1000]  # training lengths offered (a few hundred steps take a fraction of a second)
KERNELS = [2, 3, 4, 5]


@st.cache_resource(max_entries=32, show_spinner=False)  # read only: drawn, never changed
def _channels(c_in: int, c_out: int, kernel_size: int, stride: int, seed: int) -> tl.ChannelView:
    return tl.channel_view(c_in, c_out, 2, kernel_size, stride, 0, seed)


@st.cache_data(max_entries=1, show_spinner=False)
def _probe():
    """The held-out grey street picture every snapshot gives back."""
    return tl.probe_picture(tl.LearnConfig())[0, 0].numpy()


@st.cache_data(max_entries=8, show_spinner=False)
def _start(kernel_size: int) -> tl.Snapshot:
    """The random kernel before any training step (step 0)."""
    return next(tl.learn_inverse(1, tl.LearnConfig(kernel_size=kernel_size)))[2]


def _count_form(n: int) -> str:
    """Which plural a count takes: "one" (1), "few" (2–19, and 101–119 …) or "many" (20, 100, 300 …): English
    writes few and many alike; Romanian puts "de" before the noun from 20 on ("20 de pași")."""
    if n == 1:
        return "one"
    return "few" if n % 100 < 20 and n % 100 != 0 else "many"


def show() -> None:
    T = common.texts("transposed_extra")
    st.header(T("title_section"))
    channels(T)
    learned(T)


@st.fragment  # its own widgets rerun only this section, not the rest of the page
def channels(T) -> None:
    st.subheader(T("ch_title"))
    st.markdown(T.md("channels"))
    c = st.columns(5)
    c_in = c[0].number_input(T("ch_in"), 1, 3, value=2, step=1, key=f"{KEY}_cin", bind="query-params")
    c_out = c[1].number_input(T("ch_out"), 1, 3, value=2, step=1, key=f"{KEY}_cout", bind="query-params")
    k = c[2].number_input(T("ch_k"), 1, 3, value=2, step=1, key=f"{KEY}_k", bind="query-params")
    s = c[3].number_input(T("ch_s"), 1, 3, value=1, step=1, key=f"{KEY}_s", bind="query-params")
    seed = c[4].number_input(T("ch_seed"), 0, 999, value=0, step=1, key=f"{KEY}_seed", bind="query-params")
    v = _channels(int(c_in), int(c_out), int(k), int(s), int(seed))
    st.markdown(T("ch_shapes", c_in=c_in, c_out=c_out, k=k, o=v.theirs.shape[-1]))
    width = common.column_px(1 / (1 + 2 * v.weight.shape[1]))  # every grid is laid out for its column
    for i in range(v.x.shape[0]):
        row = st.columns(1 + 2 * v.weight.shape[1])
        with row[0]:
            common.show_figure(fitted_spec(v.x[i], T("fig_x", i=i + 1), width, digits=0), key=f"{KEY}_x{i}")
        for o in range(v.weight.shape[1]):
            with row[1 + 2 * o]:
                common.show_figure(fitted_spec(v.weight[i, o], T("fig_k", i=i + 1, o=o + 1), width, digits=0),
                                   key=f"{KEY}_k{i}{o}")
            with row[2 + 2 * o]:
                common.show_figure(fitted_spec(v.parts[i, o], T("fig_part", i=i + 1, o=o + 1), width, digits=0),
                                   key=f"{KEY}_p{i}{o}")
    st.markdown(T("ch_sum_line"))
    row = st.columns(max(2, v.weight.shape[1]))
    for o in range(v.weight.shape[1]):
        with row[o]:
            common.show_figure(fitted_spec(v.summed[o], T("fig_sum", o=o + 1, b=float(v.bias[o])),
                                           common.column_px(1 / max(2, v.weight.shape[1])), digits=0),
                               key=f"{KEY}_y{o}")
    common.torch_check(v.summed, v.theirs, what=T("ch_check_sum", c_in=c_in, c_out=c_out))
    common.torch_check(v.ours, v.theirs, what=T("ch_check_ours"))


@st.fragment
def learned(T) -> None:
    st.subheader(T("ln_title"))
    st.markdown(T.md("learned"))
    c1, c2 = st.columns(2)
    k = c1.select_slider(T("ln_k"), KERNELS, value=4, key=f"{KEY}_lk", bind="query-params")
    steps = c2.select_slider(T("ln_steps"), STEPS, value=300, key=f"{KEY}_steps", bind="query-params")
    p, op = tl.same_size_padding(k, 2)
    st.caption(T("ln_layer", k=k, p=p, op=op))
    runs = st.session_state.setdefault(f"{KEY}_runs", {})  # (kernel, steps) → this session's finished run

    if st.button(T("ln_train", steps=steps), key=f"{KEY}_train", type="primary"):
        bar = st.progress(0.0, text=T("ln_progress", step=0, steps=steps))
        snaps, losses = [], []
        for step, loss, snap in tl.learn_inverse(steps, tl.LearnConfig(kernel_size=k)):
            if step:
                losses.append(loss)
            if snap is not None:
                snaps.append(snap)
            if step % max(1, steps // 20) == 0 or step == steps:
                bar.progress(step / steps, text=T("ln_progress", step=step, steps=steps))
        bar.empty()
        runs[(k, steps)] = {"snapshots": snaps, "losses": losses}

    run = runs.get((k, steps))
    if run is None:
        snap = _start(k)
        st.info(T("ln_untrained", steps=steps))
        shown = [snap]
    else:
        shown = run["snapshots"]
        st.success(T("ln_done", steps=steps, first=run["losses"][0], last=run["losses"][-1]))
    marks = [s.step for s in shown]
    at = marks[0] if len(marks) == 1 else st.select_slider(T("ln_at"), marks, value=marks[-1], key=f"{KEY}_at_{k}_{steps}")
    snap = shown[marks.index(at)]
    label = T("ln_step0") if snap.step == 0 else T(f"ln_after_{_count_form(snap.step)}", step=snap.step)
    m = st.columns(3)
    m[0].metric(T("ln_loss"), lessons.number(snap.loss, ".4f", common.lang()))
    m[1].metric(T("ln_uneven"), lessons.number(snap.unevenness, ".3f", common.lang()), help=T("ln_uneven_help"))
    m[2].metric(T("ln_trained"), label)
    a, b, c = st.columns([3, 4, 3])
    with a:
        common.show_figure(fitted_spec(snap.kernel, T("fig_kernel", label=label), common.column_px(0.3), digits=2),
                           key=f"{KEY}_lkern")
    with b:
        common.show_figure(fitted_spec(snap.flat, T("fig_flat", label=label), common.column_px(0.4), digits=2,
                                       show_numbers=False), key=f"{KEY}_lflat")
    with c:
        st.image([_probe(), snap.reconstruction.clip(0, 1)], caption=[T("img_original"), T("img_back", label=label)],
                 width=150, clamp=True)
    st.caption(T("ln_check"))
    if run is not None:
        curve = pd.DataFrame({T("ln_loss"): run["losses"]}, index=pd.RangeIndex(1, len(run["losses"]) + 1,
                                                                                 name=T("ln_step_axis")))
        st.line_chart(curve, height=220)
    st.markdown(T.md("learned_after"))
