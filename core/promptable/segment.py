r"""Prompting SAM and SAM 2 on an image: points, a box, and "everything", with the embedding computed once.

The split that makes SAM interactive::

    image ──image encoder (heavy, once)──► embedding (256×64×64 for SAM)
    clicks, box ──prompt encoder (tiny)──► sparse tokens ─┐
                                                          ├─ mask decoder (light) ─► 3 masks + 3 IoU guesses
    embedding ────────────────────────────────────────────┘

:class:`Segmenter` wraps either model behind one interface: :meth:`~Segmenter.embed` runs the image
encoder, :meth:`~Segmenter.predict` runs only the prompt encoder and the mask decoder on a stored
:class:`Embedding`. :class:`EmbeddingCache` keeps embeddings keyed by the hash of the image's pixels, so
every further click on the same picture skips the encoder.

**Three candidates.** One click is ambiguous: on a shirt it may mean the shirt, the person or the crowd.
SAM answers with three masks (roughly part, object, whole) and, for each, a guess of its own IoU with the
intended mask; the page keeps the highest guess, as SAM's own demo does.

**Everything.** :meth:`~Segmenter.everything` prompts a regular grid of single points, all against the
one embedding, keeps confident and stable candidates and removes duplicates with a greedy non-maximum
suppression on mask IoU (:func:`mask_nms`).

Coordinates are always pixels of the original image, ``(x, y)`` with ``x`` to the right.
"""
from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch

from core.promptable.models import Loaded

__all__ = ["Point", "Box", "parse_prompts", "image_key", "Embedding", "Prediction", "Segments", "Segmenter",
           "EmbeddingCache", "prompt_tensors", "grid_points", "stability_score", "mask_iou_matrix",
           "mask_nms"]


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: int = 1  # 1: foreground ("this"), 0: background ("not this")


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    def as_list(self) -> list[float]:
        return [self.x0, self.y0, self.x1, self.y1]


def parse_prompts(items: list[dict]) -> tuple[list[Point], Box | None]:
    """The page's prompt list (``{"kind": "point", "x", "y", "label"}`` / ``{"kind": "box", ...}``) as objects.

    SAM takes one box per mask: the latest box wins. Malformed items are skipped.
    """
    points, box = [], None
    for item in items:
        try:
            if item.get("kind") == "point":
                points.append(Point(float(item["x"]), float(item["y"]), 1 if int(item.get("label", 1)) else 0))
            elif item.get("kind") == "box":
                x0, x1 = sorted((float(item["x0"]), float(item["x1"])))
                y0, y1 = sorted((float(item["y0"]), float(item["y1"])))
                box = Box(x0, y0, x1, y1)
        except (KeyError, TypeError, ValueError):
            continue
    return points, box


def image_key(image: np.ndarray) -> str:
    """A fingerprint of the pixels: two arrays with the same shape and values get the same key."""
    a = np.ascontiguousarray(image)
    digest = hashlib.blake2b(a.tobytes(), digest_size=16)
    digest.update(str((a.shape, a.dtype.str)).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class Embedding:
    """What the image encoder produced for one image, and how long it took."""

    image_key: str
    model_key: str
    features: tuple[torch.Tensor, ...]  # SAM: (embedding,); SAM 2: three levels, finest first
    original_size: tuple[int, int]  # (H, W) of the image as given
    input_size: tuple[int, int]  # the part of the model's square input the image fills, after resizing
    seconds: float  # preprocessing + image encoder

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the embedding the mask decoder attends to (the coarsest level)."""
        return tuple(self.features[-1].shape)


@dataclass(frozen=True)
class Prediction:
    masks: np.ndarray  # (K, H, W) bool at the original size; K = 3 candidates, or 1
    scores: np.ndarray  # (K,) the decoder's guess of each mask's IoU
    best: int  # index of the candidate kept: the highest guess
    low_res: torch.Tensor  # (K, h, w) mask logits as the decoder returned them (256×256 for SAM)
    seconds: float  # prompt encoder + mask decoder + upscaling to the original size

    @property
    def mask(self) -> np.ndarray:
        return self.masks[self.best]


@dataclass(frozen=True)
class Segments:
    """The result of "everything": one mask per segment found, and what each filter removed."""

    masks: np.ndarray  # (K, H, W) bool, largest first
    scores: np.ndarray  # (K,) predicted IoU
    stability: np.ndarray  # (K,) stability score
    low_res: np.ndarray  # (K, h, w) bool: the same masks at the decoder's resolution, where duplicates were judged
    n_points: int  # grid points prompted
    n_candidates: int  # masks returned (3 per point)
    n_confident: int  # left after the IoU-guess and stability thresholds
    n_kept: int  # left after removing duplicates
    seconds: float


def grid_points(height: int, width: int, per_side: int) -> np.ndarray:
    """``per_side²`` points at the centres of a regular grid over the image, shape (per_side², 2) as (x, y)."""
    xs = (np.arange(per_side) + 0.5) / per_side * width
    ys = (np.arange(per_side) + 0.5) / per_side * height
    gx, gy = np.meshgrid(xs, ys)  # (per_side, per_side) each
    return np.stack([gx.ravel(), gy.ravel()], axis=1)  # (per_side², 2)


def stability_score(logits: torch.Tensor, threshold: float = 0.0, offset: float = 1.0) -> torch.Tensor:
    r"""How little a mask changes when its threshold moves by ``offset``: :math:`|l > t+o| / |l > t-o|`.

    A mask with a crisp boundary (logits far from the threshold) scores near 1; a vague one much lower.
    """
    high = (logits > threshold + offset).flatten(-2).sum(-1).float()
    low = (logits > threshold - offset).flatten(-2).sum(-1).float()
    return torch.where(low > 0, high / low.clamp(min=1), torch.zeros_like(low))


def mask_iou_matrix(masks: torch.Tensor) -> torch.Tensor:
    """IoU of every pair of masks ``(N, H, W)`` bool → ``(N, N)``; two empty masks count as IoU 0."""
    flat = masks.flatten(1).float()  # (N, H·W)
    inter = flat @ flat.T  # (N, N) pixels in both
    area = flat.sum(1)
    union = area[:, None] + area[None, :] - inter
    return torch.where(union > 0, inter / union.clamp(min=1), torch.zeros_like(inter))


def mask_nms(masks: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy non-maximum suppression on masks: indices kept, best score first.

    Take the best mask; drop every other mask that overlaps it with IoU above ``iou_threshold``; repeat
    with the best mask left. For filled rectangles this is exactly ``torchvision.ops.nms`` on their boxes.
    """
    if masks.shape[0] == 0:
        return torch.zeros(0, dtype=torch.long)
    order = torch.argsort(scores, descending=True, stable=True)
    iou = mask_iou_matrix(masks[order]).double()  # compared in double precision, as torchvision's nms does
    suppressed = torch.zeros(len(order), dtype=torch.bool)
    keep = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= iou[i] > iou_threshold
    return order[torch.tensor(keep, dtype=torch.long)]


def prompt_tensors(loaded: Loaded, original_size: tuple[int, int], input_size: tuple[int, int],
                   points: list[Point], box: Box | None):
    """Prompts in original pixels → model inputs: points ``(1, 1, N, 2)``, labels ``(1, 1, N)``, box ``(1, 1, 4)``.

    SAM keeps the aspect ratio (the longest side becomes 1024, ``input_size`` is the resized size);
    SAM 2 stretches the image to a square, so x and y scale differently (its processor does it).
    """
    if loaded.kind == "sam":
        h, w = original_size
        new_h, new_w = input_size
        scale = torch.tensor([new_w / w, new_h / h])
        coords = (torch.tensor([[p.x, p.y] for p in points], dtype=torch.float32) * scale  # (N, 2)
                  if points else None)
        boxes = (torch.tensor(box.as_list(), dtype=torch.float32).view(2, 2) * scale).view(1, 1, 4) if box else None
        labels = torch.tensor([[[p.label for p in points]]], dtype=torch.int64) if points else None
        return (coords.view(1, 1, -1, 2) if coords is not None else None), labels, boxes
    encoded = loaded.processor(
        input_points=[[[[p.x, p.y] for p in points]]] if points else None,
        input_labels=[[[p.label for p in points]]] if points else None,
        input_boxes=[[box.as_list()]] if box else None,
        original_sizes=[list(original_size)], return_tensors="pt")
    return encoded.get("input_points"), encoded.get("input_labels"), encoded.get("input_boxes")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Segmenter:
    """SAM or SAM 2 (a :class:`Loaded` bundle of kind ``sam`` or ``sam2``) behind one prompt interface."""

    def __init__(self, loaded: Loaded):
        if loaded.kind not in ("sam", "sam2"):
            raise ValueError(f"a Segmenter needs a SAM or SAM 2 model, not {loaded.kind}")
        self.loaded = loaded
        self.model = loaded.model
        self.processor = loaded.processor
        self.device = loaded.device
        self.key = f"{loaded.key}@{loaded.device}"

    # --- the image encoder ------------------------------------------------------------------------
    def embed(self, image: np.ndarray) -> Embedding:
        """Run the image encoder once (the expensive part) and keep its output."""
        h, w = image.shape[:2]
        start = time.perf_counter()
        inputs = self.processor(images=image, return_tensors="pt")
        pixels = inputs["pixel_values"].to(self.device)  # (1, 3, S, S): resized, normalised, padded
        with torch.inference_mode():
            features = self.model.get_image_embeddings(pixels)
        if self.loaded.kind == "sam":
            features = (features,)  # (1, 256, 64, 64) for the real SAM
            input_size = tuple(int(v) for v in inputs["reshaped_input_sizes"][0])
        else:
            features = tuple(features)  # finest to coarsest: (1, 32, 256, 256), (1, 64, 128, 128), (1, 256, 64, 64)
            input_size = tuple(pixels.shape[-2:])
        _sync(self.device)
        return Embedding(image_key(image), self.key, features, (h, w), input_size, time.perf_counter() - start)

    # --- prompts → model inputs -------------------------------------------------------------------
    def prompt_tensors(self, emb: Embedding, points: list[Point], box: Box | None,
                       ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        """Points ``(1, 1, N, 2)``, labels ``(1, 1, N)`` and box ``(1, 1, 4)`` in the model's input pixels."""
        return prompt_tensors(self.loaded, emb.original_size, emb.input_size, points, box)

    def _decode(self, emb: Embedding, points, labels, boxes, multimask: bool):
        def dev(t):
            return t.to(self.device) if t is not None else None

        image_embeddings = emb.features[0] if self.loaded.kind == "sam" else list(emb.features)
        with torch.inference_mode():
            out = self.model(image_embeddings=image_embeddings, input_points=dev(points), input_labels=dev(labels),
                             input_boxes=dev(boxes), multimask_output=multimask)
        return out.pred_masks.float().cpu(), out.iou_scores.float().cpu()  # (1, P, K, h, w), (1, P, K)

    def _to_original(self, emb: Embedding, low_res: torch.Tensor) -> torch.Tensor:
        """Low-resolution logits ``(P, K, h, w)`` → logits at the original size ``(P, K, H, W)``."""
        if self.loaded.kind == "sam":
            return self.processor.post_process_masks(low_res[None], [emb.original_size], [emb.input_size],
                                                     binarize=False)[0]
        return self.processor.post_process_masks(low_res[None], [emb.original_size], binarize=False)[0]

    # --- one object ---------------------------------------------------------------------------------
    def predict(self, emb: Embedding, points: list[Point], box: Box | None = None,
                multimask: bool = True) -> Prediction | None:
        """Masks for one object from clicks and/or a box; None when there is no prompt yet."""
        if not points and box is None:
            return None
        start = time.perf_counter()
        pts, labels, boxes = self.prompt_tensors(emb, points, box)
        low_res, scores = self._decode(emb, pts, labels, boxes, multimask)
        logits = self._to_original(emb, low_res[0])[0]  # (K, H, W)
        _sync(self.device)
        seconds = time.perf_counter() - start
        scores = scores[0, 0].numpy()
        return Prediction((logits > 0).numpy(), scores, int(np.argmax(scores)), low_res[0, 0], seconds)

    def predict_boxes(self, emb: Embedding, boxes: list[Box]) -> tuple[np.ndarray, np.ndarray, float]:
        """One mask per box, all in one decoder call: masks ``(B, H, W)`` bool, IoU guesses ``(B,)``, seconds."""
        h, w = emb.original_size
        if not boxes:
            return np.zeros((0, h, w), bool), np.zeros(0, np.float32), 0.0
        start = time.perf_counter()
        rows = [self.prompt_tensors(emb, [], b)[2] for b in boxes]  # each (1, 1, 4)
        tensor = torch.cat(rows, dim=1)  # (1, B, 4): one box per mask to predict
        low_res, scores = self._decode(emb, None, None, tensor, multimask=False)
        logits = self._to_original(emb, low_res[0])  # (B, 1, H, W)
        _sync(self.device)
        return (logits[:, 0] > 0).numpy(), scores[0, :, 0].numpy(), time.perf_counter() - start

    # --- everything ---------------------------------------------------------------------------------
    def everything(self, emb: Embedding, per_side: int = 16, iou_threshold: float = 0.88,
                   stability_threshold: float = 0.92, nms_threshold: float = 0.7, min_area: float = 0.0005,
                   batch: int = 32) -> Segments:
        """Segment everything: prompt a ``per_side × per_side`` grid of points and keep distinct, confident masks.

        ``min_area`` is a share of the image: smaller masks are dropped as specks.
        """
        start = time.perf_counter()
        h, w = emb.original_size
        grid = grid_points(h, w, per_side)
        kept_logits, kept_scores, kept_stability = [], [], []
        n_candidates = 0
        for i in range(0, len(grid), batch):
            chunk = [Point(float(x), float(y)) for x, y in grid[i:i + batch]]
            per_point = [self.prompt_tensors(emb, [p], None) for p in chunk]
            pts = torch.cat([p[0] for p in per_point], dim=1)  # (1, P, 1, 2): P prompts, one point each
            labels = torch.cat([p[1] for p in per_point], dim=1)  # (1, P, 1)
            low_res, scores = self._decode(emb, pts, labels, None, multimask=True)
            low_res, scores = low_res[0].flatten(0, 1), scores[0].flatten()  # (P·3, h, w), (P·3,)
            n_candidates += len(scores)
            stability = stability_score(low_res)
            ok = (scores >= iou_threshold) & (stability >= stability_threshold)
            kept_logits.append(low_res[ok])
            kept_scores.append(scores[ok])
            kept_stability.append(stability[ok])
        logits = torch.cat(kept_logits) if kept_logits else torch.zeros(0, 1, 1)
        scores = torch.cat(kept_scores) if kept_scores else torch.zeros(0)
        stability = torch.cat(kept_stability) if kept_stability else torch.zeros(0)
        n_confident = len(scores)
        # Duplicates are removed at the decoder's resolution (cheap), then only survivors are upscaled.
        keep = mask_nms(logits > 0, scores, nms_threshold)
        masks = (self._to_original(emb, logits[keep][:, None])[:, 0] > 0).numpy() if len(keep) else \
            np.zeros((0, h, w), bool)
        low = (logits[keep] > 0).numpy()
        scores, stability = scores[keep].numpy(), stability[keep].numpy()
        areas = masks.reshape(len(masks), h * w).sum(1)
        order = [int(i) for i in np.argsort(-areas, kind="stable") if areas[i] >= min_area * h * w]
        # Largest first, so that small parts are painted on top; specks below min_area are dropped.
        return Segments(masks[order], scores[order], stability[order], low[order], len(grid), n_candidates,
                        n_confident, len(order), time.perf_counter() - start)


class EmbeddingCache:
    """Image embeddings keyed by (model, device, pixels), the least recently used dropped first.

    ``encoder_runs`` counts how often the image encoder actually ran: a second click on the same image
    leaves it unchanged. Safe to share between the sessions of a server (a lock guards the table).
    """

    def __init__(self, max_entries: int = 8):
        self.max_entries = max_entries
        self.encoder_runs = 0
        self._items: OrderedDict[tuple[str, str], Embedding] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, segmenter: Segmenter, image: np.ndarray) -> tuple[Embedding, bool]:
        """The embedding of ``image`` and whether it was computed now (True) or found (False)."""
        key = (segmenter.key, image_key(image))
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found, False
        emb = segmenter.embed(image)  # outside the lock: other users' clicks need not wait
        with self._lock:
            self._items[key] = emb
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
            self.encoder_runs += 1
        return emb, True

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

