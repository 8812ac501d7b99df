"""Which device runs the tensors: the CPU always, CUDA or Apple's MPS when present.

``auto`` picks the fastest one present. On CUDA the pages use autocast and channels_last
(:func:`autocast`); on the CPU everything runs in float32, so the numbers match torch's reference ops.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

CHOICES = ("auto", "cpu", "cuda", "mps")


def available() -> list[str]:
    """The device choices present on this machine, ``auto`` first."""
    found = ["auto", "cpu"]
    if torch.cuda.is_available():
        found.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        found.append("mps")
    return found


def resolve(choice: str = "auto") -> torch.device:
    """Turn a choice into a device; an absent device falls back to the CPU rather than failing a lesson."""
    if choice not in CHOICES:
        raise ValueError(f"unknown device '{choice}'; valid choices are {', '.join(CHOICES)}")
    present = available()
    if choice == "auto":
        choice = "cuda" if "cuda" in present else "mps" if "mps" in present else "cpu"
    return torch.device(choice if choice in present else "cpu")


@dataclass(frozen=True)
class DeviceInfo:
    kind: str  # "cpu", "cuda" or "mps"
    name: str  # what the hardware calls itself ("CPU" for the processor: the page words the rest)
    free_bytes: int | None  # free accelerator memory, None where it cannot be read
    total_bytes: int | None
    threads: int | None = None  # torch's CPU threads, for the CPU only; a number, so each language words it


def describe(device: torch.device) -> DeviceInfo:
    """Name and memory of a device, for the sidebar: facts (a name, byte counts, a thread count), no words."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        free, total = torch.cuda.mem_get_info(index)
        return DeviceInfo("cuda", torch.cuda.get_device_name(index), free, total)
    if device.type == "mps":
        return DeviceInfo("mps", "Apple GPU (MPS)", None, None)
    return DeviceInfo("cpu", "CPU", None, None, threads=torch.get_num_threads())


def autocast(device: torch.device, enabled: bool = True):
    """Mixed precision where it pays (CUDA, bfloat16 when supported), a no-op context elsewhere."""
    if enabled and device.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast("cuda", dtype=dtype)
    return contextlib.nullcontext()


def prepare(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """Move a model to the device; on CUDA also to channels_last, the layout tensor cores prefer."""
    model = model.to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    return model
