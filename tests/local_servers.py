"""Two small HTTP servers on 127.0.0.1 for the download tests: a model hub and a plain file server.

Both run in a thread on a free port, answer only what the test put in them, and are stopped by their
fixture (``stop()`` is also safe to call earlier, to check that a second resolve needs no network).

* :class:`ModelHub` answers what ``huggingface_hub`` (2.x) asks while downloading a repository: the
  revision info ``/api/models/<repo>/revision/<rev>`` (commit sha and file names), the file tree
  ``/api/models/<repo>/tree/<sha>`` (sizes, LFS hashes) and ``HEAD``/``GET /<repo>/resolve/<rev>/<file>``
  with ``X-Repo-Commit``, ``ETag``, ``Content-Length`` and byte ranges. The repositories are folders the
  tests write with ``save_pretrained``.
* :class:`FileServer` serves files the way ``download.pytorch.org`` does, ``Range`` included.

Either can refuse a path with a status (401/403/404, with the hub's ``X-Error-Code`` header where the hub
sends one) or cut the connection in the middle of a file, to check what a broken download leaves behind.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


class _Server:
    """A threaded HTTP server on 127.0.0.1:<free port>; subclasses say what a request gets."""

    def __init__(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                with owner.lock:
                    owner.connections.add(self.connection)

            def finish(self):
                with owner.lock:
                    owner.connections.discard(self.connection)
                super().finish()

            def do_GET(self):
                owner.handle(self, body=True)

            def do_HEAD(self):
                owner.handle(self, body=False)

            def log_message(self, *args):  # keep the test output clean
                pass

        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Range header)
        self.lock = threading.Lock()
        self.connections: set = set()  # open keep-alive connections: stop() closes them too
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()
        self.stopped = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.httpd.shutdown()
            self.httpd.server_close()
            with self.lock:
                for conn in list(self.connections):
                    try:
                        conn.shutdown(2)  # a client's pooled connection must not keep talking to a stopped server
                    except OSError:
                        pass
            self.thread.join(timeout=5)

    def handle(self, request: BaseHTTPRequestHandler, body: bool) -> None:
        with self.lock:
            self.requests.append((request.command, request.path, request.headers.get("Range")))
        self.respond(request, body)

    def respond(self, request, body: bool) -> None:
        raise NotImplementedError

    # --- answers ---------------------------------------------------------------------------------------

    @staticmethod
    def send_json(request, data, body: bool, headers: dict | None = None) -> None:
        raw = json.dumps(data).encode()
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            request.send_header(k, v)
        request.end_headers()
        if body:
            request.wfile.write(raw)

    @staticmethod
    def send_status(request, status: int, headers: dict | None = None) -> None:
        raw = json.dumps({"error": f"status {status}"}).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            request.send_header(k, v)
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(raw)

    @staticmethod
    def send_bytes(request, data: bytes, body: bool, headers: dict, ranges: bool = True,
                   cut_at: int | None = None) -> None:
        """``data`` (or the range asked for); ``cut_at``: close the connection after that many bytes."""
        start = 0
        asked = _RANGE.match(request.headers.get("Range") or "")
        if ranges and asked and int(asked.group(1)) >= len(data):
            request.send_response(416)
            request.send_header("Content-Range", f"bytes */{len(data)}")
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        if ranges and asked:
            start = int(asked.group(1))
            request.send_response(206)
            request.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            request.send_response(200)
        request.send_header("Content-Length", str(len(data) - start))
        request.send_header("Accept-Ranges", "bytes" if ranges else "none")
        for k, v in headers.items():
            request.send_header(k, v)
        request.end_headers()
        if not body:
            return
        if cut_at is not None:
            request.wfile.write(data[start:max(cut_at, start)])
            request.wfile.flush()
            request.close_connection = True
            try:
                request.connection.shutdown(2)  # the client sees the connection drop mid-file
            except OSError:
                pass
            return
        request.wfile.write(data[start:])


# --- the model hub ---------------------------------------------------------------------------------------

@dataclass
class Repo:
    files: dict[str, bytes]
    sha: str  # the commit every revision name resolves to
    revisions: tuple[str, ...] = ("main",)

    @classmethod
    def from_folder(cls, folder: Path, revisions: tuple[str, ...] = ("main",)) -> Repo:
        files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
        digest = hashlib.sha1(b"".join(k.encode() + v for k, v in files.items())).hexdigest()
        return cls(files, digest, revisions)


def _git_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class ModelHub(_Server):
    """A hub holding ``repos`` (repo id → :class:`Repo`)."""

    repos: dict[str, Repo] = field(default_factory=dict)
    refuse: dict[str, tuple[int, str | None]] = field(default_factory=dict)  # repo → (status, X-Error-Code)
    cut: dict[tuple[str, str], int] = field(default_factory=dict)  # (repo, file) → bytes sent before the cut
    down_after_cut: bool = True  # after a cut the hub answers 503 until recover(): the transfer stays broken

    def __post_init__(self):
        _Server.__init__(self)
        self.down = False

    def recover(self) -> None:
        self.down = False
        self.cut.clear()

    def respond(self, request, body: bool) -> None:
        path = unquote(urlsplit(request.path).path)
        if self.down:
            return self.send_status(request, 503)
        api = re.match(r"/api/models/(.+?)/(revision|tree)/(.+?)/?$", path)
        if api:
            repo_id, what, rev = api.groups()
            repo = self.repos.get(repo_id)
            if repo is None or (rev not in repo.revisions and rev != repo.sha):
                code = "RepoNotFound" if repo is None else "RevisionNotFound"
                return self.send_status(request, 404, {"X-Error-Code": code})
            if what == "revision":
                return self.send_json(request, {"id": repo_id, "sha": repo.sha, "private": False, "gated": False,
                                                "siblings": [{"rfilename": f} for f in repo.files]}, body)
            tree = []
            for name, data in repo.files.items():
                entry = {"type": "file", "path": name, "size": len(data), "oid": _git_oid(data)}
                if name.endswith(".safetensors"):
                    entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
                tree.append(entry)
            return self.send_json(request, tree, body)
        resolve = re.match(r"/(.+?)/resolve/(.+?)/(.+)$", path)
        if not resolve:
            return self.send_status(request, 404)
        repo_id, rev, name = resolve.groups()
        repo = self.repos.get(repo_id)
        if repo_id in self.refuse:
            status, code = self.refuse[repo_id]
            return self.send_status(request, status, {"X-Error-Code": code} if code else {})
        if repo is None:
            return self.send_status(request, 404, {"X-Error-Code": "RepoNotFound"})
        if rev not in repo.revisions and rev != repo.sha:
            return self.send_status(request, 404, {"X-Error-Code": "RevisionNotFound"})
        if name not in repo.files:
            return self.send_status(request, 404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": repo.sha})
        data = repo.files[name]
        etag = hashlib.sha256(data).hexdigest() if name.endswith(".safetensors") else _git_oid(data)
        cut_at = self.cut.get((repo_id, name)) if body else None
        if cut_at is not None and self.down_after_cut:
            self.down = True
        self.send_bytes(request, data, body, {"X-Repo-Commit": repo.sha, "ETag": f'"{etag}"'}, cut_at=cut_at)


# --- a plain file server ---------------------------------------------------------------------------------

@dataclass
class FileServer(_Server):
    """Files under ``/models/<name>``, as torchvision's download server lays them out."""

    files: dict[str, bytes] = field(default_factory=dict)
    refuse: dict[str, int] = field(default_factory=dict)  # name → status
    cut: dict[str, int] = field(default_factory=dict)  # name → bytes sent before the next GET is cut
    ranges: bool = True  # False: ignore Range headers and always send the whole file

    def __post_init__(self):
        _Server.__init__(self)

    @property
    def mirror(self) -> str:
        return self.url + "/models/"

    def respond(self, request, body: bool) -> None:
        path = unquote(urlsplit(request.path).path)
        name = path.removeprefix("/models/")
        if name in self.refuse:
            return self.send_status(request, self.refuse[name])
        if not path.startswith("/models/") or name not in self.files:
            return self.send_status(request, 404)
        cut_at = self.cut.pop(name, None) if body else None
        self.send_bytes(request, self.files[name], body, {"Content-Type": "application/octet-stream"},
                        ranges=self.ranges, cut_at=cut_at)


@pytest.fixture
def model_hub():
    hub = ModelHub()
    yield hub
    hub.stop()


@pytest.fixture
def file_server():
    server = FileServer()
    yield server
    server.stop()


class Proxy:
    """Debian's nginx run with the deployment's own ``deploy/nginx.conf``, its upstream pointed at app servers
    on 127.0.0.1 and its port at a free one; files in ``workdir``; stopped by ``stop()``."""

    def __init__(self, upstreams: list[str], workdir: Path):
        import shutil
        import socket
        import subprocess
        import time

        exe = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
        if exe is None:
            raise FileNotFoundError("nginx")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        conf = (Path(__file__).resolve().parent.parent / "deploy" / "nginx.conf").read_text()
        servers = "\n".join(f"        server {u} max_fails=0;" for u in upstreams)
        conf = re.sub(r"^\s*server app:8501[^;]*;", servers, conf, flags=re.MULTILINE)
        conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{self.port};")
        conf = conf.replace("worker_processes auto;", "worker_processes 1;\npid nginx.pid;\n"
                            "error_log error.log;")
        temp = "".join(f"    {k}_temp_path {workdir / k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        conf = conf.replace("http {\n", "http {\n    access_log off;\n" + temp, 1)
        self.conf = workdir / "nginx.conf"
        self.conf.write_text(conf)
        check = subprocess.run([exe, "-t", "-p", str(workdir), "-c", str(self.conf)], check=False,
                               capture_output=True, text=True)
        if check.returncode:
            raise RuntimeError(f"nginx -t refused the deployment's config: {check.stderr}")
        self.proc = subprocess.Popen([exe, "-p", str(workdir), "-c", str(self.conf), "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("nginx did not start") from None
                time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except Exception:  # noqa: BLE001 (a stuck proxy is killed)
                self.proc.kill()
