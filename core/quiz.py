""""Check yourself" questions: parameters drawn at random, answers computed by the same code as the page.

A question is data: the key of its text in the page's lesson file (``[quiz.<key>]`` with ``prompt`` and
``solution`` templates), the parameters that fill the templates, and the answer. Generators live beside
the op they ask about (``core/ops/...``) and take a ``random.Random`` so a seed replays the same quiz.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Question:
    key: str  # which [quiz.<key>] templates of the page's lesson file render it
    params: dict = field(default_factory=dict)  # fills the prompt and solution templates
    answer: float | str = 0.0  # a number, or one of ``choices``
    choices: tuple[str, ...] = ()  # non-empty: a multiple-choice question (values are lesson [ui] keys)
    tolerance: float = 1e-6  # accepted absolute error for numeric answers (rounding in the student's head)

    @property
    def is_choice(self) -> bool:
        return bool(self.choices)


_SPACES = re.compile(r"(?<=\d)[\s\u00a0\u2009\u202f'’_]+(?=\d)")  # "23 060", "23 060", "23'060"
_NUMBER = re.compile(r"[-+]?[\d.,]*\d(?:[eE][-+]?\d+)?")


def _readings(s: str) -> list[tuple[float, str]]:
    """Every way of reading one number written with points and commas: ``(value, which)`` where ``which``
    is ``"decimal_point"``, ``"decimal_comma"`` or ``"grouped"`` for the ambiguous single-separator forms."""
    if not _NUMBER.fullmatch(s):
        return []
    mantissa, _, exponent = s.replace("E", "e").partition("e")
    scale = 10.0 ** int(exponent) if exponent else 1.0
    sign = -1.0 if mantissa.startswith("-") else 1.0
    body = mantissa.lstrip("+-")
    if not body or body[0] in ".," and len(body) > 1 and body[1] in ".,":
        return []

    def grouped(text: str, sep: str) -> float | None:
        head, *groups = text.split(sep)
        ok = head.isdigit() and 1 <= len(head) <= 3 and all(len(g) == 3 and g.isdigit() for g in groups)
        return float(text.replace(sep, "")) if ok else None

    out: list[tuple[float, str]] = []
    commas, points = body.count(","), body.count(".")
    if commas and points:  # "1,234.5" or "1.234,5": the last mark is the decimal one
        dec = "." if body.rfind(".") > body.rfind(",") else ","
        group = "," if dec == "." else "."
        whole, _, frac = body.rpartition(dec)
        value = grouped(whole, group)
        if value is not None and frac.isdigit() and dec not in whole:
            out.append((value + float("0." + frac), "both"))
    elif commas + points == 0:
        out.append((float(body), "plain"))
    else:
        sep = "," if commas else "."
        if commas + points > 1:  # "1,234,567" or "1.234.567": only grouping has several marks
            value = grouped(body, sep)
            if value is not None:
                out.append((value, "grouped"))
        else:
            whole, _, frac = body.partition(sep)
            if frac.isdigit() and (whole.isdigit() or whole == ""):
                out.append((float((whole or "0") + "." + frac), "decimal_point" if sep == "." else "decimal_comma"))
            value = grouped(body, sep) if whole[:1] != "0" else None
            if value is not None:
                out.append((value, "grouped"))
    return [(sign * v * scale, which) for v, which in out]


def readings(text: str) -> list[float]:
    """All the numbers a typed answer can mean, in either language's way of writing it.

    "1,39" and "1.39" are 1.39; "23 060", "23,060" and "23.060" may be 23060 (grouped thousands) as well as
    23.06; "1,234.5" and "1.234,5" are 1234.5; "−0,5", "3/4" and "1,5e-3" work too. Nothing readable: ``[]``.
    """
    s = _SPACES.sub("", (text or "").strip()).replace("−", "-").replace("–", "-")
    s = "".join(s.split())
    if not s:
        return []
    if "/" in s:
        num, _, den = s.partition("/")
        values = []
        for a, _w in _readings(num):
            for b, _v in _readings(den):
                if b != 0:
                    values.append(a / b)
        return values
    return [v for v, _ in _readings(s)]


def parse_number(text: str, lang: str = "en") -> float | None:
    """The student's typed answer as one number, read the way ``lang`` writes numbers when the text is
    ambiguous: in English "23,060" is 23060 and "1.500" is 1.5; in Romanian "1,500" is 1.5 and "23.060" is
    23060. Unambiguous forms ("1,39", "1.39", "23 060", "1.234,5") read the same in both. None when unreadable.
    """
    s = _SPACES.sub("", (text or "").strip()).replace("−", "-").replace("–", "-")
    s = "".join(s.split())
    if "/" in s:
        values = readings(s)
        return values[0] if values else None
    options = _readings(s)
    if not options:
        return None
    group_mark = "," if lang == "en" else "."
    for value, which in options:
        if which == "grouped" and group_mark in s and len(options) > 1:
            return value
    return options[0][0]


def cell_text(value: float, lang: str) -> str:
    """A grid cell's number as a student edits it in ``lang``: six significant digits, the language's decimal mark."""
    text = f"{float(value):.6g}"
    return text.replace(".", ",") if lang == "ro" else text


def read_cells(typed, shown, base, lang: str):
    """The numbers of an edited grid of texts: ``(values, empty, unreadable)``.

    ``typed`` is what the editor holds, ``shown`` the texts it was given (from :func:`cell_text` of ``base``).
    A cell left as shown keeps its exact value in ``base``; an emptied one is NaN (``empty`` counts them); one
    that holds no number keeps its value in ``base`` (``unreadable`` counts them), so a typo loses nothing.
    """
    base = [[float(v) for v in row] for row in base]
    values, empty, unreadable = [], 0, 0
    for r, row in enumerate(typed):
        out = []
        for c, cell in enumerate(row):
            text = "" if cell is None or (isinstance(cell, float) and math.isnan(cell)) else str(cell).strip()
            if text == shown[r][c]:
                out.append(base[r][c])
            elif not text:
                out.append(math.nan)
                empty += 1
            else:
                number = parse_number(text, lang)
                if number is None or not math.isfinite(number):
                    out.append(base[r][c])
                    unreadable += 1
                else:
                    out.append(number)
        values.append(out)
    return values, empty, unreadable


def is_correct(question: Question, given) -> bool:
    """Mark one answer: exact for choices, within ``tolerance`` (or 0.5 % relative) for numbers, the number
    written with either decimal mark and with or without grouped thousands (:func:`readings`)."""
    if question.is_choice:
        return given == question.answer
    expected = float(question.answer)
    values = readings(given) if isinstance(given, str) else [] if given is None else [float(given)]
    # any reading of what was typed may match: "23,060" is 23060 to an English reader, 23.06 to a Romanian one
    return any(math.isfinite(v) and abs(v - expected) <= max(question.tolerance, 5e-3 * abs(expected))
               for v in values)
