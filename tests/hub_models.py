"""Small SegFormer / Mask2Former checkpoints written by the tests, as a folder or in a Hugging Face cache layout."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from core.zoo import universal, weights

LABELS = ("wall", "building", "sky", "road", "person", "car")  # ADE20K names, so the page can translate them


def write_folder(family: str, folder: Path, seed: int = 0) -> Path:
    """A tiny model of ``family`` saved with ``save_pretrained`` (config, processor config, safetensors)."""
    if family == "segformer":
        model, processor = universal.tiny_segformer(LABELS, seed=seed)
    else:
        model, processor = universal.tiny_mask2former(LABELS, num_queries=8, seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    processor.save_pretrained(folder)
    return folder


def into_cache(key: str, hub: Path, source: Path) -> Path:
    """Lay ``source``'s files out as the hub writes a download of ``key``'s repository into the cache ``hub``:
    ``models--<org>--<name>/snapshots/<commit>/…`` and ``refs/<revision>`` naming that commit."""
    spec = weights.spec(key)
    repo = hub / ("models--" + spec.repo.replace("/", "--"))
    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True, exist_ok=True)
    for f in source.iterdir():
        shutil.copy(f, snapshot / f.name)
    ref = repo / "refs" / spec.revision
    ref.parent.mkdir(parents=True, exist_ok=True)
    ref.write_text(commit)
    return snapshot


def cache_model(key: str, hub: Path, tmp: Path, seed: int = 0) -> Path:
    family = weights.spec(key).family
    return into_cache(key, hub, write_folder(family, tmp / f"{key}_saved", seed))


@pytest.fixture(autouse=True)
def empty_caches(tmp_path, monkeypatch):
    """Empty torch and Hugging Face caches of the test's own, the hub switched off, one torch thread; a
    module that imports it runs every test with it."""
    import huggingface_hub.constants

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    yield tmp_path
    torch.set_num_threads(old)
