"""Classroom follow benchmark (issue "Classroom mode"): from a teacher's change to every follower's page.

    OMP_NUM_THREADS=1 .venv/bin/python bench/classroom_follow.py --followers 1,10,40 --changes 50 [--json]

It starts ``streamlit run app.py`` on a free 127.0.0.1 port (the class store in the server's own process).
A teacher session, speaking Streamlit's websocket protocol (``bench/st_protocol.py``), opens the
transposed-convolution page and presses the sidebar's real "Teach a class" button; the code is read from the
join link the sidebar shows. For each number of followers, that many sessions open the page with
``?join=CODE`` (each keeps its poll fragment running, once a second, as a browser does), then the teacher
moves the stride ``--changes`` times (each value differs from the one before). For every change and every
follower it measures the time from the teacher's own ``script_finished`` to the follower's first
``script_finished`` whose formula carries the new stride. Goal: p95 ≤ 1.5 s with 40 followers. It prints the
median and p95 per number of followers, the misses (a follower that did not show the change within
``--wait`` seconds) and the server memory each follower adds.

``--replicas 2`` starts two app processes sharing one Redis class store (``CLASS_STORE``, Debian's
``redis-server`` on a free port), as a deployment behind a sticky load balancer runs them: the teacher on the
first, the followers taken in turn by each (a Streamlit process runs its sessions' scripts on one core at a
time, so a second process is what lets a second core work for the class).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.classroom_load import FORMULA, MB, pct
from bench.server import App, Redis, rss_bytes
from bench.st_protocol import Session, run_coroutine

PAGE = "transposed_convolution"
GOAL_P95_S = 1.5


async def open_class(url: str) -> tuple[Session, str]:
    teacher = Session(url)
    await teacher.connect()
    await teacher.open_page(PAGE)
    _, run = await teacher.click("class_teach_btn")
    codes = [m.group(1) for text in run.texts for m in re.finditer(r"[?&]join=([A-Z0-9]{6})", text)]
    if not codes:
        raise RuntimeError("the sidebar showed no join link after 'Teach a class'")
    return teacher, codes[0]


def _rss(pids: list[int]) -> int:
    return sum(rss_bytes(pid) for pid in pids)


async def follow_round(urls: list[str], pids: list[int], teacher: Session, code: str, followers: int, changes: int,
                       wait: float, gap: float, start_stride: int) -> dict:
    before = _rss(pids)
    seen: list[list[tuple[float, int]]] = [[] for _ in range(followers)]
    group = []
    for j in range(followers):
        s = Session(urls[j % len(urls)])  # each app process takes its turn

        def finished(run, t, box=seen[j]):
            strides = {int(m.group(2)) for text in run.texts for m in FORMULA.finditer(text)}
            box.extend((t, v) for v in strides)

        s.on_finished = finished
        group.append(s)
    await asyncio.gather(*(s.connect() for s in group))
    await asyncio.gather(*(s.open_page(PAGE, query=f"join={code}") for s in group))
    await asyncio.sleep(2)  # every follower's poll fragment running
    joined = _rss(pids)
    delays, misses, stride = [], 0, start_stride
    for _ in range(changes):
        stride = 1 + stride % 4  # 1 → 2 → 3 → 4 → 1 …: never the value before
        sent = time.perf_counter()
        _, _run = await teacher.set_number("tc_s", stride)
        done = time.perf_counter()
        deadline = done + wait
        pending = set(range(followers))
        while pending and time.perf_counter() < deadline:
            for j in list(pending):
                hit = next((t for t, v in seen[j] if v == stride and t >= sent), None)
                if hit is not None:
                    delays.append(max(hit - done, 0.0))
                    pending.discard(j)
            await asyncio.sleep(0.02)
        misses += len(pending)
        await asyncio.sleep(gap)
    errors = [e for s in group for e in s.errors] + teacher.errors
    exceptions = [e for s in group for e in s.exceptions] + teacher.exceptions
    await asyncio.gather(*(s.close() for s in group))
    return {
        "followers": followers, "changes": changes, "median_s": round(statistics.median(delays), 3) if delays else None,
        "p95_s": round(pct(delays, 0.95), 3) if delays else None, "max_s": round(max(delays), 3) if delays else None,
        "misses": misses, "errors": len(errors), "exceptions": len(exceptions),
        "memory_per_follower_mb": round((joined - before) / MB / followers, 1),
        "first_problems": (errors + exceptions)[:3],
    }, stride


async def measure(urls: list[str], pids: list[int], counts: list[int], changes: int, wait: float, gap: float) -> dict:
    teacher, code = await open_class(urls[0])
    rounds, stride = [], 2
    for n in counts:
        result, stride = await follow_round(urls, pids, teacher, code, n, changes, wait, gap, stride)
        rounds.append(result)
    await teacher.close()
    return {"code_seen": bool(code), "replicas": len(urls), "rounds": rounds}


def report(r: dict) -> str:
    shared = f" ({r['replicas']} app processes sharing one Redis class store)" if r.get("replicas", 1) > 1 else ""
    out = ["classroom follow: teacher's script_finished → follower's script_finished with the new stride" + shared, "",
           "| followers | median, s | p95, s | max, s | misses | errors | exceptions | MB per follower |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for x in r["rounds"]:
        out.append(f"| {x['followers']} | {x['median_s']} | {x['p95_s']} | {x['max_s']} | {x['misses']} | "
                   f"{x['errors']} | {x['exceptions']} | {x['memory_per_follower_mb']} |")
    out.append(f"\ngoal: p95 ≤ {GOAL_P95_S} s with 40 followers")
    for x in r["rounds"]:
        for p in x["first_problems"]:
            out.append(f"  {x['followers']} followers: {p}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--followers", default="1,10,40")
    ap.add_argument("--changes", type=int, default=50)
    ap.add_argument("--wait", type=float, default=10.0, help="seconds a follower has to show a change")
    ap.add_argument("--gap", type=float, default=0.5, help="seconds between the last follower's update and the "
                    "teacher's next change")
    ap.add_argument("--replicas", type=int, default=1, help="app processes sharing one Redis class store")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    counts = [int(c) for c in args.followers.split(",") if c.strip()]
    with ExitStack() as stack:
        env = {"CLASS_STORE": stack.enter_context(Redis()).url} if args.replicas > 1 else None
        apps = [stack.enter_context(App(env=env)) for _ in range(max(args.replicas, 1))]
        result = run_coroutine(measure([a.url for a in apps], [a.proc.pid for a in apps], counts, args.changes,
                                       args.wait, args.gap))
    print(json.dumps(result) if args.json else report(result))
    return result


if __name__ == "__main__":
    main()
