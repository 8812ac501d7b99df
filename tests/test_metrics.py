"""core.metrics against cases computed by hand, then properties on random label maps."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from core import metrics

# A 2 x 3 case worked on paper. Class 3 never appears where it counts (only under the ignored pixel),
# so it is "absent from both" and left out of the means.
TARGET = [[0, 0, 1],
          [1, 2, 255]]
PRED = [[0, 1, 1],
        [1, 1, 3]]
# (true, pred) pairs that count: (0,0) (0,1) (1,1) (1,1) (2,1)
CM = [[1, 1, 0, 0],
      [0, 2, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 0, 0]]


def test_confusion_matrix_by_hand():
    cm = metrics.confusion_matrix(PRED, TARGET, num_classes=4, ignore_index=255)
    assert cm.dtype == torch.int64
    assert cm.tolist() == CM  # rows: true class, columns: predicted class


def test_scores_by_hand():
    cm = torch.tensor(CM)
    assert metrics.pixel_accuracy(cm) == pytest.approx(3 / 5)
    iou = metrics.iou_per_class(cm)
    # class 0: TP 1, true area 2, predicted area 1 -> 1 / (2 + 1 - 1)
    # class 1: TP 2, true area 2, predicted area 4 -> 2 / (2 + 4 - 2)
    # class 2: TP 0, true area 1, predicted area 0 -> 0 ; class 3: 0 / 0 -> NaN
    assert iou[:3].tolist() == pytest.approx([0.5, 0.5, 0.0])
    assert math.isnan(iou[3])
    assert metrics.mean_iou(cm) == pytest.approx(1 / 3)  # the absent class 3 does not count
    dice = metrics.dice_per_class(cm)
    assert dice[:3].tolist() == pytest.approx([2 / 3, 2 / 3, 0.0])
    assert math.isnan(dice[3])
    assert metrics.mean_dice(cm) == pytest.approx(4 / 9)
    assert metrics.class_accuracy(cm)[:3].tolist() == pytest.approx([0.5, 1.0, 0.0])
    counts = metrics.counts_per_class(cm)
    assert counts["tp"].tolist() == [1, 2, 0, 0]
    assert counts["fp"].tolist() == [0, 2, 0, 0]  # class 1 was predicted on a 0 pixel and on the 2 pixel
    assert counts["fn"].tolist() == [1, 0, 1, 0]


def test_ignored_pixels_do_not_count_whatever_is_predicted_there():
    base = metrics.confusion_matrix(PRED, TARGET, 4, ignore_index=255)
    other = np.array(PRED)
    other[1, 2] = 0  # change the prediction under the ignored pixel only
    assert torch.equal(metrics.confusion_matrix(other, TARGET, 4, ignore_index=255), base)
    other[1, 2] = 255  # even a value outside the classes is fine there
    assert torch.equal(metrics.confusion_matrix(other, TARGET, 4, ignore_index=255), base)


def test_class_present_only_in_prediction_counts_as_zero():
    target = [[0, 0], [0, 0]]
    pred = [[0, 0], [0, 1]]
    cm = metrics.confusion_matrix(pred, target, 3)
    iou = metrics.iou_per_class(cm)
    assert iou[0] == pytest.approx(3 / 4) and iou[1] == 0.0 and math.isnan(iou[2])
    assert metrics.mean_iou(cm) == pytest.approx((3 / 4 + 0) / 2)


def test_imbalance_accuracy_high_miou_low():
    target = np.zeros((10, 10), dtype=np.int64)
    target[0, 0] = 1  # one pixel of a rare class
    pred = np.zeros_like(target)  # the model never predicts it
    cm = metrics.confusion_matrix(pred, target, 2)
    assert metrics.pixel_accuracy(cm) == pytest.approx(0.99)
    assert metrics.mean_iou(cm) == pytest.approx((0.99 + 0.0) / 2)


def test_numpy_and_torch_inputs_agree_and_batches_work():
    rng = np.random.default_rng(0)
    t = rng.integers(0, 5, size=(2, 7, 9))
    p = rng.integers(0, 5, size=(2, 7, 9))
    a = metrics.confusion_matrix(p, t, 5)
    b = metrics.confusion_matrix(torch.from_numpy(p), torch.from_numpy(t), 5)
    assert torch.equal(a, b) and int(a.sum()) == t.size


def test_empty_and_all_ignored():
    cm = metrics.confusion_matrix([[255]], [[255]], 2, ignore_index=255)
    assert cm.sum() == 0
    assert math.isnan(metrics.pixel_accuracy(cm)) and math.isnan(metrics.mean_iou(cm))


@pytest.mark.parametrize(
    "pred, target, message",
    [
        ([[0, 1]], [[0, 1, 1]], "shape"),
        ([[0, 5]], [[0, 1]], "prediction contains label 5"),
        ([[0, 1]], [[0, -1]], "ground truth contains label -1"),
        (np.zeros((2, 2)), np.zeros((2, 2), dtype=int), "argmax"),
    ],
)
def test_bad_input_gets_a_sentence(pred, target, message):
    with pytest.raises(ValueError, match=message):
        metrics.confusion_matrix(pred, target, 3)


def test_summary_is_plain_numbers():
    s = metrics.summary(torch.tensor(CM))
    assert set(s) == {"pixel_accuracy", "mean_iou", "mean_dice", "iou", "dice", "class_accuracy"}
    assert isinstance(s["mean_iou"], float) and len(s["iou"]) == 4


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_runs_on_the_gpu():
    t = torch.randint(0, 4, (64, 64), device="cuda")
    p = torch.randint(0, 4, (64, 64), device="cuda")
    cm = metrics.confusion_matrix(p, t, 4)
    assert cm.device.type == "cuda"
    assert torch.equal(cm.cpu(), metrics.confusion_matrix(p.cpu(), t.cpu(), 4))


label_maps = st.integers(1, 6).flatmap(
    lambda c: st.tuples(
        st.just(c),
        st.lists(st.tuples(st.integers(0, c - 1), st.integers(-1, c - 1)), min_size=1, max_size=60),
    )
)


@settings(max_examples=50, deadline=None)
@given(label_maps)
def test_properties(case):
    c, pairs = case
    pred = torch.tensor([p for p, _ in pairs])
    target = torch.tensor([t for _, t in pairs])  # -1 plays the ignored label
    cm = metrics.confusion_matrix(pred, target, c, ignore_index=-1)
    assert int(cm.sum()) == int((target != -1).sum())
    assert torch.equal(cm, metrics.confusion_matrix_one_hot(pred, target, c, ignore_index=-1))
    iou, dice = metrics.iou_per_class(cm), metrics.dice_per_class(cm)
    present = ~torch.isnan(iou)
    assert torch.equal(present, ~torch.isnan(dice))
    assert ((iou[present] >= 0) & (iou[present] <= 1)).all()
    assert torch.allclose(dice[present], 2 * iou[present] / (1 + iou[present]))  # Dice = 2 IoU / (1 + IoU)
    perfect = metrics.confusion_matrix(target.clamp(min=0), target, c, ignore_index=-1)
    if perfect.sum():
        assert metrics.pixel_accuracy(perfect) == 1.0 and metrics.mean_iou(perfect) == 1.0


def test_largest_confusion_is_the_brightest_cell_off_the_diagonal():
    from core.metrics import largest_confusion

    # rows: true background, person, purse; a purse is mostly taken for background, not for a person
    cm = torch.tensor([[90, 8, 2], [5, 40, 5], [6, 1, 3]])
    true, pred, share = largest_confusion(cm)
    assert (true, pred) == (2, 0) and share == pytest.approx(6 / 10)
    normalised = cm / cm.sum(1, keepdim=True)
    off = normalised - torch.diag(normalised.diagonal())
    assert share == pytest.approx(float(off.max()))
    assert largest_confusion(torch.diag(torch.tensor([3, 4, 0]))) is None  # nothing confused, a class absent
