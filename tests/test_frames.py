"""The step-through frames the browser plays (core.figures.frames): the first step plus each step's edits rebuild
every step exactly, and they are much smaller than the steps themselves."""
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.figures.common import spec_of
from core.figures.frames import diff, patch, plain, replay, signature, step_frames
from core.figures.upsampling import conceal, grid, pending
from core.ops.resample import nearest_trace, nearest_upsample

leaf = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(-3, 3, allow_nan=False), st.text(max_size=3))
values = st.recursive(leaf, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                     st.dictionaries(st.text(max_size=2), inner, max_size=4)),
                      max_leaves=20)


@given(values, values)
def test_the_edits_turn_one_value_into_the_other(a, b):
    import copy

    assert patch(copy.deepcopy(a), diff(a, b)) == b
    assert diff(a, a) == []


def test_plain_turns_numpy_and_nan_into_json():
    out = plain({"z": np.array([[1.0, np.nan]]), "n": np.int64(3), "t": (np.float32(0.5),)})
    assert out == {"z": [[1.0, None]], "n": 3, "t": [0.5]}
    json.dumps(out)


def test_a_nearest_step_through_is_rebuilt_step_by_step_and_sent_small():
    import torch

    x = torch.arange(16, dtype=torch.float64).reshape(4, 4)
    near = nearest_upsample(x, 4)
    trace = nearest_trace(x, 4)
    steps = []
    for k, t in enumerate(trace):
        hidden = pending(tuple(near.shape), [s.out for s in trace[:k + 1]])
        fig = conceal(grid(near, "nearest", highlight=[t.out], blocks=4, max_width_px=400), hidden)
        spec = spec_of(fig)
        spec["layout"].pop("template", None)
        steps.append(plain({"figs": [spec], "caption": f"step {k}"}))
    first, edits = step_frames(steps)
    for k in (0, 1, 77, len(steps) - 1):
        assert replay(first, edits, k) == steps[k]
    whole = len(json.dumps(steps))
    sent = len(json.dumps([first, edits]))
    assert sent < whole / 20, (sent, whole)  # 256 steps of a 16 × 16 grid: edits of a few cells each
    assert signature([first, edits]) != signature([first, edits[:-1]])


def test_a_step_through_has_a_step():
    with pytest.raises(ValueError):
        step_frames([])
