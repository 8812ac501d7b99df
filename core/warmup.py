"""The app's heavy imports, done once in the background when the server starts.

A page that first needs torchvision (the weights catalogue, the detection models) or a transformers model
class would otherwise pay for importing it on the student's first visit: 1.5 s for torchvision (it brings in ``torch._dynamo``), 1.2 s for SegFormer's modules, measured on a 2-core CPU. A
daemon thread imports them right after the app's first run instead; a page that needs one sooner waits only
for what is left of that import (Python's import lock). No Streamlit here: :func:`start` is idempotent.

Then what the imports made is frozen out of the garbage collector's reach (:func:`gc.freeze`), so the full
collection Streamlit runs after every script run stays cheap. Only imports: nothing here draws random
numbers, so the pages' seeded results never depend on when it runs (training the full-resolution page's
classifier here would share torch's global generator with every page).
"""
from __future__ import annotations

import gc
import importlib
import threading
import time

# Not pandas: plotly and Streamlit look for it in ``sys.modules`` without importing it, and would find it half
# made while this thread imports it (the app imports it up front instead). Nothing looks for these that way.
MODULES = ("torchvision", "torchvision.models.detection", "torchvision.ops", "transformers")
# transformers loads each model's module lazily, when its class is first asked for
TRANSFORMERS_CLASSES = ("SegformerConfig", "SegformerForSemanticSegmentation", "SegformerImageProcessor",
                        "Mask2FormerConfig", "Mask2FormerForUniversalSegmentation", "Mask2FormerImageProcessor",
                        "SwinConfig")

_lock = threading.Lock()
_thread: threading.Thread | None = None
_done = threading.Event()
took: dict[str, float] = {}  # seconds per module, once imported (what the warm-up spared the first visits)


def _work() -> None:
    try:
        for name in MODULES:
            t0 = time.perf_counter()
            try:
                module = importlib.import_module(name)
            except ImportError:  # an optional package that is not installed: its pages say so themselves
                continue
            if name == "transformers":
                for attr in TRANSFORMERS_CLASSES:
                    try:
                        getattr(module, attr)
                    except (AttributeError, ImportError):
                        pass
            took[name] = time.perf_counter() - t0
        # Streamlit runs a full garbage collection after every script run, a fragment's included: with these
        # modules loaded that is 180 ms of a held GIL on this CPU (500 000 objects), for each student's poll.
        # What the imports made lives as long as the process: frozen, the collector no longer walks it (0 ms).
        gc.collect()
        gc.freeze()
        took["gc.freeze"] = 0.0
    finally:
        _done.set()


def start() -> threading.Thread:
    """Start the imports in a background thread (the first call); later calls return the same thread."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_work, name="studio-warm-up", daemon=True)
            _thread.start()
        return _thread


def wait(timeout: float | None = None) -> bool:
    """Block until the warm-up has finished (True), or ``timeout`` seconds have passed (False)."""
    return _done.wait(timeout)
