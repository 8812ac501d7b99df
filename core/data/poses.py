r"""Synthetic stick people with known joints: the keypoint data of the pose case study, drawn by code.

A figure has 14 joints — head, neck, shoulders, elbows, wrists, hips, knees and ankles — joined by the
limbs of :data:`SKELETON`. Each figure is built in a body frame (the neck at the origin, one unit ≈ the
height of the body) with random arm and leg angles, then scaled, turned a little and placed anywhere
on the image, so a joint may also fall outside it. It is painted over a cluttered background (a noisy
gradient, blobs of every colour, loose grey sticks that look like limbs) and sometimes half hidden
behind a box.

The left limbs are painted in warm colours and the right ones in cool colours (as skeleton drawings
do): a front-facing stick figure would otherwise give no way to tell its left wrist from its right.

Visibility follows the COCO convention: 2 = labelled and visible, 1 = labelled but hidden (behind the
box), 0 = not labelled (outside the image). The network is trained on 1 and 2, like on COCO.

Everything is deterministic by ``seed``: the same seed and size give the same image and joints.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from core.data.streets import to_tensor
from core.heatmaps import encode

JOINTS = ("head", "neck", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
          "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")
J = {name: k for k, name in enumerate(JOINTS)}
# The limbs as pairs of joint indices, with the side they belong to (colours and drawings use it).
SKELETON = (
    ("head", "neck", "centre"),
    ("neck", "left_shoulder", "left"), ("left_shoulder", "left_elbow", "left"), ("left_elbow", "left_wrist", "left"),
    ("neck", "right_shoulder", "right"), ("right_shoulder", "right_elbow", "right"),
    ("right_elbow", "right_wrist", "right"),
    ("left_shoulder", "left_hip", "centre"), ("right_shoulder", "right_hip", "centre"),
    ("left_hip", "right_hip", "centre"),
    ("left_hip", "left_knee", "left"), ("left_knee", "left_ankle", "left"),
    ("right_hip", "right_knee", "right"), ("right_knee", "right_ankle", "right"),
)
EDGES = tuple((J[a], J[b]) for a, b, _ in SKELETON)
# Colours of the drawings of joints and skeletons (not of the figures: those jitter per image).
SIDE_COLOURS = {"left": (234, 88, 12), "right": (37, 99, 235), "centre": (22, 163, 74)}
JOINT_COLOURS = np.array([SIDE_COLOURS["left" if n.startswith("left") else "right" if n.startswith("right")
                                       else "centre"] for n in JOINTS], dtype=np.uint8)

VISIBLE, HIDDEN, UNLABELLED = 2, 1, 0
PARTS = {"centre": 1, "left": 2, "right": 3}  # the codes of Figure.parts


@dataclass(frozen=True)
class Figure:
    image: np.ndarray  # (H, W, 3) uint8
    joints: np.ndarray  # (K, 3) float32: x, y in pixels (pixel centres at integers), visibility 0/1/2
    parts: np.ndarray  # (H, W) uint8: what is seen at each pixel: 0 background or box, 1 torso/head, 2 left, 3 right


def _rot(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s], [s, c]], dtype=np.float32)


def body_joints(rng: np.random.Generator) -> np.ndarray:
    """The 14 joints of one random pose in the body frame: ``(K, 2)``, neck at (0, 0), y down, height ≈ 1.1."""
    p = np.zeros((len(JOINTS), 2), np.float32)
    down = np.array([0.0, 1.0], np.float32)
    p[J["head"]] = _rot(rng.uniform(-0.3, 0.3)) @ np.array([0.0, -0.14], np.float32)
    shoulder_w, hip_w = rng.uniform(0.11, 0.15), rng.uniform(0.07, 0.1)
    for side, sign in (("left", 1.0), ("right", -1.0)):  # the figure faces us: its left is on our right
        sh, hip = J[f"{side}_shoulder"], J[f"{side}_hip"]
        p[sh] = (sign * shoulder_w, rng.uniform(0.0, 0.04))
        p[hip] = (sign * hip_w, rng.uniform(0.4, 0.44))
        # An arm hangs down and swings outwards (up to above the head) or across the body.
        upper = -sign * rng.uniform(-0.5, 2.6)  # rot(θ)·down = (−sin θ, cos θ): −sign turns outwards
        elbow = p[sh] + _rot(upper) @ down * rng.uniform(0.17, 0.21)
        fore = upper - sign * rng.uniform(-0.2, 2.2)
        p[J[f"{side}_elbow"]], p[J[f"{side}_wrist"]] = elbow, elbow + _rot(fore) @ down * rng.uniform(0.15, 0.19)
        # A leg steps outwards or a little inwards; the knee bends either way (seen from the front).
        thigh = -sign * rng.uniform(-0.25, 0.9)
        knee = p[hip] + _rot(thigh) @ down * rng.uniform(0.22, 0.26)
        shin = thigh + rng.uniform(-0.6, 0.6)
        p[J[f"{side}_knee"]], p[J[f"{side}_ankle"]] = knee, knee + _rot(shin) @ down * rng.uniform(0.21, 0.25)
    return p


def _segment(yy, xx, a, b, width: float) -> np.ndarray:
    """Pixels whose centre lies within ``width/2`` of the segment a–b (points as (x, y)): a limb."""
    (x0, y0), (x1, y1) = a, b
    dx, dy = x1 - x0, y1 - y0
    length2 = dx * dx + dy * dy or 1.0
    t = np.clip(((xx - x0) * dx + (yy - y0) * dy) / length2, 0, 1)
    return (xx - (x0 + t * dx)) ** 2 + (yy - (y0 + t * dy)) ** 2 <= (width / 2) ** 2


def _polygon(yy, xx, pts) -> np.ndarray:
    """Pixels inside a convex polygon whose corners ``(n, 2)`` (x, y) are given in order, either way round."""
    pts = np.asarray(pts, np.float32)
    nxt = np.roll(pts, -1, axis=0)
    turn = np.sign(np.sum(pts[:, 0] * nxt[:, 1] - nxt[:, 0] * pts[:, 1])) or 1.0  # shoelace: the winding
    inside = np.ones(yy.shape, bool)
    for (x0, y0), (x1, y1) in zip(pts, nxt):
        inside &= ((x1 - x0) * (yy - y0) - (y1 - y0) * (xx - x0)) * turn >= 0  # on the inner side of each edge
    return inside


def _jitter(rng, base, spread=20.0) -> np.ndarray:
    return np.clip(np.asarray(base, np.float32) + rng.normal(0, spread, 3), 0, 255)


def make_figure(seed: int, size: int | tuple[int, int] = 64, occlusion: bool = True) -> Figure:
    """One stick person on a cluttered background, with its joints (see the module's docstring)."""
    h, w = (size, size) if isinstance(size, int) else size
    if h < 16 or w < 16:
        raise ValueError(f"a figure needs at least 16×16 pixels, got {h}×{w}")
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    side = min(h, w)
    # Background: a noisy gradient, blobs of any colour, and loose grey sticks.
    image = (_jitter(rng, (110, 110, 105), 35) + (yy[..., None] / h) * rng.uniform(-40, 40, 3)
             + rng.normal(0, 8, (h, w, 3))).astype(np.float32)
    for _ in range(rng.integers(3, 8)):
        r = side * rng.uniform(0.04, 0.14)
        blob = ((yy - rng.uniform(0, h)) / r) ** 2 + ((xx - rng.uniform(0, w)) / (r * rng.uniform(0.5, 2))) ** 2 <= 1
        image[blob] = _jitter(rng, rng.uniform(30, 230, 3), 10)
    for _ in range(rng.integers(1, 5)):
        a = rng.uniform(0, 1, 2) * (w, h)
        b = a + _rot(rng.uniform(0, 2 * math.pi)) @ np.array([0.0, side * rng.uniform(0.1, 0.3)], np.float32)
        image[_segment(yy, xx, a, b, max(1.0, side * rng.uniform(0.02, 0.04)))] = _jitter(rng, (70, 70, 70), 25)
    # The figure: a pose, scaled to 35–80 % of the image, turned by up to ±25°, placed anywhere.
    scale = side * rng.uniform(0.35, 0.8) / 1.1
    body = body_joints(rng) @ _rot(rng.uniform(-0.45, 0.45)).T * scale  # (K, 2)
    lo, hi = body.min(0), body.max(0)
    room = np.maximum(np.array([w - 1, h - 1], np.float32) - (hi - lo), 0)  # how far the figure's box can move
    centre = room * rng.uniform(0, 1, 2) - lo  # anywhere in the picture, wholly inside when it fits
    if rng.random() < 0.15:  # now and then a figure steps partly out of the picture
        centre += rng.normal(0, side * 0.25, 2)
    joints = body + centre  # (K, 2) in pixels
    limb = max(1.5, scale * rng.uniform(0.05, 0.07))
    colours = {"left": _jitter(rng, (235, 120, 40)), "right": _jitter(rng, (40, 110, 230)),
               "centre": _jitter(rng, (235, 215, 190), 15)}
    parts = np.zeros((h, w), np.uint8)
    torso = joints[[J["left_shoulder"], J["left_hip"], J["right_hip"], J["right_shoulder"]]]
    region = _polygon(yy, xx, torso) | _segment(yy, xx, joints[J["head"]], joints[J["neck"]], limb)
    region |= _segment(yy, xx, torso[0], torso[3], limb) | _segment(yy, xx, torso[1], torso[2], limb)
    image[region] = colours["centre"] + rng.normal(0, 6, (int(region.sum()), 3))
    parts[region] = PARTS["centre"]
    for a, b, where in SKELETON:
        if where != "centre":
            region = _segment(yy, xx, joints[J[a]], joints[J[b]], limb)
            image[region] = colours[where] + rng.normal(0, 6, (int(region.sum()), 3))
            parts[region] = PARTS[where]
    head_r = scale * rng.uniform(0.07, 0.09)
    hx, hy = joints[J["head"]]
    region = (xx - hx) ** 2 + (yy - hy) ** 2 <= head_r**2
    image[region] = colours["centre"] + rng.normal(0, 6, (int(region.sum()), 3))
    parts[region] = PARTS["centre"]
    # Visibility: outside the image → 0; behind the box → 1; otherwise 2.
    inside = (joints[:, 0] >= 0) & (joints[:, 0] <= w - 1) & (joints[:, 1] >= 0) & (joints[:, 1] <= h - 1)
    vis = np.where(inside, VISIBLE, UNLABELLED).astype(np.float32)
    if occlusion and rng.random() < 0.3:  # a box in front of part of the figure
        bw, bh = side * rng.uniform(0.2, 0.35), side * rng.uniform(0.2, 0.35)
        k = rng.integers(len(JOINTS))
        bx, by = joints[k] + rng.uniform(-0.5, 0.5, 2) * (bw, bh)
        box = (np.abs(xx - bx) <= bw / 2) & (np.abs(yy - by) <= bh / 2)
        image[box] = _jitter(rng, (150, 120, 90), 30) + ((xx[box] + yy[box]) % 6 < 2)[:, None] * 25.0
        parts[box] = 0
        px = np.clip(np.round(joints), 0, [w - 1, h - 1]).astype(int)  # (K, 2) the pixel each joint falls in
        vis[inside & box[px[:, 1], px[:, 0]]] = HIDDEN
    image = np.clip(image + 0.5, 0, 255).astype(np.uint8)
    return Figure(image, np.c_[joints, vis].astype(np.float32), parts)


def heatmap_size(size: int | tuple[int, int], stride: int) -> tuple[int, int]:
    """The heatmap's ``(h, w)`` for an input of ``size`` at ``stride``: ⌈H/s⌉ × ⌈W/s⌉, as the networks give."""
    h, w = (size, size) if isinstance(size, int) else size
    return -(-h // stride), -(-w // stride)


class SyntheticPoses(torch.utils.data.Dataset):
    """``length`` figures, figure ``i`` drawn from seed ``seed * 1_000_003 + i``.

    An item is ``(x (3, H, W), target)``; ``target`` is a dict of tensors: ``heatmaps (K, h, w)`` (the
    Gaussian targets at ``stride``, ``sigma`` in heatmap cells), ``weights (K,)`` (0 for unlabelled
    joints) and ``joints (K, 3)`` (x, y, visibility in input pixels, for the metrics).
    """

    joints = JOINTS

    def __init__(self, length: int, size: int | tuple[int, int] = 64, seed: int = 0, stride: int = 4,
                 sigma: float = 1.5):
        self.length, self.size, self.seed, self.stride, self.sigma = length, size, seed, stride, sigma

    def __len__(self) -> int:
        return self.length

    def figure(self, i: int) -> Figure:
        if not 0 <= i < self.length:
            raise IndexError(i)
        return make_figure(self.seed * 1_000_003 + i, self.size)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        fig = self.figure(i)
        heat, weights = encode(fig.joints, heatmap_size(self.size, self.stride), self.stride, self.sigma)
        return to_tensor(fig.image), {"heatmaps": heat, "weights": weights, "joints": torch.from_numpy(fig.joints)}

    def batch(self, indices) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        xs, targets = zip(*(self[i] for i in indices))
        return torch.stack(xs), {k: torch.stack([t[k] for t in targets]) for k in targets[0]}  # (N, 3, H, W), …
