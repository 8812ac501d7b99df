"""What the "Your images" pages share: the device (and the CPU after the GPU ran out of memory), timings.

The picture comes from :mod:`app_pages.ui.images`, the weights from :mod:`app_pages.ui.weights`.

Words come from ``lessons/<lang>/photo_common.toml``. Widget keys start with the page's prefix; the one
session-wide key is ``yi_cpu`` (the user asked to run on the CPU after the GPU ran out of memory).
"""
from __future__ import annotations

import time

import pandas as pd
import streamlit as st
import torch

from app_pages.ui import common, images
from core.zoo.runtime import free_memory, is_out_of_memory

CPU_KEY = "yi_cpu"


def words():
    return common.texts("photo_common")


def device() -> torch.device:
    """The sidebar's device, unless the user moved to the CPU after the GPU ran out of memory."""
    W = words()
    chosen = common.device()
    if st.session_state.get(CPU_KEY) and chosen.type != "cpu":
        c1, c2 = st.columns([4, 1], vertical_alignment="center")
        c1.info(W("on_cpu_after_oom"))
        if c2.button(W("back_to_gpu"), key="yi_back_to_gpu"):
            st.session_state[CPU_KEY] = False
            st.rerun()
        return torch.device("cpu")
    return chosen


def precision_switch(prefix: str, dev: torch.device) -> bool:
    """Mixed precision on CUDA (on by default); shown but disabled elsewhere, with the reason."""
    W = words()
    on_cuda = dev.type == "cuda"
    value = st.toggle(W("mixed_precision"), value=True, key=f"{prefix}_amp", bind="query-params",
                      disabled=not on_cuda, help=W("mixed_precision_help" if on_cuda else "mixed_precision_cpu"))
    return bool(value) and on_cuda


# --- running, timing, running out of memory ----------------------------------------------------------------

def timed(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` and the seconds it took (a cached model comes back in microseconds)."""
    start = time.perf_counter()
    with st.spinner(words()("loading")):
        out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def guarded(fn, *args, **kwargs):
    """Run ``fn``; if the GPU runs out of memory, free its cache, explain, and offer the CPU. None then."""
    W = words()
    try:
        with st.spinner(W("running")):
            return fn(*args, **kwargs)
    except Exception as err:
        if not is_out_of_memory(err):
            raise
        free_memory()
        st.error(W("oom"))
        st.button(W("oom_use_cpu"), key=f"yi_oom_{fn.__name__}", type="primary",
                  on_click=lambda: st.session_state.update({CPU_KEY: True}))
        return None


def timings_table(rows: dict[str, dict[str, float]], load: dict[str, float]) -> None:
    """One row per model: milliseconds for load, preprocess, forward, postprocess and their total."""
    W = words()
    table = []
    for label, seconds in rows.items():
        row = {W("col_model"): label}
        stages = {"load": load.get(label, 0.0), **seconds}
        for stage in ("load", "preprocess", "forward", "postprocess"):
            row[W(f"stage_{stage}")] = round(1000 * stages.get(stage, 0.0), 1)
        row[W("col_total")] = round(sum(row[W(f"stage_{s}")] for s in ("preprocess", "forward", "postprocess")), 1)
        table.append(row)
    common.dataframe(pd.DataFrame(table), hide_index=True, width="stretch")
    st.caption(W("timings_note"))


def device_line(dev: torch.device, amp: bool) -> str:
    W = words()
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else W(f"device_{dev.type}")
    return W("device_used", device=name, precision=W("precision_amp" if amp else "precision_fp32"))


def photo(T, prefix: str):
    """The "Your images" pages' photo column: a sample or an upload, shown with its size."""
    st.subheader(T("photo_title"))
    picked = images.pick_image(prefix, images.PHOTOS)
    st.image(picked.image, caption=T("photo_caption", h=picked.image.shape[0], w=picked.image.shape[1]), width=360)
    return picked


def detector_side(T, key: str, dev: torch.device) -> int:
    """The short side a detector sees the photo at (kept in the address)."""
    return st.slider(T("side"), 160, 1024, value=800 if dev.type == "cuda" else 320, step=32, key=key,
                     bind="query-params", help=T("side_help"))


# --- a pose network trained on the "Train a pose network" page, in this session ---------------------------------

HEATMAP_KINDS = ("hrnet", "hourglass")  # the pose networks that answer with heatmaps (not the regression one)


def session_pose_runs() -> list:
    """This session's finished pose runs whose network answers with heatmaps, newest first."""
    runs = [r for r in st.session_state.get("pt_history", [])
            if r.done and r.kind in HEATMAP_KINDS and r.snapshot().vals]
    return runs[::-1]


def session_pose_model(run, dev: torch.device):
    """The run's network as the top-down pipeline takes it: a frozen copy (the run's own stays with the run)."""
    import copy

    from core import device as devices
    from core.zoo.pose import HRNetModel
    from core.zoo.weights import WeightsRef

    net = devices.prepare(copy.deepcopy(run.model).eval(), dev)
    step = run.snapshot().vals[-1].get("step", 0)
    return HRNetModel(net, WeightsRef("upload", run.name, None, f"session:{id(run)}:{step}"), dev, "app")
