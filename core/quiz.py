""""Check yourself" questions: parameters drawn at random, answers computed by the same code as the page.

A question is data: the key of its text in the page's lesson file (``[quiz.<key>]`` with ``prompt`` and
``solution`` templates), the parameters that fill the templates, and the answer. Generators live beside
the op they ask about (``core/ops/...``) and take a ``random.Random`` so a seed replays the same quiz.
"""
from __future__ import annotations

import math
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


def parse_number(text: str) -> float | None:
    """The student's typed answer as a number: accepts ``1,5`` as well as ``1.5`` and simple fractions."""
    s = (text or "").strip().replace(" ", "").replace(",", ".")
    if not s:
        return None
    try:
        if "/" in s:
            num, den = s.split("/", 1)
            return float(num) / float(den)
        return float(s)
    except (ValueError, ZeroDivisionError):
        return None


def is_correct(question: Question, given) -> bool:
    """Mark one answer: exact for choices, within ``tolerance`` (or 0.5 % relative) for numbers."""
    if question.is_choice:
        return given == question.answer
    value = parse_number(given) if isinstance(given, str) else given
    if value is None or not math.isfinite(value):
        return False
    expected = float(question.answer)
    return abs(value - expected) <= max(question.tolerance, 5e-3 * abs(expected))
