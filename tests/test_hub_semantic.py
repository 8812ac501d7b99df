"""SegFormer and Mask2Former on a photo: tiny configurations of the real transformers classes, saved and loaded
the way the app loads the published ones; the decoder diagram measured against the module's own hidden states;
which model a picker opens on."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.data.streets import make_street
from core.zoo import semantic, universal, weights
from tests.hub_models import LABELS, cache_model, write_folder

FAMILY = {"segformer_b0": "segformer", "mask2former_swin_t": "mask2former"}


@pytest.fixture(autouse=True)
def one_thread_offline(monkeypatch, tmp_path):
    import huggingface_hub.constants

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return make_street(3, (90, 120))[0]  # (H, W, 3) uint8, not a multiple of 32 on either side


@pytest.mark.parametrize("key", list(FAMILY))
def test_a_saved_folder_loads_and_labels_every_pixel_like_transformers(key, tmp_path, photo):
    folder = write_folder(FAMILY[key], tmp_path / key)
    res = weights.resolve(weights.spec(key), folder=folder)
    assert res.found and res.source == "folder"
    model = universal.load_transformers(key, res.path)
    assert model.key == f"hf:{key}" and model.classes == LABELS and model.weights.pretrained
    assert len(model.palette) == len(LABELS)

    pred = semantic.predict(model, photo, short_side=64)
    probs = pred.probs
    assert probs.shape == (len(LABELS), 90, 120) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(0), 1.0, atol=1e-5)
    assert (probs >= 0).all()
    if model.size_divisor > 1:
        assert all(s % model.size_divisor == 0 for s in pred.input_size)

    # transformers' own post-processing of the same network on the same input gives the same map
    x = semantic._input(model, photo, 64)
    assert tuple(x.shape[-2:]) == pred.input_size
    with torch.no_grad():
        out = model.net(pixel_values=x)
    theirs = model.processor.post_process_semantic_segmentation(out, target_sizes=[(90, 120)])[0].numpy()
    assert theirs.shape == (90, 120)
    np.testing.assert_array_equal(pred.mask, theirs)


def test_mask2former_probabilities_are_its_normalised_segmentation_scores(tmp_path, photo):
    model = universal.load_transformers("mask2former_swin_t", write_folder("mask2former", tmp_path / "m2f"))
    assert model.head == "mask_classification" and model.info["num_queries"] == 8
    x = semantic._input(model, photo, 64)
    with torch.no_grad():
        out = model.net(pixel_values=x)
    # by hand, as the paper writes it: softmax over classes (no-object dropped) times each mask's sigmoid
    classes = out.class_queries_logits.softmax(-1)[0, :, :-1]  # (Q, K)
    masks = torch.nn.functional.interpolate(out.masks_queries_logits, size=(384, 384), mode="bilinear",
                                            align_corners=False).sigmoid()[0]  # (Q, 384, 384)
    scores = torch.einsum("qk,qhw->khw", classes, masks)[None]
    scores = torch.nn.functional.interpolate(scores, size=(90, 120), mode="bilinear", align_corners=False)[0]
    expected = (scores / scores.sum(0, keepdim=True)).numpy()
    np.testing.assert_allclose(semantic.predict(model, photo, 64).probs, expected, atol=1e-5)


@pytest.mark.parametrize("key", list(FAMILY))
def test_a_model_in_the_hugging_face_cache_is_found_without_the_network(key, tmp_path, photo):
    snapshot = cache_model(key, tmp_path / "hub", tmp_path)
    res = weights.resolve(weights.spec(key))
    assert res.found and res.source == "cache" and res.path == snapshot
    assert f"hf:{key}" in semantic.pretrained_present()
    model = universal.load_transformers(key, res.path, source=res.source)
    assert model.weights.kind == "cache"
    assert semantic.predict(model, photo, 64).probs.shape == (len(LABELS), 90, 120)


def test_nothing_cached_means_nothing_present():
    assert not {k for k in semantic.pretrained_present() if k.startswith("hf:")}


@pytest.mark.parametrize("height, width", [(64, 64), (97, 131), (128, 96)])
def test_the_decoder_diagram_has_the_shapes_of_the_real_hidden_states(height, width):
    model, _ = universal.tiny_segformer(LABELS)
    dec = universal.segformer_decoder(model, height, width)
    config = model.config
    with torch.no_grad():
        out = model(pixel_values=torch.zeros(1, 3, height, width), output_hidden_states=True)
    assert len(out.hidden_states) == 4
    h4, w4 = out.hidden_states[0].shape[-2:]
    d, k = config.decoder_hidden_size, config.num_labels
    for i, hidden in enumerate(out.hidden_states, start=1):
        assert dec.boxes[f"stage{i}"].shape == tuple(hidden.shape[1:])  # the encoder's real output
        assert dec.boxes[f"mlp{i}"].shape == (d, *hidden.shape[-2:])  # 1×1 projection: same size, D channels
        assert dec.boxes[f"up{i}"].shape == (d, h4, w4)  # bilinear to stride 4
        # the side of each stage follows the patch embeddings' arithmetic (what the quiz asks)
        assert tuple(hidden.shape[-2:]) == (universal.stage_side(height, i), universal.stage_side(width, i))
    assert dec.boxes["concat"].shape == (4 * d, h4, w4)
    assert dec.boxes["linear_fuse"].shape == (d, h4, w4)
    assert dec.boxes["classifier"].shape == tuple(out.logits.shape[1:]) == (k, h4, w4)
    assert dec.boxes["output"].shape == (k, height, width)
    assert dec.strides == (4, 8, 16, 32)
    assert len(dec.upsample_factors) == 4 and dec.upsample_factors[0] == pytest.approx(1.0)
    assert tuple(dec.logits.shape) == tuple(out.logits.shape)


def test_the_upsampled_boxes_are_the_fusion_layers_real_input():
    """Cut back into its parts, the concatenation the fusion layer receives is each stage's projection upsampled."""
    model, _ = universal.tiny_segformer(LABELS)
    dec = universal.segformer_decoder(model, 128, 128)
    assert dec.upsample_factors == pytest.approx((1.0, 2.0, 4.0, 8.0))
    head = model.decode_head
    with torch.no_grad():
        hidden = model(pixel_values=torch.zeros(1, 3, 128, 128), output_hidden_states=True).hidden_states
    seen = {}
    handle = head.linear_fuse.register_forward_pre_hook(lambda m, args: seen.setdefault("x", args[0]))
    with torch.no_grad():
        model(pixel_values=torch.zeros(1, 3, 128, 128))
    handle.remove()
    d = model.config.decoder_hidden_size
    for i, mlp in enumerate(head.linear_projections):
        with torch.no_grad():
            proj = mlp(hidden[i]).transpose(1, 2).reshape(1, d, *hidden[i].shape[-2:])
            up = torch.nn.functional.interpolate(proj, size=hidden[0].shape[-2:], mode="bilinear", align_corners=False)
        part = seen["x"][:, (3 - i) * d:(4 - i) * d]  # the deepest stage comes first
        torch.testing.assert_close(part, up)


def test_segformer_b0_layout_has_the_published_shapes():
    model = universal.segformer_architecture()
    assert 3.6e6 < universal.parameters(model) < 3.9e6  # SegFormer-B0 with 150 classes: 3.75 M
    dec = universal.segformer_decoder(model, 64, 64)
    assert [dec.boxes[f"stage{i}"].shape[0] for i in range(1, 5)] == [32, 64, 160, 256]
    assert dec.boxes["concat"].shape[0] == 1024 and dec.boxes["classifier"].shape[0] == 150


def test_queries_are_read_from_the_live_module():
    model, _ = universal.tiny_mask2former(LABELS, num_queries=7)
    q = universal.query_summary(model, 64, 96)
    assert q.num_queries == 7 and q.num_classes == len(LABELS)
    assert q.class_logits == (7, len(LABELS) + 1) and q.mask_logits == (7, 16, 24)


def test_the_quiz_answers_follow_from_its_parameters():
    import random

    for seed in range(20):
        stage, fuse, scores = universal.questions(random.Random(seed))
        p = stage.params
        assert stage.answer == universal.stage_side(p["side"], p["stage"])
        assert fuse.answer == fuse.params["stages"] * fuse.params["width"]
        assert scores.answer == scores.params["queries"] * (scores.params["classes"] + 1)


# --- which model a picker opens on -------------------------------------------------------------------------------

def test_the_best_model_present_comes_first():
    shipped = ["unet-streets.safetensors", "fpn-streets.safetensors"]
    assert semantic.best_choice({"tv:fcn_resnet50", "hf:segformer_b0"}, ["mine"], shipped) == "hf:segformer_b0"
    assert semantic.best_choice({"tv:lraspp_mobilenet_v3_large", "tv:deeplabv3_resnet50"}) == "tv:deeplabv3_resnet50"
    assert semantic.best_choice(set(), ["mine"], shipped) == "app:mine"  # what the user trained or uploaded
    assert semantic.best_choice(set(), [], shipped) == "app:unet-streets.safetensors"
    assert semantic.best_choice(set()) == semantic.RANDOM_DEFAULT
    assert set(semantic.PRETRAINED_ORDER) == {f"tv:{n}" for n in semantic.TORCHVISION} | \
        {f"hf:{n}" for n in semantic.TRANSFORMERS}


def test_shipped_checkpoints_rank_by_their_recorded_miou():
    from core.zoo.checkpoints import read_header, shipped_checkpoints

    headers = {name: read_header(path) for name, path in shipped_checkpoints().items()}
    ranked = semantic.shipped_order(headers)
    scores = [semantic.app_miou(headers[n]) for n in ranked]
    assert scores == sorted(scores, reverse=True) and None not in scores
    assert ranked[0] == "unet-streets.safetensors"  # checkpoints/README.md: the U-Net learns the streets best


def test_network_size_rounds_to_the_divisor():
    assert semantic.network_size(90, 120, 64, 32) == (64, 96)
    assert semantic.network_size(90, 120, 64) == (64, 85)
    assert semantic.network_size(30, 40, None, 32) == (32, 32)
    assert semantic.ModelChoice.parse("hf:segformer_b0").from_hub
