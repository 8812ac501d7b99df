"""Downloads proven end to end: the real download code against servers these tests start on 127.0.0.1.

No test touches the internet. A local model hub (:class:`tests.local_servers.ModelHub`, reached through
``HF_ENDPOINT``) serves tiny repositories written here with ``save_pretrained`` for every family (SAM, SAM 2,
Grounding DINO, SAM 3, SegFormer, Mask2Former); a plain file server (:class:`tests.local_servers.FileServer`,
reached through ``TORCHVISION_MIRROR``) serves a real torchvision model's state dict named the torchvision
way. Each download is checked the way a teacher would: the files are in the cache, the progress reached
100 %, the model loads and gives the same answer as the model that was written, a second resolve finds it
with the server stopped, a broken transfer leaves nothing loadable and the next call completes it, and a
refusal (401/403, 404) yields the sentence the pages show, in both languages. Then the command line
(``python -m core.zoo.fetch``) and the page "Get ready for class" run against the same servers.
"""
from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from core import lessons
from core.promptable import grounded, models, tiny
from core.promptable.segment import Point, Segmenter
from core.zoo import catalogue, semantic, weights
from tests.conftest import ROOT, page_text, run_page
from tests.local_servers import FileServer, ModelHub, Repo, file_server, model_hub  # noqa: F401 (fixtures)

FAMILY_SPECS = {"sam": "sam_vit_b", "sam2": "sam2.1_tiny", "grounding_dino": "gdino_tiny", "sam3": "sam3",
                "segformer": "segformer_b0", "mask2former": "mask2former_swin_t"}
FAMILIES = [f for f in FAMILY_SPECS if f != "sam3" or models.installed("sam3")]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(autouse=True)
def fresh_machine(tmp_path, monkeypatch):
    """Online (to the tests' servers only), with empty torch and Hugging Face caches of its own."""
    from huggingface_hub import constants

    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_CACHE", "HF_ENDPOINT", weights.MIRROR_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    return tmp_path


@pytest.fixture(scope="module")
def picture():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)


# --- tiny repositories, one per family ------------------------------------------------------------------------

def _segformer():
    from transformers import SegformerConfig, SegformerForSemanticSegmentation, SegformerImageProcessor

    config = SegformerConfig(hidden_sizes=[8, 16, 24, 32], depths=[1, 1, 1, 1], num_attention_heads=[1, 1, 1, 1],
                             decoder_hidden_size=32, num_labels=5)
    return tiny._build(lambda: SegformerForSemanticSegmentation(config), 0), \
        SegformerImageProcessor(size={"height": 64, "width": 64})


def _mask2former():
    from transformers import (
        Mask2FormerConfig,
        Mask2FormerForUniversalSegmentation,
        Mask2FormerImageProcessor,
        SwinConfig,
    )

    swin = SwinConfig(image_size=64, embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 2], window_size=4,
                      out_features=["stage1", "stage2", "stage3", "stage4"])
    config = Mask2FormerConfig(backbone_config=swin, hidden_dim=32, num_queries=8, encoder_layers=1,
                               decoder_layers=2, mask_feature_size=32, feature_size=32, dim_feedforward=64,
                               encoder_feedforward_dim=64, num_attention_heads=2, num_labels=5)
    return tiny._build(lambda: Mask2FormerForUniversalSegmentation(config), 0), \
        Mask2FormerImageProcessor(size={"shortest_edge": 64, "longest_edge": 64})


_BUILDERS = {"sam": tiny.sam, "sam2": tiny.sam2, "grounding_dino": tiny.grounding_dino, "sam3": tiny.sam3,
             "segformer": _segformer, "mask2former": _mask2former}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """family → the folder a tiny model and its processor were saved to (what the hub will serve)."""
    folders = {}
    for family in FAMILIES:
        model, processor = _BUILDERS[family]()
        folder = tmp_path_factory.mktemp(family)
        model.save_pretrained(folder)
        processor.save_pretrained(folder)
        folders[family] = folder
    return folders


def _answer(family: str, path: Path, picture: np.ndarray) -> torch.Tensor:
    """What the model in ``path`` says about ``picture``: the SAM family through the app's own loader and
    pipeline, SegFormer and Mask2Former through transformers' classes (a forward pass)."""
    if family in ("sam", "sam2"):
        loaded = models.load_pretrained(weights.spec(FAMILY_SPECS[family]), path)
        seg = Segmenter(loaded)
        prediction = seg.predict(seg.embed(picture), [Point(30, 20)])
        assert prediction.masks.shape[1:] == picture.shape[:2]
        return prediction.low_res
    if family == "grounding_dino":
        raw = grounded.detect_raw(models.load_pretrained(weights.spec("gdino_tiny"), path), picture, "horse. sky.")
        return raw.box_scores
    if family == "sam3":
        concepts, _ = grounded.sam3_segment(models.load_pretrained(weights.spec("sam3"), path), picture, "horse",
                                            threshold=0.0)
        return torch.as_tensor(concepts[0].scores)
    from transformers import (
        AutoImageProcessor,
        Mask2FormerForUniversalSegmentation,
        SegformerForSemanticSegmentation,
    )

    cls = SegformerForSemanticSegmentation if family == "segformer" else Mask2FormerForUniversalSegmentation
    model = cls.from_pretrained(str(path), use_safetensors=True).eval()
    processor = AutoImageProcessor.from_pretrained(str(path))
    with torch.inference_mode():
        out = model(**processor(images=picture, return_tensors="pt"))
    if family == "segformer":
        return out.logits  # (1, 5, 16, 16): a quarter of the input, as SegFormer's decoder answers
    semantic_map = processor.post_process_semantic_segmentation(out, target_sizes=[picture.shape[:2]])[0]
    assert semantic_map.shape == picture.shape[:2]
    return out.masks_queries_logits


def _serve(hub: ModelHub, family: str, folder: Path, monkeypatch) -> weights.ModelSpec:
    spec = weights.spec(FAMILY_SPECS[family])
    hub.repos[spec.repo] = Repo.from_folder(folder, revisions=(spec.revision,))
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    return spec


@pytest.mark.parametrize("family", FAMILIES)
def test_a_repository_downloads_resumes_loads_and_stays_cached(family, written, picture, model_hub, monkeypatch,
                                                               fresh_machine):
    spec = _serve(model_hub, family, written[family], monkeypatch)
    weights_file = "model.safetensors"
    size = len(model_hub.repos[spec.repo].files[weights_file])
    cache = fresh_machine / "hf" / "hub"

    # the hub cuts the connection half-way through the weights (and stays down): nothing loadable is left
    model_hub.cut[(spec.repo, weights_file)] = size // 2
    broken = weights.resolve(spec, download=True)
    assert not broken.found and broken.reason == "download_failed"
    assert weights.resolve(spec).reason == "not_cached"
    assert not list(cache.rglob("*.safetensors")) and not list(cache.rglob("*.incomplete"))

    # the next call completes it, with a progress report that reaches 100 % for every file
    model_hub.recover()
    seen: dict[str, float] = {}
    res = weights.resolve(spec, download=True, progress=lambda f, name: seen.__setitem__(name, max(f, seen.get(name, 0))))
    assert res.found and res.source == "download", res.detail
    assert seen == {name: 1.0 for name in model_hub.repos[spec.repo].files}
    assert res.path.is_relative_to(cache) and (res.path / weights_file).read_bytes() == \
        (written[family] / weights_file).read_bytes()
    assert not weights.check_folder(res.path, spec.family)

    # it loads and gives the answer of the model that was written
    torch.testing.assert_close(_answer(family, res.path, picture), _answer(family, written[family], picture))

    # the server is gone: the second resolve finds it in the cache
    model_hub.stop()
    again = weights.resolve(spec, download=True)
    assert (again.source, again.path) == ("cache", res.path)


def _small_repo(tmp_path: Path) -> Path:
    folder = tmp_path / "small"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "preprocessor_config.json").write_text("{}")
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(4)}, folder / "model.safetensors")
    return folder


@pytest.mark.parametrize("family", FAMILIES)
def test_a_refused_repository_says_gated_and_a_missing_one_not_found(family, model_hub, monkeypatch, tmp_path):
    spec = _serve(model_hub, family, _small_repo(tmp_path), monkeypatch)
    for status, code in ((401, "GatedRepo"), (403, None)):  # the hub's answer to a gated repository; a bare 403
        model_hub.refuse[spec.repo] = (status, code)
        res = weights.resolve(spec, download=True)
        assert (res.found, res.reason) == (False, "gated"), res.detail
        outcome = catalogue.fetch(catalogue.entry(spec.key))
        assert (outcome.status, outcome.reason) == ("failed", "gated")
        for lang in lessons.LANGUAGES:
            said = catalogue.sentence(outcome, lang)
            assert said == lessons.texts("weights_common", lang)("fail_gated", label=spec.label, repo=spec.repo,
                                                                 detail=outcome.detail)
            assert f"https://huggingface.co/{spec.repo}" in said and "hf auth login" in said
    del model_hub.repos[spec.repo]
    model_hub.refuse.clear()
    res = weights.resolve(spec, download=True)
    assert res.reason == "not_found" and "RepositoryNotFound" in res.detail
    outcome = catalogue.fetch(catalogue.entry(spec.key))
    for lang in lessons.LANGUAGES:
        assert spec.repo in catalogue.sentence(outcome, lang)
    assert not list((tmp_path / "hf").rglob("*.safetensors"))


def test_a_damaged_safetensors_file_is_refused_and_removed(model_hub, monkeypatch, tmp_path):
    folder = _small_repo(tmp_path)
    (folder / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    spec = _serve(model_hub, "sam", folder, monkeypatch)
    res = weights.resolve(spec, download=True)
    assert res.reason == "download_failed" and "safetensors" in res.detail
    assert not list((tmp_path / "hf").rglob("*.safetensors")) and weights.resolve(spec).reason == "not_cached"


# --- a torchvision-style file ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def published_file():
    """A real torchvision model's state dict, named the torchvision way: ``<name>-<sha256 digits>.pth``."""
    net = semantic.build_torchvision("lraspp_mobilenet_v3_large")
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    data = buffer.getvalue()
    name = f"lraspp_mobilenet_v3_large-{hashlib.sha256(data).hexdigest()[:8]}.pth"
    return name, data, net


def _mirror(server: FileServer, name: str, data: bytes, monkeypatch) -> str:
    server.files[name] = data
    monkeypatch.setenv(weights.MIRROR_ENV, server.mirror)
    return "https://download.pytorch.org/models/" + name  # the published address; the mirror answers for it


def test_a_file_downloads_resumes_with_a_range_and_loads_strictly(published_file, file_server, monkeypatch,
                                                                  fresh_machine, picture):
    name, data, net = published_file
    url = _mirror(file_server, name, data, monkeypatch)
    cut = len(data) // 3
    file_server.cut[name] = cut
    with pytest.raises(weights.DownloadError) as err:
        weights.download(url, chunk=1 << 16)
    assert err.value.code == "offline"
    partial = weights.partial_file(url)
    assert partial.stat().st_size == cut and not weights.hub_file(url).exists()
    assert weights.locate(url).kind == "random"  # a .partial is never taken for the weights
    assert weights.locate(None, partial.parent).reason == "local_missing"
    entry = catalogue.Entry("served", "served", "torchvision", len(data) / 2**20, "BSD-3-Clause", False, (), url=url)
    assert catalogue.state(entry).partial_mb == pytest.approx(cut / 2**20)

    seen = []
    path = weights.download(url, progress=lambda done, total: seen.append((done, total)), chunk=1 << 16)
    assert file_server.requests[-1] == ("GET", f"/models/{name}", f"bytes={cut}-")  # only the rest was asked for
    assert seen[0] == (cut, len(data)) and seen[-1] == (len(data), len(data))
    assert path == weights.hub_file(url) and path.read_bytes() == data and not partial.exists()
    assert path.is_relative_to(fresh_machine / "torch")

    ref = weights.locate(url)
    assert ref.kind == "cache"
    model = semantic.load_torchvision("lraspp_mobilenet_v3_large", ref)  # strict: every key and shape
    x = torch.from_numpy(picture).permute(2, 0, 1)[None].float() / 255  # (1, 3, 48, 64)
    with torch.inference_mode():
        torch.testing.assert_close(model.net(x)["out"], net.eval()(x)["out"])  # (1, 21, 48, 64)
    assert semantic.predict(model, picture, short_side=48).probs.shape == (21, 48, 64)

    file_server.stop()
    assert weights.download(url) == path  # no network needed for what is cached
    assert catalogue.fetch(entry).status == "cached"


def test_a_server_that_ignores_ranges_sends_the_whole_file_again(published_file, file_server, monkeypatch):
    name, data, _ = published_file
    url = _mirror(file_server, name, data, monkeypatch)
    file_server.ranges = False
    file_server.cut[name] = len(data) // 2
    with pytest.raises(weights.DownloadError):
        weights.download(url)
    path = weights.download(url)
    assert path.read_bytes() == data and not weights.partial_file(url).exists()


def test_a_bad_hash_or_a_refusal_leaves_nothing_and_says_why(published_file, file_server, monkeypatch):
    name, data, _ = published_file
    wrong = name.split("-")[0] + "-0badc0de.pth"
    url = _mirror(file_server, wrong, data, monkeypatch)
    with pytest.raises(weights.DownloadError) as err:
        weights.download(url)
    assert err.value.code == "checksum"
    assert not weights.hub_file(url).exists() and not weights.partial_file(url).exists()
    for status, code in ((401, "gated"), (403, "gated"), (404, "not_found")):
        file_server.refuse[name] = status
        url = _mirror(file_server, name, data, monkeypatch)
        with pytest.raises(weights.DownloadError) as err:
            weights.download(url)
        assert (err.value.code, err.value.status) == (code, status)
    assert not any(weights.hub_file(url).parent.iterdir())
    # the real catalogue entry, refused the same way, gets the file's own gated sentence in both languages
    lraspp = catalogue.entry("lraspp_mobilenet_v3_large")
    file_server.refuse[lraspp.file] = 403
    outcome = catalogue.fetch(lraspp)
    assert (outcome.status, outcome.reason) == ("failed", "gated")
    for lang in lessons.LANGUAGES:
        assert catalogue.sentence(outcome, lang) == lessons.texts("weights_common", lang)(
            "fail_gated_file", label=lraspp.label, repo=lraspp.url, detail=outcome.detail)


# --- the command line, against both servers -------------------------------------------------------------------

def test_the_command_line_fetches_reports_and_fails_with_the_pages_sentence(written, published_file, model_hub,
                                                                           file_server, fresh_machine):
    slim = weights.spec("slimsam_77")
    model_hub.repos[slim.repo] = Repo.from_folder(written["sam"])
    lraspp = catalogue.entry("lraspp_mobilenet_v3_large")
    file_server.files[lraspp.file] = published_file[1]  # not the published bytes: its digits cannot match
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_ENDPOINT=model_hub.url, TORCHVISION_MIRROR=file_server.mirror, OMP_NUM_THREADS="1",
               TORCH_HOME=str(fresh_machine / "torch"), HF_HOME=str(fresh_machine / "hf"))

    def fetch(*args):
        return subprocess.run([sys.executable, "-m", "core.zoo.fetch", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=240)

    first = fetch("--only", "slimsam_77", "lraspp_mobilenet_v3_large", "--lang", "ro")
    T = lessons.texts("get_ready", "ro")
    assert first.returncode == 1, first.stdout + first.stderr
    lines = first.stdout.splitlines()
    summary = lines[lines.index(T("cli_summary")):]
    row = {line.split()[0]: line for line in summary if line.split() and line.split()[0] in ("slimsam_77", lraspp.key)}
    assert T("status_downloaded") in row["slimsam_77"] and T("status_failed") in row[lraspp.key]
    checksum = catalogue.sentence(catalogue.Outcome(lraspp.key, "failed", "checksum"), "ro")
    assert f"{lraspp.key}: {checksum}" in first.stdout
    assert T("cli_failed", n=1) in first.stdout
    assert "model.safetensors" in first.stdout and "100 %" in first.stdout  # a line per 10 % when not a terminal
    assert weights.hub_cached(slim) is not None and not weights.hub_file(lraspp.url).exists()

    model_hub.stop()
    second = fetch("--only", "slimsam_77")
    E = lessons.texts("get_ready", "en")
    assert second.returncode == 0, second.stdout + second.stderr
    assert E("status_cached") in second.stdout and E("cli_all_ready") in second.stdout


# --- the page ----------------------------------------------------------------------------------------------------

def _frame(at):
    return at.dataframe[0].value


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_the_page_lists_every_model_and_what_is_cached(lang, fresh_machine):
    lraspp = catalogue.entry("lraspp_mobilenet_v3_large")
    cached = weights.hub_file(lraspp.url)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"present")  # the table only looks at the cache: nothing is loaded
    at = run_page("get_ready", lang)
    assert not at.exception, [e.value for e in at.exception]
    T = lessons.texts("get_ready", lang)
    frame = _frame(at)
    assert len(frame) == len(catalogue.entries())
    by_key = frame.set_index(T("col_key"))
    assert by_key.loc[lraspp.key, T("col_cached")] == "✓"
    assert (by_key.drop(lraspp.key)[T("col_cached")] == "✗").all()
    assert by_key.loc[lraspp.key, T("col_where")] == str(cached)
    assert by_key.loc[lraspp.key, T("col_size")] == lessons.number(lraspp.size_mb, ".1f", lang)
    assert by_key.loc["sam3", T("col_gated")] == T("yes")
    assert by_key.loc["sam_vit_b", T("col_licence")] == weights.spec("sam_vit_b").licence
    assert lessons.texts("sam", lang).title in by_key.loc["sam_vit_b", T("col_pages")]
    left = catalogue.missing("cpu")
    assert len(left) == len(catalogue.CPU_SET) - 1
    assert T("set_missing", n=len(left), mb=catalogue.size_to_fetch(left)) in page_text(at)
    assert at.button(key="gr_fetch_set").label == T("download_set", mb=catalogue.size_to_fetch(left))
    assert T.md("carry")[:60] in page_text(at)


def test_the_page_downloads_one_model_and_explains_a_refusal(written, model_hub, monkeypatch):
    slim = weights.spec("slimsam_77")
    model_hub.repos[slim.repo] = Repo.from_folder(written["sam"])
    vit_b = weights.spec("sam_vit_b")
    model_hub.repos[vit_b.repo] = Repo.from_folder(written["sam"])
    model_hub.refuse[vit_b.repo] = (401, "GatedRepo")
    monkeypatch.setenv("HF_ENDPOINT", model_hub.url)
    at = run_page("get_ready", "ro")
    T = lessons.texts("get_ready", "ro")
    at.button(key="gr_fetch_slimsam_77").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [s.value for s in at.success if s.value.startswith(slim.label)], page_text(at)
    assert _frame(at).set_index(T("col_key")).loc["slimsam_77", T("col_cached")] == "✓"
    at.button(key="gr_fetch_sam_vit_b").click().run()
    gated = lessons.texts("weights_common", "ro")("fail_gated", label=vit_b.label, repo=vit_b.repo, detail="")
    assert [e.value for e in at.error] == [gated]
    assert _frame(at).set_index(T("col_key")).loc["sam_vit_b", T("col_cached")] == "✗"


def test_the_catalogue_names_real_pages_and_every_model_once():
    from app_pages.ui.manifest import all_pages

    slugs = {p.slug for p in all_pages()}
    found = catalogue.entries()
    assert len({e.key for e in found}) == len(found)
    assert {e.key for e in found} >= set(weights.KNOWN) | set(weights.MODELS) | {catalogue.HRNET_KEY}
    assert all(e.pages and set(e.pages) <= slugs for e in found)
    cpu = catalogue.members("cpu")
    assert [e.key for e in cpu] == sorted(catalogue.CPU_SET, key=lambda k: catalogue.entry(k).size_mb)
    assert {p for e in cpu for p in e.pages} == {p for e in found for p in e.pages} - {"segnet"}


@pytest.mark.parametrize("lang", ["en", "ro"])
def test_the_sam_pages_one_button_downloads_and_the_page_then_segments(lang, written, model_hub, monkeypatch):
    """The "no weights yet" state of a page, not only Get ready for class, fetches through the same code."""
    spec = weights.spec("sam_vit_b")
    model_hub.repos[spec.repo] = Repo.from_folder(written["sam"])
    monkeypatch.setenv("HF_ENDPOINT", model_hub.url)
    at = run_page("sam", lang)
    assert not at.exception, [e.value for e in at.exception]
    W = lessons.texts("sam_common", lang)
    assert W("candidates") not in page_text(at) and at.button(key="sam_download")  # no mask yet, one button
    at.button(key="sam_download").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert W("candidates") in page_text(at)  # the downloaded model answers the sample's first click
    cached = W("weights_from_cache", label=spec.label, n=0.0).split("(")[0]
    assert cached in page_text(at)  # the rerun finds the downloaded model in the cache and says so
    assert weights.resolve(spec).source == "cache"
