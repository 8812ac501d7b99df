"""Pose in your photo: Keypoint R-CNN's 56×56 heatmaps per person, then top-down HRNet on person crops."""
import numpy as np
import streamlit as st

from app_pages.ui import common, loaders
from app_pages.ui import photo as pw
from app_pages.ui import weights as wp
from app_pages.ui.components import image_click
from core import analysis
from core.figures.photo import heatmap_grid, pose_figure
from core.zoo import pose, weights
from core.zoo.checkpoints import CheckpointError
from core.zoo.instances import INSTANCE_COLORS

T = common.texts("pose_photo")
W = pw.words()
common.header(T)
dev = pw.device()
NAMES = [T.table("joints")[n] for n in pose.KEYPOINT_NAMES]


def load(loader, ref, data):
    try:
        return (*pw.timed(loader, str(dev), ref.key, ref, data), ref)
    except CheckpointError as err:
        wp.checkpoint_problem(err)
        ref = weights.random_weights("not_cached")
        return (*pw.timed(loader, str(dev), ref.key, ref, None), ref)


def heat_over_photo(maps: np.ndarray, box) -> np.ndarray:
    """The photo, darkened, with the joints' heatmaps (each scaled to its own peak) in colour inside ``box``."""
    scaled = maps / np.maximum(maps.reshape(len(maps), -1).max(1), 1e-12)[:, None, None]
    heat = pose.paste_into_photo(scaled, box, image.shape[:2])
    colours = analysis.colormap(heat).astype(np.float32)
    mix = (0.35 + 0.55 * heat)[..., None]
    return ((1 - mix) * image * 0.8 + mix * colours).astype(np.uint8)


left, right = st.columns(2, gap="large")
with left:
    picked = pw.photo(T, "pp")
    image, image_id = picked.image, picked.id
with right:
    st.subheader(T("krcnn_settings"))
    published = weights.weights_enum("keypointrcnn_resnet50_fpn")
    kref, kdata = wp.file_panel("pp_k", T("krcnn_name"), published.url, published.meta.get("_file_size"))
    side = pw.detector_side(T, "pp_side", dev)
    c1, c2 = st.columns(2)
    score = c1.slider(T("score"), 0.05, 0.95, value=0.7, step=0.05, key="pp_score", bind="query-params")
    max_people = c2.slider(T("max_people"), 1, 10, value=4, key="pp_max", bind="query-params")
    proposals = st.select_slider(T("proposals"), [50, 100, 200, 300, 500, 1000],
                                 value=1000 if dev.type == "cuda" else 300, key="pp_proposals", bind="query-params",
                                 help=T("proposals_help"))
    amp = pw.precision_switch("pp", dev)

kmodel, kload, kref = load(loaders.photo_keypoint_model, kref, kdata)
kp = pw.guarded(loaders.photo_keypoints, kref.key, str(dev), image_id, side, score, max_people, proposals, amp, kmodel,
                image)
if kp is None:
    st.stop()

# --- Keypoint R-CNN -----------------------------------------------------------------------------------------------
st.header(T("krcnn_title", n=len(kp.boxes)))
st.markdown(T.md("krcnn"))
if not kref.pretrained:
    st.warning(W("untrained", model=T("krcnn_name")))
kthr = st.slider(T("krcnn_threshold"), -2.0, 10.0, value=2.0, step=0.5, key="pp_kthr", bind="query-params",
                 help=T("krcnn_threshold_help"))
shown, heat_col = st.columns(2)
with shown:
    common.show_figure(pose_figure(image, kp.keypoints, kp.keypoint_scores, pose.SKELETON, NAMES, kthr,
                                   boxes=kp.boxes, colors=INSTANCE_COLORS, title=T("krcnn_fig"),
                                   height=min(560, 80 + image.shape[0])), key="pp_fig_krcnn")
if len(kp.boxes):
    person = common.choice(st.selectbox, T("person"), list(range(len(kp.boxes))), key="pp_person",
                           format_func=lambda p: T("person_label", n=p + 1, score=kp.scores[p]))
    probs = pose.spatial_softmax(kp.heatmaps[person])  # (17, 56, 56), each map sums to 1
    with heat_col:
        st.image(heat_over_photo(probs, kp.boxes[person]), caption=T("krcnn_pasted", n=person + 1), width="stretch")
    peaks = np.stack(np.unravel_index(probs.reshape(17, -1).argmax(1), probs.shape[1:])[::-1], 1)  # (17, 2) x, y
    common.show_figure(heatmap_grid(probs, NAMES, title=T("krcnn_grid", n=person + 1), peaks=peaks),
                       key="pp_fig_kgrid")
    st.caption(T("krcnn_grid_note"))
else:
    st.info(T("no_people", score=score))

# --- top-down HRNet -------------------------------------------------------------------------------------------------
st.header(T("hrnet_title"))
st.markdown(T.md("hrnet"))
h1, h2 = st.columns([1, 1], gap="large")
with h1:
    href, hdata = wp.file_panel("pp_h", T("hrnet_name"), pose.HRNET_URL, None, names=pose.HRNET_FILES)
with h2:
    detector_ok = kref.pretrained and len(kp.boxes) > 0
    source = common.choice(st.radio, T("boxes_from"), ["detector", "whole", "draw"], key="pp_boxes",
                           default="detector" if detector_ok else "whole", format_func=lambda k: T(f"boxes_{k}"))
    method = common.choice(st.radio, T("decode"), ["subpixel", "argmax"], key="pp_decode",
                           format_func=lambda k: T(f"decode_{k}"), horizontal=True, help=T("decode_help"))
    hthr = st.slider(T("hrnet_threshold"), 0.0, 1.0, value=0.3, step=0.05, key="pp_hthr", bind="query-params")
if source == "detector":
    boxes = kp.boxes
    if not len(boxes):
        st.info(T("boxes_none"))
    elif not kref.pretrained:
        st.warning(T("boxes_untrained"))
elif source == "whole":
    boxes = pose.whole_image_box(image)
else:
    st.caption(T("draw_hint"))
    event = image_click(image, key="pp_draw", mode="box", width=min(720, 2 * image.shape[1]), alt=T("draw_alt"))
    if event and event.get("kind") == "box":
        st.session_state["pp_drawn"] = (image_id, [event["x0"], event["y0"], event["x1"], event["y1"]])
    drawn = st.session_state.get("pp_drawn")
    boxes = np.array([drawn[1]], dtype=np.float32) if drawn and drawn[0] == image_id else pose.whole_image_box(image)
    if not (drawn and drawn[0] == image_id):
        st.info(T("draw_first"))

hmodel, hload, href = load(loaders.photo_hrnet_model, href, hdata)
if hmodel.dialect:
    st.caption(T(f"dialect_{hmodel.dialect}"))
boxes_key = tuple(float(round(v, 2)) for v in np.asarray(boxes, dtype=np.float32).ravel())
td = pw.guarded(loaders.photo_top_down, href.key, str(dev), image_id, boxes_key, method, amp, hmodel, image)
if td is None:
    st.stop()
if not href.pretrained:
    st.warning(W("untrained", model=T("hrnet_name")))
if len(td.crops):
    windows = np.array([w.box for w in td.windows])
    p1, p2 = st.columns(2)
    with p1:
        common.show_figure(pose_figure(image, td.keypoints, td.confidence, pose.SKELETON, NAMES, hthr, boxes=windows,
                                       colors=INSTANCE_COLORS, title=T("hrnet_fig"),
                                       height=min(560, 80 + image.shape[0])), key="pp_fig_hrnet")
    crop_pick = common.choice(st.selectbox, T("person"), list(range(len(td.crops))), key="pp_crop",
                              format_func=lambda p: T("crop_label", n=p + 1))
    win = td.windows[crop_pick]
    with p2:
        st.image(td.crops[crop_pick], caption=T("crop_caption", h=win.size[0], w=win.size[1]), width=240)
    stride = win.size[0] / td.heatmaps.shape[-2]
    cells = (td.keypoints[crop_pick] - np.array([win.x0, win.y0])) / win.scale / stride  # (17, 2) heatmap cells
    common.show_figure(heatmap_grid(td.heatmaps[crop_pick].clip(0, None), NAMES, peaks=cells,
                                    title=T("hrnet_grid", h=td.heatmaps.shape[-2], w=td.heatmaps.shape[-1])),
                       key="pp_fig_hgrid")
    st.caption(T("hrnet_grid_note"))

# --- speed ----------------------------------------------------------------------------------------------------------
st.header(T("speed_title"))
st.caption(pw.device_line(dev, amp))
pw.timings_table({T("krcnn_name"): kp.seconds, T("hrnet_name"): td.seconds},
                 {T("krcnn_name"): kload, T("hrnet_name"): hload})
st.markdown(T.md("summary"))
