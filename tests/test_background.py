"""Background jobs (core/background.py) and the sections that wait for them (common.prepared)."""
import threading
import time

import pytest


from core import lessons
from core.background import Jobs, once


def test_one_job_per_key_whoever_asks():
    jobs, calls, gate = Jobs(), [], threading.Event()

    def work(x):
        gate.wait(5)
        calls.append(x)

    first = jobs.start("k", work, 1)
    assert jobs.start("k", work, 2) is first and not jobs.done("k")  # asked again while running: the same job
    gate.set()
    assert jobs.wait("k", 5) and jobs.done("k")
    assert jobs.start("k", work, 3) is first  # finished: not run again
    assert calls == [1] and jobs.started == 1


def test_a_failed_job_is_tried_again_and_others_still_run():
    jobs, attempts = Jobs(), []

    def flaky():
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("the file is not there yet")

    failed = jobs.start("f", flaky)
    assert jobs.wait("f", 5) and isinstance(failed.future.exception(), OSError)
    jobs.start("g", attempts.append, 2)
    again = jobs.start("f", flaky)
    assert again is not failed and jobs.wait_all(5) and again.future.exception() is None
    assert attempts == [1, 2, 1] and jobs.get("f").finished is not None


def test_waiting_is_bounded():
    jobs, gate = Jobs(), threading.Event()
    jobs.start("slow", gate.wait, 5)
    t0 = time.monotonic()
    assert not jobs.wait("slow", 0.05) and not jobs.wait_all(0.05)
    assert time.monotonic() - t0 < 2
    assert not jobs.wait("never started", 0.01)
    gate.set()
    assert jobs.wait_all(5)


def test_only_finished_keys_are_forgotten():
    jobs = Jobs(keep=2)
    for k in range(4):
        jobs.start(k, lambda: None)
        jobs.wait(k, 5)
    assert jobs.get(0) is None and jobs.get(3) is not None


def test_once_computes_each_arguments_once_and_a_second_caller_waits():
    calls, gate = [], threading.Event()

    @once
    def slow(x, scale=2):
        calls.append(x)
        gate.wait(5)
        return x * scale

    first = threading.Thread(target=slow, args=(3,))
    first.start()
    time.sleep(0.05)
    assert not slow.kept(3)  # being computed
    second = []
    waiter = threading.Thread(target=lambda: second.append(slow(3, scale=2)))  # the default said: the same call
    waiter.start()
    gate.set()
    first.join(5)
    waiter.join(5)
    assert second == [6] and calls == [3] and slow.kept(3) and slow.kept(x=3)
    assert slow(4) == 8 and calls == [3, 4] and not slow.kept(5)


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_mask_rcnn_is_prepared_beside_the_page(lang):
    """The FPN page's first run draws our FPN and says Mask R-CNN is being prepared; the next run shows it."""
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT
    from core.background import JOBS

    T = lessons.texts("fpn_mask_rcnn", lang)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["lang"] = lang
    at.session_state["fm_size"] = 640  # a size no other test asks for: not prepared yet
    at.switch_page("app_pages/fpn_mask_rcnn.py")
    at.run()
    assert not at.exception
    waiting = [i.value for i in at.info if T("preparing", size=640) in i.value]
    if waiting:  # (in the other language's run the job may be finished already)
        assert not at.dataframe  # the heads' table comes with the run
        assert "max |Δ| = 0" in at.success[0].value  # our FPN, checked against torchvision, did not wait
        assert JOBS.wait_all(120)
        at.run()
    assert not at.exception and not [i for i in at.info if T("preparing", size=640) in i.value]
    assert at.dataframe and T.table("stages")["mask_logits"] in at.dataframe[0].value.iloc[:, 0].tolist()
