"""Why not stay at full resolution: FLOPs, activation memory and receptive field, full-res versus hourglass."""
from dataclasses import asdict

import numpy as np
import pandas as pd
import streamlit as st
import torch

from app_pages.ui import common, widgets
from core import cost, lessons
from core import sliding_window as sw
from core.data.constants import STREET_CLASSES, STREET_PALETTE
from core.figures.segmentation import NET_COLORS, growth_curves, layer_bars, layer_lines

T = common.texts("full_resolution")
common.header(T)

SW_STEPS, SW_SIDES = sw.PAGE_STEPS, list(sw.PAGE_SIDES)  # training steps of the patch classifier; picture sides offered


@st.cache_resource(max_entries=2, show_spinner=False)
def patch_classifier(weights: str) -> sw.PatchClassifier:
    """The patch classifier: trained here for SW_STEPS steps (shared by every session), or random weights."""
    if weights == "trained":
        return sw.trained_classifier(SW_STEPS)  # trained once per server, usually already by core/warmup.py
    return sw.seeded_classifier(0).eval()


@st.cache_data(max_entries=16, show_spinner=False)
def slide_both(weights: str, seed: int, side: int):
    """The picture and both maps (C, H, W) in float32, as shown; the timings are measured once per side
    (sw.side_timings)."""
    model = patch_classifier(weights)
    x, rgb, mask = sw.picture(seed, side)
    return rgb, mask, sw.sliding_window(model, x), sw.fully_convolutional(model, x)


@st.cache_data(max_entries=16, show_spinner=False)
def slide_both_exact(weights: str, seed: int, side: int):
    """Both maps again in double precision, where only a real difference would show (the check with torch).
    Computed beside the page (common.prepared): patch by patch in float64 takes 130 ms at 64 × 64 on this CPU."""
    model = patch_classifier(weights)
    x = sw.picture(seed, side)[0]
    return sw.sliding_window(model, x, dtype=torch.float64), sw.fully_convolutional(model, x, dtype=torch.float64)


def painted(labels: np.ndarray, scale: int) -> np.ndarray:
    """A label map in the street palette, each pixel a ``scale``×``scale`` block (nearest, so nothing blurs)."""
    return np.kron(STREET_PALETTE[labels], np.ones((scale, scale, 1), np.uint8))


# --- the lecture's first idea: a classifier slid over patches -----------------------------------------------
# Two fragments: the sliding window's widgets rerun only their section, the calculator's only theirs.
@st.fragment
def sliding() -> None:
    st.subheader(T("sw_title"))
    st.markdown(T.md("sliding"))
    lang = common.lang()
    s1, s2, s3 = st.columns([2, 1, 1])
    sw_weights = common.choice(s1.segmented_control, T("sw_weights"), ["trained", "random"], key="fr_sw_weights",
                               format_func=lambda k: T(f"sw_weights_{k}", steps=SW_STEPS))
    sw_side = s2.select_slider(T("sw_side"), SW_SIDES, value=64, key="fr_sw_side", bind="query-params")
    sw_seed = s3.number_input(T("sw_seed"), 0, 999, value=3, step=1, key="fr_sw_seed", bind="query-params")
    with st.spinner(T("sw_training", steps=SW_STEPS)):
        rgb, truth, slid, once = slide_both(sw_weights, int(sw_seed), sw_side)
        t_slide, t_once = sw.side_timings(sw_side)
    zoom = max(1, 192 // sw_side)
    p1, p2, p3 = st.columns(3)
    p1.image(np.kron(rgb, np.ones((zoom, zoom, 1), np.uint8)), caption=T("sw_picture", side=sw_side), width="stretch")
    p2.image(painted(slid.argmax(0).numpy(), zoom), caption=T("sw_slid", n=sw_side * sw_side), width="stretch")
    p3.image(painted(once.argmax(0).numpy(), zoom), caption=T("sw_once"), width="stretch")
    if sw_weights == "trained":
        accuracy = float((once.argmax(0).numpy() == truth).mean())
        st.caption(T("sw_trained_caption", steps=SW_STEPS, acc=100 * accuracy))
    else:
        st.warning(T("sw_random_caption"))
    st.caption(" · ".join(f"{i}: {T.table('classes')[name]}" for i, name in enumerate(STREET_CLASSES)))
    st.caption(T("sw_float32", delta=common.max_abs_diff(slid, once)))
    exact = ("fr_sw_exact", sw_weights, int(sw_seed), sw_side)
    if common.prepared(exact, slide_both_exact, sw_weights, int(sw_seed), sw_side, what=T("sw_checking"), wait_s=0):
        common.torch_check(*slide_both_exact(sw_weights, int(sw_seed), sw_side), what=T("sw_same"))
    sw_cost = sw.costs(sw.PatchConfig(), sw_side, sw_side)
    groups = [("sw_macs_head", sw_cost.sliding_macs / 1e6, sw_cost.fcn_macs / 1e6, ",.1f"),  # counted
              ("sw_ms_head", 1e3 * t_slide, 1e3 * t_once, ",.2f")]  # measured
    for box, (head, slide, once_, spec) in zip(st.columns(2), groups):
        box.markdown(f"**{T(head)}**")
        left, right = box.columns(2)
        left.metric(T("sw_slide_short"), lessons.number(slide, spec, lang))
        right.metric(T("sw_once_short"), lessons.number(once_, spec, lang))
    st.markdown(T("sw_cost_line", p=sw_cost.patch, n=sw_cost.pixels, per=sw_cost.per_patch_macs / 1e3,
                  ratio=sw_cost.ratio, speedup=t_slide / max(t_once, 1e-9)))
    st.markdown(T.md("sliding_after"))


sliding()

# --- the full-resolution network against the hourglass ----------------------------------------------------

SIZES = [64, 128, 256, 384, 512, 768, 1024, 1536, 2048]
KINDS = ("full_resolution", "hourglass")


@st.cache_data(max_entries=64, show_spinner=False)
def layer_table(kind: str, cfg: dict, size: int) -> list[cost.LayerCost]:
    return cost.layer_costs(cost.build(kind, cost.NetConfig(**cfg), device="meta"), size)


@st.cache_data(max_entries=32, show_spinner=False)
def curves(cfg: dict) -> dict:
    return cost.cost_curves(cost.NetConfig(**cfg), SIZES)


@st.fragment
def calculator() -> None:
    st.subheader(T("calc_title"))
    c1, c2, c3, c4 = st.columns(4)
    stages = c1.slider(T("stages"), 1, 5, value=3, key="fr_stages", bind="query-params", help=T("stages_help"))
    width = c2.select_slider(T("width"), [8, 16, 32, 64, 128], value=32, key="fr_width", bind="query-params",
                             help=T("width_help"))
    classes = c3.slider(T("classes"), 2, 32, value=6, key="fr_classes", bind="query-params")
    size = c4.select_slider(T("size"), SIZES, value=512, key="fr_size", bind="query-params", help=T("size_help"))

    cfg = asdict(cost.NetConfig(stages=stages, base_width=width, num_classes=classes))
    layers = {k: layer_table(k, cfg, size) for k in KINDS}
    tot = {k: cost.totals(layers[k]) for k in KINDS}
    net_names = {k: T(f"net_{k}") for k in KINDS}
    chain = " → ".join(str(c) for c in cost.widths(cost.NetConfig(**cfg)))
    st.markdown(T("widths_line", chain=chain, n=len(layers["hourglass"]), size=size))

    st.subheader(T("totals_title", size=size))
    full, hour = tot["full_resolution"], tot["hourglass"]
    m = st.columns(4)
    m[0].metric(T("gflops", net=net_names["full_resolution"]), common.localized(f"{full['flops'] / 1e9:,.1f}".replace(",", " ")))
    m[1].metric(T("gflops", net=net_names["hourglass"]), common.localized(f"{hour['flops'] / 1e9:,.1f}".replace(",", " ")),
                delta=T("times_fewer", x=f"{full['flops'] / hour['flops']:.1f}"), delta_color="green", delta_arrow="down")
    m[2].metric(T("memory", net=net_names["full_resolution"]), f"{full['activation_bytes'] / 2**20:,.0f}".replace(",", " "))
    m[3].metric(T("memory", net=net_names["hourglass"]), f"{hour['activation_bytes'] / 2**20:,.0f}".replace(",", " "),
                delta=T("times_less", x=f"{full['activation_bytes'] / hour['activation_bytes']:.1f}"), delta_color="green", delta_arrow="down")
    st.markdown(T("same_params", params=f"{hour['params']:,}".replace(",", " "),
                  rf_full=tot["full_resolution"]["receptive_field"], rf_hour=tot["hourglass"]["receptive_field"],
                  size=size))

    # --- growth with the image size ---------------------------------------------------------------------
    st.subheader(T("growth_title"))
    cur = curves(cfg)
    g1, g2 = st.columns(2)
    with g1:
        common.show_figure(growth_curves(
            SIZES, {net_names[k]: [f / 1e9 for f in cur[k]["flops"]] for k in KINDS}, T("flops_fig"),
            T("size_axis"), T("gflops_axis"), mark_x=size, colors={k: NET_COLORS[k] for k in KINDS},
            width_px=common.column_px(0.5)), key="fr_fig_flops")
    with g2:
        common.show_figure(growth_curves(
            SIZES, {net_names[k]: [b / 2**30 for b in cur[k]["activation_bytes"]] for k in KINDS}, T("memory_fig"),
            T("size_axis"), T("gib_axis"), mark_x=size, colors={k: NET_COLORS[k] for k in KINDS},
            hlines=[(16.0, T("gpu_line"))], width_px=common.column_px(0.5)), key="fr_fig_memory")
    st.markdown(T.md("growth"))

    # --- layer by layer ---------------------------------------------------------------------------------
    st.subheader(T("layers_title", size=size))
    names = [c.name for c in layers["hourglass"]]
    log_scale = st.toggle(T("log_scale"), value=True, key="fr_log", bind="query-params")
    l1, l2 = st.columns(2)
    with l1:
        common.show_figure(layer_bars(names, {net_names[k]: [c.flops / 1e9 for c in layers[k]] for k in KINDS},
                                      T("layer_flops_fig"), T("gflops_axis"), log_y=log_scale,
                                      width_px=common.column_px(0.5)), key="fr_fig_lflops")
    with l2:
        common.show_figure(layer_bars(names, {net_names[k]: [c.activation_bytes / 2**20 for c in layers[k]]
                                              for k in KINDS},
                                      T("layer_memory_fig"), T("mib_axis"), log_y=log_scale,
                                      width_px=common.column_px(0.5)), key="fr_fig_lmem")
    common.show_figure(layer_lines(
        names, {net_names[k]: [c.receptive_field for c in layers[k]] for k in KINDS}, T("rf_fig"), T("rf_axis"),
        bands={net_names["hourglass"]: [c.receptive_field_min for c in layers["hourglass"]]},
        width_px=common.column_px(1.0)), key="fr_fig_rf")
    st.markdown(T.md("receptive_field"))

    with st.expander(T("table_title")):
        for k in KINDS:
            st.markdown(f"**{net_names[k]}**")
            common.dataframe(pd.DataFrame({
                T("col_layer"): [c.name for c in layers[k]],
                T("col_shape"): ["×".join(map(str, c.out_shape)) for c in layers[k]],
                T("col_gflops"): [round(c.flops / 1e9, 3) for c in layers[k]],
                T("col_mib"): [round(c.activation_bytes / 2**20, 2) for c in layers[k]],
                T("col_params"): [c.params for c in layers[k]],
                T("col_rf"): [c.receptive_field for c in layers[k]],
            }), hide_index=True)

    # --- checks -----------------------------------------------------------------------------------------
    st.subheader(T("torch_title"))
    st.markdown(T.md("checks"))
    for k in KINDS:
        common.torch_check(float(tot[k]["flops_formula"]), float(tot[k]["flops"]),
                           what=T("torch_flops", net=net_names[k]))
    for k in KINDS:  # once per server and (network, stages), usually already by core/warmup.py
        probe, traced, measured = cost.receptive_field_check(k, stages)
        common.torch_check(list(traced), list(measured), what=T("torch_rf", net=net_names[k], size=probe))
    st.markdown(T.md("summary"))


calculator()

widgets.quiz(T, lambda rng: cost.cost_questions(rng) + sw.sliding_questions(rng), key="fr_quiz")
