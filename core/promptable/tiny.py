r"""Small, randomly initialised versions of SAM, SAM 2, Grounding DINO and SAM 3, built from configs.

Without downloaded weights the pages still run the whole pipeline on these: the same ``transformers``
classes, the same processors (resize, normalise, pad, rescale the prompts, crop and upscale the masks back
to the original image), the same tensor *ranks* and the same caches, only narrower (hidden sizes 32–128),
shallower (1–2 layers) and at a lower resolution (128 pixels instead of 1024). Their masks and boxes are
meaningless, since nothing was learned; the tests use them to check the code paths, offline and fast.

The text models need a tokenizer, which normally comes with the checkpoint: here a word-level BERT
vocabulary (for Grounding DINO) and a character-level CLIP vocabulary (for SAM 3) are written in code.

Each builder seeds its own random generator, so a tiny model is the same every time it is built.
"""
from __future__ import annotations

import string
from dataclasses import dataclass

import torch

__all__ = ["TinySize", "sam", "sam2", "sam2_video", "grounding_dino", "sam3", "VOCABULARY"]

# The words the tiny Grounding DINO tokenizer knows (others become [UNK]): the lecture's prompt and
# the objects of the app's sample pictures.
VOCABULARY = ("horse", "clouds", "cloud", "grass", "grasses", "sky", "hill", "person", "dog", "cat", "tree",
              "car", "building", "ball", "sidewalk", "purse", "road", "a", "the")


@dataclass(frozen=True)
class TinySize:
    image: int = 128  # the side the processor resizes to (1024 in the real SAM and SAM 2)
    hidden: int = 32  # width of the transformer layers
    layers: int = 2  # depth of the encoders and decoders


def _build(make, seed: int):
    """Build ``make()`` with the global RNG seeded, without changing it for the caller."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return make().eval()


def sam(size: TinySize = TinySize(), seed: int = 0):
    """A tiny ``SamModel`` (ViT image encoder, prompt encoder, two-way mask decoder) and its ``SamProcessor``."""
    from transformers import (
        SamConfig,
        SamImageProcessor,
        SamMaskDecoderConfig,
        SamModel,
        SamProcessor,
        SamPromptEncoderConfig,
        SamVisionConfig,
    )

    s, h = size.image, size.hidden
    vision = SamVisionConfig(hidden_size=h, num_hidden_layers=size.layers, num_attention_heads=2, image_size=s,
                             patch_size=16, output_channels=h, window_size=4, global_attn_indexes=[size.layers - 1],
                             mlp_dim=2 * h, num_pos_feats=h // 2)
    prompt = SamPromptEncoderConfig(hidden_size=h, image_size=s, patch_size=16)
    decoder = SamMaskDecoderConfig(hidden_size=h, mlp_dim=2 * h, num_hidden_layers=2, num_attention_heads=2,
                                   iou_head_hidden_dim=h)
    config = SamConfig(vision_config=vision, prompt_encoder_config=prompt, mask_decoder_config=decoder)
    processor = SamProcessor(SamImageProcessor(size={"longest_edge": s}, pad_size={"height": s, "width": s}))
    return _build(lambda: SamModel(config), seed), processor


def _sam2_parts(size: TinySize):
    from transformers import (
        Sam2HieraDetConfig,
        Sam2MaskDecoderConfig,
        Sam2PromptEncoderConfig,
        Sam2VisionConfig,
    )

    s = size.image
    # SAM 2's memory splits each 2·64-wide object pointer into 64-wide memory tokens: the width must be
    # a multiple of 64 larger than 64, so this one part stays at 128.
    width = 128
    backbone = Sam2HieraDetConfig(hidden_size=16, num_attention_heads=1, image_size=[s, s],
                                  blocks_per_stage=[1, 1, 2, 1], embed_dim_per_stage=[16, 32, 64, 128],
                                  num_attention_heads_per_stage=[1, 1, 1, 1], window_size_per_stage=[4, 4, 4, 4],
                                  global_attention_blocks=[3], window_positional_embedding_background_size=[2, 2])
    vision = Sam2VisionConfig(backbone_config=backbone, backbone_channel_list=[128, 64, 32, 16],
                              backbone_feature_sizes=[[s // 4, s // 4], [s // 8, s // 8], [s // 16, s // 16]],
                              fpn_hidden_size=width)
    prompt = Sam2PromptEncoderConfig(hidden_size=width, image_size=s, patch_size=16)
    decoder = Sam2MaskDecoderConfig(hidden_size=width, mlp_dim=2 * size.hidden, num_hidden_layers=2,
                                    num_attention_heads=2, iou_head_hidden_dim=size.hidden)
    return vision, prompt, decoder, width


def _sam2_image_processor(size: TinySize):
    from transformers import Sam2ImageProcessor

    s = size.image
    return Sam2ImageProcessor(size={"height": s, "width": s}, mask_size={"height": s // 4, "width": s // 4})


def sam2(size: TinySize = TinySize(), seed: int = 0):
    """A tiny ``Sam2Model`` (Hiera encoder with a feature pyramid) and its ``Sam2Processor``."""
    from transformers import Sam2Config, Sam2Model, Sam2Processor

    vision, prompt, decoder, _ = _sam2_parts(size)
    config = Sam2Config(vision_config=vision, prompt_encoder_config=prompt, mask_decoder_config=decoder)
    return _build(lambda: Sam2Model(config), seed), Sam2Processor(_sam2_image_processor(size))


def sam2_video(size: TinySize = TinySize(), seed: int = 0):
    """A tiny ``Sam2VideoModel`` (SAM 2 with memory attention and a memory encoder) and its processor."""
    from transformers import (
        Sam2VideoConfig,
        Sam2VideoModel,
        Sam2VideoProcessor,
        Sam2VideoVideoProcessor,
    )

    vision, prompt, decoder, width = _sam2_parts(size)
    s = size.image
    config = Sam2VideoConfig(
        vision_config=vision, prompt_encoder_config=prompt, mask_decoder_config=decoder, image_size=s,
        num_maskmem=3, memory_attention_hidden_size=width, memory_attention_num_layers=1,
        memory_attention_feed_forward_hidden_size=2 * size.hidden, memory_encoder_hidden_size=width,
        memory_encoder_output_channels=64,  # fixed by the memory attention's key/value width
        mask_downsampler_embed_dim=width, memory_fuser_embed_dim=width,
        memory_fuser_intermediate_dim=2 * size.hidden, memory_attention_rope_feat_sizes=[s // 16, s // 16])
    processor = Sam2VideoProcessor(image_processor=_sam2_image_processor(size),
                                   video_processor=Sam2VideoVideoProcessor(size={"height": s, "width": s}))
    return _build(lambda: Sam2VideoModel(config), seed), processor


def grounding_dino(size: TinySize = TinySize(), seed: int = 0):
    """A tiny ``GroundingDinoForObjectDetection`` (Swin + BERT + fusion + DETR decoder) and its processor."""
    from transformers import (
        BertConfig,
        BertTokenizer,
        GroundingDinoConfig,
        GroundingDinoForObjectDetection,
        GroundingDinoImageProcessor,
        GroundingDinoProcessor,
        SwinConfig,
    )

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", *VOCABULARY]
    tokenizer = BertTokenizer(vocab={w: i for i, w in enumerate(words)}, do_lower_case=True)
    h = size.hidden
    swin = SwinConfig(image_size=size.image, patch_size=4, embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 2],
                      window_size=4, out_indices=[2, 3, 4])
    bert = BertConfig(vocab_size=len(words), hidden_size=h, num_hidden_layers=1, num_attention_heads=2,
                      intermediate_size=2 * h, max_position_embeddings=64)
    config = GroundingDinoConfig(backbone_config=swin, text_config=bert, num_queries=30, encoder_layers=1,
                                 decoder_layers=2,  # the box heads of layers 1.. are tied to layer 0's
                                 encoder_ffn_dim=2 * h, decoder_ffn_dim=2 * h, encoder_attention_heads=2,
                                 decoder_attention_heads=2, d_model=h, max_text_len=64)
    image_processor = GroundingDinoImageProcessor(size={"shortest_edge": size.image, "longest_edge": size.image})
    processor = GroundingDinoProcessor(image_processor=image_processor, tokenizer=tokenizer)
    return _build(lambda: GroundingDinoForObjectDetection(config), seed), processor


def sam3(size: TinySize = TinySize(image=112), seed: int = 0):
    """A tiny ``Sam3Model`` (ViT + CLIP text encoder + DETR detector + mask decoder) and its processor."""
    from transformers import (
        CLIPTextConfig,
        CLIPTokenizer,
        Sam3Config,
        Sam3DETRDecoderConfig,
        Sam3DETREncoderConfig,
        Sam3GeometryEncoderConfig,
        Sam3ImageProcessor,
        Sam3MaskDecoderConfig,
        Sam3Model,
        Sam3Processor,
        Sam3VisionConfig,
        Sam3ViTConfig,
    )

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in string.ascii_lowercase + ".":  # one token per letter: no merges to learn
        vocab.setdefault(c, len(vocab))
        vocab.setdefault(c + "</w>", len(vocab))
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[])
    h, s, patches = size.hidden, size.image, size.image // 14
    vit = Sam3ViTConfig(hidden_size=h, intermediate_size=2 * h, num_hidden_layers=size.layers, num_attention_heads=2,
                        image_size=s, patch_size=14, window_size=4, global_attn_indexes=[size.layers - 1],
                        pretrain_image_size=56)
    vision = Sam3VisionConfig(backbone_config=vit, fpn_hidden_size=h,
                              backbone_feature_sizes=[[4 * patches] * 2, [2 * patches] * 2, [patches] * 2])
    text = CLIPTextConfig(vocab_size=64, hidden_size=h, intermediate_size=2 * h, num_hidden_layers=1,
                          num_attention_heads=2, max_position_embeddings=32, projection_dim=h,
                          bos_token_id=0, eos_token_id=1, pad_token_id=1)
    config = Sam3Config(
        vision_config=vision, text_config=text,
        geometry_encoder_config=Sam3GeometryEncoderConfig(hidden_size=h, num_layers=1, num_attention_heads=2,
                                                          intermediate_size=2 * h),
        detr_encoder_config=Sam3DETREncoderConfig(hidden_size=h, num_layers=1, num_attention_heads=2,
                                                  intermediate_size=2 * h),
        detr_decoder_config=Sam3DETRDecoderConfig(hidden_size=h, num_layers=1, num_queries=20, num_attention_heads=2,
                                                  intermediate_size=2 * h),
        mask_decoder_config=Sam3MaskDecoderConfig(hidden_size=h, num_attention_heads=2))
    image_processor = Sam3ImageProcessor(size={"height": s, "width": s},
                                         mask_size={"height": 4 * patches, "width": 4 * patches})
    processor = Sam3Processor(image_processor=image_processor, tokenizer=tokenizer)
    return _build(lambda: Sam3Model(config), seed), processor
