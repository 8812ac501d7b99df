"""Slow shared work done beside the pages' runs: a model's first load and first run, once per server.

A page that builds Mask R-CNN and runs it on its sample photo the first time would make the student wait
seconds for text and explorables that need no model. Instead the page asks :data:`JOBS` to do that work in
the background and draws the rest at once; the section that needs the model says what is being prepared
and is drawn again when the job has finished. The job usually fills a cache the page reads (a
``st.cache_resource`` loader): the page then calls the same loader and finds it ready.

One job per key, whoever asks and however often: forty students opening the page start one load. Jobs run
one at a time (:data:`WORKERS`): two models loading at once on a 2-core CPU would each take twice as long.
What a job returns is not kept here (the caches it fills keep it); only whether it finished, and the error
if it failed, for the page to say. No Streamlit here.
"""
from __future__ import annotations

import functools
import inspect
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

WORKERS = 1
KEEP = 256  # finished keys remembered (their results live in the caches the jobs filled)


@dataclass
class Job:
    future: Future
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None


class Jobs:
    """Background jobs keyed by what they compute; see the module's docstring."""

    def __init__(self, workers: int = WORKERS, keep: int = KEEP):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="studio-job")
        self._jobs: OrderedDict[Hashable, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._keep = keep
        self.started = 0  # how many jobs were ever started (a test sees whether a run asked for one)

    def start(self, key: Hashable, fn: Callable, *args, **kwargs) -> Job:
        """The job for ``key``: the running or finished one, else ``fn(*args, **kwargs)`` started now. A failed
        job is started again (a missing file may have arrived, a download may work this time)."""
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and not (job.future.done() and job.future.exception() is not None):
                self._jobs.move_to_end(key)
                return job
            job = Job(self._pool.submit(self._run, key, fn, args, kwargs))
            self._jobs[key] = job
            self.started += 1
            while len(self._jobs) > self._keep:
                oldest, old = next(iter(self._jobs.items()))
                if not old.future.done():
                    break
                del self._jobs[oldest]
            return job

    def _run(self, key: Hashable, fn: Callable, args: tuple, kwargs: dict) -> None:
        try:
            fn(*args, **kwargs)
        finally:
            with self._lock:
                job = self._jobs.get(key)
                if job is not None:
                    job.finished = time.monotonic()

    def get(self, key: Hashable) -> Job | None:
        with self._lock:
            return self._jobs.get(key)

    def done(self, key: Hashable) -> bool:
        """Whether the job for ``key`` has finished (well or not); False for one never started."""
        job = self.get(key)
        return job is not None and job.future.done()

    def wait(self, key: Hashable, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds for the job of ``key``; whether it has finished."""
        job = self.get(key)
        if job is None:
            return False
        try:
            job.future.exception(timeout=timeout)
        except TimeoutError:
            return False
        return True

    def wait_all(self, timeout: float | None = None) -> bool:
        """Wait until every job started so far has finished (True), or ``timeout`` seconds have passed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            futures = [job.future for job in self._jobs.values()]
        for future in futures:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                future.exception(timeout=left)
            except TimeoutError:
                return False
        return True


JOBS = Jobs()


def once(fn: Callable) -> Callable:
    """``fn`` computed once per process and per arguments (defaults filled in), then kept and shared: what every
    session uses and no student's input changes (a classifier trained for a page, a timing, a check). A
    second caller while it is being computed waits for it instead of computing it again (the warm-up thread
    and a student's first visit may ask at the same moment). ``fn.kept(*args)`` says whether it is there yet."""
    signature, results, lock = inspect.signature(fn), {}, threading.Lock()

    def key(*args, **kwargs) -> tuple:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return tuple(bound.arguments.values())

    @functools.wraps(fn)
    def kept_call(*args, **kwargs):
        k = key(*args, **kwargs)
        with lock:
            if k not in results:
                results[k] = fn(*args, **kwargs)
            return results[k]

    kept_call.kept = lambda *args, **kwargs: key(*args, **kwargs) in results
    return kept_call
