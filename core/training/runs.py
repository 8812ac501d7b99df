"""A training run in a background thread that the page can start, pause, step, stop and watch.

The pages' runs train in worker processes (:mod:`core.training.workers`, whose :class:`WorkerRun` has this
class's interface); a thread of the page's process is what is left for a job that cannot be pickled, like the
FCN page's short demonstration run, and for tests of the loop's control.

The page must stay responsive while a network trains, so :class:`BackgroundRun` drives the
:func:`core.training.loop.train` generator from a thread of its own and keeps what the page draws — the
metric history, the latest validation with its predictions — behind a lock. Control is by events:
``pause()`` makes the thread wait between two steps, ``step()`` lets exactly one step through, and
``stop()`` ends it. ``pause()`` and ``step()`` return once the thread has really stopped between two steps
(bounded in time), so what the page draws right after the click is the state the run holds: a step still
in flight when Pause was pressed is counted before the page shows the pause, and "One step" then shows
exactly one more. A step whose validation follows it (``"val_follows"`` in the loop's step item) is never
separated from that validation. ``alive`` is a callable the thread asks now and then ("is the user still there?");
when it says no — the browser tab was closed — the run stops by itself, so no orphan keeps the CPU busy.

Besides its metrics a run carries what the page needs to draw it again on any rerun — its settings, its
validation images, its class names or pose network — given as keyword arguments when it starts and
never changed after.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import torch

from core.training.loop import TrainConfig


@dataclass
class RunSnapshot:
    """A consistent copy of a run's state, safe to read while the thread goes on."""

    status: str  # "queued", "running", "paused", "finished", "stopped" or "failed"
    steps: list[dict] = field(default_factory=list)  # every step item (loss, lr, images_per_s, ...)
    vals: list[dict] = field(default_factory=list)  # every validation item, without predictions
    last_val: dict | None = None  # the latest validation, with "pred" and "confusion"
    error: str | None = None
    queue_position: int | None = None  # queued: 1 when it is the next run to start (core.training.workers)
    wait_s: float | None = None  # queued: the estimated seconds until it starts, None when not known yet


class Watched:
    """What every kind of run gives the page besides its controls: ``snapshot()``, ``done`` and ``wait_for``."""

    done: bool

    def snapshot(self) -> RunSnapshot:
        raise NotImplementedError

    def wait_for(self, predicate: Callable[[RunSnapshot], bool], timeout: float = 30.0) -> RunSnapshot:
        """Block until ``predicate(snapshot)`` holds or the run ends (for tests and the command line)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            snap = self.snapshot()
            if predicate(snap) or self.done:
                return snap
            time.sleep(0.02)
        return self.snapshot()


class BackgroundRun(Watched):
    def __init__(self, items: Iterator[dict], model: torch.nn.Module, alive: Callable[[], bool] = lambda: True,
                 start_paused: bool = False, name: str = "", *, cfg: TrainConfig | None = None,
                 val_data: tuple[torch.Tensor, torch.Tensor] | None = None, class_names: Sequence[str] = (),
                 kind: str = "", sigma: float | None = None, kinds: Sequence[str] = ()):
        self.name = name  # the run's label on the page ("Run 2 · unet · 64 px")
        self.model = model  # trained in place by the thread (a ModuleDict of the contenders in a race)
        # --- what the page draws besides the metrics, fixed at the start ---------------------------
        self.cfg = cfg  # the loop's settings: steps, size, val_every, seed, ...
        self.val_data = val_data  # segmentation: the fixed (x, y) batch its mIoU is measured on
        self.class_names = list(class_names)  # segmentation: the names of the classes it learns
        self.kind = kind  # pose: the network that learns ("hrnet", "hourglass", "regression")
        self.sigma = sigma  # pose: the width of the target heatmaps' Gaussian hills, in heatmap pixels
        self.kinds = list(kinds)  # a race: the contenders, in the order they take their steps
        self._items = items
        self._alive = alive
        self._lock = threading.Lock()
        self._go = threading.Event()  # set: steps flow; clear: the thread waits between steps
        self._stop = threading.Event()
        self._single = threading.Event()  # one step through, then pause again
        self._single_after = 0  # the number of steps there were when "one step" was asked
        self._idle = threading.Event()  # set while the thread waits between two steps (or has ended)
        self._steps: list[dict] = []
        self._vals: list[dict] = []
        self._last_val: dict | None = None
        self._status = "paused" if start_paused else "running"
        self._error: str | None = None
        if not start_paused:
            self._go.set()
        self._thread = threading.Thread(target=self._work, name=f"train-{name}", daemon=True)
        self._thread.start()

    # --- the thread ---------------------------------------------------------------------------------
    def _wait_for_permission(self) -> bool:
        """Block while paused; False when the run must end."""
        last_check = time.monotonic()
        while not self._go.is_set():
            self._idle.set()
            if self._stop.is_set():
                return False
            if time.monotonic() - last_check > 2.0:  # paused runs also notice a closed tab
                last_check = time.monotonic()
                if not self._alive():
                    self._stop.set()
                    return False
            self._go.wait(0.1)
        self._idle.clear()
        return not self._stop.is_set()

    def _pause_here(self) -> None:
        """The single step asked for is done: wait again."""
        self._single.clear()
        self._go.clear()
        with self._lock:
            self._status = "paused"

    def _work(self) -> None:
        steps_since_check = 0
        hold = False  # the last step's validation is still to come: take it before pausing
        try:
            while (hold and not self._stop.is_set()) or self._wait_for_permission():
                try:
                    item = next(self._items)
                except StopIteration:
                    with self._lock:
                        self._status = "finished"
                    return
                with self._lock:
                    if item["kind"] == "step":
                        self._steps.append(item)
                    else:
                        self._vals.append({k: v for k, v in item.items() if k not in ("pred", "confusion")})
                        self._last_val = item
                    n_steps = len(self._steps)
                hold = item["kind"] == "step" and bool(item.get("val_follows"))
                if not hold and self._single.is_set() and n_steps > self._single_after:
                    self._pause_here()
                if item["kind"] == "step":
                    steps_since_check += 1
                    if steps_since_check >= 20:
                        steps_since_check = 0
                        if not self._alive():
                            self._stop.set()
            with self._lock:
                self._status = "stopped"
        except Exception as err:  # noqa: BLE001 - shown to the user as a sentence, not a traceback
            with self._lock:
                self._status, self._error = "failed", f"{type(err).__name__}: {err}"
        finally:
            self._idle.set()
            close = getattr(self._items, "close", None)
            if close:
                close()

    def _wait_idle(self, wait: float) -> None:
        """Return once the thread waits between two steps or has ended, or after ``wait`` seconds."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and not self._idle.is_set() and self._thread.is_alive():
            self._idle.wait(0.02)

    # --- control from the page ----------------------------------------------------------------------
    def pause(self, wait: float = 15.0) -> None:
        """Pause between two steps; returns when the step in flight (and its validation) is counted."""
        self._go.clear()
        with self._lock:
            if self._status == "running":
                self._status = "paused"
        self._wait_idle(wait)

    def resume(self) -> None:
        with self._lock:
            if self._status == "paused":
                self._status = "running"
        self._single.clear()
        self._idle.clear()
        self._go.set()

    def step(self, wait: float = 15.0) -> None:
        """Let exactly one training step through, then pause; returns when it is done (or after ``wait`` s,
        then the page's live view sees the pause when it comes)."""
        with self._lock:
            if self._status not in ("paused", "running"):
                return
            self._status = "running"
            self._single_after = len(self._steps)
        self._single.set()
        self._idle.clear()
        self._go.set()
        self._wait_idle(wait)

    def stop(self, wait: float = 5.0) -> None:
        self._stop.set()
        self._go.set()
        self._thread.join(wait)

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def snapshot(self) -> RunSnapshot:
        with self._lock:
            return RunSnapshot(self._status, list(self._steps), list(self._vals), self._last_val, self._error)
