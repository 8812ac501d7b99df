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


def _title(obj, lang: str) -> None:
    title = getattr(obj, "title", None)
    if title is not None and getattr(title, "text", None):
        title.text = localize_numbers(title.text, lang)


def localize_figure(fig: go.Figure, lang: str) -> go.Figure:
    """A copy of ``fig`` whose shown numbers are written as ``lang`` writes them (``fig`` itself is kept)."""
    if lang not in SEPARATORS:
        return fig
    fig = go.Figure(fig)
    fig.update_layout(separators=SEPARATORS[lang])
    _title(fig.layout, lang)
    for trace in fig.data:
        for prop in _TRACE_TEXT:
            if prop in trace and trace[prop] is not None:
                trace[prop] = _localize(trace[prop], lang)
        colorbar = getattr(trace, "colorbar", None)
        if colorbar is not None:
            _title(colorbar, lang)
            if colorbar.ticktext is not None:
                colorbar.ticktext = _localize(colorbar.ticktext, lang)
        marker = getattr(trace, "marker", None)
        if marker is not None and getattr(marker, "colorbar", None) is not None:
            _title(marker.colorbar, lang)
    for ann in fig.layout.annotations or ():
        if ann.text:
            ann.text = localize_numbers(ann.text, lang)
    fig.for_each_xaxis(lambda ax: _axis(ax, lang))
    fig.for_each_yaxis(lambda ax: _axis(ax, lang))
    if fig.layout.legend is not None:
        _title(fig.layout.legend, lang)
    return fig


def _axis(ax, lang: str) -> None:
    _title(ax, lang)
    for prop in _AXIS_TEXT:
        if ax[prop] is not None:
            ax[prop] = _localize(ax[prop], lang)
