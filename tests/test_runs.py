"""The background run: it trains while the caller goes on, and obeys pause, step and stop."""
import torch
from torch import nn

from core.data.streets import CLASSES
from core.training.loop import TrainConfig, train
from core.training.runs import BackgroundRun


def _run(steps=1000, **kw):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, len(CLASSES), 1))
    cfg = TrainConfig(size=32, batch_size=2, steps=steps, val_every=5, val_size=2, device="cpu")
    return BackgroundRun(train(cfg, model), model, **kw)


def test_runs_to_the_end_in_the_background():
    run = _run(steps=12)
    snap = run.wait_for(lambda s: s.status == "finished")
    assert snap.status == "finished" and len(snap.steps) == 12
    assert [v["step"] for v in snap.vals] == [5, 10, 12]
    assert "pred" in snap.last_val and "pred" not in snap.vals[-1]


def test_pause_step_resume_stop():
    run = _run(start_paused=True)
    assert run.snapshot().status == "paused" and not run.snapshot().steps
    run.step()
    snap = run.wait_for(lambda s: len(s.steps) >= 1 and s.status == "paused")
    assert len(snap.steps) == 1 and snap.status == "paused"
    run.resume()
    snap = run.wait_for(lambda s: len(s.steps) >= 8)
    run.pause()
    n = len(run.wait_for(lambda s: s.status == "paused").steps)
    assert run.wait_for(lambda s: len(s.steps) > n + 1, timeout=0.5).steps.__len__() <= n + 1
    run.stop()
    assert run.done and run.snapshot().status == "stopped"


def test_a_closed_session_stops_the_run():
    alive = {"yes": True}
    run = _run(alive=lambda: alive["yes"])
    run.wait_for(lambda s: len(s.steps) >= 3)
    alive["yes"] = False
    snap = run.wait_for(lambda s: s.status == "stopped", timeout=30)
    assert snap.status == "stopped"


def test_errors_become_a_sentence():
    model = nn.Conv2d(3, 2, 1)
    cfg = TrainConfig(size=16, batch_size=1, steps=3, device="cpu")
    run = BackgroundRun(train(cfg, model), model)  # 2 output classes for 6 labels: cross-entropy refuses
    snap = run.wait_for(lambda s: s.status == "failed")
    assert snap.status == "failed" and snap.error


def test_a_run_carries_what_it_was_started_with():
    cfg = TrainConfig(size=32, batch_size=2, steps=3, val_every=5, val_size=2, device="cpu")
    run = _run(steps=3, start_paused=True, name="Run 1", cfg=cfg, class_names=("sky", "road"))
    assert (run.name, run.cfg, run.class_names) == ("Run 1", cfg, ["sky", "road"])
    assert (run.val_data, run.kind, run.sigma, run.kinds) == (None, "", None, [])  # the pose fields stay unset
    run.stop()


def test_one_step_after_pause_advances_exactly_one_step_and_brings_its_validation():
    run = _run()
    run.wait_for(lambda s: len(s.steps) >= 3)
    run.pause()  # returns once the step in flight is counted: what is read now is what stays
    snap = run.snapshot()
    n = len(snap.steps)
    assert snap.status == "paused"
    assert len(run.wait_for(lambda s: len(s.steps) > n, timeout=0.5).steps) == n
    for k in range(1, 8):  # across a validation step (val_every=5): it comes with its step, never later
        run.step()
        snap = run.snapshot()
        assert (snap.status, len(snap.steps)) == ("paused", n + k)
        if snap.steps[-1]["step"] % 5 == 0:
            assert snap.last_val["step"] == snap.steps[-1]["step"]
        assert len(run.wait_for(lambda s: len(s.steps) > n + k, timeout=0.2).steps) == n + k
    run.stop()
    assert run.done and run.snapshot().status == "stopped"


def test_one_step_while_running_is_the_next_step_then_a_pause():
    run = _run()
    run.wait_for(lambda s: len(s.steps) >= 2)
    run.step()
    n = len(run.snapshot().steps)
    assert run.snapshot().status == "paused"
    assert len(run.wait_for(lambda s: len(s.steps) > n, timeout=0.5).steps) == n
    run.stop()
