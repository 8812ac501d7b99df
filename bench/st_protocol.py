"""A Streamlit session spoken over Streamlit's own websocket protocol, for the classroom benchmarks.

Each :class:`Session` is what a browser tab is to the server: it asks ``/_stcore/health`` (for the XSRF cookie, as the browser does),
opens ``ws://HOST/_stcore/stream`` with the ``streamlit`` subprotocol, sends ``BackMsg.rerun_script`` with a
``ClientState`` (page name or page hash, query string, widget states) and reads the ``ForwardMsg`` stream
back: ``new_session`` opens a run, ``delta`` messages carry its elements, ``script_finished`` ends it. A
fragment's ``auto_rerun`` (``st.fragment(run_every=…)``) is honoured the way the browser does: a
``rerun_script`` with that fragment's id every interval. Uploads go through ``file_urls_request`` and a
PUT to ``/_stcore/upload_file/…``, as the browser's file uploader does.

No part of the app is mocked: the server is the real ``streamlit run app.py``.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Common_pb2 import FileUploaderState, UploadedFileInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

FINISHED = ForwardMsg.FINISHED_SUCCESSFULLY
FRAGMENT_FINISHED = ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY


def run_coroutine(coro):
    """``asyncio.run(coro)``, also from a thread whose event loop is already running.

    A test suite that drove a browser with Playwright's synchronous API leaves such a loop behind, and
    ``asyncio.run`` refuses to start a second one there; the coroutine then runs on a thread of its own.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict = {}

    def target():
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # handed back to the caller below
            box["error"] = exc

    thread = threading.Thread(target=target, name="bench-loop")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def widget_key(element_id: str) -> str | None:
    """The user key of a widget id (``$$ID-<hash>-<key>``), or None for a widget without a key."""
    parts = element_id.split("-", 2)
    return parts[2] if len(parts) == 3 and parts[2] != "None" else None


@dataclass
class Run:
    """What one script run sent: its texts (markdown, LaTeX, code), exceptions, error boxes, its status."""
    fragment: bool = False
    texts: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    status: int | None = None


class Session:
    """One browser tab of the app, as the server sees it."""

    def __init__(self, base_url: str):
        self.base = base_url.rstrip("/")
        self.ws = None
        self.session_id = ""
        self.page_hash = ""
        self.query = ""
        self.widgets: dict[str, tuple[str, object]] = {}  # user key -> (widget id, element proto)
        self.sent: dict[str, WidgetState] = {}  # widget id -> the last state sent for it (the page's widgets)
        self.runs: list[Run] = []  # every run so far (the current one last)
        self.exceptions: list[str] = []
        self.errors: list[str] = []
        self._finished = asyncio.Condition()
        self._auto: dict[str, asyncio.Task] = {}
        self._file_urls: dict[str, asyncio.Future] = {}
        self._reader: asyncio.Task | None = None
        self._xsrf = ""
        self.closed = False
        self.on_finished = None  # called with (the run, time.perf_counter()) at every full run's end

    # --- connecting ---------------------------------------------------------------------------------------
    async def connect(self) -> None:
        def fetch_cookie() -> str:
            with urllib.request.urlopen(self.base + "/_stcore/health", timeout=30) as reply:
                for header in reply.headers.get_all("Set-Cookie") or []:
                    name, _, rest = header.partition("=")
                    if name.strip() == "_streamlit_xsrf":
                        return rest.split(";")[0]
            return ""

        self._xsrf = await asyncio.get_running_loop().run_in_executor(None, fetch_cookie)
        ws_url = "ws" + self.base[len("http"):] + "/_stcore/stream"
        protocols = ["streamlit", self._xsrf] if self._xsrf else ["streamlit"]
        headers = {"Origin": self.base}
        if self._xsrf:
            headers["Cookie"] = f"_streamlit_xsrf={self._xsrf}"
        self.ws = await websockets.connect(ws_url, subprotocols=protocols, additional_headers=headers,
                                           max_size=None, open_timeout=30, ping_interval=None)
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        self.closed = True
        for task in self._auto.values():
            task.cancel()
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()

    # --- the ForwardMsg stream --------------------------------------------------------------------------
    async def _read(self) -> None:
        try:
            async for data in self.ws:
                msg = ForwardMsg()
                msg.ParseFromString(data)
                await self._handle(msg)
        except websockets.ConnectionClosed as err:
            if not self.closed:
                self.errors.append(f"websocket closed: {err}")
        except asyncio.CancelledError:
            raise
        except Exception as err:  # a fault of this client is counted, never hidden
            self.errors.append(f"reader: {type(err).__name__}: {err}")
        finally:
            async with self._finished:
                self._finished.notify_all()

    async def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self.session_id = msg.new_session.initialize.session_id or self.session_id
            self.page_hash = msg.new_session.page_script_hash or self.page_hash
            self.runs.append(Run(fragment=bool(msg.metadata.run.fragment_ids)))
            if not self.runs[-1].fragment:
                self.widgets = {}
        elif kind == "navigation":
            self.page_hash = msg.navigation.page_script_hash or self.page_hash
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "delta":
            if msg.delta.WhichOneof("type") == "new_element":
                self._element(msg.delta.new_element)
        elif kind == "script_finished":
            if self.runs:
                self.runs[-1].status = msg.script_finished
                if self.on_finished and msg.script_finished == FINISHED and not self.runs[-1].fragment:
                    self.on_finished(self.runs[-1], time.perf_counter())
            if msg.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                self.errors.append("script finished with a compile error")
            async with self._finished:
                self._finished.notify_all()
        elif kind == "auto_rerun":
            frag = msg.auto_rerun.fragment_id
            if frag in self._auto:
                self._auto[frag].cancel()
            self._auto[frag] = asyncio.create_task(self._every(msg.auto_rerun.interval, frag))
        elif kind == "stop_auto_rerun":
            for task in self._auto.values():
                task.cancel()
            self._auto = {}
        elif kind == "file_urls_response":
            future = self._file_urls.pop(msg.file_urls_response.response_id, None)
            if future is not None and not future.done():
                future.set_result(msg.file_urls_response)
        elif kind == "page_not_found":
            self.errors.append(f"page not found: {msg.page_not_found.page_name}")
        elif kind == "session_event" and msg.session_event.WhichOneof("type") == "script_compilation_exception":
            self.errors.append("script compilation exception")

    def _element(self, element) -> None:
        kind = element.WhichOneof("type")
        run = self.runs[-1] if self.runs else Run()
        if kind == "exception":
            text = f"{element.exception.type}: {element.exception.message}"
            run.exceptions.append(text)
            self.exceptions.append(text)
        elif kind == "markdown":
            run.texts.append(element.markdown.body)
        elif kind == "code":
            run.texts.append(element.code.code_text)
        elif kind == "alert":
            run.texts.append(element.alert.body)
            if element.alert.format == element.alert.ERROR:
                run.alerts.append(element.alert.body)
        if kind is not None:
            inner = getattr(element, kind)
            element_id = getattr(inner, "id", "") if hasattr(inner, "id") else ""
            if element_id:
                key = widget_key(element_id)
                if key:
                    self.widgets[key] = (element_id, inner)

    async def _every(self, seconds: float, fragment_id: str) -> None:
        while not self.closed:
            await asyncio.sleep(seconds)
            try:
                await self._send_rerun(fragment_id=fragment_id, auto=True)
            except websockets.ConnectionClosed:
                return

    # --- sending --------------------------------------------------------------------------------------
    async def _send_rerun(self, *, page_name: str | None = None, query: str | None = None,
                          fragment_id: str = "", auto: bool = False) -> None:
        back = BackMsg()
        state = back.rerun_script
        state.query_string = self.query if query is None else query
        if page_name is not None:
            state.page_name = page_name
        else:
            state.page_script_hash = self.page_hash
        state.fragment_id = fragment_id
        state.is_auto_rerun = auto
        state.widget_states.widgets.extend(self.sent.values())
        await self.ws.send(back.SerializeToString())

    async def _wait(self, after: int, timeout: float) -> Run:
        """The first full run started after run number ``after`` that finished (fragment runs are skipped)."""
        deadline = time.monotonic() + timeout
        async with self._finished:
            while True:
                for run in self.runs[after:]:
                    if not run.fragment and run.status == FINISHED:
                        return run
                if self.errors and self.ws.state.name != "OPEN":
                    raise ConnectionError(self.errors[-1])
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no script_finished within the time allowed")
                try:
                    await asyncio.wait_for(self._finished.wait(), left)
                except TimeoutError:
                    pass

    async def open_page(self, page: str, query: str = "", timeout: float = 120) -> tuple[float, Run]:
        """Open a page (its url path) as a typed address does; the seconds to its script_finished and the run."""
        self.sent = {}
        before = len(self.runs)
        start = time.perf_counter()
        await self._send_rerun(page_name=page, query=query)
        run = await self._wait(before, timeout)
        return time.perf_counter() - start, run

    async def change(self, key: str, state: WidgetState, trigger: bool = False, timeout: float = 120,
                     fragment: bool = False) -> tuple[float, Run]:
        """Send a widget's new value (or a button press) as the browser does; seconds to script_finished."""
        if key not in self.widgets:
            raise KeyError(f"no widget with key {key!r} on the page (keys: {sorted(self.widgets)[:20]}…)")
        element_id = self.widgets[key][0]
        state.id = element_id
        self.sent[element_id] = state
        before = len(self.runs)
        start = time.perf_counter()
        await self._send_rerun()
        if trigger:  # a trigger is true for one run only, as the browser sends it
            self.sent.pop(element_id, None)
        run = await self._wait(before, timeout)
        return time.perf_counter() - start, run

    async def set_number(self, key: str, value: float, **kw) -> tuple[float, Run]:
        state = WidgetState()
        state.double_array_value.data.append(float(value))
        return await self.change(key, state, **kw)

    async def click(self, key: str, **kw) -> tuple[float, Run]:
        state = WidgetState()
        state.trigger_value = True
        return await self.change(key, state, trigger=True, **kw)

    async def set_state(self, key: str, value: dict, **kw) -> tuple[float, Run]:
        """A component's state as its script sets it (``setStateValue``): e.g. the step a step-through settled on."""
        state = WidgetState()
        state.json_value = json.dumps(value)
        return await self.change(key, state, **kw)

    async def choose(self, key: str, label: str, **kw) -> tuple[float, Run]:
        """A segmented control or pills: the option's label as shown."""
        state = WidgetState()
        state.string_array_value.data.append(label)
        return await self.change(key, state, **kw)

    async def upload(self, key: str, name: str, data: bytes, mime: str = "image/png", **kw) -> tuple[float, Run]:
        """Upload a file into a file uploader the way the browser does; seconds from the PUT to script_finished."""
        request_id = uuid.uuid4().hex
        future = asyncio.get_running_loop().create_future()
        self._file_urls[request_id] = future
        back = BackMsg()
        back.file_urls_request.request_id = request_id
        back.file_urls_request.session_id = self.session_id
        back.file_urls_request.file_names.append(name)
        start = time.perf_counter()
        await self.ws.send(back.SerializeToString())
        urls = (await asyncio.wait_for(future, 30)).file_urls[0]
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
                f"Content-Type: {mime}\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        url = urls.upload_url if urls.upload_url.startswith("http") else self.base + urls.upload_url

        def put() -> int:
            req = urllib.request.Request(url, data=body, method="PUT", headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}", "X-Xsrftoken": self._xsrf,
                "Cookie": f"_streamlit_xsrf={self._xsrf}", "Origin": self.base})
            with urllib.request.urlopen(req, timeout=60) as reply:
                return reply.status

        status = await asyncio.get_running_loop().run_in_executor(None, put)
        if status not in (200, 204):
            raise ConnectionError(f"upload answered {status}")
        state = WidgetState()
        info = UploadedFileInfo(file_id=urls.file_id, name=name, size=len(data), file_urls=urls)
        state.file_uploader_state_value.CopyFrom(FileUploaderState(uploaded_file_info=[info]))
        seconds, run = await self.change(key, state, **kw)
        return time.perf_counter() - start, run
