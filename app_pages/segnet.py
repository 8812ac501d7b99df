"""Encoder–decoder and SegNet: the decoder unpools with the encoder's max-pooling indices."""
import pandas as pd
import streamlit as st

from app_pages.ui import architecture as aw
from app_pages.ui import common, loaders, widgets
from core import architectures as arch
from core.data.constants import STREET_CLASSES
from core.data.streets import make_street, to_tensor
from core.figures.architectures import map_row
from core.figures.common import grid_heatmap
from core.ops.pooling import index_memory
from core.zoo import weights as zoo
from core.zoo.checkpoints import app_checkpoint

T = common.texts("segnet")
SHIPPED = "segnet-streets.safetensors"  # the SegNet trained on the synthetic streets that comes with the app


@st.cache_resource(show_spinner=False)
def shipped_segnet():
    """The shipped SegNet checkpoint (model and header), or None when checkpoints/ lacks it."""
    data = loaders.shipped_checkpoints().get(SHIPPED)
    return None if data is None else app_checkpoint(data)


common.header(T)

st.subheader(T("diagram_title"))
st.markdown(T.md("architecture"))
h, w = aw.size_inputs("sn", (96, 128))
aw.diagram("segnet", arch.NUM_CLASSES, h, w, key="sn_diagram")

# --- one feature map through pool → indices → unpool → conv -------------------------------------------------
st.subheader(T("walk_title"))
st.markdown(T.md("walk"))
trained = shipped_segnet()
choices = ["shipped", "random"] if trained is not None else ["random"]
wc, pc = st.columns([2, 1])
weights = common.choice(wc.segmented_control, T("walk_weights"), choices, key="sn_walk_weights",
                        format_func=lambda k: T(f"walk_weights_{k}"))
scene = pc.number_input(T("walk_scene"), 0, 999, value=7, step=1, key="sn_walk_scene", bind="query-params")
net = trained.model if weights == "shipped" else loaders.model("segnet", len(STREET_CLASSES))
channels = net.encoder.channels[0][-1]
aw.clamp_state("sn_channel", 0, channels - 1)
channel = st.slider(T("channel"), 0, channels - 1, value=1, key="sn_channel", bind="query-params")
street = make_street(int(scene), (h, w))[0]
walk = arch.segnet_walkthrough(net, to_tensor(street)[None], channel)
f, u, d = walk.nonzero
left, right = st.columns([1, 4])
left.image(street, caption=T("walk_picture", h=h, w=w), width="stretch")
with right:
    common.show_figure(map_row(
        [walk.feature, walk.pooled, walk.unpooled, walk.densified],
        [T("m_feature", h=h, w=w), T("m_pooled", h=walk.pooled.shape[0], w=walk.pooled.shape[1]),
         T("m_unpooled", share=100 * u), T("m_dense", share=100 * d)], height=260,
        width_px=common.column_px(0.8), grow=aw.grow()), key="sn_maps")
st.caption(T("maps_caption"))
if weights == "shipped":
    metrics = trained.header.get("metrics", {})
    st.info(T("walk_shipped", steps=metrics.get("step", 0), miou=metrics.get("miou", 0.0),
                 size=trained.header["input_size"][0]))
else:
    st.warning(T("walk_random"))
common.torch_check(walk.ours, walk.unpooled, T("torch_unpool"))

st.markdown(T("zoom_title"))
busy_r, busy_c = arch.busiest_window(walk.feature)  # start where the map has edges
aw.clamp_state("sn_row", 0, (h - 8) // 2 * 2)
aw.clamp_state("sn_col", 0, (w - 8) // 2 * 2)
r0 = st.slider(T("zoom_row"), 0, (h - 8) // 2 * 2, value=busy_r, step=2, key="sn_row", bind="query-params")
c0 = st.slider(T("zoom_col"), 0, (w - 8) // 2 * 2, value=busy_c, step=2, key="sn_col", bind="query-params")
window = walk.feature[r0:r0 + 8, c0:c0 + 8]
pooled = walk.pooled[r0 // 2:r0 // 2 + 4, c0 // 2:c0 // 2 + 4]
flat = walk.indices[r0 // 2:r0 // 2 + 4, c0 // 2:c0 // 2 + 4]
maxima = [(int(i) // w - r0, int(i) % w - c0) for i in flat.flatten()]
if common.presentation():  # on a projector three grids in a row leave no room for their numbers: two rows
    a, b = st.columns([2, 1])
    c, _ = st.columns([2, 1])
    wide, narrow = common.column_px(2 / 3), common.column_px(1 / 3)
else:
    a, b, c = st.columns([3, 2, 3])
    wide, narrow = common.column_px(3 / 8), common.column_px(2 / 8)
with a:
    common.show_figure(grid_heatmap(window, T("z_feature"), highlight=maxima, cell_px=40, max_width_px=wide),
                       key="sn_z1")
with b:
    common.show_figure(grid_heatmap(pooled, T("z_pooled"), cell_px=40, max_width_px=narrow), key="sn_z2")
with c:
    common.show_figure(grid_heatmap(walk.unpooled[r0:r0 + 8, c0:c0 + 8], T("z_unpooled"), highlight=maxima,
                                    cell_px=40, max_width_px=wide), key="sn_z3")
st.caption(T("zoom_caption", r=r0, c=c0))

# --- what crosses from encoder to decoder -------------------------------------------------------------------
st.subheader(T("memory_title"))
st.markdown(T.md("memory"))
rows = index_memory(h, w)
frame = pd.DataFrame({
    T("col_block"): [r.block for r in rows],
    T("col_map"): [f"{r.channels}×{r.size[0]}×{r.size[1]}" for r in rows],
    T("col_feature"): [r.feature_bytes / 1024 for r in rows],
    T("col_int64"): [r.index_bytes_int64 / 1024 for r in rows],
    T("col_2bit"): [r.index_bytes_2bit / 1024 for r in rows],
})
common.dataframe(frame, hide_index=True, column_config={
    k: st.column_config.NumberColumn(format="%.1f KiB") for k in (T("col_feature"), T("col_int64"), T("col_2bit"))})
total = sum(r.feature_bytes for r in rows) / max(1, sum(r.index_bytes_2bit for r in rows))
st.caption(T("memory_caption", ratio=total))

# --- starting from ImageNet ---------------------------------------------------------------------------------
st.subheader(T("weights_title"))
path = zoo.cached_file("vgg16_bn")
if path.is_file():
    st.success(T("weights_found", path=str(path)))
else:
    st.info(T("weights_not_cached", path=str(path)))
st.caption(T("weights_caption"))

widgets.quiz(T, arch.segnet_questions, key="sn_quiz")
