"""Sample pictures and a sample video for the Segment Anything pages, drawn by code (nothing downloaded).

* :func:`landscape` is the lecture's Grounded SAM example rebuilt: sky, clouds, a hill, grass and a horse,
  with the true mask of each, so a text prompt like "horse. clouds. grass. sky. hill." has something to find.
* :func:`moving_video` renders a short clip: a ball rolls across the landscape and passes behind a post,
  so a tracker has to keep the object through motion and a partial occlusion.

Both are deterministic: the same arguments give the same pixels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

__all__ = ["Sample", "landscape", "moving_video", "LANDSCAPE_PARTS"]

LANDSCAPE_PARTS = ("sky", "clouds", "hill", "grass", "horse")


@dataclass(frozen=True)
class Sample:
    image: np.ndarray  # (H, W, 3) uint8 RGB
    masks: dict[str, np.ndarray]  # part name → (H, W) bool, what is visible of it


def _polygon_mask(size: tuple[int, int], draw_fn) -> np.ndarray:
    h, w = size
    canvas = Image.new("L", (w, h), 0)
    draw_fn(ImageDraw.Draw(canvas), w, h)
    return np.asarray(canvas) > 0


def _horse(d: ImageDraw.ImageDraw, w: int, h: int, cx: float, cy: float, s: float) -> None:
    """A horse facing left, from ellipses and thick lines; (cx, cy) is the middle of its body, s its scale."""
    u = s * h  # one body-height in pixels
    x, y = cx * w, cy * h
    d.ellipse([x - 0.9 * u, y - 0.38 * u, x + 0.9 * u, y + 0.38 * u], fill=255)  # body
    d.polygon([(x - 0.55 * u, y - 0.25 * u), (x - 1.05 * u, y - 1.0 * u), (x - 0.78 * u, y - 1.1 * u),
               (x - 0.25 * u, y - 0.2 * u)], fill=255)  # neck
    d.ellipse([x - 1.45 * u, y - 1.2 * u, x - 0.8 * u, y - 0.85 * u], fill=255)  # head
    d.polygon([(x - 0.95 * u, y - 1.18 * u), (x - 0.88 * u, y - 1.4 * u), (x - 0.82 * u, y - 1.15 * u)],
              fill=255)  # ear
    leg = max(2, int(0.16 * u))
    for lx, bend in ((-0.62, -0.1), (-0.38, 0.08), (0.45, -0.06), (0.7, 0.1)):
        top = (x + lx * u, y + 0.15 * u)
        knee = (x + (lx + bend) * u, y + 0.75 * u)
        foot = (x + (lx + bend / 2) * u, y + 1.25 * u)
        d.line([top, knee, foot], fill=255, width=leg, joint="curve")
    d.line([(x + 0.85 * u, y - 0.15 * u), (x + 1.2 * u, y + 0.3 * u), (x + 1.15 * u, y + 0.75 * u)],
           fill=255, width=max(2, int(0.12 * u)), joint="curve")  # tail


def landscape(height: int = 384, width: int = 512, seed: int = 0) -> Sample:
    """Sky, clouds, a hill, grass and a horse; each part's visible mask comes with the image."""
    if height < 32 or width < 32:
        raise ValueError(f"The landscape needs at least 32 x 32 pixels, got {height} x {width}.")
    rng = np.random.default_rng(seed)
    size = (height, width)
    yy, xx = np.mgrid[0:height, 0:width]
    horizon = 0.55
    # Painter's order: sky, clouds, hill, grass, horse. Each later part hides what is behind it.
    hill_top = horizon * height - (0.28 * height) * np.exp(-((xx / width - 0.68) / 0.22) ** 2)
    hill = (yy >= hill_top) & (yy < horizon * height + 0.08 * height * np.sin(xx / width * 3.0 + 0.5))
    grass = yy >= horizon * height + 0.08 * height * np.sin(xx / width * 3.0 + 0.5)
    clouds = _polygon_mask(size, lambda d, w, h: [
        d.ellipse([cx * w - r * w, cy * h - 0.45 * r * w, cx * w + r * w, cy * h + 0.45 * r * w], fill=255)
        for cx, cy, r in ((0.18, 0.16, 0.09), (0.26, 0.13, 0.07), (0.23, 0.2, 0.08), (0.62, 0.1, 0.06),
                          (0.69, 0.12, 0.08), (0.75, 0.09, 0.05))])
    horse = _polygon_mask(size, lambda d, w, h: _horse(d, w, h, 0.33, 0.7, 0.16))
    masks = {"horse": horse}
    masks["grass"] = grass & ~horse
    masks["hill"] = hill & ~grass & ~horse
    masks["clouds"] = clouds & ~hill & ~grass & ~horse
    masks["sky"] = ~(clouds | hill | grass | horse)

    img = np.zeros((height, width, 3), np.float32)
    top, bottom = np.array([70, 130, 215], np.float32), np.array([170, 205, 240], np.float32)
    t = (yy / height)[..., None]
    img[:] = top * (1 - t) + bottom * t  # the sky's gradient
    img[masks["clouds"]] = (246, 246, 250)
    shade = np.clip((yy - hill_top) / (0.3 * height), 0, 1)[..., None]
    hill_rgb = np.array([112, 140, 70], np.float32) * (1 - 0.3 * shade) + 20 * shade
    img[masks["hill"]] = hill_rgb[masks["hill"]]
    blades = rng.normal(0, 14, size=(height, width, 1)) + 8 * np.sin(xx / 3.0)[..., None]
    grass_rgb = np.array([70, 150, 50], np.float32) + blades * np.array([0.4, 1.0, 0.3], np.float32)
    img[masks["grass"]] = grass_rgb[masks["grass"]]
    horse_rgb = np.array([120, 72, 38], np.float32) + rng.normal(0, 6, size=(height, width, 3))
    img[horse] = horse_rgb[horse]
    picture = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).filter(ImageFilter.SMOOTH)
    out = np.asarray(picture).copy()
    out[horse & ~np.roll(horse, 1, 0)] = (60, 34, 18)  # a darker outline on top, as light from above
    return Sample(out, {k: masks[k] for k in LANDSCAPE_PARTS})


def moving_video(frames: int = 12, height: int = 192, width: int = 256) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A red ball rolls left to right over the landscape, passing behind a post half way.

    Returns the frames ``(H, W, 3)`` uint8 and the ball's visible mask in each.
    """
    if frames < 2:
        raise ValueError("A video needs at least two frames.")
    background = landscape(height, width, seed=1).image
    post = np.zeros((height, width), bool)
    post[int(0.35 * height):int(0.92 * height), int(0.52 * width):int(0.52 * width) + max(3, width // 28)] = True
    yy, xx = np.mgrid[0:height, 0:width]
    radius = 0.09 * height
    out_frames, out_masks = [], []
    for k in range(frames):
        t = k / (frames - 1)
        cx = (0.12 + 0.76 * t) * width
        cy = 0.8 * height - 0.05 * height * np.sin(np.pi * t)  # a small hop
        ball = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2
        stripe = ball & (np.abs((xx - cx) * np.cos(4 * t) + (yy - cy) * np.sin(4 * t)) < radius * 0.25)
        frame = background.copy()
        frame[ball] = (215, 40, 45)
        frame[stripe] = (250, 235, 235)  # the stripe turns as the ball rolls
        frame[post] = (90, 70, 55)
        out_frames.append(frame)
        out_masks.append(ball & ~post)
    return out_frames, out_masks
