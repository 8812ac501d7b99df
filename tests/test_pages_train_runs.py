"""Runs a classroom can trust: they train in a worker process, survive a reload, wait their turn, keep a stop."""
import os

import pytest
from streamlit.testing.v1 import AppTest

from core import lessons
from core.training import workers
from tests.conftest import ROOT, page_text, run_page

SMALL = {"tl_model": "fcn8s", "tl_size": 32, "tl_batch": 2}
LONG = {**SMALL, "tl_steps": 5000}  # far more steps than a test waits for: it is stopped from the page


def _open_with_address(slug: str, params: dict) -> AppTest:
    """A new session opened on ``slug`` with ``params`` in its address, as F5 or a pasted link opens one."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update(params)
    at.switch_page(f"app_pages/{slug}.py")
    return at.run()


def _stop_all(*ats):
    for at in ats:
        run = at.session_state["tl_run"] if "tl_run" in at.session_state else None  # noqa: SIM401 - no .get() here
        if run is not None:
            run.abort()


def test_a_reload_with_the_address_token_finds_the_run_again():
    first = run_page("train_live", "en", state=LONG)
    first.button(key="tl_start").click().run()
    run = first.session_state["tl_run"]
    token = first.session_state["run_token"]
    try:
        assert isinstance(run, workers.WorkerRun)
        assert run.wait_for(lambda s: len(s.steps) >= 2 and run.pid).steps
        assert run.pid != os.getpid()  # the run trains in a process of its own, not in the page's
        reloaded = _open_with_address("train_live", {"run": token})  # F5: a new session, the same address
        assert not reloaded.exception
        assert reloaded.session_state["tl_run"] is run and reloaded.session_state["tl_history"] == [run]
        assert reloaded.button(key="tl_stop").disabled is False  # its controls are there again
        stranger = run_page("train_live", "en")  # a session without the token: a fresh page
        assert "tl_run" not in stranger.session_state or stranger.session_state["tl_run"] is None
        assert "run_token" not in stranger.session_state  # no run, no token in its address
    finally:
        run.abort()


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_a_stop_before_the_first_validation_still_offers_keep_and_download(lang):
    T = lessons.texts("train_live", lang)
    at = run_page("train_live", lang, state=LONG)
    at.button(key="tl_start").click().run()
    run = at.session_state["tl_run"]
    try:
        run.wait_for(lambda s: len(s.steps) >= 2)
        at.button(key="tl_stop").click().run()  # returns once the worker has validated and ended
        snap = run.snapshot()
        assert snap.status == "stopped" and len(snap.steps) < 25  # the first validation was still to come
        assert snap.last_val["step"] == len(snap.steps)
        at.run()
        assert not at.exception
        assert T("val_title", step=len(snap.steps)) in page_text(at)
        assert at.get("download_button") and at.button(key="tl_keep")
        at.button(key="tl_keep").click().run()
        assert list(at.session_state["trained_models"]) == [run.name]
    finally:
        run.abort()


def test_keep_waits_for_room_when_the_session_keeps_its_limit_of_models():
    from core import limits

    C, T = lessons.texts("common", "en"), lessons.texts("train_live", "en")
    full = {f"earlier {k}": b"checkpoint" for k in range(limits.KEPT_MODELS)}
    at = run_page("train_live", "en", state={**LONG, "trained_models": dict(full)})
    at.button(key="tl_start").click().run()
    run = at.session_state["tl_run"]
    try:
        run.wait_for(lambda s: len(s.steps) >= 2)
        at.button(key="tl_stop").click().run()
        at.run()
        assert not at.exception
        assert at.button(key="tl_keep").disabled  # no room: nothing is dropped without the student's choice
        assert any(w.value == C("limit_full", n=limits.KEPT_MODELS, what=T("kept_what")) for w in at.warning)
        at.selectbox(key="tl_kept_pick").set_value("earlier 0")
        at.button(key="tl_kept_remove").click().run()
        assert "earlier 0" not in at.session_state["trained_models"]
        assert not at.button(key="tl_keep").disabled
        at.button(key="tl_keep").click().run()
        assert run.name in at.session_state["trained_models"]
        assert len(at.session_state["trained_models"]) == limits.KEPT_MODELS
    finally:
        run.abort()


def test_with_one_slot_the_second_student_waits_in_the_queue_then_trains(monkeypatch):
    monkeypatch.setenv("STUDIO_TRAIN_SLOTS", "1")
    for r in workers.queue().running:  # runs left by other tests in this process
        r.wait_for(lambda s: False, timeout=60)
    first = run_page("train_live", "en", state=LONG)
    second = run_page("train_live", "ro", state={**SMALL, "tl_steps": 30})
    try:
        first.button(key="tl_start").click().run()
        first.session_state["tl_run"].wait_for(lambda s: s.status == "running")
        second.button(key="tl_start").click().run()
        waiting = second.session_state["tl_run"]
        assert waiting.snapshot().status == "queued" and waiting.pid is None
        assert not second.exception, [e.value for e in second.exception]
        R = lessons.texts("common", "ro")
        assert R("queue_position", position=1) in page_text(second)
        assert second.metric[0].value == lessons.texts("train_live", "ro")("status_queued")
        assert not second.button(key="tl_stop").disabled and second.button(key="tl_step").disabled
        first.button(key="tl_stop").click().run()
        snap = waiting.wait_for(lambda s: s.status == "finished", timeout=120)
        assert snap.status == "finished" and len(snap.steps) == 30
        second.run()
        assert not second.exception and R("queue_position", position=1) not in page_text(second)
    finally:
        _stop_all(first, second)
