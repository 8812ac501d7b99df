""""Check yourself" questions of the three pose pages, answered by the code the pages run.

Heatmaps (:mod:`core.heatmaps`): the heatmap's size, the target's value near a joint, where argmax decoding
puts a joint. Training (:mod:`core.training.pose`): PCK and the mean error of a few predicted joints. HRNet
against the encoder–decoder (:mod:`core.models.pose`): what each network outputs, and how small the
encoder–decoder's bottleneck gets. Every answer is computed by those modules, never typed in.
"""
from __future__ import annotations

import math
import random
from functools import lru_cache

import numpy as np
import torch

from core import heatmaps
from core.data.poses import JOINTS, heatmap_size
from core.models.pose import STRIDE, build_pose_model
from core.quiz import Question
from core.training.pose import keypoint_metrics

__all__ = ["heatmap_questions", "training_questions", "contender_questions"]


def heatmap_questions(rng: random.Random) -> list[Question]:
    """The heatmap's side, a target value one or two cells from the joint, the argmax-decoded x."""
    side, stride = rng.choice([64, 96, 128, 192, 256]), rng.choice([2, 4, 8])
    q_size = Question("hm_size", {"side": side, "s": stride}, heatmap_size(side, stride)[0])

    sigma, d = rng.choice([1, 2, 3]), rng.choice([1, 2])
    cells = 16
    hm, _ = heatmaps.encode([[8 * 4.0, 8 * 4.0]], (cells, cells), 4, sigma)  # a joint on cell (8, 8), stride 4
    q_value = Question("hm_value", {"sigma": sigma, "d": d}, round(float(hm[0, 8, 8 + d]), 3), tolerance=5e-3)

    s = rng.choice([4, 8])
    x = rng.randint(3, 12) * s + rng.choice([o for o in range(1, s) if 2 * o != s])  # never half-way between cells
    y = 5 * s
    hm, _ = heatmaps.encode([[x, y]], (16, 16), s, 1.5)
    coords, _ = heatmaps.decode(hm, s, "argmax")
    q_argmax = Question("hm_argmax", {"x": x, "y": y, "s": s}, _num(float(coords[0, 0])))
    return [q_size, q_value, q_argmax]


def training_questions(rng: random.Random) -> list[Question]:
    """PCK and mean error of five predicted joints of a figure whose size is known (PCK's yardstick)."""
    size = rng.choice([40, 50, 60])
    alpha = 0.1
    truth = np.array([[10, 10], [10 + size, 10 + size // 2], [20, 30], [30, 20], [25, 25]], np.float32)  # (5, 2)
    errors = [rng.choice([1, 2, 3, 4, 5, 6, 7, 8]) for _ in truth]
    pred = truth + np.array([[e, 0] for e in errors], np.float32)  # each joint off by e pixels along x
    joints = np.concatenate([truth, np.ones((len(truth), 1), np.float32)], 1)  # (5, 3): all labelled
    m = keypoint_metrics(pred[None], joints[None], alpha)
    params = {"size": size, "errors": ", ".join(str(e) for e in errors), "alpha": alpha,
              "limit": _num(round(alpha * size, 6)), "n": len(errors)}
    return [Question("pck", params, _num(round(100 * m["pck"], 3))),
            Question("mean_error", params, _num(round(m["mean_error"], 3)))]


@lru_cache(maxsize=16)  # the quiz is rebuilt on every rerun of its page: build and run each network once
@torch.no_grad()
def _output_shape(kind: str, side: int) -> tuple[int, ...]:
    """What one image of ``side × side`` gives out of the case study's ``kind`` network (tiny budget)."""
    net = build_pose_model(kind).eval()
    return tuple(net(torch.zeros(1, 3, side, side)).shape[1:])


@lru_cache(maxsize=8)
@torch.no_grad()
def _bottleneck(side: int) -> tuple[int, int]:
    """The encoder–decoder's poolings and its smallest map's side for a ``side × side`` image, through its
    stem and every pooling."""
    trunk = build_pose_model("hourglass").eval().trunk
    x = trunk.stem(torch.zeros(1, 3, side, side))
    for level in range(1, trunk.config.depth + 1):
        x = getattr(trunk, f"pool{level}")(x)
    return trunk.config.depth, int(x.shape[-1])


def _num(v: float) -> float | int:
    """A whole number as an int (the solution then writes 12, not 12.0)."""
    return int(v) if float(v).is_integer() else v


def contender_questions(rng: random.Random) -> list[Question]:
    """How many numbers the heatmap network and the coordinate regressor output; the bottleneck's side."""
    side = rng.choice([48, 64, 96])
    k, h, w = _output_shape("hourglass", side)
    q_heat = Question("heat_outputs", {"side": side, "k": len(JOINTS), "stride": STRIDE}, k * h * w)
    q_coord = Question("coord_outputs", {"side": side, "k": len(JOINTS)},
                       math.prod(_output_shape("regression", side)))
    big = rng.choice([64, 128, 256])
    depth, bottom = _bottleneck(big)
    q_bottom = Question("bottleneck", {"side": big, "stride": STRIDE, "depth": depth}, bottom)
    return [q_heat, q_coord, q_bottom]
