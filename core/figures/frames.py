"""Step-throughs the browser plays by itself: every step's figures, sent once as the first step plus small edits.

A step-through (nearest neighbour cell by cell, max pooling window by window) draws the same few figures at
every step with a cell or two changed. Sending each step whole would cost hundreds of kilobytes for a large
grid; sending the first step and, for every later step, only what changed from the step before costs a few
hundred bytes a step, and the browser rebuilds any step from them (``app_pages/ui/stepper.py`` plays them).

Pure functions on plain figure data (:func:`core.figures.common.spec_of`): nothing here knows Streamlit.
An edit is ``[path, value]`` (set the value at ``path``, a list of keys and list positions) or ``[path]``
(remove the key at ``path``).
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Sequence

import numpy as np

_MISSING = object()


def plain(value):
    """``value`` as JSON data: numpy arrays as (nested) lists, numpy numbers as Python ones, NaN as None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None  # what plotly.js reads as an empty cell, as plotly's own JSON encoder writes NaN
    return value


def diff(before, after, path: tuple = ()) -> list[list]:
    """The edits that turn ``before`` into ``after`` (both plain data); ``[]`` when they are equal.

    Dicts are compared key by key and lists of the same length item by item; anything else that differs
    (a list that grew, a number, a string) is set whole. A part both share (the same object: a step drawn on the
    one before it) is equal without being looked into.
    """
    if before is after:
        return []
    if isinstance(before, (dict, list)) and type(before) is type(after) and _same(before, after):
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        edits: list[list] = []
        for key, value in after.items():
            old = before.get(key, _MISSING)
            if old is _MISSING:
                edits.append([[*path, key], value])
            elif old is not value:
                edits.extend(diff(old, value, (*path, key)))
        edits.extend([[*path, key]] for key in before if key not in after)
        return edits
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        edits = []
        for i, (old, new) in enumerate(zip(before, after)):
            if old is not new:
                edits.extend(diff(old, new, (*path, i)))
        return edits
    if type(before) is type(after) and before == after:
        return []
    return [[list(path), after]]


def _same(before, after) -> bool:
    """Whether two dicts or lists are the same data, looked at in one go rather than part by part: ``==`` alone
    takes ``True`` for ``1`` (plotly.js does not), their ``repr`` tells them apart."""
    return before == after and repr(before) == repr(after)


def patch(value, edits: Sequence[Sequence]):
    """``value`` with ``edits`` (from :func:`diff`) applied, changed in place and returned."""
    for edit in edits:
        path = edit[0]
        if not path:
            value = copy.deepcopy(edit[1])
            continue
        parent = value
        for key in path[:-1]:
            parent = parent[key]
        if len(edit) == 1:
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = copy.deepcopy(edit[1])
    return value


def step_frames(steps: Sequence) -> tuple[object, list[list]]:
    """Every step's data (one plain-data value per step, e.g. a list of figures and a caption) as the first
    step and, for each later step, the edits from the step before it."""
    if not steps:
        raise ValueError("a step-through has at least one step")
    first = steps[0]
    return first, [diff(steps[k - 1], steps[k]) for k in range(1, len(steps))]


def replay(first, edits: Sequence[Sequence], k: int):
    """Step ``k``'s data rebuilt from :func:`step_frames`' output, as the browser rebuilds it."""
    value = copy.deepcopy(first)
    for step_edits in edits[:k]:
        value = patch(value, step_edits)
    return value


def signature(value) -> str:
    """A short digest of plain data: the browser rebuilds its frames only when this changes."""
    return hashlib.blake2b(json.dumps(value, sort_keys=True, separators=(",", ":")).encode(), digest_size=8).hexdigest()
