r"""From a sentence to masks: Grounding DINO finds boxes for the words, SAM fills each box with a mask.

**Grounding DINO** (Liu et al., 2023) is a DETR-style detector whose classes are the words of the prompt.
An image backbone (Swin) and a text encoder (BERT) are fused layer by layer; 900 object queries each
predict a box and, for every *token* of the prompt, a logit saying how well the box matches that token.
The prompt lists the things to find as phrases ended by a full stop, ``"horse. clouds. grass. sky. hill."``.

For each query, :func:`detect` takes

* the **box score**: the highest token probability :math:`\max_t \sigma(\ell_{q,t})`, kept when above the
  box threshold;
* the **phrase**: the phrase whose best token scores highest, kept when that score is above the text
  threshold (otherwise the box matches no phrase clearly and is dropped).

Boxes of the same phrase that overlap a lot are merged by non-maximum suppression (torchvision's
``batched_nms``). **Grounded SAM** (Ren et al., 2024) then gives every box to SAM as a box prompt, all
against one image embedding (:meth:`Segmenter.predict_boxes <core.promptable.segment.Segmenter.predict_boxes>`).

**SAM 3** (Carion et al., 2025) takes the phrase itself as the prompt: its detector and mask head share one
image encoder with a text encoder, and it returns every instance of the concept with a mask at once
(:func:`sam3_segment`); the image features are computed once and reused for every phrase.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass

import numpy as np
import torch

from core.promptable.models import Loaded
from core.promptable.segment import Box

__all__ = ["LECTURE_PROMPT", "split_phrases", "normalise_prompt", "Detection", "Detections", "RawDetections",
           "detect_raw", "select", "detect", "phrase_token_spans", "ConceptMasks", "sam3_segment"]

LECTURE_PROMPT = "horse. clouds. grass. sky. hill."


def split_phrases(text: str) -> list[str]:
    """``"Horse. Clouds.  grass"`` → ``["horse", "clouds", "grass"]``: lower case, split at full stops."""
    parts = re.split(r"[.;\n]", text.lower())
    return [" ".join(p.split()) for p in parts if p.strip()]


def normalise_prompt(text: str) -> str:
    """The form Grounding DINO was trained on: lower-case phrases, each ended by ``". "``."""
    return " ".join(f"{p}." for p in split_phrases(text))


@dataclass(frozen=True)
class Detection:
    box: Box  # original-image pixels
    score: float  # the box score: best token probability
    phrase: str  # the phrase the box was matched to
    phrase_score: float  # that phrase's best token probability


@dataclass(frozen=True)
class Detections:
    items: list[Detection]  # best score first
    phrases: list[str]
    token_probs: np.ndarray  # (kept boxes, phrases) best token probability of each phrase, for the table
    n_queries: int
    seconds: float


def phrase_token_spans(input_ids: list[int], tokenizer) -> list[tuple[int, int]]:
    """Token positions ``[start, end)`` of each phrase: runs of tokens between full stops and special tokens."""
    stop = tokenizer.convert_tokens_to_ids(".")
    special = set(tokenizer.all_special_ids)
    spans, start = [], None
    for i, tid in enumerate(input_ids):
        if tid == stop or tid in special:
            if start is not None:
                spans.append((start, i))
                start = None
        elif start is None:
            start = i
    if start is not None:
        spans.append((start, len(input_ids)))
    return spans


@dataclass(frozen=True)
class RawDetections:
    """Everything the detector said about one image and prompt, before any threshold."""

    phrases: list[str]
    boxes: torch.Tensor  # (queries, 4) x0, y0, x1, y1 in original-image pixels
    box_scores: torch.Tensor  # (queries,) best token probability of each query
    phrase_scores: torch.Tensor  # (queries, phrases) best token probability within each phrase
    seconds: float


def detect_raw(loaded: Loaded, image: np.ndarray, text: str) -> RawDetections:
    """Run Grounding DINO once on ``image`` and the phrases of ``text``; thresholds come later (:func:`select`)."""
    if loaded.kind != "grounding_dino":
        raise ValueError(f"detect needs Grounding DINO, not {loaded.kind}")
    phrases = split_phrases(text)
    h, w = image.shape[:2]
    if not phrases:
        return RawDetections([], torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, 0), 0.0)
    start = time.perf_counter()
    inputs = loaded.processor(images=image, text=normalise_prompt(text), return_tensors="pt").to(loaded.device)
    with torch.inference_mode():
        out = loaded.model(**inputs)
    ids = inputs["input_ids"][0].tolist()
    probs = out.logits[0].float().sigmoid().cpu()[:, : len(ids)]  # (queries, tokens of the prompt)
    spans = phrase_token_spans(ids, loaded.processor.tokenizer)
    phrases = phrases[: len(spans)]  # a prompt longer than the text encoder's limit loses its last phrases
    per_phrase = torch.stack([probs[:, a:b].max(dim=1).values for a, b in spans[: len(phrases)]], dim=1)
    cx, cy, bw, bh = out.pred_boxes[0].float().cpu().unbind(-1)  # centre and size, as fractions of the image
    boxes = torch.stack([((cx - bw / 2) * w).clamp(0, w), ((cy - bh / 2) * h).clamp(0, h),
                         ((cx + bw / 2) * w).clamp(0, w), ((cy + bh / 2) * h).clamp(0, h)], dim=1)  # (queries, 4)
    if loaded.device.type == "cuda":
        torch.cuda.synchronize(loaded.device)
    return RawDetections(phrases, boxes, probs.max(dim=1).values, per_phrase, time.perf_counter() - start)


def select(raw: RawDetections, box_threshold: float = 0.35, text_threshold: float = 0.25,
           nms_threshold: float = 0.8) -> Detections:
    """Keep the queries whose box score and best phrase score pass the thresholds; merge duplicates per phrase."""
    from torchvision.ops import batched_nms

    if not raw.phrases:
        return Detections([], [], np.zeros((0, 0)), 0, raw.seconds)
    best_phrase = raw.phrase_scores.argmax(dim=1)
    best_phrase_score = raw.phrase_scores.max(dim=1).values
    keep = (raw.box_scores > box_threshold) & (best_phrase_score > text_threshold)
    idx = torch.nonzero(keep).flatten()
    if len(idx):
        idx = idx[batched_nms(raw.boxes[idx], raw.box_scores[idx], best_phrase[idx], nms_threshold)]
    items = [Detection(Box(*raw.boxes[i].tolist()), float(raw.box_scores[i]), raw.phrases[int(best_phrase[i])],
                       float(best_phrase_score[i])) for i in idx]
    return Detections(items, raw.phrases, raw.phrase_scores[idx].numpy(), len(raw.box_scores), raw.seconds)


def detect(loaded: Loaded, image: np.ndarray, text: str, box_threshold: float = 0.35,
           text_threshold: float = 0.25, nms_threshold: float = 0.8) -> Detections:
    """Boxes for the phrases of ``text`` in ``image`` with Grounding DINO (see the module docstring)."""
    return select(detect_raw(loaded, image, text), box_threshold, text_threshold, nms_threshold)


@dataclass(frozen=True)
class ConceptMasks:
    phrase: str
    masks: np.ndarray  # (N, H, W) bool, one per instance found
    scores: np.ndarray  # (N,)
    boxes: list[Box]


def sam3_segment(loaded: Loaded, image: np.ndarray, text: str, threshold: float = 0.5,
                 mask_threshold: float = 0.5) -> tuple[list[ConceptMasks], float]:
    """Every instance of every phrase of ``text`` with SAM 3; the image is encoded once for all phrases."""
    if loaded.kind != "sam3":
        raise ValueError(f"sam3_segment needs SAM 3, not {loaded.kind}")
    h, w = image.shape[:2]
    start = time.perf_counter()
    pixels = loaded.processor(images=image, return_tensors="pt")["pixel_values"].to(loaded.device)
    results = []
    with torch.inference_mode():
        vision = loaded.model.get_vision_features(pixel_values=pixels)
        for phrase in split_phrases(text):
            tokens = loaded.processor(text=phrase, return_tensors="pt").to(loaded.device)
            out = loaded.model(vision_embeds=vision, input_ids=tokens["input_ids"],
                               attention_mask=tokens["attention_mask"])
            found = loaded.processor.post_process_instance_segmentation(
                out, threshold=threshold, mask_threshold=mask_threshold, target_sizes=[(h, w)])[0]
            masks = found["masks"].bool().cpu().numpy().reshape(-1, h, w)
            results.append(ConceptMasks(phrase, masks, found["scores"].float().cpu().numpy(),
                                        [Box(*b) for b in found["boxes"].float().cpu().tolist()]))
    return results, time.perf_counter() - start
