"""core.analysis: confidence, entropy, areas, agreement and the exports, checked against torch and by hand."""
import csv
import io
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from core import analysis, metrics
from core.zoo.semantic import voc_palette


def _probs(logits: np.ndarray) -> np.ndarray:
    return torch.as_tensor(logits).softmax(0).numpy()


def test_entropy_and_confidence_agree_with_torch():
    rng = np.random.default_rng(0)
    p = _probs(rng.normal(0, 2, (5, 7, 9)).astype(np.float32))  # (C, H, W)
    ours = analysis.entropy(p)
    theirs = torch.distributions.Categorical(probs=torch.as_tensor(p).permute(1, 2, 0)).entropy() / math.log(5)
    assert np.allclose(ours, theirs.numpy(), atol=1e-5)
    assert np.allclose(analysis.confidence(p), p.max(0))
    assert np.allclose(analysis.entropy(p, normalised=False), theirs.numpy() * math.log(5), atol=1e-5)


def test_entropy_limits():
    uniform = np.full((4, 2, 3), 0.25, np.float32)
    sure = np.zeros((4, 2, 3), np.float32)
    sure[2] = 1
    assert np.allclose(analysis.entropy(uniform), 1.0)
    assert np.allclose(analysis.entropy(sure), 0.0, atol=1e-6)
    assert np.allclose(analysis.confidence(uniform), 0.25)


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 8), st.integers(1, 6), st.integers(1, 6), st.integers(0, 10_000))
def test_maps_stay_in_range(c, h, w, seed):
    p = _probs(np.random.default_rng(seed).normal(0, 3, (c, h, w)).astype(np.float32))
    e = analysis.entropy(p)
    assert e.shape == (h, w) and (e >= 0).all() and (e <= 1 + 1e-5).all()
    assert (analysis.confidence(p) >= 1 / c - 1e-6).all()


def test_class_areas_and_csv():
    mask = np.array([[0, 0, 2], [2, 2, 2]])
    areas = analysis.class_areas(mask, ["bg", "cat", "dog"])
    assert [(a.index, a.name, a.pixels) for a in areas] == [(2, "dog", 4), (0, "bg", 2)]
    assert sum(a.share for a in areas) == pytest.approx(1.0)
    rows = list(csv.DictReader(io.StringIO(analysis.areas_csv(mask, ["bg", "cat", "dog"]))))
    assert rows[0] == {"class_index": "2", "class": "dog", "pixels": "4", "share": f"{4 / 6:.6f}"}
    assert len(rows) == 2  # absent classes are not listed


def test_pixel_distribution_order_and_bounds():
    p = np.zeros((3, 2, 2), np.float32)
    p[:, 1, 0] = [0.2, 0.5, 0.3]
    assert analysis.pixel_distribution(p, x=0, y=1) == [(1, 0.5), (2, pytest.approx(0.3)), (0, pytest.approx(0.2))]
    assert len(analysis.pixel_distribution(p, 0, 1, top=2)) == 2
    with pytest.raises(ValueError, match="outside"):
        analysis.pixel_distribution(p, x=2, y=0)


def test_agreement_matches_metrics_iou():
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 3, (20, 30)), rng.integers(0, 3, (20, 30))
    names = ["background", "person", "dog"]
    agree = analysis.agreement(a, names, b, names)
    cm = metrics.confusion_matrix(torch.as_tensor(b), torch.as_tensor(a), 3)  # b plays the ground truth
    iou = metrics.iou_per_class(cm)
    assert [agree.iou[n] for n in names] == pytest.approx([float(v) for v in iou])
    assert agree.mean_iou == pytest.approx(float(np.mean([float(v) for v in iou])))
    assert agree.pixel_agreement == pytest.approx((a == b).mean())
    assert analysis.agreement(a, names, a, names).mean_iou == 1.0


def test_agreement_across_label_sets_matches_names():
    voc = ["__background__", "cat", "person"]
    street = ["background", "person", "sidewalk"]
    a = np.array([[0, 2, 2, 1]])  # background, person, person, cat
    b = np.array([[0, 1, 2, 1]])  # background, person, sidewalk, person
    agree = analysis.agreement(a, voc, b, street)
    assert agree.shared == ("__background__", "person")
    assert agree.iou == {"__background__": 1.0, "person": pytest.approx(1 / 3)}
    assert agree.pixel_agreement == pytest.approx(0.5)
    assert agree.disagree.tolist() == [[False, False, True, True]]
    with pytest.raises(ValueError, match="differ in size"):
        analysis.agreement(a, voc, b[:, :2], street)


def test_mask_png_keeps_class_numbers_and_palette():
    mask = np.array([[0, 15], [3, 15]])
    data = analysis.mask_png(mask, voc_palette())
    img = Image.open(io.BytesIO(data))
    assert img.mode == "P"
    assert np.array_equal(np.asarray(img), mask)
    assert tuple(np.asarray(img.convert("RGB"))[0, 1]) == (192, 128, 128)  # VOC's person colour
    assert Image.open(io.BytesIO(analysis.png_bytes(np.zeros((3, 4, 3), np.uint8)))).size == (4, 3)


def test_voc_palette_and_colormap():
    pal = voc_palette()
    assert pal.shape == (21, 3) and tuple(pal[0]) == (0, 0, 0) and tuple(pal[1]) == (128, 0, 0)
    assert len({tuple(c) for c in pal}) == 21
    rgb = analysis.colormap(np.array([[0.0, 1.0, 2.0]]), 0, 1)
    assert tuple(rgb[0, 0]) == (68, 1, 84) and tuple(rgb[0, 1]) == (253, 231, 37) == tuple(rgb[0, 2])
