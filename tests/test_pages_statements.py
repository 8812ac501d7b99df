"""Pages say what is on screen: numbers in the text come from the code that makes the figures (issue 15)."""
import os

import pytest
import torch

from core import lessons
from tests.conftest import page_text, run_page


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_scribbles_window_is_the_networks_own(lang):
    from core.training.scribbles import receptive_field

    at = run_page("scribbles", lang)
    assert not at.exception
    side = receptive_field()
    text = page_text(at)
    assert f"{side}×{side}" in text
    assert "31×31" not in text


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bilinear_kernel_sentence_says_what_its_middle_holds(lang, scale):
    from core.ops.resample import bilinear_upsample_weight

    at = run_page("bilinear", lang, state={"bl_kscale": scale})
    assert not at.exception
    T = lessons.texts("bilinear", lang)
    kernel = bilinear_upsample_weight(1, scale)[0][0, 0]
    captions = [c.value for c in at.caption]
    if scale % 2:  # an odd factor: a single centre cell holding 1
        assert kernel.max() == 1 and int((kernel == 1).sum()) == 1
        assert any(T("kernel_peak_one", s=scale) in c for c in captions)
    else:  # an even factor: the tent's top lies between four cells, each (1 - 1/(2s))²
        side = 1 - 1 / (2 * scale)
        assert kernel.max() < 1
        sentence = T("kernel_peak_shared", s=scale, n=4, peak=side ** 2, side=side)
        assert any(sentence in c for c in captions)
        assert lessons.number(side ** 2, ".4g", lang) in sentence
    assert "1 in the middle" not in page_text(at) and "1 la mijloc" not in page_text(at)


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
@pytest.mark.parametrize("slug, keys", [("classification_recap", ["times_fewer"]),
                                        ("full_resolution", ["times_fewer", "times_less"])])
def test_fewer_and_less_point_down_in_green(lang, slug, keys):
    from streamlit.proto.Metric_pb2 import Metric

    at = run_page(slug, lang)
    assert not at.exception
    T = lessons.texts(slug, lang)
    heads = [T(k).split("{")[1].split("}")[1] for k in keys]  # the words after the number: "× fewer"
    shown = [m for m in at.metric if m.proto.delta and any(h in m.proto.delta for h in heads)]
    assert len(shown) == len(keys)
    for m in shown:  # a reduction is a decrease, and here a good one
        assert m.proto.direction == Metric.MetricDirection.DOWN
        assert m.proto.color == Metric.MetricColor.GREEN


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


LRASPP = {"sp_side": 64, "sp_model": "tv:lraspp_mobilenet_v3_large"}


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_a_refused_weights_file_gets_only_the_refusal(tmp_path, lang):
    marker = tmp_path / "it_ran"
    evil = tmp_path / "evil.pth"
    torch.save({"weight": torch.zeros(1), "x": _RunsCode(marker)}, evil)
    not_weights = tmp_path / "notes.pt"
    not_weights.write_text("these are lecture notes, not tensors")
    W = lessons.texts("photo_common", lang)
    T = lessons.texts("segment_photo", lang)
    what = T("model_lraspp_mobilenet_v3_large")
    cases = [(evil, "ckpt_unsafe"), (not_weights, "ckpt_unreadable")]
    for path, code in cases:
        at = run_page("segment_photo", lang, state={**LRASPP, "sp_a_wpath": str(path)})
        assert not at.exception, [e.value for e in at.exception]
        assert not any(W("weights_from_file", what=what, file=path.name) == s.value for s in at.success)
        refusal = W(code).split("{")[0][:30]  # the sentence up to its first placeholder
        assert sum(refusal in e.value for e in at.error) == 1, [e.value for e in at.error]
    assert not marker.exists()

    # the same file uploaded instead of named: still only the refusal
    at = run_page("segment_photo", lang, state=LRASPP)
    at.file_uploader(key="sp_a_wupload").set_value(("notes.pt", not_weights.read_bytes(), "application/octet-stream"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not any(W("weights_from_file", what=what, file="notes.pt") == s.value for s in at.success)
    assert any(W("ckpt_unreadable") in e.value for e in at.error)


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_a_weights_file_that_does_not_fit_gets_only_the_refusal(tmp_path, lang):
    """A real state dict, of another network: it reads as weights, so only the model loader finds that its tensors
    do not fit. The page then says that in red, and no green "from your file" line is left above it."""
    misfit = tmp_path / "other_net.pth"
    torch.save(torch.nn.Conv2d(3, 4, 3).state_dict(), misfit)
    W = lessons.texts("photo_common", lang)
    what = lessons.texts("segment_photo", lang)("model_lraspp_mobilenet_v3_large")
    at = run_page("segment_photo", lang, state={**LRASPP, "sp_a_wpath": str(misfit)})
    assert not at.exception, [e.value for e in at.exception]
    assert not any(W("weights_from_file", what=what, file=misfit.name) == s.value for s in at.success), \
        [s.value for s in at.success]
    refusal = W("ckpt_mismatch").split("{")[0]
    assert sum(e.value.startswith(refusal) for e in at.error) == 1, [e.value for e in at.error]


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_a_picture_too_large_is_said_with_its_size_and_the_limit(lang):
    from core.images import MAX_PIXELS
    from tests.test_images import _png_header

    at = run_page("segment_photo", lang, state={"sp_side": 64, "sp_source": "upload"})
    at.file_uploader(key="sp_upload").set_value(("huge.png", _png_header(60_000, 60_000), "image/png")).run()
    assert not at.exception, [e.value for e in at.exception]
    table = lessons.texts("common", lang).table("image_errors")
    sentence = table["too_large"].format(width=60_000, height=60_000, megapixels=3600.0, limit=MAX_PIXELS / 1e6)
    errors = [e.value for e in at.error]
    assert any(sentence in e for e in errors), errors
    assert not any(table["not_image"] in e for e in errors)


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_sam_weights_folder_says_file_or_missing_folder(tmp_path, lang):
    a_file = tmp_path / "x.pt"
    a_file.write_bytes(b"\0" * 16)
    absent = tmp_path / "nonexistent" / "dir"
    empty = tmp_path / "empty"
    empty.mkdir()
    W = lessons.texts("sam_common", lang)
    expected = {str(a_file): W("folder_is_file", path=str(a_file)),
                str(absent): W("folder_absent", path=str(absent)),
                str(empty): W("weights_bad_folder").split("{")[0]}
    for typed, sentence in expected.items():
        at = run_page("sam", lang, state={"sam_folder": typed})
        assert not at.exception, [e.value for e in at.exception]
        warnings = [w.value for w in at.warning]
        if typed == str(empty):  # a real folder: what it lacks
            assert any(w.startswith(sentence) and "config.json" in w for w in warnings), warnings
        else:
            assert sentence in warnings, warnings
            assert not any(W("weights_bad_folder", missing=typed) == w for w in warnings)


def _box_heights(at, key: str) -> list[float]:
    import json

    chart = next(c for c in at.get("plotly_chart") if key in c.proto.id)
    shapes = json.loads(chart.proto.spec)["layout"]["shapes"]
    return [round(s["y1"] - s["y0"], 6) for s in shapes if s["type"] == "rect"]


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
@pytest.mark.parametrize("slug, prefix, sizes", [
    ("hrnet", "hr", [(128, 96), (256, 192)]),
    ("fcn", "fcn", [(96, 128), (192, 256)])])
def test_diagram_caption_says_what_the_boxes_show(lang, slug, prefix, sizes):
    """The caption says a box is taller for a map with more rows than another, and that the heights do not
    change with the input size: both are checked on the drawn figure."""
    W = lessons.texts("arch_common", lang)
    heights = []
    for h, w in sizes:
        at = run_page(slug, lang, state={f"{prefix}_h": h, f"{prefix}_w": w})
        assert not at.exception, [e.value for e in at.exception]
        assert W("diagram_caption", h=h, w=w) in [c.value for c in at.caption]
        heights.append(_box_heights(at, f"{slug}_diagram" if slug == "fcn" else "hr_diagram"))
    assert heights[0] == heights[1] and len(set(heights[0])) > 2


@pytest.mark.parametrize("name", ["fcn8s", "hrnet"])
def test_a_box_is_taller_the_more_rows_its_map_has(name):
    import torch

    from core import architectures as arch
    from core import models
    from core.figures.architectures import architecture_diagram
    from core.models.inspect import edges_of, graph_trace, stage_boxes

    net = models.build(name, arch.NUM_CLASSES).eval()
    graph, tr = graph_trace(net, torch.rand(1, 3, 128, 96))
    boxes = stage_boxes(graph, tr)
    fig = architecture_diagram(boxes, edges_of(graph, boxes), {}, (128, 96))
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    rows = [b.shape[-2] for b in boxes.values()]
    assert len(rects) == len(rows)
    pairs = sorted(zip(rows, [r.y1 - r.y0 for r in rects]))
    assert all(a[1] <= b[1] + 1e-9 for a, b in zip(pairs, pairs[1:]))  # more rows: never shorter
    assert max(h for r, h in pairs if r == 128) > max(h for r, h in pairs if r < 128)  # the input is the tallest


@pytest.mark.slow
@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_train_live_names_the_confusion_its_matrix_shows(lang):
    from core.metrics import largest_confusion

    T = lessons.texts("train_live", lang)
    at = run_page("train_live", lang, state={"tl_model": "fcn8s", "tl_size": 32, "tl_batch": 2, "tl_steps": 20})
    at.button(key="tl_start").click().run()
    run = at.session_state["tl_run"]
    snap = run.wait_for(lambda s: s.status == "finished", timeout=300)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    worst = largest_confusion(snap.last_val["confusion"])
    expected = (T("cm_largest", true=run.class_names[worst[0]], pred=run.class_names[worst[1]], share=100 * worst[2])
                if worst else T("cm_none"))
    assert expected in [c.value for c in at.caption]
    matrix_bullet = T.md("what_you_see").split("- **")[-1].lower()  # the lesson names no confusion in advance
    assert not [i for i in range(6) if T(f"class_{i}")[:5].lower() in matrix_bullet]


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_huge_values_are_said_as_an_overflow_not_nan(lang):
    n = 3
    at = run_page("transposed_convolution", lang, state={"tc_x": [[1e308] * n] * n})
    assert not at.exception, [e.value for e in at.exception]
    U = lessons.texts("common", lang)
    head = U("torch_overflow_agrees").split("{")[0]
    said = [s.value for s in at.success if s.value.startswith(head)]
    assert said and lessons.number(torch.finfo(torch.float64).max, ".3g", lang) in said[0]
    assert not any("nan" in e.value for e in at.error)


def test_max_abs_diff_never_says_nan():
    from app_pages.ui.common import max_abs_diff

    inf, nan = float("inf"), float("nan")
    assert max_abs_diff([1.0, inf, nan], [1.0, inf, nan]) == 0  # the same overflow in both: they agree
    assert max_abs_diff([1.0, inf], [1.5, inf]) == 0.5  # measured on the finite cells
    assert max_abs_diff([inf], [-inf]) == inf and max_abs_diff([nan], [2.0]) == inf  # one side only
    assert max_abs_diff([1e308], [-1e308]) == inf  # the gap itself passes the largest float
    assert max_abs_diff([[1.0]], [1.0]) == inf  # another shape
    assert max_abs_diff([], []) == 0


def _check_script():
    import torch

    from app_pages.ui import common

    ours = torch.tensor([1.0, float("inf"), 3.0], dtype=torch.float32)
    common.torch_check(ours, torch.tensor([1.0, 2.0, 3.0], dtype=torch.float32), what="F.op")


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_an_overflow_in_one_result_only_is_said_as_such(lang):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_check_script)
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception
    U = lessons.texts("common", lang)
    assert [e.value for e in at.error] == [U("torch_overflow_differs", op="F.op", n=1, total=3,
                                             limit=torch.finfo(torch.float32).max)]


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_pose_race_numbers_were_measured_at_the_pages_defaults(lang):
    from core.training import pose_race

    race = pose_race.DEFAULT
    assert pose_race.MEASURED["settings"] == {"steps": race.steps, "size": race.size, "sigma": race.sigma}
    at = run_page("pose_hrnet_vs_hourglass", lang)
    assert not at.exception, [e.value for e in at.exception]
    assert at.number_input(key="pv_steps").value == race.steps
    assert at.select_slider(key="pv_size").value == race.size
    T = lessons.texts("pose_hrnet_vs_hourglass", lang)
    numbers = pose_race.lesson_numbers()
    text = page_text(at)
    assert T.md("measured", **numbers) in text
    assert "1500" not in text
    measured = pose_race.MEASURED
    for budget in ("tiny", "small"):  # every error the paragraph states is one the race measured
        for kind in ("hrnet", "hourglass", "regression"):
            assert lessons.number(measured[budget][kind], ".1f", lang) in T.md("measured", **numbers)


@pytest.mark.parametrize("present", [False, True])
def test_hrnets_last_layer_label_is_as_large_as_the_others(present):
    """A long module name ("last_layer") is broken after its underscore rather than set in a smaller font than
    every other label of the HRNet diagram, on a laptop and on the projector."""
    import json

    at = run_page("hrnet", "en", state={"presentation": present})
    assert not at.exception, [e.value for e in at.exception]
    chart = next(c for c in at.get("plotly_chart") if "hr_diagram" in c.proto.id)
    fonts = {a["text"].split("<br>")[0]: a["font"]["size"]
             for a in json.loads(chart.proto.spec)["layout"]["annotations"] if a.get("text")}
    last = next(size for name, size in fonts.items() if name.startswith("<b>last_"))
    stages = [size for name, size in fonts.items() if name.startswith("<b>s") and "m" in name]
    assert stages and last >= max(stages), fonts
