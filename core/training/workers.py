"""Training runs in worker processes, fed by a queue with a limit: a room of runs never starves the pages.

A Streamlit server reruns every student's page in one process. A run trained in a thread of that process
competes with the page reruns for the interpreter lock and with the other runs for the cores (measured with
four runs at once: one or two steps each in 30 s, and other students' sliders unanswered for 40 s). So a
run here is a *job* — a module-level function and its arguments, pickled — that a fresh worker process
executes, on ``threads_per_run()`` torch threads. The worker is a new interpreter, as multiprocessing's
``spawn`` start method makes one, but started directly (``subprocess`` with one end of a socket pair, spoken
to through :class:`multiprocessing.connection.Connection`): ``spawn`` would re-run the parent's
``__main__`` in the child, and inside a Streamlit server that is the page script being run. At most
``slots()`` workers train at once; the runs after them wait in a first-come queue and learn their
position and an estimate of their wait. The page process only reads what the worker sends back over a
pipe: every step and validation item (the latest validation with its predictions) and the weights
(``state_dict`` bytes, loaded with ``torch.load(weights_only=True)``) after each validation, on a pause
and at the end.

:class:`WorkerRun` keeps the interface of :class:`core.training.runs.BackgroundRun` — ``pause``,
``resume``, ``step``, ``stop``, ``snapshot``, ``done``, ``wait_for``, ``model`` — so the pages change
little; pause, step and stop are messages to the worker, answered between two steps. ``stop`` ends with
one more validation of what was learned, so the mIoU, the predictions and the weights to keep are there
after every stop. A finished, stopped, failed or dropped run frees its slot at once.

:class:`RunRegistry` gives the runs to a *browser* rather than to one websocket session: the page keeps a
random token in its address, the registry maps the token to the page's runs, and a reload finds them
again. A token nobody has looked at for ``idle_s`` seconds has its runs stopped and is dropped.

Settings (environment variables, read whenever a run is queued or starts):

- ``STUDIO_TRAIN_SLOTS`` — how many runs train at once (default: the number of GPUs on CUDA, else
  ``max(1, cores // threads_per_run)``);
- ``STUDIO_TRAIN_THREADS`` — torch threads per run (default 1: the small models gain nothing from more,
  and one per run keeps concurrent runs from oversubscribing the cores);
- ``STUDIO_TRAIN_NICE`` — how much lower the workers' CPU priority is than the server's (default 10): when
  every core is busy, a student's page rerun goes before a training step;
- ``STUDIO_RUN_IDLE_S`` — seconds after which an unwatched browser's runs are stopped (default 600).

Only a job that cannot be pickled (a generator made on the page, say) trains in a thread of the page's
process instead (:func:`start`); the FCN page's short demonstration run is such a case.
"""
from __future__ import annotations

import heapq
import io
import os
import pickle
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import torch

from core.training.runs import BackgroundRun, RunSnapshot, Watched

ROOT = Path(__file__).resolve().parents[2]  # the project, importable in the worker
IDLE_S_DEFAULT = 600.0  # ten minutes without anyone looking: the run is stopped and forgotten
RATE_WINDOW = 20  # steps/s is read over the latest this many steps


# --- settings --------------------------------------------------------------------------------------

def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def threads_per_run() -> int:
    """Torch threads of one worker: ``STUDIO_TRAIN_THREADS``, default 1."""
    return max(1, int(os.environ.get("STUDIO_TRAIN_THREADS", "1")))


def worker_niceness() -> int:
    """How much lower a worker's CPU priority is than the server's: ``STUDIO_TRAIN_NICE``, default 10."""
    return max(0, int(os.environ.get("STUDIO_TRAIN_NICE", "10")))


def slots() -> int:
    """How many runs train at once: ``STUDIO_TRAIN_SLOTS``, else one per GPU, else ``cores // threads``."""
    asked = os.environ.get("STUDIO_TRAIN_SLOTS")
    if asked:
        return max(1, int(asked))
    if torch.cuda.is_available():
        return torch.cuda.device_count()
    return max(1, cores() // threads_per_run())


# --- what a worker executes ------------------------------------------------------------------------

@dataclass
class Job:
    """A run to execute elsewhere: ``make(**kwargs)`` returns ``(model, items)``, the module it trains in place
    and the loop's generator of metrics. ``make`` must be a module-level function (pickled by name)."""

    make: Callable
    kwargs: dict = field(default_factory=dict)


def _state_bytes(model: torch.nn.Module) -> bytes:
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buf)
    return buf.getvalue()


def _send(conn, *message) -> None:
    # plain pickle: tensors travel by value, not through shared memory that would outlive the sender
    conn.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def _worker_entry() -> None:
    """The worker's command line (``fd threads paused``): a new interpreter, no thread or lock inherited."""
    fd, threads, paused = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
    if hasattr(os, "nice"):  # the pages' reruns come first when the cores are all busy; training takes the rest
        os.nice(worker_niceness())
    _worker_main(Connection(fd), threads, paused)


def _worker_main(conn, threads: int, start_paused: bool) -> None:
    """The worker process: train the job, obey the page's messages between two steps, report everything."""
    torch.set_num_threads(threads)
    paused, single, hold, finish, last_kind, started = start_paused, False, False, False, None, False
    answered = 0  # the number of the page's latest message obeyed: a pause says it, so the page knows its turn
    items = None
    try:
        _, job_bytes = pickle.loads(conn.recv_bytes())  # the page process, our parent, sends the job first
        job: Job = pickle.loads(job_bytes)  # pickled by the page a moment ago: a trusted source
        model, items = job.make(**job.kwargs)
        _send(conn, "started", os.getpid())

        def obey(message: str, number: int) -> None:
            nonlocal paused, single, finish, answered
            answered = number
            if message == "pause":
                paused = True
            elif message == "resume":
                paused, single = False, False
            elif message == "step":
                paused, single = False, True
            elif message == "stop":
                finish = True

        while True:
            while conn.poll():
                obey(*pickle.loads(conn.recv_bytes()))
            if finish and not hold:
                if started and last_kind == "step":  # one last validation of what was learned
                    try:
                        item = items.send("finish")
                        if item.get("kind") == "val":
                            _send(conn, "item", item)
                    except StopIteration:
                        pass
                _send(conn, "weights", _state_bytes(model))
                _send(conn, "end", "stopped", None)
                return
            if paused and not hold:
                _send(conn, "weights", _state_bytes(model))
                _send(conn, "paused", answered)
                obey(*pickle.loads(conn.recv_bytes()))  # wait for the next message
                if not paused:
                    _send(conn, "running", answered)
                continue
            try:
                item = next(items)
            except StopIteration:
                _send(conn, "weights", _state_bytes(model))
                _send(conn, "end", "finished", None)
                return
            started, last_kind = True, item["kind"]
            _send(conn, "item", item)
            if item["kind"] == "val":  # the weights that scored this validation: what "keep" keeps
                _send(conn, "weights", _state_bytes(model))
            hold = item["kind"] == "step" and bool(item.get("val_follows"))
            if single and not hold and item["kind"] in ("step", "val"):
                single, paused = False, True
    except (EOFError, BrokenPipeError, OSError):  # the page's process went away: nothing to report to
        return
    except Exception as err:  # noqa: BLE001 - shown to the user as a sentence, not a traceback
        try:
            _send(conn, "end", "failed", f"{type(err).__name__}: {err}")
        except (BrokenPipeError, OSError):
            pass
    finally:
        if items is not None and hasattr(items, "close"):
            items.close()


# --- the page's side of one run --------------------------------------------------------------------

class WorkerRun(Watched):
    """A run executed by a worker process, seen from the page: the interface of ``BackgroundRun``.

    ``model`` is the page's own copy of the network, with the latest weights the worker sent loaded into it
    when read. ``pid`` is the worker's process id once it has started (None while queued).
    """

    def __init__(self, job: Job, job_bytes: bytes, model: torch.nn.Module, queue: TrainingQueue,
                 start_paused: bool = False, name: str = "", *, total_steps: int | None = None, cfg=None,
                 val_data=None, class_names: Sequence[str] = (), kind: str = "", sigma: float | None = None,
                 kinds: Sequence[str] = ()):
        self.name = name
        self.cfg, self.val_data, self.class_names = cfg, val_data, list(class_names)
        self.kind, self.sigma, self.kinds = kind, sigma, list(kinds)
        self.total_steps = total_steps if total_steps is not None else (cfg.steps if cfg is not None else None)
        self.pid: int | None = None
        self._job_bytes = job_bytes
        self._template = model  # the page's copy; the worker trains its own
        self._queue = queue
        self._start_paused = start_paused
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._status = "queued"
        self._steps: list[dict] = []
        self._vals: list[dict] = []
        self._last_val: dict | None = None
        self._error: str | None = None
        self._weights: bytes | None = None
        self._weights_loaded: bytes | None = None
        self._conn = None
        self._process = None
        self._ended = threading.Event()
        self._aborted = False
        self._told = 0  # the number of the latest message sent to the worker
        self._answered = 0  # the latest message number a pause of the worker answered

    # --- started by the queue ------------------------------------------------------------------------
    def _launch(self, threads: int) -> None:
        ours, theirs = socket.socketpair()
        code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
                "from core.training.workers import _worker_entry; _worker_entry()")
        self._process = subprocess.Popen([sys.executable, "-c", code, str(theirs.fileno()), str(threads),
                                          "1" if self._start_paused else "0"], pass_fds=[theirs.fileno()])
        theirs.close()
        self._conn = Connection(ours.detach())
        with self._lock:
            self._status = "paused" if self._start_paused else "running"
        threading.Thread(target=self._read, name=f"read-{self.name}", daemon=True).start()

    def _read(self) -> None:
        status, error = "failed", None
        try:
            try:  # sent from here: the worker reads it once torch is imported, and the page need not wait
                _send(self._conn, "job", self._job_bytes)
            except OSError:
                pass
            self._job_bytes = b""
            while True:
                try:
                    message = pickle.loads(self._conn.recv_bytes())
                except (EOFError, OSError):
                    status, error = ("stopped", None) if self._aborted else (status, "the training process ended")
                    break
                what = message[0]
                with self._changed:
                    if what == "item":
                        item = message[1]
                        if item["kind"] == "step":
                            self._steps.append(item)
                        else:
                            self._vals.append({k: v for k, v in item.items() if k not in ("pred", "confusion")})
                            self._last_val = item
                    elif what == "weights":
                        self._weights = message[1]
                    elif what == "started":
                        self.pid = message[1]
                        if self._status == "queued":  # a run on the RQ queue: a worker has taken it now
                            self._status = "paused" if self._start_paused else "running"
                    elif what in ("paused", "running"):
                        if self._status in ("running", "paused"):
                            self._status = what
                        if what == "paused":
                            self._answered = max(self._answered, message[1])
                    elif what == "end":
                        status, error = message[1], message[2]
                        break
                    self._changed.notify_all()
        finally:
            with self._changed:
                self._status, self._error = status, error
                self._ended.set()
                self._changed.notify_all()
            self._queue._ended(self)  # the slot is free at once: the next run starts while this worker exits
            self._conn.close()
            if self._process is not None:  # a local worker process (an RQ worker lives on elsewhere)
                try:
                    self._process.wait(5)
                except subprocess.TimeoutExpired:
                    self._process.kill()

    def _tell(self, message: str) -> int | None:
        """Send ``message``; its number, or None when there is no worker to tell."""
        with self._lock:
            self._told += 1
            number = self._told
        try:
            _send(self._conn, message, number)
            return number
        except (OSError, AttributeError, ValueError):  # not started, or already gone
            return None

    def _await_pause(self, number: int | None, wait: float) -> None:
        """Return once the worker has paused after obeying message ``number`` (or after ``wait`` s)."""
        if number is None:
            return
        deadline = time.monotonic() + wait
        with self._changed:
            while self._answered < number and not self._ended.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._changed.wait(left)

    # --- control from the page -------------------------------------------------------------------------
    def pause(self, wait: float = 15.0) -> None:
        """Pause between two steps; returns when the worker says it waits (the step in flight is counted)."""
        with self._lock:
            if self._status != "running":
                return
            self._status = "paused"
        self._await_pause(self._tell("pause"), wait)

    def resume(self) -> None:
        with self._lock:
            if self._status != "paused":
                return
            self._status = "running"
        self._tell("resume")

    def step(self, wait: float = 15.0) -> None:
        """Exactly one more training step (with its validation when one follows it), then a pause."""
        with self._lock:
            if self._status not in ("paused", "running"):
                return
            self._status = "running"
        self._await_pause(self._tell("step"), wait)

    def stop(self, wait: float = 15.0) -> None:
        """End the run after one last validation; a queued run just leaves the queue."""
        if self._queue._cancel(self):
            return
        if self._tell("stop") is not None and wait:
            self._ended.wait(wait)

    def abort(self) -> None:
        """End now, without the last validation (a run nobody looks at any more)."""
        if self._queue._cancel(self):
            return
        self._aborted = True
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
        elif self._process is None:  # a run on an RQ worker: it ends at its next message
            self._tell("stop")

    # --- reading -------------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self._ended.is_set()

    @property
    def model(self) -> torch.nn.Module:
        """The page's copy of the network, holding the latest weights the worker sent."""
        with self._lock:
            weights = self._weights
        if weights is not None and weights is not self._weights_loaded:
            state = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
            self._template.load_state_dict(state)
            self._weights_loaded = weights
        return self._template

    def rate(self) -> float | None:
        """Steps per second over the latest steps, or None before there are two."""
        with self._lock:
            recent = self._steps[-RATE_WINDOW:]
        if len(recent) < 2 or recent[-1]["elapsed_s"] <= recent[0]["elapsed_s"]:
            return None
        return (len(recent) - 1) / (recent[-1]["elapsed_s"] - recent[0]["elapsed_s"])

    def steps_left(self) -> int | None:
        with self._lock:
            done = len(self._steps)
        return None if self.total_steps is None else max(0, self.total_steps - done)

    def snapshot(self) -> RunSnapshot:
        position, wait_s = (self._queue.position(self), self._queue.estimate(self)) if self._status == "queued" \
            else (None, None)
        with self._lock:
            return RunSnapshot(self._status, list(self._steps), list(self._vals), self._last_val, self._error,
                               queue_position=position, wait_s=wait_s)



# --- the queue -------------------------------------------------------------------------------------

class TrainingQueue:
    """At most ``n_slots`` runs train at once, each in its own worker process; the others wait, first come first
    served. A run that ends (finished, stopped, failed, aborted) frees its slot, and the next one starts."""

    def __init__(self, n_slots: int | None = None, threads: int | None = None):
        self._n_slots, self._threads = n_slots, threads  # None: the environment's, read when a run starts
        self._lock = threading.Lock()
        self._waiting: list[WorkerRun] = []
        self._running: list[WorkerRun] = []

    @property
    def n_slots(self) -> int:
        return self._n_slots if self._n_slots is not None else slots()

    @property
    def threads(self) -> int:
        return self._threads if self._threads is not None else threads_per_run()

    def submit(self, job: Job, model: torch.nn.Module, **kw) -> WorkerRun:
        """Queue ``job``; it starts at once when a slot is free. Raises ``pickle.PicklingError`` (or the
        ``TypeError``/``AttributeError`` pickle raises) when the job cannot travel to a worker."""
        run = WorkerRun(job, pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL), model, self, **kw)
        with self._lock:
            self._waiting.append(run)
        self._fill()
        return run

    def _fill(self) -> None:
        while True:
            with self._lock:
                if not self._waiting or len(self._running) >= self.n_slots:
                    return
                run = self._waiting.pop(0)
                self._running.append(run)
            run._launch(self.threads)

    def _ended(self, run: WorkerRun) -> None:
        with self._lock:
            if run in self._running:
                self._running.remove(run)
        self._fill()

    def _cancel(self, run: WorkerRun) -> bool:
        """Take a run that has not started out of the queue; False when it is not waiting."""
        with self._lock:
            if run not in self._waiting:
                return False
            self._waiting.remove(run)
        with run._changed:
            run._status = "stopped"
            run._changed.notify_all()
        run._ended.set()
        return True

    @property
    def running(self) -> list[WorkerRun]:
        with self._lock:
            return list(self._running)

    @property
    def waiting(self) -> list[WorkerRun]:
        with self._lock:
            return list(self._waiting)

    def position(self, run: WorkerRun) -> int | None:
        """1 for the next run to start, 2 for the one after it, ...; None when ``run`` is not waiting."""
        with self._lock:
            return self._waiting.index(run) + 1 if run in self._waiting else None

    def estimate(self, run: WorkerRun) -> float | None:
        """Seconds until ``run`` should start, from the running runs' steps left and their steps/s (and, for
        the runs ahead of it in the queue, their steps at the running runs' median speed); None when a run it
        waits for gives no speed yet (just started, or paused)."""
        with self._lock:
            if run not in self._waiting:
                return None
            ahead = self._waiting[:self._waiting.index(run)]
            running = list(self._running)
        rates = [r.rate() for r in running]
        free_at = [0.0] * max(0, self.n_slots - len(running))  # a free slot (the run is about to start)
        for r, rate in zip(running, rates):
            left = r.steps_left()
            if rate is None or left is None or r._status != "running":
                return None
            free_at.append(left / rate)
        known = [x for x in rates if x is not None]
        heapq.heapify(free_at)
        for r in ahead:
            if not free_at or not known or r.total_steps is None:
                return None
            typical = sorted(known)[len(known) // 2]
            heapq.heappush(free_at, heapq.heappop(free_at) + r.total_steps / typical)
        return free_at[0] if free_at else None


_server: dict = {}  # the server process's one queue and one registry, made on first use
_server_lock = threading.Lock()


def _one(kind: type):
    with _server_lock:
        if kind not in _server:
            _server[kind] = kind()
        return _server[kind]


def queue() -> TrainingQueue:
    """The server's one training queue (its limits read from the environment when a run is queued): the RQ queue
    in Redis when ``STUDIO_TRAIN_QUEUE`` names one (core/training/remote.py), else this machine's processes."""
    from core.training import remote

    return _one(remote.RemoteQueue) if remote.url() else _one(TrainingQueue)


def start(job: Job, model: torch.nn.Module, **kw) -> WorkerRun | BackgroundRun:
    """Queue ``job`` for a worker process; only if it cannot be pickled, train it in a thread of this process.

    ``kw`` are :class:`WorkerRun`'s keyword arguments (``name``, ``cfg``, ``val_data``, ``total_steps``, ...).
    """
    try:
        return queue().submit(job, model, **kw)
    except (pickle.PicklingError, TypeError, AttributeError):
        kw.pop("total_steps", None)
        model, items = job.make(**job.kwargs)
        return BackgroundRun(items, model, **kw)


# --- runs belong to a browser ---------------------------------------------------------------------

def new_token() -> str:
    """A random run token for a page's address: 16 letters and digits, nothing a reader could guess."""
    return secrets.token_hex(8)


@dataclass
class _Entry:
    owner: str  # a fingerprint of the browser that made the token ("" when unknown: tests, no cookie)
    store: dict = field(default_factory=dict)  # what the pages keep: "tl_run", "tl_history", ...
    seen: float = field(default_factory=time.monotonic)
    watchers: dict = field(default_factory=dict)  # session id -> "is that page still open?" (a callable)


class RunRegistry:
    """Runs by browser: ``attach(token, owner)`` gives the token's dict of runs, the same one after a reload.

    ``owner`` fingerprints the browser (a hash of a cookie it keeps); a token seen from another browser (an
    address copied to a classmate, say) is refused, so nobody attaches to someone else's run. A token nobody
    has attached to for ``idle_s`` seconds, and that no open page still shows (each attach may leave a
    ``watcher``: a callable that says whether its session is still connected), has its runs aborted and is
    dropped (``sweep``, called on every attach and by a background thread every ``sweep_every`` seconds). So
    a paused run whose page stays open is kept however long the class talks; a closed tab's run goes.
    """

    def __init__(self, idle_s: float | None = None, sweep_every: float = 30.0):
        self.idle_s = idle_s if idle_s is not None else float(os.environ.get("STUDIO_RUN_IDLE_S", IDLE_S_DEFAULT))
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._sweeper = threading.Thread(target=self._sweep_forever, args=(sweep_every,), name="run-sweeper",
                                         daemon=True)
        self._sweeper.start()

    def attach(self, token: str, owner: str = "", create: bool = True,
               watcher: tuple[str, Callable[[], bool]] | None = None) -> dict | None:
        """The runs kept for ``token`` (a new empty dict for a new token, or None with ``create=False``); None
        when another browser owns it. ``watcher`` is ``(session id, is it still open?)`` of the attaching page."""
        self.sweep()
        with self._lock:
            entry = self._entries.get(token)
            if entry is None:
                if not create:
                    return None
                entry = self._entries[token] = _Entry(owner)
            elif entry.owner and owner and entry.owner != owner:
                return None
            entry.seen = time.monotonic()
            if watcher is not None:
                entry.watchers[watcher[0]] = watcher[1]
            return entry.store

    def __contains__(self, token: str) -> bool:
        with self._lock:
            return token in self._entries

    def sweep(self, now: float | None = None) -> list[str]:
        """Abort and drop every token idle for longer than ``idle_s``; returns the dropped tokens."""
        now = time.monotonic() if now is None else now
        with self._lock:
            idle = [(t, e) for t, e in self._entries.items() if now - e.seen > self.idle_s]
        gone = []
        for token, entry in idle:  # asked outside the lock: a watcher may be slow
            entry.watchers = {k: w for k, w in list(entry.watchers.items()) if _still_open(w)}
            if not entry.watchers:
                gone.append(token)
        with self._lock:
            dropped = [self._entries.pop(t) for t in gone if t in self._entries]
        for entry in dropped:
            for value in entry.store.values():
                for run in value if isinstance(value, list) else [value]:
                    if hasattr(run, "abort"):
                        run.abort()
                    elif hasattr(run, "stop"):
                        run.stop(wait=0)
        return gone

    def _sweep_forever(self, every: float) -> None:
        while True:
            time.sleep(every)
            self.sweep()


def _still_open(watcher: Callable[[], bool]) -> bool:
    try:
        return bool(watcher())
    except Exception:  # noqa: BLE001 - a watcher that cannot answer watches nothing
        return False


def registry() -> RunRegistry:
    """The server's one registry of runs by browser."""
    return _one(RunRegistry)
