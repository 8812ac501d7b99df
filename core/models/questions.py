r""""Check yourself" for the architecture pages: fresh numbers every time, answers from the same rules the models use.

Each function takes a ``random.Random`` (a seed replays a quiz) and returns :class:`core.quiz.Question`
objects whose texts are ``[quiz.<key>]`` in the page's lesson file. The answers are computed with the
code the models run (:func:`core.models.base.ceil_div` for sizes, :func:`core.models.inspect.trace`
for receptive fields), so a question can never disagree with the page.
"""
from __future__ import annotations

import math
import random

import torch
from torch import nn

from core.models.base import ceil_div
from core.models.inspect import trace
from core.quiz import Question

__all__ = ["explorer_questions", "fcn_questions", "segnet_questions", "unet_questions", "hrnet_questions",
           "fpn_questions"]


def _odd_size(rng: random.Random) -> int:
    return rng.choice([97, 113, 129, 161, 187, 225, 257, 321, 353, 481])


def explorer_questions(rng: random.Random) -> list[Question]:
    """The receptive field of a small stack, and the side of a map after a few ceil-mode poolings."""
    n1, n2 = rng.randint(1, 3), rng.randint(1, 3)
    layers = [nn.Conv2d(1, 1, 3, padding=1) for _ in range(n1)] + [nn.MaxPool2d(2, 2, ceil_mode=True)]
    layers += [nn.Conv2d(1, 1, 3, padding=1) for _ in range(n2)]
    rf = trace(nn.Sequential(*layers).eval(), torch.zeros(1, 1, 64, 64)).rows[-1].rf
    h, p = _odd_size(rng), rng.randint(2, 5)
    return [
        Question("rf_stack", {"n1": n1, "n2": n2, "a": 1 + 2 * n1, "b": 2 + 2 * n1}, int(rf)),
        Question("ceil_side", {"h": h, "p": p, "f": 2 ** p}, ceil_div(h, 2 ** p)),
    ]


def fcn_questions(rng: random.Random) -> list[Question]:
    """How many stride-16 cells an input gives, and the parameters of a convolutionalised fc layer."""
    h, w = _odd_size(rng), _odd_size(rng)
    c, k, out = rng.choice([256, 512]), rng.choice([3, 5, 7]), rng.choice([1024, 2048, 4096])
    return [
        Question("fcn_cells", {"h": h, "w": w, "ch": ceil_div(h, 16), "cw": ceil_div(w, 16)},
                 ceil_div(h, 16) * ceil_div(w, 16)),
        Question("fc_params", {"c": c, "k": k, "out": out}, c * k * k * out + out),
    ]


def segnet_questions(rng: random.Random) -> list[Question]:
    """The share of non-zero cells after unpooling, and the bits an index needs."""
    k = rng.choice([2, 3, 4])
    k2 = rng.choice([2, 3, 4, 5])
    return [
        Question("sparse_share", {"k": k, "kk": k * k}, round(100 / (k * k), 2), tolerance=0.5),
        Question("index_bits", {"k": k2, "kk": k2 * k2}, math.ceil(math.log2(k2 * k2))),
    ]


def unet_questions(rng: random.Random) -> list[Question]:
    """Channels after a concatenation, and the rows cropped at a level on an odd input."""
    base, level = rng.choice([16, 32, 64]), rng.randint(1, 4)
    c = base * 2 ** (level - 1)
    h, lv = _odd_size(rng), rng.randint(1, 3)
    skip = ceil_div(h, 2 ** (lv - 1))
    up = 2 * ceil_div(skip, 2)
    return [
        Question("concat_channels", {"base": base, "level": level, "c": c}, 2 * c),
        Question("crop_rows", {"h": h, "level": lv, "skip": skip, "below": ceil_div(skip, 2), "up": up}, up - skip),
    ]


def hrnet_questions(rng: random.Random) -> list[Question]:
    """Channels and side of a branch, and how many strided convolutions one fusion path uses."""
    width, k, h = rng.choice([18, 32, 48]), rng.randint(1, 3), rng.choice([256, 384, 512])
    j, i = sorted(rng.sample(range(4), 2))
    return [
        Question("branch_channels", {"width": width, "k": k, "h": h, "side": h // 2 ** (k + 2)}, width * 2 ** k),
        Question("down_convs", {"i": i, "j": j}, i - j),
    ]


def fpn_questions(rng: random.Random) -> list[Question]:
    """The side of a pyramid level, and how many objectness scores the RPN gives on it."""
    h, level = rng.choice([480, 512, 600, 640, 800]), rng.randint(2, 6)
    side = ceil_div(h, 2 ** level)
    w = rng.choice([640, 704, 768, 832])
    ws = ceil_div(w, 2 ** level)
    return [
        Question("level_side", {"h": h, "level": level, "f": 2 ** level}, side),
        Question("rpn_scores", {"h": h, "w": w, "level": level, "sh": side, "sw": ws}, 3 * side * ws),
    ]
