r"""Where a pretrained model's weights come from: the one answer for every source, and why when there are none.

The order is DESIGN.md's, the same for every model:

1. **cached** — the libraries' own caches. torchvision describes every published model by a weights
   enum (``VGG16_BN_Weights.IMAGENET1K_V1``) whose ``url`` ends in the file name torch keeps in its hub
   cache, ``torch.hub.get_dir()/checkpoints/<file>`` (``TORCH_HOME`` moves it). ``transformers`` keeps
   Hugging Face repositories (SAM, SAM 2, Grounding DINO, SAM 3) in ``HF_HOME``, one folder per repository;
2. **a local file or folder** the user names (a path on the machine running the app) or **uploads**. A
   folder is searched for the expected file name (also in ``checkpoints/`` and ``hub/checkpoints/`` below
   it, so a copied torch cache works); a Hugging Face folder must hold the configs and ``*.safetensors``
   (what ``hf download REPO --local-dir FOLDER`` writes);
3. **download**, only when asked (a button, ``make weights``): a torchvision file comes in chunks with a
   progress bar into ``<file>.partial`` beside its place in the hub cache; an interrupted download keeps
   that file and the next one resumes it with an HTTP ``Range`` request (or starts again when the server
   ignores ranges). Complete, its SHA-256 is checked against the digits in the file name (torch.hub's
   convention) and ``torch.load(weights_only=True)`` must read it; only then is it renamed into the cache,
   so a ``.partial`` is never loaded. ``TORCHVISION_MIRROR=http://host:port/path/`` fetches the same file
   names from a mirror instead (a lecture hall without internet, the tests). A Hugging Face repository comes
   through ``huggingface_hub`` (``snapshot_download``, which resumes a broken transfer itself, from
   ``HF_ENDPOINT``), file by file so each has its progress bar, and every ``*.safetensors`` must open;
   unless the hub is switched off (``HF_HUB_OFFLINE=1``);
4. **a checkpoint shipped with or trained in the app** — bytes the page holds, referenced like an upload;
5. **nothing**: random weights, and a reason code the page turns into a sentence.

================  ====================================================================================
``not_cached``    not in the cache, nothing named or uploaded, no download asked for
``local_missing`` the file or folder the user named holds no weights file of the expected name
``chosen``        random weights, because the user asked for them
``bad_folder``    a Hugging Face folder lacks files a model needs (``config.json``, ``*.safetensors``)
``offline``       a download was asked for, but the hub is switched off or the server cannot be reached
``gated``         the server refused without a login (HTTP 401/403: a gated or private repository)
``not_found``     the repository, revision or file does not exist there (HTTP 404)
``disk``          the cache cannot be written (disk full, no permission)
``download_failed``  a download was tried and did not work for another reason (a damaged file, a server error)
``unreadable``    a cached file exists but is not a valid checkpoint
================  ====================================================================================

A failed download itself raises :class:`DownloadError` with one of the codes ``offline``, ``gated``,
``not_found``, ``disk``, ``checksum`` (the bytes are not the published file, or not a checkpoint) or
``http`` (any other refusal); ``lessons/<lang>/weights_common.toml`` has one sentence per code.

The answers are small frozen records a cached loader can key on: :class:`WeightsRef` (a torchvision-style
file, an upload or random weights), :class:`Resolution` (a Hugging Face folder) and :class:`WeightsStatus`
(the state dict of a named torchvision model, for the architecture pages). Reading the files is
:mod:`core.zoo.checkpoints`' job (``torch.load(..., weights_only=True)`` or safetensors: a file cannot run
code). To offer another published model, add it to :data:`KNOWN` (torchvision) or :data:`MODELS`
(Hugging Face).
"""
from __future__ import annotations

import errno
import hashlib
import http.client
import importlib
import os
import re
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch

__all__ = [
    # torchvision's published weights
    "KNOWN", "weights_enum", "published", "file_name", "hub_file", "cached_file",
    # a file in the cache, a file or folder the user names, an upload, random weights; downloading
    "WeightsRef", "REASONS", "locate", "uploaded", "random_weights", "DownloadError", "download",
    "PARTIAL", "partial_file", "mirrored", "MIRROR_ENV", "status_code",
    # a named torchvision model's state dict (cache, else download when asked)
    "WeightsStatus", "WeightsUnavailable", "find", "require",
    # Hugging Face repositories
    "ModelSpec", "MODELS", "FAMILIES", "Resolution", "specs", "spec", "is_offline", "check_folder", "missing_files",
    "resolve",
    "download_command", "hub_endpoint", "hf_cache_dir", "repo_cache_folder", "hub_cached", "hub_download",
    "hub_error",
]


# --- torchvision's published weights -------------------------------------------------------------------------

# name → (module, weights enum, member): imported only when asked for (torchvision is slow to import)
KNOWN = {
    "vgg16_bn": ("torchvision.models", "VGG16_BN_Weights", "IMAGENET1K_V1"),  # SegNet's encoder (ImageNet)
    "maskrcnn_resnet50_fpn": ("torchvision.models.detection", "MaskRCNN_ResNet50_FPN_Weights", "COCO_V1"),
    "maskrcnn_resnet50_fpn_v2": ("torchvision.models.detection", "MaskRCNN_ResNet50_FPN_V2_Weights", "COCO_V1"),
    "keypointrcnn_resnet50_fpn": ("torchvision.models.detection", "KeypointRCNN_ResNet50_FPN_Weights", "COCO_V1"),
    **{name: ("torchvision.models.segmentation", enum, "COCO_WITH_VOC_LABELS_V1") for name, enum in (
        ("fcn_resnet50", "FCN_ResNet50_Weights"), ("fcn_resnet101", "FCN_ResNet101_Weights"),
        ("deeplabv3_resnet50", "DeepLabV3_ResNet50_Weights"),
        ("deeplabv3_mobilenet_v3_large", "DeepLabV3_MobileNet_V3_Large_Weights"),
        ("lraspp_mobilenet_v3_large", "LRASPP_MobileNet_V3_Large_Weights"))},
}


def weights_enum(name: str):
    """torchvision's published weights of ``name``: ``.url``, and ``.meta`` (categories, parameters, metrics)."""
    try:
        module, enum, member = KNOWN[name]
    except KeyError:
        raise ValueError(f"unknown weights '{name}'; known ones are {', '.join(sorted(KNOWN))}") from None
    return getattr(getattr(importlib.import_module(module), enum), member)


def published(name: str) -> dict:
    """What torchvision publishes about ``name``'s weights: parameters, file size (MB) and the metrics."""
    meta = weights_enum(name).meta
    metrics = next(iter(meta["_metrics"].values()), {})
    return {"params": meta["num_params"], "file_mb": meta.get("_file_size"), **metrics}


def file_name(url: str) -> str:
    return os.path.basename(urlparse(url).path)


def hub_file(url: str) -> Path:
    """Where torch's hub cache keeps (or would keep) the file at ``url``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / file_name(url)


def cached_file(name: str) -> Path:
    """Where torch's hub cache keeps (or would keep) the file of the torchvision weights ``name``."""
    return hub_file(weights_enum(name).url)


# --- which file: cache, the user's file or folder, an upload, random ----------------------------------------

SUFFIXES = (".pth", ".pt", ".bin", ".ckpt", ".safetensors", ".tar")  # what a weights file is usually called
REASONS = ("not_cached", "local_missing", "chosen")  # why a WeightsRef is "random"
_HASH = re.compile(r"-([a-f0-9]{6,})\.")  # torch.hub's convention: "-<first digits of the sha256>." in the name


@dataclass(frozen=True)
class WeightsRef:
    """Which weights a model gets. Cheap to make and hashable: the page decides, a cached loader loads.

    ``kind``: ``cache``, ``file`` (a path the user named), ``upload`` (bytes the page holds: an upload, or
    a checkpoint shipped with or trained in the app) or ``random``. ``digest`` changes whenever the content
    may have changed (path, size and time, or the bytes' hash), so a cache keyed on it never serves stale
    weights.
    """

    kind: str
    name: str = ""  # the file name shown to the user ("" for random weights)
    path: Path | None = None
    digest: str = ""
    reason: str = ""  # for random weights: one of REASONS

    @property
    def pretrained(self) -> bool:
        return self.kind != "random"

    @property
    def key(self) -> str:
        """One string that identifies these weights (for caches)."""
        return f"{self.kind}:{self.digest or self.reason}"


def _file_ref(kind: str, path: Path) -> WeightsRef:
    st = path.stat()
    return WeightsRef(kind, path.name, path, f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}")


def random_weights(reason: str, name: str = "") -> WeightsRef:
    if reason not in REASONS:
        raise ValueError(f"unknown reason '{reason}'; valid reasons are {', '.join(REASONS)}")
    return WeightsRef("random", name=name, reason=reason)


def locate(url: str | None, local: str | Path | None = None, names: tuple[str, ...] = ()) -> WeightsRef:
    """The weights for ``url`` in the order above (without downloading): cache, then ``local``, then none.

    In a folder, the file is looked for under the URL's file name and ``names`` (other published names
    of the same weights); failing those, a folder holding exactly one weights file is taken to mean it.
    """
    wanted = ([file_name(url)] if url else []) + list(names)
    for name in wanted:
        cached = Path(torch.hub.get_dir()) / "checkpoints" / name
        if cached.is_file():
            return _file_ref("cache", cached)
    if local is None or not str(local).strip():
        return random_weights("not_cached")
    path = Path(str(local).strip()).expanduser()
    if path.is_file():
        return _file_ref("file", path)
    if path.is_dir():
        for folder in (path, path / "checkpoints", path / "hub" / "checkpoints"):
            for name in wanted:
                if (folder / name).is_file():
                    return _file_ref("file", folder / name)
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in SUFFIXES)
        if len(files) == 1:
            return _file_ref("file", files[0])
    return random_weights("local_missing", name=str(path))


def uploaded(name: str, data: bytes) -> WeightsRef:
    """Bytes the page holds (an upload, or the app's own checkpoint); the reference carries their hash."""
    return WeightsRef("upload", name, None, hashlib.sha1(data).hexdigest())


class DownloadError(RuntimeError):
    """A download did not complete. ``code``: ``offline`` (no connection, or it broke off), ``gated`` (HTTP
    401/403), ``not_found`` (404), ``disk`` (the cache cannot be written), ``checksum`` (the bytes are not the
    published file, or not a checkpoint) or ``http`` (another refusal, ``status``). ``detail`` says more."""

    CODES = ("offline", "gated", "not_found", "disk", "checksum", "http")

    def __init__(self, code: str, detail: str = "", status: int | None = None):
        if code not in self.CODES:
            raise ValueError(f"unknown download error code '{code}'; valid: {', '.join(self.CODES)}")
        super().__init__(f"download failed ({code}): {detail}")
        self.code, self.detail, self.status = code, detail, status


def status_code(status: int) -> str:
    """The :class:`DownloadError` code of an HTTP status the server answered with."""
    return {401: "gated", 403: "gated", 404: "not_found"}.get(status, "http")


PARTIAL = ".partial"  # an unfinished download: "<file>.partial" beside the file, never loaded, resumed next time
MIRROR_ENV = "TORCHVISION_MIRROR"  # a folder of published files served over HTTP, e.g. in a lecture hall


def partial_file(url: str) -> Path:
    """Where an unfinished download of ``url`` waits to be resumed (beside its place in the hub cache)."""
    target = hub_file(url)
    return target.with_name(target.name + PARTIAL)


def mirrored(url: str) -> str:
    """``url``, or the same file name under ``$TORCHVISION_MIRROR`` when that is set.

    torchvision publishes every file directly under ``https://download.pytorch.org/models/``, so the mirror
    replaces that prefix; a mirror is one flat folder of files under their published names (HRNet's too).
    """
    mirror = os.environ.get(MIRROR_ENV, "").strip()
    return mirror.rstrip("/") + "/" + file_name(url) if mirror else url


_LOCKS: dict[Path, threading.Lock] = {}  # one download of a file at a time in this process (two sessions may ask)
_LOCKS_GUARD = threading.Lock()


def _lock(target: Path) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(target, threading.Lock())


def download(url: str, progress: Callable[[int, int | None], None] | None = None, timeout: float = 20.0,
             chunk: int = 1 << 20) -> Path:
    """Fetch ``url`` into the hub cache in chunks, calling ``progress(done_bytes, total_bytes or None)``.

    Resumable: the bytes arrive in ``<file>.partial``; when the connection breaks, that file stays and the
    next call asks only for the rest (``Range: bytes=<done>-``; a server that ignores the range sends the
    whole file again). The file enters the cache only once complete, with the SHA-256 its name promises and
    readable by ``torch.load(weights_only=True)``; a file already in the cache is returned as it is.
    Raises :class:`DownloadError`.
    """
    target, partial = hub_file(url), partial_file(url)
    with _lock(target):
        if target.is_file():
            return target
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise DownloadError("disk", str(err)) from None
        _fetch_into(mirrored(url), partial, progress, timeout, chunk)
        _verify(partial, target.name)
        os.replace(partial, target)
    return target


def _fetch_into(url: str, partial: Path, progress, timeout: float, chunk: int) -> None:
    """Append the missing bytes of ``url`` to ``partial`` (all of them when it is absent or cannot be resumed)."""
    have = partial.stat().st_size if partial.is_file() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:  # the server has no byte past ours: the partial file is not its file
            partial.unlink()
            return _fetch_into(url, partial, progress, timeout, chunk)
        raise DownloadError(status_code(err.code), f"HTTP {err.code} {err.reason}", status=err.code) from None
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, http.client.HTTPException) as err:
        raise DownloadError("offline", str(getattr(err, "reason", err))) from None
    with response:
        resumed = have > 0 and response.status == 206 and \
            (response.headers.get("Content-Range") or "").startswith(f"bytes {have}-")
        if not resumed:
            have = 0  # no range, or not ours: start again from the first byte
        total = _total_size(response.headers, have)
        got = have
        try:
            out = open(partial, "ab" if resumed else "wb")
        except OSError as err:
            raise DownloadError("disk", str(err)) from None
        with out:
            if progress:
                progress(got, total)
            while True:
                try:
                    block = response.read(chunk)
                except (socket.timeout, TimeoutError, ConnectionError, http.client.HTTPException, OSError) as err:
                    raise DownloadError("offline", _broken(got, total, err)) from None
                if not block:
                    break
                try:
                    out.write(block)
                except OSError as err:
                    raise DownloadError("disk", str(err)) from None
                got += len(block)
                if progress:
                    progress(got, total)
    if total is not None and got < total:  # the server closed the connection early
        raise DownloadError("offline", _broken(got, total, "the connection closed"))


def _total_size(headers, have: int) -> int | None:
    """The whole file's size: from ``Content-Range`` (``bytes a-b/N``) when resuming, else ``Content-Length``."""
    whole = (headers.get("Content-Range") or "").rpartition("/")[2]
    if whole.isdigit():
        return int(whole)
    length = headers.get("Content-Length")
    return have + int(length) if length and length.isdigit() else None


def _broken(got: int, total: int | None, err) -> str:
    of = f" of {total / 2**20:.1f}" if total else ""
    return f"{err}; {got / 2**20:.1f}{of} MB kept, the next download resumes from there"


def _verify(partial: Path, name: str) -> None:
    """The finished ``partial`` is the published file (hash in its name) and a checkpoint; else it is removed."""
    from core.zoo.checkpoints import CheckpointError, read_state_dict

    expected = _HASH.search(name)
    if expected:
        sha = hashlib.sha256()
        with open(partial, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                sha.update(block)
        if not sha.hexdigest().startswith(expected.group(1)):
            partial.unlink()
            raise DownloadError("checksum", f"sha256 {sha.hexdigest()[:12]}… does not start with {expected.group(1)}")
    try:
        read_state_dict(partial)  # torch.load(weights_only=True), or safetensors
    except CheckpointError as err:
        partial.unlink()
        raise DownloadError("checksum", f"not a readable checkpoint: {err}") from None


# --- a named torchvision model's state dict: cache, else a download when asked -------------------------------

class WeightsUnavailable(RuntimeError):
    """No weights could be found; ``reason`` is one of the codes above, ``detail`` says more."""

    def __init__(self, name: str, reason: str, detail: str = ""):
        super().__init__(f"no weights for {name}: {reason}" + (f" ({detail})" if detail else ""))
        self.name, self.reason, self.detail = name, reason, detail


@dataclass(frozen=True)
class WeightsStatus:
    name: str
    state_dict: dict | None  # the tensors, or None
    source: str | None  # "cache" or "download"; None when there are no weights
    reason: str | None  # None when found; else not_cached, download_failed or unreadable
    path: Path | None  # where the file is, or would be once cached
    detail: str = ""  # the underlying error message, for the curious

    @property
    def found(self) -> bool:
        return self.state_dict is not None


def find(name: str, *, download: bool = False) -> WeightsStatus:
    """The weights of ``name`` from the cache, or downloaded when ``download=True``; never raises for I/O."""
    path = cached_file(name)
    source = "cache"
    if not path.is_file():
        if not download:
            return WeightsStatus(name, None, None, "not_cached", path)
        try:
            path, source = _download(weights_enum(name).url), "download"
        except DownloadError as err:  # offline, proxy, checksum: all mean "not available now"
            return WeightsStatus(name, None, None, "download_failed", path, str(err))
    try:
        return WeightsStatus(name, torch.load(path, map_location="cpu", weights_only=True), source, None, path)
    except Exception as err:  # a truncated or foreign file: say so instead of failing the page
        return WeightsStatus(name, None, None, "unreadable", path, str(err))


_download = download  # find's keyword ``download`` hides the function inside it


def require(name: str, *, download: bool = False) -> dict:
    """Like :func:`find`, but returns the state dict or raises :class:`WeightsUnavailable`."""
    status = find(name, download=download)
    if status.state_dict is None:
        raise WeightsUnavailable(name, status.reason, status.detail)
    return status.state_dict


# --- Hugging Face repositories (the Segment Anything family) -------------------------------------------------

@dataclass(frozen=True)
class ModelSpec:
    """One pretrained checkpoint the pages offer."""

    key: str  # short name used in URLs and widget values
    family: str  # "sam", "sam2", "grounding_dino" or "sam3": which classes load it
    repo: str  # the Hugging Face repository
    label: str  # the name people use for it
    params_m: float  # parameters in millions, as published (the page also counts the loaded model)
    download_mb: int  # about how much the weights weigh (safetensors, float32)
    gated: bool = False  # the repository asks you to accept a licence on the hub before downloading
    licence: str = "apache-2.0"  # the licence the model's hub page names
    revision: str = "main"  # the hub revision to fetch (a ``refs/pr/N`` where only a pull request holds safetensors)


MODELS: dict[str, ModelSpec] = {spec.key: spec for spec in (
    ModelSpec("slimsam_77", "sam", "Zigeng/SlimSAM-uniform-77", "SlimSAM-77 (pruned SAM)", 9.7, 39),
    ModelSpec("sam_vit_b", "sam", "facebook/sam-vit-base", "SAM ViT-B", 94, 375),
    ModelSpec("sam_vit_l", "sam", "facebook/sam-vit-large", "SAM ViT-L", 312, 1250),
    ModelSpec("sam_vit_h", "sam", "facebook/sam-vit-huge", "SAM ViT-H", 641, 2560),
    ModelSpec("sam2.1_tiny", "sam2", "facebook/sam2.1-hiera-tiny", "SAM 2.1 Hiera tiny", 38.9, 156),
    ModelSpec("sam2.1_small", "sam2", "facebook/sam2.1-hiera-small", "SAM 2.1 Hiera small", 46, 185),
    ModelSpec("sam2.1_base_plus", "sam2", "facebook/sam2.1-hiera-base-plus", "SAM 2.1 Hiera base+", 80.8, 324),
    ModelSpec("gdino_tiny", "grounding_dino", "IDEA-Research/grounding-dino-tiny", "Grounding DINO tiny", 172, 689),
    ModelSpec("gdino_base", "grounding_dino", "IDEA-Research/grounding-dino-base", "Grounding DINO base", 233, 938),
    ModelSpec("sam3", "sam3", "facebook/sam3", "SAM 3", 848, 3450, gated=True, licence="SAM License"),
    # after the lecture: semantic segmentation models that came after FCN (150 ADE20K classes)
    ModelSpec("segformer_b0", "segformer", "nvidia/segformer-b0-finetuned-ade-512-512", "SegFormer-B0 (ADE20K)",
              3.8, 15, licence="other (NVIDIA SegFormer licence, research use)"),
    ModelSpec("mask2former_swin_t", "mask2former", "facebook/mask2former-swin-tiny-ade-semantic",
              "Mask2Former Swin-T (ADE20K)", 47.4, 190, licence="other (see the model card)", revision="refs/pr/2"),
)}
FAMILIES = ("sam", "sam2", "grounding_dino", "sam3", "segformer", "mask2former")
# Files a usable folder must hold besides the weights: the model's configuration, and the processor's
# (``preprocessor_config.json`` in checkpoints written by older versions, ``processor_config.json`` now).
_NEEDED = (("config.json",), ("preprocessor_config.json", "processor_config.json"))
_DOWNLOAD_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model"]  # configs, weights, vocabularies


def specs(family: str) -> list[ModelSpec]:
    """The checkpoints of one family, smallest first."""
    if family not in FAMILIES:
        raise ValueError(f"unknown model family '{family}'; valid: {', '.join(FAMILIES)}")
    return sorted((s for s in MODELS.values() if s.family == family), key=lambda s: s.params_m)


def spec(key: str) -> ModelSpec:
    try:
        return MODELS[key]
    except KeyError:
        raise ValueError(f"unknown model '{key}'; valid names are {', '.join(MODELS)}") from None


@dataclass(frozen=True)
class Resolution:
    """The answer of :func:`resolve`: a folder with the weights, or the reason there is none."""

    spec: ModelSpec
    path: Path | None  # a folder with config.json and *.safetensors, ready for from_pretrained
    source: str | None  # "cache", "folder" or "download"; None when not found
    reason: str | None  # None when found; else one of the codes in the module docstring
    detail: str = ""  # the underlying message, or the missing file names

    @property
    def found(self) -> bool:
        return self.path is not None


def is_offline() -> bool:
    """True when the hub is switched off for this process (``HF_HUB_OFFLINE=1``, as in the tests and CI)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def missing_files(folder: str | Path, family: str) -> list[tuple[str, ...]]:
    """The kinds of file a model of ``family`` needs that the folder ``folder`` lacks, each as the names any one of
    which will do (``("preprocessor_config.json", "processor_config.json")``); an empty list: the folder will do.

    Every family needs the same three kinds of file; ``family`` is kept for the day one needs more. A page
    writes the alternatives with its own word for "or"; ``folder`` must be a folder (see :func:`check_folder`).
    """
    folder = Path(folder).expanduser()
    missing = [names for names in _NEEDED if not any((folder / n).is_file() for n in names)]
    if not any(folder.glob("*.safetensors")):
        missing.append(("*.safetensors",))
    return missing


def check_folder(folder: str | Path, family: str) -> list[str]:
    """The files a model of ``family`` needs that ``folder`` lacks, in English (an empty list: the folder will do);
    ``[folder]`` itself when it is not a folder."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        return [str(folder)]
    return [" or ".join(names) for names in missing_files(folder, family)]


def hub_endpoint() -> str | None:
    """The model hub to download from: ``HF_ENDPOINT`` as it is now (None: huggingface_hub's default).

    Read at every call, not once at import as ``huggingface_hub`` does, so a mirror named later still counts.
    """
    return os.environ.get("HF_ENDPOINT", "").strip().rstrip("/") or None


def hf_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """The Hugging Face cache folder: ``cache_dir``, else ``HF_HUB_CACHE``, else ``HF_HOME/hub``, as they are now."""
    if cache_dir:
        return Path(cache_dir).expanduser()
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def repo_cache_folder(spec: ModelSpec, cache_dir: str | Path | None = None) -> Path:
    """The folder the hub cache keeps ``spec``'s repository in (``models--<owner>--<name>``)."""
    return hf_cache_dir(cache_dir) / ("models--" + spec.repo.replace("/", "--"))


def _from_cache(spec: ModelSpec, cache_dir: str | Path | None) -> Path | None:
    from huggingface_hub import snapshot_download

    try:
        path = Path(snapshot_download(spec.repo, revision=spec.revision, cache_dir=hf_cache_dir(cache_dir),
                                      local_files_only=True))
    except Exception:  # not cached (LocalEntryNotFoundError), or an unreadable cache: both mean "not here"
        return None
    return path if not check_folder(path, spec.family) else None


def hub_cached(spec: ModelSpec, cache_dir: str | Path | None = None) -> Path | None:
    """The cached snapshot folder of ``spec`` when it holds everything a model needs; no network, no loading."""
    return _from_cache(spec, cache_dir)


def hub_error(err: BaseException) -> tuple[str, str, int | None]:
    """What went wrong in ``huggingface_hub``, as a :class:`DownloadError` code, a detail and the HTTP status.

    The library wraps the cause (a refused HEAD request becomes a ``LocalEntryNotFoundError`` whose
    ``__cause__`` is the HTTP error), so the whole chain is read, outermost first.
    """
    from huggingface_hub import errors

    try:
        from httpx2 import TransportError
    except ImportError:  # an older huggingface_hub speaks httpx or requests: their errors are OSErrors or none
        TransportError = ()  # noqa: N806
    def said(e: BaseException) -> str:  # the first line of an error's message, with its name
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        return f"{type(e).__name__}: {first}"[:300]

    seen, chain = set(), [err]
    while chain:
        e = chain.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        response = getattr(e, "response", None)
        status = getattr(response, "status_code", None)
        if isinstance(e, errors.GatedRepoError):
            return "gated", said(e), status
        if isinstance(e, errors.RepositoryNotFoundError):  # missing (404, or RepoNotFound), else private or gated
            missing = status == 404 or getattr(response, "headers", {}).get("X-Error-Code") == "RepoNotFound"
            return ("not_found" if missing else "gated"), said(e), status
        if isinstance(e, (errors.RevisionNotFoundError, errors.RemoteEntryNotFoundError)):
            return "not_found", said(e), status
        if isinstance(e, errors.HfHubHTTPError) and status is not None:
            return status_code(status), said(e), status
        if isinstance(e, (errors.OfflineModeIsEnabled, TransportError, ConnectionError, socket.timeout,
                          TimeoutError)):
            return "offline", said(e), None
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS):
            return "disk", said(e), None
        chain += [e.__cause__, e.__context__]
    if isinstance(err, errors.LocalEntryNotFoundError):  # the hub could not be asked, for no reason it names
        return "offline", said(err), None
    return "http", said(err), None


def _file_bar(name: str, size: int | None, report: Callable[[str, int, int | None], None]):
    """A stand-in for the tqdm class ``huggingface_hub`` draws one file's bar with: it reports instead."""

    class Bar:
        format_dict: dict = {}

        def __init__(self, *args, **kwargs):
            self.total = kwargs.get("total") or size
            self.n = kwargs.get("initial") or 0
            report(name, self.n, self.total)

        def update(self, n=1):
            self.n += n or 0
            report(name, self.n, self.total)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def __getattr__(self, attr):  # refresh, close, set_postfix_str, update_transfer...: nothing to draw
            return lambda *args, **kwargs: None

    return Bar


def hub_download(spec: ModelSpec, cache_dir: str | Path | None = None,
                 on_file: Callable[[str, int, int | None], None] | None = None) -> Path:
    """Download ``spec``'s repository (configs, vocabularies, safetensors) into the hub cache; its folder.

    A dry run of ``snapshot_download`` lists the files and their sizes, each missing one comes through
    ``hf_hub_download`` with ``on_file(file, done_bytes, total_bytes)`` as its progress bar, and a last
    ``snapshot_download`` finishes the snapshot (refs, anything the first pass missed). huggingface_hub
    writes each file under a temporary name and renames it when complete, so a broken transfer leaves
    nothing loadable; it retries and resumes a broken connection itself. Every ``*.safetensors`` must open.
    Raises :class:`DownloadError`.
    """
    from huggingface_hub import hf_hub_download, snapshot_download

    report = on_file or (lambda file, done, total: None)
    quiet = _file_bar("", None, lambda file, done, total: None)  # the library's own bars (files, bytes) stay silent
    where = dict(cache_dir=str(hf_cache_dir(cache_dir)), endpoint=hub_endpoint())
    try:
        plan = snapshot_download(spec.repo, revision=spec.revision, allow_patterns=_DOWNLOAD_PATTERNS,
                                 dry_run=True, tqdm_class=quiet, **where)
        for info in plan:
            if not info.will_download:
                report(info.filename, info.file_size or 0, info.file_size)
                continue
            hf_hub_download(spec.repo, info.filename, revision=info.commit_hash,
                            tqdm_class=_file_bar(info.filename, info.file_size, report), **where)
        path = Path(snapshot_download(spec.repo, revision=spec.revision, allow_patterns=_DOWNLOAD_PATTERNS,
                                      tqdm_class=quiet, **where))
    except Exception as err:  # every failure of the library, sorted into the codes the pages explain
        code, detail, status = hub_error(err)
        raise DownloadError(code, detail, status) from None
    missing = check_folder(path, spec.family)
    if missing:
        raise DownloadError("not_found", f"{spec.repo}@{spec.revision} has no " + ", ".join(missing))
    _check_safetensors(path)
    return path


def _check_safetensors(folder: Path) -> None:
    """Every ``*.safetensors`` of ``folder`` opens; a damaged one is removed (link and blob) so it comes again."""
    from safetensors import safe_open

    for file in sorted(folder.glob("*.safetensors")):
        try:
            with safe_open(str(file), framework="pt") as f:
                for key in f.keys():
                    f.get_slice(key)  # reads the header entry of every tensor, not their bytes
        except Exception as err:
            blob = file.resolve()
            file.unlink(missing_ok=True)
            if blob != file:
                blob.unlink(missing_ok=True)
            raise DownloadError("checksum", f"{file.name} does not open as safetensors ({err})") from None


RESOLVE_REASONS = ("offline", "gated", "not_found", "disk")  # DownloadError codes a Resolution keeps as its reason


def resolve(spec: ModelSpec, *, folder: str | Path | None = None, download: bool = False,
            cache_dir: str | Path | None = None,
            progress: Callable[[float, str], None] | None = None,
            on_file: Callable[[str, int, int | None], None] | None = None) -> Resolution:
    """Find the weights of ``spec``: the cache, then ``folder``, then a download when asked; never raises.

    ``cache_dir`` replaces the Hugging Face cache (tests point it at a temporary folder).
    While downloading, ``progress(fraction, file)`` is called with each file's share done, and
    ``on_file(file, done_bytes, total_bytes)`` with its bytes (for a speed). A failed download's reason is
    ``offline``, ``gated``, ``not_found``, ``disk`` or ``download_failed``, with the library's message as detail.
    """
    cached = _from_cache(spec, cache_dir)
    if cached is not None:
        return Resolution(spec, cached, "cache", None)
    if folder:
        missing = check_folder(folder, spec.family)
        if missing:
            return Resolution(spec, None, None, "bad_folder", ", ".join(missing))
        return Resolution(spec, Path(folder).expanduser(), "folder", None)
    if not download:
        return Resolution(spec, None, None, "not_cached")
    if is_offline():
        return Resolution(spec, None, None, "offline")

    def report(file: str, done: int, total: int | None) -> None:
        if progress:
            progress(min(done / total, 1.0) if total else 0.0, file)
        if on_file:
            on_file(file, done, total)

    try:
        path = hub_download(spec, cache_dir, report)
    except DownloadError as err:
        reason = err.code if err.code in RESOLVE_REASONS else "download_failed"
        return Resolution(spec, None, None, reason, err.detail)
    return Resolution(spec, path, "download", None)


def download_command(spec: ModelSpec, folder: str | None = None) -> str:
    """The shell command that fetches ``spec`` with the hub's own tool (into the cache, or ``folder``)."""
    command = f"hf download {spec.repo}" + (f" --revision {spec.revision}" if spec.revision != "main" else "")
    return command + (f" --local-dir {folder}" if folder else "")
