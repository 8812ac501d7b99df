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
if trained is None:
    st.info(T("not_trained"))
    if st.button(T("train"), key="fcn_train", type="primary"):
        net = models.build("fcn8s", arch.NUM_CLASSES)
        bar = st.progress(0.0, text=T("training", step=0, n=steps))
        st.button(T("stop"), key="fcn_stop")  # any click reruns the page, which ends this loop
        for step in arch.fit_fcn(net, steps=steps):
            bar.progress(step.step / steps, text=T("training_loss", step=step.step, n=steps, loss=step.loss,
                                                    s=step.seconds))
        loaders.trained_models()[("fcn8s", steps)] = net.eval()
        st.rerun()
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
