"""The transposed-convolution page with non-default parameters, every view, both languages."""
import random
import re

import pytest

from core import lessons
from core.ops.transposed import GALLERY, transposed_questions
from tests import steps
from tests.conftest import page_text, run_page

SLUG = "transposed_convolution"
TABS = ("tab_scatter", "tab_overlap", "tab_zero", "tab_matrix", "tab_gallery")
UNUSUAL = {"tc_i": 3, "tc_s": 3, "tc_k": 4, "tc_d": 2, "tc_op": 1, "tc_p": 1}


def _deltas(at) -> list[float]:
    """The max |Δ| numbers the page shows beside torch's results."""
    found = re.findall(r"max \|Δ\| = ([0-9.,e+-]+)", "\n".join(str(s.value) for s in list(at.success) + list(at.error)))
    return [float(v.rstrip(".,").replace(",", ".")) for v in found]  # Romanian writes 1,2e-07


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
@pytest.mark.parametrize("tab", TABS)
def test_every_view_agrees_with_torch(lang, tab):
    T = lessons.texts(SLUG, lang)
    at = run_page(SLUG, lang, {**UNUSUAL, "tc_view": tab.removeprefix("tab_"), "tc_step": 4})
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    text = page_text(at)
    # (3−1)·3 − 2·1 + 2·(4−1) + 1 + 1 = 12
    assert T("size_summary", n=3, o=12, ratio="4") in text
    now = T("step_now", i=1, j=1, v="5", r=3, c=3, s=3).replace("**", "")
    if tab == "tab_scatter":  # the step's sentence, under the figures the browser plays
        assert now in steps.caption(at, "tc_step")
    if tab == "tab_matrix":  # 9 × 144: too large a matrix to draw, so it says so instead of drawing it
        assert T("matrix_too_big", rows=9, cols=144) in [i.value for i in at.info]
    if tab != "tab_gallery":
        deltas = _deltas(at)
        assert deltas and max(deltas) <= 1e-9
    if tab == "tab_overlap":
        assert T("pattern_uneven", s=3, k=4, d=2, counts="2, 1, 1") in text
    if tab == "tab_gallery":
        assert at.selectbox(key="tc_case").value == GALLERY[0].key


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
@pytest.mark.parametrize("params, code, values", [
    ({"tc_s": 1, "tc_op": 2, "tc_d": 1}, "output_padding_too_big", {"op": 2, "s": 1, "d": 1}),
    ({"tc_i": 1, "tc_k": 1, "tc_p": 2}, "output_too_small", {"o": -3, "p": 2}),
])
def test_refused_parameters_get_a_sentence_and_keep_the_grids(lang, params, code, values):
    T = lessons.texts(SLUG, lang)
    grid = [[7.0] * params.get("tc_i", 2)] * params.get("tc_i", 2)
    at = run_page(SLUG, lang, {**params, "tc_x": grid})
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [T(f"err_{code}", **values)]
    assert T("fix_params") in [i.value for i in at.info]
    assert at.session_state["tc_x"] == grid  # nothing the student typed is lost
    assert at.tabs == [] or len(at.tabs) == 0


def test_edited_numbers_and_negative_values():
    at = run_page(SLUG, "en", {"tc_x": [[1.0, -2.0], [0.5, 3.0]], "tc_w": [[0.0, 1.0, 0.0], [2.0, -1.0, 2.0],
                                                                            [0.0, 1.0, 0.0]], "tc_step": 1})
    assert not at.exception, [e.value for e in at.exception]
    assert "(-2)·(-1)" in steps.caption(at, "tc_step")  # the arithmetic keeps signs readable
    assert max(_deltas(at)) == 0


def test_a_grid_left_at_its_default_follows_the_size_slider():
    at = run_page(SLUG, "en", {"tc_i": 3})
    assert at.session_state["tc_x"] == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_gallery_cases_render(lang):
    T = lessons.texts(SLUG, lang)
    for case in GALLERY[1:]:
        at = run_page(SLUG, lang, {"tc_view": "gallery", "tc_case": case.key})
        assert not at.exception, (case.key, [e.value for e in at.exception])
        assert T(f"case_{case.key}_note") in page_text(at)


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_quiz_templates_fill_in(lang):
    T = lessons.texts(SLUG, lang)
    seen = set()
    for seed in range(40):
        for q in transposed_questions(random.Random(seed)):
            words = T.quiz(q.key)
            assert lessons.fill(words["prompt"], lang, **q.params)  # filled as the page fills it
            shown = T(q.answer) if q.is_choice else q.answer
            solution = lessons.fill(words["solution"], lang, answer=shown, **q.params)
            assert lessons.fill("{a}", lang, a=shown) in solution
            seen.add(q.key)
    assert seen == {"output_size", "cell_value", "overlaps", "checkerboard", "zeros", "matrix"}


def test_quiz_marks_a_right_answer():
    at = run_page(SLUG, "en")
    seed = at.session_state["tc_quiz__seed"]
    first = transposed_questions(random.Random(seed))[0]
    at.text_input(key=f"tc_quiz__a0_{seed}").input(str(first.answer)).run()
    assert not at.exception
    assert lessons.texts("common", "en")("quiz_right") in [s.value for s in at.success]
