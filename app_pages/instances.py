"""Instances in your photo: Mask R-CNN v2's objects (mask, box, score, class) and its feature pyramid."""
import numpy as np
import pandas as pd
import streamlit as st

from app_pages.ui import common, loaders
from app_pages.ui import photo as pw
from app_pages.ui import weights as wp
from app_pages.ui.weights import untrained_title
from core import analysis
from core.figures.photo import boxes_figure, value_map
from core.images import enlarge
from core.zoo import instances, weights
from core.zoo.checkpoints import CheckpointError
from core.zoo.detection import LEVEL_STRIDES
from core.zoo.semantic import ModelChoice

T = common.texts("instances")
W = pw.words()
common.header(T)
dev = pw.device()
COCO_WORDS = T.table("coco")


def cname(name: str) -> str:
    return COCO_WORDS.get(analysis.class_name_key(name), name)


left, right = st.columns(2, gap="large")
with left:
    picked = pw.photo(T, "in")
    image, image_id = picked.image, picked.id
with right:
    st.subheader(T("settings_title"))
    published = weights.weights_enum("maskrcnn_resnet50_fpn_v2")
    ref, data = wp.file_panel("in", T("model_name"), published.url, published.meta.get("_file_size"),
                              missing_state=True)
    side = pw.detector_side(T, "in_side", dev)
    c1, c2 = st.columns(2)
    score = c1.slider(T("score"), 0.05, 0.95, value=0.5, step=0.05, key="in_score", bind="query-params",
                      help=T("score_help"))
    max_det = c2.slider(T("max_det"), 1, 50, value=20, key="in_max", bind="query-params")
    proposals = st.select_slider(T("proposals"), [50, 100, 200, 300, 500, 1000],
                                 value=1000 if dev.type == "cuda" else 300, key="in_proposals", bind="query-params",
                                 help=T("proposals_help"))
    amp = pw.precision_switch("in", dev)



def run_maskrcnn(ref, data):
    """Mask R-CNN's answer on the photo, or None (a file that does not fit, the GPU out of memory)."""
    try:
        model, load_s = pw.timed(loaders.photo_instances_model, str(dev), ref.key, ref, data)
    except CheckpointError as err:  # said on the page; nothing untrained is shown in its place
        wp.checkpoint_problem(err, ref)
        return None, None, 0.0
    out = pw.guarded(loaders.photo_instances, ref.key, str(dev), image_id, side, score, max_det, proposals, amp,
                     model, image)
    return model, out, load_s


# Pretrained weights, or random ones the user chose; without either the "no weights yet" state above stands
# in for the objects and the pyramid (the regions of a model shipped with the app still come below).
model, result, load_s = run_maskrcnn(ref, data) if ref.pretrained or ref.reason == "chosen" else (None, None, 0.0)
U = W("untrained_prefix") if not ref.pretrained else ""  # before every title and caption of a random model

if result is not None:
    st.caption(wp.source_line(T("model_name"), ref))
    if not ref.pretrained:
        st.warning(W("untrained", model=T("model_name")) + " " + T("untrained_detail"))

# --- the objects ---------------------------------------------------------------------------------------------------
alpha = st.slider(T("opacity"), 0.0, 1.0, value=0.55, step=0.05, key="in_alpha", bind="query-params")
if result is not None:
    st.header(U + T("objects_title", n=len(result.boxes)))
    st.markdown(T.md("objects"))
    names = [cname(model.categories[c]) for c in result.labels]
    over = instances.instance_overlay(image, result.masks.astype(np.float32), alpha)
    colors = [instances.INSTANCE_COLORS[k % len(instances.INSTANCE_COLORS)] for k in range(len(result.boxes))]
    tags = [f"{k + 1} · {n} {s:.2f}" for k, (n, s) in enumerate(zip(names, result.scores))]
    objects = boxes_figure(over, result.boxes, tags, colors, height=min(640, 120 + image.shape[0]))
    common.show_figure(untrained_title(objects, U) if U else objects, key="in_fig_objects")
    if len(result.boxes):
        areas = (result.masks >= 0.5).reshape(len(result.masks), -1).sum(1)
        common.dataframe(pd.DataFrame({
            T("col_id"): np.arange(1, len(result.boxes) + 1), T("col_class"): names,
            T("col_score"): np.round(result.scores, 3),
            T("col_box"): [f"{x1 - x0:.0f}×{y1 - y0:.0f}" for x0, y0, x1, y1 in result.boxes],
            T("col_area"): [f"{100 * a / image.shape[0] / image.shape[1]:.1f} %" for a in areas],
        }), hide_index=True, width="stretch")
        pick = common.choice(st.selectbox, T("one_object"), list(range(len(result.boxes))), key="in_object",
                             format_func=lambda k: tags[k])
        o1, o2 = st.columns(2)
        with o1:
            common.show_figure(value_map(result.masks[pick].astype(np.float32), title=U + T("mask_prob", tag=tags[pick]),
                                         colorbar="p"), key="in_fig_mask")
        with o2:
            st.markdown(T.md("mask_detail"))
    else:
        st.info(T("no_objects", score=score))

# --- without an instance head: a model trained in the app ------------------------------------------------------------
st.header(T("regions_title"))
st.markdown(T.md("regions"))
app_models = {**st.session_state.get("trained_models", {}), **st.session_state.get("sp_app_models", {}),
              **loaders.shipped_checkpoints()}  # the user's own first, then the shipped ones
if app_models:
    app_name = common.choice(st.selectbox, T("regions_model"), list(app_models), key="in_app_model")
    app_ref = weights.uploaded(app_name, app_models[app_name])
    if app_name in st.session_state.get("trained_models", {}):
        st.caption(W("source_line_session", what=app_name, name=common.texts("train_live").title))
    elif app_name in st.session_state.get("sp_app_models", {}):
        st.caption(W("source_line_upload", what=T("regions_model"), file=app_name))
    else:
        st.caption(W("source_line_shipped", what=app_name, name=T("regions_shipped")))
    try:
        app_model, _ = pw.timed(loaders.photo_semantic_model, ModelChoice("app", app_name).key, str(dev), app_ref.key, app_ref,
                                app_models[app_name])
    except CheckpointError as err:
        wp.checkpoint_problem(err)
        st.stop()
    app_pred = pw.guarded(loaders.photo_semantic_prediction, app_model.key, app_ref.key, str(dev), image_id,
                          app_model.default_side, amp, app_model, image)
    if app_pred is None:
        st.stop()
    region_masks, region_labels = instances.regions_as_instances(app_pred.mask, app_model.classes)
    region_names = [cname(app_model.classes[c]) for c in region_labels]
    r1, r2 = st.columns(2)
    r1.image(instances.instance_overlay(image, region_masks, alpha), width="stretch",
             caption=T("regions_caption", n=len(region_masks), model=app_name))
    counts = {n: region_names.count(n) for n in dict.fromkeys(region_names)}
    r2.markdown("\n".join(f"- {T('regions_count', name=n, n=k)}" for n, k in counts.items()) or T("regions_none"))
else:
    st.info(T("regions_no_model"))

# --- the feature pyramid --------------------------------------------------------------------------------------------
if result is not None:
    st.header(U + T("fpn_title"))
    st.markdown(T.md("fpn"))
    f1, f2 = st.columns([1, 2])
    view = common.choice(f1.radio, T("fpn_view"), ["mean", "channel"], key="in_fpn_view",
                         format_func=lambda k: T(f"fpn_view_{k}"))
    channel = f2.slider(T("fpn_channel"), 0, 255, value=0, key="in_channel", bind="query-params",
                        disabled=view != "channel")
    cols = st.columns(len(result.levels))
    for col, (name, level) in zip(cols, result.levels.items()):
        a = np.abs(level.astype(np.float32)).mean(0) if view == "mean" else level[channel].astype(np.float32)
        lo, hi = float(np.percentile(a, 1)), float(np.percentile(a, 99))
        picture = enlarge(analysis.colormap(a, lo, hi if hi > lo else lo + 1e-6), 180)
        col.image(picture, caption=U + T("fpn_caption", name=name, p=f"P{list(LEVEL_STRIDES).index(name) + 2}",
                                     stride=LEVEL_STRIDES[name], h=a.shape[0], w=a.shape[1]), width="stretch")
    st.caption(T("fpn_note", h=result.resized[0], w=result.resized[1]))

    # --- speed and downloads --------------------------------------------------------------------------------------------
    st.header(T("speed_title"))
    st.caption(pw.device_line(dev, result.mixed_precision))
    pw.timings_table({T("model_name"): result.seconds}, {T("model_name"): load_s})
    d1, d2 = st.columns(2)
    d1.download_button(T("download_overlay"), lambda: analysis.png_bytes(over), file_name="instances_overlay.png",
                       mime="image/png", key="in_dl_overlay", icon=":material/download:")
    table = pd.DataFrame({"id": np.arange(1, len(result.boxes) + 1),
                          "category": [model.categories[c] for c in result.labels], "score": result.scores,
                          "x0": result.boxes[:, 0], "y0": result.boxes[:, 1], "x1": result.boxes[:, 2],
                          "y1": result.boxes[:, 3]})
    d2.download_button(T("download_csv"), table.to_csv(index=False), file_name="instances.csv", mime="text/csv",
                       key="in_dl_csv", icon=":material/download:")
st.markdown(T.md("summary"))
