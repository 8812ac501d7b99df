"""After the lecture: SegFormer's decoder drawn from the live module, Mask2Former's queries, FCN against SegFormer."""
import pandas as pd
import streamlit as st

from app_pages.ui import architecture as aw
from app_pages.ui import common, loaders, widgets
from core.figures.architectures import architecture_diagram
from core.models.inspect import edges_of
from core.zoo import universal, weights

T = common.texts("beyond_fcn")
common.header(T)
st.markdown(T.md("changed"))
st.markdown(T.md("stayed"))

# --- SegFormer's decoder, measured on the live module --------------------------------------------------------
st.header(T("segformer_title"))
st.markdown(T.md("segformer"))
seg = weights.resolve(weights.spec("segformer_b0"))
side = st.slider(T("side"), 64, 512, value=256, step=32, key="bf_side", bind="query-params", help=T("side_help"))
h, w = side, side * 4 // 3  # a 4:3 input, like most photos
if seg.found:
    st.success(T("live_pretrained", label=seg.spec.label), icon=":material/verified:")
else:
    st.info(T("live_architecture", label=seg.spec.label), icon=":material/info:")
with st.spinner(T("measuring")):
    dec = loaders.beyond_fcn_decoder(str(seg.path) if seg.found else "", h, w)
fig = architecture_diagram(dec.boxes, edges_of(dec.graph, dec.boxes), T.table("edges"), (h, w), hover=T("hover"),
                           width_px=common.column_px(1), grow=aw.grow())
common.show_figure(fig, key="bf_diagram")
st.caption(T("diagram_caption", h=h, w=w))

def dims(shape) -> str:
    return "×".join(str(s) for s in shape)


def shape(key: str) -> str:
    return dims(dec.boxes[key].shape)


rows = []
for i, (stride, factor) in enumerate(zip(dec.strides, dec.upsample_factors), start=1):
    rows.append({T("col_stage"): i, T("col_stride"): stride, T("col_encoder"): shape(f"stage{i}"),
                 T("col_mlp"): shape(f"mlp{i}"), T("col_factor"): T("factor", f=factor),
                 T("col_up"): shape(f"up{i}")})
common.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
concat, fused, scores = dec.boxes["concat"].shape, dec.boxes["linear_fuse"].shape, dec.boxes["classifier"].shape
c1, c2, c3, c4 = st.columns(4)
c1.metric(T("params_metric"), T("millions", v=dec.params / 1e6))
c2.metric(T("flops_metric"), T("gflops", v=dec.flops / 1e9))
c3.metric(T("fuse_metric"), T("fuse_value", cin=concat[0], cout=fused[0]))
c4.metric(T("scores_metric"), dims(scores))
st.markdown(T.md("toolbox", d=fused[0], n=len(dec.strides), cin=concat[0], k=scores[0]))

# --- Mask2Former: queries instead of a class per pixel -------------------------------------------------------
st.header(T("mask2former_title"))
st.markdown(T.md("mask2former"))
m2f = weights.resolve(weights.spec("mask2former_swin_t"))
qh, qw = max(64, 32 * round(h / 32)), max(64, 32 * round(w / 32))  # Mask2Former's sides are multiples of 32
if m2f.found:
    st.success(T("queries_pretrained", label=m2f.spec.label), icon=":material/verified:")
else:
    st.info(T("queries_small", label=m2f.spec.label), icon=":material/info:")
with st.spinner(T("measuring")):
    q = loaders.beyond_fcn_queries(str(m2f.path) if m2f.found else "", qh, qw)
k1, k2, k3, k4 = st.columns(4)
k1.metric(T("queries_metric"), str(q.num_queries))
k2.metric(T("classes_metric"), T("classes_value", k=q.num_classes))
k3.metric(T("class_logits_metric"), dims(q.class_logits))
k4.metric(T("mask_logits_metric"), dims(q.mask_logits))
st.markdown(T.md("queries", q=q.num_queries, k=q.num_classes, plus=q.num_classes + 1, h=qh, w=qw,
                 mh=q.mask_logits[1], mw=q.mask_logits[2], layers=q.decoder_layers, hidden=q.hidden))

# --- the picture to show in class: FCN (2015) against SegFormer (2021) on the same photo ---------------------
st.header(T("compare_title"))
st.markdown(T.md("compare"))
st.page_link("app_pages/segment_photo.py", label=T("compare_link"), icon=":material/compare:",
             query_params={"sp_model": "tv:fcn_resnet50", "sp_compare": "true", "sp_model_b": "hf:segformer_b0"})
fcn_cached = weights.locate(weights.weights_enum("fcn_resnet50").url).kind == "cache"
if not (fcn_cached and seg.found):
    missing = [name for name, ok in ((T("fcn_name"), fcn_cached), (seg.spec.label, seg.found)) if not ok]
    st.caption(T("compare_missing", models=", ".join(missing)))

widgets.quiz(T, universal.questions, key="bf_quiz")
st.markdown(T.md("summary"))
