"""The class store of classroom mode: a teacher publishes the page and explorable state, students follow.

A teacher *opens* a class and gets a short code (for the students) and a secret (kept by the teacher's
session only). With the secret the teacher *publishes* the page and its state, *asks* a question,
*reveals* its solution and *closes* the class. Students *join* with the code, read the *latest* state
(a monotonic version, so a student never steps back to an older state), send *heartbeats* that say
whether they follow or try on their own, and *answer* each question once.

Two backends pass the same tests: :class:`MemoryStore` (one app process, nothing to install) and
:class:`RedisStore` (several app replicas behind a load balancer share one Redis). ``store_from_env()``
picks one from ``CLASS_STORE`` (unset or ``memory``: in-process; ``redis://host:6379/0``: Redis).

Nothing here imports Streamlit. Values travel as JSON with tuples kept as tuples (a range slider's value).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# No 0/O, 1/I/L, 5/S, 2/Z, 8/B: a code read off a projector is typed right the first time.
ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 6  # 25**6 ≈ 2.4e8 codes: with joins rate-limited, guessing one is hopeless
IDLE_SECONDS = 4 * 3600  # a class nobody touched for this long is gone
SEEN_SECONDS = 15.0  # a student whose last heartbeat is older than this is no longer counted
JOIN_LIMIT = 20  # failed join attempts (a code that is no class) per client ...
JOIN_WINDOW = 60.0  # ... per this many seconds; right codes are never held back (a class behind one router)


class ClassError(ValueError):
    """A refused operation; ``code`` names why (``no_class``, ``not_teacher``, ``rate_limited``, ``bad_code``)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Opened:
    code: str
    secret: str


@dataclass(frozen=True)
class Snapshot:
    """What the teacher published last: the page's address path, its state, and the version (0: nothing yet)."""
    page: str | None
    state: dict
    version: int


@dataclass(frozen=True)
class Counts:
    following: int
    trying: int

    @property
    def connected(self) -> int:
        return self.following + self.trying


@dataclass(frozen=True)
class Asked:
    """The question the teacher sent last: its number in this class, the question as data, and whether its
    solution is shown to everyone."""
    id: int
    question: dict
    revealed: bool


@dataclass(frozen=True)
class Tally:
    """The answers to one question: how many, how many right, and how many gave each distinct answer."""
    total: int
    right: int
    answers: dict[str, int] = field(default_factory=dict)  # answer -> students who gave it
    right_answers: frozenset[str] = frozenset()  # which of those answers are right

    @property
    def wrong(self) -> int:
        return self.total - self.right


def normalize_code(text: str) -> str:
    """A code as typed (any case, spaces or a dash) in the store's form; ``bad_code`` when it cannot be one."""
    code = "".join(ch for ch in str(text).upper() if not ch.isspace() and ch != "-")
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        raise ClassError("bad_code")
    return code


def new_student_id() -> str:
    """An id only the student's own session knows: answers are kept under it, so nobody else can change them."""
    return secrets.token_urlsafe(16)


def dumps(value: Any) -> str:
    """JSON that keeps tuples (a range slider's value) as tuples when read back with :func:`loads`."""
    def enc(v):
        if isinstance(v, tuple):
            return {"__tuple__": [enc(x) for x in v]}
        if isinstance(v, list):
            return [enc(x) for x in v]
        if isinstance(v, dict):
            return {str(k): enc(x) for k, x in v.items()}
        if hasattr(v, "item") and callable(v.item):  # a numpy or torch scalar
            return v.item()
        return v
    return json.dumps(enc(value), separators=(",", ":"), allow_nan=False)


def loads(text: str) -> Any:
    def dec(v):
        if isinstance(v, dict):
            if set(v) == {"__tuple__"}:
                return tuple(dec(x) for x in v["__tuple__"])
            return {k: dec(x) for k, x in v.items()}
        if isinstance(v, list):
            return [dec(x) for x in v]
        return v
    return dec(json.loads(text))


def storable(value: Any) -> bool:
    """Whether a value can be published (JSON of plain numbers, strings, lists, tuples, dicts)."""
    try:
        dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ClassStore:
    """The operations of a class store; see :class:`MemoryStore` and :class:`RedisStore`."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock

    def _new_code(self) -> str:
        return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))

    # -- the interface ----------------------------------------------------------------------------
    def open(self) -> Opened: ...
    # join: the latest snapshot, or ClassError: ``no_class`` (counted against ``client``), ``rate_limited``
    def is_open(self, code: str) -> bool: ...
    def publish(self, code: str, secret: str, page: str | None, state: dict) -> int: ...
    def latest(self, code: str) -> Snapshot: ...
    def join(self, code: str, client: str) -> Snapshot: ...
    def heartbeat(self, code: str, student: str, following: bool) -> None: ...
    def leave(self, code: str, student: str) -> None: ...
    def counts(self, code: str) -> Counts: ...
    def ask(self, code: str, secret: str, question: dict) -> int: ...
    def asked(self, code: str) -> Asked | None: ...
    def answer(self, code: str, question_id: int, student: str, answer: str, right: bool) -> bool: ...
    def my_answer(self, code: str, question_id: int, student: str) -> tuple[str, bool] | None: ...
    def tally(self, code: str, secret: str, question_id: int) -> Tally: ...
    def reveal(self, code: str, secret: str, question_id: int) -> None: ...
    def close(self, code: str, secret: str) -> None: ...


class _Class:
    def __init__(self, digest: str, now: float):
        self.digest = digest
        self.touched = now
        self.version = 0
        self.page: str | None = None
        self.state = "{}"
        self.students: dict[str, tuple[float, bool]] = {}  # student -> (last heartbeat, following)
        self.question_id = 0
        self.question: str | None = None
        self.revealed = False
        self.answers: dict[int, dict[str, tuple[str, bool]]] = {}  # question -> student -> (answer, right)


class MemoryStore(ClassStore):
    """The class store inside one app process (the default): dictionaries behind one lock."""

    def __init__(self, clock: Callable[[], float] = time.time):
        super().__init__(clock)
        self._lock = threading.Lock()
        self._classes: dict[str, _Class] = {}
        self._joins: dict[str, list[float]] = {}

    def _live(self, code: str) -> _Class:
        now = self.clock()
        for c in [c for c, k in self._classes.items() if now - k.touched > IDLE_SECONDS]:
            del self._classes[c]
        found = self._classes.get(code)
        if found is None:
            raise ClassError("no_class")
        return found

    def _teacher(self, code: str, secret: str) -> _Class:
        found = self._live(code)
        if not hmac.compare_digest(found.digest, _digest(secret)):
            raise ClassError("not_teacher")
        found.touched = self.clock()
        return found

    def open(self) -> Opened:
        with self._lock:
            code = self._new_code()
            while code in self._classes:
                code = self._new_code()
            secret = secrets.token_urlsafe(24)
            self._classes[code] = _Class(_digest(secret), self.clock())
            return Opened(code, secret)

    def is_open(self, code: str) -> bool:
        with self._lock:
            try:
                self._live(code)
            except ClassError:
                return False
            return True

    def publish(self, code, secret, page, state) -> int:
        text = dumps(state)
        with self._lock:
            found = self._teacher(code, secret)
            found.version += 1
            found.page, found.state = page, text
            return found.version

    def latest(self, code) -> Snapshot:
        with self._lock:
            found = self._live(code)
            return Snapshot(found.page, loads(found.state), found.version)

    def join(self, code, client) -> Snapshot:
        with self._lock:
            now = self.clock()
            recent = [t for t in self._joins.get(client, []) if now - t < JOIN_WINDOW]
            self._joins[client] = recent
            if len(recent) >= JOIN_LIMIT:
                raise ClassError("rate_limited")
            if code not in self._classes or now - self._classes[code].touched > IDLE_SECONDS:
                recent.append(now)
        return self.latest(code)

    def heartbeat(self, code, student, following) -> None:
        with self._lock:
            found = self._live(code)
            found.students[student] = (self.clock(), bool(following))

    def leave(self, code, student) -> None:
        with self._lock:
            try:
                self._live(code).students.pop(student, None)
            except ClassError:
                pass

    def counts(self, code) -> Counts:
        with self._lock:
            found = self._live(code)
            now = self.clock()
            seen = [f for t, f in found.students.values() if now - t <= SEEN_SECONDS]
            return Counts(following=sum(seen), trying=len(seen) - sum(seen))

    def ask(self, code, secret, question) -> int:
        text = dumps(question)
        with self._lock:
            found = self._teacher(code, secret)
            found.question_id += 1
            found.question, found.revealed = text, False
            found.answers[found.question_id] = {}
            return found.question_id

    def asked(self, code) -> Asked | None:
        with self._lock:
            found = self._live(code)
            if found.question is None:
                return None
            return Asked(found.question_id, loads(found.question), found.revealed)

    def answer(self, code, question_id, student, answer, right) -> bool:
        with self._lock:
            found = self._live(code)
            if question_id != found.question_id or found.revealed:
                return False  # an old question, or its solution is already out
            given = found.answers.setdefault(question_id, {})
            if student in given:
                return False  # one answer per student per question
            given[student] = (str(answer), bool(right))
            return True

    def my_answer(self, code, question_id, student):
        with self._lock:
            return self._live(code).answers.get(question_id, {}).get(student)

    def tally(self, code, secret, question_id) -> Tally:
        with self._lock:
            given = list(self._teacher(code, secret).answers.get(question_id, {}).values())
        return _tally(given)

    def reveal(self, code, secret, question_id) -> None:
        with self._lock:
            found = self._teacher(code, secret)
            if question_id == found.question_id:
                found.revealed = True

    def close(self, code, secret) -> None:
        with self._lock:
            self._teacher(code, secret)
            del self._classes[code]


def _tally(given: list[tuple[str, bool]]) -> Tally:
    answers: dict[str, int] = {}
    right = set()
    for text, ok in given:
        answers[text] = answers.get(text, 0) + 1
        if ok:
            right.add(text)
    return Tally(total=len(given), right=sum(ok for _, ok in given), answers=answers, right_answers=frozenset(right))


class RedisStore(ClassStore):
    """The class store in Redis, for several app replicas: every key of a class expires after IDLE_SECONDS idle.

    ``class:<code>`` is a hash (secret digest, version, page, state, question id, question, revealed);
    ``class:<code>:seen`` a sorted set student → last heartbeat, ``class:<code>:following`` the set of those
    following; ``class:<code>:a:<id>`` a hash student → answer, written with HSETNX (once per student).
    """

    def __init__(self, url: str, clock: Callable[[], float] = time.time):
        import redis

        super().__init__(clock)
        self.redis = redis.Redis.from_url(url, decode_responses=True, socket_timeout=5)

    def _keys(self, code: str) -> list[str]:
        return [f"class:{code}", f"class:{code}:seen", f"class:{code}:following"]

    def _touch(self, pipe, code: str, question_id: int | None = None) -> None:
        for key in self._keys(code) + ([f"class:{code}:a:{question_id}"] if question_id else []):
            pipe.expire(key, IDLE_SECONDS)

    def _live(self, code: str) -> None:
        if not self.redis.exists(f"class:{code}"):
            raise ClassError("no_class")

    def _teacher(self, code: str, secret: str) -> None:
        digest = self.redis.hget(f"class:{code}", "digest")
        if digest is None:
            raise ClassError("no_class")
        if not hmac.compare_digest(digest, _digest(secret)):
            raise ClassError("not_teacher")

    def open(self) -> Opened:
        secret = secrets.token_urlsafe(24)
        while True:
            code = self._new_code()
            # HSETNX claims the code atomically: two replicas can never open the same class
            if self.redis.hsetnx(f"class:{code}", "digest", _digest(secret)):
                pipe = self.redis.pipeline()
                pipe.hset(f"class:{code}", mapping={"version": 0, "state": "{}", "qid": 0})
                self._touch(pipe, code)
                pipe.execute()
                return Opened(code, secret)

    def is_open(self, code) -> bool:
        return bool(self.redis.exists(f"class:{code}"))

    def publish(self, code, secret, page, state) -> int:
        text = dumps(state)
        self._teacher(code, secret)
        pipe = self.redis.pipeline()  # MULTI/EXEC: the version and the state it numbers change together
        pipe.hincrby(f"class:{code}", "version", 1)
        pipe.hset(f"class:{code}", mapping={"page": "" if page is None else page, "state": text,
                                             "has_page": int(page is not None)})
        self._touch(pipe, code)
        return int(pipe.execute()[0])

    def latest(self, code) -> Snapshot:
        version, page, has_page, state = self.redis.hmget(f"class:{code}", "version", "page", "has_page", "state")
        if version is None:
            raise ClassError("no_class")
        return Snapshot(page if has_page == "1" else None, loads(state or "{}"), int(version))

    def join(self, code, client) -> Snapshot:
        key = f"joins:{hashlib.sha256(client.encode()).hexdigest()[:32]}"
        if int(self.redis.get(key) or 0) >= JOIN_LIMIT:
            raise ClassError("rate_limited")
        try:
            return self.latest(code)
        except ClassError:
            pipe = self.redis.pipeline()  # a failed attempt counts for a minute (a fixed window per client)
            pipe.incr(key)
            pipe.expire(key, int(JOIN_WINDOW), nx=True)
            pipe.execute()
            raise

    def heartbeat(self, code, student, following) -> None:
        self._live(code)
        pipe = self.redis.pipeline()
        pipe.zadd(f"class:{code}:seen", {student: self.clock()})
        if following:
            pipe.sadd(f"class:{code}:following", student)
        else:
            pipe.srem(f"class:{code}:following", student)
        pipe.zremrangebyscore(f"class:{code}:seen", "-inf", self.clock() - IDLE_SECONDS)
        self._touch(pipe, code)
        pipe.execute()

    def leave(self, code, student) -> None:
        pipe = self.redis.pipeline()
        pipe.zrem(f"class:{code}:seen", student)
        pipe.srem(f"class:{code}:following", student)
        pipe.execute()

    def counts(self, code) -> Counts:
        self._live(code)
        seen = self.redis.zrangebyscore(f"class:{code}:seen", self.clock() - SEEN_SECONDS, "+inf")
        if not seen:
            return Counts(0, 0)
        flags = self.redis.smismember(f"class:{code}:following", seen)
        following = sum(bool(f) for f in flags)
        return Counts(following=following, trying=len(seen) - following)

    def ask(self, code, secret, question) -> int:
        text = dumps(question)
        self._teacher(code, secret)
        pipe = self.redis.pipeline()
        pipe.hincrby(f"class:{code}", "qid", 1)
        pipe.hset(f"class:{code}", mapping={"question": text, "revealed": 0})
        self._touch(pipe, code)
        return int(pipe.execute()[0])

    def asked(self, code) -> Asked | None:
        qid, question, revealed = self.redis.hmget(f"class:{code}", "qid", "question", "revealed")
        if qid is None:
            raise ClassError("no_class")
        if not question:
            return None
        return Asked(int(qid), loads(question), revealed == "1")

    def answer(self, code, question_id, student, answer, right) -> bool:
        qid, revealed = self.redis.hmget(f"class:{code}", "qid", "revealed")
        if qid is None:
            raise ClassError("no_class")
        if int(qid) != question_id or revealed == "1":
            return False
        key = f"class:{code}:a:{question_id}"
        stored = self.redis.hsetnx(key, student, dumps([str(answer), bool(right)]))
        self.redis.expire(key, IDLE_SECONDS)
        return bool(stored)

    def my_answer(self, code, question_id, student):
        raw = self.redis.hget(f"class:{code}:a:{question_id}", student)
        return tuple(loads(raw)) if raw else None

    def tally(self, code, secret, question_id) -> Tally:
        self._teacher(code, secret)
        given = [tuple(loads(v)) for v in self.redis.hvals(f"class:{code}:a:{question_id}")]
        return _tally(given)

    def reveal(self, code, secret, question_id) -> None:
        self._teacher(code, secret)
        if int(self.redis.hget(f"class:{code}", "qid") or 0) == question_id:
            self.redis.hset(f"class:{code}", "revealed", 1)

    def close(self, code, secret) -> None:
        self._teacher(code, secret)
        qid = int(self.redis.hget(f"class:{code}", "qid") or 0)
        self.redis.delete(*self._keys(code), *[f"class:{code}:a:{i}" for i in range(1, qid + 1)])


_default: ClassStore | None = None
_default_lock = threading.Lock()


def store_from_env() -> ClassStore:
    """The app's one class store, chosen by ``CLASS_STORE`` (unset or ``memory``: in this process)."""
    global _default
    with _default_lock:
        if _default is None:
            where = os.environ.get("CLASS_STORE", "memory").strip()
            _default = RedisStore(where) if where.startswith(("redis://", "rediss://", "unix://")) else MemoryStore()
        return _default
