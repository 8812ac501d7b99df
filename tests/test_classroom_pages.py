"""Classroom mode in the app, run through AppTest: a teacher session and student sessions in one process
share the in-process class store, as the sessions of one server do."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from app_pages.ui import classroom
from core import classroom as cls
from tests.conftest import ROOT, page_text, run_page

pytestmark = pytest.mark.usefixtures("one_thread")


def teacher_on(slug: str, lang: str = "en") -> AppTest:
    at = run_page(slug, lang)
    at.sidebar.button(key="class_teach_btn").click().run()
    assert at.session_state["class_role"] == "teacher"
    return at


def student(code: str, lang: str = "en") -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["lang"] = lang
    at.query_params["join"] = code
    at.run()
    assert not at.exception
    return at


def chart_labels(at: AppTest) -> str:
    return "\n".join(c.proto.spec for c in at.get("plotly_chart") if '"type":"bar"' in c.proto.spec.replace(" ", ""))


def test_the_teacher_sees_a_code_a_join_link_a_qr_code_and_the_counts():
    t = teacher_on("start")
    code = t.session_state["class_code"]
    assert len(code) == cls.CODE_LENGTH and set(code) <= set(cls.ALPHABET)
    text = "\n".join(m.value for m in t.sidebar.markdown)
    assert code in text
    assert any(f"?join={code}" in c.value for c in t.sidebar.code)
    assert "Connected: 0" in "\n".join(c.value for c in t.sidebar.caption)
    png = classroom.qr_png(f"http://127.0.0.1:8501/?join={code}")
    assert png.startswith(b"\x89PNG")
    s = student(code)
    assert s.session_state["class_role"] == "student"
    t.run()
    assert "Connected: 1 · following: 1" in "\n".join(c.value for c in t.sidebar.caption)


def test_a_student_follows_the_teachers_page_and_values_and_branches_off():
    t = teacher_on("transposed_convolution")
    code = t.session_state["class_code"]
    t.slider(key="tc_s").set_value(3).run()
    s = student(code)
    s.run()  # the join itself lands where the teacher is, then the next run draws the teacher's state
    assert s.slider(key="tc_s").value == 3
    assert "Following the teacher" in page_text(s)
    t.slider(key="tc_s").set_value(2).run()  # back to the default: it leaves the address, still followed
    t.slider(key="tc_k").set_value(4).run()
    s.run()
    assert (s.slider(key="tc_s").value, s.slider(key="tc_k").value) == (2, 4)

    s.button(key="class_try_btn").click().run()
    s.slider(key="tc_s").set_value(4).run()
    t.slider(key="tc_k").set_value(2).run()
    s.run()
    assert (s.slider(key="tc_s").value, s.slider(key="tc_k").value) == (4, 4)  # the student's own values
    assert "Trying it yourself" in page_text(s)
    t.run()
    assert "following: 0 · trying on their own: 1" in "\n".join(c.value for c in t.sidebar.caption)

    s.button(key="class_back_btn").click().run()
    s.run()
    assert (s.slider(key="tc_s").value, s.slider(key="tc_k").value) == (2, 2)  # the teacher's, at once

    t.switch_page("app_pages/bilinear.py").run()
    s.run()
    s.run()
    assert s.session_state["class_page"] == "bilinear"
    assert not s.exception


def test_the_chosen_tab_and_the_language_stay_the_students_own():
    t = teacher_on("transposed_convolution")
    t.session_state["tc_view"] = "matrix"
    t.run()
    s = student(t.session_state["class_code"], lang="ro")
    s.run()
    assert s.session_state["tc_view"] == "matrix"
    assert s.session_state["lang"] == "ro"
    assert "Urmărești profesorul" in page_text(s)


def test_a_wrong_code_is_said_in_the_pages_language_and_nothing_is_joined():
    s = student("QQQQQQ", lang="ro")
    assert "class_role" not in s.session_state
    assert "Nu există nicio clasă deschisă cu acest cod" in "\n".join(w.value for w in s.sidebar.warning)
    s = student("12", lang="en")
    assert "A class code has 6 letters and digits" in "\n".join(w.value for w in s.sidebar.warning)


def test_a_question_asked_by_the_teacher_is_answered_once_by_each_student_and_revealed():
    t = teacher_on("transposed_convolution")
    code = t.session_state["class_code"]
    t.button(key="tc_quiz__q0__ask").click().run()
    asked = cls.store_from_env().asked(code)
    assert asked is not None and asked.question["page"] == "transposed_convolution"
    answer = asked.question["answer"]
    students = [student(code) for _ in range(5)]
    for i, s in enumerate(students):
        assert "The teacher asks:" in page_text(s)
        assert not asked.question["choices"]  # the first transposed-convolution question asks for a number
        given = str(answer) if i < 3 else "<b>not a number</b>" if i == 3 else str(answer + 1)
        s.text_input[0].input(given)
        next(b for b in s.button if "Send my answer" in b.label).click().run()
        assert "Your answer is in" in page_text(s)
    t.run()
    assert "5 answers · right: 3 · wrong: 2" in page_text(t)
    assert "not a number" in chart_labels(t)
    assert "<b>" not in chart_labels(t)  # nothing a student typed is drawn as markup
    t.button(key="tc_quiz__q0__reveal").click().run()
    students[0].run()
    assert "is right" in page_text(students[0])
    students[4].run()
    assert "is not right" in page_text(students[4])


def test_ending_the_class_lets_the_students_keep_their_page():
    t = teacher_on("bilinear")
    code = t.session_state["class_code"]
    s = student(code)
    s.run()
    t.sidebar.button(key="class_end_btn").click().run()
    assert not cls.store_from_env().is_open(code)
    s.run()
    assert "The class has ended" in "\n".join(i.value for i in s.sidebar.info)
    assert s.session_state["class_page"] == "bilinear"
