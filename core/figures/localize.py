"""A figure in the reader's language: Romanian numbers with a decimal comma, on axes, in hover and in text.

Plotly formats the numbers it computes itself (axis ticks, hover values, ``texttemplate`` fields) with the
layout's ``separators``; numbers the builders have already written into strings (a cell's text from
:func:`core.figures.common.format_number`, an annotation, a title, tick labels) are rewritten by
:func:`core.lessons.localize_numbers`, which leaves lists of whole numbers ("x[0, 1]", "(2, 3)") and
versions ("SAM 2.1") alone. A pure function: a figure in, a localised copy out; English figures come back
as they are.
"""
from __future__ import annotations

import plotly.graph_objects as go

from core.figures.common import axes_of, figure_of, spec_of
from core.lessons import NBSP, localize_numbers

# Plotly's separators: the decimal mark, then the one between thousands.
SEPARATORS = {"ro": "," + NBSP}
_TRACE_TEXT = ("text", "hovertext", "texttemplate", "hovertemplate", "name")
_AXIS_TEXT = ("ticktext",)


def _localize(value, lang: str):
    """A string, or a (nested) list / tuple of them, with its numbers rewritten; anything else unchanged."""
    if isinstance(value, str):
        return localize_numbers(value, lang)
    if isinstance(value, (list, tuple)):
        return [_localize(v, lang) for v in value]
    if hasattr(value, "tolist") and getattr(value, "dtype", None) is not None and value.dtype.kind in "OUS":
        return _localize(value.tolist(), lang)
    return value


def _title(obj: dict | None, lang: str) -> None:
    title = obj.get("title") if isinstance(obj, dict) else None
    if isinstance(title, dict) and title.get("text"):
        title["text"] = localize_numbers(title["text"], lang)
    elif isinstance(title, str) and title:
        obj["title"] = localize_numbers(title, lang)


def localize_spec(spec: dict, lang: str) -> dict:
    """:func:`localize_figure` on a figure's plain data (:func:`core.figures.common.spec_of`), changed in place."""
    if lang not in SEPARATORS:
        return spec
    layout = spec.setdefault("layout", {})
    layout["separators"] = SEPARATORS[lang]
    _title(layout, lang)
    for trace in spec.get("data") or ():
        for prop in _TRACE_TEXT:
            if trace.get(prop) is not None:
                trace[prop] = _localize(trace[prop], lang)
        colorbar = trace.get("colorbar")
        if colorbar:
            _title(colorbar, lang)
            if colorbar.get("ticktext") is not None:
                colorbar["ticktext"] = _localize(colorbar["ticktext"], lang)
        _title((trace.get("marker") or {}).get("colorbar"), lang)
    for ann in layout.get("annotations") or ():
        if ann.get("text"):
            ann["text"] = localize_numbers(ann["text"], lang)
    for axis in axes_of(layout):
        _title(axis, lang)
        for prop in _AXIS_TEXT:
            if axis.get(prop) is not None:
                axis[prop] = _localize(axis[prop], lang)
    _title(layout.get("legend"), lang)
    return spec


def localize_figure(fig: go.Figure, lang: str) -> go.Figure:
    """A copy of ``fig`` whose shown numbers are written as ``lang`` writes them (``fig`` itself is kept)."""
    if lang not in SEPARATORS:
        return fig
    return figure_of(localize_spec(spec_of(fig), lang))
