"""The synthetic scene for the five tasks, and the lecture's street grid shipped with the repository."""
import json
from pathlib import Path

import numpy as np
import pytest

from core import metrics
from core.data import scenes
from core.images import colorize

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared" / "reference" / "lecture_street_grid.json"


@pytest.fixture(scope="module")
def scene():
    return scenes.make_scene()


def test_scene_annotations_agree(scene):
    h, w, _ = scene.image.shape
    assert scene.semantic.shape == scene.instances.shape == (h, w)
    assert scene.image.dtype == np.uint8
    assert [o.class_id for o in scene.objects].count(3) == 2  # two dogs: two instances of one class
    assert {o.class_id for o in scene.objects} == {3, 4}
    for k, obj in enumerate(scene.objects, start=1):
        assert np.array_equal(obj.mask, scene.instances == k)
        assert (scene.semantic[obj.mask] == obj.class_id).all()
        ys, xs = np.nonzero(obj.mask)
        assert obj.box == (xs.min(), ys.min(), xs.max(), ys.max())
    masks = np.stack([o.mask for o in scene.objects])
    assert masks.sum(axis=0).max() == 1  # visible masks never share a pixel


def test_one_dog_hides_part_of_the_other(scene):
    back, front = scene.objects[0], scene.objects[2]
    hidden = back.full_mask & ~back.mask
    assert hidden.any() and front.full_mask[hidden].all()
    assert scenes.box_overlap(back.box, front.box) > 0


def test_semantic_map_merges_touching_dogs():
    apart, touching = scenes.make_scene(overlap=0.0), scenes.make_scene(overlap=0.5)
    assert scenes.semantic_instance_count(apart.semantic, 3) == 2
    assert scenes.semantic_instance_count(touching.semantic, 3) == 1  # two dogs, one region
    assert len([o for o in touching.objects if o.class_id == 3]) == 2


@pytest.mark.parametrize("size", [(24, 32), (48, 64), (120, 160), (200, 300)])
def test_scene_sizes(size):
    s = scenes.make_scene(*size)
    assert s.semantic.shape == size
    assert all(o.mask.any() for o in s.objects)
    assert s.objects[s.main_object].class_id == 3


def test_task_outputs(scene):
    main = scene.objects[scene.main_object]
    assert scenes.task_output(scene, "classification") == {"label": 3}
    assert scenes.task_output(scene, "localisation") == {"label": 3, "box": main.box}
    assert scenes.task_output(scene, "semantic")["labels"] is scene.semantic
    assert len(scenes.task_output(scene, "detection")["boxes"]) == 3
    assert len(scenes.task_output(scene, "instance")["masks"]) == 3
    assert set(scenes.CAPABILITIES) == set(scenes.TASKS)
    assert all(set(v) == set(scenes.QUESTIONS) for v in scenes.CAPABILITIES.values())
    with pytest.raises(ValueError, match="valid tasks"):
        scenes.task_output(scene, "panoptic")


def test_bad_scene_parameters():
    with pytest.raises(ValueError, match="overlap"):
        scenes.make_scene(overlap=2.0)
    with pytest.raises(ValueError, match="at least"):
        scenes.make_scene(10, 10)


def test_connected_components_by_hand():
    mask = np.array([[1, 1, 0, 1],
                     [0, 0, 0, 1],
                     [1, 0, 1, 1]], dtype=bool)
    labels, n = scenes.connected_components(mask)
    assert n == 3  # diagonal neighbours do not connect
    assert labels[0, 0] == labels[0, 1] and labels[0, 3] == labels[2, 2] and labels[2, 0] not in (0, labels[0, 0])


def _flood_fill(mask):
    """Regions labelled by a breadth-first flood fill from each new pixel, row by row (the reference)."""
    from collections import deque

    labels, count = np.zeros(mask.shape, np.int64), 0
    h, w = mask.shape
    for y0, x0 in zip(*np.nonzero(mask)):
        if labels[y0, x0]:
            continue
        count += 1
        labels[y0, x0] = count
        queue = deque([(y0, x0)])
        while queue:
            y, x = queue.popleft()
            for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and not labels[ny, nx]:
                    labels[ny, nx] = count
                    queue.append((ny, nx))
    return labels, count


@pytest.mark.parametrize("density", [0.3, 0.55, 0.8])
def test_connected_components_number_regions_as_a_flood_fill_does(density):
    rng = np.random.default_rng(int(density * 100))
    for shape in ((1, 1), (7, 1), (23, 31), (64, 48)):
        mask = rng.random(shape) < density
        labels, n = scenes.connected_components(mask)
        expected, m = _flood_fill(mask)
        assert n == m and labels.dtype == np.int64 and np.array_equal(labels, expected)


def test_box_overlap():
    assert scenes.box_overlap((0, 0, 9, 9), (5, 5, 14, 14)) == 25
    assert scenes.box_overlap((0, 0, 4, 4), (5, 5, 9, 9)) == 0


def test_street_grid():
    g = scenes.street_grid()
    assert g.labels.shape == (13, 23) and g.labels.dtype == np.int64
    assert set(np.unique(g.labels)) <= set(range(6))
    assert len(g.class_names) == 6 and g.class_names[1] == "person"
    g.labels[0, 0] = 99  # callers get their own copy
    assert scenes.street_grid().labels[0, 0] == 3


@pytest.mark.skipif(not REFERENCE.exists(), reason="../shared/reference/ is not beside the repository")
def test_street_grid_equals_the_reference_file():
    ours = json.loads((ROOT / "core" / "data" / "lecture_street_grid.json").read_text(encoding="utf-8"))
    reference = json.loads(REFERENCE.read_text(encoding="utf-8"))
    assert ours == reference


def test_colorize():
    rgb = colorize(np.array([[0, 1], [5, 7]]), scenes.STREET_COLORS)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[0, 1]) == (0xdc, 0x26, 0x26)
    assert tuple(rgb[1, 1]) == (255, 255, 255)  # a label with no colour is white


def test_perturbations_on_the_street_grid():
    labels = scenes.street_grid().labels
    assert np.array_equal(metrics.shift(labels, 0, 0), labels)
    moved = metrics.shift(labels, 1, 2)
    assert np.array_equal(moved[1:, 2:], labels[:-1, :-2])
    person = (labels == 1).sum()
    assert (metrics.erode(labels, 1, 1) == 1).sum() < person < (metrics.dilate(labels, 1, 1) == 1).sum()
    assert (metrics.erase(labels, 2) == 2).sum() == 0  # the purse vanishes into the person around it
    swapped = metrics.swap(labels, 3, 4)
    assert np.array_equal(swapped == 4, labels == 3) and np.array_equal(swapped == 3, labels == 4)
    missed = metrics.miss_small_classes(labels, 0.05)
    assert 2 not in missed and (missed == labels).mean() > 0.95
    band = metrics.boundary_band(labels)
    assert band.any() and not band.all()
    with pytest.raises(ValueError):
        metrics.shift(np.zeros(3), 1, 1)
