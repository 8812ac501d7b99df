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
3. **download**, only when the user presses a button (never a test): a torchvision file comes in chunks
   with a progress bar, its SHA-256 is checked against the digits in the file name and it enters the hub
   cache only when complete; a Hugging Face repository comes through ``snapshot_download``, unless the hub
   is switched off (``HF_HUB_OFFLINE=1``);
4. **a checkpoint shipped with or trained in the app** — bytes the page holds, referenced like an upload;
5. **nothing**: random weights, and a reason code the page turns into a sentence.

================  ====================================================================================
``not_cached``    not in the cache, nothing named or uploaded, no download asked for
``local_missing`` the file or folder the user named holds no weights file of the expected name
``chosen``        random weights, because the user asked for them
``bad_folder``    a Hugging Face folder lacks files a model needs (``config.json``, ``*.safetensors``)
``offline``       a download was asked for, but the hub is switched off (``HF_HUB_OFFLINE=1``)
``download_failed``  a download was tried and did not work (no network, a gated repository, a bad checksum)
``unreadable``    a cached file exists but is not a valid checkpoint
================  ====================================================================================

The answers are small frozen records a cached loader can key on: :class:`WeightsRef` (a torchvision-style
file, an upload or random weights), :class:`Resolution` (a Hugging Face folder) and :class:`WeightsStatus`
(the state dict of a named torchvision model, for the architecture pages). Reading the files is
:mod:`core.zoo.checkpoints`' job (``torch.load(..., weights_only=True)`` or safetensors: a file cannot run
code). To offer another published model, add it to :data:`KNOWN` (torchvision) or :data:`MODELS`
(Hugging Face).
"""
from __future__ import annotations

import hashlib
import importlib
import os
import re
import socket
import tempfile
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
    # a named torchvision model's state dict (cache, else download when asked)
    "WeightsStatus", "WeightsUnavailable", "find", "require",
    # Hugging Face repositories
    "ModelSpec", "MODELS", "FAMILIES", "Resolution", "specs", "spec", "is_offline", "check_folder", "resolve",
    "download_command",
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
    """A download did not complete. ``code``: ``offline`` (no connection), ``http`` (the server said no,
    ``status``), ``checksum`` (the bytes are not the published file) or ``disk`` (cannot write the cache)."""

    def __init__(self, code: str, detail: str = "", status: int | None = None):
        super().__init__(f"download failed ({code}): {detail}")
        self.code, self.detail, self.status = code, detail, status


def download(url: str, progress: Callable[[int, int | None], None] | None = None, timeout: float = 20.0,
             chunk: int = 1 << 20) -> Path:
    """Fetch ``url`` into the hub cache in chunks, calling ``progress(done_bytes, total_bytes or None)``.

    The file appears in the cache only once complete and verified; an interrupted download leaves nothing
    behind. Raises :class:`DownloadError`.
    """
    target = hub_file(url)
    expected = _HASH.search(target.name)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DownloadError("disk", str(err)) from None
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".partial", dir=target.parent)
    done = False
    try:
        sha = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                got = 0
                if progress:
                    progress(0, total)
                while True:
                    block = response.read(chunk)
                    if not block:
                        break
                    out.write(block)
                    sha.update(block)
                    got += len(block)
                    if progress:
                        progress(got, total)
        except urllib.error.HTTPError as err:
            raise DownloadError("http", str(err.reason), status=err.code) from None
        except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError) as err:
            raise DownloadError("offline", str(getattr(err, "reason", err))) from None
        except OSError as err:
            raise DownloadError("disk", str(err)) from None
        if expected and not sha.hexdigest().startswith(expected.group(1)):
            raise DownloadError("checksum", f"sha256 {sha.hexdigest()[:12]}… does not start with {expected.group(1)}")
        os.replace(tmp, target)
        done = True
    finally:
        if not done and os.path.exists(tmp):
            os.remove(tmp)
    return target


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


def check_folder(folder: str | Path, family: str) -> list[str]:
    """The files a model of ``family`` needs that ``folder`` lacks (an empty list: the folder will do).

    Every family needs the same three kinds of file; ``family`` is kept for the day one needs more.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        return [str(folder)]
    missing = [" or ".join(names) for names in _NEEDED if not any((folder / n).is_file() for n in names)]
    if not any(folder.glob("*.safetensors")):
        missing.append("*.safetensors")
    return missing


def _from_cache(spec: ModelSpec, cache_dir: str | Path | None) -> Path | None:
    from huggingface_hub import snapshot_download

    try:
        path = Path(snapshot_download(spec.repo, revision=spec.revision, cache_dir=cache_dir,
                                      local_files_only=True))
    except Exception:  # not cached (LocalEntryNotFoundError), or an unreadable cache: both mean "not here"
        return None
    return path if not check_folder(path, spec.family) else None


def _progress_class(progress: Callable[[float, str], None]):
    """A tqdm class that reports each file's progress to ``progress(fraction, description)``."""
    from tqdm.auto import tqdm

    class Report(tqdm):
        def update(self, n=1):
            shown = super().update(n)
            if self.total:
                progress(min(self.n / self.total, 1.0), str(self.desc or ""))
            return shown

    return Report


def resolve(spec: ModelSpec, *, folder: str | Path | None = None, download: bool = False,
            cache_dir: str | Path | None = None,
            progress: Callable[[float, str], None] | None = None) -> Resolution:
    """Find the weights of ``spec``: the cache, then ``folder``, then a download when asked; never raises.

    ``cache_dir`` replaces the Hugging Face cache (tests point it at a temporary folder).
    ``progress(fraction, description)`` is called while downloading.
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
    from huggingface_hub import snapshot_download

    try:
        path = Path(snapshot_download(spec.repo, revision=spec.revision, cache_dir=cache_dir,
                                      allow_patterns=_DOWNLOAD_PATTERNS,
                                      tqdm_class=_progress_class(progress) if progress else None))
    except Exception as err:  # no network, proxy, gated repository, disk full: all mean "not available now"
        return Resolution(spec, None, None, "download_failed", f"{type(err).__name__}: {err}"[:500])
    missing = check_folder(path, spec.family)
    if missing:
        return Resolution(spec, None, None, "download_failed", "missing after download: " + ", ".join(missing))
    return Resolution(spec, path, "download", None)


def download_command(spec: ModelSpec, folder: str | None = None) -> str:
    """The shell command that fetches ``spec`` with the hub's own tool (into the cache, or ``folder``)."""
    command = f"hf download {spec.repo}" + (f" --revision {spec.revision}" if spec.revision != "main" else "")
    return command + (f" --local-dir {folder}" if folder else "")
