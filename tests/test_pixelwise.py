"""Per-pixel softmax and cross-entropy on a C x H x W volume, against torch's own ops."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from core import pixelwise
from core.data.scenes import street_grid


@pytest.fixture(scope="module")
def grid():
    return street_grid().labels


def test_one_hot_volume(grid):
    y = pixelwise.one_hot_volume(grid, 6)
    assert y.shape == (6, 13, 23)
    assert torch.equal(y, F.one_hot(torch.from_numpy(grid), 6).permute(2, 0, 1).float())
    assert torch.equal(y.sum(dim=0), torch.ones(13, 23))  # exactly one 1 along C at every pixel
    assert torch.equal(y.argmax(dim=0), torch.from_numpy(grid))
    with pytest.raises(ValueError):
        pixelwise.one_hot_volume(grid, 5)  # class 5 does not fit in 5 classes


def test_synthetic_logits_are_reproducible(grid):
    a = pixelwise.synthetic_logits(grid, 6, margin=3, noise=1, seed=4)
    b = pixelwise.synthetic_logits(grid, 6, margin=3, noise=1, seed=4)
    assert a.shape == (6, 13, 23) and torch.equal(a, b)
    clean = pixelwise.synthetic_logits(grid, 6, margin=3, noise=0)
    assert torch.equal(clean.argmax(dim=0), torch.from_numpy(grid))
    with pytest.raises(ValueError):
        pixelwise.synthetic_logits(grid, 6, noise=-1)


@settings(max_examples=40, deadline=None)
@given(temperature=st.floats(0.05, 20), noise=st.floats(0, 8), margin=st.floats(-5, 10), seed=st.integers(0, 99))
@pytest.mark.slow
def test_matches_torch(temperature, noise, margin, seed):
    labels = street_grid().labels
    z = pixelwise.synthetic_logits(labels, 6, margin=margin, noise=noise, seed=seed)
    p = pixelwise.pixel_softmax(z, temperature)
    assert torch.allclose(p, pixelwise.torch_pixel_softmax(z, temperature), atol=1e-6)
    assert torch.allclose(p.sum(dim=0), torch.ones(13, 23), atol=1e-5)
    loss = pixelwise.pixel_cross_entropy(z, labels, temperature)
    theirs = pixelwise.torch_pixel_cross_entropy(z, labels, temperature)
    assert torch.allclose(loss, theirs, atol=1e-4, rtol=1e-5)
    # the mean of the loss map is torch's default reduction
    assert torch.allclose(loss.mean(), F.cross_entropy(z[None] / temperature, torch.from_numpy(labels)[None]),
                          atol=1e-4)
    # the loss is also -sum_c Y_c log p_c with the one-hot volume
    y = pixelwise.one_hot_volume(labels, 6)
    assert torch.allclose(loss, -(y * pixelwise.pixel_log_softmax(z, temperature)).sum(dim=0), atol=1e-5)


def test_temperature_never_changes_the_argmax(grid):
    z = pixelwise.synthetic_logits(grid, 6, noise=2.0, seed=1)
    ref = pixelwise.pixel_softmax(z, 1.0).argmax(dim=0)
    for t in (0.1, 0.5, 3.0, 10.0):
        assert torch.equal(pixelwise.pixel_softmax(z, t).argmax(dim=0), ref)
    with pytest.raises(ValueError):
        pixelwise.pixel_softmax(z, 0.0)


def test_extreme_logits_stay_finite(grid):
    z = pixelwise.synthetic_logits(grid, 6, margin=-500, noise=0.0)  # the true class is very unlikely
    loss = pixelwise.pixel_cross_entropy(z, grid, 0.05)
    assert torch.isfinite(loss).all()
    assert torch.allclose(loss, pixelwise.torch_pixel_cross_entropy(z, grid, 0.05), rtol=1e-5)


def test_pixel_report(grid):
    z = pixelwise.synthetic_logits(grid, 6, noise=1.5, seed=2)
    r = pixelwise.pixel_report(z, grid, 11, 4, temperature=0.7)
    assert r.label == 2  # the lecture's purse
    assert sum(r.probs) == pytest.approx(1.0)
    assert r.argmax == int(np.argmax(r.probs))
    assert r.loss == pytest.approx(float(pixelwise.pixel_cross_entropy(z, grid, 0.7)[11, 4]), rel=1e-5)
    assert r.probs == pytest.approx(pixelwise.pixel_softmax(z, 0.7)[:, 11, 4].tolist(), rel=1e-5)
    with pytest.raises(ValueError, match="outside"):
        pixelwise.pixel_report(z, grid, 13, 0)
