"""Folders of image/mask pairs and the torchvision datasets (no download: only what a test writes)."""
import numpy as np
import pytest
import torch
from PIL import Image

from core.data.datasets import (
    DatasetError,
    FolderPairs,
    TorchvisionPairs,
    open_pairs,
    read_mask,
    split_holdout,
)


def _write_pair(root, name, size=(20, 16), palette=True, value=1):
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (200, 30, 30)).save(root / "images" / f"{name}.jpg")
    m = np.zeros(size[::-1], np.uint8)
    m[: size[1] // 2] = value
    m[0, 0] = 255  # an ignored pixel
    mask = Image.fromarray(m, "L")
    if palette:
        mask = mask.convert("P")
        mask.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    mask.save(root / "masks" / f"{name}.png")


def test_folder_pairs_with_palette_and_grey_masks(tmp_path):
    _write_pair(tmp_path, "a", palette=True, value=1)
    _write_pair(tmp_path, "b", palette=False, value=2)
    (tmp_path / "images" / "orphan.png").write_bytes(b"")  # no mask: left out
    ds = FolderPairs(tmp_path, size=8)
    assert len(ds) == 2 and ds.classes == ("class 0", "class 1", "class 2")
    x, y = ds.batch([0, 1])
    assert x.shape == (2, 3, 8, 8) and y.shape == (2, 8, 8)
    assert set(y[0].unique().tolist()) <= {0, 1, 255} and 2 in y[1].unique().tolist()


def test_class_names_and_bad_masks(tmp_path):
    _write_pair(tmp_path, "a", value=3)
    (tmp_path / "classes.txt").write_text("sky\nroad\n", encoding="utf-8")
    ds = FolderPairs(tmp_path, size=8)
    assert ds.classes == ("sky", "road")
    with pytest.raises(DatasetError, match="only 2 classes"):
        ds[0]
    Image.new("RGB", (4, 4), (9, 9, 9)).save(tmp_path / "masks" / "rgb.png")
    with pytest.raises(DatasetError, match="colour image"):
        read_mask(tmp_path / "masks" / "rgb.png")


def test_folder_errors_say_what_to_fix(tmp_path):
    with pytest.raises(DatasetError, match="images/ and masks/"):
        FolderPairs(tmp_path)
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    with pytest.raises(DatasetError, match="same name"):
        FolderPairs(tmp_path)


@pytest.mark.parametrize("name", ["oxford_pet", "voc2012"])
def test_public_datasets_not_on_disk_say_their_download_size(tmp_path, name):
    with pytest.raises(DatasetError, match="MB"):
        TorchvisionPairs(name, tmp_path)


@pytest.mark.parametrize("n,n_val", [(2, 1), (9, 1), (10, 2), (200, 32)])
def test_the_last_fifth_is_held_out_and_both_parts_batch(tmp_path, n, n_val):
    for i in range(n):
        _write_pair(tmp_path, f"p{i:03d}", size=(8, 8), value=i % 2)
    data = open_pairs("folder", tmp_path, 4)
    train, val = split_holdout(data)
    assert (len(train), len(val)) == (n - n_val, n_val)
    assert train.classes == val.classes == data.classes
    whole_x, whole_y = data.batch(range(n))
    x, y = val.batch(range(len(val)))  # the validation batch: the last pairs, in order
    assert torch.equal(x, whole_x[n - n_val:]) and torch.equal(y, whole_y[n - n_val:])
    x, y = train.batch(torch.tensor([len(train) - 1, 0]))  # indices as the loop draws them
    assert torch.equal(x, whole_x[[n - n_val - 1, 0]]) and torch.equal(y, whole_y[[n - n_val - 1, 0]])
    assert torch.equal(train[0][1], whole_y[0])
    with pytest.raises(IndexError):
        train.batch([len(train)])  # a training batch never reaches a held-out pair


def test_one_pair_cannot_be_split(tmp_path):
    _write_pair(tmp_path, "only")
    with pytest.raises(DatasetError, match="at least two"):
        split_holdout(FolderPairs(tmp_path, size=8))
