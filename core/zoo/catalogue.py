r"""Every pretrained model the app can use, in one list: what it is, where it is cached, and fetching it.

Three sources, two kinds of download (:mod:`core.zoo.weights` does the downloading):

================  ================================================================================
``torchvision``   one ``.pth`` file per model, published with torchvision's weights enums; kept in
                  torch's hub cache (``$TORCH_HOME/hub/checkpoints``); licence BSD-3-Clause, as
                  torchvision publishes its weights
``openmmlab``     mmpose's COCO HRNet-W32 (:data:`core.zoo.pose.HRNET_URL`), one ``.pth`` file in the
                  same cache; licence Apache-2.0, as mmpose publishes it
``huggingface``   a repository of :data:`core.zoo.weights.MODELS` (SAM, SAM 2, Grounding DINO, SAM 3,
                  SegFormer, Mask2Former), kept in the hub cache (``$HF_HOME/hub``); licence as its
                  model page names it, some gated (accept the licence on the hub, then log in)
================  ================================================================================

Two sets: ``all``, and ``cpu`` — what a classroom laptop without a GPU needs so that every page that
shows a pretrained model has one (:data:`CPU_SET`): the smallest model of each job, fetched smallest
first, so the pages that need little are ready first.

Nothing here loads a model: whether an entry is cached is a look at the file system (:func:`state`).
:func:`fetch` downloads one entry and reports each file's progress as a :class:`FileProgress` (bytes done,
total, speed); its :class:`Outcome` is *downloaded*, *cached* (already there) or *failed* with one of the
codes of :class:`core.zoo.weights.DownloadError`, which :func:`sentence` turns into the sentence the pages
show (``lessons/<lang>/weights_common.toml``). The page "Get ready for class" (``app_pages/get_ready.py``)
and ``python -m core.zoo.fetch`` (``make weights``) are both this module.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core import lessons
from core.zoo import weights

__all__ = ["Entry", "State", "FileProgress", "Outcome", "SOURCES", "SETS", "CPU_SET", "entries", "entry",
           "members", "state", "missing", "size_to_fetch", "fetch", "sentence", "rows"]

SOURCES = ("torchvision", "openmmlab", "huggingface")

# Which pages use which published file (the slugs of app_pages/), and what they are called.
_TORCHVISION = {
    "lraspp_mobilenet_v3_large": ("LR-ASPP MobileNetV3-Large (VOC)", ("segment_photo",)),
    "deeplabv3_mobilenet_v3_large": ("DeepLabV3 MobileNetV3-Large (VOC)", ("segment_photo",)),
    "fcn_resnet50": ("FCN ResNet-50 (VOC)", ("segment_photo",)),
    "fcn_resnet101": ("FCN ResNet-101 (VOC)", ("segment_photo",)),
    "deeplabv3_resnet50": ("DeepLabV3 ResNet-50 (VOC)", ("segment_photo",)),
    "maskrcnn_resnet50_fpn": ("Mask R-CNN ResNet-50 FPN (COCO)", ("fpn_mask_rcnn",)),
    "maskrcnn_resnet50_fpn_v2": ("Mask R-CNN ResNet-50 FPN v2 (COCO)", ("instances",)),
    "keypointrcnn_resnet50_fpn": ("Keypoint R-CNN ResNet-50 FPN (COCO)", ("pose_photo",)),
    "vgg16_bn": ("VGG-16 with batch norm (ImageNet), SegNet's encoder", ("segnet",)),
}
_FAMILY_PAGES = {
    "sam": ("sam", "how_sam_works", "grounded_sam"),
    "sam2": ("sam2_video",),
    "grounding_dino": ("grounded_sam",),
    "sam3": ("grounded_sam",),
    "segformer": ("segment_photo", "beyond_fcn"),
    "mask2former": ("segment_photo", "beyond_fcn"),
}
HRNET_KEY = "hrnet_w32_coco"
HRNET_MB = 109.1  # HRNet-W32's 28.5 M float32 parameters (mmpose does not publish the file's size)

# The recommended set for a classroom of CPUs: for every page that shows a pretrained model, the smallest
# one that does the job (two SAMs: SlimSAM answers a click fastest, ViT-B is the one of the paper).
CPU_SET = ("lraspp_mobilenet_v3_large", "segformer_b0", "slimsam_77", "deeplabv3_mobilenet_v3_large", HRNET_KEY,
           "fcn_resnet50", "sam2.1_tiny", "maskrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn_v2", "mask2former_swin_t",
           "keypointrcnn_resnet50_fpn", "sam_vit_b", "gdino_tiny")
SETS = ("cpu", "all")


@dataclass(frozen=True)
class Entry:
    """One pretrained model: a published file or a hub repository."""

    key: str  # a key of weights.KNOWN, HRNET_KEY or a key of weights.MODELS (language-free, used in addresses)
    label: str  # the name people use for it
    source: str  # one of SOURCES
    size_mb: float  # the download, in MB (torchvision's ``_file_size``; the hub spec's ``download_mb``)
    licence: str
    gated: bool  # the hub asks you to accept a licence before downloading
    pages: tuple[str, ...]  # slugs of the pages that use it
    url: str | None = None  # a file's published address
    names: tuple[str, ...] = ()  # other names the same file has (looked for in the cache too)
    spec: weights.ModelSpec | None = None  # a repository's spec

    @property
    def is_file(self) -> bool:
        return self.spec is None

    @property
    def origin(self) -> str:
        """Where it comes from: the file's address or the repository's name."""
        return self.url if self.is_file else self.spec.repo

    @property
    def file(self) -> str:
        """The file name a published file is cached under ("" for a repository)."""
        return weights.file_name(self.url) if self.is_file else ""


@lru_cache(maxsize=1)
def _entries() -> tuple[Entry, ...]:
    from core.zoo import pose

    found = []
    for key, (label, pages) in _TORCHVISION.items():
        enum = weights.weights_enum(key)  # imports torchvision's enums: done once
        found.append(Entry(key, label, "torchvision", float(enum.meta["_file_size"]), "BSD-3-Clause", False, pages,
                           url=enum.url))
    found.append(Entry(HRNET_KEY, "HRNet-W32 pose, COCO 256×192 (mmpose)", "openmmlab", HRNET_MB, "Apache-2.0", False,
                       ("pose_photo",), url=pose.HRNET_URL, names=pose.HRNET_FILES[1:]))
    for spec in weights.MODELS.values():
        found.append(Entry(spec.key, spec.label, "huggingface", float(spec.download_mb), spec.licence, spec.gated,
                           _FAMILY_PAGES[spec.family], spec=spec))
    return tuple(found)


def entries() -> list[Entry]:
    """Every pretrained model the app can use, smallest first."""
    return sorted(_entries(), key=lambda e: e.size_mb)


def entry(key: str) -> Entry:
    for e in _entries():
        if e.key == key:
            return e
    raise ValueError(f"unknown model '{key}'; valid names are {', '.join(e.key for e in entries())}")


def members(name: str) -> list[Entry]:
    """The entries of the set ``name`` (``cpu`` or ``all``), smallest first."""
    if name not in SETS:
        raise ValueError(f"unknown set '{name}'; valid sets are {', '.join(SETS)}")
    return [e for e in entries() if name == "all" or e.key in CPU_SET]


# --- cached or not -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class State:
    cached: bool
    where: Path  # the file or repository folder in the cache (or where it will be)
    partial_mb: float = 0.0  # a half-downloaded file waiting to be resumed (never loaded)


def state(e: Entry, cache_dir: str | Path | None = None) -> State:
    """Whether ``e`` is cached, and where; a look at the file system only. ``cache_dir``: the hub cache."""
    if e.is_file:
        ref = weights.locate(e.url, names=e.names)
        partial = weights.partial_file(e.url)
        half = partial.stat().st_size / 2**20 if partial.is_file() else 0.0
        return State(ref.kind == "cache", ref.path if ref.kind == "cache" else weights.hub_file(e.url), half)
    path = weights.hub_cached(e.spec, cache_dir)
    return State(path is not None, path or weights.repo_cache_folder(e.spec, cache_dir))


def missing(name: str, cache_dir: str | Path | None = None) -> list[Entry]:
    """The entries of set ``name`` that are not cached yet, smallest first."""
    return [e for e in members(name) if not state(e, cache_dir).cached]


def size_to_fetch(found: list[Entry], cache_dir: str | Path | None = None) -> float:
    """MB to download for ``found`` (a half-downloaded file counts only for what it lacks)."""
    return sum(max(e.size_mb - state(e, cache_dir).partial_mb, 0.0) for e in found)


# --- fetching ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FileProgress:
    key: str  # the entry
    file: str  # the file being downloaded
    done: int  # bytes in the cache so far (a resumed file starts at what it had)
    total: int | None  # its size, when the server says
    speed: float  # bytes per second over this download so far

    @property
    def fraction(self) -> float:
        return min(self.done / self.total, 1.0) if self.total else 0.0


@dataclass(frozen=True)
class Outcome:
    key: str
    status: str  # "downloaded", "cached" (it was already there) or "failed"
    reason: str | None = None  # for a failure: a DownloadError code
    detail: str = ""
    path: Path | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status != "failed"


class _Meter:
    """Speed per file: bytes since that file's first report, over the seconds since then."""

    def __init__(self, key: str, report: Callable[[FileProgress], None] | None):
        self.key, self.report, self.start = key, report, {}

    def __call__(self, file: str, done: int, total: int | None) -> None:
        now = time.perf_counter()
        t0, first = self.start.setdefault(file, (now, done))
        speed = (done - first) / (now - t0) if now > t0 else 0.0
        if self.report:
            self.report(FileProgress(self.key, file, done, total, speed))


def fetch(e: Entry, progress: Callable[[FileProgress], None] | None = None, cache_dir: str | Path | None = None,
          timeout: float = 20.0) -> Outcome:
    """Download ``e`` unless it is cached, reporting each file's progress; never raises for a failed download."""
    start = time.perf_counter()
    now = state(e, cache_dir)
    if now.cached:
        return Outcome(e.key, "cached", path=now.where)
    meter = _Meter(e.key, progress)
    try:
        if e.is_file:
            path = weights.download(e.url, progress=lambda done, total: meter(e.file, done, total), timeout=timeout)
        elif weights.is_offline():
            raise weights.DownloadError("offline", "HF_HUB_OFFLINE=1")
        else:
            path = weights.hub_download(e.spec, cache_dir, on_file=meter)
    except weights.DownloadError as err:
        return Outcome(e.key, "failed", err.code, err.detail, seconds=time.perf_counter() - start)
    return Outcome(e.key, "downloaded", path=path, seconds=time.perf_counter() - start)


def sentence(outcome: Outcome, lang: str = "en") -> str:
    """What a failed outcome means and what to do, in ``lang`` (the pages' own sentence)."""
    e = entry(outcome.key)
    key = f"fail_{outcome.reason}" + ("_file" if outcome.reason == "gated" and e.is_file else "")
    return lessons.texts("weights_common", lang)(key, label=e.label, repo=e.origin, detail=outcome.detail)


# --- the table the page and the command line show --------------------------------------------------------------

def rows(lang: str = "en", cache_dir: str | Path | None = None) -> list[dict[str, str]]:
    """One row per entry, with the column names and words of ``lang`` (``lessons/<lang>/get_ready.toml``)."""
    T = lessons.texts("get_ready", lang)
    out = []
    for e in entries():
        now = state(e, cache_dir)
        cached = "✓" if now.cached else "✗"
        if not now.cached and now.partial_mb:
            cached += " " + T("partial", mb=now.partial_mb)
        out.append({
            T("col_model"): e.label,
            T("col_cached"): cached,
            T("col_size"): lessons.number(e.size_mb, ".1f", lang),
            T("col_set"): "✓" if e.key in CPU_SET else "",
            T("col_pages"): ", ".join(lessons.texts(p, lang).title for p in e.pages),
            T("col_licence"): e.licence,
            T("col_gated"): T("yes") if e.gated else T("no"),
            T("col_where"): str(now.where),
            T("col_key"): e.key,
        })
    return out
