"""Folders of image/mask pairs and the torchvision datasets (no download: only what a test writes)."""
import numpy as np
import pytest
from PIL import Image

from core.data.datasets import DatasetError, FolderPairs, TorchvisionPairs, read_mask


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
