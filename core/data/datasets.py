r"""Real data for training: a folder of image/mask pairs, and two public datasets when they are on disk.

**A folder of your own.** ``root/images/NAME.jpg`` (or .png, .webp, …) with ``root/masks/NAME.png`` of the
same name. A mask is either a palette PNG (each pixel stores a class index, the palette only colours it)
or a grey-level PNG whose values are the class indices. The value 255 means "ignore this pixel" (object
borders, unlabelled areas), as in the PASCAL VOC masks. An optional ``root/classes.txt`` names the
classes, one per line; otherwise they are numbered.

**Oxford-IIIT Pet** (trimaps: pet, background, border → classes 0 background, 1 pet, border ignored)
and **PASCAL VOC 2012** (21 classes, border 255) come through torchvision's own dataset classes. They are
used when already on disk; the download (sizes in :data:`DOWNLOAD_MB`) only happens when the user
asks for it.

Every dataset here returns ``(x (3, S, S) normalised, mask (S, S) int64)`` at a fixed square size ``S``:
images are resized bilinearly, masks by nearest neighbour (a class index must never be averaged).

**Held out for validation.** :func:`split_holdout` keeps the last fifth of a dataset (at most 32 pairs)
apart, so a run's mIoU is measured on images it never trained on; both parts batch like the whole.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from core.data.constants import IGNORE_INDEX
from core.data.streets import to_tensor

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
DOWNLOAD_MB = {"oxford_pet": 800, "voc2012": 2000}  # what torchvision fetches, in MB, before unpacking
VOC_CLASSES = ("background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair",
               "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
               "train", "tvmonitor")
PET_CLASSES = ("background", "pet")


class DatasetError(ValueError):
    """A dataset cannot be used; the message says what is missing and how to fix it."""


def _resize_pair(image: Image.Image, mask: np.ndarray, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    rgb = np.asarray(image.convert("RGB").resize((size, size), Image.Resampling.BILINEAR))
    m = Image.fromarray(mask.astype(np.uint8)).resize((size, size), Image.Resampling.NEAREST)
    return to_tensor(rgb), torch.from_numpy(np.asarray(m).astype(np.int64))


def read_mask(path: Path) -> np.ndarray:
    """Class indices of a mask file: palette PNGs give their indices, grey PNGs their values."""
    with Image.open(path) as m:
        if m.mode in ("P", "L", "I", "I;16"):
            a = np.asarray(m)
        elif m.mode in ("RGB", "RGBA"):
            raise DatasetError(f"{path.name} is a colour image; a mask must store class numbers (a palette PNG or "
                               "a grey-level PNG), not colours.")
        else:
            a = np.asarray(m.convert("L"))
    if a.max(initial=0) > 255:
        raise DatasetError(f"{path.name} has values above 255; classes must be 0–254 (255 = ignore).")
    return a.astype(np.int64)


class FolderPairs(torch.utils.data.Dataset):
    """Pairs ``images/NAME.*`` ↔ ``masks/NAME.png`` under ``root``."""

    def __init__(self, root: str | Path, size: int = 96):
        root = Path(root)
        images, masks = root / "images", root / "masks"
        if not images.is_dir() or not masks.is_dir():
            raise DatasetError(f"{root} needs two folders, images/ and masks/, with files of the same names.")
        by_stem = {p.stem: p for p in masks.glob("*.png")}
        self.pairs = [(p, by_stem[p.stem]) for p in sorted(images.iterdir())
                      if p.suffix.lower() in IMAGE_SUFFIXES and p.stem in by_stem]
        if not self.pairs:
            raise DatasetError(f"No image in {images} has a mask of the same name in {masks} (masks are .png).")
        self.size = size
        names_file = root / "classes.txt"
        if names_file.exists():
            self.classes = tuple(line.strip() for line in names_file.read_text(encoding="utf-8").splitlines()
                                 if line.strip())
        else:
            top = max(int(np.max(np.where(read_mask(m) == IGNORE_INDEX, 0, read_mask(m)))) for _, m in self.pairs)
            self.classes = tuple(f"class {i}" for i in range(top + 1))

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        image_path, mask_path = self.pairs[i]
        mask = read_mask(mask_path)
        labels = mask[mask != IGNORE_INDEX]
        if labels.size and labels.max() >= len(self.classes):
            raise DatasetError(f"{mask_path.name} uses class {labels.max()}, but only {len(self.classes)} classes "
                               "are named.")
        with Image.open(image_path) as im:
            if im.size != (mask.shape[1], mask.shape[0]):
                raise DatasetError(f"{image_path.name} is {im.size[0]}×{im.size[1]} but its mask is "
                                   f"{mask.shape[1]}×{mask.shape[0]}; they must match.")
            return _resize_pair(im, mask, self.size)

    def batch(self, indices) -> tuple[torch.Tensor, torch.Tensor]:
        xs, ys = zip(*(self[i] for i in indices))
        return torch.stack(xs), torch.stack(ys)  # (N, 3, S, S), (N, S, S)


class TorchvisionPairs(torch.utils.data.Dataset):
    """Oxford-IIIT Pet or PASCAL VOC 2012 through torchvision, at a fixed square size."""

    def __init__(self, name: str, root: str | Path, split: str = "train", size: int = 96, download: bool = False):
        from torchvision import datasets as tvd

        self.name, self.size = name, size
        try:
            if name == "oxford_pet":
                self.inner = tvd.OxfordIIITPet(str(root), split="trainval" if split == "train" else "test",
                                               target_types="segmentation", download=download)
                self.classes = PET_CLASSES
            elif name == "voc2012":
                self.inner = tvd.VOCSegmentation(str(root), year="2012", image_set="train" if split == "train"
                                                 else "val", download=download)
                self.classes = VOC_CLASSES
            else:
                raise DatasetError(f"unknown dataset '{name}'; valid names are {', '.join(DOWNLOAD_MB)}")
        except RuntimeError as err:  # torchvision: "Dataset not found or corrupted"
            raise DatasetError(f"{name} is not in {root} (the download is about {DOWNLOAD_MB[name]} MB). "
                               f"Details: {err}") from None
        except OSError as err:  # no network while downloading
            raise DatasetError(f"{name} could not be downloaded: {err}") from None

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, target = self.inner[i]
        mask = np.asarray(target).astype(np.int64)
        if self.name == "oxford_pet":  # trimap: 1 pet, 2 background, 3 border
            mask = np.select([mask == 1, mask == 2], [1, 0], IGNORE_INDEX)
        return _resize_pair(image, mask, self.size)

    def batch(self, indices) -> tuple[torch.Tensor, torch.Tensor]:
        xs, ys = zip(*(self[i] for i in indices))
        return torch.stack(xs), torch.stack(ys)


def open_pairs(kind: str, root: str | Path, size: int, download: bool = False):
    """The training pairs of ``kind``: ``"folder"`` (a folder of your own at ``root``) or a public dataset's name."""
    return FolderPairs(root, size) if kind == "folder" else TorchvisionPairs(kind, root, "train", size, download)


class Part(torch.utils.data.Dataset):
    """Some items of a dataset, by position, with the dataset's own ``batch`` and ``classes``."""

    def __init__(self, data, indices):
        self.data, self.indices = data, [int(i) for i in indices]
        self.classes = data.classes

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.data[self.indices[i]]

    def batch(self, indices) -> tuple[torch.Tensor, torch.Tensor]:
        return self.data.batch([self.indices[int(i)] for i in indices])  # (N, 3, S, S), (N, S, S)


def split_holdout(data, most: int = 32) -> tuple[Part, Part]:
    """``(train, val)``: the last fifth of ``data`` (at least one pair, at most ``most``) is held out for validation.

    ``data`` needs at least two pairs, one for each part.
    """
    if len(data) < 2:
        raise DatasetError(f"The dataset has {len(data)} image/mask pairs; it needs at least two: one to train "
                           "on and one to check.")
    n_val = max(1, min(most, len(data) // 5))
    return Part(data, range(len(data) - n_val)), Part(data, range(len(data) - n_val, len(data)))
