"""The five pages of "From classification to segmentation", run with non-default widget values in both languages.

Each test sets widgets through session state (as a shared link would), runs the page and checks that the
numbers it shows are the ones ``core`` computes for those values.
"""
import math

import pytest
import torch

from core import classification as cls
from core import cost, lessons, metrics, pixelwise
from core.data import scenes
from tests.conftest import page_text, run_page

LANGS = lessons.LANGUAGES


def _ok(at, slug, lang):
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == lessons.texts(slug, lang).title
    return lessons.texts(slug, lang), page_text(at)


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.mark.parametrize("lang", LANGS)
def test_cv_tasks_semantic_counts_merged_dogs(lang):
    at = run_page("cv_tasks", lang, {"cvt_task": "semantic", "cvt_overlap": 0.5, "cvt_all": True})
    T, text = _ok(at, "cv_tasks", lang)
    scene = scenes.make_scene(overlap=0.5)
    says = T("says_semantic", regions=1, dogs=2, classes=5, pixels=f"{scene.semantic.size:,}".replace(",", " "))
    assert says in text
    assert T.md("task_semantic")[:60] in text
    assert len(at.get("plotly_chart")) == 6  # the input and all five outputs


@pytest.mark.parametrize("lang", LANGS)
def test_cv_tasks_detection_apart(lang):
    at = run_page("cv_tasks", lang, {"cvt_task": "detection", "cvt_overlap": 0.0})
    T, text = _ok(at, "cv_tasks", lang)
    dogs = [o for o in scenes.make_scene(overlap=0.0).objects if o.class_id == 3]
    assert T("says_detection", n=3, shared=scenes.box_overlap(dogs[0].box, dogs[1].box)) in text


@pytest.mark.parametrize("lang", LANGS)
def test_classification_recap_edited_logits_and_big_input(lang):
    logits = [[0.0, 0.0, 0.0, 0.0], [1.0, 3.0, 0.0, -1.0], [0.0, 0.0, 0.0, 5.0]]
    state = {"cr_y2": 3, "cr_logits": logits, "cr_channels": 2048, "cr_classes": 10, "cr_side": 512,
             "cr_test_h": 224, "cr_test_w": 224}
    at = run_page("classification_recap", lang, state)
    T, text = _ok(at, "classification_recap", lang)
    z = torch.tensor(logits)
    expected = cls.cross_entropy(z, cls.one_hot([0, 1, 3], 4)).mean()
    assert _metric(at, T("mean_loss")) == lessons.localize_numbers(f"{float(expected):.4f}", lang)
    assert lessons.localize_numbers(f"{math.log(4):.4f}", lang) in text  # image 1 spreads its probability evenly: loss log 4
    flat = cls.head_parameters("flatten", 2048, 512, 10)
    assert _metric(at, T("params_flatten")) == lessons.localize_numbers(f"{flat:,}".replace(",", " "), lang)
    assert len([s for s in at.success if T("try_ok", shape="1 × 10") in s.value]) == 2  # 224×224: both heads work
    assert not at.error


def test_classification_recap_grid_is_edited_the_language_way_and_keeps_its_numbers_across_a_switch():
    logits = [[2.0, 1.0, 0.1, -1.0], [0.5, 2.5, 0.3, 0.0], [1.25, 0.2, 0.4, 2.0]]
    at = run_page("classification_recap", "en", {"cr_logits": logits})
    _ok(at, "classification_recap", "en")
    english = at.dataframe[0].value
    assert english.to_numpy(dtype=float).tolist() == logits  # English: numbers, with the decimal point
    at.session_state["lang"] = "ro"
    at.run()
    T, _ = _ok(at, "classification_recap", "ro")
    romanian = at.dataframe[0].value
    assert romanian.to_numpy().tolist()[2] == ["1,25", "0,2", "0,4", "2"]  # Romanian: texts with the comma
    expected = cls.cross_entropy(torch.tensor(logits), cls.one_hot([0, 1, 2], 4)).mean()
    assert _metric(at, T("mean_loss")) == lessons.localize_numbers(f"{float(expected):.4f}", "ro")
    assert not at.warning


@pytest.mark.parametrize("lang", LANGS)
def test_classification_recap_flatten_fails_on_other_size(lang):
    at = run_page("classification_recap", lang, {"cr_test_h": 160, "cr_test_w": 480})
    T, text = _ok(at, "classification_recap", lang)
    assert [e.value for e in at.error] == [T("try_fail")]
    assert any(T("try_ok", shape="1 × 10") in s.value for s in at.success)


@pytest.mark.parametrize("lang", LANGS)
def test_pixelwise_other_pixel_and_logits(lang):
    state = {"pw_row": 0, "pw_col": 22, "pw_temp": 0.5, "pw_noise": 3.0, "pw_margin": 1.0, "pw_seed": 7,
             "pw_volume": "probs", "pw_view": "3d"}
    at = run_page("pixelwise_classification", lang, state)
    T, text = _ok(at, "pixelwise_classification", lang)
    grid = scenes.street_grid().labels
    z = pixelwise.synthetic_logits(grid, 6, margin=1.0, noise=3.0, seed=7)
    r = pixelwise.pixel_report(z, grid, 0, 22, 0.5)
    names = [T.table("classes")[k] for k in scenes.STREET_CLASSES]
    assert T("pixel_summary", row=0, col=22, label=names[r.label], argmax=names[r.argmax],
             p=f"{r.probs[r.label]:.4f}", loss=f"{r.loss:.4f}") in text
    loss = pixelwise.pixel_cross_entropy(z, grid, 0.5)
    assert _metric(at, T("mean_loss")) == lessons.localize_numbers(f"{float(loss.mean()):.4f}", lang)
    assert len(at.success) == 3 and not at.error  # the three torch checks agree


@pytest.mark.parametrize("lang", LANGS)
def test_full_resolution_bigger_network(lang):
    state = {"fr_stages": 4, "fr_width": 16, "fr_classes": 21, "fr_size": 1024, "fr_log": False}
    at = run_page("full_resolution", lang, state)
    T, text = _ok(at, "full_resolution", lang)
    cfg = cost.NetConfig(stages=4, base_width=16, num_classes=21)
    full = cost.totals(cost.layer_costs(cost.build("full_resolution", cfg, device="meta"), 1024))
    hour = cost.totals(cost.layer_costs(cost.build("hourglass", cfg, device="meta"), 1024))
    assert _metric(at, T("gflops", net=T("net_full_resolution"))) == lessons.localize_numbers(f"{full['flops'] / 1e9:,.1f}".replace(",", " "), lang)
    assert _metric(at, T("gflops", net=T("net_hourglass"))) == lessons.localize_numbers(f"{hour['flops'] / 1e9:,.1f}".replace(",", " "), lang)
    assert "16 → 32 → 64 → 128 → 256 → 128 → 64 → 32 → 16 → 21" in text
    # FLOP counts and receptive fields agree with torch, and so does the sliding window with the one pass
    assert len(at.success) == 5 and not at.error


@pytest.mark.parametrize("lang", LANGS)
def test_metrics_spoiled_street(lang):
    state = {"sm_dy": 1, "sm_erode_street": 1, "sm_erode_n": 2, "sm_swap_a_street": 3, "sm_swap_b_street": 4,
             "sm_ignore": True}
    at = run_page("segmentation_metrics", lang, state)
    T, text = _ok(at, "segmentation_metrics", lang)
    gt = scenes.street_grid().labels
    pred = metrics.swap(metrics.erode(metrics.shift(gt, 1, 0), 1, 2), 3, 4)
    target = gt.copy()
    target[metrics.boundary_band(gt)] = 255
    cm = metrics.confusion_matrix(pred, target, 6, ignore_index=255)
    assert _metric(at, T("pixel_accuracy")) == lessons.localize_numbers(f"{metrics.pixel_accuracy(cm):.1%}", lang)
    assert _metric(at, T("mean_iou")) == lessons.localize_numbers(f"{metrics.mean_iou(cm):.3f}", lang)
    assert _metric(at, T("counted")) == lessons.localize_numbers(f"{int(cm.sum())} / {gt.size}", lang)
    assert len(at.success) == 1  # the confusion matrix agrees with the one-hot product


@pytest.mark.parametrize("lang", LANGS)
def test_metrics_imbalance_trap_on_the_scene(lang):
    at = run_page("segmentation_metrics", lang, {"sm_source": "scene", "sm_dx": 2})
    at.button(key="sm_trap").click().run()
    T, text = _ok(at, "segmentation_metrics", lang)
    assert at.session_state["sm_miss"] is True and at.session_state["sm_dx"] == 0
    gt = scenes.make_scene(48, 64).semantic
    cm = metrics.confusion_matrix(metrics.miss_small_classes(gt, 0.10), gt, 5)
    acc, miou = metrics.pixel_accuracy(cm), metrics.mean_iou(cm)
    assert acc > 0.85 and miou < 0.6
    assert [w.value for w in at.warning] == [T("imbalance_note", acc=f"{acc:.1%}", miou=f"{miou:.3f}")]


def test_metrics_absent_and_swapped_classes():
    at = run_page("segmentation_metrics", "en")
    T, _ = _ok(at, "segmentation_metrics", "en")
    table = at.dataframe[0].value
    assert table.iloc[0, -1] == T("absent")  # class 0 never occurs in the street: left out
    at = run_page("segmentation_metrics", "ro", {"sm_swap_a_street": 2, "sm_swap_b_street": 0})
    T, _ = _ok(at, "segmentation_metrics", "ro")
    gt = scenes.street_grid().labels
    cm = metrics.confusion_matrix(metrics.swap(gt, 2, 0), gt, 6)
    iou = metrics.iou_per_class(cm)
    assert iou[0] == 0 and iou[2] == 0  # predicted-only and true-only classes both count, with IoU 0
    assert _metric(at, T("mean_iou")) == lessons.localize_numbers(f"{4 / 6:.3f}", "ro")


@pytest.mark.parametrize("slug", ["cv_tasks", "classification_recap", "pixelwise_classification", "full_resolution",
                                  "segmentation_metrics"])
def test_presentation_mode(slug):
    at = run_page(slug, "en", {"presentation": True, "pw_view": "3d", "cvt_all": True})
    _ok(at, slug, "en")


@pytest.mark.parametrize("slug, make", [
    ("cv_tasks", scenes.task_questions),
    ("classification_recap", cls.recap_questions),
    ("pixelwise_classification", pixelwise.pixelwise_questions),
    ("full_resolution", cost.cost_questions),
    ("segmentation_metrics", metrics.metrics_questions),
])
def test_quiz_questions_have_words_and_right_answers(slug, make):
    import random

    from core.quiz import is_correct

    for seed in range(12):
        for q in make(random.Random(seed)):
            assert is_correct(q, q.answer)
            for lang in LANGS:
                T = lessons.texts(slug, lang)
                words = T.quiz(q.key)
                assert lessons.fill(words["prompt"], lang, **q.params) and lessons.fill(words["solution"], lang, answer=q.answer, **q.params)
                for choice in q.choices:
                    assert T(choice)


def test_quiz_answers_by_hand():
    import random

    qs = {q.key: q for seed in range(40) for q in metrics.metrics_questions(random.Random(seed))}
    q = qs["iou"]
    assert q.answer == pytest.approx(q.params["tp"] / (q.params["tp"] + q.params["fp"] + q.params["fn"]), abs=1e-4)
    q = qs["miou_missed"]
    assert q.answer == pytest.approx(q.params["big"] / 200, abs=1e-4)
    q = next(q for seed in range(5) for q in cost.cost_questions(random.Random(seed)) if q.key == "conv_macs")
    p = q.params
    assert q.answer == pytest.approx(9 * p["c_in"] * p["c_out"] * p["side"] ** 2 / 1e6, rel=1e-3)
