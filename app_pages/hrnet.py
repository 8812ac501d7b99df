"""HRNet: parallel branches at four resolutions, fused again and again; a pose head and a segmentation head."""
import pandas as pd
import streamlit as st

from app_pages.ui import architecture as aw
from app_pages.ui import common, loaders, widgets
from core import architectures as arch
from core.figures.architectures import map_row

T = common.texts("hrnet")
W = aw.words()
common.header(T)

# --- the network ---------------------------------------------------------------------------------------------
st.subheader(T("diagram_title"))
st.markdown(T.md("architecture"))
which = common.choice(st.segmented_control, T("which"), ["hrnet", "pose_hrnet_w32"], key="hr_model",
                      default="hrnet", format_func=lambda k: T(f"which_{k}"))
h, w = aw.size_inputs("hr", (128, 96))
pose = which == "pose_hrnet_w32"
# the pose model is HRNet-W32 at full size: measured on the meta device (shapes only)
graph, tr, boxes = aw.diagram(which, 17 if pose else arch.NUM_CLASSES, h, w, paper=pose, key="hr_diagram")
aw.metrics(tr)
if pose:
    st.markdown(T.md("pose"))

# --- branches per stage ----------------------------------------------------------------------------------------
st.subheader(T("branches_title"))
rows = []
for key, box in boxes.items():
    if key.startswith("s") and "m0b" in key:  # the first module of each stage: its branches
        stage, branch = int(key[1]), int(key.split("b")[-1])
        modules = sum(1 for k in boxes if k.startswith(f"s{stage}m") and k.endswith("b0"))
        rows.append({T("col_stage"): stage, T("col_modules"): modules, T("col_branch"): branch,
                     T("col_stride"): f"{box.jump:.3g}", T("col_shape"): "×".join(str(s) for s in box.shape)})
common.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
st.caption(T("branches_caption"))

# --- one fusion unit, expanded ---------------------------------------------------------------------------------
# A fragment: its selectors and channel slider rerun only this section, not the diagram above.
@st.fragment
def fusion(h: int, w: int) -> None:
    st.subheader(T("fusion_title"))
    st.markdown(T.md("fusion"))
    net = loaders.model("hrnet", arch.NUM_CLASSES)
    cfg = net.config
    a, b, c, d = st.columns(4)
    with a:
        stage = common.choice(st.selectbox, T("stage"), [2, 3, 4], key="hr_stage", default=3)
    with b:
        module = common.choice(st.selectbox, T("module"), list(range(cfg.modules[stage - 2])), key="hr_module", default=0)
    with c:
        branch = common.choice(st.selectbox, T("target"), list(range(stage)), key="hr_branch", default=1)
    aw.clamp_state("hr_channel", 0, cfg.width * 2 ** branch - 1)
    channel = d.slider(T("channel"), 0, cfg.width * 2 ** branch - 1, value=0, key="hr_channel", bind="query-params")
    unit = arch.fusion_unit(net.encoder, loaders.sample_input(h, w), stage, module, branch)
    terms = pd.DataFrame([{
        T("col_from"): t.j, T("col_kind"): T(f"kind_{t.kind}"), T("col_in"): "×".join(str(s) for s in t.input_shape),
        T("col_ops"): " → ".join(t.ops) if t.ops else T("no_ops"),
        T("col_out"): "×".join(str(s) for s in t.term.shape)} for t in unit.terms])
    common.dataframe(terms, hide_index=True, width="stretch")
    maps = [t.term[channel] for t in unit.terms] + [unit.total[channel], unit.output[channel]]
    titles = [T("term_title", j=t.j, kind=T(f"kind_{t.kind}")) for t in unit.terms] + [T("sum_title"), T("relu_title")]
    common.show_figure(map_row(maps, titles, diverging=True, height=260,
                               width_px=common.column_px(1), grow=aw.grow()), key="hr_terms")
    st.caption(T("fusion_caption", i=branch, stage=stage, module=module, c=channel))
    st.caption(W("random_weights"))


fusion(h, w)

widgets.quiz(T, arch.hrnet_questions, key="hr_quiz")
