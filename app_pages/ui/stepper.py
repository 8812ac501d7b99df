"""A step-through that plays in the browser: previous, play and next never wait for the server.

The page says how to draw any step (its figures and a sentence); :func:`step_through` draws every step once,
sends them to the browser as the first step plus what changes at each next one (``core.figures.frames``),
and a small component shows them with its own previous / play / next buttons and step slider. The chosen
step then reaches the server (once it has settled: while playing, at the pause or the end) and is kept in
the address like every other setting (``?nb_step=5``), so a reload or a shared link opens on it, and the
rest of the page (what it writes about the step) catches up without holding up the figures.

The figures are drawn with plotly.js served by the app itself (``static/plotly.min.js``, copied from the
installed plotly package at start), so nothing is fetched from the internet.
"""
from __future__ import annotations

import functools
import html
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import plotly
import streamlit as st

from app_pages.ui import common, widgets
from core.figures.common import scale_spec, spec_of
from core.figures.frames import plain, signature, step_frames
from core.figures.localize import localize_spec

STATIC = Path(__file__).resolve().parents[2] / "static"
PLOTLY_JS = "plotly.min.js"


def ensure_plotly_js() -> bool:
    """Put the installed plotly's own plotly.js where the app serves its static files (once; True when there)."""
    target = STATIC / PLOTLY_JS
    source = Path(plotly.__file__).parent / "package_data" / PLOTLY_JS
    try:
        if not target.is_file() or target.stat().st_size != source.stat().st_size:
            STATIC.mkdir(exist_ok=True)
            tmp = target.with_suffix(".tmp")
            shutil.copyfile(source, tmp)
            tmp.replace(target)
        return True
    except OSError:
        return False


_JS = r"""
const ICONS = {
  prev: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6 6h2v12H6zm3.5 6 8.5 6V6z"/></svg>',
  next: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M16 6h2v12h-2zM6 18l8.5-6L6 6z"/></svg>',
  play: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M8 5v14l11-7z"/></svg>',
  pause: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6 19h4V5H6zm8-14v14h4V5z"/></svg>',
};

function loadPlotly(src) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!window.__segstudioPlotly) {
    window.__segstudioPlotly = new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = src;
      s.onload = () => resolve(window.Plotly);
      s.onerror = () => { window.__segstudioPlotly = null; reject(new Error("plotly.js")); };
      document.head.appendChild(s);
    });
  }
  return window.__segstudioPlotly;
}

function patch(value, edits) {
  for (const edit of edits) {
    const path = edit[0];
    if (path.length === 0) { value = structuredClone(edit[1]); continue; }
    let parent = value;
    for (let i = 0; i < path.length - 1; i++) parent = parent[path[i]];
    const last = path[path.length - 1];
    if (edit.length === 1) delete parent[last];
    else parent[last] = structuredClone(edit[1]);
  }
  return value;
}

function build(root) {
  root.innerHTML = `
    <div class="ss-steps">
      <div class="ss-steps-bar">
        <button type="button" class="ss-prev"></button>
        <button type="button" class="ss-play"></button>
        <button type="button" class="ss-next"></button>
        <label class="ss-steps-slider"><span class="ss-steps-label"></span>
          <input type="range" min="0" step="1" class="ss-range"/></label>
      </div>
      <div class="ss-steps-panels"></div>
      <div class="ss-steps-caption" aria-live="polite"></div>
    </div>`;
  const q = (sel) => root.querySelector(sel);
  const ui = { root: q(".ss-steps"), prev: q(".ss-prev"), play: q(".ss-play"), next: q(".ss-next"), range: q(".ss-range"),
               label: q(".ss-steps-label"), panels: q(".ss-steps-panels"), caption: q(".ss-steps-caption"),
               sig: null, rev: null, step: 0, playing: null, timer: null, states: [] };
  ui.prev.innerHTML = ICONS.prev;
  ui.next.innerHTML = ICONS.next;
  ui.prev.onclick = () => { stop(ui); go(ui, ui.step - 1, true); };
  ui.next.onclick = () => { stop(ui); go(ui, ui.step + 1, true); };
  ui.play.onclick = () => (ui.playing ? stop(ui, true) : play(ui));
  ui.range.oninput = () => { stop(ui); go(ui, Number(ui.range.value), true); };
  return ui;
}

function state(ui, k) {
  // step k's figures and sentence, rebuilt from the nearest step already known
  let j = k;
  while (!ui.states[j]) j--;
  for (; j < k; j++) ui.states[j + 1] = patch(structuredClone(ui.states[j]), ui.data.edits[j]);
  return ui.states[k];
}

function playIcon(ui) {
  const d = ui.data, playing = Boolean(ui.playing);
  ui.play.innerHTML = playing ? ICONS.pause : ICONS.play;
  ui.play.title = playing ? d.labels.pause : d.labels.play;
  ui.play.setAttribute("aria-label", ui.play.title);
  ui.root.dataset.playing = playing ? "1" : "0";
}

function report(ui, now) {
  // the server hears of the step once it has settled, so the rest of the page follows without holding this up
  clearTimeout(ui.timer);
  if (ui.playing) return;
  const send = () => { if (ui.reported !== ui.step) { ui.reported = ui.step; ui.setStateValue("step", ui.step); } };
  if (now) send(); else ui.timer = setTimeout(send, 350);
}

function stop(ui, andReport) {
  if (ui.playing) { clearInterval(ui.playing); ui.playing = null; playIcon(ui); if (andReport) report(ui, true); }
}

function play(ui) {
  if (ui.step >= ui.data.n - 1) go(ui, 0, false);
  ui.playing = setInterval(() => {
    go(ui, ui.step + 1, false);
    if (ui.step >= ui.data.n - 1) stop(ui, true);
  }, ui.data.ms);
  playIcon(ui);
}

function draw(ui, k) {
  const s = state(ui, k), d = ui.data, P = window.Plotly;
  const font = getComputedStyle(ui.root).fontFamily;
  s.figs.forEach((spec, p) => {
    const el = ui.figDivs[p];
    if (!el || !P) return;
    const layout = structuredClone(spec.layout);
    layout.font = Object.assign({ family: font }, layout.font || {});
    layout.paper_bgcolor = layout.paper_bgcolor || "rgba(0,0,0,0)";
    layout.autosize = true;
    delete layout.width;
    P.react(el, structuredClone(spec.data), layout, { displayModeBar: false, responsive: true,
                                                       displaylogo: false });
    el.style.height = (layout.height || 360) + "px";
    if (d.click && d.click[0] === p && !el.__segstudioClick) {
      // a click on a cell of this figure goes to that cell's step (its points carry [row, col])
      el.__segstudioClick = true;
      el.on("plotly_click", (ev) => {
        const cd = ev && ev.points && ev.points[0] && ev.points[0].customdata;
        if (Array.isArray(cd) && cd.length === 2) { stop(ui); go(ui, cd[0] * ui.data.click[1] + cd[1], true); }
      });
    }
  });
  ui.caption.innerHTML = s.caption;
  ui.root.dataset.step = String(k);
}

function go(ui, k, settle) {
  const d = ui.data;
  k = Math.min(Math.max(Math.round(k), 0), d.n - 1);
  ui.step = k;
  ui.range.value = String(k);
  ui.label.textContent = d.labels.step.replace("{k}", String(k));
  ui.prev.disabled = k <= 0;
  ui.next.disabled = k >= d.n - 1;
  draw(ui, k);
  if (settle) report(ui, false);
}

function load(ui, data) {
  stop(ui);
  ui.data = data;
  ui.sig = data.sig;
  ui.states = [data.first];
  ui.panels.innerHTML = "";
  const rows = data.rows;
  let p = 0;
  for (const row of rows) {
    const line = document.createElement("div");
    line.className = "ss-steps-row";
    for (const w of row) {
      const cell = document.createElement("div");
      cell.className = "ss-steps-panel";
      cell.style.flex = `${w} 1 0`;
      const fig = document.createElement("div");
      fig.className = "ss-steps-fig";
      fig.dataset.panel = String(p++);
      cell.appendChild(fig);
      line.appendChild(cell);
    }
    ui.panels.appendChild(line);
  }
  ui.figDivs = Array.from(ui.panels.querySelectorAll(".ss-steps-fig"));  // the figures, in reading order
  ui.range.max = String(data.n - 1);
  ui.range.disabled = data.n <= 1;
  ui.range.setAttribute("aria-label", data.labels.slider);
  ui.prev.title = data.labels.prev; ui.prev.setAttribute("aria-label", data.labels.prev);
  ui.next.title = data.labels.next; ui.next.setAttribute("aria-label", data.labels.next);
  ui.root.classList.toggle("ss-big", Boolean(data.big));
  playIcon(ui);
}

export default function (component) {
  const { data, setStateValue, parentElement } = component;
  if (!document.getElementById("segstudio-steps-css")) {
    const style = document.createElement("style");
    style.id = "segstudio-steps-css";
    style.textContent = STYLE;
    document.head.appendChild(style);
  }
  let ui = parentElement.__segstudioSteps;
  if (!ui) { ui = build(parentElement); parentElement.__segstudioSteps = ui; }
  ui.setStateValue = setStateValue;
  const fresh = ui.sig !== data.sig;
  if (fresh) load(ui, data);
  const jump = ui.rev !== data.rev;
  ui.rev = data.rev;
  if (jump) ui.reported = data.step;
  loadPlotly(data.plotly).then(() => {
    if (fresh || jump) go(ui, jump ? data.step : ui.step, false);
  }).catch(() => { ui.caption.textContent = data.labels.no_plotly; });
}
"""

_CSS = """
.ss-steps { font-size: 1rem; }
.ss-steps-bar { display: flex; align-items: center; gap: 0.5rem; margin: 0.25rem 0 0.5rem; }
.ss-steps-bar button { width: 2.6rem; height: 2.4rem; border: 1px solid rgba(15, 23, 42, 0.25); border-radius: 0.5rem;
  background: #fff; color: #0f172a; display: inline-flex; align-items: center; justify-content: center; cursor: pointer;
  padding: 0; }
.ss-steps-bar button:hover:not(:disabled) { border-color: #c2410c; color: #c2410c; }
.ss-steps-bar button:focus-visible { outline: 3px solid #c2410c; outline-offset: 1px; }
.ss-steps-bar button:disabled { opacity: 0.4; cursor: default; }
.ss-steps-bar svg { width: 1.4rem; height: 1.4rem; fill: currentColor; }
.ss-steps-slider { flex: 1 1 auto; display: flex; flex-direction: column; gap: 0.1rem; min-width: 8rem;
  margin-left: 0.5rem; }
.ss-steps-label { font-size: 0.9rem; color: #0f172a; }
.ss-range { width: 100%; accent-color: #c2410c; }
.ss-steps-row { display: flex; gap: 1rem; align-items: flex-start; }
.ss-steps-panel { min-width: 0; }
.ss-steps-fig { width: 100%; }
.ss-steps-caption { border: 1px solid rgba(15, 23, 42, 0.2); border-radius: 0.5rem; padding: 0.6rem 0.9rem;
  margin-top: 0.5rem; line-height: 1.5; }
.ss-steps-caption p { margin: 0.2rem 0; }
.ss-steps-caption .ss-note { color: #475569; font-size: 0.9rem; }
.ss-steps-caption .ss-table { border-collapse: collapse; margin: 0.4rem 0; }
.ss-steps-caption .ss-table th, .ss-steps-caption .ss-table td { border: 1px solid rgba(15, 23, 42, 0.2);
  padding: 0.25rem 0.6rem; text-align: left; font-weight: normal; }
.ss-steps-caption .ss-table thead th, .ss-steps-caption .ss-table tbody th { background: rgba(15, 23, 42, 0.04);
  font-weight: 600; }
.ss-steps.ss-big .ss-steps-bar button { width: 3.4rem; height: 3.1rem; }
.ss-steps.ss-big .ss-steps-bar svg { width: 1.9rem; height: 1.9rem; }
.ss-steps.ss-big .ss-steps-label { font-size: 1.25rem; }
"""


@st.cache_resource
def _component():
    ensure_plotly_js()
    # drawn in the page itself (plotly.js needs the page's own style sheets): its styles go into the page's head
    js = "const STYLE = " + json.dumps(_CSS) + ";\n" + _JS
    return st.components.v2.component("segstudio_steps", html="", js=js, isolate_styles=False)


_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+)`")
_STRUCK = re.compile(r"~~(.+?)~~")


def _inline(text: str) -> str:
    """One line of lesson markdown (``**bold**``, ```code```, ``~~struck~~``) as HTML; the rest escaped as text."""
    text = html.escape(text, quote=False)
    return _CODE.sub(r"<code>\1</code>", _STRUCK.sub(r"<s>\1</s>", _BOLD.sub(r"<b>\1</b>", text)))


def inline_html(markdown: str, css: str | None = None) -> str:
    """A lesson sentence (``**bold**``, ```code```, paragraphs) as HTML paragraphs (of class ``css`` when given);
    everything else is escaped as text."""
    paragraphs = [p.strip() for p in str(markdown).split("\n\n") if p.strip()]
    return "".join((f'<p class="{css}">' if css else "<p>") + _inline(p).replace("\n", "<br/>") + "</p>"
                   for p in paragraphs)


def table_html(header: list[str], rows: list[list[str]]) -> str:
    """A table for a step's sentence: ``header`` over the columns (its first cell over the row names), each row's
    first cell its name; every cell is one line of lesson markdown."""
    head = "".join(f"<th>{_inline(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<th>{_inline(c)}</th>" if i == 0 else f"<td>{_inline(c)}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f'<table class="ss-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def final_spec(fig) -> dict:
    """A figure as the page would draw it (larger in presentation mode, the language's decimal comma), as JSON data."""
    spec = spec_of(fig)
    if common.presentation():
        spec = scale_spec(spec)
    spec = localize_spec(spec, common.lang())
    spec["layout"].pop("template", None)  # drawn plain: the app's own colours, on the page's background
    return plain(spec)


class Html(str):
    """A piece of a step's sentence that is HTML already (:func:`table_html`), put in as it is."""


class Step:
    """What one step shows: its figures (in the order of ``rows``), the sentence under them (lesson markdown, or
    a list of pieces: markdown, and :class:`Html` put in as it is) and whether a note should say what the "?"
    cells are.

    A figure is a ``go.Figure``, or plain data already drawn for the page (:func:`final_spec` of what every step
    shares, then marked for this step, e.g. by :func:`core.figures.upsampling.marked`): a grid laid out once
    instead of at every step, whose unchanged parts the frames see at once."""

    def __init__(self, figures, caption: str | list[str] = "", pending: bool = False):
        self.figures, self.pending = list(figures), pending
        self.caption = [caption] if isinstance(caption, str) else list(caption)

    def html(self) -> str:
        return "".join(p if isinstance(p, Html) else inline_html(p) for p in self.caption)


@st.cache_resource(max_entries=48, show_spinner=False)  # shared read-only: never changed once made
def _frames(key: str, params: str, lang: str, big: bool, everything: bool, n_steps: int, _draw) -> dict:
    del key, params, lang, big  # part of the cache key only: the frames are what ``_draw`` makes of them
    note = common.texts("common").table("step_control")["hidden_note"]
    states = []
    for k in range(n_steps):
        step = _draw(k, everything)
        caption = step.html() + (inline_html(note, css="ss-note") if step.pending else "")
        states.append({"figs": [f if isinstance(f, dict) else final_spec(f) for f in step.figures], "caption": caption})
    first, edits = step_frames(states)
    return {"first": first, "edits": edits, "sig": signature([first, edits])}


def _reported(key: str, name: str, n_steps: int) -> None:
    """The browser settled on a step: keep it (the server now draws the rest of the page for it)."""
    state = st.session_state.get(f"{name}_player")
    try:
        step = int(state["step"])
    except (KeyError, TypeError, ValueError):
        return
    step = min(max(step, 0), n_steps - 1)
    st.session_state[key] = step
    st.session_state[f"{name}__shown"] = step


def step_through(key: str, n_steps: int, draw: Callable[[int, bool], Step], *, params, rows=((1,),),
                 label: str | None = None, default: int = 0, show_all: bool = False, ms_per_step: int = 900,
                 click: tuple[int, int] | None = None, player: str | None = None) -> int:
    """A step-through played in the browser; returns the step the server knows of (for the rest of the page).

    ``draw(k, everything)`` returns step ``k``'s :class:`Step` (``everything``: "show all" is on); it is called
    for every step, once per ``params`` (anything the figures depend on, e.g. the grid and the sliders), language
    and presentation mode. ``rows`` gives the figures' relative widths, one tuple per row. ``show_all`` adds
    the "show all" toggle (``?key_all=1``). The step is kept in the address (``?key=k``), the default left out.
    ``click=(figure, columns)``: a click on a cell ``(row, col)`` of that figure (points whose ``customdata`` is
    ``[row, col]``, see :func:`core.figures.upsampling.clickable`) goes to step ``row · columns + col``.
    ``player``: a second view of the same step (another tab showing it its own way) names its player, which
    shares the step with the others.
    """
    name = f"{key}_{player}" if player else key
    n_steps = max(int(n_steps), 1)
    default = min(max(int(default), 0), n_steps - 1)
    step = widgets.current_step(key, n_steps, default)
    everything = widgets.show_all_toggle(key) if show_all else False
    frames = _frames(name, repr(params), common.lang(), common.presentation(), everything, n_steps, _draw=draw)
    # a step the browser does not show yet (a shared link, a click elsewhere on the page, the teacher's): jump to it
    shown_key, rev_key = f"{name}__shown", f"{name}__rev"
    if st.session_state.get(shown_key) != step:
        st.session_state[rev_key] = int(st.session_state.get(rev_key, 0)) + 1
        st.session_state[shown_key] = step
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    labels = {"prev": common.ui("step_prev"), "next": common.ui("step_next"), "play": common.ui("step_play"),
              "pause": common.ui("step_pause"), "slider": label or common.ui("step_label"),
              "step": f"{label or common.ui('step_label')} " + common.ui("step_format", n=n_steps).replace("%d", "{k}"),
              "no_plotly": common.ui("steps_no_plotly")}
    data = {**frames, "n": n_steps, "step": step, "rev": st.session_state[rev_key], "rows": [list(r) for r in rows],
            "ms": int(ms_per_step), "labels": labels, "click": list(click) if click else None, "big": common.presentation(),
            "plotly": ("/" + base if base else "") + "/app/static/" + PLOTLY_JS}
    _component()(key=f"{name}_player", data=data, default={"step": step},
                 on_step_change=functools.partial(_reported, key, name, n_steps))
    return widgets.keep_step(key, default)
