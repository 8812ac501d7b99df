"""The shared page widgets, run by AppTest on small scripts of their own."""
from streamlit.testing.v1 import AppTest


def _grid_app():
    import streamlit as st

    from app_pages.ui import widgets

    rows = st.slider("rows", 1, 4, value=2, key="rows")
    grid = widgets.number_grid("g_grid", [[1, 2], [3, 4]], "grid", shape=(rows, 2))
    st.write(f"sum={grid.sum():g} shape={grid.shape}")


def _text(at):
    return [m.value for m in at.markdown]


def test_number_grid_keeps_numbers_when_the_shape_changes():
    at = AppTest.from_function(_grid_app, default_timeout=60)
    at.run()
    assert "sum=10 shape=(2, 2)" in _text(at)
    at.session_state["g_grid"] = [[1, 2], [3, 5]]  # as an edit would leave it
    at.run()
    assert "sum=11 shape=(2, 2)" in _text(at)
    at.slider(key="rows").set_value(3).run()
    assert "sum=11 shape=(3, 2)" in _text(at)  # the new row is zeros, the old numbers stay
    assert not at.exception


def _quiz_app():
    from app_pages.ui import widgets
    from core.lessons import Texts
    from core.quiz import Question

    T = Texts("en", "demo", {"title": "demo", "ui": {"yes": "Yes", "no": "No"},
                             "quiz": {"add": {"prompt": "What is {a} + {b}?", "solution": "{a} + {b} = {answer}"},
                                      "pick": {"prompt": "Is {a} even?", "solution": "{answer}."}}}, {})

    def make(rng):
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        return [Question("add", {"a": a, "b": b}, answer=a + b),
                Question("pick", {"a": a}, answer="yes" if a % 2 == 0 else "no", choices=("yes", "no"))]

    widgets.quiz(T, make, "q")


def test_quiz_marks_answers_and_shows_the_solution():
    at = AppTest.from_function(_quiz_app, default_timeout=60)
    at.run()
    prompt = next(m.value for m in at.markdown if "+" in m.value and m.value.startswith("**1.**"))
    a, b = [int(s) for s in prompt.split("What is ")[1].rstrip("?").split(" + ")]
    at.text_input[0].input(str(a + b)).run()
    assert [s.value for s in at.success] == ["Correct."]
    at.text_input[0].input(str(a + b + 1)).run()
    assert at.error and not at.success
    assert any(f"{a} + {b} = {a + b}" in m.value for m in at.markdown)  # the worked solution
    at.radio[0].set_value("yes" if a % 2 == 0 else "no").run()
    assert [s.value for s in at.success] == ["Correct."]
    at.button(key="q__new").click().run()  # new numbers, answers cleared
    assert not at.success and not at.exception


def _controls_app():
    import streamlit as st

    from app_pages.ui import widgets

    keep_history = st.session_state.get("keep_history", True)
    history = st.session_state.setdefault("c_history", []) if keep_history else None
    status = widgets.run_controls(lambda key, **kw: key, "c", history, lambda: None, step=keep_history)
    st.write(f"status={status}")


def test_run_controls_leave_out_the_step_and_forget_buttons_when_asked():
    at = AppTest.from_function(_controls_app, default_timeout=60)
    at.run()
    assert [b.key for b in at.button] == ["c_start", "c_resume", "c_step", "c_stop", "c_reset"]
    assert all(b.disabled for b in at.button[1:]) and "status=None" in _text(at)  # nothing to control yet
    at.session_state["keep_history"] = False  # a page that keeps one run and moves in whole steps only
    at.run()
    assert [b.key for b in at.button] == ["c_start", "c_resume", "c_stop"]
    assert not at.exception
