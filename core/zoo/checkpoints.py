r"""Reading weights files someone gives us, without letting them run code.

A ``.pth`` file written by ``torch.save`` is a *pickle*: a small program that rebuilds Python objects.
Unpickling a stranger's file can call any function it names (``os.system`` included), so this module
never does that. It reads

* **safetensors** files: a JSON header and raw tensor bytes, nothing executable at all;
* ``torch.save`` files with ``torch.load(..., weights_only=True)``: the unpickler only builds tensors,
  numbers, strings and plain containers, and refuses anything else with an error that names the
  function the file asked for. Published research checkpoints sometimes store a few numpy numbers
  (a best score) beside the tensors; those two harmless constructors (a numpy scalar and its dtype) are
  allowed on a retry, still under ``weights_only=True``, and nothing else ever is.

Checkpoints come in several dialects; :func:`adapt_keys` renames their keys to a model's:

* ``module.`` in front of every key (saved from ``nn.DataParallel``): removed;
* mmpose's top-down HRNet (``backbone.*``, ``keypoint_head.final_layer.*`` in mmpose 0.x,
  ``head.final_layer.*`` in 1.x): the prefixes are stripped, so the official layout remains;
* a dict with the tensors under ``"state_dict"`` or ``"model"``: unwrapped by :func:`read_state_dict`.

Loading is strict (:func:`load_into`): every key and shape must match, or :class:`CheckpointError`
says how many keys are missing or extra and shows one of each. A file that only lacks BatchNorm's
``num_batches_tracked`` counters (written by PyTorch before 0.4.1, and by frozen BatchNorm) gets them as
zeros: they count training steps and do not change any output.

The Segmentation Studio's own checkpoints (written by :func:`save_checkpoint` and :func:`checkpoint_bytes`
after a run of :mod:`core.training.loop`) are safetensors files with a JSON header describing the model:
its name and build arguments, classes, palette, input size and last metrics. :func:`read_header` reads
that header from a file, :func:`app_header` from bytes; :func:`load_checkpoint` and :func:`app_checkpoint`
rebuild the model. The small trained models shipped in ``checkpoints/`` are :func:`shipped_checkpoints`.
"""
from __future__ import annotations

import io
import json
import pickle
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = ["CheckpointError", "read_state_dict", "read_weights", "with_weights", "adapt_keys", "load_into", "AppCheckpoint", "app_checkpoint",
           "app_header", "app_header_of",
           "is_safetensors", "MMPOSE_PREFIXES", "FORMAT", "save_checkpoint", "checkpoint_bytes", "read_header",
           "load_checkpoint", "shipped_checkpoints", "SHIPPED_DIR"]


# mmpose's top-down heatmap models: backbone.* is the HRNet, the head's last 1×1 conv is final_layer.
MMPOSE_PREFIXES = (("backbone.", ""), ("keypoint_head.final_layer.", "final_layer."),
                   ("head.final_layer.", "final_layer."))


class CheckpointError(ValueError):
    """A weights file could not be used. ``code`` names the case for the page's sentence:

    ``missing`` (no such file), ``unsafe`` (the pickle asks to call ``params["name"]``), ``unreadable``
    (not a checkpoint at all), ``empty`` (no tensors in it), ``mismatch`` (keys or shapes differ from the
    model's: ``params`` has ``missing``, ``unexpected``, ``wrong_shape`` counts and an ``example``),
    ``not_app`` (a safetensors file without the Segmentation Studio header), ``not_segmentation``
    (an app checkpoint of a model that does not label pixels), ``wrong_model`` (an app checkpoint of
    another network than the page needs).
    """

    def __init__(self, code: str, message: str, **params):
        super().__init__(message)
        self.code, self.params = code, params


def _numpy_scalar_globals() -> dict[str, object]:
    """The constructors of numpy numbers and their dtypes: they build a number from bytes, nothing more."""
    found: dict[str, object] = {}
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            mod = __import__(module, fromlist=["scalar"])
            found[f"{module}.scalar"] = mod.scalar
        except (ImportError, AttributeError):
            pass
    found["numpy.dtype"] = np.dtype
    for t in (np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8, np.bool_):
        cls = type(np.dtype(t))
        found[f"{cls.__module__}.{cls.__name__}"] = cls
    return found


_GLOBAL = re.compile(r"GLOBAL ([\w.]+)|but got <class '([\w.]+)'>")  # the two ways torch names what it refused


def is_safetensors(data: bytes) -> bool:
    """safetensors begins with an 8-byte little-endian header length, then the JSON header's ``{``."""
    if len(data) < 10:
        return False
    n = int.from_bytes(data[:8], "little")
    return 2 <= n <= len(data) - 8 and data[8:9] == b"{"


def _torch_load(data: bytes) -> object:
    allowed: list[object] = []
    extra = _numpy_scalar_globals()
    for _ in range(len(extra) + 1):
        try:
            with torch.serialization.safe_globals(allowed):
                return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as err:
            found = _GLOBAL.search(str(err))
            name = (found.group(1) or found.group(2)) if found else ""
            if name in extra and extra[name] not in allowed:
                allowed.append(extra[name])  # a numpy number: allow its constructor and try again
                continue
            if name:
                raise CheckpointError("unsafe", f"The file asks Python to call {name} while it is read. "
                                      "A weights file needs no code, so it was not opened.", name=name) from None
            raise CheckpointError("unreadable", "This file is not a PyTorch checkpoint.") from None
        except Exception as err:  # a damaged or foreign file can fail anywhere inside the unpickler
            raise CheckpointError("unreadable",
                                  f"This file is not a PyTorch checkpoint ({type(err).__name__}).") from None
    raise CheckpointError("unreadable", "This file is not a PyTorch checkpoint.")


def _tensors_only(obj: object) -> dict[str, torch.Tensor]:
    """The state dict inside what a checkpoint holds: the dict itself, or its ``state_dict`` / ``model``."""
    if isinstance(obj, dict):
        for key in ("state_dict", "model", "module"):
            inner = obj.get(key)
            if isinstance(inner, dict) and any(torch.is_tensor(v) for v in inner.values()):
                obj = inner
                break
        tensors = {str(k): v for k, v in obj.items() if torch.is_tensor(v)}
        if tensors:
            return tensors
    raise CheckpointError("empty", "The file holds no tensors, so it cannot be a model's weights.")


def read_state_dict(source: str | Path | bytes) -> dict[str, torch.Tensor]:
    """The tensors of a weights file (a path or its bytes): safetensors, or ``torch.load(weights_only=True)``."""
    if isinstance(source, (str, Path)):
        path = Path(source).expanduser()
        if not path.is_file():
            raise CheckpointError("missing", f"There is no file at {path}.", path=str(path))
        data = path.read_bytes()
    else:
        data = bytes(source)
    if not data:
        raise CheckpointError("empty", "The file is empty.")
    if is_safetensors(data):
        from safetensors.torch import load as load_safetensors

        try:
            return _tensors_only(load_safetensors(data))
        except CheckpointError:
            raise
        except Exception as err:  # a damaged header or truncated tensor data
            raise CheckpointError("unreadable", f"The safetensors file is damaged ({err}).") from None
    return _tensors_only(_torch_load(data))


def read_weights(weights, data: bytes | None = None) -> dict[str, torch.Tensor] | None:
    """The tensors a :class:`~core.zoo.weights.WeightsRef` points at: its file, or ``data`` (an upload's
    bytes) for ``upload``; None for random weights."""
    if weights.kind in ("cache", "file"):
        return read_state_dict(weights.path)
    if weights.kind == "upload":
        return read_state_dict(data if data is not None else b"")
    return None


def adapt_keys(state: dict[str, torch.Tensor], expected: set[str] | dict) -> tuple[dict[str, torch.Tensor], str]:
    """Rename a checkpoint's keys to the model's (see the module's dialects); returns ``(state, dialect)``.

    ``dialect`` is ``"plain"``, ``"dataparallel"`` or ``"mmpose"``. Keys the model does not have are kept,
    so :func:`load_into` can report them.
    """
    expected = set(expected)
    dialect = "plain"
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
        dialect = "dataparallel"
    if any(k.startswith("backbone.") for k in state) and not any(k.startswith("backbone.") for k in expected):
        renamed = {}
        for k, v in state.items():
            for old, new in MMPOSE_PREFIXES:
                if k.startswith(old):
                    k = new + k[len(old):]
                    break
            renamed[k] = v
        # mmpose 1.x keeps a few bookkeeping tensors beside the weights (e.g. data_preprocessor.*): drop them
        state = {k: v for k, v in renamed.items() if k in expected or not k.startswith("data_preprocessor.")}
        dialect = "mmpose"
    return state, dialect


def load_into(model: nn.Module, state: dict[str, torch.Tensor]) -> nn.Module:
    """Load ``state`` into ``model`` strictly, after :func:`adapt_keys`; :class:`CheckpointError` on mismatch."""
    own = model.state_dict()
    state, _ = adapt_keys(state, own)
    state = dict(state)
    for k, v in own.items():  # counters old files lack: zero steps seen, which changes no output
        if k.endswith("num_batches_tracked") and k not in state:
            state[k] = torch.zeros_like(v)
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or wrong:
        example = (missing or unexpected or wrong)[0]
        if wrong and not (missing or unexpected):
            example = f"{example}: {tuple(state[example].shape)} ≠ {tuple(own[example].shape)}"
        raise CheckpointError(
            "mismatch", f"The file does not fit this model: {len(missing)} weights missing, {len(unexpected)} "
            f"unexpected, {len(wrong)} of another shape (e.g. {example}).",
            missing=len(missing), unexpected=len(unexpected), wrong_shape=len(wrong), example=example)
    model.load_state_dict(state, strict=True)
    return model


# --- the app's own checkpoints -----------------------------------------------------------------------

FORMAT = "segmentation-studio/1"  # written in every checkpoint header


def _tensors_and_metadata(model: torch.nn.Module, meta: dict, dtype: torch.dtype | None = None
                          ) -> tuple[dict, dict]:
    """The state dict on the CPU (floating tensors cast to ``dtype`` if given) and the JSON header."""
    tensors = {k: (v.to(dtype) if dtype is not None and v.is_floating_point() else v).detach().cpu().contiguous()
               for k, v in model.state_dict().items()}
    return tensors, {"segmentation_studio": json.dumps({"format": FORMAT, **meta})}


def save_checkpoint(path: str | Path, model: torch.nn.Module, meta: dict, dtype: torch.dtype | None = None) -> Path:
    """Write the model's tensors and a JSON header (``meta`` plus the format tag) as safetensors.

    ``dtype=torch.float16`` halves the file (the shipped checkpoints use it); loading casts back to the
    model's float32 parameters.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors, metadata = _tensors_and_metadata(model, meta, dtype)
    from safetensors.torch import save_file

    save_file(tensors, str(path), metadata=metadata)
    return path


def checkpoint_bytes(model: torch.nn.Module, meta: dict) -> bytes:
    """The same checkpoint as :func:`save_checkpoint`, in memory (for a download button)."""
    from safetensors.torch import save

    tensors, metadata = _tensors_and_metadata(model, meta)
    return save(tensors, metadata=metadata)


SHIPPED_DIR = Path(__file__).resolve().parents[2] / "checkpoints"  # trained by checkpoints/train_all.sh


def shipped_checkpoints() -> dict[str, Path]:
    """The small checkpoints that come with the app, by file name (``unet-streets.safetensors`` …)."""
    return {p.name: p for p in sorted(SHIPPED_DIR.glob("*.safetensors"))}


def read_header(path: str | Path) -> dict:
    """The JSON header of a checkpoint file, without loading its tensors (:class:`CheckpointError` when the
    file is not one of the app's checkpoints)."""
    header = app_header_of(path)
    if header is None:
        raise CheckpointError("not_app", f"{Path(path).name} is not a Segmentation Studio checkpoint "
                              "(it has no model description).")
    return header


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict]:
    """Rebuild the model a checkpoint describes and load its weights (strictly)."""
    from core import models

    header = read_header(path)
    model = models.build(header["model"], num_classes=len(header["classes"]), **header.get("model_kwargs", {}))
    from safetensors.torch import load_file

    model.load_state_dict(load_file(str(path), device="cpu"), strict=True)
    return model.to(device).eval(), header



@dataclass(frozen=True)
class AppCheckpoint:
    model: nn.Module  # eval mode, on the CPU
    header: dict  # core.training.loop's JSON header: model, model_kwargs, classes, palette, input_size, metrics, ...

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.header["classes"])

    @property
    def palette(self) -> np.ndarray:
        return np.asarray(self.header.get("palette") or [], dtype=np.uint8).reshape(-1, 3)


def with_weights(net: nn.Module, state: dict[str, torch.Tensor] | None) -> nn.Module:
    """``net`` in eval mode, with ``state`` loaded strictly (:func:`load_into`) when there is one."""
    if state is not None:
        load_into(net, state)
    return net.eval()


def app_header(data: bytes) -> dict:
    """The Segmentation Studio header of a checkpoint's bytes (no tensors are read)."""
    if not is_safetensors(data):
        raise CheckpointError("not_app", "This is not a safetensors file written by the Segmentation Studio.")
    n = int.from_bytes(data[:8], "little")
    try:
        meta = json.loads(data[8:8 + n]).get("__metadata__") or {}
        header = json.loads(meta["segmentation_studio"])
    except (ValueError, KeyError, TypeError, AttributeError):
        raise CheckpointError("not_app",
                              "This safetensors file has no Segmentation Studio model description.") from None
    if not isinstance(header, dict) or "model" not in header or not header.get("classes"):
        raise CheckpointError("not_app", "This safetensors file has no Segmentation Studio model description.")
    return header


def app_header_of(source: str | Path | bytes) -> dict | None:
    """The Segmentation Studio header of a file or bytes, or None when it is any other kind of file."""
    if isinstance(source, (str, Path)):
        try:
            with open(Path(source).expanduser(), "rb") as f:
                head = f.read(8)
                n = int.from_bytes(head, "little") if len(head) == 8 else 0
                data = head + f.read(n) if 2 <= n <= 100_000_000 else head
        except OSError:
            return None
    else:
        data = bytes(source[:8 + int.from_bytes(source[:8], "little")]) if len(source) >= 8 else b""
    try:
        return app_header(data) if len(data) > 8 else None
    except CheckpointError:
        return None


def app_checkpoint(data: bytes) -> AppCheckpoint:
    """Rebuild a model trained in the app (``core.training.loop`` checkpoint bytes) and load its weights strictly."""
    from safetensors.torch import load as load_safetensors

    from core import models

    header = app_header(data)
    if header["model"] not in models.SEGMENTATION:
        raise CheckpointError("not_segmentation", f"The checkpoint holds a {header['model']} model, which does not "
                              "label pixels.", model=str(header["model"]))
    try:
        model = models.build(header["model"], num_classes=len(header["classes"]), **header.get("model_kwargs", {}))
    except (TypeError, ValueError) as err:
        raise CheckpointError("not_app", f"The model the checkpoint describes cannot be built ({err}).") from None
    try:
        tensors = load_safetensors(data)
    except Exception as err:
        raise CheckpointError("unreadable", f"The safetensors file is damaged ({err}).") from None
    load_into(model, tensors)
    return AppCheckpoint(model.eval(), header)
