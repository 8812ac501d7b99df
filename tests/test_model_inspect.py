"""Watching a tensor flow: per-layer rows, FLOPs against torch's counter, receptive fields, the diagrams' boxes,
and the computations the architecture pages show."""
import math
import random

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from core import architectures as arch
from core import models
from core.figures.architectures import (
    architecture_diagram,
    feature_mosaic,
    shape_curves,
)
from core.models import diagrams
from core.models.inspect import edges_of, graph_trace, stage_boxes, totals, trace


@pytest.fixture(scope="module")
def small():
    torch.manual_seed(0)
    return {name: models.build(name, 5 if name != "pose_hrnet_w32" else 17, **(
        {"paper": False} if name == "pose_hrnet_w32" else {})).eval() for name in diagrams.DRAWN}


@pytest.mark.parametrize("name", diagrams.DRAWN)
def test_flops_equal_torchs_counter_and_every_box_is_measured(small, name):
    model = small[name]
    x = torch.randn(1, 3, 45, 61)
    graph, tr = graph_trace(model, x)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    assert tr.total_flops == counter.get_total_flops() > 0
    boxes = stage_boxes(graph, tr)
    assert set(boxes) == {n.key for n in graph.nodes}
    assert len(edges_of(graph, boxes)) == len(graph.edges)
    assert boxes["image"].shape == (3, 45, 61)


def test_trace_leaves_the_model_as_it_was(small):
    model = small["segnet"]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trace(model, torch.randn(1, 3, 40, 40), ["encoder.pool3"])
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not model._forward_hooks and not model.encoder.pool3._forward_hooks
    with pytest.raises(ValueError, match="no module encoder.pool9"):
        trace(model, torch.randn(1, 3, 40, 40), ["encoder.pool9"])


def test_rows_name_the_operations_of_each_family(small):
    x = torch.randn(1, 3, 37, 53)
    ops = {name: [r.op for r in trace(small[name], x).rows] for name in ("segnet", "unet", "fcn8s", "fpn")}
    assert ops["segnet"].count("max_unpool") == 5 and ops["segnet"].count("max_pool") == 5
    assert ops["unet"].count("concat") == 4
    assert ops["fcn8s"].count("add") == 2 and ops["fcn8s"].count("transposed_conv") == 3
    assert ops["fpn"].count("upsample_nearest") == 3  # the top-down pathway
    rows = trace(small["fcn8s"], x).rows
    assert rows[-1].shape == (1, 5, 37, 53) and rows[-1].jump == 1


def test_receptive_fields_of_vgg16_are_the_known_ones():
    with torch.device("meta"):
        model = models.build("fcn8s", 21, paper=True).eval()
        x = torch.empty(1, 3, 224, 224)
    graph, tr = graph_trace(model, x)
    boxes = stage_boxes(graph, tr)
    assert [boxes[f"pool{s}"].rf for s in range(1, 6)] == [6, 16, 44, 100, 212]
    assert boxes["fc7"].rf == 404  # fc6 is a 7×7 convolution at stride 32: 212 + 6·32
    assert [boxes[f"pool{s}"].jump for s in range(1, 6)] == [2, 4, 8, 16, 32]
    assert tr.total_params == sum(p.numel() for p in model.parameters())
    assert totals(tr.rows)["rf"] >= 404


def test_receptive_field_matches_the_gradient_of_a_positive_network():
    # With all weights positive nothing cancels: the input pixels that reach one output cell are exactly the field.
    net = nn.Sequential(nn.Conv2d(1, 1, 3), nn.AvgPool2d(2), nn.Conv2d(1, 1, 3, dilation=2),
                        nn.Conv2d(1, 1, 5, stride=2))
    for m in net:
        if isinstance(m, nn.Conv2d):
            nn.init.constant_(m.weight, 1.0)
            nn.init.zeros_(m.bias)
    x = torch.ones(1, 1, 64, 64, requires_grad=True)
    y = net(x)
    y[0, 0, y.shape[2] // 2, y.shape[3] // 2].backward()
    rows = np.nonzero(x.grad[0, 0].abs().sum(1).numpy())[0]
    empirical = rows.max() - rows.min() + 1
    assert trace(net, torch.ones(1, 1, 64, 64)).rows[-1].rf == empirical == 3 + 1 + 2 * 2 * 2 + 4 * 2


def test_paper_size_models_are_measured_on_the_meta_device():
    with torch.device("meta"):
        model = models.build("pose_hrnet_w32", 17).eval()
        x = torch.empty(1, 3, 256, 192)
    tr = trace(model, x)
    assert tr.rows[-1].shape == (1, 17, 64, 48)
    # about 7.1 GFLOPs in the paper, which counts a multiply-add once; torch counts it as 2
    assert 7.0 < tr.total_flops / 2e9 < 8.0


# --- the pages' computations --------------------------------------------------------------------------------

def test_ideal_predictions_get_sharper_with_each_skip():
    _, labels = arch.sample_scene(96, 128)
    ideal = arch.ideal_stride_predictions(labels, arch.NUM_CLASSES)
    acc = {s: arch.boundary_accuracy(p, labels) for s, p in ideal.items()}
    assert all(p.shape == labels.shape for p in ideal.values())
    assert acc[8] > acc[16] > acc[32]


def test_fit_fcn_trains_and_yields_progress():
    model = models.build("fcn8s", arch.NUM_CLASSES)
    steps = list(arch.fit_fcn(model, steps=3, size=(64, 64), batch=2))
    assert [s.step for s in steps] == [1, 2, 3] and all(math.isfinite(s.loss) for s in steps)
    assert not model.training
    preds = arch.stride_predictions(model, arch.to_input(arch.sample_scene(64, 96)[0]))
    assert {s: p.shape for s, p in preds.items()} == {32: (64, 96), 16: (64, 96), 8: (64, 96)}


def test_scene_batch_varies_the_scene():
    pool = arch.scene_pool(48, 64, n=3)
    x, y = arch.scene_batch(4, pool, random.Random(0))
    assert x.shape == (4, 3, 48, 64) and y.shape == (4, 48, 64) and int(y.max()) < arch.NUM_CLASSES


def test_segnet_walkthrough_goes_sparse_then_dense(small):
    walk = arch.segnet_walkthrough(small["segnet"], torch.randn(1, 3, 45, 61), channel=2)
    assert walk.unpooled.shape == walk.feature.shape == (45, 61) and walk.pooled.shape == (23, 31)
    assert np.array_equal(walk.ours, walk.unpooled)
    feature, unpooled, dense = walk.nonzero
    assert unpooled <= 0.26 and dense > 0.9
    # every pooled value is back where the encoder's maximum was
    assert np.allclose(walk.unpooled.flatten()[walk.indices.flatten()], walk.pooled.flatten())


def test_fusion_unit_adds_up_to_the_modules_output(small):
    model = small["hrnet"]
    x = torch.randn(1, 3, 67, 45)
    unit = arch.fusion_unit(model.encoder, x, stage=3, module=1, i=1)
    assert [t.kind for t in unit.terms] == ["down", "identity", "up"]
    assert all(t.term.shape == unit.total.shape for t in unit.terms)
    assert np.allclose(sum(t.term for t in unit.terms), unit.total)
    out = trace(model, x, ["encoder.stage3.1[1]"]).taps["encoder.stage3.1[1]"]
    assert np.allclose(unit.output, out[0].numpy(), atol=1e-6)
    assert unit.terms[2].ops[-1] == "nearest ×2"
    with pytest.raises(ValueError, match="choose i below"):
        arch.fusion_unit(model.encoder, x, stage=2, module=0, i=2)


def test_skip_traffic_orders_the_three_ideas():
    shapes = {}
    for name in ("fcn8s", "segnet", "unet"):
        with torch.device("meta"):
            model = models.build(name, 21, paper=True).eval()
            graph, tr = graph_trace(model, torch.empty(1, 3, 128, 128))
        shapes[name] = {k: b.shape for k, b in stage_boxes(graph, tr).items()}
    fcn, segnet, unet = (arch.skip_traffic(n, shapes[n]) for n in ("fcn8s", "segnet", "unet"))
    assert fcn.values == 21 * (8 * 8 + 16 * 16)
    assert segnet.needed_bytes * 32 == segnet.stored_bytes
    assert unet.values > segnet.values > fcn.values


def test_checks_the_pages_show_agree_with_torch(small):
    check = arch.convolutionalize_check()
    np.testing.assert_allclose(check.conv_out, check.linear_out, atol=1e-5)
    ours, theirs = arch.bilinear_layer_check(small["fcn8s"].upsample)
    torch.testing.assert_close(ours, theirs)
    ours, theirs = arch.pyramid_check(small["fpn"], torch.randn(1, 3, 50, 70))
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs))


def test_figures_draw_what_was_measured(small):
    graph, tr = graph_trace(small["unet"], torch.randn(1, 3, 64, 64))
    boxes = stage_boxes(graph, tr)
    fig = architecture_diagram(boxes, edges_of(graph, boxes), {"concat": "concatenate"}, (64, 64))
    assert len([s for s in fig.layout.shapes if s.type == "rect"]) == len(boxes)
    assert "concatenate" in [t.name for t in fig.data]
    texts = " ".join(a.text for a in fig.layout.annotations)
    assert "<b>enc5</b><br>128×4×4" in texts  # 1024 channels × 1/8, at 64 / 2⁴
    assert len(shape_curves(tr.rows, {"resolution": "r", "channels": "c", "layer": "l"}).data) == 2
    mosaic = feature_mosaic(np.random.rand(6, 10, 12))
    assert len(mosaic.layout.annotations) == 6


@pytest.mark.parametrize("slug, make", [
    ("architecture_explorer", "explorer_questions"), ("fcn", "fcn_questions"), ("segnet", "segnet_questions"),
    ("unet", "unet_questions"), ("hrnet", "hrnet_questions"), ("fpn_mask_rcnn", "fpn_questions")])
def test_quizzes_have_words_in_both_languages_and_right_answers(slug, make):
    from core import architectures as arch
    from core import lessons
    from core.quiz import is_correct

    for seed in range(8):
        for q in getattr(arch, make)(random.Random(seed)):
            assert is_correct(q, str(q.answer))
            for lang in lessons.LANGUAGES:
                words = lessons.texts(slug, lang).quiz(q.key)
                assert lessons.fill(words["prompt"], lang, **q.params) and lessons.fill(words["solution"], lang, answer=q.answer, **q.params)


def test_quiz_answers_follow_the_models():
    from core import architectures as arch

    rf, side = arch.explorer_questions(random.Random(3))
    assert rf.answer == 2 + 2 * rf.params["n1"] + 4 * rf.params["n2"]
    h = side.params["h"]
    model = models.build("unet", 2, depth=side.params["p"])
    assert trace(model.eval(), torch.zeros(1, 3, h, 40)).rows[0].shape[-2] == h  # the model takes odd sizes
    with torch.no_grad():
        maps = model.encoder(torch.zeros(1, 3, h, 40))
    assert maps[-1].shape[-2] == side.answer  # the bottom of the U has ⌈h / 2^p⌉ rows


def test_busiest_window_is_the_first_window_of_largest_spread():
    from core.architectures import busiest_window

    a = np.zeros((20, 24))
    a[10:14, 6:9] = np.arange(12.0).reshape(4, 3)  # the only varied patch
    r, c = busiest_window(a)
    assert (r % 2, c % 2) == (0, 0)
    spread = {(i, j): a[i:i + 8, j:j + 8].std() for i in range(0, 13, 2) for j in range(0, 17, 2)}
    assert a[r:r + 8, c:c + 8].std() == max(spread.values())
    assert (r, c) == min(k for k, v in spread.items() if v == max(spread.values()))  # the first, row by row
    assert busiest_window(np.zeros((5, 5))) == (0, 0)  # smaller than a window
