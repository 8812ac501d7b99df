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
from core.figures.sam import shown_score
from core.promptable import draw
from core.promptable.models import Loaded
from core.promptable.segment import Segmenter, parse_prompts
from core.zoo import weights

# The order a picker prefers among cached checkpoints: the published base model first (the lecture's SAM),
# then the small ones a CPU runs quickly, then the large ones a GPU server may hold.
PREFERENCE = {"sam": ("sam_vit_b", "slimsam_77", "sam_vit_l", "sam_vit_h"),
              "sam2": ("sam2.1_tiny", "sam2.1_small", "sam2.1_base_plus"),
              "grounding_dino": ("gdino_tiny", "gdino_base"), "sam3": ("sam3",)}
MODES = ("foreground", "background", "box", "everything")
# A first click that shows something at once on each sample (the horse, the front dog, a person).
FIRST_CLICK = {"landscape": (150, 270), "animals": (248, 286), "street": (247, 225)}


def words():
    return common.texts("sam_common")


def _option(key: str, W) -> str:
    s = weights.spec(key)
    return W("model_option", label=s.label, params=s.params_m, mb=s.download_mb)


def cached_first(family: str) -> str:
    """The checkpoint a picker opens on: the first of :data:`PREFERENCE` in the cache, else the first one."""
    keys = PREFERENCE[family]
    return next((k for k in keys if weights.resolve(weights.spec(k)).found), keys[0])


def pick(kind: str, prefix: str, label: str | None = None) -> weights.Resolution:
    """The picker of ``kind``'s family (it opens on the best cached checkpoint; the address wins) and
    where its weights are; nothing is loaded yet."""
    W = words()
    family = "sam2" if kind == "sam2_video" else kind
    options = [s.key for s in weights.specs(family)]
    key = common.choice(st.selectbox, label or W(f"model_{family}"), options, key=f"{prefix}_model",
                        default=cached_first(family), format_func=lambda k: _option(k, W))
    return wp.repo_panel(prefix, weights.spec(key), button=False)


def untrained_toggle(prefix: str) -> bool:
    """The explicit choice to run the untrained stand-in (kept in the address as true/false)."""
    W = words()
    return bool(st.toggle(W("untrained_toggle"), key=f"{prefix}_untrained", bind="query-params",
                          help=W("untrained_toggle_help")))


def load(kind: str, prefix: str, res: weights.Resolution, untrained: bool | None = None,
         compact: bool = False) -> Loaded | None:
    """The pretrained model ``res`` found, with one line that says so; else, with ``untrained``, the tiny
    random stand-in under a banner; else the "no weights yet" state and None (nothing to show as a result).

    ``untrained=None``: this model has its own toggle (``<prefix>_untrained``), drawn when needed."""
    W = words()
    spec = res.spec
    device = str(common.device())
    if res.found:
        try:
            with st.spinner(W("loading", label=spec.label)):
                loaded = loaders.promptable_model(kind, spec.key, str(res.path), device)
            st.caption(W(f"weights_from_{res.source}", label=spec.label, path=str(res.path),
                         n=loaded.n_params / 1e6))
            return loaded
        except Exception as err:  # a damaged or foreign folder: say so, keep the page working
            reason = f"{type(err).__name__}: {err}"[:300]
            st.error(W("load_failed", label=spec.label, reason=reason))
            res = weights.Resolution(spec, None, None, "load_failed", reason)
    toggle = W("untrained_toggle")
    if untrained is None:
        untrained = untrained_toggle(prefix)
    if not untrained:
        no_weights(prefix, res, toggle)
        return None
    with st.spinner(W("loading", label=W(f"kind_{kind}"))):
        loaded = loaders.promptable_model(kind, None, "", device)
    st.caption(W("untrained_line", label=W(f"kind_{kind}"), n=loaded.n_params / 1e6))
    if not compact:
        st.warning(W("untrained_banner", kind=W(f"kind_{kind}")), icon=":material/warning:")
    with st.expander(W("no_weights_title", label=spec.label)):
        no_weights(prefix, res, None)
    return loaded


def no_weights(prefix: str, res: weights.Resolution, toggle: str | None) -> None:
    if wp.no_weights_repo(prefix, res.spec, res, toggle).found:
        st.rerun()


def model(kind: str, prefix: str, label: str | None = None, compact: bool = False) -> Loaded | None:
    """Pick a checkpoint of ``kind``'s family and load it (cache, a folder or a download).

    Without weights: the "no weights yet" state and None, unless the user turned on the untrained
    pipeline (``<prefix>_untrained``), which returns the tiny random stand-in.
    """
    return load(kind, prefix, pick(kind, prefix, label), None, compact)


def untrained_prefix(loaded: Loaded | None) -> str:
    """"Untrained model — " before every caption and figure title of a random model, "" otherwise."""
    return words()("untrained_prefix") if loaded is not None and not loaded.pretrained else ""


def seconds(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 1 else common.localized(f"{s:.2f} s")


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
    U = untrained_prefix(loaded)  # every caption of a random model's output says what it is
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
        _everything(segmenter, emb, image, prefix, loaded.pretrained, U)
        return

    points, box = parse_prompts(items)
    pred = segmenter.predict(emb, points, box, multimask=multimask)
    left, right = st.columns([3, 2])
    with left:
        st.caption(U + W(f"hint_{mode}"))
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
        st.markdown(f"**{U}{W('candidates')}**")
        cols = st.columns(len(pred.scores))
        for k, col in enumerate(cols):
            thumb = draw.overlay_masks(image, [pred.masks[k]], [draw.color(0 if k == pred.best else 9)])
            col.image(thumb, width="stretch", caption=U.strip(" —") or None)
            tag = W("kept") if k == pred.best else ""
            col.markdown(W("candidate_score", k=k + 1, score=shown_score(pred.scores[k], 2), tag=tag))
        st.caption(U + (W("candidates_caption") if len(pred.scores) > 1 else W("single_caption")))
        share = 100 * pred.mask.mean()
        st.caption(U + W("mask_area", share=share, pixels=int(pred.mask.sum())))


def _everything(segmenter: Segmenter, emb, image: np.ndarray, prefix: str, pretrained: bool, U: str = "") -> None:
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
    left.image(draw.overlay_masks(image, segs.masks, alpha=0.6), width="stretch", caption=U.strip(" —") or None)
    with right:
        st.metric(W("segments"), segs.n_kept)
        st.markdown(U + W("funnel", points=segs.n_points, candidates=segs.n_candidates, confident=segs.n_confident,
                      kept=segs.n_kept))
        st.caption(W("everything_time", time=seconds(segs.seconds), enc=seconds(emb.seconds)))
        if segs.n_kept == 0:
            st.warning(W("everything_none"))
