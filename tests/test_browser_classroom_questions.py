"""Classroom mode in a real Chromium: the teacher asks the class a question, five student contexts answer it,
the teacher sees a histogram of five and reveals the solution on every page.

On a loaded machine this is where two of Streamlit's races showed: the clock's rerun of the student's banner
queued during the full run that draws the question (the card vanished from the page), and the answer's run cut
short by the clock (the page never said the answer was in). ``common.timed_fragment`` and the card's "drawn to its
end" mark in ``app_pages/ui/classroom.py`` are what this test keeps honest; it runs in a module of its own so
it gets a fresh app server."""
from __future__ import annotations

import pytest

from tests.conftest import (
    no_exception,
    page_url,
    screenshot,
    wait_for_app,
    wait_for_text,
)
from tests.test_browser_classroom import SETTLE_S, C, open_tab, teach, until

pytestmark = pytest.mark.browser


def test_five_students_answer_and_the_teacher_sees_a_histogram_of_five(app_server, own_browser):
    tctx, teacher = open_tab(own_browser, page_url(app_server, "nearest_bed_of_nails"))
    contexts = [tctx]
    try:
        code = teach(teacher)
        students = []
        for _ in range(5):
            ctx, page = open_tab(own_browser, page_url(app_server, "nearest_bed_of_nails") + f"?join={code}")
            contexts.append(ctx)
            students.append(page)
        ask = teacher.locator(".st-key-nb_quiz__q0__ask button")
        ask.scroll_into_view_if_needed()
        ask.click()
        wait_for_app(teacher)
        for i, page in enumerate(students):
            wait_for_text(page, C("class_asks"), timeout_ms=30_000)
            box = page.locator(".st-key-class_question")
            box.locator("input[type='text']").fill(["4", "4", "4", "5", "<b>x</b>"][i])
            box.get_by_role("button", name=C("class_send")).click()
            wait_for_text(page, "Your answer is in", timeout_ms=30_000)
        wait_for_text(teacher, "5 answers ·", timeout_ms=30_000)
        until(lambda: 5 in teacher.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')]
            .map(gd => gd.data || []).flat().filter(t => t.type === 'bar')
            .map(t => Array.from(t.y).reduce((a, b) => a + b, 0))"""), SETTLE_S)  # the chart: five answers
        assert "<b>x</b>" not in teacher.inner_text("body")
        teacher.locator(".st-key-nb_quiz__q0__reveal button").click()
        for page in students:
            wait_for_text(page, "Your answer, ", timeout_ms=30_000)
        no_exception(teacher)
        screenshot(teacher, "classroom-answers")
    finally:
        for ctx in contexts:
            ctx.close()
