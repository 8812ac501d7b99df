"""Romanian that reads like Romanian, in core/: numbers in text, figures and tables, plurals, typed answers,
and errors that carry a code the page words in its language."""
import numpy as np
import pandas as pd
import pytest
import torch

from core import device as devices
from core import lessons
from core.figures.common import format_number, grid_heatmap
from core.figures.localize import localize_figure
from core.lessons import (
    NBSP,
    article,
    fill,
    localize_frame,
    localize_numbers,
    number,
    plural,
)
from core.quiz import (
    Question,
    cell_text,
    is_correct,
    parse_number,
    read_cells,
    readings,
)

# --- numbers in text ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, ro", [
    ("rândul 0.25, coloana 0.75", "rândul 0,25, coloana 0,75"),
    ("x[0, 1] = 0.5", "x[0, 1] = 0,5"),  # an index keeps its list comma
    ("(2, 3) and (11, 4)", "(2, 3) and (11, 4)"),
    ("[-0.80, 0.54, 2.64]", "[-0,80; 0,54; 2,64]"),  # a list of decimals: semicolons between them
    ("104.0, 40.0", "104,0; 40,0"),  # a bare pair in a table cell, too
    ("23,060 px", f"23{NBSP}060 px"),  # English thousands become Romanian ones
    ("1.5e-05", "1,5e-05"),
    ("−0.5 and 91.0%", "−0,5 and 91,0%"),
    ("<b>0.0625</b>", "<b>0,0625</b>"),
    ("SAM 2.1 Hiera tiny", "SAM 2.1 Hiera tiny"),  # names and versions are not numbers
    ("transformers 4.57.1, layer1.0.conv, apache-2.0", "transformers 4.57.1, layer1.0.conv, apache-2.0"),
    ("`F.interpolate(x, scale_factor=2.0)` gives 2.5", "`F.interpolate(x, scale_factor=2.0)` gives 2,5"),
    (r"$$ 0.1875 \cdot 1 = 2.25 $$", r"$$ 0{,}1875 \cdot 1 = 2{,}25 $$"),  # KaTeX needs {,}
])
def test_numbers_in_text_are_written_the_romanian_way(text, ro):
    assert localize_numbers(text, "ro") == ro
    assert localize_numbers(text, "en") == text


def test_number_and_templates():
    assert number(0.7834, ".3f", "ro") == "0,783" and number(0.7834, ".3f", "en") == "0.783"
    assert number(23060, ",", "ro") == f"23{NBSP}060" and number(23060, ",", "en") == "23,060"
    # a field between $ signs is maths; a string value carrying numbers is localised like a number
    assert fill("$x = {v}$ and {v}, {w}", "ro", v=0.25, w=format_number(1.25)) == "$x = 0{,}25$ and 0,25, 1,25"
    # a whole float prints as the student writes it, without float noise
    assert fill("{a} {b}", "en", a=51300.0, b=0.1 + 0.2) == "51300 0.3"
    T = lessons.texts("common", "ro")
    assert T("device_memory", name="GPU", free=1.5, total=8) == "GPU: 1,5 GiB liberi din 8,0 GiB"


@pytest.mark.parametrize("n, en, ro", [
    (0, "pairs", "perechi"), (1, "pair", "pereche"), (2, "pairs", "perechi"), (19, "pairs", "perechi"),
    (20, "pairs", "de perechi"), (101, "pairs", "perechi"), (120, "pairs", "de perechi"), (1.5, "pairs", "perechi"),
])
def test_plural_forms(n, en, ro):
    assert plural(n, ["pair", "pairs"], "en") == en
    assert plural(n, ["pereche", "perechi", "de perechi"], "ro") == ro
    assert fill("{n} {n:plural:pair|pairs}", "en", n=n) == f"{format(n, 'g')} {en}"


@pytest.mark.parametrize("n, word", [(8, "an"), (11, "an"), (18, "an"), (80, "an"), (800, "an"), (11000, "an"),
                                     (1, "a"), (16, "a"), (110, "a"), (1100, "a"), (224, "a")])
def test_english_article_before_a_number(n, word):
    assert article(n) == word
    assert fill("{n:A} {n} × {n} input", "en", n=n) == f"{word.capitalize()} {n} × {n} input"


def test_the_lessons_say_one_pair_and_an_8x8():
    en, ro = lessons.texts("cv_tasks", "en").quiz("semantic_regions"), lessons.texts("cv_tasks", "ro").quiz("semantic_regions")
    assert "1 pair of neighbours touches" in fill(en["prompt"], "en", n=3, t=1)
    assert "2 pairs of neighbours touch" in fill(en["prompt"], "en", n=3, t=2)
    assert "1 pereche de vecini se atinge" in fill(ro["prompt"], "ro", n=3, t=1)
    assert lessons.texts("transposed_convolution", "en")("size_summary", n=8, o=17, ratio="2.125").startswith("An 8 × 8")
    assert "1 cell wide" in lessons.texts("bilinear", "en")("kernel_compare", m=1, inner="0", border="1")
    words = lessons.texts("transposed_convolution", "ro")("zero_recipe", zeros=1, q=1, dk=2, p=1, op=0)
    assert "1** zero între" in words and "1** celulă de padding" in words


# --- typed answers -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("typed, value", [
    ("23 060", 23060), (f"23{NBSP}060", 23060), ("1,39", 1.39), ("1.39", 1.39), ("1,234.5", 1234.5),
    ("1.234,5", 1234.5), ("−0,5", -0.5), ("3/4", 0.75), ("1,5e-3", 0.0015), (" 12 ", 12),
])
def test_typed_numbers_read_the_same_in_both_languages(typed, value):
    for lang in lessons.LANGUAGES:
        assert parse_number(typed, lang) == pytest.approx(value)


def test_an_ambiguous_answer_is_read_as_the_language_writes_it_and_marked_either_way():
    assert parse_number("23,060", "en") == 23060 and parse_number("23,060", "ro") == pytest.approx(23.06)
    assert parse_number("23.060", "ro") == 23060 and parse_number("23.060", "en") == pytest.approx(23.06)
    assert sorted(readings("1,500")) == [1.5, 1500.0]
    for typed in ("23 060", "23,060", "23.060", "23060"):
        assert is_correct(Question("q", answer=23060.0), typed), typed
    for typed in ("1,39", "1.39"):
        assert is_correct(Question("q", answer=1.39), typed)
    assert not is_correct(Question("q", answer=1.39), "1,4")
    for typed in ("abc", "1.2.3", "1,23,4", ""):
        assert parse_number(typed) is None and not is_correct(Question("q", answer=1.0), typed)


# --- figures and tables ----------------------------------------------------------------------------------------

def test_a_figure_in_romanian_has_decimal_commas_and_the_original_is_kept():
    fig = grid_heatmap([[0.25, 1.0], [2.5, -0.125]], "x[0, 1] = 0.25")
    fig.add_annotation(x=0, y=0, text="PSNR 21.2 dB", showarrow=False)
    fig.update_xaxes(ticktext=["0.5", "1.5"])
    ro = localize_figure(fig, "ro")
    assert ro.layout.separators == "," + NBSP  # axes and hover numbers that plotly formats itself
    assert [list(r) for r in ro.data[0].text] == [["0,25", "1"], ["2,5", "-0,12"]]
    notes = {a.name: a.text for a in ro.layout.annotations}  # the grid's title is an annotation above it
    assert notes["title"] == "<b>x[0, 1] = 0,25</b>"
    assert "PSNR 21,2 dB" in notes.values()
    assert list(ro.layout.xaxis.ticktext) == ["0,5", "1,5"]
    original = {a.name: a.text for a in fig.layout.annotations}
    assert original["title"] == "<b>x[0, 1] = 0.25</b>" and fig.layout.separators is None  # a copy was changed
    assert localize_figure(fig, "en") is fig


def test_a_table_in_romanian_has_decimal_commas():
    import streamlit as st  # the configuration is what the page hands to st.dataframe; core builds none

    frame = pd.DataFrame({"GFLOPs": [0.453, 38.655], "pair": ["104.0, 40.0", "x"], "n": [1, 2]})
    config = {"GFLOPs": st.column_config.NumberColumn("GFLOPs", format="%.2f", help="h")}
    ro, ro_config = localize_frame(frame, "ro", config)
    assert ro["GFLOPs"].tolist() == ["0,45", "38,66"] and ro["pair"].tolist() == ["104,0; 40,0", "x"]
    assert ro["n"].tolist() == [1, 2]
    assert ro_config["GFLOPs"]["type_config"] == {"type": "text"} and ro_config["GFLOPs"]["help"] == "h"
    assert frame["GFLOPs"].dtype == np.float64  # the page's own frame is not changed
    assert localize_frame(frame, "en", config) == (frame, config)


# --- facts, not words, from core --------------------------------------------------------------------------------

def test_the_device_is_described_by_facts_the_page_words():
    info = devices.describe(torch.device("cpu"))
    assert info.name == "CPU" and info.threads == torch.get_num_threads()
    for lang, word in (("en", "thread"), ("ro", "fir de execuție")):
        T = lessons.texts("common", lang)
        assert word in T("device_threads", threads=1) and "threads" not in T("device_threads", threads=1)
    assert lessons.texts("common", "ro")("device_threads", threads=2).endswith("2 fire de execuție")


def test_scribble_errors_carry_a_code_each_language_words():
    from core.training import scribbles

    image = np.zeros((16, 16, 3), np.uint8)
    cases = [(np.full((16, 16), scribbles.IGNORE_INDEX), "nothing_painted"),
             (np.where(np.eye(16, dtype=bool), 0, scribbles.IGNORE_INDEX), "one_class")]
    for labels, code in cases:
        with pytest.raises(scribbles.ScribbleError) as err:
            next(scribbles.fit(image, labels.astype(np.int64), 2, steps=1))
        assert err.value.code == code and str(err.value).endswith(".")
        for lang in lessons.LANGUAGES:
            assert lessons.texts("scribbles", lang)(f"err_{code}", **err.value.params)
    assert "Nothing is painted" not in lessons.texts("scribbles", "ro")("err_nothing_painted")


def test_every_video_error_has_words_in_both_languages():
    from core.promptable import video

    with pytest.raises(video.VideoError) as err:
        video.read_video(b"")
    assert err.value.code == "empty"
    for code in video.VideoError.MESSAGES:
        for lang in lessons.LANGUAGES:
            assert lessons.texts("sam2_video", lang).has(f"video_{code}"), (lang, code)
    assert lessons.texts("sam2_video", "en")("video_empty") == video.VideoError.MESSAGES["empty"]


def test_grid_cells_are_edited_with_the_language_decimal_mark_and_a_typo_loses_nothing():
    base = [[2.0, 0.1, -1.0], [0.123456789, 2.5, 0.0]]
    shown = [[cell_text(v, "ro") for v in row] for row in base]
    assert shown == [["2", "0,1", "-1"], ["0,123457", "2,5", "0"]]
    assert [[cell_text(v, "en") for v in row] for row in base][1] == ["0.123457", "2.5", "0"]
    # untouched cells keep their exact value (not the six digits shown); both marks are read in Romanian
    typed = [["2", "0.25", "-1"], ["0,123457", "3,75", "0"]]
    assert read_cells(typed, shown, base, "ro") == ([[2.0, 0.25, -1.0], [0.123456789, 3.75, 0.0]], 0, 0)
    values, empty, unreadable = read_cells([["", "abc", "-1"], ["0,123457", "1/4", None]], shown, base, "ro")
    assert (empty, unreadable) == (2, 1)
    assert np.isnan(values[0][0]) and np.isnan(values[1][2])  # emptied: the page counts them as 0 and says so
    assert values[0][1] == 0.1 and values[1][1] == 0.25  # the typo keeps the cell's last value
