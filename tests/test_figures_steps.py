"""The figure pieces of the step-throughs: which cells are pending, how a grid hides them, how the routing draws
only the routes made so far, and that no arrow of the routing lies on a number."""
import numpy as np
import torch
import torch.nn.functional as F

from core.figures.common import scale_for_projector
from core.figures.upsampling import conceal, grid, pending, routing
from core.ops.pooling import max_pool2d_with_indices, max_unpool2d, max_unpool_trace


def test_pending_by_cells_by_count_and_none():
    assert pending((2, 3), None).sum() == 0
    by_count = pending((2, 3), 4)
    assert by_count.tolist() == [[False, False, False], [False, True, True]]
    assert pending((2, 3), [(0, 0), (0, 1), (0, 2), (1, 0)]).tolist() == by_count.tolist()


def test_conceal_blanks_numbers_and_keeps_the_colour_scale():
    a = np.arange(6.0).reshape(2, 3) - 2
    fig = conceal(grid(a, "t", zrange=(-2.0, 3.0)), pending((2, 3), 2))
    heat, unknown = fig.data[0], fig.data[1]
    assert [[v is None for v in row] for row in heat.z] == pending((2, 3), 2).tolist()
    assert heat.z[0][1] == a[0, 1] and (heat.zmin, heat.zmax) == (-2.0, 3.0)
    assert [t for row in heat.text for t in row] == ["-2", "-1", "", "", "", ""]
    assert [t for row in unknown.text for t in row] == ["", "", "?", "?", "?", "?"]
    untouched = grid(a)
    assert len(conceal(untouched, pending((2, 3), None)).data) == 1  # nothing pending: the figure as it was


def test_the_question_marks_grow_with_the_numbers_in_presentation_mode():
    a = np.arange(16.0).reshape(4, 4)
    for fig in (conceal(grid(a, "t"), pending((4, 4), 3)), conceal(grid(a, "t", max_width_px=300), pending((4, 4), 3))):
        laptop, projector = fig, scale_for_projector(fig)
        for f in (laptop, projector):
            numbers, marks = f.data[0].textfont.size, f.data[1].textfont.size
            assert marks == numbers  # a "?" as large as the numbers beside it
        assert projector.data[1].textfont.size > laptop.data[1].textfont.size


def _arrows(fig):
    return [a for a in fig.layout.annotations if a.showarrow]


def test_routing_draws_the_routes_made_so_far_and_no_arrow_covers_a_number():
    x = torch.tensor([[1.0, 2.0, 6.0, 3.0], [3.0, 5.0, 2.0, 1.0], [1.0, 2.0, 2.0, 1.0], [7.0, 3.0, 4.0, 8.0]])
    small = torch.tensor([[9.0, -3.0], [0.5, 7.0]])
    _, idx = max_pool2d_with_indices(x[None], 2)
    big = max_unpool2d(small[None], idx, 2, output_size=(4, 4))[0]
    assert torch.equal(big, F.max_unpool2d(small[None, None], F.max_pool2d(x[None, None], 2, return_indices=True)[1],
                                           2, output_size=(4, 4))[0, 0])
    routes = [(r.src, r.dest) for r in max_unpool_trace(small, idx[0], (4, 4))]
    for shown in range(len(routes) + 1):
        fig = routing(small, big, routes, shown - 1 if shown else None, ("a", "b"), block=2, shown=shown,
                      hidden=pending((4, 4), None))
        assert len(_arrows(fig)) == shown
    fig = routing(small, big, routes, 1, ("a", "b"), block=2)
    off_c = small.shape[1] + 2.4  # where routing puts the big grid
    for arrow, (_, (dr, dc)) in zip(_arrows(fig), [routes[k] for k in (0, 2, 3, 1)]):  # the current one last
        assert abs(arrow.x - (off_c + dc)) < 1e-9 and 0.25 <= abs(arrow.y - dr) < 0.5  # short of the number
        assert abs(arrow.ay - round(arrow.ay - 0.5) - 0.5) < 1e-9  # the arrow turns in on a line between rows
    lines = [t for t in fig.data if t.type == "scatter"]
    for line in lines:  # inside the big grid a line keeps to the lines between rows
        inside = np.asarray(line.x) > off_c - 0.5 + 1e-9
        ys = np.asarray(line.y)[inside]
        assert np.allclose(ys - np.floor(ys), 0.5)
    hidden = pending((4, 4), [(0, 0), (0, 1), (1, 0), (1, 1)])
    fig = routing(small, big, routes, 0, ("a", "b"), block=2, shown=1, hidden=hidden)
    shown_big = np.array([[np.nan if v is None else v for v in row] for row in fig.data[1].z], dtype=float)
    assert np.isnan(shown_big[hidden]).all()
    assert np.array_equal(shown_big[~hidden], big.numpy()[~hidden])


def test_a_step_marks_a_grid_laid_out_once_and_leaves_it_as_it_was():
    import copy

    from core.figures.common import figure_of, spec_of
    from core.figures.frames import plain
    from core.figures.upsampling import grid_base, marked

    a = np.arange(16.0).reshape(4, 4)
    base = plain(grid_base(a, "t", blocks=2, max_width_px=300))  # as a page hands it to its steps
    kept = copy.deepcopy(base)
    hidden = pending((4, 4), 6)
    step = marked(base, highlight=[(1, 1)], sources=[(0, 0)], hidden=hidden, point=(0.5, 0.5))
    assert base == kept  # the grid every step shares is untouched
    # the same figure as grid(...) and conceal(...) draw at once
    whole = conceal(grid(a, "t", blocks=2, max_width_px=300, highlight=[(1, 1)], sources=[(0, 0)], point=(0.5, 0.5)),
                    hidden)
    assert spec_of(figure_of(step))["layout"]["shapes"] == spec_of(whole)["layout"]["shapes"]
    assert [t["type"] for t in step["data"]] == ["heatmap", "heatmap", "scatter"]  # the "?" under the point
    assert step["data"][1]["name"] == "pending" and sum(t == "?" for r in step["data"][1]["text"] for t in r) == 10
    # what the step does not change is the base's own (a row with no hidden cell, the layout's axes)
    heat, kept_heat = step["data"][0], base["data"][0]
    for part in ("z", "text"):
        assert heat[part][0] is kept_heat[part][0] and heat[part][1] is not kept_heat[part][1]
    assert step["layout"]["xaxis"] is base["layout"]["xaxis"]
    assert len(step["layout"]["shapes"]) == len(base["layout"]["shapes"]) + 2
    assert marked(base)["layout"] is base["layout"]  # nothing marked: the same layout
