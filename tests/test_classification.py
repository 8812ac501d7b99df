"""Classification recap: one-hot, softmax, cross-entropy against torch; flatten vs GAP heads."""
import pytest
import torch
import torch.nn.functional as F

from core import classification as cls


def test_one_hot_and_softmax_match_torch():
    labels = torch.tensor([2, 0, 1])
    assert torch.equal(cls.one_hot(labels, 4), F.one_hot(labels, 4).float())
    z = torch.tensor([[2.0, 1.0, 0.1, -3.0], [500.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    assert torch.allclose(cls.softmax(z), torch.softmax(z, dim=-1))
    with pytest.raises(ValueError):
        cls.one_hot([4], 4)


def test_cross_entropy_matches_torch_with_hard_and_soft_targets():
    z = torch.tensor([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]])
    hard = cls.one_hot([0, 2], 3)
    assert torch.allclose(cls.cross_entropy(z, hard), F.cross_entropy(z, torch.tensor([0, 2]), reduction="none"))
    soft = torch.tensor([[0.7, 0.2, 0.1], [0.0, 0.5, 0.5]])
    assert torch.allclose(cls.cross_entropy(z, soft), cls.torch_cross_entropy(z, soft))
    # by hand: -log softmax([2, 1, 0.1])[0]
    p0 = torch.exp(torch.tensor(2.0)) / torch.exp(torch.tensor([2.0, 1.0, 0.1])).sum()
    assert cls.cross_entropy(z, hard)[0] == pytest.approx(float(-torch.log(p0)))


@pytest.mark.parametrize("size, side", [(224, 7), (32, 1), (33, 2), (512, 16), (1000, 32)])
def test_feature_size_matches_real_convolutions(size, side):
    assert cls.feature_size(size, 32) == side
    model = cls.TinyClassifier("gap", built_for=224)
    assert model.backbone(torch.zeros(1, 3, size, size)).shape[-1] == side
    with pytest.raises(ValueError):
        cls.feature_size(224, 24)


def test_head_parameters():
    # VGG-like: 512 channels, 7x7 at 224, 1000 classes
    assert cls.head_parameters("flatten", 512, 224, 1000) == 512 * 7 * 7 * 1000 + 1000
    assert cls.head_parameters("gap", 512, 224, 1000) == 512 * 1000 + 1000
    assert cls.head_parameters("gap", 512, 1024, 1000) == cls.head_parameters("gap", 512, 224, 1000)
    # a huge head is counted without allocating it (meta device)
    assert cls.head_parameters("flatten", 2048, 2048, 1000) == 2048 * 64 * 64 * 1000 + 1000
    with pytest.raises(ValueError, match="valid heads"):
        cls.head_parameters("attention", 8, 32, 2)


def test_flatten_head_breaks_on_another_size_gap_does_not():
    flat = cls.TinyClassifier("flatten", num_classes=5, built_for=224)
    gap = cls.TinyClassifier("gap", num_classes=5, built_for=224)
    assert cls.try_forward(flat, 224, 224) == ((1, 5), None)
    shape, err = cls.try_forward(flat, 320, 256)
    assert shape is None and "shape" in err
    for h, w in [(224, 224), (320, 256), (64, 96)]:
        assert cls.try_forward(gap, h, w) == ((1, 5), None)
