"""The synthetic street scenes and the training loop (its generator, checkpoints and command line)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from core.data.streets import (
    CLASSES,
    PALETTE,
    SyntheticStreets,
    make_street,
    to_image,
    to_tensor,
)
from core.training.loop import TrainConfig, lr_at, train, upsampling_options

ROOT = Path(__file__).resolve().parent.parent


def test_scenes_are_deterministic_by_seed():
    a, b, c = make_street(3, 48), make_street(3, 48), make_street(4, 48)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_scene_shapes_and_classes():
    image, mask = make_street(0, (40, 72))
    assert image.shape == (40, 72, 3) and image.dtype == np.uint8 and mask.shape == (40, 72)
    seen = set()
    for seed in range(20):
        seen |= set(np.unique(make_street(seed, 64)[1]).tolist())
    assert seen == set(range(len(CLASSES)))  # every class of the lecture's grid appears
    with pytest.raises(ValueError, match="at least 8×8"):
        make_street(0, 4)


def test_mask_matches_what_was_drawn():
    # Where the mask says "purse", the pixels are the purse's yellow; where it says "person", reddish.
    for seed in range(10):
        image, mask = make_street(seed, 96)
        img = image.astype(float)
        if (mask == 2).any():
            purse = img[mask == 2].mean(0)
            assert purse[0] > 150 and purse[1] > 130 and purse[2] < 130
        if (mask == 1).any():
            person = img[mask == 1].mean(0)
            assert person[0] > person[1] + 60 and person[0] > person[2] + 60


def test_tensor_round_trip_and_dataset():
    image, _ = make_street(1, 32)
    assert np.abs(to_image(to_tensor(image)).astype(int) - image).max() <= 1
    ds = SyntheticStreets(5, 32, seed=2)
    x, y = ds.batch([0, 4])
    assert x.shape == (2, 3, 32, 32) and y.shape == (2, 32, 32) and y.dtype == torch.int64
    with pytest.raises(IndexError):
        ds[5]
    assert PALETTE.shape == (len(CLASSES), 3)


def test_schedule_warms_up_then_decays():
    cfg = TrainConfig(lr=1.0, steps=100, warmup=10)
    assert lr_at(0, cfg) == pytest.approx(0.1) and lr_at(9, cfg) == pytest.approx(1.0)
    assert lr_at(99, cfg) < 0.1
    timed = TrainConfig(lr=1.0, steps=10**9, warmup=10, seconds=10)
    assert lr_at(50, timed, elapsed=10) == pytest.approx(0.05)  # the time budget ends the schedule


class TinyFCN(nn.Sequential):
    """A small real fully convolutional net: enough to learn colours and a little context."""

    def __init__(self, classes: int):
        super().__init__(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(16, classes, 1))


def test_upsampling_choices_come_from_the_model_config():
    assert upsampling_options("unet") == ("transposed", "bilinear", "nearest")
    assert upsampling_options("fcn8s") == ()  # its config has no upsampling field: the page says it is fixed
    with pytest.raises(ValueError, match="valid names"):
        upsampling_options("vgg")


def test_loop_lowers_the_loss_and_validates():
    torch.manual_seed(0)
    cfg = TrainConfig(size=32, batch_size=4, steps=40, val_every=20, val_size=4, lr=1e-2, warmup=5, device="cpu")
    items = list(train(cfg, TinyFCN(len(CLASSES))))
    steps = [i for i in items if i["kind"] == "step"]
    vals = [i for i in items if i["kind"] == "val"]
    assert len(steps) == 40 and [v["step"] for v in vals] == [20, 40]
    first, last = np.mean([s["loss"] for s in steps[:5]]), np.mean([s["loss"] for s in steps[-5:]])
    assert last < 0.7 * first
    assert 0 <= vals[-1]["miou"] <= 1 and vals[-1]["pred"].shape == (4, 32, 32)
    assert items[-1]["kind"] == "val"


def test_same_seed_same_run():
    cfg = TrainConfig(size=24, batch_size=2, steps=5, val_every=5, val_size=2, device="cpu")
    losses = []
    for _ in range(2):
        torch.manual_seed(123)  # the model's initial weights
        losses.append([i["loss"] for i in train(cfg, TinyFCN(len(CLASSES))) if i["kind"] == "step"])
    assert losses[0] == losses[1]


@pytest.mark.slow
def test_checkpoint_round_trip_and_cli(tmp_path):
    """The command line trains, prints JSON lines (the last with val_miou) and writes a loadable checkpoint."""
    from core.zoo.checkpoints import load_checkpoint, read_header

    out = tmp_path / "fpn.safetensors"
    proc = subprocess.run([sys.executable, "-m", "core.training.loop", "--model", "fpn", "--dataset", "synthetic", "--steps", "3",
                           "--size", "32", "--batch-size", "2", "--val-every", "2", "--device", "cpu", "--out", str(out),
                           "--save-dtype", "float16"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["kind"] for line in lines] == ["step", "step", "val", "step", "val"]
    assert "val_miou" in lines[-1] and 0 <= lines[-1]["val_miou"] <= 1
    header = read_header(out)
    assert header["model"] == "fpn" and header["classes"][1] == "person" and header["input_size"] == [32, 32]
    model, header = load_checkpoint(out)
    assert next(model.parameters()).dtype == torch.float32
    x = torch.randn(1, 3, 40, 36)
    assert model(x).shape == (1, len(CLASSES), 40, 36)


@pytest.mark.slow
def test_cli_refuses_an_unknown_model():
    proc = subprocess.run([sys.executable, "-m", "core.training.loop", "--model", "nope", "--steps", "1"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "valid names" in proc.stderr


def test_shipped_checkpoints_load_and_segment():
    """The checkpoints in checkpoints/ rebuild their model strictly and label a scene mostly right."""
    from core import metrics
    from core.zoo.checkpoints import load_checkpoint, shipped_checkpoints

    found = shipped_checkpoints()
    assert {"unet-streets.safetensors", "fcn8s-streets.safetensors"} <= set(found)
    x, y = SyntheticStreets(4, 64, seed=777).batch(range(4))
    for name, path in found.items():
        model, header = load_checkpoint(path)
        assert header["classes"] == list(CLASSES) and header["metrics"]["miou"] > 0.6, name
        with torch.no_grad():
            pred = model(x).argmax(1)
        cm = metrics.confusion_matrix(pred, y, len(CLASSES))
        assert metrics.pixel_accuracy(cm) > 0.8, name
