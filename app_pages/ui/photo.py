"""What the "Your images" pages share: the photo picker, the weights panel, timings, the GPU fallback.

Words come from ``lessons/<lang>/photo_common.toml``. Widget keys start with the page's prefix; the one
session-wide key is ``yi_cpu`` (the user asked to run on the CPU after the GPU ran out of memory).
"""
from __future__ import annotations

import hashlib
import time

import numpy as np
import pandas as pd
import streamlit as st
import torch

from app_pages.ui import common
from core.data import scenes
from core.data.streets import make_street
from core.images import ImageError, load_image
from core.zoo import weights
from core.zoo.checkpoints import CheckpointError
from core.zoo.runtime import free_memory, is_out_of_memory

CPU_KEY = "yi_cpu"
IMAGE_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff", "gif"]
WEIGHT_TYPES = ["pth", "pt", "bin", "ckpt", "safetensors", "tar"]
SAMPLES = ("street_1", "street_2", "pets")


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


@st.cache_data(max_entries=8, show_spinner=False)
def _sample(name: str) -> np.ndarray:
    if name == "pets":
        return scenes.make_street(270, 360).image
    seed = {"street_1": 3, "street_2": 11}[name]
    return make_street(seed, (270, 360))[0]


def _digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()[:16]


def pick_image(prefix: str, max_side: int = 640) -> tuple[np.ndarray, str]:
    """A sample scene or the user's upload, as ``(H, W, 3)`` uint8; returns ``(image, id)``."""
    W = words()
    source = common.choice(st.segmented_control, W("source"), ["sample", "upload"], key=f"{prefix}_source",
                           format_func=lambda k: W(f"source_{k}"))
    if source == "upload":
        upload = st.file_uploader(W("upload"), type=IMAGE_TYPES, key=f"{prefix}_upload", help=W("upload_help"))
        if upload is not None:
            data = upload.getvalue()
            try:
                return load_image(data, max_side=max_side), "u" + _digest(data)
            except ImageError as err:
                st.error(W("bad_image", reason=common.image_error(err)))
        else:
            st.info(W("upload_first"))
    name = common.choice(st.selectbox, W("sample"), list(SAMPLES), key=f"{prefix}_sample",
                         format_func=lambda k: W(f"sample_{k}"))
    return _sample(name), f"s:{name}"


def precision_switch(prefix: str, dev: torch.device) -> bool:
    """Mixed precision on CUDA (on by default); shown but disabled elsewhere, with the reason."""
    W = words()
    on_cuda = dev.type == "cuda"
    value = st.toggle(W("mixed_precision"), value=True, key=f"{prefix}_amp", bind="query-params",
                      disabled=not on_cuda, help=W("mixed_precision_help" if on_cuda else "mixed_precision_cpu"))
    return bool(value) and on_cuda


# --- weights -----------------------------------------------------------------------------------------------

def weights_panel(prefix: str, what: str, url: str | None, file_mb: float | None,
                  names: tuple[str, ...] = (),
                  allow_random_choice: bool = True) -> tuple[weights.WeightsRef, bytes | None]:
    """Find the weights of one model in the DESIGN order and say where they came from.

    cache → a file or folder the user names → a file the user uploads → a download button → random.
    Returns the reference and, for an upload, its bytes.
    """
    W = words()
    mode = "pretrained"
    if allow_random_choice:
        mode = common.choice(st.radio, W("weights_mode", what=what), ["pretrained", "random"], key=f"{prefix}_wmode",
                             format_func=lambda k: W(f"weights_{k}"), horizontal=True)
    if mode == "random":
        st.caption(W("weights_random_chosen"))
        return weights.random_weights("chosen"), None
    expected = weights.file_name(url) if url else " / ".join(names)
    with st.expander(W("weights_own", what=what)):
        st.caption(W("weights_own_help", file=expected))
        path = st.text_input(W("weights_path"), key=f"{prefix}_wpath", placeholder=W("weights_path_placeholder"))
        upload = st.file_uploader(W("weights_upload"), type=WEIGHT_TYPES, key=f"{prefix}_wupload",
                                  help=W("weights_upload_help"))
    ref = weights.locate(url, path, names)
    if ref.kind == "random" and ref.reason == "local_missing":
        st.warning(W("weights_path_missing", path=ref.name))
    data = None
    if ref.kind == "random" and upload is not None:
        data = upload.getvalue()
        ref = weights.uploaded(upload.name, data)
    if ref.kind == "cache":
        st.success(W("weights_from_cache", what=what, file=ref.name), icon=":material/check_circle:")
    elif ref.kind in ("file", "upload"):
        st.success(W("weights_from_file", what=what, file=ref.name), icon=":material/check_circle:")
    else:
        st.warning(W("weights_none", what=what, file=expected))
        if url:
            size = W("size_mb", mb=file_mb) if file_mb else ""
            if st.button(W("download", file=weights.file_name(url), size=size), key=f"{prefix}_download",
                         icon=":material/download:"):
                if _download(url):
                    st.rerun()
    return ref, data


def _download(url: str) -> bool:
    W = words()
    bar = st.progress(0.0, text=W("download_starting"))

    def show(done: int, total: int | None) -> None:
        if total:
            bar.progress(min(done / total, 1.0), text=W("download_progress", done=done / 2**20, total=total / 2**20))
        else:
            bar.progress(0.0, text=W("download_progress_unknown", done=done / 2**20))

    try:
        weights.download(url, progress=show)
    except weights.DownloadError as err:
        bar.empty()
        st.error(W(f"download_{err.code}", detail=err.detail))
        return False
    bar.empty()
    return True


def checkpoint_problem(err: CheckpointError) -> None:
    """Say in the user's language why a weights file was not used (the page then runs random weights)."""
    W = words()
    st.error(W(f"ckpt_{err.code}", **err.params) + " " + W("ckpt_fallback"))


def describe_weights(ref: weights.WeightsRef) -> str:
    W = words()
    if ref.pretrained:
        return W(f"source_is_{ref.kind}", file=ref.name)
    return W("source_is_random")


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
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch")
    st.caption(W("timings_note"))


def device_line(dev: torch.device, amp: bool) -> str:
    W = words()
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else W(f"device_{dev.type}")
    return W("device_used", device=name, precision=W("precision_amp" if amp else "precision_fp32"))
