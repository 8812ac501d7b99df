"""core.promptable: SAM, SAM 2, Grounding DINO and SAM 3 through the same code paths, on tiny random models.

No network: the models are built from small configs (core.promptable.tiny); weights resolution is tested
with folders and a Hugging Face cache the tests write themselves.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from core.promptable import anatomy, draw, grounded, models, samples, segment, video
from core.promptable.segment import Box, EmbeddingCache, Point, Segmenter
from core.zoo import weights


@pytest.fixture(scope="module")
def picture():
    return samples.landscape(96, 128).image


@pytest.fixture(scope="module")
def tiny_sam():
    return models.load_tiny("sam")


@pytest.fixture(scope="module")
def tiny_sam2():
    return models.load_tiny("sam2")


@pytest.fixture(scope="module")
def tiny_gdino():
    return models.load_tiny("grounding_dino")


# --- prompting SAM and SAM 2 ------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["sam", "sam2"])
def test_points_and_box_give_masks_at_the_original_size(kind, tiny_sam, tiny_sam2, picture):
    seg = Segmenter(tiny_sam if kind == "sam" else tiny_sam2)
    emb = seg.embed(picture)
    assert emb.original_size == (96, 128)
    pred = seg.predict(emb, [Point(40, 60, 1), Point(100, 20, 0)], Box(10, 30, 70, 90))
    assert pred.masks.shape == (3, 96, 128) and pred.masks.dtype == bool
    assert pred.scores.shape == (3,) and pred.best == int(np.argmax(pred.scores))
    assert pred.low_res.shape[0] == 3 and pred.seconds > 0
    one = seg.predict(emb, [Point(40, 60, 1)], multimask=False)
    assert one.masks.shape == (1, 96, 128)
    assert seg.predict(emb, [], None) is None
    masks, scores, _ = seg.predict_boxes(emb, [Box(0, 0, 50, 50), Box(60, 10, 120, 90)])
    assert masks.shape == (2, 96, 128) and scores.shape == (2,)


def test_sam_prompt_scaling_matches_the_processor(tiny_sam):
    image = np.zeros((90, 160, 3), np.uint8)  # not square: the two axes share one scale
    seg = Segmenter(tiny_sam)
    emb = seg.embed(image)
    points, labels, box = seg.prompt_tensors(emb, [Point(50, 40, 1), Point(150, 80, 0)], Box(10, 5, 120, 70))
    ref = tiny_sam.processor(images=image, input_points=[[[[50, 40], [150, 80]]]], input_labels=[[[1, 0]]],
                             input_boxes=[[[10, 5, 120, 70]]], return_tensors="pt")
    assert emb.input_size == tuple(ref["reshaped_input_sizes"][0].tolist())
    torch.testing.assert_close(points, ref["input_points"].float())
    torch.testing.assert_close(labels, ref["input_labels"].long())
    torch.testing.assert_close(box, ref["input_boxes"].float())


def test_predict_equals_a_full_forward_pass(tiny_sam, picture):
    """The cached path (embedding, then prompts) gives exactly what one forward pass with pixels gives."""
    seg = Segmenter(tiny_sam)
    emb = seg.embed(picture)
    pred = seg.predict(emb, [Point(40, 60, 1)])
    inputs = tiny_sam.processor(images=picture, input_points=[[[[40, 60]]]], input_labels=[[[1]]],
                                return_tensors="pt")
    with torch.no_grad():
        out = tiny_sam.model(**{k: v for k, v in inputs.items() if k not in ("original_sizes", "reshaped_input_sizes")})
    torch.testing.assert_close(pred.low_res, out.pred_masks[0, 0])
    np.testing.assert_allclose(pred.scores, out.iou_scores[0, 0].numpy(), atol=1e-6)


@pytest.mark.slow
def test_second_click_does_not_run_the_image_encoder(tiny_sam, picture):
    seg = Segmenter(tiny_sam)
    calls = []
    hook = tiny_sam.model.vision_encoder.register_forward_hook(lambda *a: calls.append(1))
    try:
        cache = EmbeddingCache(max_entries=2)
        emb1, computed1 = cache.get(seg, picture)
        seg.predict(emb1, [Point(10, 10)])
        emb2, computed2 = cache.get(seg, picture.copy())  # same pixels, another array
        seg.predict(emb2, [Point(10, 10), Point(50, 50, 0)])
    finally:
        hook.remove()
    assert (computed1, computed2) == (True, False)
    assert emb2 is emb1 and len(calls) == 1 and cache.encoder_runs == 1
    other = picture.copy()
    other[0, 0] += 1  # one pixel differs: another picture
    assert cache.get(seg, other)[1] and cache.encoder_runs == 2
    cache.get(seg, np.zeros_like(picture))  # a third picture pushes out the least recently used
    assert len(cache) == 2 and cache.get(seg, picture)[1]


def test_parse_prompts_keeps_the_latest_box_and_skips_junk():
    points, box = segment.parse_prompts([
        {"kind": "point", "x": 3, "y": 4, "label": 1}, {"kind": "box", "x0": 9, "y0": 8, "x1": 1, "y1": 2},
        {"kind": "point", "x": "nope", "y": 1}, {"kind": "box", "x0": 0, "y0": 0, "x1": 5, "y1": 5},
        {"kind": "point", "x": 7, "y": 7, "label": 0}])
    assert points == [Point(3, 4, 1), Point(7, 7, 0)]
    assert box == Box(0, 0, 5, 5)


# --- everything mode ----------------------------------------------------------------------------------

def test_grid_points_are_cell_centres():
    pts = segment.grid_points(10, 20, 2)
    np.testing.assert_allclose(pts, [[5, 2.5], [15, 2.5], [5, 7.5], [15, 7.5]])


def test_stability_score():
    logits = torch.tensor([[[3.0, 0.5], [-0.5, -3.0]]])  # > +1: 1 pixel; > -1: 3 pixels
    assert stability_close(segment.stability_score(logits), 1 / 3)


def stability_close(value, expected):
    return abs(float(value) - expected) < 1e-6


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20), st.integers(1, 12), st.integers(1, 12)),
                min_size=1, max_size=8),
       st.floats(0.1, 0.9))
def test_mask_nms_on_rectangles_is_torchvision_box_nms(rects, threshold):
    from torchvision.ops import nms

    masks = torch.zeros(len(rects), 32, 32, dtype=torch.bool)
    boxes = []
    for k, (x, y, w, h) in enumerate(rects):
        masks[k, y:y + h, x:x + w] = True
        boxes.append([x, y, x + w, y + h])
    shuffle = torch.randperm(len(rects), generator=torch.Generator().manual_seed(0))
    scores = torch.linspace(1.0, 0.1, len(rects))[shuffle]
    ours = segment.mask_nms(masks, scores, threshold)
    theirs = nms(torch.tensor(boxes, dtype=torch.float32), scores, threshold)
    assert ours.tolist() == theirs.tolist()


@pytest.mark.slow
def test_everything_finds_distinct_segments(tiny_sam, picture):
    seg = Segmenter(tiny_sam)
    emb = seg.embed(picture)
    out = seg.everything(emb, per_side=4, iou_threshold=-1e9, stability_threshold=0.0, nms_threshold=0.5,
                         min_area=0.0)
    assert out.n_points == 16 and out.n_candidates == 48 and out.n_confident == 48
    assert 1 <= out.n_kept <= 48 and out.masks.shape == (out.n_kept, 96, 128)
    iou = segment.mask_iou_matrix(torch.from_numpy(out.low_res))  # duplicates are judged at the decoder's size
    assert (iou - torch.eye(len(iou)) * iou.diag()).max() <= 0.5 + 1e-6
    areas = out.masks.reshape(out.n_kept, -1).sum(1)
    assert list(areas) == sorted(areas, reverse=True)
    nothing = seg.everything(emb, per_side=2, iou_threshold=2.0)
    assert nothing.n_kept == 0 and nothing.masks.shape == (0, 96, 128)


# --- Grounding DINO, Grounded SAM, SAM 3 -------------------------------------------------------------------

def test_prompt_phrases():
    assert grounded.split_phrases("Horse. Clouds.  grass\nsky;hill.") == ["horse", "clouds", "grass", "sky", "hill"]
    assert grounded.normalise_prompt(" Horse.clouds ") == "horse. clouds."
    assert grounded.split_phrases(" . . ") == []


def test_grounding_dino_boxes_match_the_processors_post_processing(tiny_gdino, picture):
    raw = grounded.detect_raw(tiny_gdino, picture, grounded.LECTURE_PROMPT)
    assert raw.phrases == ["horse", "clouds", "grass", "sky", "hill"]
    assert raw.boxes.shape == (30, 4) and raw.phrase_scores.shape == (30, 5)
    ours = grounded.select(raw, box_threshold=0.3, text_threshold=0.0, nms_threshold=1.0)
    inputs = tiny_gdino.processor(images=picture, text=grounded.normalise_prompt(grounded.LECTURE_PROMPT),
                                  return_tensors="pt")
    with torch.no_grad():
        out = tiny_gdino.model(**inputs)
    ref = tiny_gdino.processor.post_process_grounded_object_detection(
        out, inputs["input_ids"], threshold=0.3, text_threshold=0.0, target_sizes=[picture.shape[:2]])[0]
    order = torch.argsort(ref["scores"], descending=True)
    np.testing.assert_allclose([d.score for d in ours.items], ref["scores"][order].numpy(), atol=1e-5)
    np.testing.assert_allclose([d.box.as_list() for d in ours.items], ref["boxes"][order].numpy(), atol=1e-3)
    assert all(d.phrase in raw.phrases for d in ours.items)
    strict = grounded.select(raw, box_threshold=1.0)
    assert strict.items == []


def test_grounded_sam_gives_one_mask_per_box(tiny_gdino, tiny_sam, picture):
    found = grounded.detect(tiny_gdino, picture, "horse. grass.", box_threshold=0.0, text_threshold=0.0)
    seg = Segmenter(tiny_sam)
    masks, ious, _ = seg.predict_boxes(seg.embed(picture), [d.box for d in found.items])
    assert masks.shape == (len(found.items), 96, 128) and ious.shape == (len(found.items),)
    assert {d.phrase for d in found.items} <= {"horse", "grass"}


def test_sam3_segments_each_phrase(picture):
    sam3 = models.load_tiny("sam3")
    concepts, seconds = grounded.sam3_segment(sam3, picture, "horse. sky.", threshold=0.0)
    assert [c.phrase for c in concepts] == ["horse", "sky"]
    for c in concepts:
        assert c.masks.shape[1:] == (96, 128) and len(c.boxes) == len(c.scores) == len(c.masks) > 0
    assert seconds > 0


# --- video --------------------------------------------------------------------------------------------------

def test_video_round_trip_and_limits():
    frames, _ = samples.moving_video(6, 48, 64)
    data, mime = video.encode_video(frames, fps=6)
    assert mime in ("video/mp4", "image/gif") and len(data) > 100
    if mime != "video/mp4":
        pytest.skip("no H.264 encoder in this PyAV build")
    clip = video.read_video(data, max_frames=2, step=2, max_side=32)  # frames 0 and 2; frame 4 is left out
    assert len(clip.frames) == 2 and clip.truncated and clip.step == 2 and clip.fps == pytest.approx(3)
    assert clip.frames[0].shape == (24, 32, 3)
    every_other = video.read_video(data, max_frames=3, step=2)  # 0, 2, 4: the whole clip
    assert len(every_other.frames) == 3 and not every_other.truncated
    full = video.read_video(data)
    assert len(full.frames) == 6 and not full.truncated


@pytest.mark.parametrize("data", [b"", b"not a video at all", b"\x00" * 500])
def test_bad_video_gives_a_sentence(data):
    with pytest.raises(video.VideoError) as err:
        video.read_video(data)
    assert str(err.value).endswith(".")


def test_tracker_prompts_propagates_and_corrects():
    frames, _ = samples.moving_video(4, 64, 80)
    tracker = video.VideoTracker(models.load_tiny("sam2_video"), frames)
    masks = tracker.add(0, 1, Point(10, 50, 1))
    assert set(masks) == {1} and masks[1].shape == (64, 80)
    tracker.add(0, 2, box=Box(40, 10, 70, 40))
    assert not tracker.propagated
    tracker.propagate()
    assert tracker.propagated and sorted(tracker.masks) == list(range(4))
    assert all(set(m) == {1, 2} for m in tracker.masks.values())
    tracker.add(2, 1, Point(60, 50, 0))  # a correction on a frame the tracker had followed
    assert tracker.conditioning_frames() == [0, 2] and not tracker.propagated
    out = tracker.session.output_dict_per_obj[tracker.session.obj_id_to_idx(1)]
    assert 2 in out["cond_frame_outputs"]  # kept as a conditioning frame for the next propagation
    tracker.propagate()
    assert sorted(tracker.masks) == list(range(4))
    tracker.undo(2, 1)
    assert tracker.conditioning_frames() == [0] and sorted(tracker.masks) == [0]
    tracker.clear()
    assert tracker.prompts == {} and tracker.masks == {}
    with pytest.raises(ValueError):
        tracker.propagate()
    with pytest.raises(ValueError):
        tracker.add(4, 1, Point(1, 1))


# --- weights: cache, folder, download, offline ------------------------------------------------------------

def test_weights_missing_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = weights.spec("sam_vit_b")
    res = weights.resolve(spec, cache_dir=tmp_path)
    assert not res.found and res.reason == "not_cached"
    res = weights.resolve(spec, cache_dir=tmp_path, download=True)
    assert res.reason == "offline"
    assert weights.download_command(spec) == "hf download facebook/sam-vit-base"
    assert weights.download_command(spec, "w") == "hf download facebook/sam-vit-base --local-dir w"
    assert models.load(res, "sam").pretrained is False


def test_weights_from_a_folder_and_from_the_cache(tmp_path, tiny_sam, picture):
    folder = tmp_path / "sam_folder"
    tiny_sam.model.save_pretrained(folder)
    tiny_sam.processor.save_pretrained(folder)
    spec = weights.spec("sam_vit_b")
    res = weights.resolve(spec, folder=str(folder), cache_dir=tmp_path / "empty_cache")
    assert res.found and res.source == "folder"
    loaded = models.load(res, "sam")
    assert loaded.pretrained and loaded.n_params == tiny_sam.n_params
    ours = Segmenter(loaded)
    ref = Segmenter(tiny_sam)
    a = ours.predict(ours.embed(picture), [Point(30, 30)])
    b = ref.predict(ref.embed(picture), [Point(30, 30)])
    np.testing.assert_array_equal(a.masks, b.masks)  # the same weights came back

    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.json").write_text("{}")
    bad = weights.resolve(spec, folder=str(tmp_path / "half"), cache_dir=tmp_path / "empty_cache")
    assert bad.reason == "bad_folder" and "safetensors" in bad.detail and "processor_config.json" in bad.detail

    # A Hugging Face cache laid out as the hub writes it: refs/main names the snapshot folder.
    repo_dir = tmp_path / "hub" / ("models--" + spec.repo.replace("/", "--"))
    snapshot = repo_dir / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    for f in folder.iterdir():
        (snapshot / f.name).write_bytes(f.read_bytes())
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text("0" * 40)
    cached = weights.resolve(spec, folder=str(tmp_path / "half"), cache_dir=tmp_path / "hub")
    assert cached.found and cached.source == "cache" and cached.path == snapshot


def test_registry():
    assert [s.key for s in weights.specs("sam")][0] == "slimsam_77"  # smallest first
    assert {s.family for s in weights.MODELS.values()} == set(weights.FAMILIES)
    with pytest.raises(ValueError, match="valid"):
        weights.spec("nope")
    with pytest.raises(ValueError, match="valid"):
        weights.specs("nope")
    with pytest.raises(ValueError):
        models.load_pretrained(weights.spec("sam_vit_b"), "/nowhere", kind="grounding_dino")


# --- anatomy -----------------------------------------------------------------------------------------------

def test_full_size_sam_anatomy_from_meta_tensors():
    a = anatomy.full_size("sam")
    assert a.embedding_shapes == ((1, 256, 64, 64),) and a.masks_shape == (1, 1, 3, 256, 256)
    assert 85e6 < a.params["image_encoder"] < 95e6 and a.params["mask_decoder"] < 5e6
    assert a.flops["image_encoder"] > 100 * a.flops["prompt_and_decoder"] > 0
    steps = [b.step for b in a.blocks]
    assert steps[:3] == ["patch_embed", "vit_block", "neck"]
    vit = next(b for b in a.blocks if b.step == "vit_block")
    assert vit.repeat == 12 and vit.name == "vision_encoder.layers.0–11" and vit.shapes == ((1, 64, 64, 768),)
    assert a.embedding is None


def test_live_anatomy_and_pca(tiny_sam2, picture):
    a = anatomy.trace_loaded(tiny_sam2, picture, 40, 60)
    assert len(a.embedding_shapes) == 3 and a.embedding is not None
    assert {b.part for b in a.blocks} == set(anatomy.PARTS)
    rgb = anatomy.pca_rgb(a.embedding)
    assert rgb.dtype == np.uint8 and rgb.shape[2] == 3 and min(rgb.shape[:2]) >= 256


# --- pictures ----------------------------------------------------------------------------------------------

def test_landscape_parts_cover_the_picture_once():
    s = samples.landscape(64, 96)
    stack = np.stack([s.masks[p] for p in samples.LANDSCAPE_PARTS])
    assert (stack.sum(0) == 1).all() and all(m.any() for m in stack)
    np.testing.assert_array_equal(s.image, samples.landscape(64, 96).image)


def test_drawing_keeps_the_size():
    img = np.zeros((20, 30, 3), np.uint8)
    mask = np.zeros((20, 30), bool)
    mask[5:10, 5:10] = True
    out = draw.overlay_masks(img, [mask])
    assert out.shape == img.shape and out[7, 7].any() and not out[0, 0].any()
    assert draw.draw_prompts(img, [Point(5, 5, 1), Point(20, 10, 0)], Box(1, 1, 25, 18)).shape == img.shape
    assert draw.draw_boxes(img, [Box(2, 2, 20, 15)], ["horse 0.9"], [draw.color(0)]).shape == img.shape
    with pytest.raises(ValueError):
        draw.overlay_masks(img, [mask[:5]])
