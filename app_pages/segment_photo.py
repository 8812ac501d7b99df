"""Your photo, labelled by real segmentation networks: overlay, one pixel, maps, two models compared, timings."""
import numpy as np
import pandas as pd
import streamlit as st

from app_pages.ui import common, loaders, widgets
from app_pages.ui import photo as pw
from app_pages.ui import weights as wp
from app_pages.ui.components import image_click
from core import analysis, limits
from core.figures.photo import distribution_bars, hex_color, mark_pixel, value_map
from core.images import colorize, overlay
from core.zoo import semantic, universal, weights
from core.zoo.checkpoints import CheckpointError, app_header
from core.zoo.semantic import ModelChoice

T = common.texts("segment_photo")
W = pw.words()
common.header(T)
dev = pw.device()
CLASS_WORDS = T.table("classes")
NETS = common.texts("arch_common").table("models")  # the app's own networks by their lecture names


def cname(name: str) -> str:
    return CLASS_WORDS.get(analysis.class_name_key(name), name)


# --- the photo and the models ------------------------------------------------------------------------------
left, right = st.columns(2, gap="large")
with left:
    picked = pw.photo(T, "sp")
    image, image_id = picked.image, picked.id

with right:
    st.subheader(T("models_title"))
    with st.expander(T("app_upload_title"), icon=":material/upload_file:"):
        st.caption(T("app_upload_help"))
        up = st.file_uploader(T("app_upload"), type=["safetensors"], key="sp_app_upload")
        uploaded = st.session_state.setdefault("sp_app_models", {})
        if up is not None and up.size > limits.CHECKPOINT_MB * 2**20:
            st.error(T("app_upload_too_big", mb=up.size / 2**20, limit=limits.CHECKPOINT_MB))
        elif up is not None and not limits.has_room(uploaded, up.name, limits.UPLOADED_CHECKPOINTS):
            # the file stays in the uploader: once one is removed, the next run adds it
            widgets.session_store_full(uploaded, limits.UPLOADED_CHECKPOINTS, "sp_app_kept", T("uploads_what"))
        elif up is not None:
            data = up.getvalue()
            try:
                app_header(data)
                uploaded[up.name] = data
            except CheckpointError as err:
                wp.checkpoint_problem(err)
    trained = st.session_state.get("trained_models", {})  # kept on the "Train live" page in this session
    uploads = st.session_state.get("sp_app_models", {})
    shipped = loaders.shipped_checkpoints()
    app_models = {**trained, **uploads, **shipped}  # the user's own first, then the shipped ones
    shipped_headers = {n: app_header(d) for n, d in shipped.items()}
    shipped_best = semantic.shipped_order(shipped_headers)
    own = [n for n in {**trained, **uploads} if n not in shipped]
    options = [ModelChoice(s, n).key for s, names in (("tv", semantic.TORCHVISION), ("hf", semantic.TRANSFORMERS),
                                                       ("app", app_models)) for n in names]
    cached = semantic.pretrained_present()

    def origin(key: str) -> str:
        """Where a model's weights come from, before loading: pretrained, shipped, session, upload or missing."""
        choice = ModelChoice.parse(key)
        if choice.from_app:
            return "shipped" if choice.name in shipped else "upload" if choice.name in uploads else "session"
        return "pretrained" if key in cached else "missing"

    def label(key: str) -> str:
        choice = ModelChoice.parse(key)
        if choice.from_app:
            if origin(key) == "shipped":
                net = shipped_headers[choice.name]["model"]
                return T("model_shipped", net=NETS.get(net, net))
            return T("model_upload" if origin(key) == "upload" else "model_app", name=choice.name)
        return T(f"model_{choice.name}")

    def option_label(key: str) -> str:
        return label(key) + (T("not_here") if origin(key) == "missing" else "")

    def best(*excluding: str | None) -> str:
        """The best model present (cached pretrained → the user's own → shipped → random), except ``excluding``."""
        return semantic.best_choice(cached - set(excluding), [n for n in own if f"app:{n}" not in excluding],
                                    [n for n in shipped_best if f"app:{n}" not in excluding])

    if not trained and not uploads:
        st.caption(T("no_app_models"))
    key_a = common.choice(st.selectbox, T("model"), options, key="sp_model", default=best(), format_func=option_label)
    line_a = st.empty()  # which model this is, said once it is loaded
    compare = st.toggle(T("compare"), key="sp_compare", bind="query-params", help=T("compare_help"))
    key_b = line_b = None
    if compare:
        key_b = common.choice(st.selectbox, T("model_b"), options, key="sp_model_b", default=best(key_a),
                              format_func=option_label)
        line_b = st.empty()
    side = st.slider(T("side"), 64, 640, value=520 if dev.type == "cuda" else 256, step=32, key="sp_side",
                     bind="query-params", help=T("side_help"))
    amp = pw.precision_switch("sp", dev)


def provenance(model) -> tuple[str, str]:
    """The one line that says what a loaded model is: (kind of alert, sentence)."""
    choice, ref, name = model.choice, model.weights, label(model.key)
    if choice.from_app:
        kind = origin(model.key)
        net = NETS.get(model.info.get("model", ""), model.info.get("model", ""))
        if kind == "shipped":
            miou = semantic.app_miou(model.info)
            miou = float("nan") if miou is None else miou
            return "success", T("source_shipped", net=net, file=choice.name, miou=miou)
        return "info", T(f"source_{kind}", net=net, file=choice.name)
    if not ref.pretrained:
        return "warning", T("source_random", model=name)
    where = "cache" if ref.kind == "cache" else "file"
    return "success", T(f"source_{choice.source}_{where}", model=name, file=ref.name)


def say(slot, model) -> None:
    kind, text = provenance(model)
    icon = {"success": ":material/verified:", "info": ":material/school:", "warning": ":material/warning:"}[kind]
    getattr(slot.container(), kind)(text, icon=icon)


def hub_missing(res, fallback: str, prefix: str) -> None:
    """No SegFormer / Mask2Former weights: why (for a folder typed in ``<prefix>_folder``: a file, no such folder,
    or the files it lacks), how to get them, and which model is shown instead."""
    spec = res.spec
    WC = common.texts("weights_common")
    if res.reason in ("offline", "gated", "not_found", "disk", "download_failed"):
        st.error(WC(f"fail_{res.reason}", label=spec.label, repo=spec.repo, detail=res.detail[:300]))
    elif res.reason == "bad_folder":
        st.error(wp.folder_problem(res, st.session_state.get(f"{prefix}_folder")))
    st.warning(T("hub_missing", label=spec.label, mb=spec.download_mb, command=weights.download_command(spec),
                 repo=spec.repo) + " " + T("hub_fallback", model=label(fallback)), icon=":material/cloud_off:")


def load(key: str, prefix: str, avoid: str | None = None):
    """The model ``key`` with its weights (or random ones, and why), and the seconds loading took.

    A transformers model without weights is not run at all (its output would be noise): the page says how
    to get it and loads the best model present instead.
    """
    choice = ModelChoice.parse(key)
    if choice.from_hub:
        res = wp.repo_panel(prefix, weights.spec(choice.name))
        if res.found:
            ref = universal.folder_ref(res)
            try:
                return pw.timed(loaders.photo_transformers_model, choice.name, str(dev), ref.key, str(res.path),
                                res.source)
            except Exception as err:  # a damaged or foreign folder: say so, and show another model
                st.error(T("hub_load_failed", label=res.spec.label, reason=f"{type(err).__name__}: {err}"[:300]))
                fallback = best(avoid, key)
        else:
            fallback = best(avoid, key)
            hub_missing(res, fallback, prefix)
        return load(fallback, prefix + "f", avoid)
    if choice.from_app:
        data = app_models[choice.name]
        ref = weights.uploaded(choice.name, data)
    else:
        published = weights.weights_enum(choice.name)
        ref, data = wp.file_panel(prefix, label(key), published.url, published.meta.get("_file_size"))
    try:
        model, seconds = pw.timed(loaders.photo_semantic_model, key, str(dev), ref.key, ref, data)
    except CheckpointError as err:
        wp.checkpoint_problem(err, ref)
        if choice.from_app:
            st.stop()
        ref = weights.random_weights("not_cached")
        model, seconds = pw.timed(loaders.photo_semantic_model, key, str(dev), ref.key, ref, None)
    return model, seconds


def run(model, use_amp: bool):
    model_side = model.default_side if model.choice.from_app else side
    pred = pw.guarded(loaders.photo_semantic_prediction, model.key, model.weights.key, str(dev), image_id, model_side,
                      use_amp, model, image)
    if pred is None:
        st.stop()
    return pred


with right:
    model_a, load_a = load(key_a, "sp_a")
    say(line_a, model_a)
    if key_b is not None:
        model_b, load_b = load(key_b, "sp_b", avoid=model_a.key)
        say(line_b, model_b)
name_a = label(model_a.key)
pred_a = run(model_a, amp)
if model_a.choice.from_app:
    st.info(T("app_side_note", side=model_a.default_side, model=model_a.info.get("model", "")))


def legend(model, mask) -> None:
    rows = []
    for a in analysis.class_areas(mask, model.classes):
        swatch = hex_color(model.palette[a.index])
        rows.append(f"<span style='color:{swatch};font-size:1.3em'>■</span> {cname(a.name)} — "
                    + common.localized(f"**{100 * a.share:.1f}\u00a0%**"))
    st.markdown("<br>".join(rows), unsafe_allow_html=True)


def blend(model, mask, alpha: float) -> np.ndarray:
    background = [i for i, n in enumerate(model.classes) if analysis.is_background(n)]
    return overlay(image, mask, model.palette, alpha, ignore_index=background[0] if background else None)


# --- the overlay, the legend, one pixel ---------------------------------------------------------------------
untrained_a = not model_a.weights.pretrained
st.header(T("result_title_random" if untrained_a else "result_title", model=name_a))
if untrained_a:
    st.markdown(T.md("random"))
st.markdown(T.md("overlay"))
alpha = st.slider(T("opacity"), 0.0, 1.0, value=0.6, step=0.05, key="sp_alpha", bind="query-params")
mask_a = pred_a.mask
h, w = mask_a.shape
if "sp_clicked" in st.session_state:  # a click on the overlay (previous run) selects that pixel
    st.session_state["sp_x"], st.session_state["sp_y"] = st.session_state.pop("sp_clicked")
for k, limit in (("sp_x", w - 1), ("sp_y", h - 1)):  # a new, smaller photo: keep the pixel inside it
    if k in st.session_state and not 0 <= int(st.session_state[k]) <= limit:
        del st.session_state[k]
over_a = blend(model_a, mask_a, alpha)
shown, panel = st.columns([3, 2], gap="medium")
with panel:
    c1, c2 = st.columns(2)
    x = int(c1.number_input(T("pixel_x"), 0, w - 1, value=w // 2, key="sp_x", bind="query-params"))
    y = int(c2.number_input(T("pixel_y"), 0, h - 1, value=h // 2, key="sp_y", bind="query-params"))
with shown:
    st.caption(T("click_hint"))
    event = image_click(mark_pixel(over_a, x, y), key="sp_click", width=900, alt=T("overlay_alt"))
    if event and event.get("kind") == "point" and (int(event["x"]), int(event["y"])) != (x, y):
        st.session_state["sp_clicked"] = (int(event["x"]), int(event["y"]))
        st.rerun()  # the pixel inputs take the click before they are drawn, and the ring moves there
with panel:
    dist = analysis.pixel_distribution(pred_a.probs, x, y, top=6)
    # the title starts where the bars do, right of the classes' names (15 px letters)
    name_px = 20 + 9 * max(len(cname(model_a.classes[c])) for c, _ in dist)
    common.show_figure(distribution_bars([cname(model_a.classes[c]) for c, _ in dist], [p for _, p in dist],
                                         [model_a.palette[c] for c, _ in dist], title=T("pixel_fig", x=x, y=y),
                                         title_width=common.column_px(2 / 5) - name_px),
                       key="sp_fig_pixel")
    ent = float(analysis.entropy(pred_a.probs[:, y:y + 1, x:x + 1])[0, 0])
    st.markdown(T("pixel_summary", name=cname(model_a.classes[dist[0][0]]), p=dist[0][1], entropy=ent))

c1, c2 = st.columns([1, 2], gap="medium")
with c1:
    st.markdown(f"**{T('legend_title')}**")
    legend(model_a, mask_a)
with c2:
    st.image(colorize(mask_a, model_a.palette), caption=T("mask_caption"), width=min(480, 2 * w))

# --- probability, confidence and entropy maps -------------------------------------------------------------------
st.header(T("maps_title"))
st.markdown(T.md("maps"))
if untrained_a:
    st.markdown(T.md("maps_random"))
present = [a.index for a in analysis.class_areas(mask_a, model_a.classes)]
others = [c for c in range(model_a.num_classes) if c not in present]
non_bg = [c for c in present if not analysis.is_background(model_a.classes[c])]
chosen = common.choice(st.selectbox, T("map_class"), present + others, key="sp_map_class",
                       default=(non_bg or present)[0], format_func=lambda c: cname(model_a.classes[c]))
m1, m2, m3 = st.columns(3)
map_height = int(np.clip(70 + 300 * h / w, 200, 460))  # a column is about 300 px wide: keep the photo's shape
third = common.column_px(1 / 3) - 60  # each map's title wraps to its column, beside its colour bar
# (the titles say what each map holds, so the colour bars need no title of their own to overlap their numbers)
with m1:
    common.show_figure(value_map(pred_a.probs[chosen], title=T("map_prob", name=cname(model_a.classes[chosen])),
                                 height=map_height, title_width=third), key="sp_fig_prob")
with m2:
    common.show_figure(value_map(analysis.confidence(pred_a.probs), title=T("map_confidence"),
                                 zmin=1.0 / model_a.num_classes, height=map_height,
                                 title_width=third),
                       key="sp_fig_conf")
with m3:
    common.show_figure(value_map(analysis.entropy(pred_a.probs), title=T("map_entropy"), colorscale="Magma",
                                 height=map_height, title_width=third),
                       key="sp_fig_entropy")

# --- two models side by side ------------------------------------------------------------------------------------
seconds = {name_a: pred_a.seconds}
loads = {name_a: load_a}
if key_b is not None:
    name_b = label(model_b.key)
    pred_b = run(model_b, amp)
    seconds[name_b + (" (B)" if model_b.key == model_a.key else "")] = pred_b.seconds
    loads[name_b + (" (B)" if model_b.key == model_a.key else "")] = load_b
    st.header(T("compare_title"))
    st.markdown(T.md("compare"))
    if not model_b.weights.pretrained:
        st.warning(T("source_random", model=name_b), icon=":material/warning:")
    mask_b = pred_b.mask
    agree = analysis.agreement(mask_a, model_a.classes, mask_b, model_b.classes)
    a1, a2 = st.columns(2)
    a1.image(over_a, caption=f"A · {name_a}", width="stretch")
    a2.image(blend(model_b, mask_b, alpha), caption=f"B · {name_b}", width="stretch")
    with a1:
        legend(model_a, mask_a)
    with a2:
        legend(model_b, mask_b)
    k1, k2, k3 = st.columns(3)
    k1.metric(T("agree_miou"), "—" if np.isnan(agree.mean_iou) else common.localized(f"{agree.mean_iou:.3f}"),
              help=T("agree_miou_help"))
    k2.metric(T("agree_pixels"), common.localized(f"{100 * agree.pixel_agreement:.1f} %"), help=T("agree_pixels_help"))
    k3.metric(T("agree_shared"), f"{len(agree.shared)}", help=T("agree_shared_help"))
    d1, d2 = st.columns([1, 1])
    with d1:
        if agree.iou:
            common.dataframe(pd.DataFrame({T("col_class"): [cname(n) for n in agree.iou],
                                       T("col_iou"): [round(v, 3) for v in agree.iou.values()]}),
                         hide_index=True, width="stretch")
        else:
            st.info(T("agree_none"))
    with d2:
        marks = np.array([[0, 0, 0], [236, 72, 153]], dtype=np.uint8)
        st.image(overlay(image, agree.disagree.astype(np.int64), marks, 0.75, ignore_index=0),
                 caption=T("disagree_caption"), width="stretch")

# --- speed -----------------------------------------------------------------------------------------------------
st.header(T("speed_title"))
st.markdown(T.md("speed"))
st.caption(pw.device_line(dev, amp) + " " + T("input_size", h=pred_a.input_size[0], w=pred_a.input_size[1]))
if dev.type == "cuda" and st.toggle(T("fp32_compare"), key="sp_fp32", bind="query-params", help=T("fp32_help")):
    other = run(model_a, not amp)
    seconds[f"{name_a} · {W('precision_fp32' if amp else 'precision_amp')}"] = other.seconds
    fast, slow = (pred_a, other) if amp else (other, pred_a)
    f1, f2, f3 = st.columns(3)
    f1.metric(T("speedup"), common.localized(f"{slow.seconds['forward'] / max(fast.seconds['forward'], 1e-9):.2f}×"))
    f2.metric(T("max_delta"), common.localized(f"{float(np.abs(fast.probs - slow.probs).max()):.2e}"))
    f3.metric(T("mask_same"), common.localized(f"{100 * float((fast.mask == slow.mask).mean()):.2f} %"))
pw.timings_table(seconds, loads)

# --- take it home ------------------------------------------------------------------------------------------------
st.header(T("download_title"))
stem = model_a.choice.name.rsplit(".", 1)[0] if model_a.choice.from_app else model_a.choice.name
d1, d2, d3 = st.columns(3)
# Each file is made when its button is pressed, not at every move of a slider.
palette, classes = model_a.palette, model_a.classes
d1.download_button(T("download_mask"), lambda: analysis.mask_png(mask_a, palette), file_name=f"{stem}_mask.png",
                   mime="image/png", key="sp_dl_mask", icon=":material/download:")
d2.download_button(T("download_overlay"), lambda: analysis.png_bytes(over_a), file_name=f"{stem}_overlay.png",
                   mime="image/png", key="sp_dl_overlay", icon=":material/download:")
d3.download_button(T("download_csv"), lambda: analysis.areas_csv(mask_a, classes), file_name=f"{stem}_areas.csv",
                   mime="text/csv", key="sp_dl_csv", icon=":material/download:")
st.caption(T("download_note"))
st.markdown(T.md("summary"))
