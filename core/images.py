"""Reading a user's image safely, and drawing masks over it.

:func:`load_image` turns the bytes of an uploaded file into an ``(H, W, 3)`` uint8 RGB array, whatever
the format (PNG, JPEG, WebP, BMP, TIFF, GIF's first frame) or mode (16-bit, palette, CMYK, with alpha),
with the camera's EXIF orientation applied. Everything that can go wrong becomes an :class:`ImageError`
whose message a student understands; the size is checked from the header *before* the pixels are
decoded, so a small file that would expand to gigabytes (a "decompression bomb") is refused cheaply.
"""
from __future__ import annotations

import io
import struct
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from core.data.constants import STREET_PALETTE as PALETTE

MAX_PIXELS = 40_000_000  # 40 megapixels: any phone photo, far below what would exhaust memory
FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF", "MPO")


# What can go wrong, as sentences; pages show the same sentences in the user's language from
# ``[image_errors]`` in lessons/<lang>/common.toml (same codes, same placeholders).
MESSAGES = {
    "empty": "The file is empty. Choose a photo or a picture file and upload it again.",
    "max_side": "The largest side must be at least one pixel.",
    "not_image": "This file is not an image the app can read. Upload a PNG, JPEG, WebP, BMP, TIFF or GIF file.",
    "format": "{format} files are not supported. Upload a PNG, JPEG, WebP, BMP, TIFF or GIF file.",
    "no_pixels": "The image has no pixels.",
    "too_large": "The image is {width}×{height} pixels ({megapixels:.0f} megapixels); the limit is {limit:.0f} "
                 "megapixels. Save a smaller copy and upload that.",
    "damaged": "The image file seems damaged or cut off (truncated). Try exporting it again.",
}


class ImageError(ValueError):
    """An image could not be used; ``str(err)`` is a sentence that says why and what to do.

    ``code`` and ``params`` let a page say the same sentence in another language.
    """

    def __init__(self, code: str, **params):
        self.code, self.params = code, params
        super().__init__(MESSAGES[code].format(**params))


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB; transparent areas become white, 16-bit values are scaled, not clipped."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        a = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or a.max(initial=0) > 255 else 255.0
        a = np.clip(a / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(a, "L").convert("RGB")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if img.mode == "CMYK":
        return img.convert("RGB")
    return img.convert("RGB")


def header_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` read from the file's header alone, or None when no supported format recognises it.

    For pictures so large that Pillow's decompression-bomb guard (``Image.MAX_IMAGE_PIXELS``) stops
    ``Image.open`` before it says their size: the same header readers that ``Image.open`` would try
    (``Image.OPEN``, one per format) are asked directly. None of them decodes a pixel.
    """
    Image.init()
    for fmt in FORMATS:
        if fmt not in Image.OPEN:
            continue
        factory, accept = Image.OPEN[fmt]
        try:
            recognised = accept is None or accept(data[:16])
            if recognised and not isinstance(recognised, str):  # a str is Pillow's "almost, but no"
                return tuple(factory(io.BytesIO(data), "").size)
        except (SyntaxError, IndexError, TypeError, ValueError, OSError, struct.error):
            continue
    return None


def load_image(data: bytes, max_side: int = 1024) -> np.ndarray:
    """Decode an uploaded image into an ``(H, W, 3)`` uint8 RGB array no larger than ``max_side``.

    Raises :class:`ImageError` (a ``ValueError``) with a plain sentence for empty, truncated, oversized or
    non-image files.
    """
    if not data:
        raise ImageError("empty")
    if max_side < 1:
        raise ImageError("max_side")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))  # reads the header only
            width, height = img.size
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        size = header_size(data)  # Pillow's own guard refused it before telling the size: ask the header
        if size is None:
            raise ImageError("not_image") from None
        width, height = size
        raise ImageError("too_large", width=width, height=height, megapixels=width * height / 1e6,
                         limit=MAX_PIXELS / 1e6) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ImageError("not_image") from None
    if img.format not in FORMATS:
        raise ImageError("format", format=img.format)
    if width < 1 or height < 1:
        raise ImageError("no_pixels")
    if width * height > MAX_PIXELS:
        raise ImageError("too_large", width=width, height=height, megapixels=width * height / 1e6,
                         limit=MAX_PIXELS / 1e6)
    try:
        img.seek(0)  # the first frame of an animation
        if img.format == "JPEG":
            img.draft("RGB", (max_side, max_side))  # let the decoder shrink big photos cheaply
        img.load()
        img = ImageOps.exif_transpose(img)
        img = _to_rgb(img)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ImageError("damaged") from None
    if max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return np.asarray(img, dtype=np.uint8).copy()


def overlay(image: np.ndarray, mask: np.ndarray, palette: np.ndarray, alpha: float = 0.5,
            ignore_index: int | None = None) -> np.ndarray:
    """Blend a class mask (``(H, W)`` ints) over an RGB image; ``palette[c]`` is class ``c``'s colour."""
    if image.shape[:2] != mask.shape:
        raise ValueError(f"mask {mask.shape} and image {image.shape[:2]} differ in size")
    palette = np.asarray(palette, dtype=np.float32)
    colours = palette[np.clip(mask, 0, len(palette) - 1)]  # (H, W, 3)
    out = (1 - alpha) * image.astype(np.float32) + alpha * colours
    if ignore_index is not None:
        keep = mask == ignore_index
        out[keep] = image[keep]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def outline(mask: np.ndarray) -> np.ndarray:
    """Pixels of ``mask`` with a 4-neighbour outside it (the contour an artist would ink)."""
    inner = mask.copy()
    inner[1:, :] &= mask[:-1, :]
    inner[:-1, :] &= mask[1:, :]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    return mask & ~inner


def colorize(mask: np.ndarray, palette) -> np.ndarray:
    """A class mask as an RGB picture ``(H, W, 3)`` uint8: one colour per class, given as a ``(C, 3)`` array
    or as ``"#rrggbb"`` strings; labels with no colour (an ignored pixel, 255) are white."""
    colours = [[int(c[k:k + 2], 16) for k in (1, 3, 5)] if isinstance(c, str) else c for c in palette]
    lut = np.full((256, 3), 255, dtype=np.uint8)
    lut[:len(colours)] = np.asarray(colours, dtype=np.uint8).reshape(-1, 3)
    return lut[np.clip(np.asarray(mask), 0, 255)]


def enlarge(image: np.ndarray, min_side: int = 160) -> np.ndarray:
    """Repeat pixels (nearest neighbour) until the image is at least ``min_side`` tall: small images stay
    crisp in the browser instead of being smoothed, so every pixel of a 32×32 mask is visible."""
    factor = max(1, int(np.ceil(min_side / max(1, image.shape[0]))))
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1) if factor > 1 else image


def palette(n: int) -> np.ndarray:
    """``n`` distinct colours for class masks: the street classes' own colours first, then the bit-spreading
    palette PASCAL VOC masks use (class 0 black), so VOC masks look as they usually do."""
    if n <= len(PALETTE):
        return PALETTE[:n].copy()
    out = np.zeros((n, 3), np.uint8)
    for c in range(n):
        r = g = b = 0
        v = c
        for shift in range(7, -1, -1):
            r |= ((v >> 0) & 1) << shift
            g |= ((v >> 1) & 1) << shift
            b |= ((v >> 2) & 1) << shift
            v >>= 3
        out[c] = (r, g, b)
    return out
