"""Browser widgets Streamlit lacks: clicking on an image, painting strokes on it, and the decimal comma on
Streamlit's own sliders.

All are ``st.components.v2`` components with inline JavaScript (no build step, nothing downloaded).
Coordinates always come back in pixels of the *original* image, whatever size the browser shows it at,
so the server can use them directly as prompts, keypoints or labels.
"""
from __future__ import annotations

import base64
import io
import json

import numpy as np
import streamlit as st
from PIL import Image

_CLICK_JS = r"""
export default function (component) {
  const { data, setTriggerValue, parentElement } = component;
  let root = parentElement.querySelector(".ss-click");
  if (!root) {
    root = document.createElement("div");
    root.className = "ss-click";
    root.innerHTML = '<img draggable="false"/><div class="ss-band"></div>';
    parentElement.appendChild(root);
  }
  const img = root.querySelector("img");
  const band = root.querySelector(".ss-band");
  if (img.getAttribute("src") !== data.src) img.setAttribute("src", data.src);
  img.style.width = data.width ? data.width + "px" : "100%";
  img.setAttribute("alt", data.alt || "");
  root.dataset.mode = data.mode;
  const toImage = (ev) => {
    const r = img.getBoundingClientRect();
    const sx = data.natural_w / r.width, sy = data.natural_h / r.height;
    return {
      x: Math.min(Math.max((ev.clientX - r.left) * sx, 0), data.natural_w - 1),
      y: Math.min(Math.max((ev.clientY - r.top) * sy, 0), data.natural_h - 1),
      px: ev.clientX - r.left, py: ev.clientY - r.top,
    };
  };
  let start = null;
  img.onpointerdown = (ev) => {
    ev.preventDefault();
    start = toImage(ev);
    if (data.mode === "box") {
      img.setPointerCapture(ev.pointerId);
      Object.assign(band.style, { display: "block", left: start.px + "px", top: start.py + "px", width: "0px", height: "0px" });
    }
  };
  img.onpointermove = (ev) => {
    if (!start || data.mode !== "box") return;
    const p = toImage(ev);
    Object.assign(band.style, {
      left: Math.min(p.px, start.px) + "px", top: Math.min(p.py, start.py) + "px",
      width: Math.abs(p.px - start.px) + "px", height: Math.abs(p.py - start.py) + "px",
    });
  };
  img.onpointerup = (ev) => {
    if (!start) return;
    const p = toImage(ev);
    band.style.display = "none";
    const moved = Math.abs(p.px - start.px) + Math.abs(p.py - start.py) > 6;
    if (data.mode === "box" && moved) {
      setTriggerValue("event", { kind: "box", x0: Math.min(start.x, p.x), y0: Math.min(start.y, p.y),
                                 x1: Math.max(start.x, p.x), y1: Math.max(start.y, p.y), t: Date.now() });
    } else {
      setTriggerValue("event", { kind: "point", x: p.x, y: p.y, t: Date.now() });
    }
    start = null;
  };
}
"""
_CLICK_CSS = """
.ss-click { position: relative; display: inline-block; line-height: 0; user-select: none; }
.ss-click img { cursor: crosshair; max-width: 100%; touch-action: none; border-radius: 4px; }
.ss-band { position: absolute; display: none; border: 2px dashed #ea580c; background: rgba(234,88,12,.15);
           pointer-events: none; }
"""

STROKE_OUTLINE = {"halo": "#ffffff", "edge": "#111827"}  # the two rims drawn under every painted stroke

_PAINT_JS = r"""
const OUTLINE = __OUTLINE__;
export default function (component) {
  const { data, setStateValue, parentElement } = component;
  let root = parentElement.querySelector(".ss-paint");
  if (!root) {
    root = document.createElement("div");
    root.className = "ss-paint";
    root.innerHTML = '<img draggable="false"/><canvas></canvas>';
    parentElement.appendChild(root);
  }
  const img = root.querySelector("img"), canvas = root.querySelector("canvas");
  if (img.getAttribute("src") !== data.src) img.setAttribute("src", data.src);
  img.style.width = data.width ? data.width + "px" : "100%";
  if (root.dataset.version !== String(data.version)) {  // a new image or a cleared canvas
    root.dataset.version = String(data.version);
    root.strokes = (data.strokes || []).map((s) => ({ ...s, points: s.points.slice() }));
  }
  const redraw = () => {
    const r = img.getBoundingClientRect();
    if (!r.width) return;
    canvas.width = r.width; canvas.height = r.height;
    const ctx = canvas.getContext("2d");
    const s = r.width / data.natural_w;
    ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.globalAlpha = 1;
    const path = (st) => {
      ctx.beginPath();
      st.points.forEach(([x, y], i) => (i ? ctx.lineTo(x * s, y * s) : ctx.moveTo(x * s, y * s)));
      if (st.points.length === 1) ctx.lineTo(st.points[0][0] * s + 0.01, st.points[0][1] * s);
    };
    // Each stroke is outlined — a white halo around a dark edge, then its colour — so a red stroke stays
    // visible on a red car and a dark one on a dark road: one of the two rims contrasts with any picture.
    for (const st of root.strokes) {
      const w = Math.max(1, st.width * s);
      for (const [colour, width] of [[OUTLINE.halo, w + 6], [OUTLINE.edge, w + 3], [st.color, w]]) {
        ctx.strokeStyle = colour; ctx.lineWidth = width;
        path(st);
        ctx.stroke();
      }
    }
  };
  img.onload = redraw;
  redraw();
  const toImage = (ev) => {
    const r = canvas.getBoundingClientRect();
    return [Math.round((ev.clientX - r.left) * data.natural_w / r.width * 10) / 10,
            Math.round((ev.clientY - r.top) * data.natural_h / r.height * 10) / 10];
  };
  let current = null;
  canvas.onpointerdown = (ev) => {
    ev.preventDefault();
    canvas.setPointerCapture(ev.pointerId);
    current = { label: data.label, color: data.color, width: data.brush, points: [toImage(ev)] };
    root.strokes.push(current);
    redraw();
  };
  canvas.onpointermove = (ev) => {
    if (!current) return;
    current.points.push(toImage(ev));
    redraw();
  };
  canvas.onpointerup = () => {
    if (!current) return;
    current = null;
    setStateValue("strokes", root.strokes.map(({ label, width, points }) => ({ label, width, points })));
  };
}
"""
_PAINT_CSS = """
.ss-paint { position: relative; display: inline-block; line-height: 0; user-select: none; }
.ss-paint img { max-width: 100%; border-radius: 4px; }
.ss-paint canvas { position: absolute; left: 0; top: 0; cursor: crosshair; touch-action: none; }
"""
_PAINT_JS = _PAINT_JS.replace("__OUTLINE__", json.dumps(STROKE_OUTLINE))


# Streamlit writes a slider's value with a printf format, which only knows the decimal point. On a Romanian
# page this rewrites the numbers on every slider (the value over the thumb, the two ends) with a decimal comma,
# in place, each time Streamlit redraws them: only the text nodes' values change, so Streamlit's own updates
# keep landing on the same nodes. The widget's value, and the address that keeps it, stay language-free.
_COMMA_JS = r"""
export default function (component) {
  const SEL = '[data-testid="stSliderThumbValue"], [data-testid="stSliderTickBar"]';
  const on = !!component.data.on;
  const rewrite = (el, comma) => {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const t = node.nodeValue;
      const u = comma ? t.replace(/(\d)\.(\d)/g, "$1,$2") : t.replace(/(\d),(\d)/g, "$1.$2");
      if (u !== t) node.nodeValue = u;
    }
  };
  const all = (comma) => document.querySelectorAll(SEL).forEach((el) => rewrite(el, comma));
  const was = window.__segstudioComma;
  window.__segstudioComma = on;
  if (!window.__segstudioCommaObserver) {
    window.__segstudioCommaObserver = new MutationObserver((changes) => {
      if (!window.__segstudioComma) return;
      for (const change of changes) {
        const target = change.target.nodeType === Node.TEXT_NODE ? change.target.parentElement : change.target;
        const slider = target && target.closest ? target.closest(SEL) : null;
        if (slider) rewrite(slider, true);
        for (const added of change.addedNodes || []) {
          if (added.nodeType !== Node.ELEMENT_NODE) continue;
          if (added.matches(SEL)) rewrite(added, true);
          added.querySelectorAll(SEL).forEach((el) => rewrite(el, true));
        }
      }
    });
    window.__segstudioCommaObserver.observe(document.body, { subtree: true, childList: true, characterData: true });
  }
  if (on) all(true);
  else if (was) all(false);
}
"""


@st.cache_resource
def _comma_component():
    return st.components.v2.component("segstudio_decimal_comma", html="", js=_COMMA_JS)


def decimal_comma(on: bool) -> None:
    """Once per run: the numbers of every slider on the page with a decimal comma (``on``) or a point."""
    _comma_component()(key="segstudio_decimal_comma", data={"on": bool(on)})


@st.cache_resource
def _click_component():
    return st.components.v2.component("segstudio_image_click", html="", css=_CLICK_CSS, js=_CLICK_JS)


@st.cache_resource
def _paint_component():
    return st.components.v2.component("segstudio_paint", html="", css=_PAINT_CSS, js=_PAINT_JS)


@st.cache_data(max_entries=64, show_spinner=False)
def _data_url(image: np.ndarray) -> str:
    """A photo (or an overlay on one) as a JPEG data address, quality 92: a click or a brush needs no lossless
    pixels, and on a 256×341 photo JPEG encodes in 0.3 ms and 30 KB where PNG takes 9–40 ms and 95–150 KB (the
    picture travels to every student at every redraw)."""
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).convert("RGB").save(buf, format="JPEG", quality=92)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def image_click(image: np.ndarray, key: str, mode: str = "point", width: int | None = None,
                alt: str = "") -> dict | None:
    """Show ``image`` (H, W, 3) and return the user's latest click or drag, once, or None.

    ``mode="point"``: ``{"kind": "point", "x", "y"}``. ``mode="box"``: a drag gives
    ``{"kind": "box", "x0", "y0", "x1", "y1"}`` (a plain click still gives a point). Pixels of the
    original image, floats.
    """
    h, w = image.shape[:2]
    result = _click_component()(
        key=key, data={"src": _data_url(image), "natural_w": w, "natural_h": h, "mode": mode,
                       "width": width, "alt": alt},
        on_event_change=lambda: None)
    return getattr(result, "event", None)


def paint(image: np.ndarray, key: str, label: int, color: str, brush: float, version: int = 0,
          width: int | None = None) -> list[dict]:
    """A canvas over ``image`` to paint strokes with the current ``label``; returns every stroke so far.

    Each stroke is ``{"label", "width", "points": [[x, y], ...]}`` in original-image pixels. Changing
    ``version`` clears the canvas (a new image, or the user asked to start again).
    """
    h, w = image.shape[:2]
    result = _paint_component()(
        key=f"{key}_{version}", data={"src": _data_url(image), "natural_w": w, "natural_h": h, "label": label,
                                      "color": color, "brush": brush, "version": version, "width": width},
        default={"strokes": []}, on_strokes_change=lambda: None)
    return list(getattr(result, "strokes", None) or [])
