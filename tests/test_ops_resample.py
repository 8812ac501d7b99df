"""Nearest neighbour, bed of nails, bilinear interpolation and its taps, against torch and the lecture."""
import math
import random

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from core.ops import (
    bed_of_nails,
    bilinear_kernel,
    bilinear_taps,
    bilinear_upsample,
    nearest_upsample,
)
from core.ops import resample as R
from core.quiz import is_correct

LECTURE = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
FAST = settings(max_examples=50, deadline=None)


def _same_or_both_refuse(ours, theirs):
    """Both calls succeed and agree, or both raise."""
    try:
        expected = theirs()
    except (RuntimeError, ValueError, TypeError):
        with pytest.raises((ValueError, TypeError)):
            ours()
        return None, None
    return ours(), expected


# --- the lecture's slides, literally ------------------------------------------------------------------

def test_nearest_lecture_example():
    assert nearest_upsample(LECTURE, 2).tolist() == [
        [1, 1, 2, 2],
        [1, 1, 2, 2],
        [3, 3, 4, 4],
        [3, 3, 4, 4],
    ]


def test_bed_of_nails_lecture_example():
    assert bed_of_nails(LECTURE, 2).tolist() == [
        [1, 0, 2, 0],
        [0, 0, 0, 0],
        [3, 0, 4, 0],
        [0, 0, 0, 0],
    ]


def test_bilinear_lecture_example_by_hand():
    # align_corners=False: output 1 samples u = (1 + 0.5)·2/4 − 0.5 = 0.25 → 0.75·x0 + 0.25·x1
    out = bilinear_upsample(LECTURE[None, None], 4)[0, 0]
    assert out[0].tolist() == [1.0, 1.25, 1.75, 2.0]
    assert out[:, 0].tolist() == [1.0, 1.5, 2.5, 3.0]
    corners = bilinear_upsample(LECTURE[None, None], 4, align_corners=True)[0, 0]
    assert torch.allclose(corners[0], torch.tensor([1.0, 4 / 3, 5 / 3, 2.0]))


# --- torch agreement on random shapes -----------------------------------------------------------------

@FAST
@given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(1, 7), w=st.integers(1, 7),
       scale=st.one_of(st.integers(1, 4), st.floats(0.3, 4.5), st.tuples(st.integers(1, 4), st.integers(1, 4))),
       seed=st.integers(0, 2**16))
def test_nearest_matches_torch(n, c, h, w, scale, seed):
    x = torch.randn(n, c, h, w, generator=torch.Generator().manual_seed(seed))
    ours, theirs = _same_or_both_refuse(lambda: nearest_upsample(x, scale),
                                         lambda: F.interpolate(x, scale_factor=scale, mode="nearest"))
    if ours is not None:
        assert torch.equal(ours, theirs)


@FAST
@given(h=st.integers(1, 6), w=st.integers(1, 6), sh=st.integers(1, 4), sw=st.integers(1, 4))
def test_bed_of_nails_places_values_and_zeros(h, w, sh, sw):
    x = torch.rand(2, 3, h, w) + 1  # strictly positive: every zero in the output is a hole
    y = bed_of_nails(x, (sh, sw))
    assert y.shape == (2, 3, h * sh, w * sw)
    assert torch.equal(y[..., ::sh, ::sw], x)
    assert int((y != 0).sum()) == x.numel()
    # the same as a transposed convolution with a one-hot s×s kernel
    nail = torch.zeros(1, 1, sh, sw)
    nail[0, 0, 0, 0] = 1
    via_torch = F.conv_transpose2d(x.reshape(6, 1, h, w), nail, stride=(sh, sw)).reshape(2, 3, h * sh, w * sw)
    assert torch.equal(y, via_torch)


def test_bed_of_nails_refuses_fractional_scale():
    with pytest.raises(ValueError, match="whole-number"):
        bed_of_nails(LECTURE, 1.5)
    with pytest.raises(ValueError, match="positive"):
        bed_of_nails(LECTURE, 0)


@FAST
@given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(1, 6), w=st.integers(1, 6),
       size=st.one_of(st.integers(0, 13), st.tuples(st.integers(1, 13), st.integers(1, 13))),
       ac=st.booleans(), double=st.booleans(), seed=st.integers(0, 2**16))
def test_bilinear_matches_torch(n, c, h, w, size, ac, double, seed):
    dtype = torch.float64 if double else torch.float32
    x = torch.randn(n, c, h, w, generator=torch.Generator().manual_seed(seed), dtype=dtype)
    ours, theirs = _same_or_both_refuse(
        lambda: bilinear_upsample(x, size, align_corners=ac),
        lambda: F.interpolate(x, size=size, mode="bilinear", align_corners=ac))
    if ours is not None:
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
        assert torch.allclose(ours, theirs, atol=1e-5 if not double else 1e-12)


@FAST
@given(hi=st.integers(1, 6), wi=st.integers(1, 6), ho=st.integers(1, 12), wo=st.integers(1, 12),
       ac=st.booleans(), seed=st.integers(0, 2**16))
def test_taps_sum_to_one_and_reproduce_the_output(hi, wi, ho, wo, ac, seed):
    x = torch.randn(hi, wi, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    rows, cols, weights = bilinear_taps((hi, wi), (ho, wo), align_corners=ac)
    assert rows.shape == cols.shape == weights.shape == (ho, wo, 4)
    assert torch.allclose(weights.sum(-1), torch.ones(ho, wo, dtype=torch.float64))
    assert bool((weights >= 0).all())
    assert int(rows.min()) >= 0 and int(rows.max()) < hi and int(cols.min()) >= 0 and int(cols.max()) < wi
    via_taps = (weights * x[rows, cols]).sum(-1)
    expected = F.interpolate(x[None, None], size=(ho, wo), mode="bilinear", align_corners=ac)[0, 0]
    assert torch.allclose(via_taps, expected, atol=1e-12)


def test_source_coordinate_formulas():
    # align_corners=False: (i + 0.5)·in/out − 0.5, clamped at 0
    assert R.source_coordinate(0, 2, 4) == 0.0  # −0.25 clamped
    assert R.source_coordinate(3, 2, 4) == 1.25
    # align_corners=True: i·(in − 1)/(out − 1)
    assert R.source_coordinate(3, 2, 4, align_corners=True) == 1.0
    assert R.source_coordinate(0, 5, 1, align_corners=True) == 0.0


def test_bilinear_step_shows_the_arithmetic():
    step = R.bilinear_step(LECTURE, (4, 4), (1, 2))
    assert step.u == (0.25, 0.75)
    assert step.taps == ((0, 0), (0, 1), (1, 0), (1, 1))
    assert step.weights == (0.75 * 0.25, 0.75 * 0.75, 0.25 * 0.25, 0.25 * 0.75)
    assert step.values == (1.0, 2.0, 3.0, 4.0)
    assert step.result == pytest.approx(float(bilinear_upsample(LECTURE, 4)[1, 2]))
    trace = R.bilinear_trace(LECTURE, 4, align_corners=True)
    assert len(trace) == 16 and trace[-1].result == 4.0
    with pytest.raises(ValueError, match="outside"):
        R.bilinear_step(LECTURE, 4, (4, 0))


def test_nearest_trace_marks_the_nails():
    steps = R.nearest_trace(LECTURE, 3)
    assert len(steps) == 36
    assert [s.out for s in steps if s.nail] == [(0, 0), (0, 3), (3, 0), (3, 3)]
    assert steps[7].out == (1, 1) and steps[7].src == (0, 0) and steps[7].value == 1.0


# --- the bilinear kernel of FCN -----------------------------------------------------------------------

def test_bilinear_kernel_values():
    assert bilinear_kernel(4)[0].tolist() == [0.0625, 0.1875, 0.1875, 0.0625]
    assert bilinear_kernel(3).tolist() == [[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]]
    assert bilinear_kernel(1).tolist() == [[1.0]]


@pytest.mark.parametrize("scale", [1, 2, 3, 4, 5, 8])
def test_bilinear_transposed_conv_equals_interpolation_inside(scale):
    x = torch.randn(1, 2, 6, 5, dtype=torch.float64)
    weight, stride, padding = R.bilinear_upsample_weight(2, scale)
    up = F.conv_transpose2d(x, weight, stride=stride, padding=padding)
    assert up.shape == (1, 2, 6 * scale, 5 * scale)
    ref = F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False)
    m = math.ceil(scale / 2)  # the border where kernel copies run off the image
    assert torch.allclose(up[..., m:-m or None, m:-m or None], ref[..., m:-m or None, m:-m or None], atol=1e-12)


# --- check yourself -------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(20))
def test_questions_have_consistent_answers(seed):
    rng = random.Random(seed)
    for q in R.nearest_questions(rng) + R.bilinear_questions(rng):
        assert is_correct(q, q.answer)
        assert "answer" not in q.params  # the quiz block passes the answer itself
    q = R.nearest_questions(random.Random(seed))[0]
    grid, s, i, j = parse_grid_block(q.params["grid"]), q.params["s"], q.params["i"], q.params["j"]
    assert q.answer == grid[i // s][j // s]


def parse_grid_block(block: str) -> list[list[float]]:
    """The numbers of a quiz grid (a fenced block of rows) back as a list of rows."""
    lines = block.strip().strip("`").strip().splitlines()
    return [[float(t) for t in line.split()] for line in lines]


def test_grid_block_round_trip():
    assert parse_grid_block(R.grid_block([[1, 12], [3.5, 4]])) == [[1, 12], [3.5, 4]]
    assert R.grid_block([[1, 12], [3, 4]]) == "```\n 1  12\n 3   4\n```"


# --- compare all ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("pattern", ["scene", "rings", "blobs"])
def test_synthetic_images(pattern):
    from core.ops.compare import IMAGE_SIZE, synthetic_image

    img = synthetic_image(pattern)
    assert img.shape == (3, *IMAGE_SIZE) and img.dtype == torch.float32
    assert float(img.min()) >= 0 and float(img.max()) <= 1 and float(img.std()) > 0.05
    with pytest.raises(ValueError, match="valid patterns"):
        synthetic_image("noise")


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("how", ["average", "max"])
def test_compare_all_methods(scale, how):
    from core.ops.compare import METHODS, compare_upsampling, synthetic_image

    cmp = compare_upsampling(synthetic_image("scene"), scale, how)
    assert [r.method for r in cmp.results] == list(METHODS)
    by = {r.method: r for r in cmp.results}
    for r in cmp.results:
        assert r.image.shape == cmp.truth.shape and r.torch_delta < 1e-5
        assert 0 <= r.mae <= r.rmse and r.psnr == pytest.approx(-20 * math.log10(r.rmse))
    # the bilinear transposed convolution is bilinear interpolation except in a border ⌈s/2⌉ wide
    m = math.ceil(scale / 2)
    inner = (by["transposed"].image - by["bilinear"].image)[:, m:-m, m:-m]
    assert float(inner.abs().max()) < 1e-5
    # max unpooling puts each small value at its block's maximum: with max pooling, those pixels are exact
    unpooled = by["max_unpool"].image.flatten(1)
    idx = cmp.indices.flatten(1)
    assert torch.equal(unpooled.gather(1, idx), cmp.low.flatten(1))
    if how == "max":
        assert torch.equal(unpooled.gather(1, idx), cmp.truth.flatten(1).gather(1, idx))
    assert int((by["bed_of_nails"].image != 0).sum()) <= cmp.low.numel()
    # smooth images: interpolation beats copying
    blobs = {r.method: r for r in compare_upsampling(synthetic_image("blobs"), scale, "average").results}
    assert blobs["bilinear"].psnr > blobs["nearest"].psnr > blobs["bed_of_nails"].psnr


def test_compare_refuses_with_sentences():
    from core.ops.compare import compare_upsampling, synthetic_image

    with pytest.raises(ValueError, match="smaller than one"):
        compare_upsampling(synthetic_image("blobs", (6, 6)), 8)
    with pytest.raises(ValueError, match="valid ones"):
        compare_upsampling(synthetic_image("blobs", (8, 8)), 2, "median")


@pytest.mark.parametrize("seed", range(10))
def test_compare_questions(seed):
    from core.ops.compare import compare_questions

    qs = compare_questions(random.Random(seed))
    assert all(is_correct(q, q.params["ans"]) for q in qs)
    kernel = qs[2]
    s = kernel.params["s"]
    assert R.bilinear_upsample_weight(1, s)[0].shape[-1] == kernel.answer
