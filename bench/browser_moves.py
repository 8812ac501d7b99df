"""Benchmark: a slider move in a real browser, one student on a quiet server, every page beside a bare page.

Target (issue "Instant explorables"): p95 ≤ 300 ms from the input to the finished rerun, measured from the
browser's websocket messages. Debian's Chromium (headless, driven by Playwright) opens each page of the manifest
on a fresh ``streamlit run app.py`` at 127.0.0.1, focuses each of its first ``--sliders`` sliders and presses an
arrow key ``--moves`` times (right, then left when the slider is at its end). Every frame the page's websocket
sends and receives is read (``BackMsg``/``ForwardMsg``, Streamlit's own protobuf classes): a move is timed from
the ``rerun_script`` message the browser sends to the ``script_finished`` that ends its run (a whole page or
only a fragment), and also from the key press, which adds Streamlit's own wait before a slider sends (its
debounce). A bare page (one slider, one plotly heatmap) on a server of its own is moved the same way first and
last; every figure is printed beside it, measured in the same run.

    OMP_NUM_THREADS=1 .venv/bin/python bench/browser_moves.py [--pages a,b] [--moves 4] [--sliders 3]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from server import App  # noqa: E402

from bench.classroom_load import pct  # noqa: E402
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

from app_pages.ui.manifest import all_pages  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
TARGET_MS = 300
BARE_PAGE = """
import numpy as np
import plotly.graph_objects as go
import streamlit as st

st.title("Bare page")
n = st.slider("n", 2, 64, 8, key="bare_n")
st.plotly_chart(go.Figure(go.Heatmap(z=np.arange(64.0).reshape(8, 8) * n)))
"""


class Wire:
    """The times of the reruns the page asks for and of the runs' ends, from its websocket's frames."""

    def __init__(self, page):
        self.sent: list[float] = []  # rerun_script messages the browser sent
        self.finished: list[float] = []  # script_finished messages it received
        self.received: list[tuple[float, int]] = []  # (time, bytes) of every frame received
        page.on("websocket", self._socket)

    def _socket(self, ws) -> None:
        ws.on("framesent", self._sent)
        ws.on("framereceived", self._received)

    def _sent(self, payload) -> None:
        if isinstance(payload, (bytes, bytearray)):
            msg = BackMsg()
            msg.ParseFromString(bytes(payload))
            if msg.WhichOneof("type") == "rerun_script":
                self.sent.append(time.perf_counter())

    def _received(self, payload) -> None:
        if isinstance(payload, (bytes, bytearray)):
            self.received.append((time.perf_counter(), len(payload)))
            msg = ForwardMsg()
            msg.ParseFromString(bytes(payload))
            if msg.WhichOneof("type") == "script_finished":
                self.finished.append(time.perf_counter())


def _idle(page, timeout_ms: int = 120_000) -> None:
    """Streamlit's script state on the app's root says it is not running, five polls in a row."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    page.evaluate("() => { window.__idle = 0; }")
    page.wait_for_function(
        """() => { const idle = document.querySelector('[data-testid="stApp"]')?.dataset.testScriptState === "notRunning"
                   && !document.querySelector('[data-stale="true"]');
                   window.__idle = idle ? window.__idle + 1 : 0; return window.__idle >= 5; }""",
        polling=100, timeout=timeout_ms)


def _move(page, wire: Wire, slider, key: str, timeout_s: float = 20) -> tuple[float, float] | None:
    """One arrow key on a focused slider: (ms from the rerun message to its end, ms from the key press), or
    None when the value did not change (the slider was at its end)."""
    sent, done = len(wire.sent), len(wire.finished)
    t0 = time.perf_counter()
    slider.press(key)
    deadline = t0 + 1.0  # a slider sends its value after a short wait of its own; nothing by then: no change
    while len(wire.sent) == sent and time.perf_counter() < deadline:
        page.wait_for_timeout(5)
    if len(wire.sent) == sent:
        return None
    start = wire.sent[sent]
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        ends = [t for t in wire.finished[done:] if t > start]
        if ends:
            page.wait_for_timeout(50)  # let a run it chained (st.rerun) be asked for before the next press
            size = sum(n for t, n in wire.received if start < t <= ends[0])
            return (ends[0] - start) * 1000, (ends[0] - t0) * 1000, size
        page.wait_for_timeout(5)
    raise TimeoutError(f"no script_finished within {timeout_s} s")


def time_page(browser, url: str, moves: int, sliders: int) -> dict:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    wire = Wire(page)
    t0 = time.perf_counter()
    page.goto(url)
    _idle(page)
    first = (time.perf_counter() - t0) * 1000
    sliders_of = page.locator('[data-testid="stSlider"] input[type="range"]')
    count, steady = -1, 0
    while steady < 5:  # the page's sliders drawn: the same count on five polls 200 ms apart
        page.wait_for_timeout(200)
        steady, count = (steady + 1, count) if sliders_of.count() == count else (0, sliders_of.count())
    wire_ms, key_ms, sizes = [], [], []
    for i in range(min(sliders, count)):
        thumb = page.locator('[data-testid="stSlider"] input[type="range"]').nth(i)
        if not thumb.is_enabled():
            continue
        thumb.scroll_into_view_if_needed()
        thumb.focus()
        direction = "ArrowRight"
        for _ in range(moves):
            got = _move(page, wire, thumb, direction)
            if got is None:  # at its end: go the other way
                direction = "ArrowLeft" if direction == "ArrowRight" else "ArrowRight"
                got = _move(page, wire, thumb, direction)
                if got is None:
                    break
            wire_ms.append(got[0])
            key_ms.append(got[1])
            sizes.append(got[2])
            _idle(page, 60_000)
            thumb = page.locator('[data-testid="stSlider"] input[type="range"]').nth(i)
            thumb.focus()
    context.close()
    return {"first_ms": first, "wire": wire_ms, "key": key_ms, "sliders": count, "kb": sizes and statistics.median(sizes) / 1024}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", default="", help="comma-separated slugs (default: every page in the manifest)")
    parser.add_argument("--moves", type=int, default=4, help="arrow presses per slider")
    parser.add_argument("--sliders", type=int, default=3, help="sliders moved per page, the first ones")
    args = parser.parse_args()
    slugs = [s for s in args.pages.split(",") if s] or [p.slug for p in all_pages()]

    from playwright.sync_api import sync_playwright

    rows, bare = {}, []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        script = Path(tmp) / "bare.py"
        script.write_text(BARE_PAGE)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        with App(script=str(script)) as plain:
            bare.append(time_page(browser, plain.url, max(args.moves, 6), 1))
            with App() as app:
                time_page(browser, f"{app.url}/?lang=en", 0, 0)  # the server's first page: its imports, its warm-up
                time.sleep(8)
                for slug in slugs:
                    path = "" if slug == "start" else slug
                    rows[slug] = time_page(browser, f"{app.url}/{path}?lang=en", args.moves, args.sliders)
            bare.append(time_page(browser, plain.url, max(args.moves, 6), 1))
        browser.close()

    bare_wire = [t for b in bare for t in b["wire"]]
    bare_key = [t for b in bare for t in b["key"]]
    print(f"bare page (one slider, one heatmap), {len(bare_wire)} moves: rerun message → finished "
          f"p50 {pct(bare_wire, 0.5):.0f} ms, p95 {pct(bare_wire, 0.95):.0f} ms; key press → finished "
          f"p50 {pct(bare_key, 0.5):.0f} ms, p95 {pct(bare_key, 0.95):.0f} ms")
    print(f"{'page':28} {'sliders':>7} {'moves':>5} {'p50 ms':>7} {'p95 ms':>7} {'p95 × bare':>10} "
          f"{'key p50':>8} {'key p95':>8} {'KB sent':>8}")
    for slug, r in rows.items():
        if not r["wire"]:
            continue
        p95 = pct(r["wire"], 0.95)
        print(f"{slug:28} {r['sliders']:7d} {len(r['wire']):5d} {pct(r['wire'], 0.5):7.0f} {p95:7.0f} "
              f"{p95 / max(pct(bare_wire, 0.95), 1e-9):10.1f} {pct(r['key'], 0.5):8.0f} {pct(r['key'], 0.95):8.0f} {r['kb']:8.0f}")
    timed = {s: r for s, r in rows.items() if r["wire"]}
    slow = [s for s, r in timed.items() if pct(r["wire"], 0.95) > TARGET_MS]
    if timed:
        print(f"median p95 over the {len(timed)} pages with a slider: "
              f"{statistics.median(pct(r['wire'], 0.95) for r in timed.values()):.0f} ms")
    print(f"over {TARGET_MS} ms p95, rerun message → finished ({len(slow)}): {', '.join(slow) or 'none'}")
    print("(key p50/p95: from the key press, which adds the slider's own wait before it sends its value; KB sent: the "
          "median size of what the server sent for one move)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
