"""FCN: a classifier made fully convolutional, and the skips that sharpen its stride-32 answer."""
import numpy as np
import pandas as pd
import streamlit as st

from app_pages.ui import architecture as aw
from app_pages.ui import common, loaders, widgets
from core import architectures as arch
from core import models
from core.data.scenes import SCENE_CLASSES, SCENE_COLORS
from core.figures.architectures import label_image
from core.figures.training import loss_curve
from core.training.runs import BackgroundRun

T = common.texts("fcn")
W = aw.words()
common.header(T)

# --- 1. convolutionalisation ------------------------------------------------------------------------------
st.subheader(T("conv_title"))
st.markdown(T.md("convolutionalize"))
check = arch.convolutionalize_check()
common.torch_check(check.conv_out, check.linear_out, T("linear_layer"))
st.caption(T("conv_big", c=check.big_in[0], h=check.big_in[1], w=check.big_in[2], o=check.big_out[0],
             oh=check.big_out[1], ow=check.big_out[2]))

# --- 2. the three variants ----------------------------------------------------------------------------------
st.subheader(T("variants_title"))
st.markdown(T.md("skips"))
names = W.table("models")
variant = common.choice(st.segmented_control, T("variant"), ["fcn32s", "fcn16s", "fcn8s"], key="fcn_variant",
                        default="fcn8s", format_func=lambda n: names[n])
h, w = aw.size_inputs("fcn", (96, 128))
aw.diagram(variant, arch.NUM_CLASSES, h, w, key="fcn_diagram")

# --- 3. what each stride can say -----------------------------------------------------------------------------
st.subheader(T("strides_title"))
st.markdown(T.md("strides"))
overlap = st.slider(T("overlap"), 0.0, 0.8, value=0.35, step=0.05, key="fcn_overlap", bind="query-params")
rgb, labels = loaders.sample(96, 128, overlap)
scale = 3
legend = " · ".join(f"<span style='color:{c}'>■</span> {T(f'class_{n}')}"
                    for n, c in zip(SCENE_CLASSES, SCENE_COLORS))

cols = st.columns(5)
cols[0].image(rgb.repeat(scale, 0).repeat(scale, 1), caption=T("image"), width="stretch")
cols[1].image(label_image(labels, SCENE_COLORS, scale), caption=T("truth"), width="stretch")
ideal = arch.ideal_stride_predictions(labels, arch.NUM_CLASSES)
for col, s in zip(cols[2:], (32, 16, 8)):
    col.image(label_image(ideal[s], SCENE_COLORS, scale), width="stretch",
              caption=T("ideal_caption", s=s, acc=100 * arch.boundary_accuracy(ideal[s], labels)))
st.html(f"<div style='font-size:0.9rem'>{legend}</div>")
st.caption(T("ideal_note"))

st.markdown(T.md("trained"))
steps = common.choice(st.segmented_control, T("steps"), [60, 150, 300], key="fcn_steps", default=60,
                      format_func=lambda n: T("steps_n", n=n))
trained = loaders.trained_models().get(("fcn8s", steps))
# This session's training run goes on in a background thread and lives in the session, not in the page's script:
# a student can visit another page while it trains and find it (and its loss curve) here on coming back.
entry = st.session_state.get("fcn_run")  # {"steps": n, "run": BackgroundRun} or None
run: BackgroundRun | None = entry["run"] if entry and entry["steps"] == steps else None


def start_training() -> None:
    old = st.session_state.get("fcn_run")
    if old is not None:
        old["run"].stop(wait=0)
    net = models.build("fcn8s", arch.NUM_CLASSES)
    items = ({"kind": "step", "step": s.step, "loss": s.loss, "elapsed_s": s.seconds}
             for s in arch.fit_fcn(net, steps=steps))
    st.session_state["fcn_run"] = {"steps": steps, "run": BackgroundRun(
        items, net, alive=common.session_alive(), name=T("steps_n", n=steps))}


status = run.snapshot().status if run is not None else None
if status == "finished" and trained is None:  # the run has ended: its model is kept for the whole class
    trained = loaders.trained_models()[("fcn8s", steps)] = run.model.eval()


@widgets.live(status)
def training_view() -> None:
    snap = widgets.watch(T, run, status)
    last = snap.steps[-1] if snap.steps else None
    if snap.status == "running":
        st.progress(last["step"] / steps if last else 0.0, text=T("training_loss", step=last["step"], n=steps,
                    loss=last["loss"], s=last["elapsed_s"]) if last else T("training", step=0, n=steps))
    elif snap.status == "stopped":
        st.info(T("run_stopped", step=last["step"] if last else 0, n=steps))
    if snap.steps:
        common.show_figure(loss_curve(snap.steps, run.name, T("loss_title"), T("step_axis")), key="fcn_loss")
        st.caption(T("run_caption"))


if trained is None:
    st.info(T("not_trained"))
    b1, b2, _ = st.columns([2, 1, 3])
    b1.button(T("train"), key="fcn_train", type="primary", on_click=start_training, disabled=status == "running")
    if status == "running":
        b2.button(T("stop"), key="fcn_stop", on_click=run.stop)
    if run is not None:
        training_view()
else:
    preds = arch.stride_predictions(trained, arch.to_input(rgb))
    cols = st.columns(5)
    cols[0].image(rgb.repeat(scale, 0).repeat(scale, 1), caption=T("image"), width="stretch")
    cols[1].image(label_image(labels, SCENE_COLORS, scale), caption=T("truth"), width="stretch")
    rows = []
    for col, s in zip(cols[2:], (32, 16, 8)):
        col.image(label_image(preds[s], SCENE_COLORS, scale), width="stretch",
                  caption=T("pred_caption", s=s, acc=100 * arch.boundary_accuracy(preds[s], labels)))
        rows.append({T("col_stride"): T(f"from_{s}"), T("col_acc"): 100 * float(np.mean(preds[s] == labels)),
                     T("col_boundary"): 100 * arch.boundary_accuracy(preds[s], labels)})
    st.html(f"<div style='font-size:0.9rem'>{legend}</div>")
    common.dataframe(pd.DataFrame(rows), hide_index=True, column_config={
        T("col_acc"): st.column_config.NumberColumn(format="%.1f %%"),
        T("col_boundary"): st.column_config.NumberColumn(format="%.1f %%")})
    st.caption(T("trained_note", n=steps))
    if run is not None and run.snapshot().steps:  # trained in this session: its loss curve stays in view
        training_view()

# --- 4. the upsampling layers start as bilinear interpolation ------------------------------------------------
st.subheader(T("bilinear_title"))
st.markdown(T.md("bilinear"))
net = loaders.model("fcn8s", arch.NUM_CLASSES)
for layer, label in ((net.head.upscore2, "upscore2 (×2)"), (net.upsample, "upscore8 (×8)")):
    ours, theirs = arch.bilinear_layer_check(layer)
    common.torch_check(ours, theirs, T("interp_op", layer=label))
st.caption(T("bilinear_caption", k=int(net.upsample.kernel_size[0]), s=int(net.upsample.stride[0]),
             p=int(net.upsample.padding[0])))

widgets.quiz(T, arch.fcn_questions, key="fcn_quiz")
