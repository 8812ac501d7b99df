"""load_image on every format and mode a student may upload, and on hostile files."""
import io

import numpy as np
import pytest
from PIL import Image

from core.images import MAX_PIXELS, ImageError, colorize, load_image, overlay


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _gradient(w=40, h=30) -> Image.Image:
    x = np.linspace(0, 255, w, dtype=np.uint8)[None, :].repeat(h, 0)
    return Image.fromarray(np.stack([x, x[::-1], np.full_like(x, 100)], -1), "RGB")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF"])
def test_formats_become_rgb(fmt):
    out = load_image(_encode(_gradient(), fmt))
    assert out.shape == (30, 40, 3) and out.dtype == np.uint8


def test_gif_first_frame():
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    out = load_image(buf.getvalue())
    assert out[0, 0, 0] > 200 and out[0, 0, 2] < 50


def test_sixteen_bit_is_scaled_not_clipped():
    a = np.full((4, 4), 32768, dtype=np.uint16)
    out = load_image(_encode(Image.fromarray(a), "PNG"))
    assert 120 <= out[0, 0, 0] <= 135  # half of the 16-bit range is half of the 8-bit range


def test_palette_cmyk_and_alpha():
    pal = Image.new("P", (5, 5))
    pal.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    pal.putpixel((0, 0), 1)
    assert tuple(load_image(_encode(pal, "PNG"))[0, 0]) == (10, 200, 30)
    cmyk = Image.new("CMYK", (6, 6), (0, 255, 255, 0))  # pure red in ink
    assert tuple(load_image(_encode(cmyk, "JPEG", quality=95))[0, 0])[0] > 200
    clear = Image.new("RGBA", (6, 6), (0, 0, 0, 0))  # fully transparent becomes white
    assert tuple(load_image(_encode(clear, "PNG"))[0, 0]) == (255, 255, 255)


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (40, 20), (0, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    out = load_image(_encode(img, "JPEG", exif=exif.tobytes()))
    assert out.shape[:2] == (40, 20)


def test_large_images_are_shrunk_to_max_side():
    out = load_image(_encode(_gradient(400, 200), "PNG"), max_side=100)
    assert out.shape == (50, 100, 3)


@pytest.mark.parametrize("data,words", [
    (b"", "empty"),
    (b"hello, this is text", "not an image"),
    (b"%PDF-1.4 fake", "not an image"),
])
def test_non_images_get_a_sentence(data, words):
    with pytest.raises(ImageError, match=words):
        load_image(data)


def test_truncated_file():
    data = _encode(_gradient(200, 200), "PNG")
    with pytest.raises(ImageError, match="damaged or cut off"):
        load_image(data[: len(data) // 2])


def test_decompression_bomb_is_refused_before_decoding():
    side = int(MAX_PIXELS ** 0.5) + 100
    data = _encode(Image.new("1", (side, side)), "PNG", optimize=True)  # a few kB that would expand hugely
    assert len(data) < 200_000
    with pytest.raises(ImageError, match="megapixels"):
        load_image(data)
    assert issubclass(ImageError, ValueError)


def test_overlay_and_colorize():
    img = np.zeros((2, 2, 3), np.uint8)
    mask = np.array([[0, 1], [1, 255]])
    pal = np.array([[0, 0, 0], [200, 100, 0]])
    out = overlay(img, mask, pal, alpha=0.5, ignore_index=255)
    assert tuple(out[0, 1]) == (100, 50, 0) and tuple(out[1, 1]) == (0, 0, 0)
    assert colorize(np.array([[1]]), pal).tolist() == [[[200, 100, 0]]]


def test_every_error_has_words_in_both_languages():
    from core.images import MESSAGES
    from core.lessons import LANGUAGES, texts

    for lang in LANGUAGES:
        table = texts("common", lang).table("image_errors")
        assert set(table) == set(MESSAGES)
    err = ImageError("too_large", width=9000, height=9000, megapixels=81, limit=40)
    assert "9000×9000" in str(err) and err.code == "too_large"
    ro = texts("common", "ro").table("image_errors")["too_large"].format(**err.params)
    assert "megapixeli" in ro


def _png_header(width: int, height: int) -> bytes:
    """A PNG of signature, IHDR and IEND only: what a file that claims ``width × height`` starts with."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


@pytest.mark.parametrize("make", ["valid_10000", "header_60000"])
def test_pictures_beyond_pillows_own_guard_are_said_too_large(make):
    from core.images import header_size
    from core.lessons import texts

    if make == "valid_10000":  # a real, complete 100-megapixel PNG (a few hundred kB of one colour)
        side = 10_000
        data = _encode(Image.new("1", (side, side)), "PNG", optimize=True)
        with pytest.warns(Image.DecompressionBombWarning):  # Pillow opens it, warning of its size
            assert Image.open(io.BytesIO(data)).verify() is None  # a valid file, not a broken one
    else:  # a header that claims 60000 × 60000 (3.6 gigapixels): Pillow refuses it outright
        side = 60_000
        data = _png_header(side, side)
    assert side * side > Image.MAX_IMAGE_PIXELS  # Pillow's guard stops Image.open before it tells the size
    assert header_size(data) == (side, side)
    with pytest.raises(ImageError) as caught:
        load_image(data)
    err = caught.value
    assert err.code == "too_large"
    assert err.params["width"] == err.params["height"] == side and err.params["limit"] == MAX_PIXELS / 1e6
    assert f"{side}×{side}" in str(err) and f"{MAX_PIXELS / 1e6:.0f} megapixels" in str(err)
    assert "not an image" not in str(err)
    ro = texts("common", "ro").table("image_errors")["too_large"].format(**err.params)
    assert f"{side}×{side}" in ro and "limita" in ro


def test_header_size_of_non_images_is_none():
    from core.images import header_size

    assert header_size(b"hello, this is text") is None
    assert header_size(b"") is None
