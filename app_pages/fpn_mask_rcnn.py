"""FPN and Mask R-CNN: a pyramid of strong feature maps, and the detection and mask heads built on it."""
import numpy as np
import pandas as pd
import streamlit as st
import torch

from app_pages.ui import architecture as aw
from app_pages.ui import common, loaders, widgets
from core import architectures as arch
from core.figures.architectures import architecture_diagram, map_row
from core.images import ImageError, load_image
from core.promptable.segment import image_key
from core.zoo.instances import LEVELS, coco_classes, draw_detections, run_graph
from core.zoo.weights import cached_file

T = common.texts("fpn_mask_rcnn")
W = aw.words()
common.header(T)

# --- our FPN -------------------------------------------------------------------------------------------------
# Each section is a fragment: a widget in one reruns only that section (the pyramid of our FPN never waits
# for Mask R-CNN, and a channel of Mask R-CNN's pyramid never retraces our FPN).
@st.fragment
def our_fpn() -> None:
    st.subheader(T("fpn_title"))
    st.markdown(T.md("fpn"))
    h, w = aw.size_inputs("fm", (96, 128))
    _, tr, _ = aw.diagram("fpn", arch.NUM_CLASSES, h, w, key="fm_diagram")
    aw.metrics(tr)

    st.markdown(T.md("torchvision"))
    ours, theirs = arch.pyramid_check(loaders.model("fpn", arch.NUM_CLASSES), loaders.sample_input(h, w))
    common.torch_check(torch.cat([p.flatten() for p in ours]), torch.cat([p.flatten() for p in theirs]),
                       T("tv_fpn"))
    st.caption(T("tv_shapes", shapes=", ".join(f"P{k + 2}: {'×'.join(str(s) for s in p.shape[1:])}"
                                               for k, p in enumerate(ours))))


our_fpn()

# --- Mask R-CNN ------------------------------------------------------------------------------------------------
@st.fragment
def mask_rcnn() -> None:
    st.subheader(T("mrcnn_title"))
    st.markdown(T.md("mask_rcnn"))
    upload = st.file_uploader(T("upload"), type=["png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff", "gif"],
                              key="fm_upload")
    rgb = None
    if upload is not None:
        try:
            rgb = load_image(upload.getvalue(), max_side=1024)
        except ImageError:
            st.error(T("bad_image"))
    if rgb is None:
        rgb, _ = loaders.sample(240, 320)
        st.caption(T("using_sample"))
    st.image(rgb, width=360)
    size = common.choice(st.segmented_control, T("min_size"), [320, 480, 640, 800], key="fm_size", default=480,
                         format_func=lambda v: T("min_size_px", v=v))

    allow = bool(st.session_state.get("fm_download"))  # set only by the button below: never download unasked
    device = str(common.device())  # the sidebar's choice: a GPU when there is one
    # Built and run beside the page the first time (seconds on a CPU): the text above and our FPN never wait.
    job = ("maskrcnn_run", image_key(rgb), size, allow, device)
    if not common.prepared(job, loaders.maskrcnn_run, rgb, size, allow, device, what=T("preparing", size=size)):
        return
    with st.spinner(T("building")):
        bundle = loaders.maskrcnn(size, allow, device)
    if bundle.pretrained:
        st.success(T("weights_found", path=str(bundle.status.path)))
    else:
        reason = bundle.status.reason or "not_cached"
        st.warning(T(f"weights_{reason}", path=str(cached_file("maskrcnn_resnet50_fpn"))))
        if not allow and st.button(T("download"), key="fm_download_button"):
            st.session_state["fm_download"] = True
            st.rerun()

    with st.spinner(T("running")):
        run = loaders.maskrcnn_run(rgb, size, allow, device)
    st.markdown(T("pyramid_head", h=run.resized[0], w=run.resized[1]))
    view = common.choice(st.segmented_control, T("view"), ["mean", "channel"], key="fm_view", default="mean",
                         format_func=lambda k: T(f"view_{k}"))
    if view == "channel":
        channel = st.slider(T("channel"), 0, 255, value=0, key="fm_channel", bind="query-params")
        maps = [run.levels[k][channel] for k in LEVELS]
    else:
        maps = [np.abs(run.levels[k]).mean(0) for k in LEVELS]
    titles = [T("level_title", k=k, h=run.levels[k].shape[1], w=run.levels[k].shape[2], s=4 * 2 ** i)
              for i, k in enumerate(LEVELS)]
    common.show_figure(map_row(maps, titles, height=250), key="fm_levels")
    st.caption(T("levels_caption"))

    st.markdown(T.md("heads"))
    mr_boxes, mr_edges = run_graph(run)
    common.show_figure(architecture_diagram(mr_boxes, mr_edges, W.table("edges") | T.table("edges"), run.resized,
                                            hover="{key}<br>{shape}", width_px=common.column_px(1), grow=aw.grow()),
                       key="fm_mrcnn_diagram")
    stages = T.table("stages")
    table = pd.DataFrame([{T("col_stage"): stages.get(s.stage.rsplit("_P", 1)[0], s.stage) +
                           (f" ({s.stage.rsplit('_', 1)[1]})" if "_P" in s.stage else ""),
                           T("col_shape"): "×".join(str(v) for v in s.shape)} for s in run.shapes])
    common.dataframe(table, hide_index=True, width="stretch", height=420)

    st.markdown(T("detections_head"))
    if bundle.pretrained:
        if len(run.scores):
            st.image(draw_detections(rgb, run, coco_classes()), width="stretch")
        else:
            st.info(T("no_detections"))
    else:
        st.info(T("random_detections"))


mask_rcnn()

widgets.quiz(T, arch.fpn_questions, key="fm_quiz")
