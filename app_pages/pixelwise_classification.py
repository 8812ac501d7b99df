"""Pixelwise classification: the lecture's street grid as a C×H×W volume, softmax and loss at every pixel."""
import streamlit as st
import torch

from app_pages.ui import common, widgets
from core import pixelwise
from core.data import scenes
from core.figures.segmentation import (
    label_grid,
    probability_bars,
    value_grid,
    volume_3d,
    volume_slices,
)

T = common.texts("pixelwise_classification")
common.header(T)

grid = scenes.street_grid().labels  # (13, 23)
h, w = grid.shape
C = len(scenes.STREET_CLASSES)
names = [T.table("classes")[k] for k in scenes.STREET_CLASSES]
colors = scenes.STREET_COLORS

st.subheader(T("grid_title"))
common.show_figure(label_grid(grid, names, colors, title=T("grid_fig", h=h, w=w), width_px=common.column_px(1.0)),
                   key="pw_fig_grid")
st.markdown(T.md("grid"))

# --- the logits of an imaginary network -------------------------------------------------------------
st.subheader(T("logits_title"))
st.markdown(T.md("logits"))
c1, c2, c3, c4 = st.columns(4)
margin = c1.slider(T("margin"), -2.0, 6.0, value=3.0, step=0.5, key="pw_margin", bind="query-params",
                   help=T("margin_help"))
noise = c2.slider(T("noise"), 0.0, 4.0, value=1.0, step=0.25, key="pw_noise", bind="query-params",
                  help=T("noise_help"))
temperature = c3.slider(T("temperature"), 0.1, 5.0, value=1.0, step=0.1, key="pw_temp", bind="query-params",
                        help=T("temperature_help"))
seed = c4.number_input(T("seed"), 0, 999, value=0, step=1, key="pw_seed", bind="query-params", help=T("seed_help"))

logits = pixelwise.synthetic_logits(grid, C, margin=margin, noise=noise, seed=int(seed))  # (C, H, W)
probs = pixelwise.pixel_softmax(logits, temperature)  # (C, H, W)
loss = pixelwise.pixel_cross_entropy(logits, grid, temperature)  # (H, W)
pred = probs.argmax(dim=0).numpy()  # (H, W)


def pick(chart_key: str) -> None:
    """A click on a map selects that pixel: copy its (row, col) into the row and column selectors."""
    event = st.session_state.get(chart_key)
    points = (event or {}).get("selection", {}).get("points", [])
    if points:
        st.session_state["pw_row"] = int(round(points[0]["y"]))
        st.session_state["pw_col"] = int(round(points[0]["x"]))


# --- one pixel --------------------------------------------------------------------------------------
st.subheader(T("pixel_title"))
st.markdown(T("pixel_hint"))
map_col, panel = st.columns([3, 2])
with panel:
    r1, r2 = st.columns(2)
    row = r1.number_input(T("row"), 0, h - 1, value=11, step=1, key="pw_row", bind="query-params")
    col = r2.number_input(T("col"), 0, w - 1, value=4, step=1, key="pw_col", bind="query-params")
report = pixelwise.pixel_report(logits, grid, int(row), int(col), temperature)
with map_col:
    common.show_figure(label_grid(pred, names, colors, title=T("pred_fig"), highlight=(row, col), clickable=True,
                                  cell=20, legend=False, width_px=common.column_px(0.6)),
                       key="pw_click_pred", on_select=lambda: pick("pw_click_pred"), selection_mode="points",
                       config={"displayModeBar": False})
with panel:
    common.show_figure(probability_bars(report.probs, names, colors, report.label, report.argmax,
                                        title=T("probs_fig", row=row, col=col), true_text=T("true_mark"),
                                        argmax_text=T("argmax_mark"), width_px=common.column_px(0.4)),
                       key="pw_fig_probs")
    st.markdown(T("pixel_summary", row=row, col=col, label=names[report.label], argmax=names[report.argmax],
                  p=f"{report.probs[report.label]:.4f}", loss=f"{report.loss:.4f}"))
    if report.argmax != report.label:
        st.warning(T("pixel_wrong", argmax=names[report.argmax], label=names[report.label]))
with st.expander(T("pixel_numbers")):
    z = ", ".join(f"{v:.2f}" for v in report.logits)
    st.markdown(T("pixel_formula", z=z, t=f"{temperature:g}"))
    true_z = report.logits[report.label]
    st.latex(common.localized(r"p_{\text{" + names[report.label].replace("/", " / ") + r"}} = \frac{e^{" + f"{true_z:.2f}"
             + r"}}{\sum_{k=0}^{" + str(C - 1) + r"} e^{z_k/T}} = " + f"{report.probs[report.label]:.4f}"
             + r", \qquad \ell = -\log " + f"{report.probs[report.label]:.4f} = {report.loss:.4f}", math=True))

# --- the loss map -----------------------------------------------------------------------------------
st.subheader(T("loss_title"))
m1, m2, m3 = st.columns(3)
m1.metric(T("mean_loss"), common.localized(f"{float(loss.mean()):.4f}"))
m2.metric(T("pixel_accuracy"), common.localized(f"{float((pred == grid).mean()):.1%}"))
m3.metric(T("wrong_pixels"), f"{int((pred != grid).sum())} / {grid.size}")
common.show_figure(value_grid(loss.numpy(), title=T("loss_fig"), zmin=0, zmax=max(2.0, float(loss.max())),
                              colorscale="Reds", numbers=True, digits=1, highlight=(row, col), clickable=True,
                              cell=34, colorbar="ℓ", width_px=common.column_px(1.0)),
                   key="pw_click_loss", on_select=lambda: pick("pw_click_loss"), selection_mode="points",
                   config={"displayModeBar": False})
st.markdown(T.md("loss"))

# --- the volume -------------------------------------------------------------------------------------
st.subheader(T("volume_title"))
v1, v2 = st.columns(2)
which = common.choice(v1.radio, T("volume_which"), ["target", "probs", "logits"], key="pw_volume",
                      format_func=lambda k: T(f"volume_{k}"), horizontal=True)
view = common.choice(v2.radio, T("volume_view"), ["slices", "3d"], key="pw_view", format_func=lambda k: T(f"view_{k}"),
                     horizontal=True)
volumes = {"target": pixelwise.one_hot_volume(grid, C), "probs": probs, "logits": logits / temperature}
volume = volumes[which].numpy()
# Probabilities and one-hot values live in [0, 1]; logits have both signs, so they get a diverging scale.
span = float(abs(volume).max()) or 1.0
scale = {"zmin": -span, "zmax": span, "colorscale": "RdBu_r"} if which == "logits" else {"zmin": 0.0, "zmax": 1.0}
title = T(f"volume_{which}_fig", c=C, h=h, w=w)
if view == "3d":
    fig = volume_3d(volume, names, title=title, highlight=(row, col), **scale)
else:
    fig = volume_slices(volume, [f"{c}: {n}" for c, n in enumerate(names)], title=title, highlight=(row, col),
                        width_px=common.column_px(1.0), **scale)
common.show_figure(fig, key="pw_fig_volume")
st.markdown(T.md("volume"))

# --- checked against PyTorch ------------------------------------------------------------------------
st.subheader(T("torch_title"))
common.torch_check(probs, pixelwise.torch_pixel_softmax(logits, temperature), what=T("torch_softmax"))
common.torch_check(loss, pixelwise.torch_pixel_cross_entropy(logits, grid, temperature), what=T("torch_ce"))
common.torch_check(loss.mean(), torch.nn.functional.cross_entropy(logits[None] / temperature,
                                                                  torch.from_numpy(grid)[None]),
                   what=T("torch_mean"))
st.markdown(T.md("summary"))

widgets.quiz(T, pixelwise.pixelwise_questions, key="pw_quiz")
