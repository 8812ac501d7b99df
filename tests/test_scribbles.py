"""Scribble segmentation: a few painted strokes are enough to label a simple image."""
import numpy as np
import pytest

from core.training.scribbles import (
    IGNORE_INDEX,
    ScribbleNet,
    fit,
    predict,
    rasterize,
    with_coordinates,
)


def _two_regions(h=48, w=64):
    rng = np.random.default_rng(0)
    image = np.zeros((h, w, 3), np.uint8)
    image[:, : w // 2] = (200, 40, 40)
    image[:, w // 2 :] = (40, 60, 200)
    noisy = image.astype(int) + rng.integers(-25, 25, image.shape)
    truth = np.zeros((h, w), np.int64)
    truth[:, w // 2 :] = 1
    return np.clip(noisy, 0, 255).astype(np.uint8), truth


def test_a_few_strokes_label_the_whole_image():
    image, truth = _two_regions()
    strokes = [{"label": 0, "width": 3, "points": [[5, 10], [20, 30]]},
               {"label": 1, "width": 3, "points": [[45, 8], [58, 40]]}]
    labels = rasterize(strokes, truth.shape)
    assert (labels != IGNORE_INDEX).mean() < 0.1  # under a tenth of the pixels are painted
    items = list(fit(image, labels, num_classes=2, steps=60))
    assert items[-1]["loss"] < items[0]["loss"]
    pred, conf = predict(items[-1]["model"], image)
    assert (pred == truth).mean() > 0.95 and conf.shape == truth.shape


def test_continuing_training_reuses_the_model():
    image, truth = _two_regions(32, 32)
    labels = rasterize([{"label": 0, "width": 3, "points": [[3, 3]]}, {"label": 1, "width": 3, "points": [[28, 28]]}],
                       truth.shape)
    first = list(fit(image, labels, 2, steps=5))[-1]["model"]
    again = list(fit(image, labels, 2, steps=5, model=first))[-1]["model"]
    assert again is first


@pytest.mark.parametrize("strokes,words", [
    ([], "Nothing is painted"),
    ([{"label": 1, "width": 3, "points": [[3, 3]]}], "at least two"),
    ([{"label": 0, "width": 3, "points": [[3, 3]]}, {"label": 4, "width": 3, "points": [[9, 9]]}], "only 2 classes"),
])
def test_unusable_strokes_get_a_sentence(strokes, words):
    image, truth = _two_regions(16, 16)
    with pytest.raises(ValueError, match=words):
        next(fit(image, rasterize(strokes, truth.shape), num_classes=2))


def test_coordinates_and_shapes():
    import torch

    x = with_coordinates(torch.zeros(2, 3, 5, 7))
    assert x.shape == (2, 5, 5, 7) and x[0, 3, 0, 0] == -1 and x[0, 4, 0, -1] == 1
    assert ScribbleNet(3)(x).shape == (2, 3, 5, 7)
