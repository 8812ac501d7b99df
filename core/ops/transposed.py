r"""Transposed convolution: upsampling with a kernel the network learns.

A direct convolution slides a kernel over its input and *gathers* a weighted sum into each
output cell. A transposed convolution runs the same wiring backwards: every input value
*scatters* a copy of the kernel, scaled by that value, into the output; where copies overlap
they add. The stride is the step between neighbouring copies in the **output**, so a bigger
stride gives a bigger output — the opposite of the direct convolution, whose input and output
swap roles here. The network learns, through the kernel's weights, how to spread each value
over its neighbourhood. Other names for the same layer: "deconvolution" (misleading: it does
not invert a convolution) and "fractionally strided convolution".

Output size along one axis, for input size $I$, kernel $K$, stride $S$, padding $P$, output
padding $OP$ and dilation $D$:

$$O = (I - 1)\,S - 2P + D\,(K - 1) + OP + 1,$$

which is $(I - 1)\,S + K$ in the simple case $P = OP = 0$, $D = 1$. Padding *crops* $P$ cells
from each side of the scattered result; output padding adds $OP$ cells at the bottom and right
so that one size can be reached from several input sizes.

Three equal ways to compute it, each one a function here:

1. **scatter** (:func:`conv_transpose2d`, traced by :func:`scatter_trace`): weighted kernel
   copies placed $S$ cells apart;
2. **zero insertion** (:func:`conv_transpose2d_zero_insertion`, :func:`zero_insertion_trace`):
   put $S-1$ zeros between input values, pad by $D(K-1)-P$, and run an ordinary stride-1
   convolution with the kernel flipped in both directions;
3. **matrix** (:func:`conv_matrix`, :func:`matrix_view`): a direct convolution is a matrix $C$
   acting on the flattened input; the transposed convolution is $C^\top$ — which is also why
   it is the gradient of the convolution with respect to its input (:func:`autograd_check`).

When the kernel extent is not a multiple of the stride, output cells receive unequal numbers
of kernel copies (:func:`overlap_count`, :func:`overlap_pattern`) and a checkerboard appears;
upsampling first and convolving after (:func:`resize_then_convolve`) spreads the work evenly
(Odena, Dumoulin & Olah, "Deconvolution and Checkerboard Artifacts", Distill 2016).

Reference: V. Dumoulin and F. Visin, "A guide to convolution arithmetic for deep learning",
arXiv:1603.07285, 2016. Every function agrees with ``torch.nn.functional.conv_transpose2d``
(groups = 1), and refuses, with a plain sentence, exactly the parameters torch refuses.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from core.ops.args import ParameterError, int_pair, whole
from core.quiz import Question

__all__ = [
    "ParameterError",
    "conv_transpose_output_size",
    "conv_output_size",
    "conv_transpose2d",
    "conv_transpose2d_zero_insertion",
    "conv_matrix",
    "Touch",
    "ScatterStep",
    "ScatterTrace",
    "scatter_trace",
    "overlap_count",
    "overlap_pattern",
    "resize_then_convolve",
    "CheckerboardComparison",
    "checkerboard_comparison",
    "ZeroInsertionTrace",
    "zero_insertion_trace",
    "MatrixView",
    "matrix_view",
    "GradientCheck",
    "autograd_check",
    "GalleryCase",
    "GALLERY",
    "gallery_trace",
    "output_size_latex",
    "default_input",
    "default_kernel",
    "LessonViews",
    "lesson_views",
    "transposed_questions",
]


# ----------------------------------------------------------------------------------------------
# Parameters and sizes
# ----------------------------------------------------------------------------------------------


def conv_transpose_output_size(i: int, k: int, s: int = 1, p: int = 0, op: int = 0, d: int = 1) -> int:
    r"""Output size of a transposed convolution along one axis.

    $O = (I-1)\,S - 2P + D\,(K-1) + OP + 1$. Raises :class:`ParameterError` (a ``ValueError``)
    with a plain sentence for every combination ``torch.nn.functional.conv_transpose2d``
    refuses: non-positive sizes, strides or dilations, negative paddings, an output padding
    not smaller than the stride or the dilation, and an output with no cells left. (For a few
    O = 0 cases torch's float32 fast path returns an empty tensor instead of refusing; its general
    path, used for float64, refuses them, and so does this function.)
    """
    i, k, s, p, op, d = (
        whole(n, v)
        for n, v in (
            ("input size", i),
            ("kernel size", k),
            ("stride", s),
            ("padding", p),
            ("output padding", op),
            ("dilation", d),
        )
    )
    if i < 1:
        raise ParameterError("input_size", f"The input needs at least one cell per side, got {i}.", i=i)
    if k < 1:
        raise ParameterError("kernel_size", f"The kernel needs at least one cell per side, got {k}.", k=k)
    if s < 1:
        raise ParameterError("stride", f"The stride must be at least 1, got {s}.", s=s)
    if d < 1:
        raise ParameterError("dilation", f"The dilation must be at least 1, got {d}.", d=d)
    if p < 0:
        raise ParameterError("padding", f"The padding cannot be negative, got {p}.", p=p)
    if op < 0:
        raise ParameterError(
            "output_padding_negative", f"The output padding cannot be negative, got {op}.", op=op
        )
    if op >= s and op >= d:
        raise ParameterError(
            "output_padding_too_big",
            f"The output padding ({op}) must be smaller than the stride ({s}) or the dilation ({d}): "
            f"it only picks one of the {max(s, d)} output sizes that lead back to the same input size.",
            op=op,
            s=s,
            d=d,
        )
    o = _formula(i, k, s, p, op, d)
    if o < 1:
        raise ParameterError(
            "output_too_small",
            f"The padding ({p}) crops away the whole output: (I−1)·S − 2P + D·(K−1) + OP + 1 = {o}, "
            f"and at least 1 cell must remain. Lower the padding or enlarge the input, kernel or stride.",
            o=o,
            p=p,
        )
    return o


def _formula(i: int, k: int, s: int, p: int, op: int, d: int) -> int:
    """The output-size formula alone, unchecked: the one place it is written."""
    return (i - 1) * s - 2 * p + d * (k - 1) + op + 1


def output_size_latex(i: int, k: int, s: int = 1, p: int = 0, op: int = 0, d: int = 1) -> str:
    r"""The formula worked out with these numbers, as two lines of LaTeX (they fit beside the sidebar).

    Written for every parameter set, also those :func:`conv_transpose_output_size` refuses, so the
    student sees the number the refusal is about.
    """
    o = _formula(i, k, s, p, op, d)
    return (
        r"\begin{aligned} O &= (I-1)\cdot S - 2P + D\cdot(K-1) + OP + 1 \\"
        rf" &= ({i}-1)\cdot {s} - 2\cdot {p} + {d}\cdot({k}-1) + {op} + 1 = \mathbf{{{o}}} \end{{aligned}}"
    )


def conv_output_size(i: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> int:
    r"""Output size of a direct convolution along one axis: $\lfloor (I + 2P - D(K-1) - 1)/S \rfloor + 1$."""
    if min(i, k, s, d) < 1 or p < 0:
        raise ParameterError("shape", "Sizes, strides and dilations must be at least 1 and the padding at least 0.")
    extent = d * (k - 1) + 1  # cells one kernel application covers
    o = (i + 2 * p - extent) // s + 1
    if o < 1:
        raise ParameterError(
            "kernel_too_big",
            f"The kernel ({extent} cells wide with its dilation) does not fit in the padded input "
            f"({i + 2 * p} cells).",
            k=extent,
            i=i + 2 * p,
        )
    return o


def _check_shapes(x: torch.Tensor, weight: torch.Tensor) -> None:
    if x.dim() != 4:
        raise ParameterError("shape", f"The input must be shaped (N, C_in, H, W), got {tuple(x.shape)}.")
    if weight.dim() != 4:
        raise ParameterError(
            "shape", f"The kernel must be shaped (C_in, C_out, kH, kW), got {tuple(weight.shape)}."
        )
    if weight.shape[0] != x.shape[1]:
        raise ParameterError(
            "channels",
            f"The input has {x.shape[1]} channels but the kernel expects {weight.shape[0]}.",
        )


def _sizes(x, weight, stride, padding, output_padding, dilation):
    """Per-axis parameters and the output size (raises the plain sentences)."""
    s, p, op, d = (
        int_pair("stride", stride),
        int_pair("padding", padding),
        int_pair("output padding", output_padding),
        int_pair("dilation", dilation),
    )
    (h, w), (kh, kw) = x.shape[-2:], weight.shape[-2:]
    out = (
        conv_transpose_output_size(h, kh, s[0], p[0], op[0], d[0]),
        conv_transpose_output_size(w, kw, s[1], p[1], op[1], d[1]),
    )
    return s, p, op, d, out


def _prepare(x, weight, stride, padding, output_padding, dilation):
    """What both fast paths start with: batch an unbatched input, check the shapes, then :func:`_sizes`.

    Returns ``(x, unbatched, (s, p, op, d), (O_h, O_w))``.
    """
    unbatched = x.dim() == 3
    if unbatched:
        x = x.unsqueeze(0)  # (1, C_in, H, W)
    _check_shapes(x, weight)
    s, p, op, d, out = _sizes(x, weight, stride, padding, output_padding, dilation)
    return x, unbatched, (s, p, op, d), out


# ----------------------------------------------------------------------------------------------
# The fast paths
# ----------------------------------------------------------------------------------------------


def conv_transpose2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    dilation=1,
) -> torch.Tensor:
    """Transposed convolution by scattering weighted copies of the kernel.

    ``x`` is (N, C_in, H, W) (or (C_in, H, W)), ``weight`` is (C_in, C_out, kH, kW) as in torch.
    Equals ``F.conv_transpose2d`` with ``groups=1``. One loop step per kernel tap: tap (a, b)
    sends every input cell (i, j), mixed over channels, to canvas cell
    (i·S + a·D, j·S + b·D). The canvas is the output before padding crops it.
    """
    x, unbatched, (s, p, op, d), (out_h, out_w) = _prepare(x, weight, stride, padding, output_padding, dilation)
    n, _, h, w = x.shape
    c_out, kh, kw = weight.shape[1:]

    # Canvas: every copy fits, plus the output-padding rows/columns beyond the last copy.
    canvas_h = max((h - 1) * s[0] + d[0] * (kh - 1) + 1, p[0] + out_h)
    canvas_w = max((w - 1) * s[1] + d[1] * (kw - 1) + 1, p[1] + out_w)
    canvas = x.new_zeros(n, c_out, canvas_h, canvas_w)
    for a in range(kh):
        for b in range(kw):
            # Every input value times this one tap, mixed over input channels.
            tap = torch.einsum("nihw,io->nohw", x, weight[:, :, a, b])  # (N, C_out, H, W)
            rows = slice(a * d[0], a * d[0] + (h - 1) * s[0] + 1, s[0])  # copies sit S apart
            cols = slice(b * d[1], b * d[1] + (w - 1) * s[1] + 1, s[1])
            canvas[:, :, rows, cols] += tap  # overlaps add
    out = canvas[:, :, p[0] : p[0] + out_h, p[1] : p[1] + out_w]  # padding crops: (N, C_out, O_h, O_w)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out.squeeze(0) if unbatched else out


def conv_transpose2d_zero_insertion(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    dilation=1,
) -> torch.Tensor:
    """The same transposed convolution as an ordinary stride-1 convolution.

    Insert S−1 zeros between neighbouring input values, pad each side by D·(K−1) − P (a negative
    amount crops), add the output padding at the bottom and right, then convolve with the kernel
    flipped in both directions and its channel axes swapped. Equals :func:`conv_transpose2d`.
    """
    x, unbatched, (s, p, op, d), _ = _prepare(x, weight, stride, padding, output_padding, dilation)
    n, c_in, h, w = x.shape
    kh, kw = weight.shape[-2:]

    spread = x.new_zeros(n, c_in, (h - 1) * s[0] + 1, (w - 1) * s[1] + 1)
    spread[:, :, :: s[0], :: s[1]] = x  # S−1 zeros between values: (N, C_in, (H−1)S+1, (W−1)S+1)
    qh, qw = d[0] * (kh - 1) - p[0], d[1] * (kw - 1) - p[1]
    padded = F.pad(spread, (qw, qw + op[1], qh, qh + op[0]))  # (N, C_in, O_h + D(kH−1), O_w + D(kW−1))
    flipped = weight.transpose(0, 1).flip(-2, -1)  # (C_out, C_in, kH, kW), rotated 180°
    out = F.conv2d(padded, flipped, bias, dilation=d)  # (N, C_out, O_h, O_w)
    return out.squeeze(0) if unbatched else out


def conv_matrix(in_size, kernel: torch.Tensor, stride=1, padding=0, *, dilation=1) -> torch.Tensor:
    """The matrix C of a one-channel direct convolution: ``C @ x.flatten() == conv2d(x).flatten()``.

    ``in_size`` is H or (H, W), ``kernel`` is (kH, kW) (or (1, 1, kH, kW)). C has one row per
    output cell and one column per input cell, both in row-major order; row (oi, oj) holds the
    kernel weights at the input cells that kernel position covers. ``C.T`` maps an output-shaped
    grid back to an input-shaped one: that is the transposed convolution with the same kernel,
    stride, padding and dilation.
    """
    if kernel.dim() == 4:
        kernel = kernel[0, 0]  # (kH, kW)
    if kernel.dim() != 2:
        raise ParameterError("shape", f"The kernel must be a 2-D grid, got shape {tuple(kernel.shape)}.")
    h, w = int_pair("input size", in_size)
    s, p, d = int_pair("stride", stride), int_pair("padding", padding), int_pair("dilation", dilation)
    kh, kw = kernel.shape
    out_h = conv_output_size(h, kh, s[0], p[0], d[0])
    out_w = conv_output_size(w, kw, s[1], p[1], d[1])

    oi = torch.arange(out_h).view(-1, 1).expand(out_h, out_w)  # (O_h, O_w) output row of each cell
    oj = torch.arange(out_w).view(1, -1).expand(out_h, out_w)  # (O_h, O_w) output column
    row = (oi * out_w + oj).reshape(-1)  # (O_h·O_w,) row of C for each output cell
    c = kernel.new_zeros(out_h * out_w, h * w)
    for a in range(kh):
        for b in range(kw):
            ii = (oi * s[0] - p[0] + a * d[0]).reshape(-1)  # input cell this tap covers
            jj = (oj * s[1] - p[1] + b * d[1]).reshape(-1)
            inside = (ii >= 0) & (ii < h) & (jj >= 0) & (jj < w)  # taps on the padding add nothing
            c[row[inside], ii[inside] * w + jj[inside]] += kernel[a, b]
    return c


# ----------------------------------------------------------------------------------------------
# Step traces for the page (one channel, 2-D grids)
# ----------------------------------------------------------------------------------------------


def _grid(t: torch.Tensor, what: str) -> torch.Tensor:
    t = torch.as_tensor(t)
    if t.dim() == 4:
        t = t[0, 0]
    if t.dim() != 2:
        raise ParameterError("shape", f"The {what} must be a 2-D grid, got shape {tuple(t.shape)}.")
    return t


@dataclass(frozen=True)
class Touch:
    """One product added into one canvas cell during a scatter step."""

    row: int  # canvas row (the output before padding is cropped)
    col: int  # canvas column
    tap_row: int  # which kernel weight
    tap_col: int
    weight: float  # kernel[tap_row, tap_col]
    before: float  # canvas value before this product
    added: float  # input value × weight
    after: float  # canvas value after
    kept: bool  # inside the output (not cropped by the padding)


@dataclass(frozen=True)
class ScatterStep:
    """Input cell (i, j) places value × kernel on the canvas, its top-left at (i·S, j·S)."""

    i: int
    j: int
    value: float
    anchor: tuple[int, int]  # canvas cell of kernel weight (0, 0)
    copy: torch.Tensor  # (canvas_h, canvas_w): this step's weighted kernel copy alone
    running: torch.Tensor  # (canvas_h, canvas_w): the sum of all copies so far
    touches: tuple[Touch, ...]

    def touched(self) -> tuple[list[int], list[int], dict[tuple[int, int], Touch]]:
        """The canvas rows and columns this copy reaches, and its touch at each ``(row, col)``."""
        by_cell = {(t.row, t.col): t for t in self.touches}
        return sorted({t.row for t in self.touches}), sorted({t.col for t in self.touches}), by_cell


@dataclass(frozen=True)
class ScatterTrace:
    """The scatter view: one step per input cell, in row-major order."""

    steps: tuple[ScatterStep, ...]
    canvas_shape: tuple[int, int]
    crop: tuple[int, int, int, int]  # (top, left, height, width) of the output inside the canvas
    output: torch.Tensor  # (O_h, O_w): the canvas cropped, = conv_transpose2d

    def value_range(self) -> tuple[float, float]:
        """(lowest, highest) running sum over all steps: one colour scale for the whole animation."""
        return (min(float(s.running.min()) for s in self.steps), max(float(s.running.max()) for s in self.steps))


def scatter_trace(x, kernel, stride=1, padding=0, output_padding=0, dilation=1) -> ScatterTrace:
    """Every step of the scatter: which canvas cells each input value reaches, with the numbers.

    ``x`` is (H, W), ``kernel`` is (kH, kW). The final step's running sum, cropped, equals
    :func:`conv_transpose2d`.
    """
    x, kernel = _grid(x, "input"), _grid(kernel, "kernel")
    s, p, op, d, (out_h, out_w) = _sizes(x, kernel, stride, padding, output_padding, dilation)
    (h, w), (kh, kw) = x.shape, kernel.shape
    canvas_h = max((h - 1) * s[0] + d[0] * (kh - 1) + 1, p[0] + out_h)
    canvas_w = max((w - 1) * s[1] + d[1] * (kw - 1) + 1, p[1] + out_w)
    running = x.new_zeros(canvas_h, canvas_w)
    steps = []
    for i in range(h):
        for j in range(w):
            top, left = i * s[0], j * s[1]
            copy = x.new_zeros(canvas_h, canvas_w)
            rows = slice(top, top + d[0] * (kh - 1) + 1, d[0])  # dilation spaces the taps
            cols = slice(left, left + d[1] * (kw - 1) + 1, d[1])
            copy[rows, cols] = x[i, j] * kernel  # (kH, kW) weighted copy
            after = running + copy
            touches = tuple(
                Touch(
                    row=top + a * d[0],
                    col=left + b * d[1],
                    tap_row=a,
                    tap_col=b,
                    weight=float(kernel[a, b]),
                    before=float(running[top + a * d[0], left + b * d[1]]),
                    added=float(copy[top + a * d[0], left + b * d[1]]),
                    after=float(after[top + a * d[0], left + b * d[1]]),
                    kept=p[0] <= top + a * d[0] < p[0] + out_h and p[1] <= left + b * d[1] < p[1] + out_w,
                )
                for a in range(kh)
                for b in range(kw)
            )
            running = after
            steps.append(ScatterStep(i, j, float(x[i, j]), (top, left), copy, running, touches))
    crop = (p[0], p[1], out_h, out_w)
    output = running[p[0] : p[0] + out_h, p[1] : p[1] + out_w]  # (O_h, O_w)
    return ScatterTrace(tuple(steps), (canvas_h, canvas_w), crop, output)


def overlap_count(in_size, kernel_size, stride=1, padding=0, output_padding=0, dilation=1) -> torch.Tensor:
    """How many (input cell, kernel weight) products land on each output cell: (O_h, O_w) ints.

    It is the transposed convolution of an all-ones input with an all-ones kernel. Uneven
    counts are the source of the checkerboard pattern.
    """
    h, w = int_pair("input size", in_size)
    kh, kw = int_pair("kernel size", kernel_size)
    conv_transpose_output_size(min(h, w), min(kh, kw))  # sizes below 1 raise the plain sentence
    ones = torch.ones(1, 1, h, w, dtype=torch.float64)
    kernel = torch.ones(1, 1, kh, kw, dtype=torch.float64)
    out = conv_transpose2d(ones, kernel, None, stride, padding, output_padding, dilation)
    return out[0, 0].round().to(torch.int64)  # (O_h, O_w)


def overlap_pattern(kernel_size: int, stride: int, dilation: int = 1) -> list[int]:
    """Along one axis, away from the borders: how many kernel weights reach a cell at offset
    r = 0 … S−1 after a copy's start. Equal numbers mean no checkerboard; for dilation 1 they are
    equal exactly when the stride divides the kernel size. The 2-D count is the product of the
    row and column counts.
    """
    k, s, d = whole("kernel size", kernel_size), whole("stride", stride), whole("dilation", dilation)
    if k < 1 or s < 1 or d < 1:
        conv_transpose_output_size(1, k, s, 0, 0, d)  # raises the plain sentence
    counts = [0] * s
    for a in range(k):
        counts[(a * d) % s] += 1
    return counts


def resize_then_convolve(x, kernel, scale: int, dilation: int = 1) -> torch.Tensor:
    """The checkerboard-free alternative: nearest-neighbour upsampling by ``scale``, then a
    stride-1 convolution that keeps the size ("same" padding). ``x`` (H, W) -> (scale·H, scale·W).
    Every output cell away from the border sums the same number of kernel weights."""
    x, kernel = _grid(x, "input"), _grid(kernel, "kernel")
    scale = whole("scale", scale)
    if scale < 1:
        raise ParameterError("stride", f"The stride must be at least 1, got {scale}.", s=scale)
    up = F.interpolate(x[None, None], scale_factor=scale, mode="nearest")  # (1, 1, sH, sW)
    (kh, kw), d = kernel.shape, dilation
    th, tw = d * (kh - 1), d * (kw - 1)  # "same" padding: the extra cell of an odd total goes last
    up = F.pad(up, (tw // 2, tw - tw // 2, th // 2, th - th // 2))  # (1, 1, sH + th, sW + tw)
    out = F.conv2d(up, kernel[None, None], dilation=d)  # (1, 1, sH, sW)
    return out[0, 0]


@dataclass(frozen=True)
class CheckerboardComparison:
    """A flat input (all ones) upsampled two ways with a flat kernel (all ones)."""

    transposed: torch.Tensor  # transposed convolution: uneven where the copies overlap unevenly
    resized: torch.Tensor  # nearest upsampling then convolution: even away from the borders
    transposed_range: tuple[float, float]  # (min, max) away from the borders
    resized_range: tuple[float, float]
    pattern: tuple[list[int], list[int]]  # overlap_pattern for rows and columns


def _interior_range(t: torch.Tensor, margin_h: int, margin_w: int) -> tuple[float, float]:
    inner = t[margin_h : t.shape[0] - margin_h, margin_w : t.shape[1] - margin_w]
    if inner.numel() == 0:
        inner = t
    return float(inner.min()), float(inner.max())


def checkerboard_comparison(in_size, kernel_size, stride, padding=0, output_padding=0, dilation=1):
    """Transposed convolution vs resize-then-convolve on a flat input with a flat kernel."""
    h, w = int_pair("input size", in_size)
    kh, kw = int_pair("kernel size", kernel_size)
    s, d = int_pair("stride", stride), int_pair("dilation", dilation)
    if s[0] != s[1] or d[0] != d[1]:
        raise ParameterError("not_pair", "The comparison needs the same stride and dilation on both axes.")
    transposed = overlap_count((h, w), (kh, kw), s, padding, output_padding, d).to(torch.float64)
    ones = torch.ones(h, w, dtype=torch.float64)
    resized = resize_then_convolve(ones, torch.ones(kh, kw, dtype=torch.float64), s[0], d[0])
    mh, mw = d[0] * (kh - 1), d[1] * (kw - 1)  # cells near the border see fewer copies in both
    return CheckerboardComparison(
        transposed=transposed,
        resized=resized,
        transposed_range=_interior_range(transposed, mh, mw),
        resized_range=_interior_range(resized, mh, mw),
        pattern=(overlap_pattern(kh, s[0], d[0]), overlap_pattern(kw, s[1], d[1])),
    )


@dataclass(frozen=True)
class ZeroInsertionTrace:
    """The zero-insertion view: spread, pad, convolve with the flipped kernel."""

    spread: torch.Tensor  # ((H−1)S+1, (W−1)S+1): S−1 zeros between input values
    pad: tuple[int, int]  # D(K−1) − P per axis, added on every side (negative: cropped)
    padded: torch.Tensor  # (O_h + D(kH−1), O_w + D(kW−1)): what the kernel slides over
    positions: torch.Tensor  # (H, W, 2): where each input value sits in ``padded`` (may be outside)
    flipped: torch.Tensor  # (kH, kW): the kernel rotated by 180°
    output: torch.Tensor  # (O_h, O_w): the stride-1 convolution, = conv_transpose2d
    dilation: tuple[int, int]

    def window(self, r: int, c: int) -> torch.Tensor:
        """The cells of ``padded`` the flipped kernel covers for output cell (r, c): (kH, kW)."""
        kh, kw = self.flipped.shape
        d = self.dilation
        return self.padded[r : r + d[0] * (kh - 1) + 1 : d[0], c : c + d[1] * (kw - 1) + 1 : d[1]]

    def window_cells(self, r: int, c: int) -> list[tuple[int, int]]:
        """The (row, col) cells of ``padded`` under the flipped kernel for output cell (r, c)."""
        kh, kw = self.flipped.shape
        d = self.dilation
        return [(r + a * d[0], c + b * d[1]) for a in range(kh) for b in range(kw)]

    def products(self, r: int, c: int) -> list[tuple[float, float]]:
        """The (window value, flipped weight) pairs that make output cell (r, c); products with an
        inserted or padded zero (or a zero weight) are left out, since they add nothing."""
        pairs = zip(self.window(r, c).reshape(-1).tolist(), self.flipped.reshape(-1).tolist())
        return [(a, b) for a, b in pairs if a != 0 and b != 0]

    def input_cells(self) -> list[tuple[int, int]]:
        """Where the input values sit in ``padded``, leaving out those the padding cropped away."""
        h, w = self.padded.shape
        return [(i, j) for i, j in self.positions.reshape(-1, 2).tolist() if 0 <= i < h and 0 <= j < w]


def zero_insertion_trace(x, kernel, stride=1, padding=0, output_padding=0, dilation=1) -> ZeroInsertionTrace:
    """Every intermediate of :func:`conv_transpose2d_zero_insertion` for one channel."""
    x, kernel = _grid(x, "input"), _grid(kernel, "kernel")
    s, p, op, d, _ = _sizes(x, kernel, stride, padding, output_padding, dilation)
    (h, w), (kh, kw) = x.shape, kernel.shape
    spread = x.new_zeros((h - 1) * s[0] + 1, (w - 1) * s[1] + 1)
    spread[:: s[0], :: s[1]] = x  # ((H−1)S+1, (W−1)S+1)
    qh, qw = d[0] * (kh - 1) - p[0], d[1] * (kw - 1) - p[1]
    padded = F.pad(spread[None, None], (qw, qw + op[1], qh, qh + op[0]))[0, 0]  # (O_h+D(kH−1), O_w+D(kW−1))
    flipped = kernel.flip(0, 1)  # (kH, kW)
    output = F.conv2d(padded[None, None], flipped[None, None], dilation=d)[0, 0]  # (O_h, O_w)
    ii = torch.arange(h).view(-1, 1).expand(h, w) * s[0] + qh
    jj = torch.arange(w).view(1, -1).expand(h, w) * s[1] + qw
    positions = torch.stack([ii, jj], dim=-1)  # (H, W, 2)
    return ZeroInsertionTrace(spread, (qh, qw), padded, positions, flipped, output, d)


@dataclass(frozen=True)
class MatrixView:
    r"""The transposed convolution as a matrix product: ``output = C.T @ x.flatten()``.

    ``C`` is the matrix of the direct convolution that goes the other way: from an
    output-sized grid (O_h, O_w) to an input-sized one (H, W), with the same kernel, stride,
    padding and dilation.
    """

    c: torch.Tensor  # (H·W, O_h·O_w)
    x_flat: torch.Tensor  # (H·W,)
    y_flat: torch.Tensor  # (O_h·O_w,) = C.T @ x_flat
    output: torch.Tensor  # (O_h, O_w)
    direct_in_size: tuple[int, int]  # (O_h, O_w): the direct convolution's input
    dropped_rows: int  # direct-convolution outputs beyond (H, W), left out (only when OP ≥ S)


def matrix_view(x, kernel, stride=1, padding=0, output_padding=0, dilation=1) -> MatrixView:
    """Build C for the matching direct convolution and apply its transpose to the flat input."""
    x, kernel = _grid(x, "input"), _grid(kernel, "kernel")
    s, p, op, d, (out_h, out_w) = _sizes(x, kernel, stride, padding, output_padding, dilation)
    h, w = x.shape
    full = conv_matrix((out_h, out_w), kernel, s, p, dilation=d)  # (Hc·Wc, O_h·O_w)
    hc = conv_output_size(out_h, kernel.shape[0], s[0], p[0], d[0])  # = H + OP // S
    wc = conv_output_size(out_w, kernel.shape[1], s[1], p[1], d[1])
    keep = (torch.arange(hc).view(-1, 1) < h) & (torch.arange(wc).view(1, -1) < w)  # (Hc, Wc)
    c = full[keep.reshape(-1)]  # (H·W, O_h·O_w): only outputs that match an input cell
    x_flat = x.reshape(-1)  # (H·W,)
    y_flat = c.T @ x_flat  # (O_h·O_w,)
    return MatrixView(c, x_flat, y_flat, y_flat.view(out_h, out_w), (out_h, out_w), hc * wc - h * w)


@dataclass(frozen=True)
class GradientCheck:
    """The transposed convolution is the gradient of the direct convolution."""

    gradient: torch.Tensor  # (O_h, O_w): d/dz of sum(conv2d(z) * x), from autograd
    ours: torch.Tensor  # (O_h, O_w): conv_transpose2d(x)
    max_abs_diff: float


def autograd_check(x, kernel, stride=1, padding=0, output_padding=0, dilation=1) -> GradientCheck:
    """Run the direct convolution on an output-sized grid z, weight its result by x, and ask
    autograd for the gradient with respect to z: it is the transposed convolution of x."""
    x, kernel = _grid(x, "input"), _grid(kernel, "kernel")
    s, p, op, d, (out_h, out_w) = _sizes(x, kernel, stride, padding, output_padding, dilation)
    h, w = x.shape
    z = torch.zeros(1, 1, out_h, out_w, dtype=x.dtype, requires_grad=True)
    with torch.enable_grad():
        y = F.conv2d(z, kernel[None, None].to(x.dtype), stride=s, padding=p, dilation=d)  # (1, 1, ≥H, ≥W)
        loss = (y[0, 0, :h, :w] * x).sum()  # x plays the upstream gradient
        (grad,) = torch.autograd.grad(loss, z)
    ours = conv_transpose2d(x[None, None], kernel[None, None].to(x.dtype), None, s, p, op, d)[0, 0]
    grad = grad[0, 0]  # (O_h, O_w)
    return GradientCheck(grad, ours, float((grad - ours).abs().max()))


def default_input(n: int) -> np.ndarray:
    """The ``n × n`` input the page starts from: 1, 2, 3, … row by row (n = 2: the lecture's [[1, 2], [3, 4]])."""
    return np.arange(1, n * n + 1, dtype=float).reshape(n, n)  # (n, n)


def default_kernel(k: int) -> np.ndarray:
    """The ``k × k`` kernel the page starts from: all ones, so each copy shows the input value itself."""
    return np.ones((k, k))


@dataclass(frozen=True)
class LessonViews:
    """Every view of one parameter set that the page shows, each with torch's own answer beside it."""

    scatter: ScatterTrace  # the scatter, one step per input cell
    theirs: torch.Tensor  # (O_h, O_w): F.conv_transpose2d of the same numbers
    counts: torch.Tensor  # (O_h, O_w): how many kernel weights reach each output cell
    theirs_counts: torch.Tensor  # (O_h, O_w): the same count by torch (all-ones input and kernel)
    compare: CheckerboardComparison  # on a flat input of at least 4 × 4, so the pattern away from the borders shows
    zero: ZeroInsertionTrace  # the same output as a stride-1 convolution of the spread-out input
    matrix: MatrixView  # the same output as C^T times the flattened input
    grad: GradientCheck  # the same output as the gradient of the direct convolution


def lesson_views(x, kernel, stride: int = 1, padding: int = 0, output_padding: int = 0,
                 dilation: int = 1) -> LessonViews:
    """All the views of ``x`` (H, W) and a square ``kernel`` (k, k), in float64 (raises :class:`ParameterError`
    when torch would refuse the parameters)."""
    xt, kt = torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(kernel, dtype=torch.float64)
    s, p, op, d = stride, padding, output_padding, dilation
    return LessonViews(
        scatter=scatter_trace(xt, kt, s, p, op, d),
        theirs=F.conv_transpose2d(xt[None, None], kt[None, None], stride=s, padding=p, output_padding=op,
                                  dilation=d)[0, 0],
        counts=overlap_count(tuple(xt.shape), kt.shape[0], s, p, op, d),
        theirs_counts=F.conv_transpose2d(torch.ones_like(xt)[None, None], torch.ones_like(kt)[None, None],
                                         stride=s, padding=p, output_padding=op, dilation=d)[0, 0],
        compare=checkerboard_comparison(max(xt.shape[0], 4), kt.shape[0], s, p, op, d),
        zero=zero_insertion_trace(xt, kt, s, p, op, d),
        matrix=matrix_view(xt, kt, s, p, op, d),
        grad=autograd_check(xt, kt, s, p, op, d),
    )


# ----------------------------------------------------------------------------------------------
# The gallery and the quiz
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GalleryCase:
    """One classic case from Dumoulin & Visin's guide, as a 1-channel example."""

    key: str  # names the caption in the lessons
    input_size: int
    kernel_size: int
    stride: int = 1
    padding: int = 0
    output_padding: int = 0
    dilation: int = 1


GALLERY: tuple[GalleryCase, ...] = (
    GalleryCase("no_padding", input_size=2, kernel_size=3),
    GalleryCase("padding", input_size=3, kernel_size=3, padding=1),
    GalleryCase("stride", input_size=2, kernel_size=3, stride=2),
    GalleryCase("stride_padding", input_size=3, kernel_size=3, stride=2, padding=1),
    GalleryCase("output_padding", input_size=3, kernel_size=3, stride=2, padding=1, output_padding=1),
    GalleryCase("dilation", input_size=2, kernel_size=3, dilation=2),
)


def gallery_trace(key: str) -> tuple[GalleryCase, torch.Tensor, ScatterTrace]:
    """The gallery case ``key``: its input (1, 2, 3, … as in the lecture) and its scatter with an all-ones kernel."""
    case = next((c for c in GALLERY if c.key == key), None)
    if case is None:
        raise ValueError(f"unknown gallery case '{key}'; valid cases are {', '.join(c.key for c in GALLERY)}")
    x = torch.from_numpy(default_input(case.input_size))  # (n, n), float64
    kernel = torch.from_numpy(default_kernel(case.kernel_size))  # (k, k), float64
    trace = scatter_trace(x, kernel, case.stride, case.padding, case.output_padding, case.dilation)
    return case, x, trace


def _q_output_size(rng: random.Random) -> Question:
    while True:
        i, k, s = rng.randint(2, 6), rng.randint(1, 5), rng.randint(1, 4)
        d = rng.choice([1, 1, 2])
        p = rng.randint(0, 2)
        op = rng.randint(0, max(s, d) - 1)
        try:
            o = conv_transpose_output_size(i, k, s, p, op, d)
        except ParameterError:
            continue
        return Question(
            "output_size",
            dict(i=i, k=k, s=s, p=p, op=op, d=d, a=(i - 1) * s, b=2 * p, c=d * (k - 1), o=o),
            o,
        )


def _q_cell_value(rng: random.Random) -> Question:
    k, s = rng.choice([(2, 1), (3, 1), (3, 2), (3, 2)])  # stride below the kernel size: copies overlap
    x = torch.tensor([[rng.randint(-2, 4) for _ in range(2)] for _ in range(2)], dtype=torch.float64)
    kernel = torch.tensor([[rng.randint(-1, 3) for _ in range(k)] for _ in range(k)], dtype=torch.float64)
    trace = scatter_trace(x, kernel, s)
    counts = overlap_count(2, k, s)
    # Prefer a cell where copies overlap, so the question is about adding them.
    cells = [(r, c) for r in range(counts.shape[0]) for c in range(counts.shape[1]) if counts[r, c] > 1]
    if not cells:
        cells = [(r, c) for r in range(counts.shape[0]) for c in range(counts.shape[1])]
    r, c = rng.choice(cells)
    terms = [
        f"{_num(step.value)}·{_num(t.weight)}"
        for step in trace.steps
        for t in step.touches
        if (t.row, t.col) == (r, c)
    ]
    value = float(trace.output[r, c])
    return Question(
        "cell_value",
        dict(
            x=_fmt_grid(x),
            kernel=_fmt_grid(kernel),
            s=s,
            r=r,
            c=c,
            terms=" + ".join(terms),
            value=f"{value:g}",
        ),
        value,
    )


def _q_overlaps(rng: random.Random) -> Question:
    k, s = rng.choice([(3, 2), (4, 2), (5, 2), (3, 3), (4, 3), (5, 3), (5, 4), (2, 1), (3, 1)])
    counts = overlap_pattern(k, s)
    peak = max(counts)  # along one axis; a 2-D cell multiplies its row and column counts
    return Question(
        "overlaps",
        dict(k=k, s=s, counts=", ".join(map(str, counts)), peak=peak, peak2=peak * peak),
        peak * peak,
    )


def _q_zeros(rng: random.Random) -> Question:
    i, k, s = rng.randint(2, 5), rng.randint(2, 4), rng.randint(2, 4)
    p = rng.randint(0, (k - 1) // 2)  # keeps D(K−1) − P ≥ 0 and the output non-empty
    spread = (i - 1) * s + 1
    q = k - 1 - p
    size = spread + 2 * q
    return Question(
        "zeros",
        dict(i=i, k=k, s=s, p=p, zeros=s - 1, spread=spread, q=q, size=size, o=size - k + 1),
        size,
    )


def _q_matrix(rng: random.Random) -> Question:
    i, k, s = rng.randint(2, 4), rng.randint(2, 3), rng.randint(1, 3)
    o = conv_transpose_output_size(i, k, s)
    return Question("matrix", dict(i=i, k=k, s=s, o=o, rows=o * o, cols=i * i), o * o)


def _q_checkerboard(rng: random.Random) -> Question:
    k, s = rng.choice([(3, 2), (4, 2), (2, 2), (6, 3), (4, 3), (3, 3), (5, 2), (4, 4), (5, 4)])
    counts = overlap_pattern(k, s)
    uneven = len(set(counts)) > 1
    return Question(
        "checkerboard",
        dict(k=k, s=s, counts=", ".join(map(str, counts))),
        "quiz_yes" if uneven else "quiz_no",
        choices=("quiz_yes", "quiz_no"),
    )


def transposed_questions(rng: random.Random) -> list[Question]:
    """Four "check yourself" questions: the output size, one output value by hand, and two of
    overlaps / checkerboard / zero insertion / the matrix shape, with numbers drawn from ``rng``."""
    others = rng.sample([_q_overlaps, _q_checkerboard, _q_zeros, _q_matrix], k=2)
    return [_q_output_size(rng), _q_cell_value(rng)] + [make(rng) for make in others]


def _fmt_grid(t: torch.Tensor) -> str:
    return "[" + ", ".join("[" + ", ".join(f"{v:g}" for v in row.tolist()) + "]" for row in t) + "]"


def _num(v: float) -> str:
    """A number as written in a sum: negative ones in parentheses."""
    return f"({v:g})" if v < 0 else f"{v:g}"

