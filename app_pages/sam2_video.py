"""SAM 2: the same prompts on images, and on a short video: prompt a frame, propagate with memory, correct."""
import numpy as np
import streamlit as st

from app_pages.ui import common, images
from app_pages.ui import sam as sw
from app_pages.ui.components import image_click
from core.promptable import draw, samples
from core.promptable.segment import Box, Point, image_key
from core.promptable.video import (
    MAX_FRAMES,
    VideoError,
    VideoTracker,
    encode_video,
    read_video,
)

T = common.texts("sam2_video")
common.header(T)

mode = common.choice(st.segmented_control, T("mode"), ["video", "image"], key="sv_mode",
                     format_func=lambda m: T(f"mode_{m}"))

if mode == "image":
    left, right = st.columns(2)
    with left:
        picked = images.pick_image("s2", images.PICTURES)
    with right:
        loaded = sw.model("sam2", "s2")  # None: no weights yet, and the untrained model not chosen
    if loaded is None:
        st.stop()
    sw.workbench(loaded, picked.image, "s2", first=sw.first_click(picked.sample),
                 shareable=picked.sample is not None)
    st.markdown(T.md("image_note"))
    st.stop()


@st.cache_data(max_entries=2, show_spinner=False)
def sample_clip(frames: int):
    return samples.moving_video(frames, 240, 320)[0]


left, right = st.columns(2)
with left:
    source = common.choice(st.segmented_control, T("source"), ["sample", "upload"], key="sv_source",
                           format_func=lambda s: T(f"source_{s}"))
    n_keep = st.slider(T("max_frames"), 4, MAX_FRAMES, value=16, key="sv_frames", bind="query-params",
                       help=T("max_frames_help"))
    frames, fps = sample_clip(n_keep), 8.0
    if source == "upload":
        step = st.slider(T("step"), 1, 10, value=2, key="sv_step", bind="query-params", help=T("step_help"))
        upload = st.file_uploader(T("upload"), type=["mp4", "webm", "mov", "avi", "mkv", "m4v", "mpg", "mpeg"],
                                  key="sv_upload")
        if upload is not None:
            token = (upload.file_id, upload.size, n_keep, step)
            if st.session_state.get("sv_upload_token") != token:
                try:
                    with st.spinner(T("decoding")):
                        st.session_state["sv_clip"] = read_video(upload.getvalue(), max_frames=n_keep, step=step)
                    st.session_state["sv_upload_token"] = token
                except VideoError as err:
                    st.warning(T("bad_video", reason=T(f"video_{err.code}") if T.has(f"video_{err.code}") else str(err)))
        clip = st.session_state.get("sv_clip")
        if clip is None:
            st.info(T("upload_first"))
        else:
            frames, fps = clip.frames, clip.fps
            st.caption(T("clip_info", n=len(frames), h=frames[0].shape[0], w=frames[0].shape[1], fps=fps,
                         decoded=clip.source_frames, step=clip.step)
                       + (" " + T("clip_truncated") if clip.truncated else ""))
with right:
    loaded = sw.model("sam2_video", "sv")  # None: no weights yet, and the untrained model not chosen
if loaded is None:
    st.stop()
U = sw.untrained_prefix(loaded)  # before every caption and title of a random model's masks

# One tracker per user, clip and model: it holds SAM 2's memory of this clip.
clip_key = (image_key(np.stack([frames[0], frames[-1]])), len(frames), loaded.key, str(loaded.device))
tracker: VideoTracker | None = st.session_state.get("sv_tracker")
if tracker is None or st.session_state.get("sv_tracker_key") != clip_key:
    with st.spinner(T("preparing", n=len(frames))):
        tracker = VideoTracker(loaded, frames)
        if source == "sample":  # a first click on the ball, so the page shows something at once
            tracker.add(0, 1, Point(0.12 * frames[0].shape[1], 0.8 * frames[0].shape[0], 1))
    st.session_state.update(sv_tracker=tracker, sv_tracker_key=clip_key, sv_video=None, sv_frame=0)

frame = st.slider(T("frame"), 0, tracker.num_frames - 1, key="sv_frame", help=T("frame_help"))
controls = st.columns([2, 3], vertical_alignment="bottom")
with controls[0]:
    obj = common.choice(st.segmented_control, T("object"), [1, 2, 3], key="sv_obj",
                        format_func=lambda o: T("object_n", n=o))
with controls[1]:
    click_mode = common.choice(st.segmented_control, T("click_mode"), ["foreground", "background", "box"],
                               key="sv_click_mode", format_func=lambda m: T(f"click_{m}"))
buttons = st.columns([1, 1, 2, 4])
prompts_here = tracker.points_on(frame)
if buttons[0].button(T("undo"), key="sv_undo", disabled=obj not in prompts_here, width="stretch"):
    tracker.undo(frame, obj)
    st.rerun()
if buttons[1].button(T("clear"), key="sv_clear", disabled=not tracker.prompts, width="stretch"):
    tracker.clear()
    st.rerun()
propagate = buttons[2].button(T("propagate"), key="sv_propagate", type="primary", width="stretch",
                              disabled=not tracker.prompts)
anchors = tracker.conditioning_frames()  # frame numbers as the slider counts them (from 0)
buttons[3].caption(T("anchors_none") if not anchors else T("anchors_one", frame=anchors[0]) if len(anchors) == 1
                   else T("anchors", frames=", ".join(str(f) for f in anchors)))


def painted(k: int) -> np.ndarray:
    """Frame ``k`` with every object's mask in its colour."""
    masks = tracker.masks.get(k, {})
    objs = sorted(masks)
    return draw.overlay_masks(frames[k], [masks[o] for o in objs], [draw.color(o - 1) for o in objs])


if propagate:
    bar = st.progress(0.0, text=T("propagating", n=tracker.num_frames))
    seconds = tracker.propagate(lambda done, total: bar.progress(done / total,
                                                                 text=T("propagating_at", done=done, total=total)))
    bar.empty()
    st.session_state["sv_propagate_seconds"] = seconds

shown_width = min(720, 2 * frames[0].shape[1])  # the frame and the video player are drawn at this one width
view, info = st.columns([3, 2])
with view:
    st.caption(U + T(f"hint_{click_mode}", n=obj))
    picture = painted(frame)
    for o, (pts, box) in prompts_here.items():
        picture = draw.draw_prompts(picture, pts, box)
    event = image_click(picture, key="sv_click", mode="box" if click_mode == "box" else "point", alt=T("click_alt"),
                        width=shown_width)
    if event and event.get("t") != st.session_state.get("sv_last_t"):
        st.session_state["sv_last_t"] = event.get("t")
        with st.spinner(T("prompting")):
            if event.get("kind") == "box":
                tracker.add(frame, obj, box=Box(event["x0"], event["y0"], event["x1"], event["y1"]))
            else:
                tracker.add(frame, obj, Point(event["x"], event["y"], 0 if click_mode == "background" else 1))
        st.rerun()
with info:
    legend = " ".join(f"<span style='color:{draw.hex_color(o - 1)}'>■</span> {T('object_n', n=o)}"
                      for o in sorted({o for m in tracker.masks.values() for o in m}))
    if legend:
        st.markdown(legend, unsafe_allow_html=True)
    st.metric(T("t_prompt"), sw.seconds(tracker.last_prompt_seconds), help=T("t_prompt_help"))
    if tracker.propagated:
        total = st.session_state.get("sv_propagate_seconds", 0.0)
        st.metric(T("t_propagate"), sw.seconds(total), help=T("t_propagate_help"))
        st.caption(T("per_frame", time=sw.seconds(total / max(tracker.num_frames, 1))))
        st.success(T("propagated"))
    elif tracker.prompts:
        st.info(T("not_propagated"))
    else:
        st.info(T("no_prompt"))

if tracker.propagated:
    st.subheader(U + T("per_frame_title"))
    per_row = 8
    for row in range(0, tracker.num_frames, per_row):
        cols = st.columns(per_row)
        for k, col in zip(range(row, min(row + per_row, tracker.num_frames)), cols):
            col.image(painted(k), caption=U + T("frame_n", k=k) + (" ★" if k in tracker.conditioning_frames() else ""),
                      width="stretch")
    st.caption(U + T("strip_caption"))
    st.subheader(U + T("as_video"))
    cached = st.session_state.get("sv_video")
    if not cached or cached[0] != tracker.version:
        with st.spinner(T("encoding")):
            cached = (tracker.version, *encode_video([painted(k) for k in range(tracker.num_frames)], fps))
        st.session_state["sv_video"] = cached
    _, data, mime = cached
    if mime == "video/mp4":  # the player keeps the frame's width, whatever the column's
        st.video(data, format=mime, loop=True, width=shown_width)
    else:
        st.image(data, width=shown_width)
    if not loaded.pretrained:
        st.caption(T("tiny_video_note"))

st.markdown(T.md("memory"))
