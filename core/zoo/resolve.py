r"""Where a pretrained model's weights come from, in a fixed order, and why when they do not.

1. **cached** — torch keeps downloaded weights in its hub cache, ``torch.hub.get_dir()/checkpoints/``
   (``TORCH_HOME`` moves it), under the last part of the weights' URL, e.g.
   ``fcn_resnet50_coco-1167a1af.pth``;
2. **a local file or folder** the user names (a path on the machine running the app) or uploads;
   a folder is searched for the expected file name (also in ``checkpoints/`` and ``hub/checkpoints/``
   below it, so a copied hub cache works);
3. **download**, only when the user presses the button: the file comes in chunks (a progress bar
   follows), its SHA-256 is checked against the digits torchvision puts in the file name, and it is
   moved into the hub cache only when complete, so step 1 finds it next time;
4. **nothing**: the page says why (:attr:`WeightsRef.reason`) and runs the same network with random
   weights, or offers a checkpoint trained in the app.

Nothing here loads a file (see :mod:`core.zoo.checkpoints`); this module only says *which* file.
:mod:`core.zoo.weights` answers the simpler "cache, else download" question for a few named models;
this one takes any URL and adds the user's own files.
"""
from __future__ import annotations

import hashlib
import os
import re
import socket
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch

__all__ = ["WeightsRef", "DownloadError", "file_name", "hub_file", "locate", "uploaded", "random_weights",
           "download", "REASONS"]

REASONS = ("not_cached", "local_missing", "chosen")  # why a WeightsRef is "random"
_HASH = re.compile(r"-([a-f0-9]{6,})\.")  # torch.hub's convention: "-<first digits of the sha256>." in the name


@dataclass(frozen=True)
class WeightsRef:
    """Which weights a model gets. Cheap to make and hashable: the page decides, a cached loader loads.

    ``kind``: ``cache``, ``file`` (a path the user named), ``upload`` (bytes the page holds) or ``random``.
    ``digest`` changes whenever the content may have changed (path, size and time, or the bytes' hash),
    so a cache keyed on it never serves stale weights.
    """

    kind: str
    name: str = ""  # the file name shown to the user ("" for random weights)
    path: Path | None = None
    digest: str = ""
    reason: str = ""  # for random weights: one of REASONS

    @property
    def pretrained(self) -> bool:
        return self.kind != "random"

    @property
    def key(self) -> str:
        """One string that identifies these weights (for caches)."""
        return f"{self.kind}:{self.digest or self.reason}"


class DownloadError(RuntimeError):
    """A download did not complete. ``code``: ``offline`` (no connection), ``http`` (the server said no,
    ``status``), ``checksum`` (the bytes are not the published file) or ``disk`` (cannot write the cache)."""

    def __init__(self, code: str, detail: str = "", status: int | None = None):
        super().__init__(f"download failed ({code}): {detail}")
        self.code, self.detail, self.status = code, detail, status


def file_name(url: str) -> str:
    return os.path.basename(urlparse(url).path)


def hub_file(url: str) -> Path:
    """Where torch's hub cache keeps (or would keep) the file at ``url``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / file_name(url)


def _file_ref(kind: str, path: Path) -> WeightsRef:
    st = path.stat()
    return WeightsRef(kind, path.name, path, f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}")


def random_weights(reason: str, name: str = "") -> WeightsRef:
    if reason not in REASONS:
        raise ValueError(f"unknown reason '{reason}'; valid reasons are {', '.join(REASONS)}")
    return WeightsRef("random", name=name, reason=reason)


def locate(url: str | None, local: str | Path | None = None, names: tuple[str, ...] = ()) -> WeightsRef:
    """The weights for ``url`` in the order above (without downloading): cache, then ``local``, then none.

    In a folder, the file is looked for under the URL's file name and ``names`` (other published names
    of the same weights); failing those, a folder holding exactly one weights file is taken to mean it.
    """
    wanted = ([file_name(url)] if url else []) + list(names)
    for name in wanted:
        cached = Path(torch.hub.get_dir()) / "checkpoints" / name
        if cached.is_file():
            return _file_ref("cache", cached)
    if local is None or not str(local).strip():
        return random_weights("not_cached")
    path = Path(str(local).strip()).expanduser()
    if path.is_file():
        return _file_ref("file", path)
    if path.is_dir():
        for folder in (path, path / "checkpoints", path / "hub" / "checkpoints"):
            for name in wanted:
                if (folder / name).is_file():
                    return _file_ref("file", folder / name)
        from core.zoo.checkpoints import SUFFIXES

        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in SUFFIXES)
        if len(files) == 1:
            return _file_ref("file", files[0])
    return random_weights("local_missing", name=str(path))


def uploaded(name: str, data: bytes) -> WeightsRef:
    """A file the user uploaded (the page keeps the bytes; the reference carries their hash)."""
    return WeightsRef("upload", name, None, hashlib.sha1(data).hexdigest())


def download(url: str, progress: Callable[[int, int | None], None] | None = None, timeout: float = 20.0,
             chunk: int = 1 << 20) -> Path:
    """Fetch ``url`` into the hub cache in chunks, calling ``progress(done_bytes, total_bytes or None)``.

    The file appears in the cache only once complete and verified; an interrupted download leaves nothing
    behind. Raises :class:`DownloadError`.
    """
    target = hub_file(url)
    expected = _HASH.search(target.name)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DownloadError("disk", str(err)) from None
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".partial", dir=target.parent)
    done = False
    try:
        sha = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                got = 0
                if progress:
                    progress(0, total)
                while True:
                    block = response.read(chunk)
                    if not block:
                        break
                    out.write(block)
                    sha.update(block)
                    got += len(block)
                    if progress:
                        progress(got, total)
        except urllib.error.HTTPError as err:
            raise DownloadError("http", str(err.reason), status=err.code) from None
        except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError) as err:
            raise DownloadError("offline", str(getattr(err, "reason", err))) from None
        except OSError as err:
            raise DownloadError("disk", str(err)) from None
        if expected and not sha.hexdigest().startswith(expected.group(1)):
            raise DownloadError("checksum", f"sha256 {sha.hexdigest()[:12]}… does not start with {expected.group(1)}")
        os.replace(tmp, target)
        done = True
    finally:
        if not done and os.path.exists(tmp):
            os.remove(tmp)
    return target
