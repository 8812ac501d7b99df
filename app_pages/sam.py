"""SAM: click, drag a box or segment everything; the image embedding is computed once and cached."""
import streamlit as st

from app_pages.ui import common, images
from app_pages.ui import sam as sw

T = common.texts("sam")
common.header(T)

left, right = st.columns(2)
with left:
    picked = images.pick_image("sam", images.PICTURES)
with right:
    loaded = sw.model("sam", "sam")  # None: no weights yet, and the untrained pipeline not chosen
if loaded is None:  # the picture stays in view: a student sees what the model will segment once it is here
    left.image(picked.image, width="stretch")
    st.stop()

sw.workbench(loaded, picked.image, "sam", first=sw.first_click(picked.sample), shareable=picked.sample is not None)

st.markdown(T.md("reading"))
with st.expander(T("more_title")):
    st.markdown(T.md("more"))
