"""What the Segment Anything pages share: the model picker and loading, and the prompt workbench.

The picture comes from :mod:`app_pages.ui.images`, the weights status from :mod:`app_pages.ui.weights`.

The words come from ``lessons/<lang>/sam_common.toml``. Models and image embeddings are cached in
:mod:`app_pages.ui.loaders`; the clicks of each user live in ``st.session_state`` under the page's prefix.
"""
from __future__ import annotations

import json

import numpy as np
import streamlit as st

from app_pages.ui import common, loaders
from app_pages.ui import weights as wp
from app_pages.ui.components import image_click
from core.promptable import draw
from core.promptable.models import Loaded
from core.promptable.segment import Segmenter, parse_prompts
from core.zoo import weights

DEFAULT_MODEL = {"sam": "sam_vit_b", "sam2": "sam2.1_tiny", "grounding_dino": "gdino_tiny", "sam3": "sam3"}
MODES = ("foreground", "background", "box", "everything")
# A first click that shows something at once on each sample (the horse, the front dog, a person).
FIRST_CLICK = {"landscape": (150, 270), "animals": (248, 286), "street": (247, 225)}


def words():
    return common.texts("sam_common")


def _option(key: str, W) -> str:
    s = weights.spec(key)
    return W("model_option", label=s.label, params=s.params_m, mb=s.download_mb)


def model(kind: str, prefix: str, label: str | None = None, compact: bool = False) -> Loaded:
    """Pick a checkpoint of ``kind``'s family; load it from the cache, a folder or a download, else the tiny one."""
    W = words()
    family = "sam2" if kind == "sam2_video" else kind
    options = [s.key for s in weights.specs(family)]
    key = common.choice(st.selectbox, label or W(f"model_{family}"), options, key=f"{prefix}_model",
                        default=DEFAULT_MODEL[family], format_func=lambda k: _option(k, W))
    spec = weights.spec(key)
    res = wp.repo_panel(prefix, spec)
    device = str(common.device())
    loaded = None
    if res.found:
        try:
            with st.spinner(W("loading", label=spec.label)):
                loaded = loaders.promptable_model(kind, spec.key, str(res.path), device)
        except Exception as err:  # a damaged or foreign folder: say so, keep the page working
            st.error(W("load_failed", label=spec.label, reason=f"{type(err).__name__}: {err}"[:300]))
    if loaded is None:
        if res.found:  # found but unusable: the error above says why
            res = weights.Resolution(spec, None, None, "load_failed")
        wp.repo_missing(res, kind, compact)
        with st.spinner(W("loading", label=W(f"kind_{kind}"))):
            loaded = loaders.promptable_model(kind, None, "", device)
    else:
        st.caption(W(f"weights_from_{res.source}", label=spec.label, path=str(res.path),
                     n=loaded.n_params / 1e6))
    return loaded


def seconds(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


# --- the prompt workbench ----------------------------------------------------------------------------

def _prompts_from_url(prefix: str) -> list[dict] | None:
    """Prompts a shared link carries: ``?sam_p=[["p",x,y,label],["b",x0,y0,x1,y1]]`` in picture pixels."""
    try:
        raw = json.loads(st.query_params.get(f"{prefix}_p", ""))
        items = []
        for entry in raw:
            if entry[0] == "p":
                items.append({"kind": "point", "x": float(entry[1]), "y": float(entry[2]), "label": int(entry[3])})
            elif entry[0] == "b":
                items.append({"kind": "box", **dict(zip(("x0", "y0", "x1", "y1"), map(float, entry[1:5])))})
        return items
    except (ValueError, TypeError, IndexError, KeyError):
        return None


def _prompts_to_url(prefix: str, items: list[dict], shareable: bool) -> None:
    if not shareable or not items:
        st.query_params.pop(f"{prefix}_p", None)
        return
    compact = [["p", round(i["x"]), round(i["y"]), i["label"]] if i["kind"] == "point"
               else ["b", *(round(i[k]) for k in ("x0", "y0", "x1", "y1"))] for i in items]
    st.query_params[f"{prefix}_p"] = json.dumps(compact, separators=(",", ":"))


def _prompts(prefix: str, key: str, first: list[dict], shareable: bool) -> list[dict]:
    """This user's prompts on this image: a new image starts from ``first`` (or, on a sample picture
    opened from a shared link, from the prompts in the link)."""
    state = st.session_state.get(f"{prefix}_prompts")
    if not state or state.get("image") != key:
        items = list(first)
        if shareable and state is None:
            items = _prompts_from_url(prefix) or items
        state = {"image": key, "items": items}
        st.session_state[f"{prefix}_prompts"] = state
    return state["items"]


def first_click(name: str | None) -> list[dict]:
    """The prompt a sample starts with (none for an upload)."""
    if name not in FIRST_CLICK:
        return []
    x, y = FIRST_CLICK[name]
    return [{"kind": "point", "x": float(x), "y": float(y), "label": 1}]


def workbench(loaded: Loaded, image: np.ndarray, prefix: str, first: list[dict] | None = None,
              shareable: bool = False) -> None:
    """Clicks, a box or "everything" on ``image`` with a SAM / SAM 2 bundle; masks, candidates, timings.

    ``shareable``: the picture is a sample, so the prompts are also kept in the page's URL.
    """
    W = words()
    segmenter = Segmenter(loaded)
    with st.spinner(W("embedding")):
        emb, computed = loaders.sam_embeddings().get(segmenter, image)
    items = _prompts(prefix, f"{emb.image_key}:{loaded.key}", first or [], shareable)
    _prompts_to_url(prefix, items, shareable)

    bar = st.columns([6, 2, 1, 1], vertical_alignment="bottom")
    with bar[0]:
        mode = common.choice(st.segmented_control, W("mode"), MODES, key=f"{prefix}_mode",
                             format_func=lambda m: W(f"mode_{m}"))
    multimask = bar[1].toggle(W("multimask"), value=True, key=f"{prefix}_multimask", bind="query-params",
                              help=W("multimask_help"))
    if bar[2].button(W("undo"), key=f"{prefix}_undo", disabled=not items, width="stretch"):
        items.pop()
        st.rerun()
    if bar[3].button(W("clear"), key=f"{prefix}_clear", disabled=not items, width="stretch"):
        items.clear()
        st.rerun()

    if mode == "everything":
        _everything(segmenter, emb, image, prefix, loaded.pretrained)
        return

    points, box = parse_prompts(items)
    pred = segmenter.predict(emb, points, box, multimask=multimask)
    left, right = st.columns([3, 2])
    with left:
        st.caption(W(f"hint_{mode}"))
        shown = image if pred is None else draw.overlay_masks(image, [pred.mask], [draw.color(0)])
        event = image_click(draw.draw_prompts(shown, points, box), key=f"{prefix}_click",
                            mode="box" if mode == "box" else "point", alt=W("click_alt"))
        if event and event.get("t") != st.session_state.get(f"{prefix}_last_t"):
            st.session_state[f"{prefix}_last_t"] = event.get("t")
            if event.get("kind") == "box":
                items.append({k: float(event[k]) for k in ("x0", "y0", "x1", "y1")} | {"kind": "box"})
            else:
                items.append({"kind": "point", "x": float(event["x"]), "y": float(event["y"]),
                              "label": 0 if mode == "background" else 1})
            st.rerun()
        last = items[-1] if items else None
        where = ""
        if last and last.get("kind") == "box":
            where = " " + W("last_box", x0=last["x0"], y0=last["y0"], x1=last["x1"], y1=last["y1"])
        elif last:
            where = " " + W("last_point", x=last["x"], y=last["y"])
        st.caption(W("prompt_count", points=sum(p.label for p in points),
                     negatives=sum(1 - p.label for p in points), box=W("yes") if box else W("no")) + where)
    with right:
        a, b = st.columns(2)
        a.metric(W("t_encoder"), seconds(emb.seconds), help=W("t_encoder_help"))
        a.caption(W("encoder_now") if computed else W("encoder_cached"))
        if pred is None:
            b.metric(W("t_click"), "—")
            st.info(W("no_prompt"))
            return
        b.metric(W("t_click"), seconds(pred.seconds), help=W("t_click_help"))
        b.caption(W("click_share", share=100 * pred.seconds / max(emb.seconds, 1e-9)))
        if not loaded.pretrained:
            st.caption(W("tiny_timing"))
        st.markdown(f"**{W('candidates')}**")
        cols = st.columns(len(pred.scores))
        for k, col in enumerate(cols):
            thumb = draw.overlay_masks(image, [pred.masks[k]], [draw.color(0 if k == pred.best else 9)])
            col.image(thumb, width="stretch")
            tag = W("kept") if k == pred.best else ""
            col.markdown(W("candidate_score", k=k + 1, score=round(float(pred.scores[k]), 3) + 0.0, tag=tag))
        st.caption(W("candidates_caption") if len(pred.scores) > 1 else W("single_caption"))
        share = 100 * pred.mask.mean()
        st.caption(W("mask_area", share=share, pixels=int(pred.mask.sum())))


def _everything(segmenter: Segmenter, emb, image: np.ndarray, prefix: str, pretrained: bool) -> None:
    W = words()
    c = st.columns(4)
    per_side = c[0].slider(W("per_side"), 4, 32, value=16, key=f"{prefix}_grid", bind="query-params",
                           help=W("per_side_help"))
    iou = c[1].slider(W("iou_threshold"), 0.0, 1.0, value=0.88 if pretrained else 0.0, step=0.01,
                      key=f"{prefix}_iou", bind="query-params", help=W("iou_threshold_help"))
    stable = c[2].slider(W("stability_threshold"), 0.0, 1.0, value=0.92 if pretrained else 0.0, step=0.01,
                         key=f"{prefix}_stab", bind="query-params", help=W("stability_help"))
    nms = c[3].slider(W("nms_threshold"), 0.3, 0.95, value=0.7, step=0.05, key=f"{prefix}_nms",
                      bind="query-params", help=W("nms_help"))
    run_key = (emb.image_key, segmenter.key, per_side, iou, stable, nms)
    result = st.session_state.get(f"{prefix}_everything")
    if st.button(W("run_everything", n=per_side * per_side), key=f"{prefix}_everything_run", type="primary"):
        with st.spinner(W("running_everything", n=per_side * per_side)):
            segs = segmenter.everything(emb, per_side=per_side, iou_threshold=iou, stability_threshold=stable,
                                        nms_threshold=nms)
        result = (run_key, segs)
        st.session_state[f"{prefix}_everything"] = result
    if not result or result[0] != run_key:
        st.image(image, width="stretch")
        st.info(W("everything_first"))
        return
    segs = result[1]
    left, right = st.columns([3, 2])
    left.image(draw.overlay_masks(image, segs.masks, alpha=0.6), width="stretch")
    with right:
        st.metric(W("segments"), segs.n_kept)
        st.markdown(W("funnel", points=segs.n_points, candidates=segs.n_candidates, confident=segs.n_confident,
                      kept=segs.n_kept))
        st.caption(W("everything_time", time=seconds(segs.seconds), enc=seconds(emb.seconds)))
        if segs.n_kept == 0:
            st.warning(W("everything_none"))
