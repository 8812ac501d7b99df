"""Keypoint heatmaps: encode, decode back, and how the decoding error depends on the method."""
import numpy as np
import pytest
import torch

from core.heatmaps import decode, encode, mse_loss


def test_peak_sits_on_the_keypoint():
    heat, w = encode([[32.0, 16.0, 1]], (32, 24), stride=4, sigma=2)
    assert heat.shape == (1, 32, 24) and w.tolist() == [1.0]
    assert heat[0, 4, 8] == pytest.approx(1.0)  # (x=32, y=16) / 4 = cell (row 4, col 8)
    assert heat[0, 4, 10] == pytest.approx(np.exp(-4 / 8), rel=1e-5)


def test_invisible_and_far_outside_joints_are_zero_with_zero_weight():
    heat, w = encode([[10, 10, 0], [-100, 5, 1], [10, 10, 2]], (16, 16), stride=4, sigma=1.5)
    assert w.tolist() == [0.0, 0.0, 1.0]
    assert heat[0].sum() == 0 and heat[1].sum() == 0 and heat[2].max() > 0.5


@pytest.mark.parametrize("method", ["argmax", "subpixel", "quarter"])
def test_round_trip_error_is_within_bounds(method):
    rng = np.random.default_rng(0)
    stride = 4
    kp = np.c_[rng.uniform(8, 88, 50), rng.uniform(8, 120, 50)]
    heat, _ = encode(kp, (32, 24), stride=stride, sigma=2)
    coords, conf = decode(heat, stride, method)
    err = np.abs(coords.numpy() - kp)
    bound = {"argmax": stride / 2, "quarter": stride / 2, "subpixel": 1e-2}[method]
    assert err.max() <= bound + 1e-4
    assert (conf > 0.6).all()


def test_subpixel_beats_argmax_on_average():
    rng = np.random.default_rng(1)
    for stride in (2, 4, 8):
        kp = np.c_[rng.uniform(stride * 2, stride * 20, 200), rng.uniform(stride * 2, stride * 20, 200)]
        heat, _ = encode(kp, (24, 24), stride=stride, sigma=2)
        errors = {m: np.linalg.norm(decode(heat, stride, m)[0].numpy() - kp, axis=1).mean()
                  for m in ("argmax", "quarter", "subpixel")}
        assert errors["subpixel"] < errors["quarter"] < errors["argmax"]


def test_subpixel_survives_noise_and_batches():
    torch.manual_seed(0)
    kp = np.array([[30.3, 41.7], [50.9, 12.2]])
    heat, _ = encode(kp, (32, 24), stride=4, sigma=2)
    noisy = (heat + 0.01 * torch.randn_like(heat)).clamp(min=0)
    batch = torch.stack([noisy, noisy])  # (N, K, H, W)
    coords, conf = decode(batch, 4, "subpixel")
    assert coords.shape == (2, 2, 2) and conf.shape == (2, 2)
    assert np.abs(coords[0].numpy() - kp).max() < 1.0


def test_bad_arguments_are_refused_with_a_sentence():
    with pytest.raises(ValueError, match="valid methods"):
        decode(torch.zeros(1, 4, 4), 4, "mean")
    with pytest.raises(ValueError, match="shaped"):
        encode([1, 2], (4, 4), 4)
    with pytest.raises(ValueError, match="positive"):
        encode([[1, 2]], (4, 4), 0)


def test_mse_loss_ignores_weightless_joints():
    target, w = encode([[8, 8, 1], [8, 8, 0]], (8, 8), stride=2, sigma=1)
    pred = target.clone()
    pred[1] += 5  # wrong, but the joint is not visible
    assert mse_loss(pred, target, w) == 0
    assert mse_loss(pred, target) > 0


@pytest.mark.parametrize("method", ["subpixel", "quarter"])
def test_a_top_on_the_border_is_not_pushed_outwards(method):
    # x = 122.2 px at stride 4 is cell 30.55: the top is the last column (31), the true point lies inwards.
    kp = np.array([[122.2, 40.0], [1.5, 40.0]])
    heat, _ = encode(kp, (32, 32), stride=4, sigma=2)
    refined, _ = decode(heat, 4, method)
    coarse, _ = decode(heat, 4, "argmax")
    assert (np.abs(refined.numpy() - kp) <= np.abs(coarse.numpy() - kp) + 1e-4).all()
