"""Training runs in worker processes: the queue's limit, pause/step/stop as messages, the registry by browser."""
import os
import time

import torch
from torch import nn

from core.data.streets import CLASSES
from core.training import workers
from core.training.loop import TrainConfig, segmentation_job
from core.training.runs import BackgroundRun


def _tiny(steps=2000, val_every=50):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, len(CLASSES), 1))
    cfg = TrainConfig(size=32, batch_size=2, steps=steps, val_every=val_every, val_size=2, device="cpu")
    return workers.Job(segmentation_job, {"cfg": cfg, "model": model}), model, cfg


def test_a_run_trains_in_another_process_and_stops_with_a_validation():
    q = workers.TrainingQueue(n_slots=1, threads=1)
    job, model, cfg = _tiny()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    run = q.submit(job, model, cfg=cfg, name="a")
    snap = run.wait_for(lambda s: len(s.steps) >= 5)
    assert run.pid is not None and run.pid != os.getpid()
    # a lower CPU priority than the page's process: the students' reruns go first when the cores are busy
    assert os.getpriority(os.PRIO_PROCESS, run.pid) == os.getpriority(os.PRIO_PROCESS, 0) + workers.worker_niceness()
    run.stop()  # before the first validation (step 25)
    snap = run.wait_for(lambda s: s.status == "stopped")
    assert snap.status == "stopped" and run.done
    n = len(snap.steps)
    assert snap.vals and snap.vals[-1]["step"] == n < 25  # the stop brought one validation of the steps taken
    assert snap.last_val["pred"].shape == (2, 32, 32)
    trained = run.model.state_dict()  # the worker's weights, loaded into the page's copy
    assert any(not torch.equal(before[k], trained[k]) for k in before)
    assert q.running == [] and q.waiting == []


def test_pause_and_one_step_are_messages_answered_between_two_steps():
    q = workers.TrainingQueue(n_slots=1, threads=1)
    job, model, cfg = _tiny(val_every=5)
    run = q.submit(job, model, cfg=cfg, start_paused=True)
    assert run.wait_for(lambda s: s.status == "paused" and run.pid).steps == []
    for k in range(1, 7):  # across the validation at step 5: it comes with its step
        run.step()
        snap = run.snapshot()
        assert (snap.status, len(snap.steps)) == ("paused", k)
        assert (snap.last_val or {}).get("step") == (5 if k >= 5 else None)
    run.resume()
    run.wait_for(lambda s: len(s.steps) >= 10)
    run.pause()
    n = len(run.snapshot().steps)
    assert run.snapshot().status == "paused"
    assert len(run.wait_for(lambda s: len(s.steps) > n, timeout=0.5).steps) == n
    run.stop()
    assert run.snapshot().status == "stopped"


def test_one_slot_queues_the_second_run_until_the_first_stops():
    q = workers.TrainingQueue(n_slots=1, threads=1)
    first = q.submit(*_tiny()[:2], cfg=_tiny()[2])
    job, model, cfg = _tiny(steps=30)
    second = q.submit(job, model, cfg=cfg)
    snap = second.snapshot()
    assert (snap.status, snap.queue_position) == ("queued", 1)
    first.wait_for(lambda s: len(s.steps) >= 25)
    wait = second.wait_for(lambda s: s.wait_s is not None).wait_s  # the first run's steps left at its speed
    assert wait is not None and 0 < wait
    assert second.snapshot().status == "queued" and second.pid is None
    first.stop()
    snap = second.wait_for(lambda s: s.status == "finished")
    assert snap.status == "finished" and len(snap.steps) == 30 and second.pid not in (None, first.pid)


def test_a_queued_run_that_is_stopped_leaves_the_queue():
    q = workers.TrainingQueue(n_slots=1, threads=1)
    job, model, cfg = _tiny()
    first = q.submit(job, model, cfg=cfg)
    second, third = (q.submit(*_tiny()[:2], cfg=cfg) for _ in range(2))
    assert third.snapshot().queue_position == 2
    second.stop()
    assert second.snapshot().status == "stopped" and third.snapshot().queue_position == 1
    first.abort()
    assert first.wait_for(lambda s: s.status == "stopped").status == "stopped"
    third.wait_for(lambda s: s.status == "running")
    third.abort()
    assert third.wait_for(lambda s: s.status == "stopped").status == "stopped"


def test_failures_come_back_as_a_sentence():
    q = workers.TrainingQueue(n_slots=1, threads=1)
    model = nn.Conv2d(3, 2, 1)  # 2 output classes for 6 labels: cross-entropy refuses
    cfg = TrainConfig(size=16, batch_size=1, steps=3, device="cpu")
    run = q.submit(workers.Job(segmentation_job, {"cfg": cfg, "model": model}), model, cfg=cfg)
    snap = run.wait_for(lambda s: s.status == "failed")
    assert snap.status == "failed" and "Error" in snap.error


def test_a_job_that_cannot_be_pickled_trains_in_a_thread():
    model = nn.Conv2d(3, 2, 1)
    items = ({"kind": "step", "step": i, "loss": 1.0, "elapsed_s": 0.0} for i in range(1, 4))
    run = workers.start(workers.Job(lambda: (model, items)), model, name="local")
    assert isinstance(run, BackgroundRun)
    assert run.wait_for(lambda s: s.status == "finished").steps[-1]["step"] == 3


def test_slots_follow_the_environment(monkeypatch):
    monkeypatch.setenv("STUDIO_TRAIN_SLOTS", "3")
    assert workers.slots() == 3
    monkeypatch.delenv("STUDIO_TRAIN_SLOTS")
    monkeypatch.setenv("STUDIO_TRAIN_THREADS", "2")
    expected = torch.cuda.device_count() if torch.cuda.is_available() else max(1, workers.cores() // 2)
    assert (workers.threads_per_run(), workers.slots()) == (2, expected)


def test_the_registry_gives_a_token_its_runs_back_and_refuses_another_browser():
    reg = workers.RunRegistry(idle_s=600)
    store = reg.attach("t1", owner="browser-a")
    store["tl_run"] = "a run"
    assert reg.attach("t1", owner="browser-a") is store and store["tl_run"] == "a run"
    assert reg.attach("t1", owner="browser-b") is None  # an address copied to a classmate
    assert reg.attach("t1", owner="") is store  # no cookie to compare (tests, a bare client)


def test_an_unwatched_token_has_its_runs_stopped_and_is_dropped():
    q = workers.TrainingQueue(n_slots=1, threads=1)
    reg = workers.RunRegistry(idle_s=600)
    job, model, cfg = _tiny()
    run = q.submit(job, model, cfg=cfg)
    reg.attach("t2")["tl_history"] = [run]
    run.wait_for(lambda s: len(s.steps) >= 1)
    assert reg.sweep() == []
    assert reg.sweep(now=time.monotonic() + 601) == ["t2"] and "t2" not in reg
    assert run.wait_for(lambda s: s.status == "stopped").status == "stopped" and q.running == []


def test_attach_without_create_leaves_an_unknown_token_unknown():
    reg = workers.RunRegistry(idle_s=600)
    assert reg.attach("t3", create=False) is None and "t3" not in reg
    reg.attach("t3", owner="a")["x"] = 1
    assert reg.attach("t3", owner="a", create=False) == {"x": 1}
    assert reg.attach("t3", owner="b", create=False) is None


def test_a_page_still_open_keeps_its_runs_past_the_idle_time():
    reg = workers.RunRegistry(idle_s=600)
    page = {"open": True}
    reg.attach("t4", watcher=("session-1", lambda: page["open"]))["pt_run"] = "a paused run"
    later = time.monotonic() + 601
    assert reg.sweep(now=later) == [] and "t4" in reg  # paused, and the class is talking: the tab is open
    page["open"] = False  # the tab was closed
    assert reg.sweep(now=later) == ["t4"] and "t4" not in reg
