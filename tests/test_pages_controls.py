"""Figures and controls a teacher found wanting (issue 15): labelled logits, honest weights, runs that survive a
page change, scores printed as the language writes them."""
import json

import pytest

from core import lessons
from tests.conftest import page_text, run_page

LANGS = lessons.LANGUAGES


@pytest.mark.parametrize("lang", LANGS)
def test_the_recap_logits_are_labelled_by_image_and_class(lang):
    T = lessons.texts("classification_recap", lang)
    at = run_page("classification_recap", lang)
    assert not at.exception
    grid = at.dataframe[0]
    assert list(grid.value.index) == [T("sample", k=k) for k in (1, 2, 3)]
    columns = json.loads(grid.proto.columns)
    assert [columns[str(j)]["label"] for j in range(4)] == [T.table("classes")[c] for c in ("cat", "dog", "bird", "car")]
