"""The one weights panel: where a pretrained model's weights come from, said on the page, and how to get them.

Both halves follow :mod:`core.zoo.weights` (cache → a file or folder the user names or uploads → a
download button → a checkpoint shipped with or trained in the app → random weights, said as such):

* :func:`file_panel` — a weights *file* (torchvision's published files, mmpose's HRNet, the user's own):
  the "Your images" pages; words in ``photo_common.toml``;
* :func:`repo_panel`, :func:`no_weights_repo` and :func:`repo_missing` — a Hugging Face *repository* (SAM,
  SAM 2, Grounding DINO, SAM 3): the Segment Anything pages; words in ``sam_common.toml``.

Without weights a page shows a **"no weights yet" state** (what is missing, its size, one download button
with a progress bar per file, the command for another computer, the link to "Get ready for class") instead
of an untrained model's output; random weights run only when the user chooses them, and then every figure
says so (:func:`untrained_title`). Why a download failed is said with ``weights_common.toml``'s sentences.

Widget keys carry the page's prefix (``<prefix>_wmode``, ``_wpath``, ``_wupload``, ``_folder``, ``_download``).
"""
from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from app_pages.ui import common, loaders
from core.zoo import weights
from core.zoo.checkpoints import CheckpointError

WEIGHT_TYPES = ["pth", "pt", "bin", "ckpt", "safetensors", "tar"]
MB = 2**20
GET_READY = "get_ready"  # the page that fetches every model at once (present once its engineer has built it)
ANNOUNCED_KEY = "weights_announced"  # weights key → the slot of its green "from your file" line, this session


def get_ready_link() -> None:
    """A link to "Get ready for class", where the app has that page."""
    from app_pages.ui import manifest

    if any(p.slug == GET_READY for p in manifest.all_pages()):
        st.page_link(f"app_pages/{GET_READY}.py", label=common.texts("sam_common")("get_ready_link"),
                     icon=":material/download_for_offline:")


def untrained_title(fig, prefix: str):
    """Put ``prefix`` ("Untrained model — ") before a plotly figure's title (or make it the title)."""
    title = fig.layout.title.text or ""
    top = fig.layout.margin.t
    fig.update_layout(title={"text": prefix + title, "font": {"size": 18}},
                      margin={"t": max(top if top is not None else 0, 48)})
    return fig


class _Bars:
    """One progress bar per file, with bytes done, the total and the speed (``weights_common.toml``)."""

    def __init__(self):
        self.words = common.texts("weights_common")
        self.bars: dict[str, object] = {}
        self.started: dict[str, float] = {}

    def show(self, file: str, done: float, total: float | None) -> None:
        if file not in self.bars:
            self.bars[file], self.started[file] = st.progress(0.0), time.perf_counter()
        speed = done / MB / max(time.perf_counter() - self.started[file], 1e-3)
        if total:
            text = self.words("progress_line", file=file, done=done / MB, total=total / MB, speed=speed)
            self.bars[file].progress(min(done / total, 1.0), text=text)
        else:
            self.bars[file].progress(0.0, text=self.words("progress_line_unknown", file=file, done=done / MB,
                                                          speed=speed))

    def clear(self) -> None:
        for bar in self.bars.values():
            bar.empty()


def failure(code: str, label: str, repo: str, detail: str = "") -> str:
    """The sentence of ``weights_common.toml`` for a failed download (``DownloadError.code`` or a reason)."""
    V = common.texts("weights_common")
    key = f"fail_{code}" if f"fail_{code}" in V.data["ui"] else "fail_download_failed"
    return V(key, label=label, repo=repo, detail=(detail or code)[:300])


# --- a weights file --------------------------------------------------------------------------------------

def file_panel(prefix: str, what: str, url: str | None, file_mb: float | None,
               names: tuple[str, ...] = (),
               allow_random_choice: bool = True, *, missing_state: bool = False,
               extra: dict[str, str] | None = None, default: str | None = None,
               ) -> tuple[weights.WeightsRef, bytes | None]:
    """Find the weights of one model in the DESIGN order and say where they came from.

    cache → a file or folder the user names → a file the user uploads → a download button → random.
    Returns the reference and, for an upload, its bytes.

    ``missing_state``: without weights, show the "no weights yet" state (one download button, the command
    for another computer, the link to "Get ready for class") and return random weights with reason
    ``not_cached``, which the page must not present as a result. ``extra``: more choices for the radio
    (value → label, e.g. a network trained in this session); ``default``: the one it opens on. When the
    user picks an extra choice, the reference returned is ``random_weights("chosen", name=<choice>)``
    and the page supplies the weights itself.
    """
    W = common.texts("photo_common")
    mode = "pretrained"
    if allow_random_choice:
        labels = {"pretrained": W("weights_pretrained"), **(extra or {}), "random": W("weights_random")}
        mode = common.choice(st.radio, W("weights_mode", what=what), list(labels), key=f"{prefix}_wmode",
                             default=default or "pretrained", format_func=labels.get, horizontal=True)
    if mode == "random":
        st.caption(W("weights_random_chosen"))
        return weights.random_weights("chosen"), None
    if mode != "pretrained":
        return weights.random_weights("chosen", name=mode), None
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
        # Only a file that reads as weights is announced: for a refused one (a pickle that would run code, a
        # file that is no checkpoint) the page's loader says why in red, and nothing green contradicts it.
        # A file that reads but whose tensors do not fit the network is refused by the model loader later in the
        # run: the green line goes in a slot that checkpoint_problem(err, ref) empties then.
        if loaders.weights_file_problem(ref.key, ref, data) is None:
            slot = st.empty()
            slot.success(W("weights_from_file", what=what, file=ref.name), icon=":material/check_circle:")
            st.session_state.setdefault(ANNOUNCED_KEY, {})[ref.key] = slot
    elif missing_state:
        no_weights_file(prefix, what, url, file_mb, expected, random_choice=allow_random_choice)
    else:
        st.warning(W("weights_none", what=what, file=expected))
        if url:
            size = W("size_mb", mb=file_mb) if file_mb else ""
            if st.button(W("download", file=_breakable(weights.file_name(url)), size=size), key=f"{prefix}_download",
                         icon=":material/download:") and _download(url, what):
                st.rerun()
    return ref, data


def no_weights_file(prefix: str, what: str, url: str | None, file_mb: float | None, expected: str,
                    random_choice: bool = True) -> None:
    """The "no weights yet" state of a weights file: what is missing, one download button, how else."""
    W = common.texts("photo_common")
    size = W("size_mb", mb=file_mb) if file_mb else ""
    with st.container(border=True):
        st.markdown(f"**{W('no_weights_title', what=what)}**")
        st.markdown(W("no_weights_body", what=what, file=expected, size=size))
        if url:
            name = weights.file_name(url)
            if st.button(W("no_weights_button", file=_breakable(name), size=size), key=f"{prefix}_download",
                         type="primary", icon=":material/download:") and _download(url, what):
                st.success(W("download_done", file=name))
                st.rerun()
            target = weights.hub_file(url)
            st.caption(W("no_weights_command", cache=str(target.parent)))
            st.code(f"make weights\ncurl --create-dirs -L -o ~/.cache/torch/hub/checkpoints/{name} {url}",
                    language="bash")
        get_ready_link()
        if random_choice:
            st.caption(W("no_weights_random_hint", random=W("weights_random")))


def _breakable(file_name: str) -> str:
    """A file name for a button's label: a long one may wrap after its underscores (a zero-width space there),
    not in the middle of a word."""
    return file_name.replace("_", "_\u200b")


def _download(url: str, what: str = "") -> bool:
    """Fetch ``url`` into torch's cache with a progress bar (bytes, speed); say why when it fails."""
    bars = _Bars()
    name = weights.file_name(url)
    try:
        weights.download(url, progress=lambda done, total: bars.show(name, done, total))
    except weights.DownloadError as err:
        bars.clear()
        st.error(failure(err.code, what or name, url, err.detail))
        return False
    bars.clear()
    return True


def source_line(what: str, ref: weights.WeightsRef, name: str = "") -> str:
    """The one line at the top of a result that says which weights made it."""
    W = common.texts("photo_common")
    if ref.kind in ("cache", "file", "upload"):
        return W(f"source_line_{ref.kind}", what=what, file=ref.name)
    if ref.reason == "chosen" and ref.name:
        return W("source_line_session", what=what, name=name or ref.name)
    return W("source_line_random", what=what)


def checkpoint_problem(err: CheckpointError, ref: weights.WeightsRef | None = None) -> None:
    """Say in the user's language why a weights file was not used (the page then runs random weights).

    ``ref``: the file refused; the green "pretrained weights from your file" that :func:`file_panel` wrote for it
    earlier in this run is taken back, so only the refusal is left on the page."""
    slot = st.session_state.get(ANNOUNCED_KEY, {}).pop(ref.key, None) if ref is not None else None
    if slot is not None:
        slot.empty()
    W = common.texts("photo_common")
    st.error(W(f"ckpt_{err.code}", **err.params) + " " + W("ckpt_fallback"))


# --- a Hugging Face repository ----------------------------------------------------------------------------

def repo_panel(prefix: str, spec: weights.ModelSpec, *, button: bool = True) -> weights.Resolution:
    """Find the weights of a Hugging Face model: the cache, a folder the user types, a download button.

    Words from ``sam_common.toml``; keys ``<prefix>_folder`` and ``<prefix>_download``. ``button=False``
    leaves the download to the "no weights yet" state (:func:`no_weights_repo`), so a page shows one button.
    """
    W = common.texts("sam_common")
    res = weights.resolve(spec, folder=(st.session_state.get(f"{prefix}_folder") or "").strip() or None)
    with st.expander(W("weights_where", label=spec.label), expanded=False):
        st.text_input(W("folder"), key=f"{prefix}_folder", placeholder=W("folder_placeholder"), help=W("folder_help"))
        st.caption(W("command_caption"))
        st.code(weights.download_command(spec), language="bash")
        download = False
        if button:
            offline = weights.is_offline()
            download = st.button(W("download", mb=spec.download_mb), key=f"{prefix}_download",
                                 disabled=offline or res.found, help=W("download_offline") if offline else None)
    if download and not res.found:
        res = repo_download(spec)
    return res


def repo_download(spec: weights.ModelSpec) -> weights.Resolution:
    """Download ``spec`` into the Hugging Face cache with a bar per file; on failure, say why."""
    bars = _Bars()
    res = weights.resolve(spec, download=True,
                          on_file=lambda file, done, total: bars.show(f"{spec.label} · {file}", done, total))
    bars.clear()
    if not res.found:
        detail = res.detail or ("HF_HUB_OFFLINE=1" if res.reason == "offline" else "")
        st.error(failure(res.reason or "download_failed", spec.label, spec.repo, detail))
    return res


def no_weights_repo(prefix: str, spec: weights.ModelSpec, res: weights.Resolution,
                    toggle: str | None = None) -> weights.Resolution:
    """The "no weights yet" state of a Hugging Face model: what is missing and its size, one download
    button (a bar per file; the failure sentence; the page reruns with the model on success), the command
    for another computer, the link to "Get ready for class" and, with ``toggle`` (its label), where the
    untrained pipeline is. Returns the resolution after a download (found or not)."""
    W = common.texts("sam_common")
    with st.container(border=True):
        st.markdown(f"**{W('no_weights_title', label=spec.label)}**")
        st.markdown(W("no_weights_body", label=spec.label, repo=spec.repo, mb=spec.download_mb))
        if spec.gated:
            st.caption(W("weights_gated"))
        if res.reason == "bad_folder":
            st.warning(folder_problem(res, st.session_state.get(f"{prefix}_folder")))
        elif res.reason == "load_failed":
            st.caption(res.detail)
        offline = weights.is_offline()
        if st.button(W("no_weights_button", label=spec.label, mb=spec.download_mb), key=f"{prefix}_download",
                     type="primary", icon=":material/download:", help=W("no_weights_offline") if offline else None):
            res = repo_download(spec)
            if res.found:
                st.success(W("download_done", label=spec.label))
                st.rerun()
        if offline:
            st.caption(W("no_weights_offline"))
        st.caption(W("no_weights_command"))
        st.code(weights.download_command(spec), language="bash")
        get_ready_link()
        if toggle:
            st.caption(W("no_weights_untrained_hint", toggle=toggle))
    return res


def folder_problem(res: weights.Resolution, typed: str | None) -> str:
    """Why the folder the user typed cannot be used: it is a file, it does not exist, or it lacks files (named
    in the page's language: "preprocessor_config.json sau processor_config.json")."""
    W = common.texts("sam_common")
    path = Path(typed.strip()).expanduser() if typed and typed.strip() else None
    if path is not None and path.is_file():
        return W("folder_is_file", path=str(path))
    if path is not None and not path.exists():
        return W("folder_absent", path=str(path))
    if path is None or not path.is_dir():
        return W("weights_bad_folder", missing=res.detail)
    either = f" {W('files_or')} "
    return W("weights_bad_folder", missing=", ".join(either.join(names)
                                                     for names in weights.missing_files(path, res.spec.family)))


def repo_missing(res: weights.Resolution, kind: str, compact: bool = False, prefix: str | None = None) -> None:
    """Say clearly why there are no pretrained weights, how to get them, and what runs instead.

    ``compact`` (several models on one page): one short line, the full text in an expander. ``prefix``: the
    page's, whose ``<prefix>_folder`` field holds the folder the user typed.
    """
    W = common.texts("sam_common")
    spec = res.spec
    typed = st.session_state.get(f"{prefix}_folder") if prefix else None
    where = folder_problem(res, typed) if res.reason == "bad_folder" else ""
    if res.reason in ("offline", "gated", "not_found", "disk", "download_failed"):
        where = failure(res.reason, spec.label, spec.repo, res.detail)
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
