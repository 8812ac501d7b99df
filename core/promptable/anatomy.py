r"""The three parts of SAM, read off a model: which modules, what shapes flow between them, what each costs.

:func:`trace` runs one image and one click through a SAM or SAM 2 model with forward hooks on the main
modules and records the shape each one outputs, the parameters it holds and, with torch's
``FlopCounterMode``, the floating-point operations of the image encoder and of the prompt encoder + mask
decoder. :func:`full_size` does the same for the published architectures on PyTorch's ``meta`` device:
tensors there have shapes but no values, so the real sizes and costs of SAM ViT-B (about 1 000 GFLOPs
for the image, under 4 for a click) come out in a blink, without weights or computation.

What the numbers show is the lecture's point about SAM: nearly all the cost is in the image encoder, and
it does not depend on the prompt, so one embedding serves every click. The mask decoder ends with two
stride-2 transposed convolutions (64 → 256 pixels), the learnable upsampling from the lecture's first half.
"""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["PARTS", "Block", "Anatomy", "trace", "full_size", "pca_rgb"]

PARTS = ("image_encoder", "prompt_encoder", "mask_decoder")
# (part, module path pattern, step key): the steps shown, in the order data flows through them.
_STEPS = {
    "sam": [
        ("image_encoder", "vision_encoder.patch_embed", "patch_embed"),
        ("image_encoder", "vision_encoder.layers.*", "vit_block"),
        ("image_encoder", "vision_encoder.neck", "neck"),
        ("prompt_encoder", "prompt_encoder", "prompt_encoder"),
        ("mask_decoder", "mask_decoder.transformer", "two_way"),
        ("mask_decoder", "mask_decoder.upscale_conv1", "upscale"),
        ("mask_decoder", "mask_decoder.upscale_conv2", "upscale"),
        ("mask_decoder", "mask_decoder.iou_prediction_head", "iou_head"),
        ("mask_decoder", "mask_decoder", "decoder_out"),
    ],
    "sam2": [
        ("image_encoder", "vision_encoder.backbone.patch_embed", "patch_embed"),
        ("image_encoder", "vision_encoder.backbone.blocks.*", "hiera_block"),
        ("image_encoder", "vision_encoder.neck", "fpn_neck"),
        ("prompt_encoder", "prompt_encoder", "prompt_encoder"),
        ("mask_decoder", "mask_decoder.transformer", "two_way"),
        ("mask_decoder", "mask_decoder.upscale_conv1", "upscale"),
        ("mask_decoder", "mask_decoder.upscale_conv2", "upscale"),
        ("mask_decoder", "mask_decoder.iou_prediction_head", "iou_head"),
        ("mask_decoder", "mask_decoder", "decoder_out"),
    ],
}
_PART_ROOTS = {"image_encoder": ("vision_encoder",), "prompt_encoder": ("prompt_encoder", "shared_image_embedding"),
               "mask_decoder": ("mask_decoder",)}


@dataclass(frozen=True)
class Block:
    part: str  # one of PARTS
    step: str  # what the step is (a key the page translates): patch_embed, vit_block, neck, ...
    name: str  # module path; repeated blocks of one shape are merged as "layers.0–11"
    kind: str  # the module's class
    repeat: int  # how many consecutive modules this row stands for
    params: int  # their parameters
    shapes: tuple[tuple[int, ...], ...]  # shapes of the tensors the (last) module returned


@dataclass(frozen=True)
class Anatomy:
    family: str
    blocks: list[Block]
    params: dict[str, int]  # part → parameters
    flops: dict[str, int]  # "image_encoder" and "prompt_and_decoder" → floating-point operations
    input_shape: tuple[int, ...]  # pixel_values given to the image encoder
    embedding_shapes: tuple[tuple[int, ...], ...]  # what the image encoder hands to the decoder
    masks_shape: tuple[int, ...]  # low-resolution masks (batch, prompts, 3, 256, 256)
    iou_shape: tuple[int, ...]
    embedding: torch.Tensor | None  # the coarsest embedding (1, C, h, w) with values; None on meta


def _shapes(value) -> list[tuple[int, ...]]:
    if isinstance(value, torch.Tensor):
        return [tuple(value.shape)]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        found = []
        for v in value:
            found += _shapes(v)
        return found
    return []


def _merge(rows: list[tuple[str, str, str, str, int, tuple]]) -> list[Block]:
    """Consecutive rows of the same step and output shapes become one row ("layers.0–11", repeat 12)."""
    merged: list[Block] = []
    for part, step, name, kind, params, shapes in rows:
        last = merged[-1] if merged else None
        if last and last.step == step and last.shapes == shapes and re.search(r"\.\d+$", name) \
                and re.search(r"\.\d+(–\d+)?$", last.name):
            first = re.sub(r"–\d+$", "", last.name)
            merged[-1] = Block(part, step, f"{first}–{name.rsplit('.', 1)[1]}", kind, last.repeat + 1,
                               last.params + params, shapes)
        else:
            merged.append(Block(part, step, name, kind, 1, params, shapes))
    return merged


def trace(model: torch.nn.Module, family: str, pixel_values: torch.Tensor, points: torch.Tensor,
          labels: torch.Tensor) -> Anatomy:
    """Run ``pixel_values`` (1, 3, S, S) and one prompt (points (1, 1, N, 2), labels (1, 1, N)) through a
    SAM (``family="sam"``) or SAM 2 (``"sam2"``) model, recording every step (see the module docstring).

    Works on any device, ``meta`` included; the model is not changed (hooks are removed afterwards).
    """
    if family not in _STEPS:
        raise ValueError(f"unknown family '{family}'; valid: {', '.join(_STEPS)}")
    modules = dict(model.named_modules())
    chosen: list[tuple[str, str, str]] = []  # (part, step, name) in flow order
    for part, pattern, step in _STEPS[family]:
        for name in modules:
            repeated = pattern.endswith(".*")  # the numbered blocks of a ModuleList, not their insides
            if fnmatch.fnmatchcase(name, pattern) and (not repeated or name[len(pattern) - 1:].isdigit()):
                chosen.append((part, step, name))
    recorded: dict[str, list[tuple[int, ...]]] = {}
    handles = [modules[name].register_forward_hook(
        lambda mod, args, out, name=name: recorded.__setitem__(name, _shapes(out)[:4])) for _, _, name in chosen]
    try:
        with torch.inference_mode():
            with FlopCounterMode(display=False) as encoder_count:
                features = model.get_image_embeddings(pixel_values)
            image_embeddings = features if family == "sam" else list(features)
            with FlopCounterMode(display=False) as decoder_count:
                out = model(image_embeddings=image_embeddings, input_points=points, input_labels=labels)
    finally:
        for h in handles:
            h.remove()
    rows = []
    for part, step, name in chosen:
        if name in recorded:
            mod = modules[name]
            rows.append((part, step, name, type(mod).__name__, sum(p.numel() for p in mod.parameters()),
                         tuple(recorded[name])))
    params = {}
    for part, roots in _PART_ROOTS.items():
        tensors = {id(p): p for r in roots if r in modules for p in modules[r].parameters()}
        params[part] = sum(p.numel() for p in tensors.values())
    feats = features if isinstance(features, (list, tuple)) else [features]
    coarsest = feats[-1]
    return Anatomy(family, _merge(rows), params,
                   {"image_encoder": encoder_count.get_total_flops(),
                    "prompt_and_decoder": decoder_count.get_total_flops()},
                   tuple(pixel_values.shape), tuple(tuple(f.shape) for f in feats), tuple(out.pred_masks.shape),
                   tuple(out.iou_scores.shape), None if coarsest.is_meta else coarsest.detach().float().cpu())


def full_size(family: str = "sam") -> Anatomy:
    """The anatomy of the published architecture (SAM ViT-B, or SAM 2.1 Hiera tiny) on the meta device."""
    import transformers as tf

    config_cls, model_cls = {"sam": (tf.SamConfig, tf.SamModel), "sam2": (tf.Sam2Config, tf.Sam2Model)}[family]
    with torch.device("meta"):
        model = model_cls(config_cls()).eval()
    side = 1024
    pixels = torch.zeros(1, 3, side, side, device="meta")
    points = torch.zeros(1, 1, 1, 2, device="meta")
    labels = torch.ones(1, 1, 1, dtype=torch.long, device="meta")
    return trace(model, family, pixels, points, labels)


def pca_rgb(embedding: torch.Tensor, min_side: int = 256) -> np.ndarray:
    """An embedding (1, C, h, w) as an RGB picture: its three main directions as red, green, blue.

    Pixels whose feature vectors are alike get alike colours, so regions the encoder groups together show.
    Each embedding pixel becomes a square block (at least ``min_side`` pixels across in all), not a blur.
    """
    x = embedding[0].float().flatten(1).T  # (h·w, C): one feature vector per embedding pixel
    x = x - x.mean(0, keepdim=True)
    _, _, v = torch.linalg.svd(x, full_matrices=False)
    proj = x @ v[:3].T  # (h·w, 3)
    lo, hi = proj.quantile(0.02, dim=0), proj.quantile(0.98, dim=0)
    proj = ((proj - lo) / (hi - lo).clamp(min=1e-8)).clamp(0, 1)
    h, w = embedding.shape[-2:]
    picture = (proj.reshape(h, w, 3).numpy() * 255).astype(np.uint8)  # (h, w, 3)
    k = max(1, -(-min_side // max(h, w)))
    return picture.repeat(k, axis=0).repeat(k, axis=1)  # (k·h, k·w, 3)


def trace_loaded(loaded, image: np.ndarray, x: float, y: float) -> Anatomy:
    """:func:`trace` for a loaded SAM / SAM 2 bundle, on ``image`` with one foreground click at (x, y)."""
    from core.promptable.segment import Point, prompt_tensors

    inputs = loaded.processor(images=image, return_tensors="pt")
    pixels = inputs["pixel_values"].to(loaded.device)
    if loaded.kind == "sam":
        input_size = tuple(int(v) for v in inputs["reshaped_input_sizes"][0])
    else:
        input_size = tuple(pixels.shape[-2:])
    points, labels, _ = prompt_tensors(loaded, image.shape[:2], input_size, [Point(x, y, 1)], None)
    return trace(loaded.model, loaded.kind, pixels, points.to(loaded.device), labels.to(loaded.device))
