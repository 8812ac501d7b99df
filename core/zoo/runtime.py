r"""Running a pretrained model on a photo: the input tensor, honest timings, and the GPU running out of memory.

Every "Your images" page times the same four stages, so a student sees where the seconds go:

==============  ==============================================================================
``load``        building the network and reading its weights (once per server: the model is cached)
``preprocess``  the photo to a normalised ``(1, 3, H, W)`` tensor at the size the model works at
``forward``     the network itself
``postprocess`` logits back to the photo's size, softmax, masks pasted into boxes, keypoints decoded
==============  ==============================================================================

GPUs run asynchronously: a kernel is *queued* when Python moves on, so a stopwatch that does not wait
for the device measures almost nothing. :class:`Stopwatch` synchronises before reading the clock.

On CUDA the pages use mixed precision (``torch.autocast``, bfloat16 where supported) and the
``channels_last`` layout (:func:`core.device.autocast`, :func:`core.device.prepare`); a switch runs the
same model in float32 to compare speed and results.
"""
from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from core.data.constants import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["Stopwatch", "STAGES", "is_out_of_memory", "free_memory", "to_input", "short_side_size"]

STAGES = ("load", "preprocess", "forward", "postprocess")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


class Stopwatch:
    """Wall-clock seconds per stage, waiting for the device at both ends of each stage."""

    def __init__(self, device: torch.device | str = "cpu"):
        self.device = torch.device(device)
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        _sync(self.device)
        start = time.perf_counter()
        try:
            yield
        finally:
            _sync(self.device)
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start


def is_out_of_memory(err: BaseException) -> bool:
    """Whether an error means the accelerator ran out of memory (CUDA's own error, or MPS's message)."""
    if isinstance(err, torch.OutOfMemoryError):
        return True
    return isinstance(err, RuntimeError) and "out of memory" in str(err).lower()


def free_memory() -> None:
    """Give the accelerator's cached blocks back after an out-of-memory error (models stay loaded)."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        torch.mps.empty_cache()


def short_side_size(height: int, width: int, short_side: int) -> tuple[int, int]:
    """The ``(H, W)`` with the shorter side ``short_side`` and the same aspect ratio."""
    scale = short_side / min(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def to_input(image: np.ndarray, short_side: int | None = None, device: torch.device | str = "cpu",
             mean=IMAGENET_MEAN, std=IMAGENET_STD) -> torch.Tensor:
    """``(H, W, 3)`` uint8 → normalised ``(1, 3, h, w)`` float32 on ``device``, its short side resized.

    ``short_side=None`` keeps the image's size (the architecture pages' scenes). Resized on the device
    (bilinear, antialiased when shrinking) so a GPU also does this work; channels_last on CUDA, the
    layout its convolution kernels prefer.
    """
    device = torch.device(device)
    x = torch.from_numpy(np.ascontiguousarray(image)).to(device)  # (H, W, 3) uint8
    x = x.permute(2, 0, 1)[None].float().div_(255.0)  # (1, 3, H, W) in [0, 1]
    if short_side is not None:
        size = short_side_size(image.shape[0], image.shape[1], short_side)
        if size != tuple(x.shape[-2:]):
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False,
                              antialias=size[0] < image.shape[0])  # (1, 3, h, w)
    m = torch.tensor(mean, device=device).view(1, 3, 1, 1)
    s = torch.tensor(std, device=device).view(1, 3, 1, 1)
    x = (x - m) / s
    if device.type == "cuda":
        x = x.contiguous(memory_format=torch.channels_last)
    return x
