r"""Upsampling without learning: nearest neighbour, bed of nails and bilinear interpolation.

An encoder–decoder network shrinks the image to cheap, coarse feature maps and must grow them back to
one prediction per pixel. The simplest ways to grow a map have no parameters at all:

* **Nearest neighbour** copies every value into an ``s × s`` block:
  :math:`y[i, j] = x[\lfloor i / s \rfloor, \lfloor j / s \rfloor]`.
* **Bed of nails** puts each value in the top-left corner of its block and zeros everywhere else:
  :math:`y[s i, s j] = x[i, j]`. It keeps the values exact but leaves the map sparse; the convolutions
  that follow have to fill the holes.
* **Bilinear interpolation** treats the map as samples of a smooth surface. Every output pixel is
  mapped back to a (fractional) source coordinate and mixes its four nearest input pixels, each
  weighted by the area of the unit square opposite to it. Two conventions map coordinates back:

  .. math::

      \text{align\_corners=False:}\quad u = \max\bigl(0,\ (i + \tfrac12)\,\tfrac{n_{in}}{n_{out}} - \tfrac12\bigr)
      \qquad
      \text{align\_corners=True:}\quad u = i\,\tfrac{n_{in} - 1}{n_{out} - 1}

  The first treats pixels as little squares whose centres keep their place; the second pins the
  corner pixels of input and output onto each other.

The same bilinear weights, laid out as a fixed ``k × k`` filter, make a transposed convolution that
upsamples: that is how FCN (Long, Shelhamer & Darrell, 2015) initialises its upsampling layers
(:func:`bilinear_kernel`).

Everything here is index arithmetic on tensors; ``torch.nn.functional.interpolate`` is never called,
so the tests can compare each function with it. Step traces (``*_trace``) are separate from the fast
paths: they list what each output cell is made of, with the numbers, for the page to animate.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np
import torch

from core.ops.args import int_pair, pair
from core.quiz import Question

__all__ = [
    "nearest_upsample",
    "bed_of_nails",
    "bilinear_upsample",
    "bilinear_taps",
    "linear_taps",
    "source_coordinate",
    "coordinate_formula",
    "bilinear_kernel",
    "bilinear_upsample_weight",
    "nearest_trace",
    "bilinear_step",
    "bilinear_trace",
    "NearestStep",
    "BilinearStep",
    "nearest_questions",
    "bilinear_questions",
]


# ---------------------------------------------------------------------------------------------------
# Arguments


def _check_spatial(x: torch.Tensor, op: str) -> None:
    if not torch.is_tensor(x):
        raise TypeError(f"{op} needs a torch.Tensor, got {type(x).__name__}")
    if x.dim() < 2:
        raise ValueError(f"{op} needs a tensor with at least two dimensions (..., H, W), got shape {tuple(x.shape)}")
    if x.shape[-1] == 0 or x.shape[-2] == 0:
        raise ValueError(f"{op} needs a non-empty grid, got shape {tuple(x.shape)}")


def _scales(scale) -> tuple[float, float]:
    sh, sw = pair("scale", scale)
    for s in (sh, sw):
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not math.isfinite(s) or s <= 0:
            raise ValueError(f"the scale must be a positive number, got {scale!r}")
    return sh, sw


# ---------------------------------------------------------------------------------------------------
# Nearest neighbour and bed of nails


def nearest_index(out_size: int, in_size: int, scale: float) -> torch.Tensor:
    r"""For each output index ``i``, the input index it copies: :math:`\min(\lfloor i / s \rfloor, n_{in}-1)`.

    Computed the way torch does it (``1/s`` rounded to a 32-bit float, then ``floor(i * (1/s))``), so
    fractional scales land on the same pixels as ``F.interpolate``. Sizes equal to ``n_in`` or
    ``2 n_in`` are exact integer arithmetic, as in torch.
    """
    i = np.arange(out_size, dtype=np.int64)
    if out_size == in_size:
        src = i
    elif out_size == 2 * in_size:
        src = i >> 1  # halving an integer: no rounding at all
    else:
        inv = np.float32(1.0 / scale)  # torch keeps the inverse scale as a float32
        src = np.floor(i.astype(np.float32) * inv).astype(np.int64)
    return torch.from_numpy(np.minimum(src, in_size - 1))


def _upsampled_size(size: int, scale: float) -> int:
    out = math.floor(size * scale)
    if out < 1:
        raise ValueError(f"scale {scale} shrinks a side of {size} to {out} cells; use a larger scale")
    return out


def nearest_upsample(x: torch.Tensor, scale) -> torch.Tensor:
    r"""Nearest-neighbour upsampling of the last two dimensions: every value fills an ``s × s`` block.

    Equals ``F.interpolate(x, scale_factor=scale, mode="nearest")`` for ``(N, C, H, W)`` input;
    ``scale`` is a positive number or a pair ``(s_h, s_w)``; the output is ``floor(H s) × floor(W s)``.
    """
    _check_spatial(x, "nearest_upsample")
    sh, sw = _scales(scale)
    h, w = x.shape[-2:]
    rows = nearest_index(_upsampled_size(h, sh), h, sh).to(x.device)  # (H_out,)
    cols = nearest_index(_upsampled_size(w, sw), w, sw).to(x.device)  # (W_out,)
    return x[..., rows[:, None], cols[None, :]]  # (..., H_out, W_out)


def _integer_scales(scale) -> tuple[int, int]:
    sh, sw = _scales(scale)
    if not all(float(s).is_integer() for s in (sh, sw)):
        raise ValueError(f"bed of nails needs a whole-number scale (each value gets an s × s block), got {scale!r}")
    return int(sh), int(sw)


def bed_of_nails(x: torch.Tensor, scale) -> torch.Tensor:
    r"""Bed-of-nails upsampling: ``x[..., i, j]`` lands at ``(s i, s j)``, zeros everywhere else.

    ``scale`` is a whole number or a pair of them. The same result is a transposed convolution with
    stride ``s`` and an ``s × s`` kernel that is 1 in its top-left corner and 0 elsewhere, and a max
    unpooling whose remembered positions are all top-left corners.
    """
    _check_spatial(x, "bed_of_nails")
    sh, sw = _integer_scales(scale)
    h, w = x.shape[-2:]
    out = x.new_zeros(*x.shape[:-2], h * sh, w * sw)  # (..., s_h H, s_w W)
    out[..., ::sh, ::sw] = x  # the nails: every s-th row and column
    return out


@dataclass(frozen=True)
class NearestStep:
    """One output cell of nearest-neighbour and bed-of-nails upsampling, for the page's step control."""

    out: tuple[int, int]  # (row, col) of the output cell
    src: tuple[int, int]  # the input cell nearest neighbour copies: (row // s, col // s)
    value: float  # x[src]
    nail: bool  # True when bed of nails puts x[src] here too (row and col are multiples of s)


def nearest_trace(x, scale: int) -> list[NearestStep]:
    """Every output cell of a 2-D grid upsampled by a whole-number ``scale``, in reading order."""
    grid = torch.as_tensor(x, dtype=torch.float64)
    if grid.dim() != 2:
        raise ValueError(f"the trace walks one 2-D grid, got shape {tuple(grid.shape)}")
    sh, sw = _integer_scales(scale)
    h, w = grid.shape
    steps = []
    for i in range(h * sh):
        for j in range(w * sw):
            src = (i // sh, j // sw)
            steps.append(NearestStep((i, j), src, float(grid[src]), i % sh == 0 and j % sw == 0))
    return steps


# ---------------------------------------------------------------------------------------------------
# Bilinear interpolation


def source_coordinate(i, in_size: int, out_size: int, align_corners: bool = False):
    r"""Where output index ``i`` samples the input (a fractional index), as in torch.

    ``align_corners=False``: :math:`u = \max(0, (i + \frac12) \frac{n_{in}}{n_{out}} - \frac12)` —
    pixel centres keep their place, and the border pixels are clamped.
    ``align_corners=True``: :math:`u = i \frac{n_{in}-1}{n_{out}-1}` (0 when ``n_out == 1``) — the
    first and last pixels of input and output coincide.
    Works on numbers and on numpy arrays.
    """
    i = np.asarray(i, dtype=np.float64)
    if align_corners:
        ratio = (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
        u = i * ratio
    else:
        u = np.maximum((i + 0.5) * (in_size / out_size) - 0.5, 0.0)
    return float(u) if u.ndim == 0 else u


def coordinate_formula(i: int, in_size: int, out_size: int, align_corners: bool = False) -> str:
    """The source-coordinate arithmetic of output ``i`` with its numbers: ``(1 + 0.5) · 2/4 − 0.5 = 0.25``.

    Language-free (digits and symbols only), so pages and quiz solutions in every language can show it.
    A clamped negative coordinate ends in ``→ 0``.
    """
    if align_corners:
        if out_size == 1:
            return "0"
        u = source_coordinate(i, in_size, out_size, True)
        return f"{i} · ({in_size} − 1)/({out_size} − 1) = {_fmt(u)}"
    raw = (i + 0.5) * in_size / out_size - 0.5
    return f"({i} + 0.5) · {in_size}/{out_size} − 0.5 = {_fmt(raw)}" + (" → 0" if raw < 0 else "")


def linear_taps(in_size: int, out_size: int, align_corners: bool = False):
    r"""1-D linear interpolation: for every output index, two input indices and their weights.

    Returns ``(lo, hi, w_lo, w_hi, u)``, each of length ``out_size``: the output at ``i`` is
    ``w_lo[i] * x[lo[i]] + w_hi[i] * x[hi[i]]`` with :math:`w_{hi} = u - \lfloor u \rfloor` and
    :math:`w_{lo} = 1 - w_{hi}`. At the last input pixel ``hi == lo`` (nothing to the right).
    """
    for name, n in (("input size", in_size), ("output size", out_size)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"the {name} must be a whole number of at least 1, got {n!r}")
    u = source_coordinate(np.arange(out_size), in_size, out_size, align_corners)  # (out,)
    lo = np.floor(u).astype(np.int64)
    hi = np.minimum(lo + 1, in_size - 1)
    w_hi = u - lo
    w_lo = 1.0 - w_hi
    return lo, hi, w_lo, w_hi, u


def bilinear_taps(in_size, out_size, align_corners: bool = False):
    r"""The four source pixels of every output pixel and their weights.

    Returns ``(rows, cols, weights)``, each shaped ``(H_out, W_out, 4)``, the four taps ordered
    top-left, top-right, bottom-left, bottom-right. Weights are products of the 1-D weights — the
    area of the unit square opposite to each neighbour — so they sum to 1, and
    ``(weights * x[rows, cols]).sum(-1)`` is the bilinear output.
    """
    h_in, w_in = int_pair("input size", in_size, minimum=1)
    h_out, w_out = int_pair("output size", out_size, minimum=1)
    r0, r1, wr0, wr1, _ = linear_taps(h_in, h_out, align_corners)  # (H_out,) each
    c0, c1, wc0, wc1, _ = linear_taps(w_in, w_out, align_corners)  # (W_out,) each
    R = lambda r: np.broadcast_to(r[:, None], (h_out, w_out))  # noqa: E731  row index per pixel
    C = lambda c: np.broadcast_to(c[None, :], (h_out, w_out))  # noqa: E731  column index per pixel
    rows = np.stack([R(r0), R(r0), R(r1), R(r1)], axis=-1)  # (H_out, W_out, 4)
    cols = np.stack([C(c0), C(c1), C(c0), C(c1)], axis=-1)  # (H_out, W_out, 4)
    weights = np.stack([
        np.outer(wr0, wc0), np.outer(wr0, wc1),  # top-left, top-right
        np.outer(wr1, wc0), np.outer(wr1, wc1),  # bottom-left, bottom-right
    ], axis=-1)  # (H_out, W_out, 4)
    return torch.from_numpy(rows.copy()), torch.from_numpy(cols.copy()), torch.from_numpy(weights)


def bilinear_upsample(x: torch.Tensor, size, align_corners: bool = False) -> torch.Tensor:
    r"""Bilinear resizing of the last two dimensions to ``size`` (an int or ``(H_out, W_out)``).

    Equals ``F.interpolate(x, size=size, mode="bilinear", align_corners=align_corners)`` for
    ``(N, C, H, W)`` input. Separable: interpolate along the rows, then along the columns, with the
    1-D taps of :func:`linear_taps` — the same numbers as the four 2-D taps of :func:`bilinear_taps`.
    """
    _check_spatial(x, "bilinear_upsample")
    if not torch.is_floating_point(x):
        raise TypeError(f"bilinear_upsample needs floating-point values (it averages), got {x.dtype}")
    h_out, w_out = int_pair("output size", size, minimum=1)
    h_in, w_in = x.shape[-2:]
    r0, r1, wr0, wr1, _ = (torch.as_tensor(a, device=x.device) for a in linear_taps(h_in, h_out, align_corners))
    c0, c1, wc0, wc1, _ = (torch.as_tensor(a, device=x.device) for a in linear_taps(w_in, w_out, align_corners))
    # Weights are computed in float64 and rounded once to the input's precision.
    wr0, wr1 = wr0.to(x.dtype)[:, None], wr1.to(x.dtype)[:, None]  # (H_out, 1)
    rows = x[..., r0, :] * wr0 + x[..., r1, :] * wr1  # (..., H_out, W_in)
    return rows[..., c0] * wc0.to(x.dtype) + rows[..., c1] * wc1.to(x.dtype)  # (..., H_out, W_out)


@dataclass(frozen=True)
class BilinearStep:
    """Everything that makes one bilinear output pixel, with the numbers, for the page to show."""

    out: tuple[int, int]  # (row, col) of the output pixel
    u: tuple[float, float]  # its source coordinate (row, col) in input pixels, fractional
    frac: tuple[float, float]  # (u_row - floor, u_col - floor): where it sits in the unit square
    taps: tuple[tuple[int, int], ...]  # four input cells: top-left, top-right, bottom-left, bottom-right
    weights: tuple[float, ...]  # their weights, the areas of the opposite rectangles (sum 1)
    values: tuple[float, ...]  # the input values at the four taps
    result: float  # sum(weights * values)


def bilinear_step(x, out_size, out: tuple[int, int], align_corners: bool = False) -> BilinearStep:
    """The computation of output pixel ``out`` when the 2-D grid ``x`` is resized to ``out_size``."""
    grid = torch.as_tensor(x, dtype=torch.float64)
    if grid.dim() != 2:
        raise ValueError(f"the trace walks one 2-D grid, got shape {tuple(grid.shape)}")
    h_out, w_out = int_pair("output size", out_size, minimum=1)
    i, j = out
    if not (0 <= i < h_out and 0 <= j < w_out):
        raise ValueError(f"output pixel {out} is outside the {h_out} × {w_out} output")
    h_in, w_in = grid.shape
    ur = source_coordinate(i, h_in, h_out, align_corners)
    uc = source_coordinate(j, w_in, w_out, align_corners)
    rows, cols, weights = bilinear_taps((h_in, w_in), (h_out, w_out), align_corners)
    taps = tuple((int(r), int(c)) for r, c in zip(rows[i, j], cols[i, j]))
    w = tuple(float(v) for v in weights[i, j])
    vals = tuple(float(grid[t]) for t in taps)
    return BilinearStep(
        out=(i, j), u=(ur, uc), frac=(ur - math.floor(ur), uc - math.floor(uc)),
        taps=taps, weights=w, values=vals, result=float(sum(a * b for a, b in zip(w, vals))),
    )


def bilinear_trace(x, out_size, align_corners: bool = False) -> list[BilinearStep]:
    """Every output pixel's :class:`BilinearStep`, in reading order."""
    h_out, w_out = int_pair("output size", out_size, minimum=1)
    return [bilinear_step(x, (h_out, w_out), (i, j), align_corners) for i in range(h_out) for j in range(w_out)]


# ---------------------------------------------------------------------------------------------------
# The bilinear kernel as a transposed convolution (FCN)


def bilinear_kernel(k: int) -> torch.Tensor:
    r"""The ``k × k`` bilinear filter FCN puts in its upsampling (transposed convolution) layers.

    With :math:`f = \lceil k/2 \rceil` and centre :math:`c = f - 1` (odd ``k``) or :math:`f - \frac12`
    (even ``k``), the weight at ``(a, b)`` is :math:`(1 - |a - c| / f)(1 - |b - c| / f)`: a tent, 1 at
    the centre, falling linearly to 0. Upsampling by ``s`` uses ``k = 2s - s mod 2``, stride ``s`` and
    padding ``⌈(s-1)/2⌉``; away from the border this equals bilinear interpolation with
    ``align_corners=False``.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"the kernel size must be a whole number of at least 1, got {k!r}")
    factor = (k + 1) // 2
    centre = factor - 1 if k % 2 == 1 else factor - 0.5
    tent = 1 - torch.abs(torch.arange(k, dtype=torch.float64) - centre) / factor  # (k,)
    return torch.outer(tent, tent)  # (k, k)


def bilinear_upsample_weight(channels: int, scale: int):
    """Weight and settings of a transposed convolution that upsamples ``channels`` maps by ``scale``.

    Returns ``(weight, stride, padding)``; ``weight`` is ``(C, C, k, k)`` with the bilinear kernel on
    the diagonal (each channel upsampled on its own, as in FCN), so
    ``conv_transpose2d(x, weight, stride=stride, padding=padding)`` is ``scale`` times larger.
    """
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
        raise ValueError(f"the scale must be a whole number of at least 1, got {scale!r}")
    k = 2 * scale - scale % 2
    padding = math.ceil((scale - 1) / 2)
    weight = torch.zeros(channels, channels, k, k, dtype=torch.float64)
    weight[range(channels), range(channels)] = bilinear_kernel(k)  # (C, C, k, k), diagonal
    return weight, scale, padding


# ---------------------------------------------------------------------------------------------------
# Check yourself


def _small_grid(rng: random.Random, h: int, w: int) -> list[list[int]]:
    return [[rng.randint(1, 9) for _ in range(w)] for _ in range(h)]


def grid_block(grid) -> str:
    """A small grid as a fenced block of right-aligned numbers, one row per line, for a quiz prompt."""
    rows = [[_fmt(v) for v in row] for row in grid]
    width = max(len(t) for row in rows for t in row)
    return "```\n" + "\n".join("  ".join(t.rjust(width) for t in row) for row in rows) + "\n```"


def _question(key: str, params: dict, answer: float, **kw) -> Question:
    """A numeric question whose templates can show the answer as a student writes it (``{ans}``)."""
    return Question(key, {**params, "ans": _fmt(answer)}, answer=answer, **kw)


def nearest_questions(rng: random.Random) -> list[Question]:
    """Three questions on nearest neighbour and bed of nails with fresh numbers each time."""
    h, w = rng.choice([(2, 2), (2, 3), (3, 2), (3, 3)])
    s = rng.randint(2, 4)
    grid = _small_grid(rng, h, w)
    i, j = rng.randrange(h * s), rng.randrange(w * s)
    y = nearest_upsample(torch.tensor(grid, dtype=torch.float64), s)
    q_nearest = _question("nearest_value", {"grid": grid_block(grid), "s": s, "i": i, "j": j,
                                            "si": i // s, "sj": j // s, "h": h * s, "w": w * s}, float(y[i, j]))
    # bed of nails: ask about a nail half of the time, about any cell (most likely a hole) otherwise
    if rng.random() < 0.5:
        bi, bj = s * rng.randrange(h), s * rng.randrange(w)
    else:
        bi, bj = rng.randrange(h * s), rng.randrange(w * s)
    z = bed_of_nails(torch.tensor(grid, dtype=torch.float64), s)
    q_nails = _question("nails_value", {"grid": grid_block(grid), "s": s, "i": bi, "j": bj, "ri": bi % s, "rj": bj % s,
                                        "si": bi // s, "sj": bj // s}, float(z[bi, bj]))
    H, W, S = rng.randint(2, 8), rng.randint(2, 8), rng.randint(2, 4)
    q_zeros = _question("nails_zeros", {"h": H, "w": W, "s": S, "total": H * W * S * S, "kept": H * W},
                        float(H * W * (S * S - 1)))
    return [q_nearest, q_nails, q_zeros]


def bilinear_questions(rng: random.Random) -> list[Question]:
    """Three questions on bilinear interpolation: a source coordinate, a weight, an output value."""
    n_in = rng.randint(2, 5)
    n_out = n_in * rng.randint(2, 3)
    ac = rng.random() < 0.5
    i = rng.randrange(n_out)
    u = source_coordinate(i, n_in, n_out, ac)
    formula = coordinate_formula(i, n_in, n_out, ac)
    q_coord = _question("source_coordinate" + ("_ac" if ac else ""),
                        {"n_in": n_in, "n_out": n_out, "i": i, "formula": formula}, round(u, 6), tolerance=0.01)

    # a sample point inside the unit square of pixels (r, c), (r, c+1), (r+1, c), (r+1, c+1)
    r, c = rng.randrange(3), rng.randrange(3)
    fr, fc = rng.choice([0.25, 0.5, 0.75]), rng.choice([0.25, 0.5, 0.75])
    tr, tc = r + rng.randrange(2), c + rng.randrange(2)
    wy, wx = (fr if tr > r else 1 - fr), (fc if tc > c else 1 - fc)
    wy_text = f"{_fmt(fr)}" if tr > r else f"1 − {_fmt(fr)} = {_fmt(wy)}"
    wx_text = f"{_fmt(fc)}" if tc > c else f"1 − {_fmt(fc)} = {_fmt(wx)}"
    q_weight = _question("tap_weight", {"ur": _fmt(r + fr), "uc": _fmt(c + fc), "r": r, "c": c, "tr": tr, "tc": tc,
                                        "fr": _fmt(fr), "fc": _fmt(fc), "wy": wy_text, "wx": wx_text},
                         wy * wx, tolerance=0.005)

    grid = _small_grid(rng, 2, 2)
    fr, fc = rng.choice([0.25, 0.5, 0.75]), rng.choice([0.25, 0.5, 0.75])
    (a, b), (c_, d) = grid
    value = (1 - fr) * (1 - fc) * a + (1 - fr) * fc * b + fr * (1 - fc) * c_ + fr * fc * d
    q_value = _question("tap_value", {"grid": grid_block(grid), "fr": _fmt(fr), "fc": _fmt(fc),
                                      "w00": _fmt((1 - fr) * (1 - fc)), "w01": _fmt((1 - fr) * fc),
                                      "w10": _fmt(fr * (1 - fc)), "w11": _fmt(fr * fc),
                                      "a": a, "b": b, "c": c_, "d": d}, value, tolerance=0.01)
    return [q_coord, q_weight, q_value]


def _fmt(v: float, digits: int = 4) -> str:
    """A number as a student writes it: ``0.5``, ``2``, ``0.3333``."""
    r = round(float(v), digits)
    return str(int(r)) if r == int(r) else f"{r:.{digits}f}".rstrip("0").rstrip(".")
