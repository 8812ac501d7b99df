"""Loading a promptable model and its processor: pretrained from a folder, or tiny and random.

A :class:`Loaded` bundle holds the ``transformers`` model, the processor that prepares its inputs, and
what the page shows about it (its name, whether its weights were learned, its parameter count).
Everything downstream (:mod:`~core.promptable.segment`, :mod:`~core.promptable.video`,
:mod:`~core.promptable.grounded`) takes a bundle and does not care where the weights came from.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from core.promptable import tiny
from core.zoo import weights

__all__ = ["Loaded", "KINDS", "installed", "load_pretrained", "load_tiny", "load", "load_full_size_random"]

# What a bundle is for: the image models, the video model of SAM 2 (same checkpoint, more modules),
# the detector and SAM 3.
KINDS = ("sam", "sam2", "sam2_video", "grounding_dino", "sam3")


@dataclass(frozen=True)
class Loaded:
    kind: str  # one of KINDS
    key: str  # the checkpoint's key in weights.MODELS, or "tiny_<kind>"
    label: str  # the name shown on the page
    pretrained: bool  # False for the tiny random stand-ins
    model: torch.nn.Module  # in eval mode, on ``device``; never modified after loading
    processor: object  # the matching transformers processor
    device: torch.device

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.model.parameters())


def _classes(kind: str):
    import transformers as tf

    return {
        "sam": (tf.SamModel, tf.SamProcessor),
        "sam2": (tf.Sam2Model, tf.Sam2Processor),
        "sam2_video": (tf.Sam2VideoModel, tf.Sam2VideoProcessor),
        "grounding_dino": (tf.GroundingDinoForObjectDetection, tf.GroundingDinoProcessor),
        "sam3": (tf.Sam3Model, tf.Sam3Processor),
    }[kind]


def installed(kind: str) -> bool:
    """Whether the installed ``transformers`` has the classes of ``kind`` (SAM 3 arrived later than the rest)."""
    import transformers as tf

    names = {"sam": "SamModel", "sam2": "Sam2Model", "sam2_video": "Sam2VideoModel",
             "grounding_dino": "GroundingDinoForObjectDetection", "sam3": "Sam3Model"}
    return hasattr(tf, names[kind])


def _family(kind: str) -> str:
    return "sam2" if kind == "sam2_video" else kind


def load_pretrained(spec: weights.ModelSpec, path: str | Path, kind: str | None = None,
                    device: torch.device | str = "cpu") -> Loaded:
    """Load ``spec``'s weights from ``path`` (a folder :func:`weights.resolve` found) as a ``kind`` bundle."""
    kind = kind or spec.family
    if _family(kind) != spec.family:
        raise ValueError(f"{spec.label} is a {spec.family} checkpoint, it cannot be loaded as {kind}")
    model_cls, processor_cls = _classes(kind)
    device = torch.device(device)
    model = model_cls.from_pretrained(str(path), use_safetensors=True).to(device).eval()
    processor = processor_cls.from_pretrained(str(path))
    return Loaded(kind, spec.key, spec.label, True, model, processor, device)


_TINY = {"sam": tiny.sam, "sam2": tiny.sam2, "sam2_video": tiny.sam2_video,
         "grounding_dino": tiny.grounding_dino, "sam3": tiny.sam3}


def load_tiny(kind: str, device: torch.device | str = "cpu") -> Loaded:
    """The small random stand-in of ``kind`` (see :mod:`core.promptable.tiny`)."""
    if kind not in _TINY:
        raise ValueError(f"unknown kind '{kind}'; valid: {', '.join(KINDS)}")
    model, processor = _TINY[kind]()
    device = torch.device(device)
    return Loaded(kind, f"tiny_{kind}", f"tiny random {kind}", False, model.to(device), processor, device)


def load(resolution: weights.Resolution | None, kind: str, device: torch.device | str = "cpu") -> Loaded:
    """The pretrained model when ``resolution`` found one, else the tiny stand-in."""
    if resolution is not None and resolution.found:
        return load_pretrained(resolution.spec, resolution.path, kind, device)
    return load_tiny(kind, device)


def load_full_size_random(kind: str = "sam", device: torch.device | str = "cpu", seed: int = 0) -> Loaded:
    """The published architecture (SAM ViT-B, or SAM 2.1 Hiera tiny) with random weights.

    Shapes and costs are those of the real model: the benchmark times it, and the anatomy page can show its
    modules, without any download.
    """
    import transformers as tf

    if kind == "sam":
        model_cls, config, processor = tf.SamModel, tf.SamConfig(), tf.SamProcessor(tf.SamImageProcessor())
    elif kind == "sam2":
        model_cls, config, processor = tf.Sam2Model, tf.Sam2Config(), tf.Sam2Processor(tf.Sam2ImageProcessor())
    else:
        raise ValueError(f"no full-size random build for '{kind}'; valid: sam, sam2")
    # The default configurations are the published ones: SAM ViT-B at 1024 px, SAM 2.1 Hiera tiny.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = model_cls(config).eval()
    device = torch.device(device)
    return Loaded(kind, f"random_{kind}", f"{kind} (full size, random weights)", False, model.to(device),
                  processor, device)
