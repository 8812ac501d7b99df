r"""Transposed convolution with channels, and a transposed convolution that learns its kernel.

**Channels.** A transposed convolution from :math:`C_{in}` to :math:`C_{out}` channels has a weight of
shape ``(C_in, C_out, k, k)`` (torch's order: the *input* channels first, the opposite of ``Conv2d``).
Every pair (input channel :math:`i`, output channel :math:`o`) is a one-channel transposed convolution
of :math:`X_i` with the kernel :math:`K_{i,o}`, and output channel :math:`o` is the sum over the input
channels (plus its bias):

.. math:: Y_o = b_o + \sum_{i=1}^{C_{in}} X_i \circledast^{\top} K_{i,o}

(the multi-channel form of the textbook's chapter on transposed convolution, e.g. Zhang, Lipton, Li &
Smola, "Dive into Deep Learning", §14.10). :func:`channel_view` computes the :math:`C_{in} \times C_{out}`
one-channel results with :func:`core.ops.transposed.conv_transpose2d`, adds them up, and sets the sum
beside ``torch.nn.functional.conv_transpose2d``.

**Learned.** In a network the kernel is not chosen, it is learned. :func:`learn_inverse` trains one
stride-2 transposed convolution (one channel, no bias) to undo a downsampling: grey street pictures are
shrunk by 2×2 average pooling, and the layer must give the original back, with the mean squared error as
the loss. It starts from a random kernel, so at first the output of a flat input is a checkerboard (the
kernel copies overlap, and the taps that land on even and odd cells have different sums; Odena, Dumoulin &
Olah, Distill 2016); the gradient soon makes those sums equal, since a flat picture must come back flat.
Snapshots at chosen steps keep the kernel, the answer to a flat input and a reconstruction, so a page
can show how they change.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from core.data.streets import make_street
from core.ops.args import ParameterError
from core.ops.transposed import conv_transpose2d

__all__ = [
    "ChannelView",
    "channel_view",
    "LearnConfig",
    "same_size_padding",
    "grey_streets",
    "probe_picture",
    "downsample",
    "checkerboard",
    "Snapshot",
    "learn_inverse",
]


# --- channels ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChannelView:
    x: torch.Tensor  # (C_in, H, W) the input
    weight: torch.Tensor  # (C_in, C_out, k, k) torch's layout
    bias: torch.Tensor  # (C_out,)
    parts: torch.Tensor  # (C_in, C_out, O, O): input channel i through kernel (i, o) alone
    summed: torch.Tensor  # (C_out, O, O): parts summed over the input channels, plus the bias
    ours: torch.Tensor  # (C_out, O, O): core.ops.conv_transpose2d on all the channels at once
    theirs: torch.Tensor  # (C_out, O, O): torch.nn.functional.conv_transpose2d


def channel_view(c_in: int, c_out: int, size: int = 2, kernel_size: int = 2, stride: int = 1, padding: int = 0,
                 seed: int = 0) -> ChannelView:
    """Small whole numbers in the input, the kernels and the bias (drawn from ``seed``), through a
    ``c_in → c_out`` transposed convolution three ways: pair by pair and summed, all at once from scratch,
    and by torch."""
    if not (1 <= c_in <= 8 and 1 <= c_out <= 8):
        raise ParameterError("channels", f"Use between 1 and 8 channels on each side, got {c_in} → {c_out}.")
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(-2, 4, (c_in, size, size), generator=g).double()  # (C_in, H, W)
    weight = torch.randint(-1, 3, (c_in, c_out, kernel_size, kernel_size), generator=g).double()
    bias = torch.randint(-1, 2, (c_out,), generator=g).double()
    parts = torch.stack([torch.stack([conv_transpose2d(x[i][None, None], weight[i, o][None, None], stride=stride,
                                                       padding=padding)[0, 0]
                                      for o in range(c_out)]) for i in range(c_in)])  # (C_in, C_out, O, O)
    summed = parts.sum(0) + bias.view(-1, 1, 1)  # (C_out, O, O)
    ours = conv_transpose2d(x[None], weight, bias, stride=stride, padding=padding)[0]  # (C_out, O, O)
    theirs = F.conv_transpose2d(x[None], weight, bias, stride=stride, padding=padding)[0]
    return ChannelView(x, weight, bias, parts, summed, ours, theirs)


# --- learned ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LearnConfig:
    kernel_size: int = 4  # 4 with stride 2: every output cell gets two copies per axis (as FCN's upsampling)
    stride: int = 2  # the factor the pictures were shrunk by
    side: int = 32  # pictures are side × side; the layer sees side/2 × side/2
    pictures: int = 32  # grey street scenes the layer trains on
    batch_size: int = 8  # pictures per step
    lr: float = 0.05  # Adam: a 16-number problem takes big steps safely
    init_scale: float = 0.5  # the random start: N(0, init_scale²) for each tap
    seed: int = 0  # the start and the batches


def same_size_padding(kernel_size: int, stride: int = 2) -> tuple[int, int]:
    """``(padding, output_padding)`` for which a stride-``stride`` transposed convolution with this kernel turns
    ``n`` cells into exactly ``stride·n``: :math:`(n-1)s - 2p + k + op = sn`."""
    extra = kernel_size - stride  # what the copies reach beyond s·n cells
    if extra < 0:
        raise ParameterError("kernel_size", f"The kernel must be at least as large as the stride ({stride}); "
                             f"got {kernel_size}.", k=kernel_size, s=stride)
    return (extra + 1) // 2, extra % 2


def grey_streets(n: int, side: int, seed: int = 0) -> torch.Tensor:
    """``n`` synthetic street scenes in grey, values in [0, 1]: ``(n, 1, side, side)``."""
    pics = [make_street(seed * 1_000_003 + 70_000 + i, side)[0].mean(-1) / 255.0 for i in range(n)]
    return torch.from_numpy(np.stack(pics)).float()[:, None]  # (n, 1, side, side)


def probe_picture(cfg: LearnConfig) -> torch.Tensor:
    """The picture the layer never trains on, ``(1, 1, side, side)``: each snapshot shows it given back."""
    return grey_streets(cfg.pictures + 1, cfg.side, cfg.seed)[-1:]


def downsample(x: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """What the layer must undo: ``factor × factor`` average pooling, ``(N, 1, H, W) → (N, 1, H/f, W/f)``."""
    return F.avg_pool2d(x, factor)


def checkerboard(kernel: torch.Tensor, stride: int = 2, cells: int = 8) -> tuple[torch.Tensor, float]:
    """The layer's answer to a flat input of ones (``cells × cells``) and its unevenness away from the border:
    ``(max − min) / mean`` of the interior, 0 when a flat picture comes back flat."""
    p, op = same_size_padding(kernel.shape[-1], stride)
    out = F.conv_transpose2d(torch.ones(1, 1, cells, cells), kernel.view(1, 1, *kernel.shape[-2:]), stride=stride,
                             padding=p, output_padding=op)[0, 0]  # (s·cells, s·cells)
    m = kernel.shape[-1]  # the border cells see fewer copies
    inner = out[m:-m, m:-m]
    mean = float(inner.mean())
    return out, float(inner.max() - inner.min()) / max(abs(mean), 1e-12)


@dataclass(frozen=True)
class Snapshot:
    step: int  # how many training steps made this kernel (0: the random start)
    loss: float  # the mean squared error on the training batch at that step (before the step's update)
    kernel: np.ndarray  # (k, k)
    flat: np.ndarray  # (2·cells, 2·cells): the answer to a flat input
    unevenness: float  # checkerboard(...)[1]
    reconstruction: np.ndarray  # (side, side): the held-out picture (probe_picture), shrunk and given back by torch
    ours: np.ndarray  # (side, side): the same with core.ops.conv_transpose2d (the scatter of kernel copies)


def _snapshot(step: int, loss: float, kernel: torch.Tensor, cfg: LearnConfig, probe: torch.Tensor) -> Snapshot:
    k = kernel.detach().clone()
    p, op = same_size_padding(cfg.kernel_size, cfg.stride)
    small = downsample(probe, cfg.stride)
    theirs = F.conv_transpose2d(small, k, stride=cfg.stride, padding=p, output_padding=op)
    ours = conv_transpose2d(small, k, stride=cfg.stride, padding=p, output_padding=op)
    flat, uneven = checkerboard(k[0, 0], cfg.stride)
    return Snapshot(step, loss, k[0, 0].numpy(), flat.numpy(), uneven, theirs[0, 0].numpy(), ours[0, 0].numpy())


def learn_inverse(steps: int, cfg: LearnConfig = LearnConfig(), snapshot_at=None) -> Iterator[tuple[int, float, Snapshot | None]]:
    """Train the kernel for ``steps`` steps; yields ``(step, loss, snapshot or None)`` after every step.

    Step 0 (before any update) always comes first with its snapshot, the last step always has one, and so
    does every step in ``snapshot_at`` (by default 1, 2, 5, 10, 20, 50, … up to ``steps``).
    """
    if steps < 1:
        raise ParameterError("steps", f"Train for at least one step, got {steps}.", steps=steps)
    p, op = same_size_padding(cfg.kernel_size, cfg.stride)
    g = torch.Generator().manual_seed(cfg.seed)
    kernel = (cfg.init_scale * torch.randn(1, 1, cfg.kernel_size, cfg.kernel_size, generator=g)).requires_grad_()
    optimiser = torch.optim.Adam([kernel], lr=cfg.lr)
    data = grey_streets(cfg.pictures + 1, cfg.side, cfg.seed)
    train, probe = data[:-1], data[-1:]  # the last picture (probe_picture) is never trained on
    marks = set(snapshot_at) if snapshot_at is not None else {
        m * 10 ** e for e in range(7) for m in (1, 2, 5) if m * 10 ** e <= steps}
    loss_of = lambda big: F.mse_loss(  # noqa: E731
        F.conv_transpose2d(downsample(big, cfg.stride), kernel, stride=cfg.stride, padding=p, output_padding=op), big)
    with torch.no_grad():
        first = float(loss_of(train[: cfg.batch_size]))
    yield 0, first, _snapshot(0, first, kernel, cfg, probe)
    for step in range(1, steps + 1):
        idx = torch.randint(0, len(train), (cfg.batch_size,), generator=g)
        loss = loss_of(train[idx])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        value = loss.item()
        yield step, value, (_snapshot(step, value, kernel, cfg, probe) if step in marks or step == steps else None)
