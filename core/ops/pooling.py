r"""Max pooling that remembers where each maximum was, and max unpooling that puts values back there.

Max pooling keeps the largest value of every ``k × k`` window and forgets the rest. If it also writes
down *where* the maximum was (its flat index ``row · W + col`` in the input plane), a decoder can later
undo the shrinking geometrically: **max unpooling** sends every value of a small map back to the
remembered position of its window, and fills every other cell with zero,

.. math::

    y[\text{idx}[i, j]] = x[i, j], \qquad y = 0 \text{ elsewhere.}

SegNet (Badrinarayanan, Kendall & Cipolla, 2017) pairs each pooling layer of its VGG-16 encoder with
an unpooling layer of its decoder this way. Only the indices cross from encoder to decoder — for a
2 × 2 window, two bits per pooled value would do — instead of whole float feature maps as in FCN or
U-Net; the sparse unpooled map is then made dense by trainable convolutions. The positions of the
maxima tend to sit on edges, so boundaries come back sharp (:func:`index_memory`).

Ties follow torch: the first maximum in reading order of the window wins (a later value must be
strictly larger), except that a NaN always wins, as in torch's CPU kernel. When windows overlap and two
of them remember the same cell, unpooling keeps the value of the later window, as torch does.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

import torch

from core.ops.args import int_pair
from core.ops.resample import grid_block
from core.quiz import Question

__all__ = [
    "max_pool2d_with_indices",
    "max_unpool2d",
    "pool_output_size",
    "unpool_output_size",
    "PoolStep",
    "UnpoolStep",
    "max_pool_trace",
    "max_unpool_trace",
    "IndexMemoryRow",
    "index_memory",
    "VGG16_ENCODER",
    "unpooling_questions",
]


def _check_input(x: torch.Tensor, op: str) -> None:
    if not torch.is_tensor(x):
        raise TypeError(f"{op} needs a torch.Tensor, got {type(x).__name__}")
    if x.dim() not in (3, 4):
        raise ValueError(f"{op} needs a (C, H, W) or (N, C, H, W) tensor, got shape {tuple(x.shape)}")


def pool_output_size(size: int, k: int, s: int) -> int:
    r"""Windows that fit along one side: :math:`\lfloor (n - k) / s \rfloor + 1`; refuses if none fit."""
    if size < k:
        raise ValueError(f"a side of {size} cells is smaller than the {k}-cell pooling window; "
                         f"use an input of at least {k} cells or a smaller window")
    return (size - k) // s + 1


def max_pool2d_with_indices(x: torch.Tensor, kernel_size, stride=None):
    r"""Max pooling plus the flat position (``row · W + col``) of each window's maximum.

    Equals ``F.max_pool2d(x, kernel_size, stride, return_indices=True)`` (no padding, no dilation).
    ``stride`` defaults to ``kernel_size``. Each window is scanned in reading order and a value
    replaces the current maximum only when it is strictly larger (or NaN), so ties keep the first.
    """
    _check_input(x, "max_pool2d_with_indices")
    kh, kw = int_pair("kernel size", kernel_size, minimum=1)
    sh, sw = int_pair("stride", kernel_size if stride is None or stride == [] else stride, minimum=1)
    h, w = x.shape[-2:]
    oh, ow = pool_output_size(h, kh, sh), pool_output_size(w, kw, sw)
    top = torch.arange(oh, device=x.device) * sh  # (OH,) first row of each window
    left = torch.arange(ow, device=x.device) * sw  # (OW,) first column of each window
    lowest = -math.inf if x.is_floating_point() else torch.iinfo(x.dtype).min
    best = torch.full((*x.shape[:-2], oh, ow), lowest, dtype=x.dtype, device=x.device)
    where = (top[:, None] * w + left[None, :]).expand_as(best).clone()  # start: each window's first cell
    for a in range(kh):  # reading order inside the window: row by row ...
        for b in range(kw):  # ... left to right
            r, c = top + a, left + b  # (OH,), (OW,)
            val = x[..., r[:, None], c[None, :]]  # (..., OH, OW): this offset of every window
            better = (val > best) | torch.isnan(val)
            best = torch.where(better, val, best)
            where = torch.where(better, r[:, None] * w + c[None, :], where)
    return best, where


def unpool_output_size(in_size: int, k: int, s: int, requested: int | None = None) -> int:
    r"""Side of the unpooled map: :math:`(n - 1)s + k` by default.

    A different ``requested`` size is allowed only strictly between ``default - s`` and ``default + s``,
    the sizes a pooling of this window and stride could have come from (torch's rule).
    """
    default = (in_size - 1) * s + k
    if requested is None:
        return default
    if requested < 0:
        raise ValueError(f"an output side cannot be negative ({requested})")
    if not (default - s < requested < default + s):
        raise ValueError(f"an output side of {requested} cannot come from pooling with window {k} and stride {s}: "
                         f"choose a size from {default - s + 1} to {default + s - 1}")
    return requested


def max_unpool2d(x: torch.Tensor, indices: torch.Tensor, kernel_size, stride=None, output_size=None):
    r"""Send each value of ``x`` to its remembered position; zeros everywhere else.

    Equals ``F.max_unpool2d(x, indices, kernel_size, stride, output_size=output_size)`` (no padding).
    ``indices`` are flat positions in each output plane, as returned by :func:`max_pool2d_with_indices`.
    ``output_size`` is ``(H, W)`` (or longer, of which the last two count). When two values share a
    position, the later one in reading order stays.
    """
    _check_input(x, "max_unpool2d")
    if not torch.is_tensor(indices) or indices.shape != x.shape:
        got = tuple(indices.shape) if torch.is_tensor(indices) else type(indices).__name__
        raise ValueError(f"indices must have the shape of the input {tuple(x.shape)}, got {got}")
    if indices.dtype != torch.int64:
        raise ValueError(f"indices must be int64 positions (as max pooling returns them), got {indices.dtype}")
    kh, kw = int_pair("kernel size", kernel_size, minimum=1)
    sh, sw = int_pair("stride", kernel_size if stride is None or stride == [] else stride, minimum=1)
    h, w = x.shape[-2:]
    req_h = req_w = None
    if output_size is not None:
        req_h, req_w = (int(v) for v in list(output_size)[-2:])
    oh, ow = unpool_output_size(h, kh, sh, req_h), unpool_output_size(w, kw, sw, req_w)

    planes = x.reshape(-1, h * w)  # (P, H*W): one row per (n, c) plane
    idx = indices.reshape(-1, h * w)  # (P, H*W)
    bad = (idx < 0) | (idx >= oh * ow)
    if bool(bad.any()):
        raise ValueError(f"a remembered position ({int(idx[bad][0])}) lies outside the {oh} × {ow} output")
    out = planes.new_zeros(planes.shape[0], oh * ow)  # (P, OH*OW)
    # Keep only the last value aimed at each cell (reading order), so duplicates behave as in torch.
    flat_target = idx + torch.arange(planes.shape[0], device=x.device)[:, None] * (oh * ow)  # (P, H*W)
    flat_target, flat_value = flat_target.reshape(-1), planes.reshape(-1)  # (P*H*W,)
    order = torch.sort(flat_target, stable=True).indices
    sorted_target = flat_target[order]
    last = torch.ones_like(sorted_target, dtype=torch.bool)
    last[:-1] = sorted_target[1:] != sorted_target[:-1]  # the final entry of each run of equal targets
    out.view(-1)[sorted_target[last]] = flat_value[order[last]]
    return out.reshape(*x.shape[:-2], oh, ow)  # (..., OH, OW)


# ---------------------------------------------------------------------------------------------------
# Step traces


@dataclass(frozen=True)
class PoolStep:
    """One window of max pooling: which cells it covers, their values, and the winner."""

    out: tuple[int, int]  # (row, col) in the pooled map
    cells: tuple[tuple[int, int], ...]  # input cells of the window, reading order
    values: tuple[float, ...]  # their values
    argmax: tuple[int, int]  # the winning cell (row, col) in the input
    index: int  # the same as a flat index row * W + col: what is remembered
    value: float  # the maximum


@dataclass(frozen=True)
class UnpoolStep:
    """One value of the decoder's map travelling back to its remembered cell."""

    src: tuple[int, int]  # (row, col) in the small map
    value: float  # the value that travels
    index: int  # the remembered flat index
    dest: tuple[int, int]  # (row, col) in the unpooled map: divmod(index, W_out)


def _grid(x) -> torch.Tensor:
    g = torch.as_tensor(x, dtype=torch.float64)
    if g.dim() != 2:
        raise ValueError(f"the trace walks one 2-D grid, got shape {tuple(g.shape)}")
    return g


def max_pool_trace(x, kernel_size, stride=None) -> list[PoolStep]:
    """Every window of max pooling a 2-D grid, in reading order."""
    g = _grid(x)
    kh, kw = int_pair("kernel size", kernel_size, minimum=1)
    sh, sw = int_pair("stride", kernel_size if stride is None else stride, minimum=1)
    pooled, idx = max_pool2d_with_indices(g[None], (kh, kw), (sh, sw))  # (1, OH, OW) each
    w = g.shape[1]
    steps = []
    for i in range(pooled.shape[1]):
        for j in range(pooled.shape[2]):
            cells = tuple((i * sh + a, j * sw + b) for a in range(kh) for b in range(kw))
            k = int(idx[0, i, j])
            steps.append(PoolStep((i, j), cells, tuple(float(g[c]) for c in cells), divmod(k, w), k,
                                  float(pooled[0, i, j])))
    return steps


def max_unpool_trace(x, indices, out_size: tuple[int, int]) -> list[UnpoolStep]:
    """Every value of the 2-D grid ``x`` and where its remembered index sends it, in reading order."""
    g = _grid(x)
    idx = torch.as_tensor(indices)
    w_out = out_size[1]
    return [UnpoolStep((i, j), float(g[i, j]), int(idx[i, j]), divmod(int(idx[i, j]), w_out))
            for i in range(g.shape[0]) for j in range(g.shape[1])]


# ---------------------------------------------------------------------------------------------------
# What SegNet saves: indices instead of feature maps


# VGG-16's encoder: (convolutions in the block, their channels); a 2 × 2, stride-2 max pooling ends each block.
VGG16_ENCODER: tuple[tuple[int, int], ...] = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))


@dataclass(frozen=True)
class IndexMemoryRow:
    """What one pooling layer hands to the decoder, counted three ways (batch of one image)."""

    block: int  # 1..5
    channels: int  # C of the feature map that is pooled
    size: tuple[int, int]  # (H, W) of the feature map before pooling
    pooled: tuple[int, int]  # (H, W) after pooling
    feature_bytes: int  # the whole map before pooling, float32: C·H·W·4 (what FCN / U-Net skips keep)
    index_bytes_int64: int  # one int64 index per pooled value, as torch stores them: C·H'·W'·8
    index_bytes_2bit: int  # two bits per pooled value (which of the 4 cells), as the SegNet paper counts


def index_memory(height: int, width: int, encoder=VGG16_ENCODER, batch: int = 1) -> list[IndexMemoryRow]:
    """Memory handed from a VGG-16-sized encoder to its decoder at input ``height × width``.

    For every pooling layer: the full float32 feature map before pooling (what a skip connection
    keeps), the int64 indices torch returns, and the 2 bits per pooled value that are enough to say
    which cell of a 2 × 2 window held the maximum.
    """
    for name, v in (("height", height), ("width", width), ("batch", batch)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"the {name} must be a whole number of at least 1, got {v!r}")
    if min(height, width) < 2 ** len(encoder):
        raise ValueError(f"an input of {height} × {width} is too small for {len(encoder)} poolings; "
                         f"use at least {2 ** len(encoder)} pixels per side")
    rows, h, w = [], height, width
    for block, (_, channels) in enumerate(encoder, start=1):
        ph, pw = h // 2, w // 2  # 2 × 2 window, stride 2: floor, as max_pool2d does
        pooled = batch * channels * ph * pw
        rows.append(IndexMemoryRow(
            block=block, channels=channels, size=(h, w), pooled=(ph, pw),
            feature_bytes=batch * channels * h * w * 4,
            index_bytes_int64=pooled * 8,
            index_bytes_2bit=math.ceil(pooled * 2 / 8),
        ))
        h, w = ph, pw
    return rows


# ---------------------------------------------------------------------------------------------------
# Check yourself


def _question(key: str, params: dict, answer: float) -> Question:
    """A numeric question whose templates can show the answer as a student writes it (``{ans}``)."""
    return Question(key, {**params, "ans": f"{answer:g}"}, answer=answer)


def unpooling_questions(rng: random.Random) -> list[Question]:
    """Three questions: a window's maximum and its index, where unpooling sends a value, index memory."""
    # distinct values 1..16 shuffled: no ties, so the maximum's position is unambiguous
    vals = list(range(1, 17))
    rng.shuffle(vals)
    grid = [vals[r * 4:(r + 1) * 4] for r in range(4)]
    x = torch.tensor(grid, dtype=torch.float64)[None]  # (1, 4, 4)
    pooled, idx = max_pool2d_with_indices(x, 2)
    wi, wj = rng.randrange(2), rng.randrange(2)
    k = int(idx[0, wi, wj])
    q_index = _question("pool_index", {"grid": grid_block(grid), "wi": wi, "wj": wj, "m": int(pooled[0, wi, wj]),
                                       "r0": 2 * wi, "r1": 2 * wi + 1, "c0": 2 * wj, "c1": 2 * wj + 1,
                                       "r": k // 4, "c": k % 4}, float(k))

    small = [[rng.randint(1, 9) for _ in range(2)] for _ in range(2)]
    y = max_unpool2d(torch.tensor(small, dtype=torch.float64)[None], idx, 2)
    i, j = rng.randrange(4), rng.randrange(4)
    hits = [(a, b) for a in range(2) for b in range(2) if int(idx[0, a, b]) == i * 4 + j]
    key = "unpool_value_hit" if hits else "unpool_value_hole"
    src = hits[-1] if hits else (i // 2, j // 2)
    q_route = _question(key, {"grid": grid_block(grid), "small": grid_block(small), "i": i, "j": j, "flat": i * 4 + j,
                              "si": src[0], "sj": src[1], "m": int(pooled[0, i // 2, j // 2]),
                              "at": int(idx[0, i // 2, j // 2])}, float(y[0, i, j]))

    c = rng.choice([64, 128, 256, 512])
    side = rng.choice([8, 16, 28, 32, 56])
    q_count = _question("index_count", {"c": c, "h": side, "w": side, "ph": side // 2, "pw": side // 2},
                        float(c * (side // 2) ** 2))
    return [q_index, q_route, q_count]
