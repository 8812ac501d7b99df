"""Measuring a segmentation: confusion matrix, pixel accuracy, IoU, mIoU and Dice on a prediction you spoil."""
import numpy as np
import pandas as pd
import streamlit as st

from app_pages.ui import common, widgets
from core import metrics
from core.data import scenes
from core.data.constants import IGNORE_INDEX
from core.figures.segmentation import class_score_bars, label_grid, matrix_heatmap

T = common.texts("segmentation_metrics")
common.header(T)

IGNORE = IGNORE_INDEX  # the label PASCAL VOC gives to object borders


@st.cache_data(max_entries=4, show_spinner=False)
def ground_truth(source: str) -> np.ndarray:
    return scenes.street_grid().labels if source == "street" else scenes.make_scene(48, 64).semantic


source = common.choice(st.radio, T("source"), ["street", "scene"], key="sm_source",
                       format_func=lambda s: T(f"source_{s}"), horizontal=True)
if source == "street":
    keys, colors = scenes.STREET_CLASSES, scenes.STREET_COLORS
else:
    keys, colors = scenes.SCENE_CLASSES, scenes.SCENE_COLORS
names = [T.table("classes")[k] for k in keys]
C = len(keys)
gt = ground_truth(source)
choices = [-1, *range(C)]


def class_name(c: int) -> str:
    return T("none") if c < 0 else f"{c}: {names[c]}"


def show_trap() -> None:
    """Reset the other mistakes and let the small classes vanish: the imbalance trap in one click."""
    for key in ("sm_dy", "sm_dx"):
        st.session_state[key] = 0
    for key in (f"sm_erode_{source}", f"sm_dilate_{source}", f"sm_swap_a_{source}", f"sm_swap_b_{source}"):
        st.session_state[key] = -1
    st.session_state["sm_miss"] = True


# --- spoil the prediction ---------------------------------------------------------------------------
st.subheader(T("spoil_title"))
with st.container(border=True):
    r1 = st.columns(4)
    dy = r1[0].slider(T("shift_down"), -3, 3, value=0, key="sm_dy", bind="query-params")
    dx = r1[1].slider(T("shift_right"), -3, 3, value=0, key="sm_dx", bind="query-params")
    erode_c = common.choice(r1[2].selectbox, T("erode"), choices, key=f"sm_erode_{source}",
                            format_func=class_name)
    erode_n = r1[3].slider(T("erode_steps"), 1, 3, value=1, key="sm_erode_n", bind="query-params")
    r2 = st.columns(4)
    dilate_c = common.choice(r2[0].selectbox, T("dilate"), choices, key=f"sm_dilate_{source}",
                             format_func=class_name)
    dilate_n = r2[1].slider(T("dilate_steps"), 1, 3, value=1, key="sm_dilate_n", bind="query-params")
    swap_a = common.choice(r2[2].selectbox, T("swap_a"), choices, key=f"sm_swap_a_{source}",
                           format_func=class_name)
    swap_b = common.choice(r2[3].selectbox, T("swap_b"), choices, key=f"sm_swap_b_{source}",
                           format_func=class_name)
    r3 = st.columns([1, 1, 1.4, 1.1], vertical_alignment="bottom")  # room for "ignore the borders" and its help
    miss = r3[0].toggle(T("miss"), value=False, key="sm_miss", bind="query-params")
    share = r3[1].slider(T("miss_share"), 1, 25, value=10, key="sm_share", bind="query-params", format="%d %%",
                         disabled=not miss)
    ignore = r3[2].toggle(T("ignore"), value=False, key="sm_ignore", bind="query-params", help=T("ignore_help"))
    r3[3].button(T("trap"), on_click=show_trap, key="sm_trap", help=T("trap_help"))

pred = metrics.shift(gt, dy, dx)
if erode_c >= 0:
    pred = metrics.erode(pred, erode_c, erode_n)
if dilate_c >= 0:
    pred = metrics.dilate(pred, dilate_c, dilate_n)
if swap_a >= 0 and swap_b >= 0 and swap_a != swap_b:
    pred = metrics.swap(pred, swap_a, swap_b)
elif (swap_a >= 0) != (swap_b >= 0):
    st.info(T("swap_needs_two"))
if miss:
    pred = metrics.miss_small_classes(pred, share / 100)
target = gt.copy()
if ignore:
    target[metrics.boundary_band(gt)] = IGNORE

cm = metrics.confusion_matrix(pred, target, C, ignore_index=IGNORE)
scores = metrics.summary(cm)
counts = metrics.counts_per_class(cm)

# --- what we compare --------------------------------------------------------------------------------
cell = 24 if source == "street" else 7
g1, g2 = st.columns(2)
with g1:
    common.show_figure(label_grid(target, names, colors, title=T("gt_fig"), numbers=False, ignore_index=IGNORE,
                                  cell=cell, ignore_name=T("ignored_name"), width_px=common.column_px(0.5)),
                       key="sm_fig_gt")
with g2:
    common.show_figure(label_grid(pred, names, colors, title=T("pred_fig"), numbers=False, cell=cell,
                                  width_px=common.column_px(0.5)),
                       key="sm_fig_pred")

m = st.columns(4)
m[0].metric(T("pixel_accuracy"), common.localized(f"{scores['pixel_accuracy']:.1%}"))
m[1].metric(T("mean_iou"), common.localized(f"{scores['mean_iou']:.3f}"))
m[2].metric(T("mean_dice"), common.localized(f"{scores['mean_dice']:.3f}"))
m[3].metric(T("counted"), f"{int(cm.sum())} / {gt.size}")
if scores["pixel_accuracy"] - scores["mean_iou"] > 0.15:
    st.warning(T("imbalance_note", acc=f"{scores['pixel_accuracy']:.1%}", miou=f"{scores['mean_iou']:.3f}"))

# --- the confusion matrix and the scores read from it -----------------------------------------------
st.subheader(T("cm_title"))
rows = cm.double().sum(dim=1, keepdim=True).clamp(min=1)
labels = [class_name(c) for c in range(C)]
e1, e2 = st.columns([3, 2])
with e1:
    common.show_figure(matrix_heatmap(cm.numpy(), labels, [str(c) for c in range(C)], title=T("cm_fig"),
                                      x_title=T("predicted"), y_title=T("true"), digits=0,
                                      color_values=(cm.double() / rows).numpy(), zmax=1.0,
                                      width_px=common.column_px(0.6)), key="sm_fig_cm")
    st.caption(T("cm_caption"))
with e2:
    wrong = np.where(target == IGNORE, 2, (pred != target).astype(np.int64))
    common.show_figure(label_grid(wrong, [T("right"), T("wrong"), T("ignored_name")],
                                  ("#e2e8f0", "#dc2626", "#ffffff"), title=T("errors_fig"), numbers=False,
                                  cell=cell // 2 + 6 if source == "street" else 5, legend_all=True,
                                  width_px=common.column_px(0.4)),
                       key="sm_fig_errors")
common.show_figure(class_score_bars(labels, {"IoU": scores["iou"], "Dice": scores["dice"]}, title=T("scores_fig"),
                                    absent_text=T("absent")), key="sm_fig_scores")
common.dataframe(pd.DataFrame({
    T("col_class"): labels,
    "TP": counts["tp"].tolist(),
    "FP": counts["fp"].tolist(),
    "FN": counts["fn"].tolist(),
    "IoU = TP / (TP+FP+FN)": [T("absent") if np.isnan(v) else f"{v:.4f}" for v in scores["iou"]],
    "Dice = 2TP / (2TP+FP+FN)": [T("absent") if np.isnan(v) else f"{v:.4f}" for v in scores["dice"]],
}), hide_index=True)
st.markdown(T.md("formulas"))

st.subheader(T("torch_title"))
common.torch_check(cm, metrics.confusion_matrix_one_hot(pred, target, C, ignore_index=IGNORE), what=T("torch_cm"))
st.markdown(T.md("conventions"))

widgets.quiz(T, metrics.metrics_questions, key="sm_quiz")
