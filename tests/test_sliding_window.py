"""The lecture's first idea (a classifier slid over patches) against one fully convolutional pass: the same
map, checked with torch; the cost counted by torch against the hand formula; the page in both languages."""
import random

import pytest
import torch
import torch.nn.functional as F

from core import lessons
from core import sliding_window as sw
from core.quiz import is_correct
from tests.conftest import page_text, run_page

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("layers, head_side, side", [(3, 5, 20), (2, 3, 17), (1, 1, 9), (4, 2, 12)])
def test_sliding_classifier_and_one_convolutional_pass_give_the_same_map(layers, head_side, side):
    torch.manual_seed(layers * 10 + head_side)
    cfg = sw.PatchConfig(layers=layers, head_side=head_side, width=7, num_classes=4)
    model = sw.PatchClassifier(cfg)
    image = torch.randn(3, side, side + 3)
    slid, once = sw.sliding_window(model, image, batch=37), sw.fully_convolutional(model, image)
    assert slid.shape == once.shape == (4, side, side + 3)
    assert torch.allclose(slid, once, atol=1e-5, rtol=1e-5)
    slid64 = sw.sliding_window(model, image, dtype=torch.float64)
    once64 = sw.fully_convolutional(model, image, dtype=torch.float64)
    assert once64.dtype == torch.float64
    assert torch.allclose(slid64, once64, atol=1e-12, rtol=0)
    # torch's own convolution with the fully connected weights reshaped is the head of the one pass
    before, after = (cfg.patch - 1) // 2, cfg.patch // 2
    features = model.features(F.pad(image[None], (before, after, before, after)))
    head = F.conv2d(features, model.classifier.weight.view(4, 7, head_side, head_side), model.classifier.bias)
    assert torch.allclose(head[0], once, atol=1e-6)
    assert next(model.parameters()).dtype == torch.float32  # the double-precision runs used copies


def test_every_window_is_the_patch_around_its_pixel_and_the_classifier_reads_it():
    cfg = sw.PatchConfig(layers=2, head_side=3)
    image = torch.arange(3 * 6 * 5, dtype=torch.float32).view(3, 6, 5)
    patches = sw.patches_of(image, cfg)  # (30, 3, 7, 7)
    padded = F.pad(image, (3, 3, 3, 3))
    for i, j in [(0, 0), (2, 3), (5, 4)]:
        assert torch.equal(patches[i * 5 + j], padded[:, i:i + 7, j:j + 7])
        assert patches[i * 5 + j][:, 3, 3].tolist() == image[:, i, j].tolist()  # centred on the pixel
    torch.manual_seed(0)
    model = sw.PatchClassifier(cfg).eval()
    with torch.no_grad():
        one = model(padded[None, :, 2:9, 3:10])[0]  # the window of pixel (2, 3), cut by hand
    assert torch.allclose(sw.sliding_window(model, image)[:, 2, 3], one, atol=1e-6)


@pytest.mark.parametrize("layers, side", [(3, 64), (2, 32), (4, 48)])
def test_torch_counts_the_multiply_adds_of_the_hand_formula(layers, side):
    cfg = sw.PatchConfig(layers=layers)
    c = sw.costs(cfg, side, side)
    p, w, r, k = cfg.patch, cfg.width, cfg.head_side, cfg.num_classes
    # one window: valid 3×3 convolutions on shrinking maps, then the fully connected layer
    per = sum(9 * (3 if i == 0 else w) * w * (p - 2 * (i + 1)) ** 2 for i in range(layers)) + w * r * r * k
    # one pass: the same convolutions on the padded picture, the head as an r×r convolution
    big = side + p - 1
    once = sum(9 * (3 if i == 0 else w) * w * (big - 2 * (i + 1)) ** 2 for i in range(layers)) + w * r * r * k * side ** 2
    assert (c.per_patch_macs, c.sliding_macs, c.fcn_macs) == (per, per * side * side, once)
    assert c.ratio > 5  # the windows overlap: most of their work is done again and again


def test_the_convolutional_pass_is_faster_measured_side_by_side():
    torch.manual_seed(0)
    model = sw.PatchClassifier()
    x, _, _ = sw.picture(1, 48)
    t_slide, t_once = sw.time_both(model, x, repeats=2)
    assert 0 < t_once < t_slide


def test_a_seeded_classifier_is_torchs_own_and_leaves_the_global_generator_alone():
    torch.manual_seed(7)
    expected = sw.PatchClassifier()
    state = torch.get_rng_state()
    got = sw.seeded_classifier(7)
    assert torch.equal(state, torch.get_rng_state())
    for a, b in zip(expected.state_dict().values(), got.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_side_timings_are_measured_once_per_side():
    t_slide, t_once = sw.side_timings(32)
    assert 0 < t_once < t_slide
    assert sw.side_timings(32) == (t_slide, t_once)


def test_training_the_patch_classifier_lowers_its_loss():
    model, losses = sw.train_patch_classifier(40, side=32, batch_size=2)
    assert len(losses) == 40
    assert sum(losses[-5:]) / 5 < 0.8 * sum(losses[:5]) / 5
    assert not model.training


def test_sliding_questions_are_answered_by_the_module():
    for seed in range(5):
        q_windows, q_patch = sw.sliding_questions(random.Random(seed))
        side = q_windows.params["side"]
        assert is_correct(q_windows, str(side * side))
        assert is_correct(q_patch, str(2 * q_patch.params["layers"] + q_patch.params["r"]))


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
@pytest.mark.parametrize("weights, side", [("trained", 48), ("random", 32)])
def test_full_resolution_page_shows_both_ways_and_says_what_the_weights_are(lang, weights, side):
    T = lessons.texts("full_resolution", lang)
    at = run_page("full_resolution", lang, {"fr_sw_weights": weights, "fr_sw_side": side, "fr_sw_seed": 5})
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    text = page_text(at)
    assert T("sw_title") in text and T("calc_title") in text
    assert any(s.value.startswith(T("sw_same")) or T("sw_same") in s.value for s in at.success)
    assert T("sw_macs_head") in text and T("sw_ms_head") in text
    assert [m.label for m in at.metric][:4] == [T("sw_slide_short"), T("sw_once_short")] * 2
    cost = sw.costs(sw.PatchConfig(), side, side)
    shown = [m.value for m in at.metric][:2]  # multiply-adds, in millions, as the language writes them
    assert shown == [lessons.number(cost.sliding_macs / 1e6, ",.1f", lang), lessons.number(cost.fcn_macs / 1e6, ",.1f", lang)]
    if weights == "random":
        assert T("sw_random_caption") in [w.value for w in at.warning]
    else:
        assert T.data["ui"]["sw_trained_caption"].split("{")[0] in text  # "trained here for … steps", not random
        assert not any(T("sw_random_caption") == w.value for w in at.warning)
