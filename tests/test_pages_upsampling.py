"""The upsampling pages (nearest/bed of nails, bilinear, max unpooling, compare all) with non-default
widget values, in both languages: the arithmetic they show, torch's agreement, the quiz marking."""
import random
import re

import pytest
import torch

from core import lessons
from core.figures.common import format_number
from core.ops.compare import compare_upsampling, synthetic_image
from core.ops.pooling import index_memory
from core.ops.resample import (
    bilinear_questions,
    bilinear_step,
    coordinate_formula,
    nearest_questions,
)
from tests import steps
from tests.conftest import page_text, run_page

LANGS = lessons.LANGUAGES


def _deltas(at) -> list[float]:
    """The max |Δ| numbers the page shows beside torch's results."""
    text = "\n".join(str(s.value) for s in list(at.success) + list(at.error))
    found = re.findall(r"max \|Δ\| = ([0-9.,e+-]+)", text)
    return [float(v.rstrip(".,").replace(",", ".")) for v in found]  # Romanian writes 1,2e-07


def _ok(at, n_checks: int) -> str:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    deltas = _deltas(at)
    assert len(deltas) == n_checks and max(deltas) <= 1e-5, deltas
    return page_text(at)


@pytest.mark.parametrize("lang", LANGS)
def test_nearest_and_bed_of_nails_scale_3_edited_grid(lang):
    T = lessons.texts("nearest_bed_of_nails", lang)
    grid = [[5.0, 6.0, 7.0], [8.0, 9.0, -1.0]]
    # step 22 of a 6×9 output is cell (2, 4): nearest reads input (0, 1) = 6, not a nail (2 mod 3 ≠ 0)
    at = run_page("nearest_bed_of_nails", lang, {"nb_scale": 3, "nb_rows": 2, "nb_cols": 3, "nb_grid": grid,
                                                 "nb_step": 22})
    _ok(at, 2)
    text = steps.caption(at, "nb_step")  # the sentence under the step-through's figures
    assert T("nearest_step", i=2, j=4, s=3, si=0, sj=1, v="6").replace("**", "") in text
    assert T("nails_step_hole", i=2, j=4, s=3, ri=2, rj=1).replace("**", "") in text
    at = run_page("nearest_bed_of_nails", lang, {"nb_scale": 3, "nb_rows": 2, "nb_cols": 3, "nb_grid": grid,
                                                 "nb_step": 9 * 3 + 6})  # cell (3, 6): a nail, input (1, 2)
    _ok(at, 2)
    assert T("nails_step_hit", i=3, j=6, s=3, si=1, sj=2, v="-1").replace("**", "") in steps.caption(at, "nb_step")


@pytest.mark.parametrize("lang", LANGS)
def test_nearest_quiz_marks_answers(lang):
    seed = 4242
    questions = nearest_questions(random.Random(seed))
    at = run_page("nearest_bed_of_nails", lang, {"nb_quiz__seed": seed})
    at.text_input(key=f"nb_quiz__a0_{seed}").input(format_number(questions[0].answer)).run()
    at.text_input(key=f"nb_quiz__a2_{seed}").input("-1").run()
    common = lessons.texts("common", lang)
    assert [s.value for s in at.success].count(common("quiz_right")) == 1
    assert common("quiz_wrong") in [e.value for e in at.error]


@pytest.mark.parametrize("lang", LANGS)
def test_bilinear_align_corners_on_other_sizes(lang):
    T = lessons.texts("bilinear", lang)
    grid = [[0.0, 10.0, 20.0], [30.0, 40.0, 50.0]]
    # output 5×4, pixel (2, 1): rows u = 2·1/4 = 0.5, columns u = 1·2/3
    at = run_page("bilinear", lang, {"bl_ac": True, "bl_rows": 2, "bl_cols": 3, "bl_out_rows": 5,
                                     "bl_out_cols": 4, "bl_grid": grid, "bl_step": 2 * 4 + 1, "bl_kscale": 3})
    text = _ok(at, 2)
    assert T("coord_row", i=2, text=coordinate_formula(2, 2, 5, True)) in text
    assert T("coord_col", j=1, text=coordinate_formula(1, 3, 4, True)) in text
    step = bilinear_step(torch.tensor(grid), (5, 4), (2, 1), align_corners=True)
    latex = "\n".join(str(x.value) for x in at.latex)
    tex = lambda v: lessons.localize_numbers(format_number(v, 4), lang, math=True)  # noqa: E731 (0{,}25 in Romanian)
    assert tex(step.result) in latex and f"= {tex(step.weights[0])}" in latex
    assert at.selectbox(key="bl_row").value == 2 and at.selectbox(key="bl_col").value == 1
    assert T("kernel_caption", k=5, s=3, p=1) in text


@pytest.mark.parametrize("lang", LANGS)
def test_bilinear_selectors_pick_a_pixel_and_border_note(lang):
    T = lessons.texts("bilinear", lang)
    at = run_page("bilinear", lang)
    at.selectbox(key="bl_row").select(3).run()
    at.selectbox(key="bl_col").select(0).run()
    assert at.session_state["bl_step"] == 3 * 4 + 0
    text = _ok(at, 2)
    assert T("sum_line", i=3, j=0) in text
    # last row: the neighbour below is the border pixel itself (said under the step-through's figures)
    assert T("border_note").replace("**", "") in steps.caption(at, "bl_step")


def test_bilinear_quiz_solution_numbers():
    seed = 7
    q = bilinear_questions(random.Random(seed))[2]
    at = run_page("bilinear", "en", {"bl_quiz__seed": seed})
    at.text_input(key=f"bl_quiz__a2_{seed}").input(str(q.answer)).run()
    assert lessons.texts("common", "en")("quiz_right") in [s.value for s in at.success]


@pytest.mark.parametrize("lang", LANGS)
def test_max_unpooling_edited_rest_of_network(lang):
    T = lessons.texts("max_unpooling", lang)
    # step 5 routes the second value (0, 1) of the rest of the network to the remembered position 2
    at = run_page("max_unpooling", lang, {"mu_rest": [[9.0, -3.0], [0.5, 7.0]], "mu_step": 5,
                                          "mu_h": 224, "mu_w": 320})
    text = _ok(at, 2)
    info = steps.caption(at, "mu_step")
    assert T("route_step", i=0, j=1, v="-3", idx=2, r=0, c=2).replace("**", "") in info
    rows = index_memory(224, 320)
    mib = 2.0 ** 20
    total_f = sum(r.feature_bytes for r in rows) / mib
    total_b = sum(r.index_bytes_2bit for r in rows) / mib
    assert lessons.localize_numbers(f"{total_f:.1f}", lang) in text and lessons.localize_numbers(f"{total_b:.2f}", lang) in text
    table = at.dataframe[-1].value  # the data editors come first
    assert len(table) == 5 and table.iloc[0, 1] == "64 × 224 × 320"


@pytest.mark.parametrize("lang", LANGS)
def test_max_unpooling_ties_are_explained(lang):
    T = lessons.texts("max_unpooling", lang)
    grid = [[4.0, 4.0, 1.0, 0.0], [4.0, 1.0, 2.0, 3.0], [0.0, 0.0, 5.0, 5.0], [0.0, 0.0, 5.0, 5.0]]
    at = run_page("max_unpooling", lang, {"mu_grid": grid, "mu_step": 1})
    _ok(at, 2)
    assert T("ties", windows="(0, 0), (1, 0), (1, 1)") in [w.value for w in at.warning]
    info = steps.caption(at, "mu_step")
    assert T("pool_step", wi=0, wj=1, r0=0, r1=1, c0=2, c1=3, values="1, 0, 2, 3", m="3", r=1, c=3,
             idx=7).replace("**", "") in info


@pytest.mark.parametrize("lang", LANGS)
def test_compare_all_blobs_scale_3_max_pooling(lang):
    T = lessons.texts("compare_upsampling", lang)
    at = run_page("compare_upsampling", lang, {"cu_pattern": "blobs", "cu_scale": 3, "cu_down": "max"})
    text = _ok(at, 1)
    expected = compare_upsampling(synthetic_image("blobs"), 3, "max")
    table = at.dataframe[-1].value  # the data editors come first
    assert list(table.iloc[:, 0]) == [T(f"method_{r.method}") for r in expected.results]
    if lang == "en":
        assert table["PSNR (dB) ↑"].round(6).tolist() == [round(r.psnr, 6) for r in expected.results]
    else:  # Romanian tables are text written with a decimal comma, at the column's precision
        assert table["PSNR (dB) ↑"].tolist() == [lessons.number(r.psnr, ".2f", lang) for r in expected.results]
    best = max(expected.results, key=lambda r: r.psnr).method
    assert T("best", psnr=T(f"method_{best}"), mae=T(f"method_{expected.best()}")) in text
    # the address keeps the language-free keys, so a shared link works in either language
    assert at.query_params["cu_pattern"] == "blobs" and at.query_params["cu_down"] == "max"


# --- in a real browser: a click on the output grid picks the pixel ----------------------------------------

@pytest.mark.browser
@pytest.mark.parametrize("lang", LANGS)
def test_bilinear_click_picks_another_pixel(app_server, browser_page, lang):
    from tests.conftest import page_url, screenshot, wait_for_app

    T = lessons.texts("bilinear", lang)
    page = browser_page
    page.goto(page_url(app_server, "bilinear", lang))
    wait_for_app(page)
    first = T("sum_line", i=1, j=2).replace("**", "")
    page.wait_for_function("t => document.body.innerText.includes(t)", arg=first, timeout=30_000)
    weights_before = page.locator(".katex").nth(0).inner_text()

    chart = ".st-key-bl_step_player .ss-steps-fig[data-panel='2']"  # the output grid of the step-through
    page.locator(chart).scroll_into_view_if_needed()
    page.wait_for_function("s => { const g = document.querySelector(s); return g && g._fullLayout; }", arg=chart)
    x, y = page.evaluate("""([sel, r, c]) => {
        const gd = document.querySelector(sel), L = gd._fullLayout, box = gd.getBoundingClientRect();
        return [box.left + L.xaxis._offset + L.xaxis.l2p(c), box.top + L.yaxis._offset + L.yaxis.l2p(r)];
    }""", [chart, 3, 0])
    page.mouse.click(x, y)

    picked = T("sum_line", i=3, j=0).replace("**", "")
    page.wait_for_function("t => document.body.innerText.includes(t)", arg=picked, timeout=30_000)
    wait_for_app(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    weights_after = page.locator(".katex").nth(0).inner_text()
    assert weights_after != weights_before
    step = bilinear_step(torch.tensor([[1.0, 2.0], [3.0, 4.0]]), (4, 4), (3, 0))
    assert lessons.localize_numbers(format_number(step.weights[0], 4), lang) in weights_after  # 0.75: three quarters of the border pixel
    screenshot(page, f"bilinear-click-{lang}")
