"""Drawing masks, clicks and boxes onto a picture (numpy and Pillow; the pages show the result as an image).

The pictures keep the original image's size, so the click component shown on top of them still returns
pixels of the original image.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from core.images import outline as mask_outline
from core.promptable.segment import Box, Point

__all__ = ["PALETTE", "color", "overlay_masks", "draw_prompts", "draw_boxes", "hex_color", "text_colour",
           "label_size"]

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


def text_colour(c: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black or white, whichever reads better on ``c`` (its relative luminance, as WCAG weighs it)."""
    lin = [(v / 255) / 12.92 if v <= 10 else ((v / 255 + 0.055) / 1.055) ** 2.4 for v in c]
    lum = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return (0, 0, 0) if (lum + 0.05) / 0.05 > 1.05 / (lum + 0.05) else (255, 255, 255)


def label_size(image_shape: tuple[int, ...]) -> int:
    """The tags' font size: about 1/28 of the picture's longer side, so a tag keeps its size on screen when
    the page shrinks the picture to its column (never under 14 px)."""
    return max(14, round(max(image_shape[:2]) / 28))


def _overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def draw_boxes(image: np.ndarray, boxes: list[Box], labels: list[str], colors: list[tuple[int, int, int]]
               ) -> np.ndarray:
    """Rectangles with a label tag at a corner, kept inside the picture and off the tags already drawn.

    A tag is the box's colour with black or white text (whichever contrasts, :func:`text_colour`) and a dark
    rim, so it reads on any picture; it goes above the box's top-left corner, else inside it, else at the
    bottom-left, whichever first overlaps no earlier tag.
    """
    pic = Image.fromarray(image)
    d = ImageDraw.Draw(pic)
    size = label_size(image.shape)
    font = _font(size)
    width = max(2, size // 6)
    h, w = image.shape[:2]
    placed: list[tuple[float, float, float, float]] = []
    for box, c in zip(boxes, colors):
        d.rectangle([box.x0, box.y0, box.x1, box.y1], outline=c, width=width)
    for box, label, c in zip(boxes, labels, colors):
        left, top, right, bottom = d.textbbox((0, 0), label, font=font)
        tw, th = right - left + 8, bottom - top + 6
        x = min(max(box.x0, 0), max(w - tw, 0))
        spots = [box.y0 - th, box.y0, box.y1 - th, box.y1]  # above, inside the top, inside the bottom, below
        spots = [min(max(y, 0), max(h - th, 0)) for y in spots]
        y = next((y for y in spots if not any(_overlaps((x, y, x + tw, y + th), r) for r in placed)), spots[0])
        placed.append((x, y, x + tw, y + th))
        d.rectangle([x, y, x + tw, y + th], fill=c, outline=(17, 24, 39), width=1)
        d.text((x + 4 - left, y + 3 - top), label, fill=text_colour(c), font=font)
    return np.asarray(pic).copy()
