"""Training runs past one machine: the RQ queue in Redis and a real ``rq worker`` (Debian's redis-server, the
app's own worker loop in the RQ job); the page reads, pauses, steps and stops a remote run as a local one."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from core.training import remote, workers
from tests.conftest import ROOT
from tests.test_workers import _tiny


def _worker(url: str, name: str) -> subprocess.Popen:
    """``rq worker studio-train`` in a checkout of the app, as a training machine runs it."""
    rq = Path(sys.executable).with_name("rq")
    return subprocess.Popen([str(rq), "worker", remote.QUEUE_NAME, "--url", url, "--path", str(ROOT), "--name", name,
                             "--quiet"], cwd=ROOT, env=dict(os.environ, OMP_NUM_THREADS="1"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def _wait(predicate, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.1)
    return predicate()


def test_a_run_waits_for_a_worker_then_trains_on_it_and_stops_with_a_validation(redis_url):
    q = remote.RemoteQueue(redis_url, threads=1)
    job, model, cfg = _tiny()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    run = q.submit(job, model, cfg=cfg, name="remote")
    snap = run.snapshot()
    assert snap.status == "queued" and snap.queue_position == 1 and q.n_slots == 0  # no worker listens yet
    second = q.submit(*_tiny()[:2], cfg=cfg, name="second")
    assert second.snapshot().queue_position == 2
    second.stop()  # a queued run just leaves the queue
    assert second.snapshot().status == "stopped" and second.done
    proc = _worker(redis_url, "machine-a")
    try:
        snap = run.wait_for(lambda s: len(s.steps) >= 5, timeout=120)
        assert run.pid is not None and run.pid != os.getpid() and q.n_slots == 1
        assert snap.status == "running" and snap.queue_position is None and q.running == [run]
        run.pause()
        n = len(run.snapshot().steps)
        assert run.snapshot().status == "paused"
        run.step()
        assert len(run.snapshot().steps) == n + 1
        run.stop()
        snap = run.wait_for(lambda s: s.status == "stopped", timeout=60)
        assert snap.status == "stopped" and run.done and q.running == []
        assert snap.vals and snap.vals[-1]["step"] == len(snap.steps) < 25  # the stop's own validation
        assert snap.last_val["pred"].shape == (2, 32, 32)
        trained = run.model.state_dict()  # the worker's weights, through Redis, in the page's copy
        assert any(not torch.equal(before[k], trained[k]) for k in before)
    finally:
        run.abort()
        _stop(proc)


def test_a_worker_ends_a_run_whose_page_has_gone(redis_url, monkeypatch):
    monkeypatch.setattr(remote, "PAGE_GONE_S", 3.0)
    q = remote.RemoteQueue(redis_url, threads=1)
    job, model, cfg = _tiny()
    proc = _worker(redis_url, "machine-b")
    try:
        run = q.submit(job, model, cfg=cfg, name="left", start_paused=True)
        run.wait_for(lambda s: s.status == "paused" and run.pid, timeout=120)
        rq_job = run._rq_job
        run._conn.alive = lambda: False  # the page stops reading (its server went away): no more heartbeats
        assert _wait(lambda: str(rq_job.get_status(refresh=True)) in ("finished", "JobStatus.FINISHED"), 60)
    finally:
        _stop(proc)


def test_the_server_queue_is_the_rq_one_when_the_environment_names_redis(redis_url, monkeypatch):
    monkeypatch.setenv(remote.ENV, redis_url)
    monkeypatch.setattr(workers, "_server", {})
    assert isinstance(workers.queue(), remote.RemoteQueue)
    monkeypatch.delenv(remote.ENV)
    monkeypatch.setattr(workers, "_server", {})
    assert isinstance(workers.queue(), workers.TrainingQueue)


@pytest.mark.parametrize("lang", ["ro"])
def test_the_train_live_page_queues_on_redis_and_trains_on_the_worker(redis_url, monkeypatch, lang):
    from core import lessons
    from tests.conftest import page_text, run_page
    from tests.test_pages_train_runs import LONG

    monkeypatch.setenv(remote.ENV, redis_url)
    monkeypatch.setattr(workers, "_server", {})  # the server's queue, made again from the environment
    C = lessons.texts("common", lang)
    at = run_page("train_live", lang, state=LONG)
    at.button(key="tl_start").click().run()
    run = at.session_state["tl_run"]
    proc = None
    try:
        assert isinstance(run._queue, remote.RemoteQueue) and run.snapshot().status == "queued"
        at.run()
        assert not at.exception
        assert C("queue_position", position=1) + " " + C("queue_wait_remote") in page_text(at)
        proc = _worker(redis_url, "machine-c")
        run.wait_for(lambda s: len(s.steps) >= 3, timeout=120)
        at.button(key="tl_stop").click().run()
        assert run.wait_for(lambda s: s.status == "stopped", timeout=60).status == "stopped"
        at.run()
        assert not at.exception and at.get("download_button") and at.button(key="tl_keep")
    finally:
        run.abort()
        if proc is not None:
            _stop(proc)
