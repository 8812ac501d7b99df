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

Two models that came after the lecture come from ``transformers`` (:mod:`core.zoo.universal` loads them):
**SegFormer** (Xie et al., NeurIPS 2021: a transformer encoder at strides 4, 8, 16, 32 and an all-MLP
decoder) scores every pixel like the networks above, and **Mask2Former** (Cheng et al., CVPR 2022)
instead predicts a fixed set of masks, each with one class; its semantic map comes from transformers'
own post-processing (every query's mask weighted by its class probabilities, summed per class), which
:func:`predict` normalises into per-pixel probabilities. Both were trained on ADE20K (150 classes).

Which model a picker opens on is :func:`best_choice`: a cached pretrained model in the order of
:data:`PRETRAINED_ORDER`, then a checkpoint of the app, then random weights.

Models are built with ``weights=None, weights_backbone=None`` (nothing downloads behind the user's
back); the weights come from :mod:`core.zoo.weights` and :mod:`core.zoo.checkpoints`. The auxiliary
classifier of the published weights is loaded (strict loading checks the whole file) and then dropped:
it only helped training.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core import device as devices
from core.data.constants import IMAGENET_MEAN, IMAGENET_STD
from core.zoo import checkpoints
from core.zoo.runtime import Stopwatch, short_side_size, to_input
from core.zoo.weights import WeightsRef, published, uploaded, weights_enum

__all__ = ["TORCHVISION", "TRANSFORMERS", "ModelChoice", "SemanticModel", "SemanticPrediction", "build_torchvision",
           "load_torchvision", "load_app", "predict", "voc_palette", "TORCHVISION_SIZE", "PRETRAINED_ORDER",
           "best_choice", "shipped_order", "app_miou", "pretrained_present", "network_size"]

TORCHVISION_SIZE = 520  # the short side torchvision's published weights were trained and evaluated at


# name → whether the published file includes the auxiliary classifier (its weights: core.zoo.weights.KNOWN)
TORCHVISION = {
    "fcn_resnet50": True,
    "fcn_resnet101": True,
    "deeplabv3_resnet50": True,
    "deeplabv3_mobilenet_v3_large": True,
    "lraspp_mobilenet_v3_large": False,
}


# the transformers models of the picker: key of core.zoo.weights.MODELS → how its output becomes classes
TRANSFORMERS = {
    "segformer_b0": "segformer",  # logits for every class at stride 4
    "mask2former_swin_t": "mask_classification",  # queries: one mask and one class each
}

# Which cached pretrained model a picker opens on, best first. ADE20K's 150 classes name what a street
# photo holds (road, sidewalk, building, sky, tree, car, person) where the 21 VOC classes call most of it
# "background", so the two ADE20K models come first: SegFormer-B0 before Mask2Former because it has
# 3.8 M parameters against 47 M and answers within a second on a classroom laptop's CPU. The VOC models
# follow in the order of their published mIoU (66.4, 63.7, 60.5, 60.3, 57.9).
PRETRAINED_ORDER = ("hf:segformer_b0", "hf:mask2former_swin_t", "tv:deeplabv3_resnet50", "tv:fcn_resnet101",
                    "tv:fcn_resnet50", "tv:deeplabv3_mobilenet_v3_large", "tv:lraspp_mobilenet_v3_large")
RANDOM_DEFAULT = "tv:lraspp_mobilenet_v3_large"  # nothing trained anywhere: the smallest, quickest network


def _aux(name: str) -> bool:
    try:
        return TORCHVISION[name]
    except KeyError:
        raise ValueError(f"unknown model '{name}'; valid names are {', '.join(TORCHVISION)}") from None


@dataclass(frozen=True)
class ModelChoice:
    """One entry of the model picker: a torchvision network, a transformers model, or the app's checkpoint.

    :attr:`key` is what the page address and the widgets keep (``tv:<name>``, ``hf:<name>``, ``app:<name>``):
    stable and language-free; :meth:`parse` reads it back.
    """

    source: str  # "tv" (torchvision's published weights), "hf" (a transformers model) or "app" (the app's own)
    name: str  # a key of TORCHVISION, a key of TRANSFORMERS, or the checkpoint's name

    SOURCES = ("tv", "hf", "app")

    @property
    def key(self) -> str:
        return f"{self.source}:{self.name}"

    @property
    def from_app(self) -> bool:
        return self.source == "app"

    @property
    def from_hub(self) -> bool:
        return self.source == "hf"

    @classmethod
    def parse(cls, key: str) -> ModelChoice:
        source, sep, name = key.partition(":")
        if not sep or source not in cls.SOURCES or not name:
            raise ValueError(f"unknown model key '{key}'; keys are 'tv:<torchvision name>', 'hf:<transformers "
                             "model>' or 'app:<checkpoint name>'")
        return cls(source, name)


def best_choice(pretrained: Iterable[str], own: Sequence[str] = (), shipped: Sequence[str] = ()) -> str:
    """The key a picker opens on: the best cached pretrained model (:data:`PRETRAINED_ORDER`), else the
    user's own checkpoint (trained or uploaded in this session: what they came to see), else the best
    shipped one, else random weights (:data:`RANDOM_DEFAULT`).

    ``pretrained`` holds the keys whose weights are on this machine; ``own`` and ``shipped`` are checkpoint
    names, best first (:func:`shipped_order`).
    """
    present = set(pretrained)
    for key in PRETRAINED_ORDER:
        if key in present:
            return key
    for name in (*own, *shipped):
        return ModelChoice("app", name).key
    return RANDOM_DEFAULT


def pretrained_present() -> set[str]:
    """The picker keys whose pretrained weights are on this machine (torch's cache, the Hugging Face cache).

    File lookups only: nothing is read or loaded.
    """
    from core.zoo import weights

    present = {f"tv:{name}" for name in TORCHVISION if weights.locate(weights.weights_enum(name).url).kind == "cache"}
    return present | {f"hf:{key}" for key in TRANSFORMERS if weights.resolve(weights.spec(key)).found}


def app_miou(header: dict) -> float | None:
    """The validation mIoU a checkpoint of the app records (``metrics.miou``), or None."""
    metrics = header.get("metrics") or {}
    value = metrics.get("miou", metrics.get("val_miou"))
    return float(value) if isinstance(value, (int, float)) else None


def shipped_order(headers: Mapping[str, dict]) -> list[str]:
    """Checkpoint names, best validation mIoU first (their headers' ``metrics``); ties keep their order."""
    def score(name: str) -> float:
        value = app_miou(headers[name])
        return -1.0 if value is None else value

    return sorted(headers, key=score, reverse=True)


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

    key: str  # its ModelChoice's key: "tv:<torchvision name>", "hf:<transformers model>" or "app:<checkpoint>"
    net: nn.Module  # eval mode, on ``device``
    classes: tuple[str, ...]
    palette: np.ndarray  # (C, 3) uint8
    weights: WeightsRef
    device: torch.device
    default_side: int  # the short side its training images had
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    info: dict = field(default_factory=dict)  # published numbers (mIoU, parameters, file size) or the app's metrics
    head: str = "logits"  # how the output becomes classes: "logits" (N, C, h, w), "segformer", "mask_classification"
    processor: object = None  # the transformers image processor whose post-processing a mask classifier uses
    size_divisor: int = 1  # the input's sides are rounded to a multiple of this (Mask2Former: 32)

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


def network_size(height: int, width: int, short_side: int | None, divisor: int = 1) -> tuple[int, int]:
    """The ``(h, w)`` a network sees: the short side resized to ``short_side``, each side rounded to ``divisor``."""
    h, w = (height, width) if short_side is None else short_side_size(height, width, short_side)
    if divisor > 1:
        h, w = (max(divisor, divisor * round(v / divisor)) for v in (h, w))
    return h, w


def _input(model: SemanticModel, image: np.ndarray, short_side: int | None) -> torch.Tensor:
    size = network_size(image.shape[0], image.shape[1], short_side, model.size_divisor)
    if model.size_divisor == 1:
        return to_input(image, short_side, model.device, model.mean, model.std)  # (1, 3, h, w)
    x = to_input(image, None, model.device, model.mean, model.std)  # (1, 3, H, W), normalised
    if tuple(x.shape[-2:]) != size:
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False,
                          antialias=size[0] < image.shape[0])  # (1, 3, h, w), sides multiples of the divisor
    return x


def _probabilities(model: SemanticModel, out, size: tuple[int, int]) -> torch.Tensor:
    """The network's output → per-class probabilities ``(C, H, W)`` at the photo's ``size``."""
    if model.head == "mask_classification":
        # transformers' own semantic post-processing: each query's mask (sigmoid) weighted by its class
        # probabilities (softmax, the "no object" class dropped), summed per class, resized to the photo
        out.class_queries_logits = out.class_queries_logits.float()  # (1, Q, C + 1)
        out.masks_queries_logits = out.masks_queries_logits.float()  # (1, Q, h/4, w/4)
        scores = model.processor.post_process_semantic_segmentation(
            out, target_sizes=[size], return_segmentation_scores=True)[0].segmentation_scores  # (C, H, W) ≥ 0
        return scores / scores.sum(0, keepdim=True).clamp_min(1e-12)  # (C, H, W): the same argmax, summing to 1
    if model.head == "segformer":
        logits = out.logits  # (1, C, h/4, w/4)
    else:
        logits = out["out"] if isinstance(out, dict) else out  # (1, C, h, w)
    logits = F.interpolate(logits.float(), size=size, mode="bilinear", align_corners=False)  # (1, C, H, W)
    return logits.softmax(1)[0]  # (C, H, W)


@torch.inference_mode()
def predict(model: SemanticModel, image: np.ndarray, short_side: int | None = None,
            mixed_precision: bool = True) -> SemanticPrediction:
    """Label every pixel of ``image`` ``(H, W, 3)`` uint8; the network sees it with ``short_side`` pixels."""
    device = model.device
    amp = mixed_precision and device.type == "cuda"
    watch = Stopwatch(device)
    with watch("preprocess"):
        x = _input(model, image, short_side)  # (1, 3, h, w)
    with watch("forward"), devices.autocast(device, amp):
        out = model.net(pixel_values=x) if model.head != "logits" else model.net(x)
    with watch("postprocess"):
        probs = _probabilities(model, out, tuple(image.shape[:2])).cpu().numpy()  # (C, H, W)
    return SemanticPrediction(probs, watch.seconds, tuple(x.shape[-2:]), str(device), amp)
