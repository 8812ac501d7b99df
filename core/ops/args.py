"""The arguments the teaching ops take the way torch does: one number, or a ``(height, width)`` pair.

One home for the checks, so every op (and :mod:`core.models.inspect`, which reads torch's own
arguments) refuses a bad argument with the same kind of sentence. :class:`ParameterError` is a
``ValueError`` whose ``code`` names the rule that was broken and whose ``values`` hold the numbers in
the sentence, so a page can say the same thing in the student's language.
"""
from __future__ import annotations

import operator

__all__ = ["ParameterError", "whole", "pair", "int_pair"]


class ParameterError(ValueError):
    """A parameter set that torch refuses, explained in one plain sentence.

    ``code`` names the rule that was broken and ``values`` holds the numbers in the sentence,
    so a page can show the same sentence in the student's language.
    """

    def __init__(self, code: str, message: str, **values) -> None:
        super().__init__(message)
        self.code = code
        self.values = values


def whole(name: str, value) -> int:
    """``value`` as an ``int`` (Python or NumPy integers; not ``True``/``False``), else a sentence."""
    if isinstance(value, bool):
        raise ParameterError("not_integer", f"The {name} must be a whole number, got {value!r}.", name=name)
    try:
        return operator.index(value)
    except TypeError:
        raise ParameterError("not_integer", f"The {name} must be a whole number, got {value!r}.", name=name) from None


def pair(name: str, value) -> tuple:
    """``3`` → ``(3, 3)``; ``(2, 3)`` stays; ``[2]`` → ``(2, 2)`` as torch's ``int[2]`` arguments read it.

    No check of the numbers themselves (a scale may be a float): see :func:`int_pair`.
    """
    if isinstance(value, (tuple, list)):
        if len(value) not in (1, 2):
            raise ParameterError("not_pair", f"The {name} must be one number or a pair (height, width), "
                                 f"got {value!r}.", name=name)
        return value[0], value[-1]
    return value, value


def int_pair(name: str, value, minimum: int | None = None) -> tuple[int, int]:
    """:func:`pair` of whole numbers, each at least ``minimum`` when one is given."""
    h, w = (whole(name, v) for v in pair(name, value))
    if minimum is not None and min(h, w) < minimum:
        raise ParameterError("too_small", f"The {name} must be at least {minimum} (or a pair of such numbers), "
                             f"got {value!r}.", name=name, minimum=minimum)
    return h, w
