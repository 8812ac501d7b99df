"""The one weights panel: where a pretrained model's weights come from, said on the page, and how to get them.

Both halves follow :mod:`core.zoo.weights` (cache → a file or folder the user names or uploads → a
download button → random weights, or the tiny stand-in, said as such):

* :func:`file_panel` — a weights *file* (torchvision's published files, mmpose's HRNet, the user's own):
  the "Your images" pages; words in ``photo_common.toml``;
* :func:`repo_panel` and :func:`repo_missing` — a Hugging Face *repository* (SAM, SAM 2, Grounding DINO,
  SAM 3): the Segment Anything pages; words in ``sam_common.toml``.

Widget keys carry the page's prefix (``<prefix>_wmode``, ``_wpath``, ``_wupload``, ``_folder``, ``_download``).
"""
from __future__ import annotations

import streamlit as st

from app_pages.ui import common
from core.zoo import weights
from core.zoo.checkpoints import CheckpointError

WEIGHT_TYPES = ["pth", "pt", "bin", "ckpt", "safetensors", "tar"]


# --- a weights file --------------------------------------------------------------------------------------

def file_panel(prefix: str, what: str, url: str | None, file_mb: float | None,
                  names: tuple[str, ...] = (),
                  allow_random_choice: bool = True) -> tuple[weights.WeightsRef, bytes | None]:
    """Find the weights of one model in the DESIGN order and say where they came from.

    cache → a file or folder the user names → a file the user uploads → a download button → random.
    Returns the reference and, for an upload, its bytes.
    """
    W = common.texts("photo_common")
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
    W = common.texts("photo_common")
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
    W = common.texts("photo_common")
    st.error(W(f"ckpt_{err.code}", **err.params) + " " + W("ckpt_fallback"))


# --- a Hugging Face repository ----------------------------------------------------------------------------

def repo_panel(prefix: str, spec: weights.ModelSpec) -> weights.Resolution:
    """Find the weights of a Hugging Face model: the cache, a folder the user types, a download button.

    Words from ``sam_common.toml``; keys ``<prefix>_folder`` and ``<prefix>_download``.
    """
    W = common.texts("sam_common")
    res = weights.resolve(spec, folder=(st.session_state.get(f"{prefix}_folder") or "").strip() or None)
    with st.expander(W("weights_where", label=spec.label), expanded=False):
        st.text_input(W("folder"), key=f"{prefix}_folder", placeholder=W("folder_placeholder"), help=W("folder_help"))
        st.caption(W("command_caption"))
        st.code(weights.download_command(spec), language="bash")
        offline = weights.is_offline()
        download = st.button(W("download", mb=spec.download_mb), key=f"{prefix}_download",
                             disabled=offline or res.found, help=W("download_offline") if offline else None)
    if download and not res.found:
        bar = st.progress(0.0, text=W("downloading", label=spec.label))
        res = weights.resolve(spec, download=True, progress=lambda f, name: bar.progress(
            f, text=W("downloading_file", label=spec.label, file=name or "…", pct=100 * f)))
        bar.empty()
    return res


def repo_missing(res: weights.Resolution, kind: str, compact: bool = False) -> None:
    """Say clearly why there are no pretrained weights, how to get them, and what runs instead.

    ``compact`` (several models on one page): one short line, the full text in an expander.
    """
    W = common.texts("sam_common")
    spec = res.spec
    where = {"bad_folder": W("weights_bad_folder", missing=res.detail),
             "offline": W("weights_offline"),
             "download_failed": W("weights_download_failed", detail=res.detail[:300])}.get(res.reason, "")
    text = W("weights_missing", label=spec.label, repo=spec.repo, mb=spec.download_mb,
             command=weights.download_command(spec), folder_command=weights.download_command(spec, "./weights/" + spec.key))
    if spec.gated:
        text += " " + W("weights_gated")
    if where:
        st.warning(where)
    if compact:
        st.info(W("weights_missing_short", label=spec.label, kind=W(f"kind_{kind}")))
        with st.expander(W("weights_how")):
            st.markdown(text + "\n\n" + W("tiny_demo", kind=W(f"kind_{kind}")))
    else:
        st.info(text + "\n\n" + W("tiny_demo", kind=W(f"kind_{kind}")))
