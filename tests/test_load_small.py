"""The classroom load test, small: five simulated students on a real app server for one minute.

Each student is a Streamlit session speaking the websocket protocol (``bench/classroom_load.py``): it opens
the transposed-convolution page, moves its sliders to numbers of its own, steps the step-through, opens
"Segment your photo" and uploads a photo. Nothing is mocked; the server is ``streamlit run app.py`` on
127.0.0.1. The server is started with a 10 s ``server.disconnectedSessionTTL`` so that the memory of
closed sessions is given back within the test's time.
"""
import pytest

from bench import classroom_load

pytestmark = pytest.mark.slow


def test_five_students_one_minute():
    r = classroom_load.main(["--students", "5", "--minutes", "1", "--think", "2", "--solo-minutes", "0.25",
                             "--session-ttl", "10", "--json"])
    one, room = r["one"], r["room"]
    for side in (one, room):
        assert side["errors"] == 0, side["first_problems"]
        assert side["exceptions"] == 0, side["first_problems"]
        assert side["isolation_failures"] == 0, side["first_problems"]
    # every student got through a whole lesson (the upload included), and its numbers were checked each move
    assert room["lessons"] >= 5
    assert room["isolation_checks"] >= 5 * 5
    assert "step" in room["per_kind_p95_ms"]  # the step-through told the server where it settled
    assert r["after_close_ratio"] <= classroom_load.CLOSE_BOUND, r["memory_mb"]
