"""Device selection, quiz marking and the shared figure builders."""
import numpy as np
import pytest
import torch

from core import device as devices
from core.figures.common import format_number, grid_heatmap, scale_for_projector
from core.quiz import Question, is_correct, parse_number


def test_devices():
    present = devices.available()
    assert present[:2] == ["auto", "cpu"]
    assert devices.resolve("cpu") == torch.device("cpu")
    assert devices.resolve("auto").type in {"cpu", "cuda", "mps"}
    with pytest.raises(ValueError, match="valid choices"):
        devices.resolve("tpu")
    if "cuda" not in present:  # an absent accelerator falls back to the CPU instead of failing
        assert devices.resolve("cuda") == torch.device("cpu")
    info = devices.describe(torch.device("cpu"))
    assert info.kind == "cpu" and info.free_bytes is None


def test_autocast_is_a_no_op_on_cpu():
    x = torch.randn(2, 3)
    with devices.autocast(torch.device("cpu")):
        assert (x @ x.T).dtype == torch.float32


def test_quiz_marking():
    q = Question("k", {}, answer=2.5)
    assert is_correct(q, "2,5") and is_correct(q, "5/2") and is_correct(q, 2.5)
    assert not is_correct(q, "3") and not is_correct(q, "") and not is_correct(q, "abc")
    assert parse_number("1/0") is None
    c = Question("k", {}, answer="yes", choices=("yes", "no"))
    assert is_correct(c, "yes") and not is_correct(c, "no")


def test_grid_heatmap():
    fig = grid_heatmap([[1, 2], [3, 4.5]], title="x", highlight=[(1, 0)])
    assert [list(row) for row in fig.data[0].text] == [["1", "2"], ["3", "4.5"]]
    assert len(fig.layout.shapes) == 1
    assert format_number(2.0) == "2" and format_number(0.125, 2) == "0.12"
    with pytest.raises(ValueError):
        grid_heatmap(np.zeros((2, 2, 2)))
    big = scale_for_projector(fig)
    assert big.data[0].textfont.size > fig.data[0].textfont.size


def test_the_warm_up_imports_and_trains_once_in_the_background_and_draws_no_random_numbers():
    import torch

    from core import warmup

    torch.manual_seed(1234)
    expected = torch.rand(3)
    torch.manual_seed(1234)
    first = warmup.start()
    assert warmup.start() is first  # one thread per process, whoever calls
    assert warmup.wait(300)
    assert torch.equal(torch.rand(3), expected)  # the global generator was not touched
    assert "torchvision" in warmup.took and "transformers" in warmup.took
    from core import cost, sliding_window
    assert sliding_window.trained_classifier.kept(sliding_window.PAGE_STEPS)  # the full-resolution page's classifier
    assert all(sliding_window.side_timings.kept(side) for side in sliding_window.PAGE_SIDES)  # both ways timed
    assert cost.receptive_field_check.kept("hourglass", 5) and cost.receptive_field_check.kept("full_resolution", 1)
    import gc
    assert gc.get_freeze_count() > 100_000  # the imports' objects: no longer walked by every full collection
    import sys
    assert "torchvision.models.detection" in sys.modules


def test_the_heap_trim_is_harmless_where_it_runs():
    from core import warmup

    warmup._trim()  # glibc hands free pages back; elsewhere nothing happens, and nothing is raised
    warmup._trim()

