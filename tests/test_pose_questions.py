"""The "check yourself" questions of the three pose pages: answers come from the pose modules, the texts exist
in both languages, and each page shows its quiz without an exception."""
import math
import random

import pytest

from core import lessons
from core import pose_questions as pq
from core.quiz import is_correct
from tests.conftest import run_page

pytestmark = pytest.mark.usefixtures("one_thread")
PAGES = {"pose_heatmaps": pq.heatmap_questions, "pose_train": pq.training_questions,
         "pose_hrnet_vs_hourglass": pq.contender_questions}


@pytest.mark.parametrize("seed", range(6))
def test_heatmap_answers_follow_the_heatmap_rules(seed):
    q_size, q_value, q_argmax = pq.heatmap_questions(random.Random(seed))
    assert q_size.answer == math.ceil(q_size.params["side"] / q_size.params["s"])
    sigma, d = q_value.params["sigma"], q_value.params["d"]
    assert is_correct(q_value, f"{math.exp(-d * d / (2 * sigma * sigma)):.3f}")
    x, s = q_argmax.params["x"], q_argmax.params["s"]
    assert q_argmax.answer == round(x / s) * s and abs(q_argmax.answer - x) < s / 2


@pytest.mark.parametrize("seed", range(6))
def test_training_answers_are_pck_and_mean_error_of_the_stated_errors(seed):
    q_pck, q_mean = pq.training_questions(random.Random(seed))
    errors = [int(e) for e in q_pck.params["errors"].split(", ")]
    limit = q_pck.params["alpha"] * q_pck.params["size"]
    assert is_correct(q_pck, str(100 * sum(e <= limit for e in errors) / len(errors)))
    assert is_correct(q_mean, str(sum(errors) / len(errors)))
    assert not is_correct(q_mean, str(sum(errors) / len(errors) + 1))


@pytest.mark.parametrize("seed", range(3))
def test_contender_answers_are_what_the_networks_output(seed):
    q_heat, q_coord, q_bottom = pq.contender_questions(random.Random(seed))
    side, k, stride = q_heat.params["side"], q_heat.params["k"], q_heat.params["stride"]
    assert q_heat.answer == k * math.ceil(side / stride) ** 2
    assert q_coord.answer == 2 * q_coord.params["k"]
    assert q_bottom.answer == q_bottom.params["side"] // q_bottom.params["stride"] // 2 ** q_bottom.params["depth"]


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
@pytest.mark.parametrize("slug", PAGES)
def test_pose_pages_show_their_quiz(lang, slug):
    T = lessons.texts(slug, lang)
    common = lessons.texts("common", lang)
    questions = PAGES[slug](random.Random(0))
    for q in questions:  # every question's words exist and fill in
        words = T.quiz(q.key)
        words["prompt"].format(**q.params)
        words["solution"].format(answer=q.answer, **q.params)
    at = run_page(slug, lang)
    assert not at.exception, [e.value for e in at.exception]
    assert common("quiz_title") in [s.value for s in at.subheader]
    seed = at.session_state[{"pose_heatmaps": "ph_quiz", "pose_train": "pt_quiz",
                             "pose_hrnet_vs_hourglass": "pv_quiz"}[slug] + "__seed"]
    expected = PAGES[slug](random.Random(seed))
    shown = "\n".join(m.value for m in at.markdown)
    for q in expected:
        assert lessons.fill(T.quiz(q.key)["prompt"], lang, **q.params) in shown  # numbers as the page writes them
    key = {"pose_heatmaps": "ph_quiz", "pose_train": "pt_quiz", "pose_hrnet_vs_hourglass": "pv_quiz"}[slug]
    at.text_input(key=f"{key}__a0_{seed}").input(str(expected[0].answer)).run()
    assert common("quiz_right") in [s.value for s in at.success]
