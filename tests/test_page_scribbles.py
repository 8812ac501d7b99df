"""The scribbles page: strokes in, a labelled picture out; bad uploads get a sentence."""
import pytest

from core import lessons
from tests.conftest import page_text, run_page

STROKES = [{"label": 0, "width": 5, "points": [[20, 100], [60, 120]]},
           {"label": 1, "width": 5, "points": [[10, 10], [180, 15]]}]


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
@pytest.mark.slow
def test_training_from_strokes_labels_the_picture(lang):
    at = run_page("scribbles", lang, state={"sc_steps": 20, "sc_seed": 3})
    at.session_state["sc_initial"] = STROKES  # what the canvas reports after painting
    at.button(key="sc_train").click().run()
    assert not at.exception
    T = lessons.texts("scribbles", lang)
    assert T("result") in page_text(at)
    assert len(at.get("imgs")) >= 1 or at.session_state["sc_result"] is not None
    agree_line = next(c.value for c in at.caption if c.value.startswith(T("fit_report").split("{")[0]))
    assert "%" in agree_line


def test_one_class_only_is_explained_not_raised():
    at = run_page("scribbles", "en", state={"sc_steps": 20})
    at.session_state["sc_initial"] = STROKES[:1]
    at.button(key="sc_train").click().run()
    assert not at.exception
    assert any("at least two" in w.value for w in at.warning)


def test_three_classes_and_undo():
    at = run_page("scribbles", "ro", state={"sc_n": 3})
    at.session_state["sc_initial"] = STROKES
    at.run()
    at.button(key="sc_undo").click().run()
    assert not at.exception
    assert at.session_state["sc_initial"] == STROKES[:1]
