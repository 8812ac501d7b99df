"""Start: the course map and how to use the app in class."""
import streamlit as st

from app_pages.ui import common
from app_pages.ui.manifest import SECTIONS
from core.figures.common import hourglass_diagram

T = common.texts("start")
words = common.texts("common")
common.header(T)

common.show_figure(hourglass_diagram(
    [T(f"stage_{i}") for i in range(7)], T("hourglass_in"), T("hourglass_out"),
    T("hourglass_down"), T("hourglass_up")))
st.caption(T("hourglass_caption"))

st.header(T("map_title"))
blurbs = T.table("map")
cards = [s for s in SECTIONS if s.key != "start"]
# On a projector two cards to a row, so a section's name fits on its line; a page's name that is still longer
# than its card wraps onto a second line instead of being cut with an ellipsis (on a laptop too).
per_row = 2 if common.presentation() else 3
st.html("""<style>
[data-testid="stPageLink-NavLink"] { height: auto; }
[data-testid="stPageLink-NavLink"] > span, [data-testid="stPageLink-NavLink"] > span * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important; }
</style>""")
for row in range(0, len(cards), per_row):
    for col, section in zip(st.columns(per_row), cards[row:row + per_row]):
        with col.container(border=True):
            st.subheader(words.table("sections")[section.key])
            st.markdown(blurbs[section.key])
            for page in section.pages:
                st.page_link(f"app_pages/{page.slug}.py", label=common.texts(page.slug).title,
                             icon=page.icon)

st.header(T("class_title"))
st.markdown(T.md("in_class"))
