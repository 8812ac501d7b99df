"""What every page shares: its words in the chosen language, the device, figures, the torch check.

A page script is short and flat::

    import streamlit as st
    from app_pages.ui import common

    T = common.texts("transposed_convolution")  # T("key", **fmt) is a UI string, T.md("section") prose
    common.header(T)                             # title and the lesson's intro
    stride = st.slider(T("stride"), 1, 4, value=2, key="tc_stride", bind="query-params")
    ...
    common.show_figure(fig)
    common.torch_check(ours, theirs)

Every explorable widget has a key with the page's prefix and ``bind="query-params"``, so its value is
in the URL: a teacher shares a link that opens the page in that state, a student's reload keeps it.
"""
from __future__ import annotations

import functools
import time

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch
from _plotly_utils.utils import convert_to_base64

from core import device as devices
from core import lessons
from core.figures.common import grid_heatmap, scale_spec, spec_of
from core.figures.localize import localize_spec

LANG_KEY = "lang"
DEVICE_KEY = "device"
PRESENTATION_KEY = "presentation"
PRESENT_PARAM = "present"  # presentation mode in the address: ?present=1
RUN_PARAM = "run"  # the browser's training runs in the address: ?run=<token> (core.training.workers.RunRegistry)
RUN_TOKEN_KEY = "run_token"  # ... and in the session, so a wander to another page keeps it


def lang() -> str:
    value = st.session_state.get(LANG_KEY, "en")
    return value if value in lessons.LANGUAGES else "en"


def texts(slug: str) -> lessons.Texts:
    """The words of one page in the session's language."""
    return lessons.texts(slug, lang())


def ui(key: str, **fmt) -> str:
    """A string shared by all pages (``lessons/<lang>/common.toml``)."""
    return texts("common")(key, **fmt)


def image_error(err) -> str:
    """The sentence of a :class:`core.images.ImageError` in the session's language."""
    code = getattr(err, "code", None)
    table = texts("common").data.get("image_errors", {})
    if code in table:
        return table[code].format(**err.params)
    return str(err)


def header(T: lessons.Texts) -> None:
    st.title(T.title)
    st.markdown(T.md("intro"))


# Streamlit's own "running" indicator sits in the toolbar, which ``toolbarMode = "minimal"`` hides. The app's
# own: a pill at the top right, shown while the script runs (Streamlit marks the app's root element with
# data-test-script-state="running"), after half a second so that quick reruns do not flicker. It pulses so a
# frozen page and a working one look different.
BUSY_CSS = """<style>
.stApp::after {{ content: "{text}"; position: fixed; top: 0.55rem; right: 1rem; z-index: 999991;
  padding: 0.25rem 0.8rem; border-radius: 999px; background: #c2410c; color: #fff; font-weight: 600;
  font-size: 0.95rem; box-shadow: 0 1px 4px rgba(15, 23, 42, 0.35); pointer-events: none;
  opacity: 0; visibility: hidden; }}
.stApp[data-test-script-state="running"]::after {{ visibility: visible; opacity: 1;
  transition: visibility 0s linear 0.5s, opacity 0.15s ease 0.5s; animation: studio-busy 1.2s ease-in-out 0.5s infinite; }}
@keyframes studio-busy {{ 50% {{ background: #9a3412; }} }}
</style>"""


def busy_indicator() -> None:
    """Show "Working…" at the top of the page whenever a rerun takes more than half a second."""
    text = ui("busy").replace("\\", "").replace('"', "")
    st.html(BUSY_CSS.format(text=text))


def presentation() -> bool:
    return bool(st.session_state.get(PRESENTATION_KEY, False))


def column_px(share: float) -> int:
    """About how wide a column holding ``share`` of the page is on a 1280 px wide screen, the smallest
    projector the app is laid out for (the sidebar open), so a grid can size its cells to fit it."""
    main = 760 if presentation() else 880  # the main block's width there: presentation's larger rem pads more
    return int(main * share) - 16


def device() -> torch.device:
    """The device the user chose in the sidebar (``auto`` picks CUDA, then MPS, then the CPU)."""
    return devices.resolve(st.session_state.get(DEVICE_KEY, "auto"))


def show_figure(fig, key: str | None = None, **kwargs):
    """Draw a plotly figure in the page's language (Romanian decimal commas); larger in presentation mode."""
    spec = spec_of(fig)  # plain data: plotly checks a figure's every property, which costs more than the page
    if presentation():  # first: it lays titles out again from their raw words
        spec = scale_spec(spec)
    fig = _Drawn(localize_spec(spec, lang()))
    config = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
    config.update(kwargs.pop("config", {}))
    return st.plotly_chart(fig, key=key, config=config, **kwargs)


class _Drawn(go.Figure):
    """A figure that is its plain data already: ``st.plotly_chart`` reads a figure through ``to_dict()``, and
    building a plotly figure of the data only to copy it back costs a millisecond or two per chart."""

    def __init__(self, spec: dict):  # no plotly figure is built: nothing but to_dict is ever asked of it
        self._spec = spec

    def to_dict(self) -> dict:
        # numpy arrays as plotly's typed arrays, as Figure.to_dict sends them; plotly's template holds none
        layout = {k: v for k, v in self._spec.get("layout", {}).items() if k != "template"}
        convert_to_base64(layout)
        self._spec.setdefault("layout", {}).update(layout)
        convert_to_base64(self._spec["data"])
        if self._spec.get("frames"):
            convert_to_base64(self._spec["frames"])
        return self._spec


def _tensor(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x)


def localized(text, math: bool = False) -> str:
    """A text the page composed itself (a metric's value; a formula for ``st.latex`` with ``math=True``) with its
    numbers written the page's way (Romanian: "0,25", in maths "0{,}25")."""
    return lessons.localize_numbers(str(text), lang(), math=math)


def dataframe(data, column_config: dict | None = None, **kwargs):
    """``st.dataframe`` with its numbers written the page's way (Romanian: "0,453"; see lessons.localize_frame)."""
    import pandas as pd

    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    frame, column_config = lessons.localize_frame(frame, lang(), column_config)
    return st.dataframe(frame, column_config=column_config, **kwargs)


def table(data):
    """``st.table`` with its numbers written the page's way."""
    import pandas as pd

    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    return st.table(lessons.localize_frame(frame, lang())[0])


def max_abs_diff(ours, theirs) -> float:
    """The largest ``|ours − theirs|`` over the cells (in float64): 0 when equal, ``inf`` when the shapes differ.

    Never NaN: a cell where both hold the same value that is not a number (``+inf`` in both after an overflow,
    NaN in both) agrees and counts 0; a cell that is not finite in one result only counts ``inf``.
    """
    a, b = _tensor(ours).double(), _tensor(theirs).double()
    if a.shape != b.shape:
        return float("inf")
    if not a.numel():
        return 0.0
    same = (a == b) | (torch.isnan(a) & torch.isnan(b))
    diff = torch.where(same, torch.zeros_like(a), (a - b).abs())  # (…) the cell-wise gap
    return float(torch.nan_to_num(diff, nan=float("inf"), posinf=float("inf")).max())  # inf − inf: a gap too


def beside_torch(ours, theirs, ours_title: str, theirs_title: str, what: str | None = None) -> float:
    """Our grid and torch's side by side, then :func:`torch_check` of the two."""
    left, right = st.columns(2)
    with left:
        show_figure(grid_heatmap(ours, ours_title))
    with right:
        show_figure(grid_heatmap(theirs, theirs_title))
    return torch_check(ours, theirs, what)


def torch_check(ours, theirs, what: str | None = None) -> float:
    """Show how far our from-scratch result is from torch's own op (``max |Δ| = 0`` when equal).

    Values too large for the tensors' float type (an input of 1e308 whose sums pass the largest float)
    become ±inf or NaN: the check then says so, and whether both results overflowed at the same cells.
    """
    a, b = _tensor(ours), _tensor(theirs)
    delta = max_abs_diff(a, b)
    op = what or ui("torch_op")
    if a.shape != b.shape:
        st.error(ui("torch_shape_mismatch", op=op))
        return delta
    unfit = int((~torch.isfinite(a.double()) | ~torch.isfinite(b.double())).sum())
    if unfit or delta == float("inf"):
        limit = min(torch.finfo(t.dtype if t.is_floating_point() else torch.float64).max for t in (a, b))
        if delta <= 1e-5:
            st.success(ui("torch_overflow_agrees", op=op, n=unfit, total=a.numel(), limit=limit,
                          delta=f"{delta:.1e}" if delta else "0"))
        else:
            st.error(ui("torch_overflow_differs", op=op, n=unfit, total=a.numel(), limit=limit))
    elif delta <= 1e-5:
        st.success(ui("torch_agrees", op=op, delta=f"{delta:.1e}" if delta else "0"))
    else:
        st.error(ui("torch_disagrees", op=op, delta=f"{delta:.3g}"))
    return delta


def timed_fragment(every: float | None):
    """``st.fragment(run_every=every)``, drawn inside a container that the enclosing run draws itself.

    When the clock's rerun of a fragment is queued while a full run is going on, Streamlit can drop that
    fragment's output from the full run and send it with the queued fragment run instead. A fragment drawn
    straight into the page then leaves a hole that the browser closes up, and the queued run's output lands
    on whatever element moved into its place (a student's question card vanished that way, under load). Its
    own container keeps the fragment's place in the page whatever the fragment sends, and when."""
    def wrap(func):
        fragment = st.fragment(run_every=every)(func)

        @functools.wraps(func)
        def draw(*args, **kwargs):
            with st.container():
                return fragment(*args, **kwargs)
        return draw
    return wrap


def prepared(key: tuple, fn, *args, what: str, wait_s: float = 0.3) -> bool:
    """Whether ``fn(*args)`` (a cached loader or run) is ready to be called without a wait.

    If not, it is started in the background (once per ``key`` for the whole server, core/background.py) and
    the section says ``what`` is being prepared, with the seconds passed; a small timed fragment checks
    twice a second and runs the page again when the job has finished. A job that finishes within ``wait_s``
    (a cache on disk, a GPU) is simply waited for. The caller draws its section only when this is True."""
    from core.background import JOBS

    job = JOBS.start(key, fn, *args)
    if job.future.done() or JOBS.wait(key, wait_s):
        return True

    @timed_fragment(0.5)
    def waiting() -> None:
        if JOBS.done(key):
            st.rerun()
        st.info(ui("preparing", what=what, s=lessons.number(time.monotonic() - job.started, ".0f", lang())))

    waiting()
    return False


def _browser_fingerprint() -> str:
    """A hash of the secret Streamlit keeps in this browser's XSRF cookie, or "" where there is none.

    The cookie is written again on every page load, masked anew each time ("2|mask|token ⊕ mask|time"): the
    token under the mask is what stays the same for one browser."""
    import hashlib

    try:
        cookie = st.context.cookies.get("_streamlit_xsrf", "")
    except Exception:  # noqa: BLE001 - no request behind this session (AppTest): nobody to tell apart
        cookie = ""
    if not isinstance(cookie, str) or not cookie:
        return ""
    parts = cookie.split("|")
    try:
        mask, masked = bytes.fromhex(parts[1]), bytes.fromhex(parts[2])
        secret = bytes(b ^ mask[i % len(mask)] for i, b in enumerate(masked))
    except (IndexError, ValueError, ZeroDivisionError):  # another format: the whole value then
        secret = cookie.encode()
    return hashlib.sha256(secret).hexdigest()


def browser_runs(*keys: str) -> dict:
    """Keep the page's run keys (``"tl_run"``, ``"tl_history"``) for the browser, not only for this session.

    The runs live in the server's registry under a random token kept in the address (``?run=…``, written once
    there is a run) and in the session: after F5, or on coming back from another page, the page finds its runs
    again. Within a session its own values win (a run just started); a fresh session takes the registry's.
    Returns the registry's dict for this browser ({} while it has no run).
    """
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    from core.training import workers

    registry, owner = workers.registry(), _browser_fingerprint()
    ctx = get_script_run_ctx()
    watcher = (ctx.session_id, session_alive()) if ctx is not None else None  # this page, while it stays open
    token = st.session_state.get(RUN_TOKEN_KEY) or st.query_params.get(RUN_PARAM) or ""
    valid = len(token) == 16 and token.isalnum()
    store = registry.attach(token, owner, create=False, watcher=watcher) if valid else None
    if store is None and any(st.session_state.get(k) for k in keys):  # a run to keep, and no place for it yet
        if not valid or token in registry:  # none, a malformed one, or another browser's
            token = workers.new_token()
        store = registry.attach(token, owner, watcher=watcher)
    if store is None:
        return {}
    st.session_state[RUN_TOKEN_KEY] = token
    if st.query_params.get(RUN_PARAM) != token:
        st.query_params[RUN_PARAM] = token
    for key in keys:
        if key in st.session_state:
            store[key] = st.session_state[key]
        elif key in store:
            st.session_state[key] = store[key]
    return store


def session_alive():
    """A callable that says whether this browser session is still open (background work asks it)."""
    from streamlit.runtime import get_instance
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None:  # bare mode (tests without a server): nobody can close the tab
        return lambda: True
    try:
        runtime = get_instance()
    except RuntimeError:
        return lambda: True
    session_id = ctx.session_id
    return lambda: runtime.is_active_session(session_id)


def choice(widget, label: str, options, key: str, default=None, format_func=str, **kwargs):
    """A radio / selectbox / segmented control whose value is kept in the URL by its language-free key.

    Streamlit's ``bind="query-params"`` writes the *displayed* label into the address, so a link copied
    in Romanian would not open the same choice in English. This keeps the option itself (``?tc_view=matrix``)
    instead: read from the URL once per session, written back on every run.
    """
    options = list(options)
    default = options[0] if default is None else default
    if key not in st.session_state:
        asked = st.query_params.get(key)
        match = next((o for o in options if str(o) == asked), None)
        st.session_state[key] = match if match is not None else default
    elif st.session_state[key] not in options:
        st.session_state[key] = default
    value = widget(label, options, key=key, format_func=format_func, **kwargs)
    if value is None:  # a segmented control the user cleared: fall back to the default
        value = default
    if value == default:
        st.query_params.pop(key, None)
    else:
        st.query_params[key] = str(value)
    return value
