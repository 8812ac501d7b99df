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


def _measured_window(model, size=81):
    """The rows and columns of the input that reach the centre output pixel, measured with autograd.

    Every weight is a positive constant and the input is all ones, so no contribution cancels and no ReLU
    is off: the input gradient is non-zero exactly on the pixels the centre pixel depends on."""
    import torch

    model = model.eval()  # batch statistics would make every pixel depend on every other one
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(0.05)
    x = torch.ones(1, 5, size, size, requires_grad=True)
    model(x)[0, 0, size // 2, size // 2].backward()
    reached = x.grad[0].abs().sum(0) > 0  # (size, size)
    rows, cols = reached.any(1).nonzero().flatten(), reached.any(0).nonzero().flatten()
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1), int(reached.sum())


def test_receptive_field_is_traced_from_the_layers_and_matches_the_gradient():
    from core.training.scribbles import DILATIONS, receptive_field

    height, width, count = _measured_window(ScribbleNet(2, width=4))
    assert receptive_field() == height == width == 33
    assert count == 33 * 33  # a full square: dilation 1 at both ends leaves no holes
    assert receptive_field(ScribbleNet(3)) == receptive_field()  # the width of the layers does not matter
    assert receptive_field() == 1 + sum(2 * d for d in DILATIONS)  # each 3×3 layer adds 2 × its dilation
