"""Get ready for class: every pretrained model the app can use, what is cached, and one button to fetch them.

Everything it computes is core.zoo.catalogue (the same code as ``make weights``); this page lays it out.
"""
import streamlit as st
import torch

from app_pages.ui import common
from core import lessons
from core.zoo import catalogue, weights

T = common.texts("get_ready")
W = common.texts("weights_common")
lang = common.lang()
common.header(T)

summary, table = st.container(), st.container()  # filled at the end, after any download of this run

todo = catalogue.missing("cpu")
fetch_set = st.button(T("download_set", mb=catalogue.size_to_fetch(todo)), key="gr_fetch_set", type="primary",
                      icon=":material/download:", disabled=not todo, help=T("download_set_help"))
fetch_one = None
with st.expander(T("one_title")):
    for e in catalogue.entries():
        name, action = st.columns([4, 1], vertical_alignment="center")
        name.markdown(f"**{e.label}** · {lessons.number(e.size_mb, '.1f', lang)} MB · `{e.key}`")
        if catalogue.state(e).cached:
            action.caption("✓ " + T("cached_one"))
        elif action.button(T("download_one"), key=f"gr_fetch_{e.key}", help=T("download_one_key", label=e.label)):
            fetch_one = e
if weights.is_offline():
    st.info(T("offline"))


def show_progress(box):
    """A progress bar per file inside ``box``: bytes done of total and the speed (redrawn every whole percent)."""
    bars, shown = {}, {}

    def report(p: catalogue.FileProgress) -> None:
        percent = int(100 * p.fraction)
        if p.file in bars and shown[p.file] == percent and p.done != p.total:
            return
        mb = dict(file=p.file, done=p.done / 2**20, speed=p.speed / 2**20)
        text = W("progress_line", total=p.total / 2**20, **mb) if p.total else W("progress_line_unknown", **mb)
        if p.file not in bars:
            bars[p.file] = box.progress(0.0)
        bars[p.file].progress(p.fraction, text=text)
        shown[p.file] = percent

    return report


chosen = todo if fetch_set else [fetch_one] if fetch_one else []
if chosen:
    outcomes = []
    for e in chosen:
        box = st.container(border=True)
        box.markdown(T("fetching", label=e.label, mb=e.size_mb))
        outcomes.append(catalogue.fetch(e, show_progress(box)))
        box.empty()
    st.session_state["gr_outcomes"] = outcomes
    st.rerun()  # drawn again from the top: the buttons and the table see what is cached now

if st.session_state.get("gr_outcomes"):
    st.subheader(T("outcomes_title"))
    for o in st.session_state["gr_outcomes"]:
        label = catalogue.entry(o.key).label
        if o.status == "downloaded":
            st.success(T("outcome_downloaded", label=label, seconds=o.seconds), icon=":material/check_circle:")
        elif o.status == "cached":
            st.info(T("outcome_cached", label=label))
        else:
            st.error(catalogue.sentence(o, lang))

with summary:
    left = catalogue.missing("cpu")
    if left:
        st.warning(T("set_missing", n=len(left), mb=catalogue.size_to_fetch(left)))
    else:
        st.success(T("set_ready"), icon=":material/check_circle:")
with table:
    st.subheader(T("table_title"))
    common.dataframe(catalogue.rows(lang), hide_index=True, width="stretch")
    st.caption(T("table_caption"))

st.markdown(T.md("recommended"))
st.caption(T("command_caption"))
st.code("make weights            # python -m core.zoo.fetch --set cpu\nmake weights SET=all    # python -m core.zoo.fetch --set all",
        language="bash")
st.markdown(T.md("carry"))
st.subheader(T("caches_title"))
st.code(f"TORCH_HOME → {torch.hub.get_dir()}\nHF_HOME    → {weights.hf_cache_dir()}", language="text")
