"""Drawing masks, clicks and boxes onto a picture (numpy and Pillow; the pages show the result as an image).

The pictures keep the original image's size, so the click component shown on top of them still returns
pixels of the original image.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from core.images import outline as mask_outline
from core.promptable.segment import Box, Point

__all__ = ["PALETTE", "color", "overlay_masks", "draw_prompts", "draw_boxes", "hex_color"]

# Distinct colours that stay apart on a projector (and for the common colour-vision deficiencies, mostly).
PALETTE = np.array([
    [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189], [140, 86, 75],
    [227, 119, 194], [23, 190, 207], [188, 189, 34], [127, 127, 127], [0, 92, 49], [153, 0, 0],
], dtype=np.uint8)
FOREGROUND = (22, 163, 74)  # a green dot: "this"
BACKGROUND = (220, 38, 38)  # a red dot: "not this"
BOX = (234, 88, 12)


def color(k: int) -> tuple[int, int, int]:
    return tuple(int(v) for v in PALETTE[k % len(PALETTE)])


def hex_color(k: int) -> str:
    return "#%02x%02x%02x" % color(k)


def overlay_masks(image: np.ndarray, masks, colors: list[tuple[int, int, int]] | None = None,
                  alpha: float = 0.5, outline: bool = True) -> np.ndarray:
    """Blend each (H, W) bool mask over ``image`` in its colour, later masks on top; outlines in the colour."""
    out = image.astype(np.float32).copy()
    for k, mask in enumerate(masks):
        mask = np.asarray(mask, bool)
        if mask.shape != image.shape[:2]:
            raise ValueError(f"mask {mask.shape} and image {image.shape[:2]} differ in size")
        c = np.array(colors[k] if colors is not None else color(k), np.float32)
        out[mask] = (1 - alpha) * out[mask] + alpha * c
        if outline:
            out[mask_outline(mask)] = c
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow before 10.1 has one size only
        return ImageFont.load_default()


def draw_prompts(image: np.ndarray, points: list[Point], box: Box | None = None) -> np.ndarray:
    """Clicks as dots (green: foreground, red with a bar: background) and the box as a rectangle."""
    pic = Image.fromarray(image)
    d = ImageDraw.Draw(pic)
    r = max(4, round(max(image.shape[:2]) / 90))
    width = max(2, r // 2)
    if box is not None:
        d.rectangle([box.x0, box.y0, box.x1, box.y1], outline=BOX, width=width)
    for p in points:
        fill = FOREGROUND if p.label else BACKGROUND
        d.ellipse([p.x - r, p.y - r, p.x + r, p.y + r], fill=fill, outline=(255, 255, 255), width=max(1, r // 3))
        if not p.label:
            d.line([p.x - r * 0.6, p.y, p.x + r * 0.6, p.y], fill=(255, 255, 255), width=max(1, r // 3))
    return np.asarray(pic).copy()


def draw_boxes(image: np.ndarray, boxes: list[Box], labels: list[str], colors: list[tuple[int, int, int]]
               ) -> np.ndarray:
    """Rectangles with a label tag at their top-left corner (kept inside the picture)."""
    pic = Image.fromarray(image)
    d = ImageDraw.Draw(pic)
    size = max(11, round(max(image.shape[:2]) / 45))
    font = _font(size)
    width = max(2, size // 6)
    for box, label, c in zip(boxes, labels, colors):
        d.rectangle([box.x0, box.y0, box.x1, box.y1], outline=c, width=width)
        left, top, right, bottom = d.textbbox((0, 0), label, font=font)
        tw, th = right - left + 6, bottom - top + 4
        x = min(max(box.x0, 0), image.shape[1] - tw)
        y = box.y0 - th if box.y0 - th >= 0 else box.y0
        d.rectangle([x, y, x + tw, y + th], fill=c)
        d.text((x + 3 - left, y + 2 - top), label, fill=(255, 255, 255), font=font)
    return np.asarray(pic).copy()
