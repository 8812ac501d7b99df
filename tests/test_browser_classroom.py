"""Classroom mode in a real Chromium: a teacher's page followed live by student contexts, on one server and
across two app servers that share one Redis (as replicas behind a load balancer do)."""
from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Error as PlaywrightError

from core import lessons
from tests.conftest import (
    no_exception,
    page_url,
    screenshot,
    start_server,
    stop_server,
    wait_for_app,
    wait_for_text,
)
from tests.local_servers import Proxy

pytestmark = pytest.mark.browser
SLUG = "transposed_convolution"
T = lessons.texts(SLUG, "en")
C = lessons.texts("common", "en")
FOLLOW_S = 2.0  # a student's page shows the teacher's change within this long after the teacher's page does
SETTLE_S = 8.0  # how long the later steps may take on a busy machine (they check what is shown, not how fast)


def open_tab(browser, url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(url, wait_until="commit", timeout=60_000)
    wait_for_app(page, timeout_ms=90_000)
    return context, page


def teach(page) -> str:
    """Open a class from the sidebar; the class code it shows."""
    page.locator('[data-testid="stSidebar"] [data-testid="stExpander"] summary', has_text=C("class_title")).click()
    page.locator(".st-key-class_teach_btn button").click()
    wait_for_text(page, "You are teaching class")
    wait_for_app(page)
    text = page.locator('[data-testid="stSidebar"]').inner_text()
    return re.search(r"teaching class ([A-Z0-9]{6})\b", text).group(1)


def slider_value(page, key: str) -> int:
    return int(page.locator(f'.st-key-{key} input[type="range"]').first.input_value())


def nudge(page, key: str, presses: int = 1) -> None:
    page.locator(f'.st-key-{key} input[type="range"]').first.focus()
    for _ in range(presses):
        page.keyboard.press("ArrowRight")


def until(check, seconds: float) -> float:
    """Poll ``check`` until it holds; how long that took (fails after ``seconds``)."""
    start = time.monotonic()
    while True:
        try:
            if check():
                return time.monotonic() - start
        except (PlaywrightError, ValueError):  # an element mid-redraw, or not drawn yet
            time.sleep(0.05)
        if time.monotonic() - start > seconds:
            raise AssertionError(f"not within {seconds} s")
        time.sleep(0.05)


def summary(n: int, o: int, ratio: str) -> str:
    return T("size_summary", n=n, o=o, ratio=ratio)


def test_a_student_follows_the_teacher_branches_off_and_rejoins(app_server, own_browser):
    tctx, teacher = open_tab(own_browser, page_url(app_server, SLUG))
    sctx, student = None, None
    try:
        code = teach(teacher)
        sctx, student = open_tab(own_browser, f"{app_server}/?join={code}")
        wait_for_text(student, C("class_following", code=code).split(":")[0])
        wait_for_text(student, summary(2, 5, "2.5"))
        assert student.url.split("?")[0].endswith(f"/{SLUG}")

        pressed = time.monotonic()
        nudge(teacher, "tc_s")  # stride 2 → 3: the output grows from 5 to 6
        wait_for_text(teacher, summary(2, 6, "3"))
        shown = time.monotonic()
        until(lambda: summary(2, 6, "3") in student.inner_text("body"), FOLLOW_S)
        print(f"stride 3: on the teacher's page {shown - pressed:.2f} s after the key press, "
              f"on the student's {time.monotonic() - pressed:.2f} s after it")
        until(lambda: slider_value(student, "tc_s") == 3, SETTLE_S)  # the slider itself, not only the text

        teacher.get_by_role("tab", name=T("tab_matrix")).click()
        wait_for_app(teacher)
        until(lambda: student.get_by_role("tab", name=T("tab_matrix")).get_attribute("aria-selected") == "true",
              SETTLE_S)
        no_exception(student)
        screenshot(student, "classroom-student-following")

        # Try it yourself: the student's own stride; the teacher's kernel no longer reaches this page
        student.locator(".st-key-class_try_btn button").click()
        wait_for_text(student, "Trying it yourself")
        wait_for_app(student)
        nudge(student, "tc_s")
        until(lambda: slider_value(student, "tc_s") == 4, SETTLE_S)
        wait_for_app(student)
        nudge(teacher, "tc_k")
        wait_for_app(teacher)
        time.sleep(2 * FOLLOW_S)
        assert (slider_value(student, "tc_s"), slider_value(student, "tc_k")) == (4, 3)

        # Back to the teacher: the teacher's state as it is now
        student.locator(".st-key-class_back_btn button").click()
        until(lambda: (slider_value(student, "tc_s"), slider_value(student, "tc_k")) == (3, 4), SETTLE_S)
        wait_for_text(student, "Following the teacher")
        wait_for_app(student)
        no_exception(student)
        until(lambda: "Connected: 1 · following: 1" in teacher.locator('[data-testid="stSidebar"]').inner_text(),
              SETTLE_S)
        screenshot(teacher, "classroom-teacher")
    finally:
        tctx.close()
        if sctx:
            sctx.close()


def test_two_app_servers_sharing_one_redis_and_the_deployments_proxy(redis_url, own_browser, tmp_path):
    """A teacher on one app server; a student on the other follows through Redis, and so does a student who
    comes in through deploy/nginx.conf (run by Debian's nginx) in front of both (websockets included); both
    answer a question the teacher asks, and the teacher's page counts the two answers."""
    env = {"CLASS_STORE": redis_url}
    (one, base_one), (two, base_two) = start_server(env=env), start_server(env=env)
    contexts, proxy = [], None
    try:
        proxy = Proxy([base_one.split("//")[1], base_two.split("//")[1]], tmp_path)
        tctx, teacher = open_tab(own_browser, page_url(base_one, SLUG))
        contexts.append(tctx)
        code = teach(teacher)
        students = []
        for base in (base_two, proxy.url):
            ctx, page = open_tab(own_browser, f"{base}/?join={code}")
            contexts.append(ctx)
            students.append(page)
            wait_for_text(page, summary(2, 5, "2.5"))
        assert any(c["name"] == "studio_replica" for c in contexts[-1].cookies())
        nudge(teacher, "tc_s")
        wait_for_text(teacher, summary(2, 6, "3"))
        for page in students:
            until(lambda p=page: summary(2, 6, "3") in p.inner_text("body"), FOLLOW_S + 1)
            no_exception(page)
        # a question asked on the first server reaches both students, and both answers come back to it
        ask = teacher.locator(".st-key-tc_quiz__q0__ask button")
        ask.scroll_into_view_if_needed()
        ask.click()
        wait_for_app(teacher)
        for page in students:
            wait_for_text(page, C("class_asks"), timeout_ms=30_000)
            box = page.locator(".st-key-class_question")
            box.locator("input[type='text']").fill("7")
            box.get_by_role("button", name=C("class_send")).click()
            wait_for_text(page, "Your answer is in", timeout_ms=30_000)
        wait_for_text(teacher, "2 answers ·", timeout_ms=30_000)
        no_exception(teacher)
    finally:
        for ctx in contexts:
            ctx.close()
        if proxy:
            proxy.stop()
        stop_server(one)
        stop_server(two)
