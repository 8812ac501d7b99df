"""Load test: a room of students on one app server, each a real Streamlit session (issue "A room at once").

    OMP_NUM_THREADS=1 .venv/bin/python bench/classroom_load.py --students 40 --minutes 3 [--think 5]
        [--url http://127.0.0.1:PORT] [--session-ttl S] [--json]

It starts ``streamlit run app.py`` itself on a free 127.0.0.1 port (unless ``--url`` names a running one),
then runs the same lesson twice, side by side in one run: one student alone, then ``--students`` at once.
Every student is a websocket session speaking Streamlit's own protocol (``bench/st_protocol.py``) and walks,
with ``--think`` seconds (±50 %) between interactions:

1. opens the transposed-convolution page;
2. moves its sliders (input size, kernel size, stride, padding) to values of its own: the pair (input size,
   kernel size) is distinct for each of the first 40 students, and after every move the formula the page
   writes back (``= (I-1)·S - 2P + D·(K-1) + OP + 1``) must carry exactly this student's numbers: any other
   numbers are an isolation failure (a session saw another's state);
3. steps the step-through twice (the "next" button);
4. opens "Segment your photo" (a network runs on the sample photo), switches the source to an upload and
   uploads a photo of its own through ``/_stcore/upload_file`` (the network runs on it);
5. starts again from 1 until its minutes are over.

Left out: SAM clicks (a click on an image is a custom component's value, and the SAM models are not on this
machine) and training (it is being moved into worker processes; ``bench/train_loop.py`` measures it).

Per interaction it measures the time from sending the ``BackMsg`` to the ``script_finished`` ``ForwardMsg``;
it counts exceptions (an ``exception`` element in any delta) and errors (a closed websocket, a run that never
finishes, a compile error, an upload refused). Server memory (RSS of the server and its children) is read at
start, after the first page load, after the lone student's lesson (every shared model loaded), at the peak
with N students, and after every session has closed (polled until it stops falling, at most
``--session-ttl`` + 60 s: Streamlit keeps a closed session ``server.disconnectedSessionTTL`` seconds for a
reconnect, 120 by default; the test passes a shorter one to the server it starts).
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np
from PIL import Image

from bench.server import App, rss_bytes
from bench.st_protocol import Run, Session, run_coroutine

FORMULA = re.compile(r"&= \((\d+)-1\)\\cdot (\d+) - 2\\cdot (\d+) \+ (\d+)\\cdot\((\d+)-1\) \+ (\d+) \+ 1")
MB = 2 ** 20
CLOSE_BOUND = 1.2  # goal: memory after every session closed ≤ 1.2 × after the first lesson


@dataclass
class Tally:
    times: dict[str, list[float]] = field(default_factory=dict)  # interaction kind -> seconds
    errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    isolation_failures: list[str] = field(default_factory=list)
    checks: int = 0
    lessons: int = 0

    def add(self, kind: str, seconds: float) -> None:
        self.times.setdefault(kind, []).append(seconds)

    def all_times(self) -> list[float]:
        return [t for ts in self.times.values() for t in ts]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def photo_png(student: int) -> bytes:
    """A photo of the student's own: a gradient tinted by its number (so no two uploads are the same file)."""
    rng = np.random.default_rng(student)
    h, w = 240, 320
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([(x * 255 // w), (y * 255 // h), np.full_like(x, (student * 37) % 256)], -1).astype(np.uint8)
    img = np.clip(img.astype(int) + rng.integers(-20, 20, img.shape), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(img).save(out, format="PNG")
    return out.getvalue()


class Student:
    def __init__(self, url: str, index: int, think: float, until: float, tally: Tally, rng: random.Random):
        self.url, self.index, self.think, self.until, self.tally, self.rng = url, index, think, until, tally, rng
        # the numbers that are this student's own: (input size, kernel size) distinct for the first 40
        self.i, self.k = 1 + index % 8, 1 + (index // 8) % 5
        self.session: Session | None = None
        self.on_page = {"i": 2, "k": 3, "s": 2, "p": 0, "d": 1}  # the page's defaults, then what it was sent

    async def pause(self) -> None:
        await asyncio.sleep(self.think * self.rng.uniform(0.5, 1.5))

    def check(self, run: Run, expect: tuple[int, ...], what: str) -> None:
        """The formula in this run's own deltas must carry this student's numbers (i, s, p, d, k, op)."""
        found = [tuple(int(g) for g in m.groups()) for text in run.texts for m in FORMULA.finditer(text)]
        self.tally.checks += 1
        if not found:
            self.tally.errors.append(f"student {self.index}: {what}: the page wrote no formula")
        elif any(f != expect for f in found):
            self.tally.isolation_failures.append(f"student {self.index}: {what}: expected {expect}, saw {found}")

    async def timed(self, kind: str, call) -> Run | None:
        try:
            seconds, run = await call
        except (TimeoutError, ConnectionError, KeyError, OSError) as err:
            self.tally.errors.append(f"student {self.index}: {kind}: {type(err).__name__}: {err}")
            return None
        self.tally.add(kind, seconds)
        return run

    async def lesson(self) -> bool:
        """One walk through the lesson; False when the minutes ran out or the session broke."""
        s = self.session
        run = await self.timed("open page", s.open_page("transposed_convolution"))
        if run is None:
            return False
        on_page = self.on_page  # the page keeps this session's numbers from one visit to the next
        moves = [("tc_i", "i", self.i), ("tc_k", "k", self.k)] + [
            (key, name, self.rng.choice(values)) for key, name, values in
            (("tc_s", "s", [1, 2, 3, 4]), ("tc_p", "p", [0, 1]), ("tc_s", "s", [1, 2, 3, 4]))]
        for key, name, value in moves:
            if time.monotonic() > self.until:
                return False
            await self.pause()
            run = await self.timed("move slider", s.set_number(key, value))
            if run is None:
                return False
            on_page[name] = value
            self.check(run, (on_page["i"], on_page["s"], on_page["p"], on_page["d"], on_page["k"], 0), key)
        for shown in (1, 2):  # the step-through plays in the browser, which tells the server the step it settled on
            await self.pause()
            if "tc_step_player" not in s.widgets:  # a parameter set that torch refuses draws no step-through
                break
            run = await self.timed("step", s.set_state("tc_step_player", {"step": shown}))
            if run is None:
                return False
            self.check(run, (on_page["i"], on_page["s"], on_page["p"], on_page["d"], on_page["k"], 0), "step")
        if time.monotonic() > self.until:
            return False
        await self.pause()
        run = await self.timed("open photo page", s.open_page("segment_photo"))
        if run is None:
            return False
        await self.pause()
        source = s.widgets.get("sp_source")
        if source is None:
            self.tally.errors.append(f"student {self.index}: no photo source control on the photo page")
            return False
        label = source[1].options[1].content  # the second option: an upload
        run = await self.timed("choose upload", s.choose("sp_source", label))
        if run is None:
            return False
        await self.pause()
        run = await self.timed("upload photo", s.upload("sp_upload", f"student{self.index}.png",
                                                           photo_png(self.index)))
        if run is None:
            return False
        self.tally.lessons += 1
        await self.pause()
        return time.monotonic() < self.until

    async def walk(self, start_delay: float, connected: asyncio.Event | None = None) -> None:
        await asyncio.sleep(start_delay)
        self.session = Session(self.url)
        try:
            await self.session.connect()
        except OSError as err:
            self.tally.errors.append(f"student {self.index}: connect: {err}")
            return
        try:
            while await self.lesson():
                pass
        finally:
            self.tally.exceptions += [f"student {self.index}: {e}" for e in self.session.exceptions]
            self.tally.errors += [f"student {self.index}: {e}" for e in self.session.errors]
            await self.session.close()


async def run_class(url: str, students: int, minutes: float, think: float, seed: int,
                    on_first=None, first_index: int = 0) -> tuple[Tally, float]:
    """``students`` students for ``minutes``; returns their tally and the wall time."""
    tally, rng = Tally(), random.Random(seed)
    until = time.monotonic() + minutes * 60
    group = [Student(url, first_index + j, think, until, tally, random.Random(rng.random()))
             for j in range(students)]
    started = time.perf_counter()
    # students arrive over one think time, as a room does
    await asyncio.gather(*(st.walk(0 if students == 1 else rng.uniform(0, think)) for st in group))
    return tally, time.perf_counter() - started


async def peak_watch(pid: int, stop: asyncio.Event, box: list) -> None:
    while not stop.is_set():
        box[0] = max(box[0], rss_bytes(pid))
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except TimeoutError:
            pass


async def settle(pid: int, bound: float, seconds: float) -> tuple[int, float]:
    """Poll the memory until it is within ``bound`` bytes or ``seconds`` passed; (the last reading, seconds)."""
    start = time.monotonic()
    last = rss_bytes(pid)
    while time.monotonic() - start < seconds and last > bound:
        await asyncio.sleep(2)
        last = rss_bytes(pid)
    return last, time.monotonic() - start


def summary(tally: Tally, wall: float) -> dict:
    times = tally.all_times()
    return {
        "interactions": len(times), "lessons": tally.lessons, "wall_s": round(wall, 1),
        "p50_ms": round(1000 * pct(times, 0.5)), "p95_ms": round(1000 * pct(times, 0.95)),
        "max_ms": round(1000 * max(times)) if times else None,
        "per_kind_p95_ms": {k: round(1000 * pct(v, 0.95)) for k, v in sorted(tally.times.items())},
        "errors": len(tally.errors), "exceptions": len(tally.exceptions),
        "isolation_checks": tally.checks, "isolation_failures": len(tally.isolation_failures),
        "first_problems": (tally.errors + tally.exceptions + tally.isolation_failures)[:5],
    }


async def measure(url: str, pid: int, students: int, minutes: float, think: float, solo_minutes: float,
                  ttl: float) -> dict:
    mem = {"start": rss_bytes(pid)}
    # the first page load: one session opens the first page of the lesson, then leaves
    first = Session(url)
    await first.connect()
    await first.open_page("transposed_convolution")
    mem["after_first_page"] = rss_bytes(pid)
    await first.close()

    solo, solo_wall = await run_class(url, 1, solo_minutes, think, seed=1, first_index=0)
    mem["after_one_lesson"] = rss_bytes(pid)

    stop, box = asyncio.Event(), [0]
    watcher = asyncio.create_task(peak_watch(pid, stop, box))
    room, room_wall = await run_class(url, students, minutes, think, seed=2, first_index=0)
    stop.set()
    await watcher
    mem["peak"] = box[0]
    base = mem["after_one_lesson"]
    mem["after_close"], waited = await settle(pid, CLOSE_BOUND * base, ttl + 60)
    mem["per_session_growth"] = (mem["peak"] - base) / max(students, 1)
    return {
        "students": students, "minutes": minutes, "think_s": think, "session_ttl_s": ttl,
        "one": summary(solo, solo_wall), "room": summary(room, room_wall),
        "memory_mb": {k: round(v / MB, 1) for k, v in mem.items()},
        "close_wait_s": round(waited, 1),
        "after_close_ratio": round(mem["after_close"] / base, 2),
        "after_close_vs_first_page": round(mem["after_close"] / mem["after_first_page"], 2),
        "p95_ratio": round(summary(room, room_wall)["p95_ms"] / max(summary(solo, solo_wall)["p95_ms"], 1), 2),
    }


def report(r: dict) -> str:
    one, room, m = r["one"], r["room"], r["memory_mb"]
    n = r["students"]
    rows = [
        ("interactions (lessons done)", f"{one['interactions']} ({one['lessons']})",
         f"{room['interactions']} ({room['lessons']})"),
        ("rerun p50, ms", one["p50_ms"], room["p50_ms"]),
        ("rerun p95, ms", one["p95_ms"], room["p95_ms"]),
        ("rerun max, ms", one["max_ms"], room["max_ms"]),
        ("errors", one["errors"], room["errors"]),
        ("exceptions", one["exceptions"], room["exceptions"]),
        ("isolation failures / checks", f"{one['isolation_failures']} / {one['isolation_checks']}",
         f"{room['isolation_failures']} / {room['isolation_checks']}"),
    ]
    out = [f"classroom load: 1 student vs {n}, {r['minutes']} min, think {r['think_s']} s", "",
           f"| | 1 student | {n} students |", "|---|---:|---:|"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    out += ["", f"p95 × one student's: {r['p95_ratio']}",
            "p95 per interaction, ms (1 → N): " + ", ".join(
                f"{k} {one['per_kind_p95_ms'].get(k, '–')} → {v}" for k, v in room["per_kind_p95_ms"].items()),
            "", "server memory, MB: " + ", ".join(f"{k} {v}" for k, v in m.items()),
            f"after every session closed: {r['after_close_ratio']}× the memory after one lesson "
            f"({r['after_close_vs_first_page']}× after the first page; waited {r['close_wait_s']} s; "
            f"goal ≤ {CLOSE_BOUND}×)"]
    problems = room["first_problems"] or one["first_problems"]
    if problems:
        out += ["", "first problems:"] + [f"  {p}" for p in problems]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--students", type=int, default=5)
    ap.add_argument("--minutes", type=float, default=1.0)
    ap.add_argument("--think", type=float, default=5.0)
    ap.add_argument("--solo-minutes", type=float, default=None, help="the lone student's minutes (default: "
                    "min(--minutes, 1))")
    ap.add_argument("--url", default=None, help="a running app (its server's pid from --pid, for memory)")
    ap.add_argument("--pid", type=int, default=None)
    ap.add_argument("--session-ttl", type=int, default=120,
                    help="server.disconnectedSessionTTL of the server this starts (Streamlit's default 120)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    solo = min(args.minutes, 1.0) if args.solo_minutes is None else args.solo_minutes
    if args.url:
        if args.pid is None:
            ap.error("--url needs --pid (the server process, for its memory)")
        result = run_coroutine(measure(args.url, args.pid, args.students, args.minutes, args.think, solo,
                                     args.session_ttl))
    else:
        with App([f"--server.disconnectedSessionTTL={args.session_ttl}"]) as app:
            result = run_coroutine(measure(app.url, app.proc.pid, args.students, args.minutes, args.think, solo,
                                         args.session_ttl))
    print(json.dumps(result) if args.json else report(result))
    return result


if __name__ == "__main__":
    main()
