"""The class store of classroom mode: the same tests for the in-process store and for Redis.

The Redis store runs against a real ``redis-server`` the fixture starts on 127.0.0.1 (skipped outside CI
where it is not installed). A clock the tests move stands in for time, so expiry needs no waiting.
"""
from __future__ import annotations

import threading
import time

import pytest

from core import classroom as cls


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
def store(request):
    clock = Clock()
    if request.param == "memory":
        s = cls.MemoryStore(clock=clock)
    else:
        url = request.getfixturevalue("redis_url")
        s = cls.RedisStore(url, clock=clock)
        s.redis.flushdb()
    s.test_clock = clock
    return s


def test_a_code_is_short_unambiguous_and_typed_any_way():
    codes = {cls.MemoryStore().open().code for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == cls.CODE_LENGTH >= 6
        assert set(code) <= set(cls.ALPHABET)
    assert not set("0O1IL5S2Z8B") & set(cls.ALPHABET)
    code = next(iter(codes))
    assert cls.normalize_code(f" {code[:3].lower()}-{code[3:]} ") == code
    for bad in ("", "ABC", "ABCDEFG", "A0CDEF", "<b>x</b>"):
        with pytest.raises(cls.ClassError) as err:
            cls.normalize_code(bad)
        assert err.value.code == "bad_code"


def test_publish_and_follow_with_monotonic_versions(store):
    opened = store.open()
    assert store.is_open(opened.code)
    first = store.join(opened.code, client="laptop-1")
    assert first == cls.Snapshot(page=None, state={}, version=0)
    v1 = store.publish(opened.code, opened.secret, "transposed_convolution", {"tc_stride": 2, "tc_view": "scatter"})
    v2 = store.publish(opened.code, opened.secret, "transposed_convolution",
                       {"tc_stride": 3, "tc_range": (1, 4), "tc_grid": [[1.5, 0.0], [2.0, -1.0]], "tc_on": True})
    assert 0 < v1 < v2
    seen = store.latest(opened.code)
    assert seen.version == v2 and seen.page == "transposed_convolution"
    assert seen.state == {"tc_stride": 3, "tc_range": (1, 4), "tc_grid": [[1.5, 0.0], [2.0, -1.0]], "tc_on": True}
    assert isinstance(seen.state["tc_range"], tuple)  # a range slider's value comes back as it went
    assert store.publish(opened.code, opened.secret, "", {}) > v2  # the start page's path is ""
    assert store.latest(opened.code).page == ""


def test_concurrent_publishes_keep_each_version_with_its_own_state(store):
    opened = store.open()

    def teacher(n):
        for i in range(20):
            store.publish(opened.code, opened.secret, "bilinear", {"who": n, "i": i})

    threads = [threading.Thread(target=teacher, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seen = store.latest(opened.code)
    assert seen.version == 60
    assert set(seen.state) == {"who", "i"}


def test_only_the_teacher_publishes_asks_reveals_and_ends(store):
    opened = store.open()
    other = store.open()
    for wrong in ("", "guess", other.secret):
        for op in (lambda s: store.publish(opened.code, s, "fcn", {}),
                   lambda s: store.ask(opened.code, s, {"key": "q"}),
                   lambda s: store.reveal(opened.code, s, 1),
                   lambda s: store.tally(opened.code, s, 1),
                   lambda s: store.close(opened.code, s)):
            with pytest.raises(cls.ClassError) as err:
                op(wrong)
            assert err.value.code == "not_teacher"
    assert store.is_open(opened.code)
    store.close(opened.code, opened.secret)
    assert not store.is_open(opened.code)
    assert store.is_open(other.code)
    with pytest.raises(cls.ClassError) as err:
        store.latest(opened.code)
    assert err.value.code == "no_class"


def test_counts_of_following_and_trying_students(store):
    opened = store.open()
    assert store.counts(opened.code) == cls.Counts(0, 0)
    a, b, c = (cls.new_student_id() for _ in range(3))
    store.heartbeat(opened.code, a, following=True)
    store.heartbeat(opened.code, b, following=True)
    store.heartbeat(opened.code, c, following=False)
    counts = store.counts(opened.code)
    assert (counts.following, counts.trying, counts.connected) == (2, 1, 3)
    store.heartbeat(opened.code, b, following=False)  # b tries it alone now
    assert store.counts(opened.code) == cls.Counts(following=1, trying=2)
    store.leave(opened.code, c)
    assert store.counts(opened.code) == cls.Counts(following=1, trying=1)
    store.test_clock.now += cls.SEEN_SECONDS + 1  # a closed laptop stops counting
    store.heartbeat(opened.code, a, following=True)
    assert store.counts(opened.code) == cls.Counts(following=1, trying=0)


def test_one_answer_per_student_per_question_and_the_tally(store):
    opened = store.open()
    question = {"page": "transposed_convolution", "key": "output_size", "params": {"i": 4, "k": 3, "s": 2},
                "answer": 9.0, "choices": (), "tolerance": 1e-6}
    qid = store.ask(opened.code, opened.secret, question)
    asked = store.asked(opened.code)
    assert asked == cls.Asked(qid, question, revealed=False)
    students = [cls.new_student_id() for _ in range(5)]
    given = [("9", True), ("9", True), ("8", False), ("9", True), ("10", False)]
    for sid, (text, right) in zip(students, given):
        assert store.answer(opened.code, qid, sid, text, right)
    # a second answer, by the same student or under a forged id already used, changes nothing
    assert not store.answer(opened.code, qid, students[2], "9", True)
    assert store.my_answer(opened.code, qid, students[2]) == ("8", False)
    assert store.my_answer(opened.code, qid, "someone-else") is None
    tally = store.tally(opened.code, opened.secret, qid)
    assert (tally.total, tally.right, tally.wrong) == (5, 3, 2)
    assert tally.answers == {"9": 3, "8": 1, "10": 1}
    assert tally.right_answers == {"9"}
    store.reveal(opened.code, opened.secret, qid)
    assert store.asked(opened.code).revealed
    assert not store.answer(opened.code, qid, cls.new_student_id(), "9", True)  # the solution is out
    qid2 = store.ask(opened.code, opened.secret, dict(question, params={"i": 5, "k": 3, "s": 2}, answer=11.0))
    assert qid2 > qid and not store.asked(opened.code).revealed
    assert not store.answer(opened.code, qid, cls.new_student_id(), "9", True)  # the old question is closed
    assert store.tally(opened.code, opened.secret, qid2).total == 0


def test_guessing_codes_is_rate_limited_per_client(store):
    opened = store.open()
    wrong = "ACDEFG" if opened.code != "ACDEFG" else "ACDEFH"
    for _ in range(3 * cls.JOIN_LIMIT):  # a whole class behind one router joins with the right code
        store.join(opened.code, client="10.0.0.7")
    for _ in range(cls.JOIN_LIMIT):
        with pytest.raises(cls.ClassError) as err:
            store.join(wrong, client="10.0.0.9")
        assert err.value.code == "no_class"
    for code in (wrong, opened.code):  # the guesser is held back, even with a right code, for a while
        with pytest.raises(cls.ClassError) as err:
            store.join(code, client="10.0.0.9")
        assert err.value.code == "rate_limited"
    assert store.join(opened.code, client="10.0.0.8").version == 0  # another laptop is not held back


def test_a_class_left_idle_for_hours_expires(store):
    opened = store.open()
    store.publish(opened.code, opened.secret, "bilinear", {"bl_scale": 2})
    if isinstance(store, cls.RedisStore):  # Redis keeps time itself: its keys carry the idle timeout
        ttl = store.redis.ttl(f"class:{opened.code}")
        assert cls.IDLE_SECONDS - 60 < ttl <= cls.IDLE_SECONDS
        store.redis.pexpire(f"class:{opened.code}", 1)
        time.sleep(0.05)
    else:
        store.test_clock.now += cls.IDLE_SECONDS + 1
    assert not store.is_open(opened.code)
    with pytest.raises(cls.ClassError):
        store.publish(opened.code, opened.secret, "bilinear", {})


def test_the_redis_store_is_shared_by_two_app_replicas(redis_url):
    """Two stores on one Redis are what two app processes see: one opens and publishes, the other follows."""
    one, two = cls.RedisStore(redis_url), cls.RedisStore(redis_url)
    opened = one.open()
    assert two.is_open(opened.code)
    one.publish(opened.code, opened.secret, "fcn", {"fcn_variant": "fcn8s"})
    assert two.latest(opened.code).state == {"fcn_variant": "fcn8s"}
    two.publish(opened.code, opened.secret, "segnet", {})  # the teacher's next request may land on the other one
    assert one.latest(opened.code).page == "segnet"


def test_values_travel_as_json_that_keeps_tuples():
    value = {"a": (1, (2.5, "x")), "b": [True, None], "c": {"d": (0,)}}
    assert cls.loads(cls.dumps(value)) == value
    assert cls.storable(value) and not cls.storable({"f": object()}) and not cls.storable(float("nan"))
