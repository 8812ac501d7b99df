"""How SAM works: image encoder, prompt encoder, mask decoder, read off the model; why one embedding serves all."""
import pandas as pd
import streamlit as st

from app_pages.ui import common, images, loaders
from app_pages.ui import sam as sw
from app_pages.ui.architecture import grow as figure_growth
from app_pages.ui.weights import untrained_title
from core.figures.sam import anatomy_diagram, clicks_timeline, cost_bars, shape_text
from core.promptable.anatomy import PARTS, pca_rgb
from core.promptable.segment import Point, Segmenter, image_key

T = common.texts("how_sam_works")
common.header(T)

ARCHS = ("sam_full", "sam2_full", "live")
arch = common.choice(st.segmented_control, T("architecture"), ARCHS, key="hsw_arch",
                     format_func=lambda a: T(f"arch_{a}"))
image = images.sample("landscape")
click = sw.FIRST_CLICK["landscape"]
loaded = None
if arch == "live":
    loaded = sw.model("sam", "hsw")  # None: no weights yet, and the untrained model not chosen
U = sw.untrained_prefix(loaded)  # before every figure title and caption of a random model
if loaded is not None:
    with st.spinner(T("tracing")):
        anatomy = loaders.sam_live_anatomy(loaded, f"{loaded.key}@{loaded.device}", image_key(image), image, *click)
    st.caption(U + T("live_caption", label=loaded.label if loaded.pretrained else T("tiny_label")))
else:  # the published sizes, measured on meta tensors (no weights needed)
    anatomy = loaders.sam_full_size_anatomy("sam2" if arch == "sam2_full" else "sam")
    st.caption(T("meta_caption"))

steps = T.table("steps")
io = {k: T(f"io_{k}") for k in ("image", "prompts", "prompts_detail", "masks", "once", "per_click")}
diagram = anatomy_diagram(anatomy, steps, io, params_label=T("params_unit"), width_px=common.column_px(1),
                          grow=figure_growth())
common.show_figure(untrained_title(diagram, U) if U else diagram, key="hsw_diagram")
st.caption(U + T("diagram_caption"))

for part in PARTS:
    with st.expander(T(f"part_{part}"), expanded=part == "image_encoder"):
        st.markdown(T.md(part))
        rows = [{T("col_step"): steps.get(b.step, b.step).replace("<br>", " "), T("col_module"): b.name,
                 T("col_class"): b.kind, T("col_repeat"): b.repeat, T("col_params"): f"{b.params:,}".replace(",", " "),
                 T("col_shapes"): ", ".join(shape_text(s) for s in b.shapes)}
                for b in anatomy.blocks if b.part == part]
        common.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")

st.header(T("one_embedding_title"))
st.markdown(T.md("one_embedding"))
enc_flops, dec_flops = anatomy.flops["image_encoder"], anatomy.flops["prompt_and_decoder"]
a, b, c = st.columns(3)
a.metric(T("flops_encoder"), common.localized(f"{enc_flops / 1e9:,.3g} GFLOPs"))
b.metric(T("flops_click"), common.localized(f"{dec_flops / 1e9:,.3g} GFLOPs"))
c.metric(T("flops_ratio"), common.localized(f"{enc_flops / max(dec_flops, 1):,.0f} ×"))
costs = cost_bars(anatomy, {"image_encoder": T("part_image_encoder"), "prompt_and_decoder": T("prompt_and_decoder"),
                            "params_title": T("params_title"), "flops_title": T("flops_title")},
                  width_px=common.column_px(1), grow=figure_growth())
common.show_figure(untrained_title(costs, U) if U else costs, key="hsw_cost")

if loaded is not None:
    segmenter = Segmenter(loaded)
    emb, _ = loaders.sam_embeddings().get(segmenter, image)
    pred = segmenter.predict(emb, [Point(*click, 1)])
    st.subheader(U + T("measured_title"))
    m1, m2 = st.columns(2)
    m1.metric(T("t_encoder"), sw.seconds(emb.seconds))
    m2.metric(T("t_click"), sw.seconds(pred.seconds))
    lines = {"without": T("line_without"), "with": T("line_with"), "x": T("axis_clicks"), "y": T("axis_seconds")}
    timeline = clicks_timeline(emb.seconds, pred.seconds, lines)
    common.show_figure(untrained_title(timeline, U) if U else timeline, key="hsw_timeline")
    if not loaded.pretrained:
        st.info(T("tiny_timing_note"))
    if anatomy.embedding is not None:
        st.subheader(T("pca_title"))
        p1, p2 = st.columns(2)
        p1.image(image, caption=T("pca_input"), width="stretch")
        p2.image(pca_rgb(anatomy.embedding), caption=U + T("pca_caption", shape=shape_text(anatomy.embedding.shape)),
                 width="stretch")
        if not loaded.pretrained:
            st.caption(T("pca_tiny"))
elif arch != "live":  # on "live" without weights, the "no weights yet" state above says what to do
    st.info(T("live_hint"))
