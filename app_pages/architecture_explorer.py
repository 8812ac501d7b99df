"""Architecture explorer: any model, any input size; its diagram, every layer, and a real tensor inside it."""
import streamlit as st

from app_pages.ui import architecture as aw
from app_pages.ui import common, loaders, widgets
from core import architectures as arch
from core.figures.architectures import feature_mosaic, shape_curves
from core.models import diagrams
from core.models.inspect import stage_boxes

T = common.texts("architecture_explorer")
W = aw.words()
common.header(T)

names = W.table("models")
left, right = st.columns([2, 1], vertical_alignment="bottom")
with left:
    name = common.choice(st.selectbox, T("model"), diagrams.DRAWN, key="ax_model", default="fcn8s",
                         format_func=lambda n: names[n])
with right:
    paper = st.toggle(T("paper"), key="ax_paper", bind="query-params", help=T("paper_help"))
h, w = aw.size_inputs("ax", (96, 128), aw.MAX_SIDE_PAPER if paper else aw.MAX_SIDE)
num_classes = 17 if name == "pose_hrnet_w32" else 5

st.subheader(T("diagram_title"))
graph, tr, boxes = aw.diagram(name, num_classes, h, w, paper, key="ax_diagram")
aw.metrics(tr)
st.caption(T("pose_note") if name == "pose_hrnet_w32" else T("seg_note"))
if paper:
    st.info(T("paper_info"))

st.subheader(T("table_title"))
st.markdown(T.md("table"))
kinds = {"all": None, "conv": {"conv", "transposed_conv"},
         "resize": {"max_pool", "max_unpool", "upsample_nearest", "upsample_bilinear", "transposed_conv", "crop"},
         "merge": {"add", "concat"}}
shown = common.choice(st.segmented_control, T("filter"), list(kinds), key="ax_filter", default="all",
                      format_func=lambda k: T(f"filter_{k}"))
aw.layer_table(tr.rows, kinds[shown])
st.caption(T("table_caption", n=len(tr.rows)))

st.subheader(T("curves_title"))
common.show_figure(shape_curves(tr.rows, {"resolution": W("resolution"), "channels": W("channels"),
                                          "layer": W("layer")}), key="ax_curves")
st.markdown(T.md("receptive_field"))

widgets.quiz(T, arch.explorer_questions, key="ax_quiz")

st.subheader(T("features_title"))
if paper:
    st.info(T("features_paper"))
    st.stop()
# The feature maps come from the app's own trained checkpoint of this model when one ships with it, else from
# the random weights of the diagram above; the caption says which.
shipped = loaders.shipped_for(name)
weights = "random"
if shipped:
    weights = common.choice(st.segmented_control, T("weights"), ["trained", "random"], key="ax_weights",
                            default="trained", format_func=lambda k: T(f"weights_{k}"))
if weights == "trained":
    graph, tr, header, rgb = loaders.shipped_trace(shipped, h, w)
    boxes = stage_boxes(graph, tr)
    picture = T("street_caption", h=h, w=w)
else:
    rgb, _ = loaders.sample(h, w)
    picture = T("sample_caption", h=h, w=w)
node_keys = [n.key for n in graph.nodes if n.key in boxes and n.key != "image"]
c1, c2 = st.columns([2, 1])
with c1:
    node = common.choice(st.selectbox, T("node"), node_keys, key="ax_node",
                         default=node_keys[min(2, len(node_keys) - 1)])
with c2:
    count = st.slider(T("channels_shown"), 1, 32, value=16, key="ax_channels", bind="query-params")
tensor = tr.taps[graph.node(node).tap][0]  # (C, h, w)
a, b = st.columns([1, 3])
with a:
    st.image(rgb, caption=picture, width="stretch")
    box = boxes[node]
    st.markdown(T("node_facts", node=node, c=box.shape[0], h=box.shape[1], w=box.shape[2], jump=f"{box.jump:.3g}",
                  rf=f"{box.rf:.0f}"))
with b:
    common.show_figure(feature_mosaic(tensor[:count].numpy()), key="ax_mosaic")
st.caption(T("features_caption", shown=min(count, tensor.shape[0]), total=tensor.shape[0]))
if weights == "trained":
    metrics = header.get("metrics", {})
    st.caption(T("trained_weights", file=shipped, steps=metrics.get("step", 0), miou=metrics.get("miou", 0.0),
                 n=len(header["classes"])))
else:
    st.caption(W("random_weights") + (" " + T("no_shipped") if not shipped else ""))
