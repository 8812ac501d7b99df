"""Pose models, metrics and tasks: heatmaps at stride 4, a fair parameter budget, a loss that falls."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core import heatmaps
from core.data.poses import JOINTS, SyntheticPoses
from core.heatmaps import decode, encode
from core.models import pose as pose_nets
from core.models.hrnet import PoseHighResolutionNet
from core.training import pose as pose_training

K = len(JOINTS)


@pytest.mark.parametrize("kind", pose_nets.KINDS)
@pytest.mark.slow
def test_forward_and_backward(kind):
    torch.manual_seed(0)
    model = pose_nets.build_pose_model(kind)
    x = torch.randn(2, 3, 64, 48, requires_grad=True)
    out = model(x)
    assert out.shape == ((2, K, 2) if kind == "regression" else (2, K, 16, 12))
    out.sum().backward()
    assert x.grad is not None and all(p.grad is not None for p in model.parameters() if p.requires_grad)


@pytest.mark.slow
def test_hrnet_is_the_registry_pose_model_and_odd_sizes_work():
    model = pose_nets.small_hrnet(K, "tiny")
    assert isinstance(model, PoseHighResolutionNet) and model.config == pose_nets.BUDGETS["tiny"]
    assert model(torch.randn(1, 3, 66, 70)).shape == (1, K, 17, 18)  # ⌈H/4⌉ × ⌈W/4⌉
    assert pose_nets.build_pose_model("hourglass")(torch.randn(1, 3, 66, 70)).shape == (1, K, 17, 18)
    with pytest.raises(ValueError, match="valid kinds"):
        pose_nets.build_pose_model("resnet")
    with pytest.raises(ValueError, match="valid budgets"):
        pose_nets.build_pose_model("hrnet", budget="huge")


@pytest.mark.parametrize("budget", list(pose_nets.BUDGETS))
def test_the_hourglass_has_the_same_budget(budget):
    n = {k: pose_nets.count_parameters(pose_nets.build_pose_model(k, budget=budget)) for k in pose_nets.KINDS}
    assert abs(n["hourglass"] - n["hrnet"]) / n["hrnet"] < 0.1
    assert abs(n["regression"] - n["hourglass"]) / n["hourglass"] < 0.01  # the same trunk, another head


def test_keypoint_metrics_by_hand():
    joints = torch.tensor([[[0.0, 0.0, 2], [30.0, 40.0, 2], [5.0, 5.0, 0]]])  # figure size: 40 px
    coords = torch.tensor([[[3.0, 4.0], [30.0, 40.0], [90.0, 90.0]]])  # errors 5, 0 and (unlabelled) ignored
    m = pose_training.keypoint_metrics(coords, joints, alpha=0.1)  # threshold 4 px
    assert m["mean_error"] == pytest.approx(2.5)
    assert m["pck"] == pytest.approx(0.5)
    assert m["per_joint_error"] == [pytest.approx(5.0), pytest.approx(0.0), None]
    assert pose_training.keypoint_metrics(coords, joints, alpha=0.2)["pck"] == 1.0


def test_figure_errors_by_hand_and_against_the_mean():
    joints = torch.tensor([[[0.0, 0.0, 2], [30.0, 40.0, 2], [5.0, 5.0, 0]],  # the figure above: 5 and 0 px
                           [[10.0, 10.0, 1], [20.0, 20.0, 2], [0.0, 0.0, 2]],  # 6, 8 and 0 px
                           [[1.0, 1.0, 0], [2.0, 2.0, 0], [3.0, 3.0, 0]]])  # nothing labelled
    coords = torch.tensor([[[3.0, 4.0], [30.0, 40.0], [90.0, 90.0]],
                           [[16.0, 10.0], [20.0, 28.0], [0.0, 0.0]],
                           [[9.0, 9.0], [9.0, 9.0], [9.0, 9.0]]])
    errors = pose_training.figure_errors(coords.numpy(), joints.numpy())
    assert errors.shape == (3,) and errors[:2] == pytest.approx([2.5, 14 / 3]) and np.isnan(errors[2])
    whole = pose_training.keypoint_metrics(coords[:1], joints[:1])["mean_error"]  # one figure: the same number
    assert errors[0] == pytest.approx(whole)


def test_pose_loss_is_torch_mse_when_every_joint_counts():
    torch.manual_seed(0)
    target, w = encode([[10, 12, 2], [30, 8, 1]], (16, 16), 4, 2.0)
    pred = torch.rand(1, 2, 16, 16)
    ours = pose_training.PoseTask().loss(pred, {"heatmaps": target[None], "weights": w[None]})
    assert torch.allclose(ours, F.mse_loss(pred, target[None]), atol=1e-7)
    w0 = torch.tensor([[1.0, 0.0]])  # an unlabelled joint does not count
    ours = pose_training.PoseTask().loss(pred, {"heatmaps": target[None], "weights": w0})
    assert torch.allclose(ours, F.mse_loss(pred[:, :1], target[None, :1]), atol=1e-7)


def test_coordinate_task_measures_in_pixels():
    task = pose_training.CoordinateTask((64, 32))
    joints = torch.tensor([[[16.0, 32.0, 2], [0.0, 0.0, 0]]])
    perfect = torch.tensor([[[0.5, 0.5], [0.9, 0.9]]])  # x/W, y/H
    assert task.loss(perfect, {"joints": joints}) == 0


def test_a_few_steps_lower_the_heatmap_loss():
    torch.manual_seed(0)
    cfg = pose_training.pose_config(size=64, batch_size=4, lr=3e-3, steps=12, val_every=1000, device="cpu", warmup=2)
    model = pose_nets.build_pose_model("hrnet")
    threads = torch.get_num_threads()
    items = list(pose_training.train_pose(cfg, model, "hrnet", sigma=2.0, val_size=4))
    assert torch.get_num_threads() == threads  # one torch thread while training, then as before
    losses = [it["loss"] for it in items if it["kind"] == "step"]
    assert len(losses) == 12 and np.mean(losses[-3:]) < 0.7 * np.mean(losses[:3])
    val = items[-1]
    assert val["kind"] == "val" and val["pred"].shape == (4, K, 16, 16) and val["coords"].shape == (4, K, 2)
    assert 0 <= val["pck"] <= 1 and val["mean_error"] > 0


def test_a_race_trains_every_contender_in_turn():
    cfg = pose_training.pose_config(size=32, batch_size=2, steps=3, val_every=2, device="cpu")
    models, items = pose_training.race(["hrnet", "regression"], cfg, val_size=2)
    items = list(items)
    assert set(models) == {"hrnet", "regression"}
    for kind in models:
        mine = [it for it in items if it["model"] == kind]
        assert [it["kind"] for it in mine] == ["step", "step", "val", "step", "val"]
    assert items[0]["model"] == "hrnet" and items[1]["model"] == "regression"


def test_subpixel_decoding_beats_argmax_at_every_stride():
    errors = heatmaps.quantisation_errors([1, 2, 4, 8], sigma=2.0, n=60)
    for a, s in zip(errors["argmax"], errors["subpixel"]):
        assert s < a
    assert errors["argmax"][3] == pytest.approx(8 * 0.38, rel=0.2)  # mean distance to a grid point: ≈ 0.38 s
    noisy = heatmaps.quantisation_errors([4], sigma=2.0, noise=0.05, n=60)
    assert noisy["subpixel"][0] < noisy["argmax"][0]


def test_loss_saturates_once_the_hills_stop_overlapping():
    curves = heatmaps.loss_vs_offset([0, 2, 4, 8, 24, 40], sigmas=[1.0, 3.0])
    small, big = curves[1.0], curves[3.0]
    assert small[0] == 0 and big[0] == 0
    assert small[4] == pytest.approx(small[5], rel=1e-3)  # flat: no gradient towards the target
    assert big[2] < big[3] < big[4]  # a wide hill still tells "closer" from "further"
    # all the hills in one go give what one pair at a time, with the page's own loss, gives
    one_by_one = [float(heatmaps.mse_loss(*heatmaps.shifted_pair((64.0, 64.0), (d, 0.0), (32, 32), 4, 3.0)))
                  for d in (0, 2, 4, 8, 24, 40)]
    assert big == pytest.approx(one_by_one, abs=1e-9)
    pred, target = heatmaps.shifted_pair((20, 20), (4, 0), (16, 16), 4, 2.0)
    coords, _ = decode(pred, 4, "subpixel")
    assert coords[0].tolist() == pytest.approx([24, 20], abs=1e-2)


def test_validation_set_is_fixed():
    a, b = pose_training.validation_set(32, 2.0, seed=1, n=2), pose_training.validation_set(32, 2.0, seed=1, n=2)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1]["joints"], b[1]["joints"])
    assert isinstance(SyntheticPoses(3, 32), torch.utils.data.Dataset)


def test_overlapping_runs_share_the_thread_setting():
    threads = torch.get_num_threads()
    with pose_training.single_threaded():
        with pose_training.single_threaded():
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 1  # the other run still trains
    assert torch.get_num_threads() == threads


def test_showcase_prefers_whole_large_figures():
    joints = torch.zeros(3, 2, 3)
    joints[0] = torch.tensor([[0, 0, 2], [10, 10, 0]])  # one labelled joint
    joints[1] = torch.tensor([[0, 0, 2], [10, 0, 2]])  # small
    joints[2] = torch.tensor([[0, 0, 2], [30, 0, 1]])  # large
    assert pose_training.showcase(joints, 1) == [2] and pose_training.showcase(joints, 2) == [1, 2]
