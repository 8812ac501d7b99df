"""Reading a step-through that plays in the browser (``app_pages/ui/stepper.py``) out of an AppTest run: the
frames the page sent, any step rebuilt from them as the browser rebuilds it, its figures and its sentence."""
from __future__ import annotations

import html
import json
import re

from core.figures.frames import replay

COMPONENT = "segstudio_steps"
_TAG = re.compile(r"<[^>]+>")


def _nodes(node):
    for child in getattr(node, "children", {}).values():
        yield child
        yield from _nodes(child)


def player(at, key: str) -> dict:
    """The data the page sent to the step-through ``key`` (``nb_step``): frames, step, labels."""
    found = [n.proto for n in _nodes(at._tree)
             if getattr(getattr(n, "proto", None), "component_name", "") == COMPONENT
             and n.proto.id.endswith(f"-{key}_player")]
    assert len(found) == 1, f"{len(found)} step-throughs '{key}' on the page"
    return json.loads(found[0].json)


def players(at) -> list[dict]:
    """Every step-through's data on the page."""
    return [json.loads(n.proto.json) for n in _nodes(at._tree)
            if getattr(getattr(n, "proto", None), "component_name", "") == COMPONENT]


def step_state(data: dict, k: int | None = None) -> dict:
    """Step ``k`` (the step the server is on when None): ``{"figs": [plotly figure data...], "caption": html}``."""
    return replay(data["first"], data["edits"], data["step"] if k is None else k)


def figure(at, key: str, panel: int, k: int | None = None) -> dict:
    """The plotly figure ``panel`` (0-based, reading order) of step-through ``key`` at step ``k``."""
    return step_state(player(at, key), k)["figs"][panel]


def caption(at, key: str, k: int | None = None) -> str:
    """The sentence under the figures at step ``k``, as plain text (what the student reads)."""
    return html.unescape(_TAG.sub("", step_state(player(at, key), k)["caption"].replace("</p>", "\n")))
