"""Scribbles: paint a few strokes per class on a photo; a small network learns from them and labels the rest."""
import hashlib

import numpy as np
import streamlit as st

from app_pages.ui import common
from app_pages.ui.components import paint
from core.data.streets import make_street
from core.images import ImageError, load_image, overlay
from core.training import scribbles
from core.training.scribbles import IGNORE_INDEX, rasterize

T = common.texts("scribbles")
common.header(T)

COLOURS = np.array([[230, 57, 70], [29, 120, 216], [42, 157, 84], [244, 162, 35], [142, 68, 173]], np.uint8)
hexes = ["#%02x%02x%02x" % tuple(c) for c in COLOURS]

left, right = st.columns([1, 2])
with left:
    source = common.choice(st.segmented_control, T("source"), ["sample", "upload"], key="sc_source", format_func=T)
    image = None
    if source == "upload":
        upload = st.file_uploader(T("upload"), type=["png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff", "gif"],
                                  key="sc_upload")
        if upload is not None:
            try:
                image = load_image(upload.getvalue(), max_side=256)
            except ImageError as err:
                st.error(T("bad_image", reason=common.image_error(err)))
        if image is None:
            st.info(T("upload_first"))
    if image is None:
        seed = st.number_input(T("sample_seed"), 0, 999, value=7, key="sc_seed", bind="query-params")
        image = make_street(int(seed), (144, 192))[0]
    n_classes = st.slider(T("n_classes"), 2, 5, value=2, key="sc_n", bind="query-params")
    names = [T(f"class_{i}") for i in range(n_classes)]
    label = st.radio(T("paint_class"), list(range(n_classes)), key="sc_label", format_func=lambda i: names[i],
                     horizontal=True)
    brush = st.slider(T("brush"), 1, 15, value=5, key="sc_brush", bind="query-params")
    steps = st.slider(T("steps"), 20, 400, value=150, step=10, key="sc_steps", bind="query-params")

# A new picture starts a new drawing: the strokes of one image mean nothing on another.
image_id = hashlib.sha1(image.tobytes()).hexdigest()[:12] + f"-{n_classes}"
if st.session_state.get("sc_image_id") != image_id:
    st.session_state.update(sc_image_id=image_id, sc_version=st.session_state.get("sc_version", 0) + 1,
                            sc_initial=[], sc_model=None, sc_result=None)
version = st.session_state["sc_version"]

with right:
    st.caption(T("paint_hint", name=names[label]))
    strokes = paint(image, key="sc_canvas", label=int(label), color=hexes[label], brush=float(brush),
                    version=version, width=min(720, image.shape[1] * 4))
    strokes = strokes or st.session_state.get("sc_initial", [])
    b1, b2, b3 = st.columns(3)
    train_clicked = b1.button(T("train"), type="primary", key="sc_train")
    if b2.button(T("undo"), key="sc_undo", disabled=not strokes):
        st.session_state.update(sc_initial=strokes[:-1], sc_version=version + 1)
        st.rerun()
    if b3.button(T("clear"), key="sc_clear"):
        st.session_state.update(sc_initial=[], sc_version=version + 1, sc_model=None, sc_result=None)
        st.rerun()

labels = rasterize(strokes, image.shape[:2])
painted = labels != IGNORE_INDEX
st.caption(T("painted", share=100 * painted.mean(), n=len(strokes)))

if train_clicked:
    bar = st.progress(0.0, text=T("training"))
    try:
        last = None
        for item in scribbles.fit(image, labels, n_classes, steps=steps, model=st.session_state.get("sc_model"),
                                  device=common.device()):
            last = item
            if item["step"] % 10 == 0 or item["step"] == steps:
                bar.progress(item["step"] / steps, text=T("training_loss", step=item["step"], loss=item["loss"]))
        st.session_state["sc_model"] = last["model"]
        pred, conf = scribbles.predict(last["model"], image, device=common.device())
        st.session_state["sc_result"] = (image_id, pred, conf, last["loss"])
    except ValueError as err:  # nothing painted, a single class...: the sentence says what to do
        code = getattr(err, "code", None)
        st.warning(T(f"err_{code}", **err.params) if code and T.has(f"err_{code}") else str(err))
    bar.empty()

result = st.session_state.get("sc_result")
if result and result[0] == image_id:
    _, pred, conf, loss = result
    st.subheader(T("result"))
    alpha = st.slider(T("opacity"), 0.0, 1.0, value=0.55, key="sc_alpha", bind="query-params")
    c1, c2 = st.columns(2)
    c1.image(overlay(image, pred, COLOURS[:n_classes], alpha), caption=T("overlay"), width="stretch")
    c2.image((conf * 255).astype(np.uint8), caption=T("confidence"), width="stretch", clamp=True)
    shares = np.bincount(pred.ravel(), minlength=n_classes) / pred.size
    st.markdown(" · ".join(f"<span style='color:{hexes[i]}'>■</span> {names[i]}: {100 * shares[i]:.0f} %"
                           for i in range(n_classes)), unsafe_allow_html=True)
    agree = (pred[painted] == labels[painted]).mean() if painted.any() else float("nan")
    st.caption(T("fit_report", agree=100 * agree, loss=loss))
else:
    st.info(T("how_to"))

st.markdown(T.md("why", field=scribbles.receptive_field()))
