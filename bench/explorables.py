"""Benchmark: server time of every page in the manifest, beside a bare page, in one run.

Targets (issue "Instant explorables"): a widget change on an explorable page reruns in at most 150 ms (p95)
on this CPU, and a page's first visit takes at most 1 s. Each page of ``app_pages/ui/manifest.py`` is run
through Streamlit's AppTest the way a server runs it: ``app.py`` with its navigation, the scripts compiled
once and kept (one shared ``ScriptCache``, as a server keeps it), the caches of ``st.cache_data`` /
``st.cache_resource`` alive between runs. For each page it times

- the first visit (a new session opening the page; the app's own modules already imported), and what a
  section prepared beside it took to finish (core/background.py: a model's first load and run);
- ``--moves`` moves of each slider, toggle, checkbox, select box, radio and number input the page shows, each
  to a value not drawn yet, so a cache of an earlier value does not hide the cost. A widget inside an
  ``st.fragment`` reruns only its fragment, as a browser asks a server to.

On the pages that run a model on a photo, each move's time inside the model's forward pass is measured too
(torch's global module hooks): a move that runs no model (opacity, the inspected pixel, a threshold) is shown
against the bare page (target: at most 50 ms more), one that runs the model against that forward pass (target:
at most 1.15 times it).

Between two pages a bare page (one slider, one plotly heatmap) is moved as well; its median is the floor that
every page is shown against ("× bare"), so a busy machine slows both alike.

    OMP_NUM_THREADS=1 .venv/bin/python bench/explorables.py --moves 6 [--pages a,b] [--json]
"""
from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import streamlit.testing.v1.local_script_runner as local_runner
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.runtime.scriptrunner.script_cache import ScriptCache
from streamlit.runtime.scriptrunner_utils.script_requests import RerunData
from streamlit.testing.v1 import (
    AppTest,
    app_test,
    element_tree,
)
from streamlit.testing.v1.element_tree import parse_tree_from_messages

from app_pages.ui.manifest import SECTIONS, all_pages
from bench.classroom_load import pct
from core import warmup
from core.background import JOBS

logging.getLogger("streamlit").setLevel(logging.ERROR)  # "missing ScriptRunContext" from the pages' imports

MOVE_TARGET_MS = 150  # p95 of a widget move
FIRST_TARGET_MS = 1000  # a page's first visit
VIEW_TARGET_MS = 50  # a model page's move that runs no model: at most this much over the bare page
MODEL_TARGET = 1.15  # a move that runs the model: at most this many times the model's own forward pass
MODEL_SECTIONS = ("your_images", "segment_anything")  # the manifest's sections whose pages run a model on a photo
WIDGETS = ("slider", "select_slider", "toggle", "checkbox", "selectbox", "radio", "number_input")

BARE_PAGE = """
import numpy as np
import plotly.graph_objects as go
import streamlit as st

n = st.slider("n", 2, 64, 8, key="bare_n")
st.plotly_chart(go.Figure(go.Heatmap(z=np.arange(64.0).reshape(8, 8) * n)))
"""

# A server compiles each script once and keeps it; AppTest makes a new cache per run. One shared cache here.
_SHARED_CACHE = ScriptCache()
app_test.ScriptCache = lambda: _SHARED_CACHE
local_runner.ScriptCache = lambda: _SHARED_CACHE

# The fragment a move asks for (None: the whole script) and the messages of the last run, to find fragments.
_next_fragment: list[str | None] = [None]
_last_msgs: list = []


def _run(self, widget_state=None, query_params=None, timeout=3, page_hash="", context_info=None):
    """LocalScriptRunner.run, asking for a fragment-scoped rerun when a move is inside a fragment."""
    from urllib import parse

    from streamlit.testing.v1.local_script_runner import require_widgets_deltas

    query_string = parse.urlencode(query_params, doseq=True) if query_params else ""
    fragment = _next_fragment[0]
    self.request_rerun(RerunData(widget_states=widget_state, query_string=query_string, page_script_hash=page_hash,
                                 context_info=context_info, fragment_id=fragment,
                                 is_fragment_scoped_rerun=bool(fragment)))
    try:
        if not self._script_thread:
            self.start()
        require_widgets_deltas(self, timeout)
    finally:
        self.join()
    _last_msgs[:] = self.forward_msgs()
    return parse_tree_from_messages(self.forward_msgs())


local_runner.LocalScriptRunner.run = _run


class _ForwardClock:
    """Seconds spent inside outermost ``nn.Module`` calls (a model's forward pass) during one rerun.

    Global module hooks (torch's ``register_module_forward_pre_hook`` / ``register_module_forward_hook``) time
    each call that no other module call encloses, on every thread, so a move that ran a model is told apart from
    one that only redrew the page, and its cost is set beside the model's own forward pass."""

    def __init__(self):
        import threading

        import torch

        self._local = threading.local()
        self.seconds = 0.0
        torch.nn.modules.module.register_module_forward_pre_hook(self._enter)
        torch.nn.modules.module.register_module_forward_hook(self._leave)

    def _enter(self, module, args):
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            self._local.t0 = time.perf_counter()
        self._local.depth = depth + 1

    def _leave(self, module, args, output):
        self._local.depth -= 1
        if self._local.depth == 0:
            self.seconds += time.perf_counter() - self._local.t0

    def take(self) -> float:
        seconds, self.seconds = self.seconds, 0.0
        return seconds


class _Label(str):
    """An option's shown label: AppTest looks it up among the labels as it is, without the page's format_func."""


_format_value = element_tree._format_value_for_widget
element_tree._format_value_for_widget = lambda f, v: str(v) if isinstance(v, _Label) else _format_value(f, v)
_select_slider_state = element_tree.SelectSlider._widget_state


def _label_state(self):
    """A select slider sends the label of its option, as the browser does."""
    if not isinstance(self._value, _Label):
        return _select_slider_state.fget(self)
    state = WidgetState()
    state.id = self.id
    state.string_array_value.data[:] = [str(self._value)]
    return state


element_tree.SelectSlider._widget_state = property(_label_state)


def _fragments_of_widgets() -> dict[str, str]:
    """Widget id → the id of the fragment that drew it, from the last run's messages."""
    found = {}
    for msg in _last_msgs:
        if not msg.HasField("delta") or not msg.delta.fragment_id or not msg.delta.HasField("new_element"):
            continue
        element = msg.delta.new_element
        kind = element.WhichOneof("type")
        proto = getattr(element, kind, None) if kind else None
        widget_id = getattr(proto, "id", "") if proto is not None else ""
        if widget_id:
            found[widget_id] = msg.delta.fragment_id
    return found


def _candidates(widget) -> list:
    """Values the widget can take, in the order they are tried (the shown one last)."""
    kind = type(widget).__name__.lower()
    current = widget.value
    if kind in ("toggle", "checkbox"):
        return [not current, current]
    if kind in ("selectbox", "radio", "selectslider"):
        return [_Label(o) for o in widget.options]  # the shown labels, as the browser sends them
    if kind == "slider":
        proto = widget.proto
        lo, hi, step = proto.min, proto.max, proto.step or 1
        if isinstance(current, (list, tuple)):
            return []  # a range slider: not moved
        n = round((hi - lo) / step)
        picks = sorted({lo + step * round(n * k / 12) for k in range(13)})  # 13 values across the range
        return [type(current)(round(p, 9)) for p in picks]
    if kind == "numberinput":
        step = widget.step or 1
        return [current + step * k for k in (1, 2, 3, 4, 5, 6, -1, -2)]
    return []


def _widgets(at: AppTest) -> list:
    out = []
    for kind in WIDGETS:
        for w in getattr(at, kind):
            if w.key and not w.key.startswith(("lang", "device", "presentation")) and not w.disabled:
                out.append(w)
    return out


CLOCK = _ForwardClock()


def _time_page(script: str, page: str | None, moves: int, timeout: float = 300) -> dict:
    """First visit and widget moves of one page (``page``: a path under app_pages, or None for ``script``)."""
    _next_fragment[0] = None
    at = AppTest.from_file(script, default_timeout=timeout)
    at.session_state["lang"] = "en"
    if page:
        at.switch_page(page)
    started = JOBS.started
    t0 = time.perf_counter()
    at.run()
    first = (time.perf_counter() - t0) * 1000
    errors = [str(e.value)[:120] for e in at.exception]
    background = 0.0
    if JOBS.started != started:  # a section prepares its model beside the page: the browser shows it when ready
        t0 = time.perf_counter()
        JOBS.wait_all(timeout)
        background = (time.perf_counter() - t0) * 1000
        at.run()
    times: list[float] = []
    model_moves: list[tuple[str, float, float]] = []  # (widget, ms of the rerun, ms inside a model's forward pass)
    view_moves: list[tuple[str, float, float]] = []  # moves that ran no model
    drawn: dict[str, set] = {}
    keys = [w.key for w in _widgets(at)]
    for key in keys:
        for _ in range(moves):
            widget = next((w for w in _widgets(at) if w.key == key), None)
            if widget is None:
                break
            seen = drawn.setdefault(key, {repr(widget.value)})
            fresh = [v for v in _candidates(widget) if repr(v) not in seen]
            value = fresh[0] if fresh else (_candidates(widget) or [None])[0]
            if value is None:
                break
            seen.add(repr(value))
            fragment = _fragments_of_widgets().get(widget.id)
            widget.set_value(value)
            _next_fragment[0] = fragment
            CLOCK.take()
            t0 = time.perf_counter()
            try:
                at.run()
            except Exception as err:  # noqa: BLE001 -- a value AppTest cannot send (a select slider's label): not this widget
                errors.append(f"{key}: {err}"[:120])
                break
            finally:
                _next_fragment[0] = None
            times.append((time.perf_counter() - t0) * 1000)
            forward = CLOCK.take() * 1000
            (model_moves if forward > 0 else view_moves).append((key, times[-1], forward))
            errors += [str(e.value)[:120] for e in at.exception]
            if fragment:  # the browser still shows the rest of the page: draw it all again, untimed
                at.run()
    return {"first_ms": first, "background_ms": background, "moves": times, "widgets": len(keys), "errors": errors[:3],
            "model_moves": model_moves, "view_moves": [t for _, t, _ in view_moves]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=3, help="moves of each widget of a page")
    parser.add_argument("--pages", default="", help="comma-separated slugs (default: every page in the manifest)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args()

    slugs = [s for s in args.pages.split(",") if s] or [p.slug for p in all_pages()]
    app = str(ROOT / "app.py")
    with tempfile.TemporaryDirectory() as tmp:
        bare_script = str(Path(tmp) / "bare.py")
        Path(bare_script).write_text(BARE_PAGE)
        _time_page(app, "app_pages/start.py", 0)  # imports the app's modules once, as a started server has
        t0 = time.perf_counter()
        warmup.wait(120)  # and its background imports, as a server has done seconds after it started
        warm_s = time.perf_counter() - t0
        _time_page(bare_script, None, 1)
        bare: list[float] = []
        rows = {}
        for slug in slugs:
            bare += _time_page(bare_script, None, max(3, args.moves))["moves"]
            rows[slug] = _time_page(app, f"app_pages/{slug}.py", args.moves)
        bare += _time_page(bare_script, None, max(3, args.moves))["moves"]
    bare_ms = statistics.median(bare)
    for row in rows.values():
        row["p50_ms"], row["p95_ms"] = pct(row["moves"], 0.5), pct(row["moves"], 0.95)
    if args.json:
        print(json.dumps({"bare_ms": bare_ms, "warm_up_s": warm_s, "pages": rows}, indent=1))
        return 0
    print(f"the app's background imports (core/warmup.py) were waited for {warm_s:.1f} s after its first page: "
          + ", ".join(f"{name} {sec:.2f} s" for name, sec in warmup.took.items()))
    print(f"bare page (one slider, one heatmap): median {bare_ms:.1f} ms over {len(bare)} moves")
    print(f"{'page':28} {'first ms':>9} {'beside ms':>9} {'widgets':>7} {'moves':>5} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p95 × bare':>10}")
    for slug, r in rows.items():
        beside = f"{r['background_ms']:9.0f}" if r["background_ms"] else f"{'':9}"
        print(f"{slug:28} {r['first_ms']:9.0f} {beside} {r['widgets']:7d} {len(r['moves']):5d} {r['p50_ms']:8.1f} "
              f"{r['p95_ms']:8.1f} {r['p95_ms'] / bare_ms:10.1f}" + (f"  ERROR {r['errors'][0]}" if r["errors"] else ""))
    model_pages = {p.slug for section in SECTIONS if section.key in MODEL_SECTIONS for p in section.pages}
    model_rows = {slug: r for slug, r in rows.items() if slug in model_pages}
    if model_rows:
        print(f"\nthe pages that run a model on a photo (targets: a move that runs none ≤ {VIEW_TARGET_MS} ms over the bare page; "
              f"one that runs it ≤ {MODEL_TARGET}× the model's own forward pass):")
        print(f"{'page':28} {'widget':22} {'moves':>5} {'p50 ms':>8} {'p95 ms':>8} {'forward ms':>10} {'÷ forward':>9}")
        for slug, r in model_rows.items():
            print(f"{slug:28} {'(no model run)':22} {len(r['view_moves']):5d} {pct(r['view_moves'], 0.5):8.1f} "
                  f"{pct(r['view_moves'], 0.95):8.1f} {'':10} {'':9}  p95 − bare {pct(r['view_moves'], 0.95) - bare_ms:.1f} ms")
            for key in dict.fromkeys(k for k, _, _ in r["model_moves"]):
                moves = [(t, f) for k, t, f in r["model_moves"] if k == key]
                ms, fw = [t for t, _ in moves], [f for _, f in moves]
                print(f"{'':28} {key:22} {len(moves):5d} {pct(ms, 0.5):8.1f} {pct(ms, 0.95):8.1f} "
                      f"{statistics.median(fw):10.1f} {statistics.median(t / f for t, f in moves):9.2f}")
        print("(a widget that picks another model also loads it: its moves cost the load besides the forward pass)")
    print("beside ms: what a section prepared in the background (a model's first load and run) took after the first "
          "visit had finished; the page said so meanwhile")
    p95s = [r["p95_ms"] for r in rows.values() if r["moves"]]
    if p95s:
        print(f"median p95 over the pages: {statistics.median(p95s):.1f} ms")
    slow = [s for s, r in rows.items() if r["p95_ms"] > MOVE_TARGET_MS]
    late = [s for s, r in rows.items() if r["first_ms"] > FIRST_TARGET_MS]
    print(f"over {MOVE_TARGET_MS} ms p95 ({len(slow)}): {', '.join(slow) or 'none'}")
    print(f"over {FIRST_TARGET_MS} ms first visit ({len(late)}): {', '.join(late) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
