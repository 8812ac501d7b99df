"""Scribbles to labels: the strokes a user paints become a sparse label map for training.

A stroke is ``{"label": class, "width": brush diameter, "points": [[x, y], ...]}`` in image pixels.
:func:`rasterize` draws the strokes in order (a later stroke paints over an earlier one) into a map
whose unpainted pixels hold ``ignore_index``, so a loss with that ``ignore_index`` learns from the
painted pixels alone.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

IGNORE_INDEX = 255


def rasterize(strokes: list[dict], shape: tuple[int, int], ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """An ``(H, W)`` uint8 map: each stroke's label along its path (round ends), ``ignore_index`` elsewhere."""
    h, w = shape
    canvas = Image.new("L", (w, h), ignore_index)
    draw = ImageDraw.Draw(canvas)
    for stroke in strokes:
        label = int(stroke["label"])
        if not 0 <= label < 255 or label == ignore_index:
            raise ValueError(f"stroke label {label} is not a class index (0–254, not {ignore_index})")
        width = max(1.0, float(stroke.get("width", 1)))
        pts = [(float(x), float(y)) for x, y in stroke.get("points", [])]
        if len(pts) > 1:
            draw.line(pts, fill=label, width=max(1, round(width)))
        r = width / 2
        for x, y in pts:  # round caps and joints, and single clicks
            draw.ellipse([x - r, y - r, x + r, y + r], fill=label)
    return np.asarray(canvas, dtype=np.uint8).copy()
