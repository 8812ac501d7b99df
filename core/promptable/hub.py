r"""Where the weights of a promptable model come from: cache → a folder you name → download → none, and why.

``transformers`` keeps downloaded models in the Hugging Face cache (``HF_HOME``, by default
``~/.cache/huggingface/hub``), one folder per repository. :func:`resolve` looks there first, without
touching the network (``local_files_only``); then in a folder the user typed (the output of
``hf download REPO --local-dir FOLDER``, or a copy of a snapshot); it downloads only when asked
(``download=True``, a button on the page, never a test) and when the machine is not offline
(``HF_HUB_OFFLINE=1``). Otherwise it answers with a reason code the page turns into a sentence:

=================  ==========================================================================
``not_cached``     not in the cache, no folder given, no download asked for
``bad_folder``     the folder given lacks files a model needs (``config.json``, ``*.safetensors``)
``offline``        a download was asked for, but the hub is switched off (``HF_HUB_OFFLINE=1``)
``download_failed``  a download was tried and did not work (no network, a gated repository, ...)
=================  ==========================================================================

Only ``safetensors`` files are loaded: they hold tensors and cannot run code, unlike pickles.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ModelSpec", "MODELS", "FAMILIES", "Resolution", "specs", "spec", "is_offline", "check_folder",
           "resolve", "download_command"]


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
    ModelSpec("sam3", "sam3", "facebook/sam3", "SAM 3", 848, 3450, gated=True),
)}
FAMILIES = ("sam", "sam2", "grounding_dino", "sam3")
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
        path = Path(snapshot_download(spec.repo, cache_dir=cache_dir, local_files_only=True))
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
        path = Path(snapshot_download(spec.repo, cache_dir=cache_dir, allow_patterns=_DOWNLOAD_PATTERNS,
                                      tqdm_class=_progress_class(progress) if progress else None))
    except Exception as err:  # no network, proxy, gated repository, disk full: all mean "not available now"
        return Resolution(spec, None, None, "download_failed", f"{type(err).__name__}: {err}"[:500])
    missing = check_folder(path, spec.family)
    if missing:
        return Resolution(spec, None, None, "download_failed", "missing after download: " + ", ".join(missing))
    return Resolution(spec, path, "download", None)


def download_command(spec: ModelSpec, folder: str | None = None) -> str:
    """The shell command that fetches ``spec`` with the hub's own tool (into the cache, or ``folder``)."""
    command = f"hf download {spec.repo}"
    return command + (f" --local-dir {folder}" if folder else "")
