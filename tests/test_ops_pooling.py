"""Max pooling with indices and max unpooling, against torch and the lecture's example."""
import random

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from core.ops import max_pool2d_with_indices, max_unpool2d
from core.ops import pooling as P
from core.quiz import is_correct
from tests.test_ops_resample import parse_grid_block

LECTURE_IN = torch.tensor([[1.0, 2, 6, 3], [3, 5, 2, 1], [1, 2, 2, 1], [7, 3, 4, 8]])
FAST = settings(max_examples=50, deadline=None)


def test_lecture_example():
    pooled, idx = max_pool2d_with_indices(LECTURE_IN[None, None], 2)
    assert pooled[0, 0].tolist() == [[5, 6], [7, 8]]
    assert idx[0, 0].tolist() == [[5, 2], [12, 15]]  # (1,1), (0,2), (3,0), (3,3) as row·4 + col
    rest_of_network = torch.tensor([[1.0, 2], [3, 4]])[None, None]
    assert max_unpool2d(rest_of_network, idx, 2)[0, 0].tolist() == [
        [0, 0, 2, 0],
        [0, 1, 0, 0],
        [0, 0, 0, 0],
        [3, 0, 0, 4],
    ]


def _pool_args():
    return dict(
        n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(1, 8), w=st.integers(1, 8),
        k=st.one_of(st.integers(1, 4), st.tuples(st.integers(1, 3), st.integers(1, 3))),
        s=st.one_of(st.none(), st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))),
        levels=st.integers(2, 6), seed=st.integers(0, 2**16),
    )


@FAST
@given(**_pool_args())
def test_pool_matches_torch_ties_included(n, c, h, w, k, s, levels, seed):
    # few distinct values, so windows often hold several equal maxima
    x = torch.randint(0, levels, (n, c, h, w), generator=torch.Generator().manual_seed(seed)).float()
    try:
        expected = F.max_pool2d(x, k, s, return_indices=True)
    except RuntimeError:
        with pytest.raises(ValueError):
            max_pool2d_with_indices(x, k, s)
        return
    pooled, idx = max_pool2d_with_indices(x, k, s)
    assert torch.equal(pooled, expected[0]) and torch.equal(idx, expected[1])


def test_ties_keep_the_first_maximum_in_reading_order():
    x = torch.tensor([[[[1.0, 3], [3, 3]]]])
    assert max_pool2d_with_indices(x, 2)[1].item() == 1 == F.max_pool2d(x, 2, return_indices=True)[1].item()
    nan = float("nan")
    y = torch.tensor([[[[1.0, nan], [nan, 1]]]])  # torch's CPU kernel lets a later NaN win
    assert max_pool2d_with_indices(y, 2)[1].item() == F.max_pool2d(y, 2, return_indices=True)[1].item() == 2
    z = torch.full((1, 1, 2, 2), float("-inf"))
    assert max_pool2d_with_indices(z, 2)[1].item() == 0


@FAST
@given(**_pool_args(), grow=st.integers(-2, 2))
def test_unpool_matches_torch(n, c, h, w, k, s, levels, seed, grow):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, levels, (n, c, h, w), generator=g).float()
    try:
        _, idx = F.max_pool2d(x, k, s, return_indices=True)
    except RuntimeError:
        return
    # "The rest of the network" changed the values. Overlapping windows can remember the same position
    # twice; torch then keeps either value (its scatter order is not defined), so a value is drawn per
    # remembered position: duplicates carry equal values and the expected result is well defined.
    per_position = torch.randn(n, c, (h + 2) * (w + 2) + 1, generator=g)
    values = torch.gather(per_position, 2, idx.flatten(2)).view(idx.shape)
    size = (h + grow, w + grow)  # sometimes the original size, sometimes one torch refuses
    try:
        expected = F.max_unpool2d(values, idx, k, s, output_size=size)
    except (RuntimeError, ValueError):
        with pytest.raises(ValueError):
            max_unpool2d(values, idx, k, s, output_size=size)
        return
    if expected.numel() == 0:  # torch hands back an empty map for a 0-sized output without checking
        return             # the indices; ours may refuse those indices, which point outside it
    assert torch.equal(max_unpool2d(values, idx, k, s, output_size=size), expected)


@FAST
@given(h=st.integers(1, 4), w=st.integers(1, 4), k=st.integers(1, 3), s=st.integers(1, 3))
def test_unpool_default_size(h, w, k, s):
    x = torch.randn(1, 2, h, w)
    idx = torch.zeros(1, 2, h, w, dtype=torch.int64)
    assert max_unpool2d(x, idx, k, s).shape == F.max_unpool2d(x, idx, k, s).shape


def test_unpool_refuses_with_sentences():
    x = torch.ones(1, 1, 2, 2)
    with pytest.raises(ValueError, match="outside"):
        max_unpool2d(x, torch.full((1, 1, 2, 2), 16), 2)
    with pytest.raises(ValueError, match="shape of the input"):
        max_unpool2d(x, torch.zeros(1, 1, 3, 3, dtype=torch.int64), 2)
    with pytest.raises(ValueError, match="from 3 to 5"):
        max_unpool2d(x, torch.zeros(1, 1, 2, 2, dtype=torch.int64), 2, output_size=(6, 6))
    with pytest.raises(ValueError, match="smaller than"):
        max_pool2d_with_indices(torch.ones(1, 1, 2, 2), 3)


def test_traces():
    steps = P.max_pool_trace(LECTURE_IN, 2)
    assert [(s.argmax, s.value) for s in steps] == [((1, 1), 5), ((0, 2), 6), ((3, 0), 7), ((3, 3), 8)]
    assert steps[0].cells == ((0, 0), (0, 1), (1, 0), (1, 1)) and steps[0].values == (1, 2, 3, 5)
    idx = torch.tensor([[5, 2], [12, 15]])
    route = P.max_unpool_trace([[1, 2], [3, 4]], idx, (4, 4))
    assert [(r.src, r.dest, r.value) for r in route] == [
        ((0, 0), (1, 1), 1), ((0, 1), (0, 2), 2), ((1, 0), (3, 0), 3), ((1, 1), (3, 3), 4)]


def test_index_memory_for_vgg16():
    rows = P.index_memory(224, 224)
    assert [r.channels for r in rows] == [64, 128, 256, 512, 512]
    assert [r.pooled for r in rows] == [(112, 112), (56, 56), (28, 28), (14, 14), (7, 7)]
    first = rows[0]
    assert first.feature_bytes == 64 * 224 * 224 * 4
    assert first.index_bytes_int64 == 64 * 112 * 112 * 8
    assert first.index_bytes_2bit == 64 * 112 * 112 // 4
    # the whole float map costs 64 times the 2-bit indices: 4 cells × 32 bits against 2 bits
    assert sum(r.feature_bytes for r in rows) == 64 * sum(r.index_bytes_2bit for r in rows)
    with pytest.raises(ValueError, match="too small"):
        P.index_memory(16, 224)


@pytest.mark.parametrize("seed", range(20))
def test_questions_have_consistent_answers(seed):
    qs = P.unpooling_questions(random.Random(seed))
    for q in qs:
        assert is_correct(q, q.answer)
    grid = torch.tensor(parse_grid_block(qs[0].params["grid"]), dtype=torch.float64)
    wi, wj = qs[0].params["wi"], qs[0].params["wj"]
    window = grid[2 * wi:2 * wi + 2, 2 * wj:2 * wj + 2]
    r, c = divmod(int(qs[0].answer), 4)
    assert grid[r, c] == window.max()


def test_unpool_refuses_a_negative_size_like_torch():
    # found by hypothesis: a 1-row input, window 1, asked for -1 rows; torch refuses with a ValueError
    x, idx = torch.ones(1, 1, 1, 1), torch.zeros(1, 1, 1, 1, dtype=torch.int64)
    with pytest.raises(ValueError):
        F.max_unpool2d(x, idx, 1, 1, output_size=(-1, -1))
    with pytest.raises(ValueError, match="negative"):
        max_unpool2d(x, idx, 1, 1, output_size=(-1, -1))
