r"""One synthetic scene, seen through the eyes of five computer-vision tasks.

The scene is drawn by code (no downloaded data): sky, grass and a tree behind two dogs and a cat.
The two dogs belong to the same class, and the second dog stands in front of the first, hiding part
of it. Each task answers with a different kind of output, and each kind can say some things and not
others:

=========================  ===============================  ==========================================
task                       output                           what it cannot express
=========================  ===============================  ==========================================
classification             one label for the whole image    that there are several objects, or where
classification + local.    one label and one box            any object but the main one
semantic segmentation      a class for every pixel          how many dogs: touching dogs merge
object detection           a (class, box) per object        which pixels of two overlapping boxes are
                                                            whose
instance segmentation      a (class, mask) per object       (the visible part of every object)
=========================  ===============================  ==========================================

These are the three questions a classifier leaves open: several objects in one image, information
about each instance, objects that overlap. :func:`semantic_instance_count` answers the first one from
a semantic map the only way it can, by counting connected regions, and shows the count go wrong as
soon as two dogs touch.

This module also loads the lecture's labelled street grid (13 x 23 cells, classes 0-5), stored in
``lecture_street_grid.json`` beside it.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from core.data.constants import STREET_CLASSES, STREET_COLORS  # noqa: F401  (the street grid's classes)
from core.images import outline
from core.quiz import Question

__all__ = [
    "SCENE_CLASSES",
    "SCENE_COLORS",
    "STREET_CLASSES",
    "STREET_COLORS",
    "TASKS",
    "QUESTIONS",
    "CAPABILITIES",
    "SceneObject",
    "Scene",
    "make_scene",
    "task_output",
    "connected_components",
    "semantic_instance_count",
    "box_overlap",
    "StreetGrid",
    "street_grid",
    "task_questions",
]

# Class names are keys: the pages translate them through the lessons.
SCENE_CLASSES = ("sky", "grass", "tree", "dog", "cat")
SCENE_COLORS = ("#93c5fd", "#84cc16", "#14532d", "#ea580c", "#7c3aed")  # one per class, projector-safe
THING_CLASSES = (3, 4)  # dogs and cats are countable objects; sky, grass and tree are "stuff" here
# The street grid's classes 0-5 as keys (pages translate them) and their colours.

TASKS = ("classification", "localisation", "semantic", "detection", "instance")
QUESTIONS = ("many_objects", "per_instance", "overlaps")
# The lecture's three questions, answered for each task's output: "yes", "partly" or "no".
CAPABILITIES = {
    "classification": {"many_objects": "no", "per_instance": "no", "overlaps": "no"},
    "localisation": {"many_objects": "no", "per_instance": "partly", "overlaps": "no"},
    "semantic": {"many_objects": "partly", "per_instance": "no", "overlaps": "no"},
    "detection": {"many_objects": "yes", "per_instance": "partly", "overlaps": "partly"},
    "instance": {"many_objects": "yes", "per_instance": "yes", "overlaps": "yes"},
}


@dataclass(frozen=True)
class SceneObject:
    """One countable object: its class, its visible pixels and the box around them."""

    class_id: int
    mask: np.ndarray  # (H, W) bool: the pixels where this object is seen (not hidden by another)
    box: tuple[int, int, int, int]  # (x0, y0, x1, y1), inclusive pixel coordinates of the visible mask
    full_mask: np.ndarray  # (H, W) bool: the whole silhouette, hidden parts included


@dataclass(frozen=True)
class Scene:
    """An image with every annotation the five tasks need."""

    image: np.ndarray  # (H, W, 3) uint8 RGB
    semantic: np.ndarray  # (H, W) int64 class per pixel, instances merged
    instances: np.ndarray  # (H, W) int64: 0 where no object, k where objects[k-1] is seen
    objects: tuple[SceneObject, ...]  # back to front

    @property
    def main_object(self) -> int:
        """Index of the object a classifier would name: the one with the most visible pixels."""
        return int(np.argmax([o.mask.sum() for o in self.objects]))


def _silhouette(size: tuple[int, int], draw_fn) -> np.ndarray:
    """Rasterise the shapes ``draw_fn(draw, h, w)`` draws into a bool mask of ``size = (h, w)``."""
    h, w = size
    canvas = Image.new("L", (w, h), 0)
    draw_fn(ImageDraw.Draw(canvas), h, w)
    return np.asarray(canvas) > 0


def _frame(cx: float, cy: float, s: float, h: int, w: int):
    """Point maker for a shape centred at (cx*w, cy*h) whose unit length is s*h pixels (no squashing)."""
    unit = s * h
    return lambda dx, dy: (cx * w + dx * unit, cy * h + dy * unit)


def _dog(cx: float, cy: float, s: float, facing: int):
    """A dog from ellipses and boxes, centred at (cx, cy) (fractions of the image), size s, facing ±1."""

    def draw(d, h, w):
        p = _frame(cx, cy, s, h, w)
        f = facing
        d.ellipse([p(-0.55, -0.22), p(0.55, 0.22)], fill=1)  # body
        d.ellipse([p(f * 0.55 - 0.2, -0.5), p(f * 0.55 + 0.2, -0.1)], fill=1)  # head
        d.ellipse([p(f * 0.68 - 0.15, -0.34), p(f * 0.68 + 0.15, -0.15)], fill=1)  # snout
        ear = f * 0.42
        d.polygon([p(ear - 0.08, -0.44), p(ear + 0.08, -0.44), p(ear - f * 0.06, -0.14)], fill=1)
        for lx in (-0.42, -0.24, 0.24, 0.42):
            d.rectangle([p(lx - 0.055, 0.0), p(lx + 0.055, 0.55)], fill=1)  # legs
        d.line([p(-f * 0.5, -0.05), p(-f * 0.75, -0.38)], fill=1, width=max(2, round(0.07 * s * h)))  # tail

    return draw


def _cat(cx: float, cy: float, s: float):
    """A sitting cat: body, head with two pointed ears, a tail curled on the ground."""

    def draw(d, h, w):
        p = _frame(cx, cy, s, h, w)
        d.ellipse([p(-0.22, -0.3), p(0.22, 0.4)], fill=1)  # body
        d.ellipse([p(-0.17, -0.62), p(0.17, -0.28)], fill=1)  # head
        for side in (-1, 1):
            d.polygon([p(side * 0.17, -0.74), p(side * 0.03, -0.55), p(side * 0.17, -0.45)], fill=1)
        d.ellipse([p(0.08, 0.28), p(0.42, 0.42)], fill=1)  # tail

    return draw


def _tree(cx: float, ground: float):
    """A trunk and a round crown standing on the horizon line."""

    def draw(d, h, w):
        p = _frame(cx, ground, 1.0, h, w)
        d.rectangle([p(-0.03, -0.32), p(0.03, 0.04)], fill=1)
        d.ellipse([p(-0.15, -0.58), p(0.15, -0.22)], fill=1)

    return draw


def _shade(rgb: np.ndarray, mask: np.ndarray, hex_color: str, stripes: bool = False) -> None:
    """Paint ``mask`` with a colour, in place; optional soft stripes so same-class objects look textured."""
    color = np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)
    paint = np.broadcast_to(color, rgb.shape).copy()
    if stripes:
        rows = np.arange(rgb.shape[0])[:, None, None]
        paint *= 0.92 + 0.08 * ((rows // 3) % 2)
    rgb[mask] = paint[mask]


def make_scene(height: int = 120, width: int = 160, overlap: float = 0.35) -> Scene:
    """Draw the scene at ``height x width``.

    ``overlap`` (0 to 0.8) is how far the second dog walks over the first, as a share of a dog's
    length: at 0 the dogs stand apart; from about 0.25 they touch and a semantic map merges them.
    The second dog stands closer to the camera, so it is drawn a little larger and is the main object.
    """
    if not 0.0 <= overlap <= 0.8:
        raise ValueError(f"overlap must lie between 0 and 0.8, got {overlap}.")
    if height < 24 or width < 32:
        raise ValueError(f"The scene needs at least 24 x 32 pixels, got {height} x {width}.")
    size = (height, width)
    horizon = 0.45
    dog_s = 0.3  # a dog's unit length as a fraction of the image height
    unit_x = dog_s * height / width  # that unit as a fraction of the width
    dog_a_x = 0.19
    dog_b_x = dog_a_x + (1.9 - 1.4 * overlap) * unit_x  # noses 0.24 units apart at overlap 0
    semantic = np.zeros(size, dtype=np.int64)  # sky
    semantic[round(horizon * height):, :] = 1  # grass below the horizon
    tree = _silhouette(size, _tree(0.7, horizon + 0.05))
    semantic[tree] = 2

    rgb = np.zeros((height, width, 3), dtype=np.uint8)
    sky = semantic == 0
    _shade(rgb, sky, SCENE_COLORS[0])
    _shade(rgb, semantic == 1, "#a3e635", stripes=True)
    _shade(rgb, tree, "#166534")

    # Back to front: the first dog, the cat, then the second dog standing in front of the first.
    shapes = [
        (3, _silhouette(size, _dog(dog_a_x, 0.66, dog_s, facing=1)), "#a16207"),
        (4, _silhouette(size, _cat(0.86, 0.7, 0.38)), "#6b7280"),
        (3, _silhouette(size, _dog(dog_b_x, 0.74, 1.08 * dog_s, facing=-1)), "#78350f"),
    ]
    instances = np.zeros(size, dtype=np.int64)
    for k, (cls, sil, color) in enumerate(shapes, start=1):
        semantic[sil] = cls
        instances[sil] = k
        _shade(rgb, sil, color)
        rgb[outline(sil)] = (30, 20, 10)  # ink the contour so a human sees two dogs where the map sees one
    objects = []
    for k, (cls, sil, _) in enumerate(shapes, start=1):
        visible = instances == k
        ys, xs = np.nonzero(visible)
        objects.append(SceneObject(cls, visible, (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())), sil))
    return Scene(rgb, semantic, instances, tuple(objects))


def task_output(scene: Scene, task: str) -> dict:
    """What one task returns for the scene, as plain data.

    * ``classification``: ``{"label": c}``
    * ``localisation``: ``{"label": c, "box": (x0, y0, x1, y1)}``
    * ``semantic``: ``{"labels": (H, W) int64}``
    * ``detection``: ``{"boxes": [(c, box), ...]}``
    * ``instance``: ``{"masks": [(c, (H, W) bool), ...]}``
    """
    main = scene.objects[scene.main_object]
    if task == "classification":
        return {"label": main.class_id}
    if task == "localisation":
        return {"label": main.class_id, "box": main.box}
    if task == "semantic":
        return {"labels": scene.semantic}
    if task == "detection":
        return {"boxes": [(o.class_id, o.box) for o in scene.objects]}
    if task == "instance":
        return {"masks": [(o.class_id, o.mask) for o in scene.objects]}
    raise ValueError(f"Unknown task '{task}'; valid tasks are {', '.join(TASKS)}.")


def connected_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Label 4-connected regions of a bool mask: ``(labels (H, W) int64 with 0 outside, count)``, numbered in
    the order their first pixel comes row by row (what a flood fill started at each new pixel gives).

    SciPy's labelling (``scipy.ndimage.label`` with the 4-neighbour cross): on a 256×341 photo's class the
    flood fill in Python took 40 ms, and the instances page labels every class at every redraw."""
    from scipy import ndimage

    labels, count = ndimage.label(np.asarray(mask, dtype=bool), structure=[[0, 1, 0], [1, 1, 1], [0, 1, 0]])
    return labels.astype(np.int64), int(count)


def semantic_instance_count(labels: np.ndarray, class_id: int) -> int:
    """How many objects of a class a semantic map *seems* to hold: its connected regions of that class."""
    return connected_components(np.asarray(labels) == class_id)[1]


def box_overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> int:
    """Number of pixels inside both boxes (inclusive corners): where a box cannot say whose pixel it is."""
    w = min(a[2], b[2]) - max(a[0], b[0]) + 1
    h = min(a[3], b[3]) - max(a[1], b[1]) + 1
    return max(0, w) * max(0, h)


@dataclass(frozen=True)
class StreetGrid:
    """The lecture's labelled street scene."""

    labels: np.ndarray  # (13, 23) int64 class per cell
    class_names: tuple[str, ...]  # English names from the file; pages translate by index


_STREET_FILE = Path(__file__).resolve().with_name("lecture_street_grid.json")


@lru_cache(maxsize=1)
def _street_json() -> dict:
    return json.loads(_STREET_FILE.read_text(encoding="utf-8"))


def street_grid() -> StreetGrid:
    """Load the lecture's street grid (a fresh array each call, so callers may modify it)."""
    data = _street_json()
    names = tuple(data["classes"][str(i)] for i in range(len(data["classes"])))
    return StreetGrid(np.array(data["grid"], dtype=np.int64), names)


def task_questions(rng: random.Random) -> list[Question]:
    """Which task gives this output? And how many dogs does a semantic map seem to hold?"""
    task = rng.choice(TASKS)
    q_task = Question(f"which_task_{task}", {}, f"task_{task}", choices=tuple(f"task_{t}" for t in TASKS))
    n = rng.randint(2, 5)
    touching = rng.randint(0, n - 1)  # neighbouring pairs in the row that touch
    q_count = Question("semantic_regions", {"n": n, "t": touching}, float(n - touching))
    return [q_task, q_count]
