"""The app under test for the classroom benchmarks: ``streamlit run app.py`` on a free 127.0.0.1 port.

Started headless, stopped at the end (or when the benchmark fails), and its memory read from
``/proc/<pid>/status`` (``VmRSS``) of the server process and all its children.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return found


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and every descendant, in bytes."""
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            continue
        todo += _children(p)
    return total


def wait_healthy(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"the app did not answer at {url} within {seconds:.0f} s")


class App:
    """``streamlit run app.py`` (or ``script``) on 127.0.0.1, as a context manager; ``extra`` are more
    ``--option=value``s."""

    def __init__(self, extra: list[str] | None = None, env: dict | None = None, log: str | None = None,
                 script: str = "app.py"):
        self.script = script
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra = extra or []
        self.env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"), **(env or {})}
        self.log = log
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> App:
        out = open(self.log, "w") if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", self.script, "--server.address=127.0.0.1",
             f"--server.port={self.port}", "--server.headless=true", "--browser.gatherUsageStats=false",
             "--server.fileWatcherType=none", *self.extra],
            cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_healthy(self.url, 90)
        except BaseException:
            self.__exit__()
            raise
        return self

    def rss(self) -> int:
        return rss_bytes(self.proc.pid)

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


class Redis:
    """Debian's ``redis-server`` on 127.0.0.1 at a free port, nothing saved to disk, as a context manager: the
    class store several app processes share (``CLASS_STORE=<url>``)."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Redis:
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("no redis-server: install Debian's redis-server package")
        self.proc = subprocess.Popen([exe, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                                      "--appendonly", "no", "--protected-mode", "yes"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.__exit__()
                raise TimeoutError("redis-server did not start within 20 s")
            time.sleep(0.1)

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
