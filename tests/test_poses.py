"""The synthetic stick people: deterministic, any size, and their joints are where the figure was drawn."""
import numpy as np
import pytest
import torch

from core.data.poses import (
    EDGES,
    HIDDEN,
    JOINTS,
    PARTS,
    UNLABELLED,
    VISIBLE,
    SyntheticPoses,
    heatmap_size,
    make_figure,
)
from core.heatmaps import decode


def test_figures_are_deterministic_by_seed():
    a, b, c = make_figure(5, 48), make_figure(5, 48), make_figure(6, 48)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.joints, b.joints)
    assert not np.array_equal(a.image, c.image)


@pytest.mark.parametrize("size", [16, 64, (40, 96), (97, 33)])
def test_any_size(size):
    fig = make_figure(1, size)
    h, w = (size, size) if isinstance(size, int) else size
    assert fig.image.shape == (h, w, 3) and fig.image.dtype == np.uint8 and fig.parts.shape == (h, w)
    assert fig.joints.shape == (len(JOINTS), 3) and fig.joints.dtype == np.float32
    with pytest.raises(ValueError, match="at least 16×16"):
        make_figure(0, 8)


def test_joints_match_what_was_drawn():
    side_of = {k: "left" if n.startswith("left") else "right" if n.startswith("right") else "centre"
               for k, n in enumerate(JOINTS)}
    on_own_side = seen = hidden = 0
    for seed in range(40):
        fig = make_figure(seed, 64)
        for k, (x, y, v) in enumerate(fig.joints):
            if v == UNLABELLED:  # outside the picture, and only then
                assert not (0 <= x <= 63 and 0 <= y <= 63)
                continue
            assert 0 <= x <= 63 and 0 <= y <= 63
            part = fig.parts[int(round(y)), int(round(x))]
            if v == HIDDEN:  # behind the box: nothing of the figure is seen there
                assert part == 0
                hidden += 1
            else:
                assert part != 0, (seed, JOINTS[k])  # a visible joint lies on the painted figure
                seen += 1
                on_own_side += part == PARTS[side_of[k]] or side_of[k] == "centre"
    assert hidden > 5 and seen > 400
    assert on_own_side / seen > 0.85  # mostly its own limb's colour (limbs may cross each other)


def test_sides_are_told_apart_by_colour():
    fig = make_figure(3, 96, occlusion=False)
    img = fig.image.astype(float)
    left, right = img[fig.parts == PARTS["left"]].mean(0), img[fig.parts == PARTS["right"]].mean(0)
    assert left[0] > left[2] + 60 and right[2] > right[0] + 60  # warm left limbs, cool right limbs


def test_skeleton_joins_known_joints():
    assert len(EDGES) == 14 and all(0 <= a < len(JOINTS) and 0 <= b < len(JOINTS) for a, b in EDGES)
    visible = sum(int((make_figure(s, 64).joints[:, 2] == VISIBLE).sum()) for s in range(20))
    assert visible > 0.8 * 20 * len(JOINTS)


def test_dataset_targets_decode_back_to_the_joints():
    ds = SyntheticPoses(6, 64, seed=2, stride=4, sigma=2.0)
    x, target = ds.batch(range(6))
    assert x.shape == (6, 3, 64, 64)
    assert target["heatmaps"].shape == (6, len(JOINTS), 16, 16) and target["weights"].shape == (6, len(JOINTS))
    joints = target["joints"]
    assert torch.equal(target["weights"], (joints[..., 2] > 0).float())
    coords, _ = decode(target["heatmaps"], 4, "subpixel")
    inner = (joints[..., 2] > 0) & (joints[..., :2] > 6).all(-1) & (joints[..., :2] < 54).all(-1)
    assert (coords - joints[..., :2]).norm(dim=-1)[inner].max() < 0.05
    assert heatmap_size((65, 30), 4) == (17, 8)
    with pytest.raises(IndexError):
        ds[6]
