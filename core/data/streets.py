r"""Synthetic street scenes for training: the classes of the lecture's labelled grid, drawn by code.

The classes are those of the lecture's street example: 0 background, 1 person, 2 purse, 3 plants/grass,
4 sidewalk, 5 building. Each scene is built in painter's order — sky, buildings with windows, grass,
a sidewalk with tiles, then people (head, body, thin arms and legs) with purses in front of them — so
occlusions happen naturally, and the mask is written with the same shapes as the pixels, so it matches
what was drawn exactly.

What makes it a real (small) segmentation problem rather than colour thresholding: colours jitter per
object and per pixel, textures (windows, grass strokes, tiles) repeat the colours of other classes in
places, and the thin limbs and small purses are only a pixel or two wide at low resolution, so the
quality of a decoder's upsampling shows at the boundaries.

Everything is deterministic by ``seed``: the same seed and size give the same image and mask.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from core.data.constants import (
    IGNORE_INDEX,
    IMAGENET_MEAN,
    IMAGENET_STD,
    STREET_CLASSES,
    STREET_PALETTE,
)

CLASSES = STREET_CLASSES  # the names this module's masks use
PALETTE = STREET_PALETTE
__all__ = ["CLASSES", "PALETTE", "IGNORE_INDEX", "make_street", "to_tensor", "to_image", "SyntheticStreets"]


@dataclass(frozen=True)
class _Canvas:
    yy: np.ndarray  # (H, W) row coordinate of every pixel
    xx: np.ndarray  # (H, W) column coordinate of every pixel
    image: np.ndarray  # (H, W, 3) float32 in [0, 255]
    mask: np.ndarray  # (H, W) int64 class per pixel

    def paint(self, region: np.ndarray, cls: int, colour: np.ndarray, rng: np.random.Generator,
              noise: float = 12.0) -> None:
        """Fill ``region`` with a jittered colour and write ``cls`` into the mask there."""
        n = int(region.sum())
        if n == 0:
            return
        self.image[region] = colour + rng.normal(0, noise, size=(n, 3))
        self.mask[region] = cls


def _jitter(rng: np.random.Generator, base, spread: float = 25.0) -> np.ndarray:
    return np.clip(np.asarray(base, dtype=np.float32) + rng.normal(0, spread, 3), 0, 255)


def _ellipse(c: _Canvas, cy, cx, ry, rx) -> np.ndarray:
    return ((c.yy - cy) / max(ry, 0.5)) ** 2 + ((c.xx - cx) / max(rx, 0.5)) ** 2 <= 1.0


def _segment(c: _Canvas, y0, x0, y1, x1, width) -> np.ndarray:
    """Pixels within ``width/2`` of the segment (y0, x0)–(y1, x1): a limb."""
    dy, dx = y1 - y0, x1 - x0
    length2 = dy * dy + dx * dx or 1.0
    t = np.clip(((c.yy - y0) * dy + (c.xx - x0) * dx) / length2, 0, 1)
    return (c.yy - (y0 + t * dy)) ** 2 + (c.xx - (x0 + t * dx)) ** 2 <= (width / 2) ** 2


def _person(c: _Canvas, rng: np.random.Generator, feet_y: float, x: float, height: float) -> None:
    skin = _jitter(rng, (225, 80, 75), 20)
    head_r = height * 0.09
    body_top, body_bottom = feet_y - height * 0.8, feet_y - height * 0.42
    limb = max(1.0, height * 0.06)
    region = _ellipse(c, feet_y - height + head_r, x, head_r, head_r)
    region |= _ellipse(c, (body_top + body_bottom) / 2, x, (body_bottom - body_top) / 2, height * 0.12)
    stride = rng.uniform(0.05, 0.16) * height
    region |= _segment(c, body_bottom, x - height * 0.04, feet_y, x - stride, limb)  # legs
    region |= _segment(c, body_bottom, x + height * 0.04, feet_y, x + stride, limb)
    hand_x = x + rng.choice([-1, 1]) * height * 0.22
    hand_y = body_top + height * 0.3
    region |= _segment(c, body_top + height * 0.04, x, hand_y, hand_x, limb * 0.9)  # arms
    region |= _segment(c, body_top + height * 0.04, x, hand_y, 2 * x - hand_x, limb * 0.9)
    c.paint(region, 1, skin, rng)
    if rng.random() < 0.7:  # a purse hanging from one hand, in front of the body
        size = height * rng.uniform(0.09, 0.14)
        purse = (np.abs(c.yy - (hand_y + size * 0.7)) <= size * 0.6) & (np.abs(c.xx - hand_x) <= size * 0.7)
        c.paint(purse, 2, _jitter(rng, (245, 205, 50), 15), rng, noise=8)


def make_street(seed: int, size: int | tuple[int, int] = 96) -> tuple[np.ndarray, np.ndarray]:
    """One street scene: ``(image (H, W, 3) uint8, mask (H, W) int64 with classes 0–5)``."""
    h, w = (size, size) if isinstance(size, int) else size
    if h < 8 or w < 8:
        raise ValueError(f"a scene needs at least 8×8 pixels, got {h}×{w}")
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    c = _Canvas(yy, xx, np.zeros((h, w, 3), np.float32), np.zeros((h, w), np.int64))
    # Background: a sky gradient with clutter (blobs in every class's colours, still background).
    sky = _jitter(rng, (40, 40, 50), 15)
    c.image[:] = sky + (yy[..., None] / h) * rng.uniform(-30, 30, 3) + rng.normal(0, 10, (h, w, 3))
    for _ in range(rng.integers(2, 6)):
        blob = _ellipse(c, rng.uniform(0, h * 0.5), rng.uniform(0, w), rng.uniform(1, h * 0.06),
                        rng.uniform(1, w * 0.06))
        c.image[blob] = _jitter(rng, PALETTE[rng.integers(1, 6)], 40) * 0.6
    horizon = h * rng.uniform(0.35, 0.6)
    # Buildings standing on the horizon, with window grids of sky-like colour.
    x = rng.uniform(-0.2, 0.1) * w
    while x < w:
        bw = w * rng.uniform(0.15, 0.35)
        top = horizon - h * rng.uniform(0.15, 0.45)
        wall = (xx >= x) & (xx < x + bw) & (yy >= top) & (yy < horizon + h * 0.05)
        if rng.random() < 0.8:
            c.paint(wall, 5, _jitter(rng, (95, 110, 195), 30), rng)
            period = max(3.0, w * rng.uniform(0.04, 0.07))
            windows = wall & ((xx - x) % period < period * 0.45) & ((yy - top) % period < period * 0.5)
            c.image[windows] = _jitter(rng, (35, 40, 60), 15)
        x += bw + w * rng.uniform(0.0, 0.15)
    # Ground: grass and a sidewalk band with tile lines.
    ground = yy >= horizon
    c.paint(ground, 3, _jitter(rng, (60, 165, 70), 20), rng, noise=18)
    strokes = ground & ((xx * 0.7 + yy * 1.3 + rng.uniform(0, 5)) % 5 < 1)
    c.image[strokes] *= 0.7
    walk_top = horizon + (h - horizon) * rng.uniform(0.2, 0.5)
    walk_bottom = walk_top + (h - horizon) * rng.uniform(0.25, 0.5)
    walk = (yy >= walk_top) & (yy < walk_bottom)
    c.paint(walk, 4, _jitter(rng, (170, 170, 185), 15), rng, noise=10)
    tile = max(3.0, w * 0.08)
    c.image[walk & ((xx % tile < 1) | ((yy - walk_top) % tile < 1))] *= 0.75
    if rng.random() < 0.6:  # a bush on the grass
        bush = _ellipse(c, rng.uniform(horizon, h), rng.uniform(0, w), h * rng.uniform(0.04, 0.1),
                        w * rng.uniform(0.06, 0.14))
        c.paint(bush, 3, _jitter(rng, (40, 130, 50), 15), rng, noise=20)
    # People, far ones first so near ones occlude them.
    people = sorted(rng.uniform(horizon + 2, h + h * 0.05, size=rng.integers(1, 4)))
    for feet in people:
        height = (feet - horizon + h * 0.1) * rng.uniform(0.9, 1.5)
        _person(c, rng, feet, rng.uniform(0.1, 0.9) * w, height)
    image = np.clip(c.image + 0.5, 0, 255).astype(np.uint8)
    return image, c.mask


MEAN = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)  # inputs are normalised as pretrained backbones expect
STD = torch.tensor(IMAGENET_STD).view(3, 1, 1)


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """``(H, W, 3)`` uint8 → normalised ``(3, H, W)`` float32."""
    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float() / 255.0  # (3, H, W)
    return (x - MEAN) / STD


def to_image(x: torch.Tensor) -> np.ndarray:
    """The inverse of :func:`to_tensor`, for showing an input batch."""
    img = (x.detach().cpu().float() * STD + MEAN).clamp(0, 1) * 255  # (3, H, W)
    return img.permute(1, 2, 0).round().byte().numpy()


class SyntheticStreets(torch.utils.data.Dataset):
    """``length`` scenes, scene ``i`` drawn from seed ``seed * 1_000_003 + i``; items ``(x, mask)``."""

    classes = CLASSES
    palette = PALETTE

    def __init__(self, length: int, size: int | tuple[int, int] = 96, seed: int = 0):
        self.length, self.size, self.seed = length, size, seed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not 0 <= i < self.length:
            raise IndexError(i)
        image, mask = make_street(self.seed * 1_000_003 + i, self.size)
        return to_tensor(image), torch.from_numpy(mask)

    def batch(self, indices) -> tuple[torch.Tensor, torch.Tensor]:
        xs, ys = zip(*(self[i] for i in indices))
        return torch.stack(xs), torch.stack(ys)  # (N, 3, H, W), (N, H, W)
