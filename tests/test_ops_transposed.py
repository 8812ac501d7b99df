"""The transposed convolution: our scatter, zero-insertion and matrix versions against torch's op."""
import random

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from core.ops.transposed import (
    GALLERY,
    ParameterError,
    autograd_check,
    checkerboard_comparison,
    conv_matrix,
    conv_output_size,
    conv_transpose2d,
    conv_transpose2d_zero_insertion,
    conv_transpose_output_size,
    matrix_view,
    overlap_count,
    overlap_pattern,
    resize_then_convolve,
    scatter_trace,
    transposed_questions,
    zero_insertion_trace,
)
from core.quiz import is_correct

SETTINGS = settings(max_examples=60, deadline=None)
small = st.integers(1, 4)
pair_or_int = lambda lo, hi: st.one_of(st.integers(lo, hi), st.tuples(st.integers(lo, hi), st.integers(lo, hi)))  # noqa: E731


def _torch_or_error(*args, **kwargs):
    try:
        return F.conv_transpose2d(*args, **kwargs), None
    except RuntimeError as e:
        return None, e


@st.composite
def problems(draw, channels=True):
    """A random input, kernel and parameter set; some of them torch refuses."""
    n, c_in, c_out = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))) if channels else (1, 1, 1)
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    kh, kw = draw(small), draw(small)
    params = dict(
        stride=draw(pair_or_int(1, 3)),
        padding=draw(pair_or_int(0, 3)),
        output_padding=draw(pair_or_int(0, 2)),
        dilation=draw(pair_or_int(1, 3)),
    )
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    x = torch.randn(n, c_in, h, w, generator=gen, dtype=torch.float64)
    weight = torch.randn(c_in, c_out, kh, kw, generator=gen, dtype=torch.float64)
    bias = torch.randn(c_out, generator=gen, dtype=torch.float64) if draw(st.booleans()) else None
    return x, weight, bias, params


@SETTINGS
@given(problems())
def test_scatter_equals_torch_or_both_refuse(problem):
    x, weight, bias, params = problem
    theirs, error = _torch_or_error(x, weight, bias, groups=1, **params)
    if error is not None:
        with pytest.raises(ValueError):
            conv_transpose2d(x, weight, bias, **params)
        return
    ours = conv_transpose2d(x, weight, bias, **params)
    assert ours.shape == theirs.shape
    torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-10)


@SETTINGS
@given(problems())
def test_zero_insertion_equals_torch_or_both_refuse(problem):
    x, weight, bias, params = problem
    theirs, error = _torch_or_error(x, weight, bias, groups=1, **params)
    if error is not None:
        with pytest.raises(ValueError):
            conv_transpose2d_zero_insertion(x, weight, bias, **params)
        return
    torch.testing.assert_close(conv_transpose2d_zero_insertion(x, weight, bias, **params), theirs,
                               rtol=1e-10, atol=1e-10)


@SETTINGS
@given(st.integers(-1, 6), st.integers(-1, 5), st.integers(-1, 4), st.integers(-1, 4), st.integers(-1, 4),
       st.integers(-1, 3))
def test_output_size_formula_and_torch_agree_on_what_is_allowed(i, k, s, p, op, d):
    try:
        ours = conv_transpose_output_size(i, k, s, p, op, d)
    except ParameterError as e:
        assert isinstance(e, ValueError) and str(e).endswith(".") and e.code
        ours = None
    if min(i, k) < 1:  # torch cannot even build such tensors the ordinary way
        assert ours is None
        return
    # float64: torch's float32 fast path returns an empty tensor for a few O = 0 cases that its
    # general path (and every float64 call) refuses; we follow the general rule.
    theirs, _ = _torch_or_error(torch.ones(1, 1, i, i, dtype=torch.float64), torch.ones(1, 1, k, k, dtype=torch.float64),
                                stride=s, padding=p, output_padding=op, dilation=d)
    assert (ours is None) == (theirs is None), (i, k, s, p, op, d)
    if ours is not None:
        assert theirs.shape[-1] == ours == (i - 1) * s - 2 * p + d * (k - 1) + op + 1


def test_the_lecture_example_and_simple_case():
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    k = torch.ones(1, 1, 3, 3)
    y = conv_transpose2d(x, k, stride=2)
    assert y.shape[-1] == (2 - 1) * 2 + 3  # (I − 1)·S + K
    assert y[0, 0, 2, 2] == 1 + 2 + 3 + 4  # the centre receives all four copies
    assert conv_transpose_output_size(2, 3, 2) == 5


@pytest.mark.parametrize("args, code", [
    ((2, 3, 2, 0, 2, 1), "output_padding_too_big"),
    ((2, 3, 1, 0, 1, 1), "output_padding_too_big"),
    ((2, 3, 0, 0, 0, 1), "stride"),
    ((2, 3, 1, 0, 0, 0), "dilation"),
    ((2, 3, 2, -1, 0, 1), "padding"),
    ((2, 1, 1, 1, 0, 1), "output_too_small"),
    ((0, 3, 1, 0, 0, 1), "input_size"),
    ((2, 0, 1, 0, 0, 1), "kernel_size"),
    ((2.5, 3, 1, 0, 0, 1), "not_integer"),
])
def test_refusals_are_plain_sentences(args, code):
    with pytest.raises(ParameterError) as info:
        conv_transpose_output_size(*args)
    assert info.value.code == code
    assert "Error" not in str(info.value) and str(info.value)[0].isupper()


def test_channel_mismatch_is_a_sentence():
    with pytest.raises(ValueError, match="channels"):
        conv_transpose2d(torch.ones(1, 2, 3, 3), torch.ones(3, 1, 2, 2))


def test_gradients_flow_like_torchs():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 4, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 2, 3, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, generator=gen, dtype=torch.float64, requires_grad=True)
    params = dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2), dilation=(1, 2))
    grads_ours = torch.autograd.grad(conv_transpose2d(x, w, b, **params).square().sum(), (x, w, b))
    grads_torch = torch.autograd.grad(F.conv_transpose2d(x, w, b, **params).square().sum(), (x, w, b))
    for ours, theirs in zip(grads_ours, grads_torch):
        torch.testing.assert_close(ours, theirs)


@st.composite
def direct_convs(draw):
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    kh, kw = draw(st.integers(1, min(h, 4))), draw(st.integers(1, min(w, 4)))
    s, p = draw(st.integers(1, 3)), draw(st.integers(0, 2))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    return (torch.randn(h, w, generator=gen, dtype=torch.float64),
            torch.randn(kh, kw, generator=gen, dtype=torch.float64), s, p)


@SETTINGS
@given(direct_convs())
def test_conv_matrix_is_the_convolution_and_its_transpose_the_transposed_one(case):
    x, kernel, s, p = case
    c = conv_matrix(tuple(x.shape), kernel, s, p)
    y = F.conv2d(x[None, None], kernel[None, None], stride=s, padding=p)  # (1, 1, Ho, Wo)
    assert c.shape == (y.numel(), x.numel())
    torch.testing.assert_close(c @ x.flatten(), y.flatten())
    # C.T maps an output-shaped grid back to the input's shape: the transposed convolution.
    op = tuple(x.shape[d] - ((y.shape[2 + d] - 1) * s - 2 * p + kernel.shape[d]) for d in range(2))
    back = conv_transpose2d(y, kernel[None, None], stride=s, padding=p, output_padding=op)
    torch.testing.assert_close((c.T @ y.flatten()).view(x.shape), back[0, 0])


@st.composite
def page_problems(draw):
    """One channel, square parameters: what the page offers (some invalid)."""
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    k = draw(st.integers(1, 4))
    params = dict(stride=draw(st.integers(1, 4)), padding=draw(st.integers(0, 3)),
                  output_padding=draw(st.integers(0, 3)), dilation=draw(st.integers(1, 3)))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    x = torch.randint(-3, 5, (h, w), generator=gen).double()
    kernel = torch.randint(-2, 3, (k, k), generator=gen).double()
    return x, kernel, params


def _valid(x, kernel, params):
    try:
        conv_transpose_output_size(min(x.shape), kernel.shape[0], params["stride"], params["padding"],
                                   params["output_padding"], params["dilation"])
        conv_transpose_output_size(max(x.shape), kernel.shape[0], params["stride"], params["padding"],
                                   params["output_padding"], params["dilation"])
    except ParameterError:
        return False
    return True


@SETTINGS
@given(page_problems())
def test_every_trace_ends_at_the_fast_result(problem):
    x, kernel, params = problem
    if not _valid(x, kernel, params):
        for trace in (scatter_trace, zero_insertion_trace, matrix_view, autograd_check):
            with pytest.raises(ParameterError):
                trace(x, kernel, **params)
        return
    fast = F.conv_transpose2d(x[None, None], kernel[None, None], **params)[0, 0]

    scatter = scatter_trace(x, kernel, **params)
    assert len(scatter.steps) == x.numel()
    torch.testing.assert_close(scatter.output, fast)
    torch.testing.assert_close(scatter.steps[-1].running, sum(step.copy for step in scatter.steps))
    for step in scatter.steps:  # every product is recorded with the running sum it changed
        for t in step.touches:
            assert t.after == pytest.approx(t.before + t.added) and t.added == pytest.approx(step.value * t.weight)
    kept = sum(t.kept for step in scatter.steps for t in step.touches)
    counts = overlap_count(tuple(x.shape), kernel.shape[0], **params)
    assert counts.shape == fast.shape and int(counts.sum()) == kept

    zero = zero_insertion_trace(x, kernel, **params)
    torch.testing.assert_close(zero.output, fast)
    torch.testing.assert_close(zero.flipped, kernel.flip(0, 1))
    r, c = fast.shape[0] - 1, fast.shape[1] - 1
    assert float((zero.window(r, c) * zero.flipped).sum()) == pytest.approx(float(fast[r, c]))
    assert sum(a * b for a, b in zero.products(r, c)) == pytest.approx(float(fast[r, c]))
    assert len(zero.window_cells(r, c)) == kernel.numel()
    cells = zero.input_cells()
    assert sum(float(zero.padded[i, j]) for i, j in cells) == pytest.approx(
        sum(float(v) for (i, j), v in zip(zero.positions.reshape(-1, 2).tolist(), x.reshape(-1).tolist())
            if 0 <= i < zero.padded.shape[0] and 0 <= j < zero.padded.shape[1]))
    lo, hi = scatter.value_range()
    assert lo <= float(fast.min()) + 1e-9 and hi >= float(fast.max()) - 1e-9

    view = matrix_view(x, kernel, **params)
    torch.testing.assert_close(view.output, fast)
    assert view.c.shape == (x.numel(), fast.numel())
    assert view.dropped_rows == 0 or params["output_padding"] >= params["stride"]

    check = autograd_check(x, kernel, **params)
    torch.testing.assert_close(check.gradient, fast)
    assert check.max_abs_diff < 1e-9


@pytest.mark.parametrize("k, s, d, expected", [(3, 2, 1, [2, 1]), (4, 2, 1, [2, 2]), (3, 1, 1, [3]),
                                               (2, 3, 1, [1, 1, 0]), (3, 2, 2, [3, 0])])
def test_overlap_pattern(k, s, d, expected):
    assert overlap_pattern(k, s, d) == expected


@SETTINGS
@given(st.integers(1, 6), st.integers(1, 4))
def test_checkerboard_exactly_when_the_stride_does_not_divide_the_kernel(k, s):
    uneven = len(set(overlap_pattern(k, s))) > 1
    assert uneven == (k % s != 0)


def test_resize_then_convolve_is_even_where_transposed_is_not():
    cmp = checkerboard_comparison(4, 3, 2)
    assert cmp.transposed_range == (1.0, 4.0)  # 2·2, 2·1 and 1·1 copies away from the borders
    assert cmp.resized_range[0] == cmp.resized_range[1]
    assert cmp.resized.shape == (8, 8)
    up = resize_then_convolve(torch.ones(3, 3, dtype=torch.float64), torch.ones(4, 4, dtype=torch.float64), 2)
    assert up.shape == (6, 6) and up[2, 2] == 16


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("k, scale, d", [(3, 2, 1), (4, 2, 1), (2, 3, 2), (5, 4, 1)])
def test_resize_then_convolve_matches_torch_same_padding(k, scale, d):
    gen = torch.Generator().manual_seed(k * 10 + scale)
    x, kernel = torch.randn(3, 4, generator=gen), torch.randn(k, k, generator=gen)
    up = F.interpolate(x[None, None], scale_factor=scale, mode="nearest")
    theirs = F.conv2d(up, kernel[None, None], padding="same", dilation=d)[0, 0]
    torch.testing.assert_close(resize_then_convolve(x, kernel, scale, d), theirs)


def test_the_gallery_cases_are_valid():
    for case in GALLERY:
        o = conv_transpose_output_size(case.input_size, case.kernel_size, case.stride, case.padding,
                                       case.output_padding, case.dilation)
        assert o >= case.input_size
    assert conv_output_size(5, 3, 2, 1) == 3


@pytest.mark.parametrize("seed", range(25))
def test_quiz_answers_come_from_torch(seed):
    questions = transposed_questions(random.Random(seed))
    assert 2 <= len(questions) <= 4 and len({q.key for q in questions}) == len(questions)
    for q in questions:
        p = q.params
        if q.key == "output_size":
            y = F.conv_transpose2d(torch.ones(1, 1, p["i"], p["i"]), torch.ones(1, 1, p["k"], p["k"]),
                                   stride=p["s"], padding=p["p"], output_padding=p["op"], dilation=p["d"])
            assert y.shape[-1] == q.answer and is_correct(q, str(q.answer))
        elif q.key == "cell_value":
            x = torch.tensor(eval(p["x"]), dtype=torch.float64)  # the grids are plain list literals
            k = torch.tensor(eval(p["kernel"]), dtype=torch.float64)
            y = F.conv_transpose2d(x[None, None], k[None, None], stride=p["s"])[0, 0]
            assert float(y[p["r"], p["c"]]) == q.answer
            assert not is_correct(q, str(q.answer + 1))
        elif q.key == "zeros":
            assert q.params["o"] == conv_transpose_output_size(p["i"], p["k"], p["s"], p["p"])
        elif q.key == "matrix":
            assert q.answer == conv_transpose_output_size(p["i"], p["k"], p["s"]) ** 2
        assert is_correct(q, q.answer if q.is_choice else str(q.answer))


def test_the_pages_views_agree_with_torch_without_streamlit():
    from core.ops import transposed as tc

    views = tc.lesson_views(tc.default_input(3), tc.default_kernel(4), 3, 1, 1, 2)
    assert views.theirs.shape == (12, 12) == tuple(views.scatter.output.shape)
    for ours in (views.scatter.output, views.zero.output, views.matrix.output, views.grad.ours):
        torch.testing.assert_close(ours, views.theirs)
    torch.testing.assert_close(views.counts.to(views.theirs_counts.dtype), views.theirs_counts)
    assert tc.output_size_latex(3, 4, 3, 1, 1, 2).endswith(r"= \mathbf{12} \end{aligned}")
    case, x, trace = tc.gallery_trace("stride")
    assert x.tolist() == [[1.0, 2.0], [3.0, 4.0]] and tuple(trace.output.shape) == (5, 5)
    with pytest.raises(ValueError, match="valid cases"):
        tc.gallery_trace("nope")
