"""Drawing boxes that read on any picture, and scores printed as a probability is: in [0, 1], never −0."""
import math

import numpy as np
import pytest

from core import lessons
from core.figures.sam import shown_score
from core.promptable import draw
from core.promptable.segment import Box


@pytest.mark.parametrize(("raw", "digits", "shown"), [
    (-0.0012, 3, 0.0), (-0.0, 2, 0.0), (1.31, 3, 1.0), (0.78349, 3, 0.783), (0.004, 2, 0.0), (0.5, 2, 0.5)])
def test_a_score_is_clipped_to_zero_one_and_has_no_negative_zero(raw, digits, shown):
    v = shown_score(raw, digits)
    assert v == shown and math.copysign(1.0, v) == 1.0
    assert "-" not in lessons.number(v, f".{digits}f", "ro") and "−" not in lessons.number(v, f".{digits}f", "ro")


def test_a_score_of_nothing_stays_nothing():
    assert math.isnan(shown_score(float("nan")))


def test_romanian_writes_the_clipped_score_with_a_comma():
    assert lessons.number(shown_score(-0.0007, 2), ".2f", "ro") == "0,00"
    assert lessons.number(shown_score(-0.0007, 2), ".2f", "en") == "0.00"


def _contrast(a, b) -> float:
    def lum(c):
        lin = [(v / 255) / 12.92 if v <= 10 else ((v / 255 + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("k", range(len(draw.PALETTE)))
def test_tag_text_contrasts_with_every_palette_colour(k):
    c = draw.color(k)
    other = (255, 255, 255) if draw.text_colour(c) == (0, 0, 0) else (0, 0, 0)
    assert _contrast(c, draw.text_colour(c)) >= _contrast(c, other)
    assert _contrast(c, draw.text_colour(c)) >= 4.5  # WCAG's threshold for normal text


def test_tags_of_boxes_that_share_a_corner_do_not_cover_each_other():
    image = np.full((300, 400, 3), 90, np.uint8)
    boxes = [Box(40, 60, 250, 280), Box(44, 64, 200, 250), Box(0, 0, 399, 120)]
    colours = [draw.color(i) for i in (0, 1, 7)]
    labels = ["horse 0.41", "horse 0.30", "sky 0.38"]
    out = draw.draw_boxes(image, boxes, labels, colours)

    def filled(picture, c):
        return int(np.all(picture == np.array(c, np.uint8), axis=-1).sum())

    size = draw.label_size(image.shape)
    for box, label, c in zip(boxes, labels, colours):  # every tag keeps the area it has when drawn alone
        alone = filled(draw.draw_boxes(image, [box], [label], [c]), c)
        assert alone > 3 * size * size  # a whole tag, not only a 2-px outline
        assert filled(out, c) >= 0.9 * alone  # (other boxes' edges may cross its outline: a few pixels)
    assert draw.label_size((1024, 768, 3)) > draw.label_size((300, 400, 3)) >= 14


def test_the_sam_cost_chart_ticks_its_log_axes_at_one_two_five_times_ten_to_the_n():
    """SAM ViT-B's published sizes (89.7 M against 4.06 M parameters, 972 against 3.62 GFLOPs): both panels are
    log axes whose ticks a student reads without a calculator, and which reach past both bars."""
    from core.figures.sam import cost_bars
    from core.promptable.anatomy import Anatomy

    vit_b = Anatomy(family="sam", blocks=[], params={"image_encoder": 89_670_912, "prompt_encoder": 6_220,
                                                     "mask_decoder": 4_058_340},
                    flops={"image_encoder": 972 * 10**9, "prompt_and_decoder": 3_620_000_000},
                    input_shape=(1, 3, 1024, 1024), embedding_shapes=((1, 256, 64, 64),),
                    masks_shape=(1, 1, 3, 256, 256), iou_shape=(1, 1, 3), embedding=None)
    labels = {"image_encoder": "Image encoder", "prompt_and_decoder": "Prompt encoder + mask decoder",
              "params_title": "Parameters (millions)", "flops_title": "Work per run (GFLOPs)"}
    fig = cost_bars(vit_b, labels)
    for axis, values in ((fig.layout.xaxis, (89.67, 4.06)), (fig.layout.xaxis2, (972.0, 3.62))):
        assert axis.type == "log"
        ticks = list(axis.tickvals)
        assert 2 <= len(ticks) <= 8
        for t in ticks:
            mantissa = t / 10 ** math.floor(math.log10(t) + 1e-9)
            assert min(abs(mantissa - m) for m in (1, 2, 5)) < 1e-6, ticks
        low, high = axis.range
        assert 10**low <= min(values) and max(values) <= 10**high
