"""Training runs past one machine: the same worker loop, fed by an RQ queue that lives in Redis.

With ``STUDIO_TRAIN_QUEUE=redis://host:6379/1`` the app's processes no longer start training processes of their
own: each run becomes an RQ job on the queue ``studio-train``, and ``rq worker studio-train --url …`` started on
any number of machines (each in a checkout of the app, with its virtual environment) takes the jobs, one run at
a time per worker, first come first served. The worker runs exactly the loop a local worker process runs
(:func:`core.training.workers._worker_main`); only its connection is two Redis lists instead of a socket pair:
the page's messages (the job, then pause, resume, step, stop) in one, the worker's (started, every step and
validation, the weights, the end) in the other. So the page reads a remote run as it reads a local one, and a
reload, a stop before the first validation, keep and download behave alike.

A run the page stops watching is not left running: the page keeps a heartbeat key alive while it reads, and a
worker whose page has gone quiet for :data:`PAGE_GONE_S` seconds ends the run. The job and the messages are
pickles: run the Redis of a class on a private network, as the README says.
"""
from __future__ import annotations

import os
import secrets
import threading

ENV = "STUDIO_TRAIN_QUEUE"  # redis://… : runs go to RQ workers through this Redis
QUEUE_NAME = "studio-train"
PAGE_GONE_S = 60.0  # a worker ends a run whose page has not been heard from for this long
POLL_S = 1.0  # how long one blocking read waits before it checks that the other side is still there
KEEP_S = 3600  # messages and heartbeats expire after an hour, whatever happens to either side


def url() -> str | None:
    """The Redis address runs are queued at, or None: the local worker processes."""
    return os.environ.get(ENV) or None


def _keys(run_id: str) -> tuple[str, str, str]:
    base = f"studio:run:{run_id}"
    return f"{base}:to_worker", f"{base}:to_page", f"{base}:page"


class RedisConnection:
    """What :func:`core.training.workers._worker_main` and the page's reader need of a connection (``send_bytes``,
    ``recv_bytes``, ``poll``, ``close``), over two Redis lists. ``alive()`` is asked between two blocking reads:
    False ends the wait with ``EOFError``, as a closed socket would."""

    def __init__(self, redis, inbox: str, outbox: str, alive=lambda: True):
        self.redis, self.inbox, self.outbox, self.alive = redis, inbox, outbox, alive

    def send_bytes(self, data: bytes) -> None:
        pipe = self.redis.pipeline()
        pipe.rpush(self.outbox, data)
        pipe.expire(self.outbox, KEEP_S)
        pipe.execute()

    def recv_bytes(self) -> bytes:
        while True:
            got = self.redis.blpop([self.inbox], timeout=POLL_S)
            if got is not None:
                return got[1]
            if not self.alive():
                raise EOFError("the other side of the run went away")

    def poll(self) -> bool:
        return bool(self.redis.llen(self.inbox))

    def close(self) -> None:
        pass


def train(run_id: str, threads: int, start_paused: bool) -> None:
    """The RQ job: one run, trained by the worker loop, its messages through Redis (see the module)."""
    from rq.job import get_current_job

    from core.training import workers

    redis = get_current_job().connection
    to_worker, to_page, heartbeat = _keys(run_id)
    if hasattr(os, "nice"):  # as a local worker: a page process sharing this machine goes first
        os.nice(workers.worker_niceness())
    conn = RedisConnection(redis, to_worker, to_page, alive=lambda: bool(redis.exists(heartbeat)))
    workers._worker_main(conn, threads, start_paused)


class RemoteQueue:
    """The page's side of the RQ queue: the interface of :class:`core.training.workers.TrainingQueue`.

    ``submit`` enqueues at once; the RQ workers listening decide how many runs train together (``n_slots`` is
    their number). A queued run's place is RQ's own count of the jobs before it."""

    def __init__(self, redis_url: str | None = None, threads: int | None = None):
        from redis import Redis
        from rq import Queue

        self.redis = Redis.from_url(redis_url or url())
        self.rq = Queue(QUEUE_NAME, connection=self.redis)
        self._threads = threads
        self._lock = threading.Lock()
        self._runs: list = []

    @property
    def n_slots(self) -> int:
        from rq import Worker

        return Worker.count(queue=self.rq)

    @property
    def threads(self) -> int:
        from core.training import workers

        return self._threads if self._threads is not None else workers.threads_per_run()

    def submit(self, job, model, **kw):
        import pickle

        from core.training import workers

        run = workers.WorkerRun(job, pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL), model, self, **kw)
        run_id = secrets.token_hex(8)
        to_worker, to_page, heartbeat = _keys(run_id)
        self.redis.set(heartbeat, "1", ex=int(PAGE_GONE_S))
        run._remote_id = run_id
        run._rq_job = self.rq.enqueue_call(train, args=(run_id, self.threads, run._start_paused), timeout=-1,
                                           result_ttl=60, failure_ttl=KEEP_S, job_id=f"studio-{run_id}")

        def page_alive() -> bool:  # the page is reading: keep its heartbeat, and give up on a failed job
            self.redis.set(heartbeat, "1", ex=int(PAGE_GONE_S))
            status = run._rq_job.get_status(refresh=True)
            return str(getattr(status, "value", status)) not in ("failed", "stopped", "canceled")

        run._conn = RedisConnection(self.redis, to_page, to_worker, alive=page_alive)
        with self._lock:
            self._runs.append(run)
        threading.Thread(target=run._read, name=f"read-{run.name}", daemon=True).start()
        return run

    def _ended(self, run) -> None:
        with self._lock:
            if run in self._runs:
                self._runs.remove(run)

    def _cancel(self, run) -> bool:
        """Take a run no worker has taken yet out of the queue; False once a worker has it."""
        if run.pid is not None or run._rq_job.get_status(refresh=True) != "queued":
            return False
        run._rq_job.cancel()
        self.redis.delete(_keys(run._remote_id)[2])  # no heartbeat: its reader ends
        with run._changed:
            run._status = "stopped"
            run._changed.notify_all()
        run._ended.set()
        self._ended(run)
        return True

    @property
    def running(self) -> list:
        with self._lock:
            return [r for r in self._runs if r.pid is not None]

    @property
    def waiting(self) -> list:
        with self._lock:
            return [r for r in self._runs if r.pid is None]

    def position(self, run) -> int | None:
        """1 for the next job a worker takes, 2 for the one after it, ...; None once a worker has it."""
        if run.pid is not None:
            return None
        place = run._rq_job.get_position()
        return None if place is None else place + 1

    def estimate(self, run) -> float | None:
        """Not known across machines (other classes' runs share the queue): the page says the place only."""
        return None
