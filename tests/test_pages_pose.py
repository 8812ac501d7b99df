"""The pose pages with non-default settings, in both languages: heatmaps, live training, the race."""
import json

import pytest
from streamlit.testing.v1 import AppTest

from core import lessons
from tests.conftest import ROOT, page_text, run_page

POINTS = [[40.0, 50.3], [100.2, 20.7]]


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_heatmaps_page_with_placed_points(lang):
    T = lessons.texts("pose_heatmaps", lang)
    at = run_page("pose_heatmaps", lang, state={"ph_canvas": "street", "ph_stride": 8, "ph_sigma": 1.5,
                                                "ph_points": POINTS, "ph_dx": -10, "ph_noise": 0.05})
    assert not at.exception, [e.value for e in at.exception]
    table = at.table[0].value
    expected = [lessons.localize_numbers(t, lang) for t in ("40.0, 50.3", "100.2, 20.7")]  # 40,0; 50,3 in Romanian
    assert len(table) == 2 and list(table[T("col_true")]) == expected

    def worst(col):  # a Romanian table holds its numbers as text with a decimal comma
        return max(float(str(v).replace(",", ".")) for v in table[T(col)])

    assert worst("col_err_subpixel") < 0.1 < worst("col_err_argmax")  # stride 8: argmax is coarse
    text = page_text(at)
    assert T.md("quantisation")[:40] in text and T.md("why")[:40] in text
    assert "max |Δ| = 0" in text  # the MSE agrees with torch's
    assert json.loads(at.query_params["ph_pts"]) == POINTS  # a shared link keeps the points


def test_heatmaps_page_buttons_and_links():
    T = lessons.texts("pose_heatmaps", "en")
    at = run_page("pose_heatmaps", "en")
    assert len(at.table[0].value) == 14  # the stick figure's joints are placed to begin with
    at.button(key="ph_clear").click().run()
    assert not at.exception and T("no_points") in page_text(at)
    at.button(key="ph_joints").click().run()
    assert len(at.table[0].value) == 14
    at.button(key="ph_undo").click().run()
    assert len(at.table[0].value) == 13


def test_heatmaps_page_reads_points_from_the_address():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update({"ph_pts": json.dumps(POINTS), "ph_canvas": "street"})
    at.switch_page("app_pages/pose_heatmaps.py")
    at.run()
    assert not at.exception
    assert len(at.table[0].value) == 2
    bad = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    bad.query_params["ph_pts"] = "[[1, 2"  # a broken link: the page falls back to the figure's joints
    bad.switch_page("app_pages/pose_heatmaps.py")
    bad.run()
    assert not bad.exception and len(bad.table[0].value) == 14


SMALL = {"pt_size": 48, "pt_batch": 4, "pt_steps": 20}


@pytest.mark.parametrize("lang,kind", [("en", "hourglass"), ("ro", "hrnet")])
@pytest.mark.slow
def test_pose_training_runs_to_the_end(lang, kind):
    T = lessons.texts("pose_train", lang)
    at = run_page("pose_train", lang, state={**SMALL, "pt_model": kind, "pt_sigma": 3.0})
    assert T("press_start") in page_text(at)
    at.button(key="pt_start").click().run()
    run = at.session_state["pt_run"]
    snap = run.wait_for(lambda s: s.status == "finished", timeout=300)  # a bound for a loaded machine, not a timing
    assert snap.status == "finished" and len(snap.steps) == 20
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert T("val_title", step=20) in page_text(at)
    assert [m.value for m in at.metric][1] == "20 / 20"
    assert snap.last_val["pred"].shape == (16, 14, 12, 12)  # 48 px at stride 4


def test_direct_regression_has_no_heatmaps_to_show():
    T = lessons.texts("pose_train", "en")
    at = run_page("pose_train", "en", state={**SMALL, "pt_model": "regression"})
    at.button(key="pt_start").click().run()
    at.session_state["pt_run"].wait_for(lambda s: s.status == "finished", timeout=120)
    at.run()
    assert not at.exception and T("no_heatmaps") in page_text(at)


@pytest.mark.parametrize("lang,regression", [("en", True), ("ro", False)])
@pytest.mark.slow
def test_the_race_compares_the_contenders(lang, regression):
    T = lessons.texts("pose_hrnet_vs_hourglass", lang)
    at = run_page("pose_hrnet_vs_hourglass", lang,
                  state={"pv_size": 48, "pv_steps": 20, "pv_regression": regression, "pv_budget": "tiny"})
    assert len(at.table[0].value) == 3 and T("press_start") in page_text(at)
    at.button(key="pv_start").click().run()
    run = at.session_state["pv_run"]
    snap = run.wait_for(lambda s: s.status == "finished", timeout=300)  # a bound for a loaded machine, not a timing
    kinds = {"hrnet", "hourglass"} | ({"regression"} if regression else set())
    assert {s["model"] for s in snap.steps} == kinds and len(snap.steps) == 20 * len(kinds)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    text = page_text(at)
    assert T("pred_title") in text and T("final_error") not in text  # bar titles live in the figures
    assert any(T("winner", model="", err=0, step=20)[:20] in s.value for s in at.success)
