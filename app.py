"""Segmentation Studio: `streamlit run app.py`.

The entry point builds the navigation (one page per topic of the lecture, in its order) and the
sidebar (language, device, presentation mode), then runs the page the URL asks for.
"""
import os

# Idle OpenMP threads of torch otherwise spin on the CPU between a page's reruns and slow a training run
# in the background 20-40× on a small machine; it must be set before torch is first imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pandas  # noqa: E402, F401  (here, not in core/warmup.py's thread: plotly and Streamlit look it up in sys.modules)
import streamlit as st  # noqa: E402

from app_pages.ui import classroom, common, components  # noqa: E402
from app_pages.ui.manifest import SECTIONS  # noqa: E402
from core import device as devices  # noqa: E402
from core import lessons, warmup  # noqa: E402

# The tab icon is a file of the app: a ":material/…:" icon here makes the browser fetch it from the internet.
st.set_page_config(page_title="Segmentation Studio", layout="wide",
                   page_icon=os.path.join(os.path.dirname(os.path.abspath(__file__)), "static", "favicon.png"))

# Session-wide settings, set once; the sidebar widgets below keep them. The language also comes from
# and goes to the address (?lang=ro), so a shared link opens in the language it was copied in.
if common.LANG_KEY not in st.session_state:
    asked = st.query_params.get(common.LANG_KEY)
    st.session_state[common.LANG_KEY] = asked if asked in lessons.LANGUAGES else "en"
st.session_state.setdefault(common.DEVICE_KEY, "auto")
# Presentation mode too is read from the address once per session (?present=1), so F5 or a shared link keeps it.
if common.PRESENTATION_KEY not in st.session_state:
    st.session_state[common.PRESENTATION_KEY] = st.query_params.get(common.PRESENT_PARAM) == "1"
st.session_state.setdefault("trained_models", {})  # name -> checkpoint bytes, kept by "Train live" for this user

with st.sidebar:
    # The picker's key carries the language it opens on, and its default is that language: if the browser
    # ever re-creates the radio and sends its default back, that default is the language already chosen,
    # so the page cannot fall back to English on its own. A click makes a new key on the next run.
    shown = common.lang()
    chosen = st.radio("Language / Limbă", lessons.LANGUAGES, index=lessons.LANGUAGES.index(shown),
                      key=f"{common.LANG_KEY}_picker_{shown}", horizontal=True,
                      format_func=lambda code: {"en": "English", "ro": "Română"}[code])
    st.session_state[common.LANG_KEY] = chosen
st.query_params[common.LANG_KEY] = common.lang()

words = common.texts("common")
pages = {}
for section in SECTIONS:
    if section.pages:
        pages[words.table("sections")[section.key]] = [
            st.Page(f"app_pages/{p.slug}.py", title=common.texts(p.slug).title, icon=p.icon,
                    url_path="" if p.slug == "start" else p.slug, default=(p.slug == "start"))
            for p in section.pages
        ] + [  # the start page lives at the root; /start, typed or shared by hand, opens it too (not in the menu)
            st.Page("app_pages/start.py", title=common.texts("start").title, url_path="start", visibility="hidden")
            for p in section.pages if p.slug == "start"
        ]
current = st.navigation(pages, expanded=True)
# Classroom mode: join from ?join=CODE, and a following student goes to the teacher's page and state first.
here = "" if current.url_path == "start" else current.url_path  # /start is the start page too
classroom.begin(here, {p.url_path: p for group in pages.values() for p in group if p.url_path != "start"})

with st.sidebar:
    present = devices.available()
    st.selectbox(words("device"), present, key=common.DEVICE_KEY,
                 format_func=lambda d: words(f"device_{d}"))
    info = devices.describe(common.device())
    if info.free_bytes is not None:
        st.caption(words("device_memory", name=info.name, free=info.free_bytes / 2**30,
                         total=info.total_bytes / 2**30))
    else:
        st.caption(words("device_threads", threads=info.threads) if info.threads else words("device_plain", name=info.name))
    st.toggle(words("presentation"), key=common.PRESENTATION_KEY, help=words("presentation_help"))
    classroom.sidebar()
    components.decimal_comma(common.lang() == "ro")  # sliders' numbers written the page's way
# The toggle writes its state back to the address as a language-free value; off is the default and leaves none.
if common.presentation():
    st.query_params[common.PRESENT_PARAM] = "1"
else:
    st.query_params.pop(common.PRESENT_PARAM, None)

common.busy_indicator()  # "Working…" while a rerun takes more than a moment, from the first load on

# The navigation's labels wrap onto a second line inside the sidebar instead of running past its edge or
# ending in an ellipsis ("Nearest neighbour and bed…"), on a laptop and in presentation mode alike. A row of
# tabs too wide for the page wraps onto a second row instead of hiding its last tabs behind a scroll arrow, and
# so do the options of a segmented control instead of cutting the last one off.
st.html("""<style>
[data-testid="stTabs"] [role="tablist"] { flex-wrap: wrap !important; row-gap: 0.25rem; overflow: visible !important; }
[data-testid="stButtonGroup"] > div { flex-wrap: wrap !important; row-gap: 0.25rem; overflow: visible !important; }
[data-testid="stButtonGroup"] button { min-width: 0 !important; max-width: 100%; flex-shrink: 1 !important; height: auto !important; }
[data-testid="stButtonGroup"] button * { white-space: normal !important; }
[data-testid="stSidebarNavLink"] { height: auto !important; min-height: 2rem; }
[data-testid="stSidebarNavLink"] > span:last-child { flex: 1 1 auto; min-width: 0; }
[data-testid="stSidebarNavLink"] > span:last-child, [data-testid="stSidebarNavLink"] .stMarkdownEllipsis,
[data-testid="stSidebarNavLink"] .stMarkdownEllipsis p, [data-testid="stNavSectionHeader"],
[data-testid="stNavSectionHeader"] :not([data-testid="stIconMaterial"]) {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  overflow-wrap: break-word; line-height: 1.25; }
</style>""")

if common.presentation():
    # Streamlit sizes its text in rem: a larger root font scales every page for the back row.
    # Labels that Streamlit cuts with an ellipsis on one line (navigation, tabs, buttons, metrics, widget
    # labels) wrap onto a second line instead, so a projected word is never half shown.
    st.html("""<style>
html { font-size: 22px; }
.stMainBlockContainer { max-width: 100%; }
[data-testid="stSidebarNavLink"] span, [data-testid="stNavSectionHeader"], [data-testid="stWidgetLabel"] p,
[data-testid="stMetricLabel"] *, [data-testid="stBaseButton-secondary"] p, [data-testid="stBaseButton-primary"] p {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  overflow-wrap: anywhere; line-height: 1.25; }
[data-testid="stSidebarNavLink"] { height: auto !important; min-height: 2rem; }
[data-testid="stMetricValue"] { font-size: 1.6rem; white-space: normal !important; overflow: visible !important; }
[data-testid="stMetricValue"] * { white-space: normal !important; overflow: visible !important;
  text-overflow: clip !important; }
</style>""")

classroom.banner()  # a student's "following the teacher" line and the teacher's question, above the page
try:
    current.run()
finally:  # also when the page stops or reruns itself: the class follows every state the teacher reaches
    classroom.publish(here)
    warmup.start()  # after the first page is drawn: the heavy imports other pages need, in the background
