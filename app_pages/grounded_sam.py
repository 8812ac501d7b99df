"""Grounded SAM: a sentence → Grounding DINO's boxes → SAM's masks; SAM 3 takes the phrases directly."""
import numpy as np
import pandas as pd
import streamlit as st

from app_pages.ui import common, images, loaders
from app_pages.ui import sam as sw
from core import lessons
from core.figures.sam import shown_score
from core.promptable import draw
from core.promptable.grounded import (
    LECTURE_PROMPT,
    detect_raw,
    sam3_segment,
    select,
    split_phrases,
)
from core.promptable.models import installed
from core.promptable.segment import Segmenter, image_key

T = common.texts("grounded_sam")
common.header(T)

left, right = st.columns(2)
with left:
    image = images.pick_image("gs", images.PICTURES).image
    text = st.text_input(T("prompt"), value=LECTURE_PROMPT, key="gs_text", bind="query-params",
                         help=T("prompt_help"), max_chars=300)
    a, b = st.columns(2)
    box_thr = a.slider(T("box_threshold"), 0.0, 1.0, value=0.35, step=0.01, key="gs_box", bind="query-params",
                       help=T("box_threshold_help"))
    text_thr = b.slider(T("text_threshold"), 0.0, 1.0, value=0.25, step=0.01, key="gs_tok", bind="query-params",
                        help=T("text_threshold_help"))
with right:
    found = {"grounding_dino": sw.pick("grounding_dino", "gsd"), "sam": sw.pick("sam", "gss")}
    sam3_here = installed("sam3")
    with_sam3 = st.toggle(T("with_sam3"), value=sam3_here, key="gs_sam3", bind="query-params",
                          help=T("with_sam3_help"), disabled=not sam3_here) and sam3_here
    if not sam3_here:
        st.caption(T("sam3_not_installed"))
    if with_sam3:
        found["sam3"] = sw.pick("sam3", "gs3")
    # One explicit choice for the whole page: the untrained stand-ins of whatever is missing.
    untrained = sw.untrained_toggle("gs") if any(not r.found for r in found.values()) else False
    detector = sw.load("grounding_dino", "gsd", found["grounding_dino"], untrained, compact=True)
    sam = sw.load("sam", "gss", found["sam"], untrained, compact=True)
    sam3 = sw.load("sam3", "gs3", found["sam3"], untrained, compact=True) if with_sam3 else None
    with_sam3 = sam3 is not None
    if with_sam3:
        s3_thr = st.slider(T("sam3_threshold"), 0.0, 1.0, value=0.5 if sam3.pretrained else 0.2, step=0.01,
                           key="gs_s3", bind="query-params",
                           help=T("sam3_threshold_help"))

if detector is None or sam is None:  # no weights yet, and the untrained pipeline not chosen
    st.stop()
if untrained:
    st.warning(sw.words()("untrained_banner", kind=", ".join(
        sw.words()(f"kind_{m.kind}") for m in (detector, sam, sam3) if m is not None and not m.pretrained)),
        icon=":material/warning:")
U_boxes = sw.untrained_prefix(detector)  # the boxes come from the detector
U_masks = U_boxes or sw.untrained_prefix(sam)  # the masks from SAM, prompted with those boxes

phrases = split_phrases(text)
if not phrases:
    st.warning(T("no_phrases"))
    st.stop()
colors = {p: draw.color(i) for i, p in enumerate(phrases)}
img_key = image_key(image)

# The detector runs once per picture, prompt and model; moving a threshold only filters its answer.
raw_key = (img_key, text, detector.key, str(detector.device))
cached = st.session_state.get("gs_raw")
if not cached or cached[0] != raw_key:
    with st.spinner(T("detecting")):
        cached = (raw_key, detect_raw(detector, image, text))
    st.session_state["gs_raw"] = cached
raw = cached[1]
found = select(raw, box_thr, text_thr)
if len(raw.phrases) < len(phrases):
    st.warning(T("prompt_too_long", kept=len(raw.phrases), total=len(phrases)))

segmenter = Segmenter(sam)
with st.spinner(T("embedding")):
    emb, _ = loaders.sam_embeddings().get(segmenter, image)
masks, ious, decode_s = segmenter.predict_boxes(emb, [d.box for d in found.items])

columns = st.columns(3 if with_sam3 else 2)
c1, c2 = columns[:2]
with c1:
    st.subheader(U_boxes + T("boxes_title"))
    boxed = draw.draw_boxes(image, [d.box for d in found.items],
                            [f"{d.phrase} {lessons.number(shown_score(d.score, 2), '.2f', common.lang())}"
                             for d in found.items], [colors[d.phrase] for d in found.items])
    st.image(boxed, width="stretch")
    st.caption(U_boxes + T("boxes_caption", n=len(found.items), queries=found.n_queries, time=sw.seconds(raw.seconds)))
with c2:
    st.subheader(U_masks + T("masks_title"))
    order = np.argsort([-m.sum() for m in masks]) if len(masks) else []  # large masks first, small on top
    painted = draw.overlay_masks(image, [masks[i] for i in order], [colors[found.items[i].phrase] for i in order],
                                 alpha=0.55)
    st.image(draw.draw_boxes(painted, [d.box for d in found.items], [d.phrase for d in found.items],
                             [colors[d.phrase] for d in found.items]), width="stretch")
    st.caption(U_masks + T("masks_caption", enc=sw.seconds(emb.seconds), dec=sw.seconds(decode_s), n=len(found.items)))

st.markdown(" ".join(f"<span style='color:{'#%02x%02x%02x' % colors[p]}'>■</span> {p}" for p in phrases),
            unsafe_allow_html=True)
if not found.items:
    st.info(T("nothing_found"))
else:
    rows = [{T("col_phrase"): d.phrase, T("col_score"): shown_score(d.score),
             T("col_phrase_score"): shown_score(d.phrase_score),
             T("col_box"): f"({d.box.x0:.0f}, {d.box.y0:.0f}) – ({d.box.x1:.0f}, {d.box.y1:.0f})",
             T("col_area"): f"{100 * m.mean():.1f} %", T("col_iou"): shown_score(q)}
            for d, m, q in zip(found.items, masks, ious)]
    common.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption(U_masks + T("table_caption"))

if with_sam3:
    s3_key = (img_key, text, sam3.key, str(sam3.device), s3_thr)
    cached3 = st.session_state.get("gs_sam3_result")
    if not cached3 or cached3[0] != s3_key:
        with st.spinner(T("running_sam3", n=len(phrases))):
            cached3 = (s3_key, *sam3_segment(sam3, image, text, threshold=s3_thr))
        st.session_state["gs_sam3_result"] = cached3
    _, concepts, s3_seconds = cached3
    all_masks = sorted(((c.phrase, m) for c in concepts for m in c.masks), key=lambda pm: -pm[1].sum())
    with columns[2]:
        st.subheader(sw.untrained_prefix(sam3) + T("sam3_title"))
        st.image(draw.overlay_masks(image, [m for _, m in all_masks],
                                    [colors.get(p, draw.color(9)) for p, _ in all_masks], alpha=0.55), width="stretch")
        st.caption(sw.untrained_prefix(sam3) + T("sam3_caption", time=sw.seconds(s3_seconds)) + " "
                   + "; ".join(T("sam3_found", phrase=c.phrase, n=len(c.masks)) for c in concepts) + ".")
        if not sam3.pretrained:
            st.caption(T("sam3_tiny"))

st.markdown(T.md("pipeline"))
with st.expander(T("thresholds_title")):
    st.markdown(T.md("thresholds"))
st.markdown(T.md("sam3"))
