"""Pose in your photo: Keypoint R-CNN's 56×56 heatmaps per person, then top-down HRNet on person crops."""
import numpy as np
import streamlit as st

from app_pages.ui import common, loaders
from app_pages.ui import photo as pw
from app_pages.ui import weights as wp
from app_pages.ui.components import image_click
from core import analysis
from core.data import poses as figures
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
    """The network with these weights, or None when the file does not fit (said on the page)."""
    try:
        return pw.timed(loader, str(dev), ref.key, ref, data)
    except CheckpointError as err:
        wp.checkpoint_problem(err, ref)
        return None, 0.0


def ready(ref) -> bool:
    """Pretrained weights, or random ones the user chose (anything else is the "no weights yet" state)."""
    return ref.pretrained or ref.reason == "chosen"


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
    kref, kdata = wp.file_panel("pp_k", T("krcnn_name"), published.url, published.meta.get("_file_size"),
                                missing_state=True)
    side = pw.detector_side(T, "pp_side", dev)
    c1, c2 = st.columns(2)
    score = c1.slider(T("score"), 0.05, 0.95, value=0.7, step=0.05, key="pp_score", bind="query-params")
    max_people = c2.slider(T("max_people"), 1, 10, value=4, key="pp_max", bind="query-params")
    proposals = st.select_slider(T("proposals"), [50, 100, 200, 300, 500, 1000],
                                 value=1000 if dev.type == "cuda" else 300, key="pp_proposals", bind="query-params",
                                 help=T("proposals_help"))
    amp = pw.precision_switch("pp", dev)

# Keypoint R-CNN runs with pretrained weights or random ones the user chose; without either its part of the page
# is the "no weights yet" state above, and HRNet below takes the whole photo or a drawn box.
kmodel, kload = load(loaders.photo_keypoint_model, kref, kdata) if ready(kref) else (None, 0.0)
kp = None
if kmodel is not None:
    kp = pw.guarded(loaders.photo_keypoints, kref.key, str(dev), image_id, side, score, max_people, proposals, amp,
                    kmodel, image)
    if kp is None:  # the GPU ran out of memory: said above, with the way out
        st.stop()
UK = W("untrained_prefix") if not kref.pretrained else ""  # before every title and caption of a random model

# --- Keypoint R-CNN -----------------------------------------------------------------------------------------------
if kp is not None:
    st.header(UK + T("krcnn_title", n=len(kp.boxes)))
    st.caption(wp.source_line(T("krcnn_name"), kref))
    st.markdown(T.md("krcnn"))
    if not kref.pretrained:
        st.warning(W("untrained", model=T("krcnn_name")))
    kthr = st.slider(T("krcnn_threshold"), -2.0, 10.0, value=2.0, step=0.5, key="pp_kthr", bind="query-params",
                     help=T("krcnn_threshold_help"))
    shown, heat_col = st.columns(2)
    with shown:
        common.show_figure(pose_figure(image, kp.keypoints, kp.keypoint_scores, pose.SKELETON, NAMES, kthr,
                                       boxes=kp.boxes, colors=INSTANCE_COLORS, title=UK + T("krcnn_fig"),
                                       height=min(560, 80 + image.shape[0])), key="pp_fig_krcnn")
    if len(kp.boxes):
        person = common.choice(st.selectbox, T("person"), list(range(len(kp.boxes))), key="pp_person",
                               format_func=lambda p: T("person_label", n=p + 1, score=kp.scores[p]))
        probs = pose.spatial_softmax(kp.heatmaps[person])  # (17, 56, 56), each map sums to 1
        with heat_col:
            st.image(heat_over_photo(probs, kp.boxes[person]), caption=UK + T("krcnn_pasted", n=person + 1),
                     width="stretch")
        peaks = np.stack(np.unravel_index(probs.reshape(17, -1).argmax(1), probs.shape[1:])[::-1], 1)  # (17, 2)
        common.show_figure(heatmap_grid(probs, NAMES, title=UK + T("krcnn_grid", n=person + 1), peaks=peaks),
                           key="pp_fig_kgrid")
        st.caption(T("krcnn_grid_note"))
    else:
        st.info(T("no_people", score=score))

# --- top-down HRNet -------------------------------------------------------------------------------------------------
st.header(T("hrnet_title"))
st.markdown(T.md("hrnet"))
h1, h2 = st.columns([1, 1], gap="large")
with h1:
    # The best network present: the published one in the cache, else one trained here in this session, else the
    # "no weights yet" state (random weights only when chosen).
    runs = pw.session_pose_runs()
    cached = weights.locate(pose.HRNET_URL, None, pose.HRNET_FILES).kind == "cache"
    href, hdata = wp.file_panel("pp_h", T("hrnet_name"), pose.HRNET_URL, None, names=pose.HRNET_FILES,
                                missing_state=True, extra={"session": T("weights_session")} if runs else None,
                                default="session" if runs and not cached else "pretrained")
    run = None
    if href.reason == "chosen" and href.name == "session":
        pick = common.choice(st.selectbox, T("session_run"), list(range(len(runs))), key="pp_run",
                             format_func=lambda k: runs[k].name)
        run = runs[pick]
        st.caption(T("session_run_note", size=run.cfg.size))
with h2:
    detector_ok = kp is not None and kref.pretrained and len(kp.boxes) > 0
    sources = ["detector", "whole", "draw"] if kp is not None else ["whole", "draw"]
    source = common.choice(st.radio, T("boxes_from"), sources, key="pp_boxes",
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

boxes_key = tuple(float(round(v, 2)) for v in np.asarray(boxes, dtype=np.float32).ravel())
skeleton, joint_names, td, hload, hline = pose.SKELETON, NAMES, None, 0.0, ""
if run is not None:  # a network trained here: its own joints and limbs, on square crops of its training size
    hmodel = pw.session_pose_model(run, dev)
    skeleton = figures.EDGES
    joint_names = [common.texts("pose_train")(f"joint_{n}") for n in figures.JOINTS]
    td = pw.guarded(loaders.photo_top_down_sized, hmodel.weights.key, str(dev), image_id, boxes_key, method, amp,
                    run.cfg.size, hmodel, image)
    hline = W("source_line_session", what=T("hrnet_name"), name=run.name)
elif ready(href):
    hmodel, hload = load(loaders.photo_hrnet_model, href, hdata)
    if hmodel is not None:
        if hmodel.dialect:
            st.caption(T(f"dialect_{hmodel.dialect}"))
        td = pw.guarded(loaders.photo_top_down, href.key, str(dev), image_id, boxes_key, method, amp, hmodel, image)
    hline = wp.source_line(T("hrnet_name"), href)
UH = W("untrained_prefix") if run is None and not href.pretrained else ""
if td is not None:
    st.caption(hline)
if td is not None and UH:
    st.warning(W("untrained", model=T("hrnet_name")))
if td is not None and len(td.crops):
    windows = np.array([w.box for w in td.windows])
    p1, p2 = st.columns(2)
    with p1:
        common.show_figure(pose_figure(image, td.keypoints, td.confidence, skeleton, joint_names, hthr, boxes=windows,
                                       colors=INSTANCE_COLORS, title=UH + T("hrnet_fig"),
                                       height=min(560, 80 + image.shape[0])), key="pp_fig_hrnet")
    crop_pick = common.choice(st.selectbox, T("person"), list(range(len(td.crops))), key="pp_crop",
                              format_func=lambda p: T("crop_label", n=p + 1))
    win = td.windows[crop_pick]
    with p2:
        st.image(td.crops[crop_pick], caption=UH + T("crop_caption", h=win.size[0], w=win.size[1]), width=240)
    stride = win.size[0] / td.heatmaps.shape[-2]
    cells = (td.keypoints[crop_pick] - np.array([win.x0, win.y0])) / win.scale / stride  # (17, 2) heatmap cells
    common.show_figure(heatmap_grid(td.heatmaps[crop_pick].clip(0, None), joint_names, peaks=cells,
                                    title=UH + T("hrnet_grid", n=len(joint_names), h=td.heatmaps.shape[-2],
                                                 w=td.heatmaps.shape[-1])),
                       key="pp_fig_hgrid")
    st.caption(T("hrnet_grid_note"))

# --- speed ----------------------------------------------------------------------------------------------------------
ran = {T("krcnn_name"): kp.seconds if kp is not None else None, T("hrnet_name"): td.seconds if td is not None else None}
if any(v is not None for v in ran.values()):
    st.header(T("speed_title"))
    st.caption(pw.device_line(dev, amp))
    pw.timings_table({k: v for k, v in ran.items() if v is not None}, {T("krcnn_name"): kload, T("hrnet_name"): hload})
st.markdown(T.md("summary"))
