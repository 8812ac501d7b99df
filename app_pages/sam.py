"""SAM: click, drag a box or segment everything; the image embedding is computed once and cached."""
import streamlit as st

from app_pages.ui import common
from app_pages.ui import sam as sw

T = common.texts("sam")
common.header(T)

left, right = st.columns(2)
with left:
    image, name = sw.picture("sam")
with right:
    loaded = sw.model("sam", "sam")

sw.workbench(loaded, image, "sam", first=sw.first_click(name), shareable=name != "upload")

st.markdown(T.md("reading"))
with st.expander(T("more_title")):
    st.markdown(T.md("more"))
