r"""Finding pretrained weights without surprises: already cached → downloaded when asked → none, and why.

torchvision describes every pretrained model by a weights enum (``VGG16_BN_Weights.IMAGENET1K_V1``)
whose ``url`` ends in the file name torch keeps in its hub cache,
``torch.hub.get_dir()/checkpoints/<file>`` (``TORCH_HOME`` moves it). This module looks there first;
it goes to the internet only when the caller says ``download=True`` (a page's button, never a test);
otherwise it answers "no weights" with a reason code the page turns into a sentence:

==================  ===========================================================================
``not_cached``      the file is not in the hub cache, and no download was asked for
``download_failed`` a download was asked for and did not work (offline, blocked, bad checksum)
``unreadable``      the cached file exists but is not a valid checkpoint
==================  ===========================================================================

Files are read with ``torch.load(..., weights_only=True)``: a checkpoint cannot run code.
To add a model, add its name and weights enum to :data:`KNOWN`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch

__all__ = ["KNOWN", "WeightsStatus", "WeightsUnavailable", "weights_enum", "cached_file", "find", "require"]


def _vgg16_bn():
    from torchvision.models import VGG16_BN_Weights

    return VGG16_BN_Weights.IMAGENET1K_V1


def _maskrcnn():
    from torchvision.models.detection import MaskRCNN_ResNet50_FPN_Weights

    return MaskRCNN_ResNet50_FPN_Weights.COCO_V1


# name → function returning the torchvision weights enum (imported lazily: torchvision is slow to import)
KNOWN = {
    "vgg16_bn": _vgg16_bn,  # SegNet's encoder (ImageNet)
    "maskrcnn_resnet50_fpn": _maskrcnn,  # the FPN / Mask R-CNN page (COCO)
}


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


def weights_enum(name: str):
    try:
        return KNOWN[name]()
    except KeyError:
        raise ValueError(f"unknown weights '{name}'; known ones are {', '.join(sorted(KNOWN))}") from None


def cached_file(name: str) -> Path:
    """Where torch's hub cache keeps (or would keep) the file of ``name``."""
    filename = os.path.basename(urlparse(weights_enum(name).url).path)
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def find(name: str, *, download: bool = False) -> WeightsStatus:
    """The weights of ``name`` from the cache, or downloaded when ``download=True``; never raises for I/O."""
    path = cached_file(name)
    if path.is_file():
        try:
            return WeightsStatus(name, torch.load(path, map_location="cpu", weights_only=True), "cache", None, path)
        except Exception as err:  # a truncated or foreign file: say so instead of failing the page
            return WeightsStatus(name, None, None, "unreadable", path, str(err))
    if not download:
        return WeightsStatus(name, None, None, "not_cached", path)
    try:
        state = torch.hub.load_state_dict_from_url(weights_enum(name).url, progress=False, check_hash=True,
                                                   map_location="cpu", weights_only=True)
    except Exception as err:  # offline, proxy, checksum: all mean "not available now"
        return WeightsStatus(name, None, None, "download_failed", path, str(err))
    return WeightsStatus(name, state, "download", None, path)


def require(name: str, *, download: bool = False) -> dict:
    """Like :func:`find`, but returns the state dict or raises :class:`WeightsUnavailable`."""
    status = find(name, download=download)
    if status.state_dict is None:
        raise WeightsUnavailable(name, status.reason, status.detail)
    return status.state_dict
