"""Cached loaders shared by the pages: models are built once per server and never changed afterwards.

``st.cache_resource`` keeps one object for all sessions, so nothing here may be mutated by a page:
models come back in eval mode, and a page that trains builds its own copy (``trained_models``).
Arrays go through ``st.cache_data`` (a copy per caller).
"""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from core import architectures as arch
from core import models
from core.models.inspect import graph_trace
from core.zoo.runtime import to_input


@st.cache_resource(max_entries=24, show_spinner=False)
def model(name: str, num_classes: int, paper: bool = False, options: tuple = (), seed: int = 0) -> torch.nn.Module:
    """A freshly initialised model (``seed`` fixes the random weights); the paper size lives on ``meta``.

    ``options`` are config fields as ``(name, value)`` pairs (hashable), e.g. ``(("upsampling", "bilinear"),)``.
    Paper-size models are only measured (shapes, parameters, FLOPs, receptive fields), never run on
    numbers, so they are built on PyTorch's ``meta`` device: no memory, no waiting.
    """
    torch.manual_seed(seed)
    if paper:
        with torch.device("meta"):
            return models.build(name, num_classes, paper=True, **dict(options)).eval()
    return models.build(name, num_classes, **dict(options)).eval()


@st.cache_resource(max_entries=16, show_spinner=False)  # a trace keeps its boxes' tensors: up to ~40 MB at 512²
def traced(name: str, num_classes: int, paper: bool, height: int, width: int, options: tuple = ()):
    """The diagram and the per-layer trace of a model on the sample scene (or an empty meta tensor)."""
    net = model(name, num_classes, paper, options)
    if paper:
        x = torch.empty(1, 3, height, width, device="meta")
    else:
        x = sample_input(height, width)
    return graph_trace(net, x)


@st.cache_data(max_entries=32, show_spinner=False)
def sample(height: int, width: int, overlap: float = 0.35) -> tuple[np.ndarray, np.ndarray]:
    """The synthetic scene and its labels at this size."""
    return arch.sample_scene(height, width, overlap)


def sample_input(height: int, width: int) -> torch.Tensor:
    rgb, _ = sample(height, width)
    return to_input(rgb)


@st.cache_resource(show_spinner=False)
def trained_models() -> dict:
    """Models trained on a page, shared by every session of this server (a class trains once).

    Keys are tuples chosen by the page (``("fcn8s", steps)``); values are finished models in eval mode.
    A page trains its own fresh copy and stores it here only when the training has finished.
    """
    return {}


@st.cache_resource(max_entries=2, show_spinner=False)
def maskrcnn(min_size: int, allow_download: bool = False, device: str = "cpu"):
    """torchvision's Mask R-CNN (ResNet-50-FPN) on ``device``: COCO weights when cached (or downloaded), else random."""
    from core.zoo.instances import build_maskrcnn

    return build_maskrcnn(min_size=min_size, download=allow_download, device=device)


# --- Segment Anything (SAM, SAM 2, Grounding DINO, SAM 3) -------------------------------------------

@st.cache_resource(max_entries=6, show_spinner=False)
def promptable_model(kind: str, key: str | None, path: str, device: str):
    """A promptable model bundle: the pretrained ``key`` from ``path``, or (no path) the tiny random one."""
    from core.promptable import models as promptable
    from core.zoo import weights

    if path:
        return promptable.load_pretrained(weights.spec(key), path, kind, device)
    return promptable.load_tiny(kind, device)


@st.cache_resource(show_spinner=False)
def sam_embeddings():
    """Image embeddings of SAM / SAM 2, keyed by model and pixels, shared by the sessions of this server."""
    from core.promptable.segment import EmbeddingCache

    return EmbeddingCache(max_entries=12)


@st.cache_resource(max_entries=2, show_spinner=False)
def sam_full_size_anatomy(family: str):
    """Modules, shapes, parameters and FLOPs of the published SAM ViT-B / SAM 2.1 tiny (meta tensors)."""
    from core.promptable.anatomy import full_size

    return full_size(family)


@st.cache_resource(max_entries=4, show_spinner=False)
def sam_live_anatomy(_loaded, model_key: str, image_key: str, _image: np.ndarray, x: float, y: float):
    """The anatomy of a loaded SAM / SAM 2 on a picture and one click (``model_key`` and ``image_key`` name them)."""
    from core.promptable.anatomy import trace_loaded

    return trace_loaded(_loaded, _image, x, y)


@st.cache_data(max_entries=8, show_spinner=False)
def maskrcnn_run(rgb: np.ndarray, min_size: int, allow_download: bool = False, device: str = "cpu",
                 score_threshold: float = 0.5):
    """One run of the cached Mask R-CNN on an image (shapes, pyramid levels, detections)."""
    from core.zoo.instances import run_maskrcnn

    return run_maskrcnn(maskrcnn(min_size, allow_download, device), rgb, score_threshold)


# --- "Your images": pretrained networks on a photo (models shared by all sessions, results cached) ---------
# Each model is keyed by its name, the device and its weights' key (cache file, user file or upload digest);
# ``_weights`` / ``_data`` (the upload's bytes) are not hashed: the key already says which they are.

@st.cache_resource(max_entries=4, show_spinner=False)
def photo_semantic_model(key: str, device: str, weights_key: str, _weights, _data: bytes | None = None):
    """A torchvision segmentation network (``tv:<name>``) or a model trained in the app (``app:<name>``)."""
    from core.zoo import semantic

    choice = semantic.ModelChoice.parse(key)
    if choice.from_app:
        return semantic.load_app(choice.name, _data, device)
    return semantic.load_torchvision(choice.name, _weights, device, _data)


@st.cache_data(max_entries=6, show_spinner=False)
def photo_semantic_prediction(model_key: str, weights_key: str, device: str, image_id: str, short_side: int,
                              amp: bool, _model, _image: np.ndarray):
    from core.zoo import semantic

    return semantic.predict(_model, _image, short_side, amp)


# SegFormer and Mask2Former (transformers) from a folder resolve() found; the folder and its files' times
# are in ``weights_key``, so new weights in the cache load afresh.
@st.cache_resource(max_entries=2, show_spinner=False)
def photo_transformers_model(key: str, device: str, weights_key: str, path: str, source: str):
    from core.zoo import universal

    return universal.load_transformers(key, path, device, source)


@st.cache_resource(max_entries=2, show_spinner=False)
def beyond_fcn_model(family: str, path: str):
    """For the "after the lecture" page: SegFormer / Mask2Former from ``path``, or (no path) SegFormer-B0's
    layout with random weights / a small Mask2Former: shapes and numbers to measure, never a result."""
    import transformers as tf

    from core.zoo import universal

    if path:
        cls = tf.SegformerForSemanticSegmentation if family == "segformer" else tf.Mask2FormerForUniversalSegmentation
        return cls.from_pretrained(path, use_safetensors=True).eval()
    if family == "segformer":
        return universal.segformer_architecture()
    return universal.tiny_mask2former(labels=tuple(f"class {i}" for i in range(150)), num_queries=100)[0]


@st.cache_resource(max_entries=6, show_spinner=False)
def beyond_fcn_decoder(path: str, height: int, width: int):
    """SegFormer's decoder measured at ``height × width`` (:func:`core.zoo.universal.segformer_decoder`)."""
    from core.zoo import universal

    return universal.segformer_decoder(beyond_fcn_model("segformer", path), height, width)


@st.cache_resource(max_entries=6, show_spinner=False)
def beyond_fcn_queries(path: str, height: int, width: int):
    from core.zoo import universal

    return universal.query_summary(beyond_fcn_model("mask2former", path), height, width)


@st.cache_resource(max_entries=2, show_spinner=False)
def photo_instances_model(device: str, weights_key: str, _weights, _data: bytes | None = None):
    from core.zoo import instances

    return instances.load_maskrcnn_v2(_weights, device, _data)


@st.cache_data(max_entries=4, show_spinner=False)
def photo_instances(weights_key: str, device: str, image_id: str, short_side: int, score: float,
                    max_detections: int, max_proposals: int, amp: bool, _model, _image: np.ndarray):
    from core.zoo import instances

    return instances.segment_instances(_model, _image, short_side, score, max_detections, max_proposals, amp)


@st.cache_resource(max_entries=2, show_spinner=False)
def photo_keypoint_model(device: str, weights_key: str, _weights, _data: bytes | None = None):
    from core.zoo import pose

    return pose.load_keypointrcnn(_weights, device, _data)


@st.cache_data(max_entries=4, show_spinner=False)
def photo_keypoints(weights_key: str, device: str, image_id: str, short_side: int, score: float,
                    max_people: int, max_proposals: int, amp: bool, _model, _image: np.ndarray):
    from core.zoo import pose

    return pose.keypoint_rcnn(_model, _image, short_side, score, max_people, max_proposals, amp)


@st.cache_resource(max_entries=2, show_spinner=False)
def photo_hrnet_model(device: str, weights_key: str, _weights, _data: bytes | None = None):
    from core.zoo import pose

    return pose.load_hrnet(_weights, device, _data)


@st.cache_data(max_entries=4, show_spinner=False)
def photo_top_down(weights_key: str, device: str, image_id: str, boxes: tuple, method: str, amp: bool,
                   _model, _image: np.ndarray):
    from core.zoo import pose

    return pose.top_down(_model, _image, np.asarray(boxes, dtype=np.float32).reshape(-1, 4), method=method,
                         mixed_precision=amp)


@st.cache_data(max_entries=4, show_spinner=False)
def photo_top_down_sized(weights_key: str, device: str, image_id: str, boxes: tuple, method: str, amp: bool,
                         size: int, _model, _image: np.ndarray):
    """Top-down pose with a network trained here on square ``size``×``size`` stick-figure crops."""
    from core.zoo import pose

    return pose.top_down(_model, _image, np.asarray(boxes, dtype=np.float32).reshape(-1, 4), input_size=(size, size),
                         method=method, mixed_precision=amp)


@st.cache_data(max_entries=8, show_spinner=False)
def weights_file_problem(weights_key: str, _weights, _data: bytes | None = None) -> tuple[str, dict] | None:
    """Why a weights file the user named or uploaded cannot be read: its ``CheckpointError`` code and the
    sentence's fields (a pickle that would run code, a file that is no checkpoint, no tensors), or None.

    ``weights_key`` names the file's version (path, size and time, or the upload's hash), so a file is read
    once per version, not on every rerun. Whether its tensors fit the network is the model loader's question.
    """
    from core.zoo.checkpoints import CheckpointError, read_weights

    try:
        read_weights(_weights, _data)
    except CheckpointError as err:
        return err.code, dict(err.params)
    return None


@st.cache_resource
def shipped_checkpoints() -> dict[str, bytes]:
    """The checkpoints shipped in checkpoints/ (teaching models trained on the synthetic streets), as bytes."""
    from core.zoo.checkpoints import shipped_checkpoints as found

    return {name: path.read_bytes() for name, path in found().items()}


def shipped_for(name: str) -> str | None:
    """The file name of the checkpoint shipped for model ``name`` (built with its default options), or None."""
    from core.zoo.checkpoints import app_header

    for file_name, data in shipped_checkpoints().items():
        header = app_header(data)
        if header["model"] == name and not header.get("model_kwargs"):
            return file_name
    return None


@st.cache_resource(max_entries=4, show_spinner=False)  # a trace keeps its boxes' tensors
def shipped_trace(file_name: str, height: int, width: int):
    """``(graph, trace, header, picture)``: a shipped checkpoint's model traced on a synthetic street of
    ``height × width`` — the kind of picture it learned from, normalised as in its training."""
    from core.data.streets import make_street, to_tensor
    from core.zoo.checkpoints import app_checkpoint

    ckpt = app_checkpoint(shipped_checkpoints()[file_name])
    rgb = make_street(0, (height, width))[0]
    with torch.no_grad():
        graph, tr = graph_trace(ckpt.model, to_tensor(rgb)[None])  # (1, 3, H, W)
    return graph, tr, ckpt.header, rgb
