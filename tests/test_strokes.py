import numpy as np
import pytest

from core.training.scribbles import IGNORE_INDEX, rasterize


def test_strokes_paint_their_label_and_leave_the_rest_ignored():
    strokes = [{"label": 1, "width": 3, "points": [[2, 5], [17, 5]]},
               {"label": 0, "width": 5, "points": [[10, 5]]}]  # a later dot over the line
    m = rasterize(strokes, (12, 20))
    assert m.shape == (12, 20) and m.dtype == np.uint8
    assert m[5, 3] == 1 and m[5, 16] == 1 and m[5, 10] == 0
    assert m[0, 0] == IGNORE_INDEX and m[11, 19] == IGNORE_INDEX
    assert (m == 1).sum() > 30


def test_bad_labels_are_refused():
    with pytest.raises(ValueError, match="class index"):
        rasterize([{"label": 255, "width": 1, "points": [[0, 0]]}], (4, 4))
