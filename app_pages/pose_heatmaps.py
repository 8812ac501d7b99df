"""Heatmaps: click keypoints onto a picture, see each one's Gaussian, change σ and the stride, decode back."""
import json

import numpy as np
import pandas as pd
import streamlit as st
import torch.nn.functional as F

from app_pages.ui import common, widgets
from app_pages.ui.components import image_click
from app_pages.ui.manifest import SECTIONS
from core import heatmaps, pose_questions
from core.data.poses import heatmap_size, make_figure
from core.data.streets import make_street
from core.figures.pose import (
    draw_points,
    heat_overlay,
    heatmap_figure,
    loss_offset_figure,
    mse_figure,
    quantisation_figure,
)

T = common.texts("pose_heatmaps")
common.header(T)

SIZE, SCALE, MAX_POINTS = 128, 4, 20  # a 128×128 picture, shown 4× larger; at most 20 keypoints
STRIDES = [1, 2, 4, 8, 16]
methods = {"truth": T("truth"), "argmax": T("m_argmax"), "subpixel": T("m_subpixel"), "quarter": T("m_quarter")}


@st.cache_data(max_entries=16, show_spinner=False)
def picture(kind: str, seed: int):
    """The picture to click on and, for a stick figure, its labelled joints (x, y)."""
    if kind == "figure":
        fig = make_figure(seed, SIZE)
        return fig.image, [[round(float(x), 1), round(float(y), 1)] for x, y, v in fig.joints if v > 0]
    return make_street(seed, SIZE)[0], []


@st.cache_data(max_entries=16, show_spinner=False)
def quantisation(sigma: float, noise: float):
    return heatmaps.quantisation_errors(STRIDES, sigma=sigma, noise=noise, n=300)


@st.cache_data(max_entries=16, show_spinner=False)
def loss_curves(sigmas: tuple[float, ...], stride: int, cells: int) -> tuple[np.ndarray, dict]:
    """The MSE against the offset for a few σ (a thousand heatmaps: computed once per setting)."""
    offsets = np.arange(0, 41, 1.0)
    return offsets, heatmaps.loss_vs_offset(offsets, list(sigmas), stride=stride, cells=cells)


# --- the picture and the settings -------------------------------------------------------------------------
c = st.columns([1.7, 0.9, 1.3, 1.3])
kind = common.choice(c[0].segmented_control, T("canvas"), ["figure", "street"], key="ph_canvas",
                     format_func=lambda o: T(f"canvas_{o}"))
seed = int(c[1].number_input(T("seed"), 0, 9999, value=26, key="ph_seed", bind="query-params"))
stride = c[2].select_slider(T("stride"), STRIDES, value=4, key="ph_stride", bind="query-params")
sigma = c[3].slider(T("sigma"), 0.5, 4.0, value=2.0, step=0.25, key="ph_sigma", bind="query-params")
image, joints = picture(kind, seed)

# The keypoints: kept per session and in the address (?ph_pts=[[x,y],…]); a new picture brings its own.
source = f"{kind}-{seed}"
if "ph_points" not in st.session_state:
    try:
        asked = json.loads(st.query_params.get("ph_pts", "null"))
        asked = [[float(x), float(y)] for x, y in asked][:MAX_POINTS] if isinstance(asked, list) else None
    except (ValueError, TypeError):
        asked = None
    st.session_state["ph_points"] = asked if asked is not None else joints
    st.session_state["ph_source"] = source
elif st.session_state.setdefault("ph_source", source) != source:  # points set without a picture belong to this one
    st.session_state["ph_points"], st.session_state["ph_source"] = list(joints), source
points = st.session_state["ph_points"]

left, right = st.columns(2)
with left:
    st.caption(T("click_hint", n=MAX_POINTS))
    event = image_click(draw_points(image, points, SCALE), key="ph_click", width=SIZE * SCALE,
                        alt=T("click_alt"))
    if event and event.get("kind") == "point" and event.get("t") != st.session_state.get("ph_last_click"):
        st.session_state["ph_last_click"] = event.get("t")
        if len(points) >= MAX_POINTS:
            st.warning(T("too_many", n=MAX_POINTS))
        else:  # the component gives pixels of the enlarged picture, counted from its left edge
            x, y = event["x"] / SCALE - 0.5, event["y"] / SCALE - 0.5
            st.session_state["ph_points"] = points + [[round(x, 1), round(y, 1)]]
            st.rerun()
    with st.container(horizontal=True):
        if kind == "figure":
            st.button(T("use_joints"), key="ph_joints",
                      on_click=lambda: st.session_state.update(ph_points=list(joints)))
        st.button(T("undo"), key="ph_undo", disabled=not points,
                  on_click=lambda: st.session_state.update(ph_points=st.session_state["ph_points"][:-1]))
        st.button(T("clear"), key="ph_clear", disabled=not points,
                  on_click=lambda: st.session_state.update(ph_points=[]))
points = st.session_state["ph_points"]
if points == list(joints):
    st.query_params.pop("ph_pts", None)
else:
    st.query_params["ph_pts"] = json.dumps(points, separators=(",", ":"))

hm_size = heatmap_size(SIZE, stride)
heat, _ = heatmaps.encode(np.asarray(points, np.float32).reshape(-1, 2), hm_size, stride, sigma)  # (n, h, w)
with right:
    st.caption(T("overlay_caption", h=hm_size[0], w=hm_size[1], s=stride, sigma=sigma, px=sigma * stride))
    st.image(heat_overlay(image, heat, stride, SCALE), width=SIZE * SCALE)

# --- one keypoint's heatmap, decoded back -----------------------------------------------------------------
st.header(T("one_title"))
st.markdown(T.md("one"))
chosen = None
if not points:
    st.info(T("no_points"))
else:
    coords = {m: heatmaps.decode(heat, stride, m)[0].numpy() for m in ("argmax", "subpixel")}  # each (n, 2)
    conf = heatmaps.decode(heat, stride, "argmax")[1].numpy()
    chosen = st.selectbox(T("which"), range(len(points)), key="ph_which",
                          format_func=lambda i: T("point_label", i=i + 1, x=points[i][0], y=points[i][1]))
    fig_col, table_col = st.columns([1, 1.5])
    with fig_col:
        common.show_figure(heatmap_figure(
            heat[chosen].numpy(), stride, points[chosen], {m: coords[m][chosen] for m in coords}, methods,
            T("heat_title", i=chosen + 1, h=hm_size[0], w=hm_size[1]), T("x_axis"), T("y_axis"),
            title_width=common.column_px(1 / 2.5) - 150))  # beside its axes and colour bar
    with table_col:
        truth = np.asarray(points, float)
        err = {m: np.linalg.norm(coords[m] - truth, axis=1) for m in coords}
        table = pd.DataFrame({
            T("col_point"): [str(i + 1) for i in range(len(points))],
            T("col_true"): [f"{x:.1f}, {y:.1f}" for x, y in truth],
            T("col_argmax"): [f"{x:.1f}, {y:.1f}" for x, y in coords["argmax"]],
            T("col_err_argmax"): err["argmax"].round(2),
            T("col_subpixel"): [f"{x:.1f}, {y:.1f}" for x, y in coords["subpixel"]],
            T("col_err_subpixel"): err["subpixel"].round(2),
            T("col_conf"): conf.round(3),
        })
        common.table(table.set_index(T("col_point")))  # a plain table: its headers wrap in the column, never cut off
        st.markdown(T("mean_errors", argmax=err["argmax"].mean(), subpixel=err["subpixel"].mean(), s=stride))
        st.caption(T("low_peak"))

# --- quantisation: argmax against subpixel as the stride grows ----------------------------------------------
# This section and the next are fragments: their own widgets rerun only them (the settings above are
# passed in; changing those reruns the whole page).
@st.fragment
def quantisation_section(sigma: float, stride: int) -> None:
    st.header(T("quant_title"))
    st.markdown(T.md("quantisation"))
    noise = common.choice(st.select_slider, T("noise"), [0.0, 0.01, 0.02, 0.05, 0.1], key="ph_noise", default=0.0,
                          format_func=lambda v: common.localized(f"{v:g}"))
    errors = quantisation(sigma, noise)
    common.show_figure(quantisation_figure(STRIDES, errors, methods, T("stride_axis"), T("error_axis"),
                                           T("worst_case"), current=stride))
    i = STRIDES.index(stride)
    st.markdown(T("quant_at", s=stride, argmax=errors["argmax"][i], quarter=errors["quarter"][i],
                  subpixel=errors["subpixel"][i]))


quantisation_section(sigma, stride)

# --- the loss: per-pixel MSE between a predicted and a target heatmap ------------------------------------------
@st.fragment
def loss_section(centre: list, hm_size: tuple, stride: int, sigma: float) -> None:
    st.header(T("loss_title"))
    st.markdown(T.md("loss"))
    c = st.columns(4)
    dx = c[0].slider(T("dx"), -24, 24, value=6, key="ph_dx", bind="query-params")
    dy = c[1].slider(T("dy"), -24, 24, value=0, key="ph_dy", bind="query-params")
    pred_sigma = c[2].slider(T("pred_sigma"), 0.5, 4.0, value=float(sigma), step=0.25, key="ph_psigma",
                             bind="query-params")
    amplitude = c[3].slider(T("amplitude"), 0.0, 1.5, value=1.0, step=0.05, key="ph_amp", bind="query-params")
    pred, target = heatmaps.shifted_pair(centre, (dx, dy), hm_size, stride, sigma, pred_sigma, amplitude)  # (1, h, w)
    common.show_figure(mse_figure(pred[0].numpy(), target[0].numpy(), (T("pred"), T("target"), T("sq_diff")), stride))
    ours = heatmaps.mse_loss(pred, target)
    m = st.columns([1, 3])
    m[0].metric(T("mse"), common.localized(f"{float(ours):.5f}"))
    with m[1]:
        common.torch_check(ours, F.mse_loss(pred, target), what="torch.nn.functional.mse_loss")
    offsets, curves = loss_curves(tuple(sorted({1.0, 2.0, 4.0, float(sigma)})), stride, hm_size[0])
    common.show_figure(loss_offset_figure(offsets, curves, T("curve_name"), T("offset_axis"), T("mse"),
                                          current=float(np.hypot(dx, dy))))
    st.caption(T("curve_caption"))


loss_section(points[chosen] if chosen is not None else [SIZE / 2, SIZE / 2], tuple(hm_size), stride, sigma)

# --- why not regress (x, y)? -----------------------------------------------------------------------------------
st.header(T("why_title"))
st.markdown(T.md("why"))
your_images = [p for s in SECTIONS if s.key == "your_images" for p in s.pages
               if "pose" in p.slug or "keypoint" in p.slug]
if your_images:
    st.markdown(T("real_photos"))
    for p in your_images:
        st.page_link(f"app_pages/{p.slug}.py", label=common.texts(p.slug).title, icon=p.icon)
st.page_link("app_pages/pose_train.py", label=T("next_train"), icon=":material/arrow_forward:")

widgets.quiz(T, pose_questions.heatmap_questions, key="ph_quiz")
