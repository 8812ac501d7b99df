"""Shared test fixtures: run a page through AppTest; a real Streamlit server and a real Chromium."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from hypothesis import settings
from streamlit.testing.v1 import AppTest

# On CI the property tests draw the same examples every run (a run that lands must be reproducible);
# locally they keep exploring new ones. Either way no example has a deadline: the machine is shared.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def run_page(slug: str, lang: str = "en", state: dict | None = None, timeout: float = 120) -> AppTest:
    """Run ``app.py`` on the page ``slug`` in ``lang``, with ``state`` put in session_state first."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.session_state["lang"] = lang
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.switch_page(f"app_pages/{slug}.py")
    from core.background import JOBS

    started = JOBS.started
    at.run()
    if JOBS.started != started:  # a section prepared its model in the background: run again once it is ready,
        assert JOBS.wait_all(timeout)  # as the page's own timed check does in a browser
        at.run()
    return at


def drop_empty(value):
    """A figure's JSON without empty objects (``"title": {}``), which plotly's validation leaves out and plotly.js
    ignores."""
    if isinstance(value, dict):
        return {k: drop_empty(v) for k, v in value.items() if v != {}}
    if isinstance(value, list):
        return [drop_empty(v) for v in value]
    return value


def page_text(at: AppTest) -> str:
    """All the text a page shows (markdown, titles, captions, alerts), as one string."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "success", "info", "warning",
                 "error", "latex", "text"):
        parts += [str(getattr(el, "value", "")) for el in getattr(at, kind)]
    return "\n".join(parts)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def browser_available() -> bool:
    if not Path(CHROMIUM).exists():
        return False
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


def require_browser() -> None:
    """Skip without Chromium, except on CI, where the browser tests must run."""
    if browser_available():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but no browser: install Debian's chromium ({CHROMIUM}) and playwright")
    pytest.skip(f"no Chromium at {CHROMIUM}")


def start_server(script: Path | None = None, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """A fresh Streamlit server for ``script`` (the app by default) on 127.0.0.1 at a free port, with ``env``
    added to its environment (``CLASS_STORE``, say).

    Returns (process, base URL)."""
    port = _free_port()
    env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false", **(env or {}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script or ROOT / "app.py"), "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited: {proc.stdout.read().decode(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, base
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("streamlit did not become healthy within 60 s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def redis_url():
    """A Redis server of its own (Debian's ``redis-server``) on 127.0.0.1 at a free port, nothing saved to disk;
    stopped after the module. Skipped where it is not installed, except on CI, where it must run."""
    exe = shutil.which("redis-server")
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but no redis-server: install Debian's redis-server")
        pytest.skip("no redis-server")
    port = _free_port()
    proc = subprocess.Popen([exe, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                             "--protected-mode", "yes"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.time() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            pass
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("redis-server did not start within 20 s")
        time.sleep(0.1)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a module's tests: on a shared 2-core machine, two threads per op are several times
    slower, not faster. A module asks for it with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def app_server():
    """Base URL of a Streamlit server shared by the browser tests of one module.

    A fresh server per module: what earlier modules left running on it (background training runs, dozens
    of sessions and their memory) never slows the next module's pages past its waits."""
    require_browser()
    proc, base = start_server()
    yield base
    stop_server(proc)


@pytest.fixture(scope="session")
def playwright_driver():
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_driver):
    b = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
    yield b
    b.close()


@pytest.fixture(scope="module")
def own_browser(playwright_driver):
    """A Chromium of the module's own, started fresh, for the classroom tests: they keep six or more tabs
    polling the server every second, and should not share a browser with what the other tests left open."""
    b = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
    yield b
    b.close()


@pytest.fixture
def browser_page(browser):
    """A fresh browser tab (1400×1000); closed after the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


IDLE_POLLS, IDLE_POLL_MS = 5, 100  # wait_for_app: how long the app must stay idle (5 polls, 100 ms apart)


def wait_for_app(page, timeout_ms: int = 60_000) -> None:
    """Wait until Streamlit has finished running the script (no 'running' indicator, content shown)."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=timeout_ms)
    # Streamlit writes its script run state on the app's root; a running script also shows the status widget
    # and keeps the previous run's elements as stale copies until it has drawn their new versions. A click's
    # rerun starts only once its message has reached the server, and a run may chain another (st.rerun), so
    # the page must be found idle on IDLE_POLLS polls in a row, IDLE_POLL_MS apart, not just once.
    page.evaluate("() => { window.__ssIdlePolls = 0; }")
    page.wait_for_function(
        """(need) => {
             const idle = document.querySelector('[data-testid="stApp"]')?.dataset.testScriptState === "notRunning"
                 && !document.querySelector('[data-testid="stStatusWidget"], [data-stale="true"]');
             window.__ssIdlePolls = idle ? (window.__ssIdlePolls || 0) + 1 : 0;
             return window.__ssIdlePolls >= need; }""",
        arg=IDLE_POLLS, polling=IDLE_POLL_MS, timeout=timeout_ms)


def wait_for_text(page, text: str, timeout_ms: int = 30_000) -> None:
    """Wait until the page's text holds ``text``."""
    page.wait_for_function("t => document.body.innerText.includes(t)", arg=text, timeout=timeout_ms)


def no_exception(page) -> None:
    """The page shows no Streamlit exception box."""
    assert page.locator('[data-testid="stException"]').count() == 0


def page_url(base: str, slug: str, lang: str | None = None) -> str:
    """The address of a page: the default page (start) lives at the root."""
    path = "" if slug == "start" else slug
    return f"{base}/{path}" + (f"?lang={lang}" if lang else "")


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    # Streamlit scrolls inside its main section, so grow the window to the content's height first.
    size = page.viewport_size
    height = page.evaluate("() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], "
                           "[data-testid=stAppViewContainer]')].map(e => e.scrollHeight), 600)")
    tall = min(int(height) + 40, 12000)
    page.set_viewport_size({"width": size["width"], "height": tall})
    # the window has its new height and the page has drawn two frames at it (charts follow the resize)
    page.wait_for_function("h => window.innerHeight === h", arg=tall)
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done())))")
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    return path
