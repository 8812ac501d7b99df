"""The app's heavy imports, done once in the background when the server starts.

A page that first needs torchvision (the weights catalogue, the detection models) or a transformers model
class would otherwise pay for importing it on the student's first visit: 1.5 s for torchvision (it brings in ``torch._dynamo``), 1.2 s for SegFormer's modules, measured on a 2-core CPU. A
daemon thread imports them right after the app's first run instead; a page that needs one sooner waits only
for what is left of that import (Python's import lock). No Streamlit here: :func:`start` is idempotent.

Then what the imports made is frozen out of the garbage collector's reach (:func:`gc.freeze`), so a full
collection stays cheap; one runs every minute on a thread of its own (instead of Streamlit's after every
script run, turned off in ``.streamlit/config.toml``).

Last, the few results that every session shares and no student's input changes, which a first visit would
otherwise wait for: the full-resolution page's patch classifier, trained 150 steps (2 s), the timing of
its two ways at each picture size it offers (0.4 s), and its receptive-field checks (traced and measured by autograd for each network and depth, 0.3 s). None of them
draws from torch's global generator (each builds its weights from a generator of its own, or on ``meta``), so
the pages' seeded results never depend on when this runs.
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

# The app turns off Streamlit's full collection after every script run (.streamlit/config.toml, runner.postScriptGC):
# a classroom of polling students made it most of the server's work. Cycles are collected here instead, once a
# minute, so what closed sessions leave behind still goes back (Python's own generational collector runs too), and
# the C heap's free pages are then handed back to the system (:func:`_trim`).
COLLECT_EVERY_S = 60.0



def _patch_classifier() -> None:
    from core import sliding_window

    sliding_window.trained_classifier(sliding_window.PAGE_STEPS)
    for side in sliding_window.PAGE_SIDES:  # both ways timed side by side, once per picture size
        sliding_window.side_timings(side)


def _receptive_field_checks() -> None:
    from core import cost

    for stages in range(1, 6):  # the full-resolution page's depths
        for kind in ("full_resolution", "hourglass"):
            cost.receptive_field_check(kind, stages)


SHARED = (("patch classifier", _patch_classifier), ("receptive-field checks", _receptive_field_checks))

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
        # A full garbage collection with these modules loaded holds the GIL for 180 ms on this CPU (500 000
        # objects). What the imports made lives as long as the process: frozen, the collector no longer walks it.
        gc.collect()
        gc.freeze()
        took["gc.freeze"] = 0.0
        for name, compute in SHARED:
            t0 = time.perf_counter()
            compute()
            took[name] = time.perf_counter() - t0
    finally:
        _done.set()


def _trim() -> None:
    """Hand the C heap's free pages back to the system (glibc's ``malloc_trim``; nothing elsewhere).

    Every session's script runs on a thread of its own, and glibc gives busy threads heaps (arenas) of their
    own: what a closed session freed stays in them, counted in the server's memory, until it is trimmed. The
    classroom load test measured the server at 1.46× its memory after one lesson, 90 s after forty students
    had closed their sessions, without this."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): its allocator returns memory its own way
        pass


def _collect(every_s: float) -> None:
    while True:
        time.sleep(every_s)
        gc.collect()
        _trim()


def start(collect_every_s: float = COLLECT_EVERY_S) -> threading.Thread:
    """Start the imports in a background thread (the first call), and a thread that collects the garbage every
    ``collect_every_s`` seconds; later calls return the same import thread."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_work, name="studio-warm-up", daemon=True)
            _thread.start()
            threading.Thread(target=_collect, args=(collect_every_s,), name="studio-gc", daemon=True).start()
        return _thread


def wait(timeout: float | None = None) -> bool:
    """Block until the warm-up has finished (True), or ``timeout`` seconds have passed (False)."""
    return _done.wait(timeout)
