r"""After the lecture: SegFormer and Mask2Former from ``transformers``, loaded for photos and opened up for the page.

FCN (2015) made a classifier fully convolutional; U-Net and DeepLab gave it back the detail it lost on
the way down. The two models here are what came next, and both keep the lecture's last step: the
scores are *upsampled* to the full resolution and trained with a loss at every pixel.

* **SegFormer** (Xie et al., "SegFormer: Simple and Efficient Design for Semantic Segmentation with
  Transformers", NeurIPS 2021) replaces the convolutional backbone by a transformer encoder (Mix
  Transformer) that still works at four strides, 4, 8, 16 and 32, like a ResNet. Its decoder is all
  MLP: a 1×1 projection brings every stage to the same width, each is upsampled *bilinearly* to stride 4,
  the four are concatenated and fused by one more 1×1 layer, and a last 1×1 layer scores the classes.
  :func:`segformer_decoder` measures every box of that picture on a real forward pass.
* **Mask2Former** (Cheng et al., "Masked-attention Mask Transformer for Universal Image Segmentation",
  CVPR 2022) no longer gives a class to each pixel. A fixed set of learned *queries* each predicts one
  mask and one class (or "no object"); a semantic map is each class's masks weighted by their class
  probabilities; instance and panoptic maps come from the same outputs, grouped differently.
  :func:`query_summary` reads the numbers of a live module.

The weights come from Hugging Face repositories (:data:`core.zoo.weights.MODELS`: ``segformer_b0``,
``mask2former_swin_t``), found by :func:`core.zoo.weights.resolve`; nothing downloads here. Without
them the page draws nothing as a result: an untrained transformer's output is noise. The tests, and the
page's anatomy when nothing is cached, use the same classes built from small configurations
(:func:`tiny_segformer`, :func:`tiny_mask2former`).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from core import device as devices
from core.quiz import Question
from core.zoo import weights
from core.zoo.semantic import TRANSFORMERS, ModelChoice, SemanticModel, voc_palette

__all__ = ["load_transformers", "folder_ref", "tiny_segformer", "tiny_mask2former", "segformer_architecture",
           "segformer_decoder", "Decoder", "query_summary", "QuerySummary", "questions", "stage_side", "parameters"]


def _classes(family: str):
    import transformers as tf

    return {"segformer": (tf.SegformerForSemanticSegmentation, tf.SegformerImageProcessor),
            "mask2former": (tf.Mask2FormerForUniversalSegmentation, tf.Mask2FormerImageProcessor)}[family]


def _statistics(processor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The processor's mean and std on the [0, 1] scale the app's input uses (some store them on 0–255)."""
    mean, std = [float(v) for v in processor.image_mean], [float(v) for v in processor.image_std]
    if max(mean) > 1.0:
        mean, std = [v / 255 for v in mean], [v / 255 for v in std]
    return tuple(mean), tuple(std)


def _side(processor) -> int:
    """The short side the checkpoint's images had (512 for SegFormer-B0 on ADE20K)."""
    size = dict(getattr(processor, "size", None) or {})
    values = [size[k] for k in ("shortest_edge", "height", "width") if isinstance(size.get(k), int)]
    return int(min(values)) if values else 512


def parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _wrap(key: str, model: nn.Module, processor, ref: weights.WeightsRef, device: torch.device) -> SemanticModel:
    config = model.config
    classes = tuple(str(config.id2label[i]) for i in range(len(config.id2label)))
    mean, std = _statistics(processor)
    head = TRANSFORMERS[key]
    info = {"params": parameters(model), "family": weights.spec(key).family}
    if head == "mask_classification":
        info["num_queries"] = int(config.num_queries)
    divisor = int(getattr(processor, "size_divisor", 1) or 1) if head == "mask_classification" else 1
    return SemanticModel(ModelChoice("hf", key).key, devices.prepare(model, device), classes, voc_palette(len(classes)),
                         ref, device, _side(processor), mean, std, info=info, head=head, processor=processor,
                         size_divisor=divisor)


def folder_ref(res: weights.Resolution) -> weights.WeightsRef:
    """A :class:`~core.zoo.weights.WeightsRef` for a Hugging Face folder (its digest changes with its files)."""
    path = Path(res.path)
    stamp = max((f.stat().st_mtime_ns for f in path.glob("*.safetensors")), default=0)
    return weights.WeightsRef("cache" if res.source in ("cache", "download") else "file", res.spec.label, path,
                              f"{path.resolve()}:{stamp}")


def load_transformers(key: str, path: str | Path, device: torch.device | str = "cpu",
                      source: str = "folder") -> SemanticModel:
    """SegFormer or Mask2Former (``key`` of :data:`~core.zoo.semantic.TRANSFORMERS`) from a folder of its weights.

    The folder is what :func:`core.zoo.weights.resolve` found; ``source`` is its ``Resolution.source``
    (``cache``, ``folder`` or ``download``), which the page names.
    """
    if key not in TRANSFORMERS:
        raise ValueError(f"unknown transformers model '{key}'; valid names are {', '.join(TRANSFORMERS)}")
    spec = weights.spec(key)
    model_cls, processor_cls = _classes(spec.family)
    device = torch.device(device)
    model = model_cls.from_pretrained(str(path), use_safetensors=True).eval()
    processor = processor_cls.from_pretrained(str(path))
    res = weights.Resolution(spec, Path(path), source, None)
    return _wrap(key, model, processor, folder_ref(res), device)


# --- small configurations of the same classes (tests; the page's anatomy without weights) --------------------

def _build(make, seed: int):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return make().eval()


def _labels(labels) -> dict:
    return {"id2label": dict(enumerate(labels)), "label2id": {n: i for i, n in enumerate(labels)}}


def tiny_segformer(labels=("wall", "building", "sky", "road", "person"), seed: int = 0, side: int = 64):
    """A narrow two-block-wide SegFormer (the MiT layout: four stages at strides 4, 8, 16, 32) and its processor."""
    import transformers as tf

    config = tf.SegformerConfig(hidden_sizes=[8, 16, 24, 32], depths=[1, 1, 1, 1], num_attention_heads=[1, 1, 1, 1],
                                decoder_hidden_size=16, **_labels(labels))
    processor = tf.SegformerImageProcessor(size={"height": side, "width": side})
    return _build(lambda: tf.SegformerForSemanticSegmentation(config), seed), processor


def tiny_mask2former(labels=("wall", "building", "sky", "road", "person"), num_queries: int = 10, seed: int = 0,
                     side: int = 64):
    """A small Mask2Former (Swin backbone, one pixel-decoder layer, two masked-attention layers) and its processor."""
    import transformers as tf

    backbone = tf.SwinConfig(embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1], window_size=4, image_size=side,
                             out_features=["stage1", "stage2", "stage3", "stage4"])
    config = tf.Mask2FormerConfig(backbone_config=backbone, num_queries=num_queries, hidden_dim=32, feature_size=32,
                                  mask_feature_size=32, encoder_layers=1, decoder_layers=2, encoder_feedforward_dim=64,
                                  dim_feedforward=64, num_attention_heads=2, common_stride=4, **_labels(labels))
    processor = tf.Mask2FormerImageProcessor(size={"shortest_edge": side, "longest_edge": 4 * side}, size_divisor=32)
    return _build(lambda: tf.Mask2FormerForUniversalSegmentation(config), seed), processor


def segformer_architecture(num_labels: int = 150, seed: int = 0):
    """SegFormer-B0's published layout (``SegformerConfig()``'s defaults: MiT-B0, a 256-wide decoder) with
    random weights: the shapes are the real model's, the numbers inside are not learned."""
    import transformers as tf

    config = tf.SegformerConfig(**_labels([f"class {i}" for i in range(num_labels)]))
    return _build(lambda: tf.SegformerForSemanticSegmentation(config), seed)


# --- SegFormer's decoder, measured --------------------------------------------------------------------------

def _modules_of(model: nn.Module, cls_name: str) -> list[str]:
    return [name for name, m in model.named_modules() if type(m).__name__ == cls_name]


def _decode_head(model: nn.Module) -> tuple[str, nn.Module]:
    for name, m in model.named_modules():
        if type(m).__name__ == "SegformerDecodeHead":
            return name, m
    raise ValueError(f"{type(model).__name__} has no SegFormer decode head")


def _projections(head: nn.Module) -> str:
    """The attribute of the decode head that holds one MLP per stage (``linear_projections``; ``linear_c`` before)."""
    for attr in ("linear_projections", "linear_c"):
        if isinstance(getattr(head, attr, None), nn.ModuleList):
            return attr
    raise ValueError("the SegFormer decode head has no per-stage projections")


@dataclass
class Decoder:
    """SegFormer's decoder as measured on one input: the diagram's boxes and what the model itself returned."""

    graph: object  # core.models.diagrams.StageGraph
    boxes: dict  # key → core.models.inspect.StageBox, shapes (C, H, W) of the real tensors
    hidden_states: tuple  # the encoder's four stage outputs, as the model returns them (output_hidden_states)
    logits: torch.Tensor  # (1, K, H/4, W/4)
    strides: tuple[int, ...]  # input pixels per cell of each stage (the patch embeddings' strides, multiplied)
    upsample_factors: tuple[float, ...]  # each stage's bilinear factor up to stride 4, from the traced ops
    flops: int
    params: int


def _nominal_stride(key: str, strides: tuple[int, ...]) -> float:
    """Input pixels per cell at a box: its stage's stride, stride 4 after the upsampling, 1 at both ends."""
    if key in ("image", "output"):
        return 1.0
    for prefix in ("stage", "mlp"):
        if key.startswith(prefix) and key[len(prefix):].isdigit():
            return float(strides[int(key[len(prefix):]) - 1])
    return float(strides[0])


def segformer_decoder(model: nn.Module, height: int, width: int) -> Decoder:
    """Run ``model`` once on a ``height × width`` input and measure every box of its decoder's diagram.

    The stage maps, the projections' outputs, the fused map and the class scores are the tensors the real
    modules return; the four upsampled maps are the real concatenation the fusion layer receives, cut back
    into its four parts (the decoder concatenates them deepest stage first); the last box is the ×4 bilinear
    upsampling to the input that :func:`core.zoo.semantic.predict` applies.
    """
    from core.models.diagrams import segformer_graph
    from core.models.inspect import StageBox, trace

    graph = segformer_graph(model)
    head_name, head = _decode_head(model)
    proj = _projections(head)
    n = len(getattr(head, proj))
    param = next(model.parameters())
    x = torch.zeros(1, 3, height, width, dtype=param.dtype, device=param.device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        x.normal_()  # a fixed input: the shapes do not depend on the pixels
    taps = [n_.tap for n_ in graph.nodes if n_.tap and not n_.tap.startswith("@")]
    tr = trace(model, x, taps)
    with torch.no_grad():
        hidden = model(pixel_values=x, output_hidden_states=True).hidden_states

    strides = tuple(int(v) for v in torch.tensor(model.config.strides[:n]).cumprod(0))  # 4, 8, 16, 32
    boxes = {}
    fields = lambda tap: tr.fields.get(tap, (1.0, 1.0))  # noqa: E731
    fuse_in = tr.taps[f"{head_name}.linear_fuse:in"]  # (1, n·D, H/4, W/4)
    width_d = fuse_in.shape[1] // n
    for node in graph.nodes:
        tap = node.tap
        if tap.startswith("@up"):  # the bilinear upsampling of stage i: its part of the concatenation
            i = int(tap[3:])
            part = n - 1 - i  # deepest stage first
            t = fuse_in[:, part * width_d:(part + 1) * width_d]  # (1, D, H/4, W/4)
        elif tap == "@output":
            logits = tr.taps[f"{head_name}.classifier"]
            t = F.interpolate(logits, size=(height, width), mode="bilinear", align_corners=False)  # (1, K, H, W)
        elif tap.startswith(f"{head_name}.{proj}."):
            i = int(tap.rsplit(".", 1)[1])
            seq = tr.taps[tap]  # (1, H_i·W_i, D): the MLP works on the flattened map
            h_i, w_i = hidden[i].shape[-2:]
            t = seq.transpose(1, 2).reshape(1, -1, h_i, w_i)  # (1, D, H_i, W_i), as the decoder reshapes it
        else:
            t = tr.taps[tap]
        rf, _ = fields(tap)
        boxes[node.key] = StageBox(node, tuple(t.shape[1:]), rf, _nominal_stride(node.key, strides))
    ups = tuple(float(r.detail.lstrip("×")) for r in tr.rows
                if r.op == "upsample_bilinear" and r.module.startswith(head_name))
    return Decoder(graph, boxes, tuple(hidden), tr.taps[f"{head_name}.classifier"], strides, ups,
                   tr.total_flops, parameters(model))


# --- Mask2Former's queries ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QuerySummary:
    num_queries: int  # masks the model predicts for every image, whatever it shows
    num_classes: int  # real classes; each query also has a "no object" score
    class_logits: tuple[int, ...]  # (Q, K + 1) for one image, measured
    mask_logits: tuple[int, ...]  # (Q, H/4, W/4) for one image, measured
    hidden: int  # width of a query
    decoder_layers: int  # masked-attention layers the queries pass through
    input_size: tuple[int, int]
    params: int


def query_summary(model: nn.Module, height: int, width: int) -> QuerySummary:
    """Run a Mask2Former once on a ``height × width`` input and read its queries' numbers."""
    param = next(model.parameters())
    x = torch.zeros(1, 3, height, width, dtype=param.dtype, device=param.device)
    with torch.no_grad():
        out = model(pixel_values=x)
    config = model.config
    return QuerySummary(int(config.num_queries), len(config.id2label), tuple(out.class_queries_logits.shape[1:]),
                        tuple(out.masks_queries_logits.shape[1:]), int(config.hidden_dim),
                        int(config.decoder_layers), (height, width), parameters(model))


# --- check yourself ---------------------------------------------------------------------------------------------

def stage_side(side: int, stage: int) -> int:
    """The side of SegFormer's stage ``stage`` (1…4): a 7×7 /4 patch embedding (padding 3), then 3×3 /2 ones."""
    side = (side + 2 * 3 - 7) // 4 + 1
    for _ in range(stage - 1):
        side = (side + 2 * 1 - 3) // 2 + 1
    return side


def questions(rng: random.Random) -> list[Question]:
    """A stage's side, the channels the fusion layer receives, and how many class scores Mask2Former gives."""
    side, stage = rng.choice([224, 256, 300, 384, 480, 512, 600]), rng.randint(1, 4)
    width = rng.choice([64, 128, 256, 768])
    queries, classes = rng.choice([50, 100, 200]), rng.choice([21, 133, 150])
    return [
        Question("stage_side", {"side": side, "stage": stage, "stride": 4 * 2 ** (stage - 1),
                                "quarter": stage_side(side, 1)}, stage_side(side, stage)),
        Question("fuse_channels", {"width": width, "stages": 4}, 4 * width),
        Question("query_scores", {"queries": queries, "classes": classes, "plus": classes + 1},
                 queries * (classes + 1)),
    ]

