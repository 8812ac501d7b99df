"""The train-live page: start, step, stop, see curves and predictions; compare two runs."""
import pytest

from core import lessons
from tests.conftest import page_text, run_page

SMALL = {"tl_model": "fcn8s", "tl_size": 32, "tl_batch": 2, "tl_steps": 20}


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
@pytest.mark.slow
def test_a_run_trains_in_the_background_and_shows_its_results(lang):
    T = lessons.texts("train_live", lang)
    at = run_page("train_live", lang, state=SMALL)
    assert T("press_start") in page_text(at)
    at.button(key="tl_start").click().run()
    run = at.session_state["tl_run"]
    snap = run.wait_for(lambda s: s.status == "finished", timeout=120)
    assert snap.status == "finished" and len(snap.steps) == 20
    at.run()
    assert not at.exception
    text = page_text(at)
    assert T("val_title", step=20) in text
    assert [m.value for m in at.metric][1] == "20 / 20"
    assert len(at.get("image")) == 4 * 3  # four validation images, each beside its truth and its prediction


def test_pause_step_and_stop_from_the_page():
    at = run_page("train_live", "en", state={**SMALL, "tl_steps": 2000})
    at.button(key="tl_start").click().run()
    run = at.session_state["tl_run"]
    run.wait_for(lambda s: len(s.steps) >= 2)
    at.run()
    at.button(key="tl_pause").click().run()
    n = len(run.wait_for(lambda s: s.status == "paused").steps)
    at.button(key="tl_step").click().run()
    assert len(run.wait_for(lambda s: len(s.steps) > n and s.status == "paused").steps) == n + 1
    at.button(key="tl_stop").click().run()
    assert run.done and run.snapshot().status == "stopped"
    assert not at.exception


def test_the_page_shows_one_more_step_for_each_one_step_click():
    at = run_page("train_live", "en", state={**SMALL, "tl_steps": 2000})
    at.button(key="tl_start").click().run()
    run = at.session_state["tl_run"]
    run.wait_for(lambda s: len(s.steps) >= 2)
    at.run()
    at.button(key="tl_pause").click().run()  # no waiting here: the page drawn after the click is the paused state
    n = len(run.snapshot().steps)
    assert [m.value for m in at.metric][1] == f"{n} / 2000"
    for k in (1, 2, 3):
        at.button(key="tl_step").click().run()
        assert [m.value for m in at.metric][1] == f"{n + k} / 2000"
        assert len(run.snapshot().steps) == n + k
    at.button(key="tl_stop").click().run()
    assert not at.exception


@pytest.mark.slow
def test_two_runs_are_compared_and_kept():
    at = run_page("train_live", "en", state=SMALL)
    for _ in range(2):
        at.button(key="tl_start").click().run()
        at.session_state["tl_run"].wait_for(lambda s: s.status == "finished", timeout=120)
    at.run()
    assert not at.exception
    assert "Compare runs" in page_text(at)
    at.button(key="tl_keep").click().run()
    assert list(at.session_state["trained_models"]) == [at.session_state["tl_run"].name]


@pytest.mark.slow
def test_a_folder_of_pairs_trains_and_a_bad_folder_is_explained(tmp_path):
    import numpy as np
    from PIL import Image

    for d in ("images", "masks"):
        (tmp_path / d).mkdir()
    for i in range(5):
        Image.fromarray(np.full((40, 40, 3), 40 * i, np.uint8)).save(tmp_path / "images" / f"p{i}.png")
        m = np.zeros((40, 40), np.uint8)
        m[20:] = 1
        Image.fromarray(m).save(tmp_path / "masks" / f"p{i}.png")
    at = run_page("train_live", "en", state={**SMALL, "tl_data": "folder", "tl_folder": str(tmp_path / "nope")})
    at.button(key="tl_start").click().run()
    assert not at.exception and "tl_run" not in at.session_state
    assert any("images/ and masks/" in e.value for e in at.error)
    at.text_input(key="tl_folder").input(str(tmp_path)).run()
    at.button(key="tl_start").click().run()
    run = at.session_state["tl_run"]
    assert run.class_names == ["class 0", "class 1"]
    assert run.wait_for(lambda s: s.status == "finished", timeout=120).status == "finished"
    at.run()
    assert not at.exception
