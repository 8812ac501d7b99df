"""U-Net: an encoder–decoder whose skips concatenate whole encoder maps."""
import pandas as pd
import streamlit as st

from app_pages.ui import architecture as aw
from app_pages.ui import common, loaders, widgets
from core import architectures as arch
from core.models.inspect import stage_boxes

T = common.texts("unet")
W = aw.words()
common.header(T)

st.subheader(T("diagram_title"))
st.markdown(T.md("architecture"))
up = common.choice(st.segmented_control, T("upsampling"), ["transposed", "bilinear", "nearest"], key="un_up",
                   default="transposed", format_func=lambda k: T(f"up_{k}"))
h, w = aw.size_inputs("un", (97, 131))
options = (("upsampling", up),)
graph, tr, boxes = aw.diagram("unet", arch.NUM_CLASSES, h, w, key="un_diagram", options=options)
aw.metrics(tr)

# --- level by level ------------------------------------------------------------------------------------------
st.subheader(T("levels_title"))
st.markdown(T.md("levels"))
depth = sum(1 for k in boxes if k.startswith("enc")) - 1
shape = lambda k: "×".join(str(s) for s in boxes[k].shape)  # noqa: E731
rows = []
for lv in range(depth, 0, -1):
    skip, upped, dec = boxes[f"enc{lv}"].shape, boxes[f"up{lv}"].shape, boxes[f"dec{lv}"].shape
    cropped = upped[1:] != skip[1:]
    rows.append({
        T("col_level"): lv,
        T("col_from_below"): shape(f"up{lv}"),
        T("col_skip"): shape(f"enc{lv}"),
        T("col_crop"): T("crop_yes", h=skip[1], w=skip[2]) if cropped else T("crop_no"),
        T("col_concat"): f"{skip[0]} + {upped[0]} = {skip[0] + upped[0]}",
        T("col_out"): shape(f"dec{lv}"),
    })
common.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
if any(r[T("col_crop")] != T("crop_no") for r in rows):
    st.caption(T("crop_note"))

# --- three kinds of skip -------------------------------------------------------------------------------------
st.subheader(T("traffic_title"))
st.markdown(T.md("traffic"))
table = []
for name in ("fcn8s", "segnet", "unet"):
    g, t = loaders.traced(name, 21, True, h, w)
    shapes = {k: b.shape for k, b in stage_boxes(g, t).items()}
    traffic = arch.skip_traffic(name, shapes)
    table.append({T("col_model"): W.table("models")[name], T("col_what"): T(f"what_{traffic.what}"),
                  T("col_values"): traffic.values, T("col_stored"): traffic.stored_bytes / 2**20,
                  T("col_needed"): traffic.needed_bytes / 2**20})
common.dataframe(pd.DataFrame(table), hide_index=True, width="stretch", column_config={
    T("col_values"): st.column_config.NumberColumn(format="localized"),
    T("col_stored"): st.column_config.NumberColumn(format="%.2f MiB"),
    T("col_needed"): st.column_config.NumberColumn(format="%.3f MiB")})
st.caption(T("traffic_caption", h=h, w=w))
st.caption(W("random_weights"))

widgets.quiz(T, arch.unet_questions, key="un_quiz")
