r"""Real semantic segmentation networks on a student's photo: torchvision's and the ones trained in the app.

torchvision publishes five segmentation networks trained on COCO images labelled with the 20 Pascal VOC
classes plus background (21 outputs). All of them follow the same plan — a classification backbone made
fully convolutional, a head that scores every class at a reduced resolution, bilinear upsampling back
to the input (torchvision's ``_SimpleSegmentationModel``):

===============================  ====================================================================
``fcn_resnet50`` / ``101``       FCN (Long, Shelhamer & Darrell, CVPR 2015) on a ResNet whose last two
                                 stages are dilated instead of strided: scores at stride 8
``deeplabv3_resnet50``           DeepLabV3 (Chen et al., 2017): atrous spatial pyramid pooling, parallel
                                 dilated 3×3 convolutions (rates 12, 24, 36) plus image-level pooling
``deeplabv3_mobilenet_v3_large``  the same head on MobileNetV3 (Howard et al., ICCV 2019), for phones
``lraspp_mobilenet_v3_large``    LR-ASPP, the "lite" head of the MobileNetV3 paper: a pooled attention
                                 gate on stride-16 features plus a stride-8 skip
===============================  ====================================================================

Their published weights were trained with images resized so the short side is 520 pixels; smaller is
faster and coarser. A model trained in the app (:mod:`core.training.loop`) works the same way with its own
classes and palette. :func:`predict` returns per-pixel probabilities at the photo's size, from which
:mod:`core.analysis` derives the mask, confidence, entropy and areas.

Models are built with ``weights=None, weights_backbone=None`` (nothing downloads behind the user's
back); the weights come from :mod:`core.zoo.weights` and :mod:`core.zoo.checkpoints`. The auxiliary
classifier of the published weights is loaded (strict loading checks the whole file) and then dropped:
it only helped training.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core import device as devices
from core.data.constants import IMAGENET_MEAN, IMAGENET_STD
from core.zoo import checkpoints
from core.zoo.runtime import Stopwatch, to_input
from core.zoo.weights import WeightsRef, published, uploaded, weights_enum

__all__ = ["TORCHVISION", "ModelChoice", "SemanticModel", "SemanticPrediction", "build_torchvision",
           "load_torchvision", "load_app", "predict", "voc_palette", "TORCHVISION_SIZE"]

TORCHVISION_SIZE = 520  # the short side torchvision's published weights were trained and evaluated at


# name → whether the published file includes the auxiliary classifier (its weights: core.zoo.weights.KNOWN)
TORCHVISION = {
    "fcn_resnet50": True,
    "fcn_resnet101": True,
    "deeplabv3_resnet50": True,
    "deeplabv3_mobilenet_v3_large": True,
    "lraspp_mobilenet_v3_large": False,
}


def _aux(name: str) -> bool:
    try:
        return TORCHVISION[name]
    except KeyError:
        raise ValueError(f"unknown model '{name}'; valid names are {', '.join(TORCHVISION)}") from None


@dataclass(frozen=True)
class ModelChoice:
    """One entry of the model picker: a torchvision network or a checkpoint shipped with or trained in the app.

    :attr:`key` is what the page address and the widgets keep (``tv:<name>``, ``app:<name>``): stable and
    language-free; :meth:`parse` reads it back.
    """

    source: str  # "tv" (torchvision's published weights) or "app" (the app's own checkpoint)
    name: str  # the torchvision name (a key of TORCHVISION) or the checkpoint's name

    SOURCES = ("tv", "app")

    @property
    def key(self) -> str:
        return f"{self.source}:{self.name}"

    @property
    def from_app(self) -> bool:
        return self.source == "app"

    @classmethod
    def parse(cls, key: str) -> ModelChoice:
        source, sep, name = key.partition(":")
        if not sep or source not in cls.SOURCES or not name:
            raise ValueError(f"unknown model key '{key}'; keys are 'tv:<torchvision name>' or 'app:<checkpoint name>'")
        return cls(source, name)


def voc_palette(n: int = 21) -> np.ndarray:
    """The Pascal VOC colour map: class ``c``'s bits spread over the high bits of R, G and B, ``(n, 3)`` uint8."""
    out = np.zeros((n, 3), dtype=np.uint8)
    for c in range(n):
        r = g = b = 0
        k = c
        for shift in range(7, -1, -1):
            r |= (k & 1) << shift
            g |= ((k >> 1) & 1) << shift
            b |= ((k >> 2) & 1) << shift
            k >>= 3
        out[c] = (r, g, b)
    return out


def build_torchvision(name: str, state_dict: dict | None = None) -> nn.Module:
    """torchvision's ``name`` with 21 classes: random weights, or ``state_dict`` loaded strictly."""
    from torchvision.models import segmentation

    aux = _aux(name)
    net = getattr(segmentation, name)(weights=None, weights_backbone=None, num_classes=21, aux_loss=aux)
    net = checkpoints.with_weights(net, state_dict)
    if aux:
        net.aux_classifier = None  # used only as a training signal; the forward pass skips it when None
    return net


@dataclass(frozen=True)
class SemanticModel:
    """A network ready to label photos. Shared by every session: nothing may change it after loading."""

    key: str  # its ModelChoice's key: "tv:<torchvision name>" or "app:<checkpoint name>"
    net: nn.Module  # eval mode, on ``device``
    classes: tuple[str, ...]
    palette: np.ndarray  # (C, 3) uint8
    weights: WeightsRef
    device: torch.device
    default_side: int  # the short side its training images had
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    info: dict = field(default_factory=dict)  # published numbers (mIoU, parameters, file size) or the app's metrics

    @property
    def choice(self) -> ModelChoice:
        return ModelChoice.parse(self.key)

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def load_torchvision(name: str, weights: WeightsRef, device: torch.device | str = "cpu",
                     data: bytes | None = None) -> SemanticModel:
    """Build ``name`` with the weights ``weights`` points at (``data`` holds an upload's bytes)."""
    state = checkpoints.read_weights(weights, data)
    torch.manual_seed(0)  # random weights are the same in every session: a link shows the same picture
    device = torch.device(device)
    net = devices.prepare(build_torchvision(name, state), device)
    classes = tuple(weights_enum(name).meta["categories"])
    return SemanticModel(ModelChoice("tv", name).key, net, classes, voc_palette(len(classes)), weights, device,
                         TORCHVISION_SIZE, info=published(name))


def load_app(name: str, data: bytes, device: torch.device | str = "cpu") -> SemanticModel:
    """A model trained in the app (``core.training.loop`` checkpoint bytes), with its own classes and palette."""
    ckpt = checkpoints.app_checkpoint(data)
    device = torch.device(device)
    classes = ckpt.classes
    palette = ckpt.palette if len(ckpt.palette) >= len(classes) else voc_palette(len(classes))
    side = int(min(ckpt.header.get("input_size") or [64]))
    return SemanticModel(ModelChoice("app", name).key, devices.prepare(ckpt.model, device), classes, palette[:len(classes)],
                         uploaded(name, data), device, side, info={"metrics": ckpt.header.get("metrics", {}),
                                                                   "model": ckpt.header["model"]})


@dataclass
class SemanticPrediction:
    probs: np.ndarray  # (C, H, W) float32 at the photo's size, summing to 1 over C
    seconds: dict[str, float]  # preprocess, forward, postprocess
    input_size: tuple[int, int]  # (h, w) the network saw
    device: str
    mixed_precision: bool  # autocast was on (CUDA only)

    @property
    def mask(self) -> np.ndarray:
        return self.probs.argmax(0)  # (H, W) class per pixel


@torch.inference_mode()
def predict(model: SemanticModel, image: np.ndarray, short_side: int | None = None,
            mixed_precision: bool = True) -> SemanticPrediction:
    """Label every pixel of ``image`` ``(H, W, 3)`` uint8; the network sees it with ``short_side`` pixels."""
    device = model.device
    amp = mixed_precision and device.type == "cuda"
    watch = Stopwatch(device)
    with watch("preprocess"):
        x = to_input(image, short_side, device, model.mean, model.std)  # (1, 3, h, w)
    with watch("forward"), devices.autocast(device, amp):
        out = model.net(x)
        logits = out["out"] if isinstance(out, dict) else out  # (1, C, h, w)
    with watch("postprocess"):
        logits = F.interpolate(logits.float(), size=image.shape[:2], mode="bilinear",
                               align_corners=False)  # (1, C, H, W) at the photo's size
        probs = logits.softmax(1)[0].cpu().numpy()  # (C, H, W)
    return SemanticPrediction(probs, watch.seconds, tuple(x.shape[-2:]), str(device), amp)
