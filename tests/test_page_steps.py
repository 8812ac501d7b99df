"""Step-throughs that let a class predict: each page shows only the cells computed up to the current step
(a grey "?" for the others), "Show all" shows everything, and the step lives in the page address.

Runs nearest / bed of nails, max unpooling, bilinear and transposed convolution through AppTest, in both
languages, and compares what the figures show with torch's own ops.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from streamlit.testing.v1 import AppTest

from core import lessons
from core.ops.pooling import max_pool_trace, max_unpool_trace
from tests import steps
from tests.conftest import page_text

pytestmark = pytest.mark.usefixtures("one_thread")
ROOT = Path(__file__).resolve().parent.parent
LANGS = lessons.LANGUAGES
LECTURE = [[1.0, 2.0, 6.0, 3.0], [3.0, 5.0, 2.0, 1.0], [1.0, 2.0, 2.0, 1.0], [7.0, 3.0, 4.0, 8.0]]  # the page's


def _open(slug: str, lang: str, state: dict | None = None, address: dict | None = None) -> AppTest:
    """The page ``slug`` opened on an address with ``address`` in its query (a shared link, a reload)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["lang"] = lang
    for key, value in (state or {}).items():
        at.session_state[key] = value
    for key, value in (address or {}).items():
        at.query_params[key] = value
    at.switch_page(f"app_pages/{slug}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _address(at: AppTest, key: str) -> str | None:
    """The value the page wrote into its address for ``key``."""
    value = at.query_params.get(key)
    return value[-1] if isinstance(value, list) else value


# figures drawn by a step-through that plays in the browser: (its key, the figure's place in it)
IN_STEPS = {"nb_in": ("nb_step", 0), "nb_near": ("nb_step", 1), "nb_nails": ("nb_step", 2),
            "mu_in": ("mu_step", 0), "mu_pooled": ("mu_step", 1), "mu_idx": ("mu_step", 2),
            "bl_in": ("bl_step", 0), "bl_square": ("bl_step", 1), "bl_pick": ("bl_step", 2)}


def _spec(at: AppTest, key: str) -> dict:
    if key in IN_STEPS:  # the step the server is on, rebuilt from the frames the browser was sent
        return steps.figure(at, *IN_STEPS[key])
    charts = [c for c in at.get("plotly_chart") if c.proto.id.endswith(f"-{key}")]
    assert len(charts) == 1, key
    return json.loads(charts[0].proto.spec)


def _shown(heat: dict) -> np.ndarray:
    """The numbers a heatmap trace shows, NaN where its cell is blank (not computed yet)."""
    z = heat["z"]
    if isinstance(z, dict):  # plotly writes a whole numpy array as typed bytes: {"dtype", "bdata", "shape"}
        shape = [int(n) for n in str(z["shape"]).split(",")]
        return np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(shape).astype(float)
    return np.array([[np.nan if v is None else v for v in row] for row in z], dtype=float)


def _grid(at: AppTest, key: str) -> np.ndarray:
    """What a grid figure shows; checks that every blank cell is a grey "?" and that no hidden number leaks."""
    data = _spec(at, key)["data"]
    shown = _shown(data[0])
    hidden = np.isnan(shown)
    unknown = [d for d in data[1:] if d["type"] == "heatmap"]
    if hidden.any():
        assert len(unknown) == 1
        marks = np.array(unknown[0]["text"])
        assert (marks[hidden] == "?").all() and (marks[~hidden] == "").all()
        assert all(t == "" for t, h in zip(np.array(data[0]["text"]).ravel(), hidden.ravel()) if h)
    else:
        assert not unknown
    return shown


def _reading_order(shown: np.ndarray) -> int:
    """How many cells are shown; asserts they are the first ones in reading order."""
    flat = ~np.isnan(shown.ravel())
    n = int(flat.sum())
    assert flat[:n].all() and not flat[n:].any(), shown
    return n


# --- nearest neighbour and bed of nails ---------------------------------------------------------------------

NB = {"nb_rows": 2, "nb_cols": 3, "nb_scale": 2, "nb_grid": [[5.0, -6.0, 7.0], [8.0, 9.0, 1.5]]}


def _nb_torch() -> tuple[np.ndarray, np.ndarray]:
    x = torch.tensor(NB["nb_grid"], dtype=torch.float64)[None, None]
    nails = torch.zeros(1, 1, 2, 2, dtype=torch.float64)
    nails[0, 0, 0, 0] = 1.0
    return (F.interpolate(x, scale_factor=2, mode="nearest")[0, 0].numpy(),
            F.conv_transpose2d(x, nails, stride=2)[0, 0].numpy())


@pytest.mark.parametrize("lang", LANGS)
def test_nearest_step_k_shows_k_plus_one_cells_then_all(lang):
    near, nails = _nb_torch()
    n = near.size  # 4 × 6 output cells, one per step
    for k in (0, 7, n - 1):
        at = _open("nearest_bed_of_nails", lang, {**NB, "nb_step": k})
        for key, ref in (("nb_near", near), ("nb_nails", nails)):
            shown = _grid(at, key)
            assert _reading_order(shown) == k + 1
            done = ~np.isnan(shown)
            np.testing.assert_array_equal(shown[done], ref[done])
        words = lessons.texts("common", lang).table("step_control")
        assert (words["hidden_note"].replace("**", "") in steps.caption(at, "nb_step")) == (k < n - 1)
    # at the last step both outputs are whole and equal torch's ops (the page says so too)
    np.testing.assert_array_equal(_grid(at, "nb_near"), near)
    np.testing.assert_array_equal(_grid(at, "nb_nails"), nails)
    assert len(at.success) == 2 and not at.error

    at = _open("nearest_bed_of_nails", lang, {**NB, "nb_step": 3})
    at.toggle(key="nb_step_all").set_value(True).run()
    assert not at.exception
    np.testing.assert_array_equal(_grid(at, "nb_near"), near)
    np.testing.assert_array_equal(_grid(at, "nb_nails"), nails)
    assert at.session_state["nb_step"] == 3 and _address(at, "nb_step_all") == "1"
    assert lessons.texts("common", lang).table("step_control")["show_all"] == at.toggle(key="nb_step_all").label


@pytest.mark.parametrize("lang", LANGS)
def test_nearest_step_is_read_from_and_written_to_the_address(lang):
    at = _open("nearest_bed_of_nails", lang, address={"nb_step": "5"})
    assert at.session_state["nb_step"] == 5 and steps.player(at, "nb_step")["step"] == 5
    assert _reading_order(_grid(at, "nb_near")) == 6
    # the browser plays the steps itself and tells the server where it settled (here: as the browser would)
    at.session_state["nb_step"] = 6
    at.run()
    assert _address(at, "nb_step") == "6" and steps.player(at, "nb_step")["step"] == 6
    at.session_state["nb_step"] = 0
    at.run()  # the first step is the default: the address drops it
    assert "nb_step" not in at.query_params
    at = _open("nearest_bed_of_nails", lang, address={"nb_step": "9", "nb_step_all": "1"})
    assert at.toggle(key="nb_step_all").value is True
    assert not np.isnan(_grid(at, "nb_near")).any()


@pytest.mark.parametrize("asked, step", [("banana", 0), ("2.5", 0), ("-4", 0), ("999", 15), ("", 0)])
def test_bad_steps_in_the_address_fall_back_to_a_valid_step(asked, step):
    at = _open("nearest_bed_of_nails", "ro", address={"nb_step": asked, "nb_step_all": "maybe"})
    assert not at.error
    assert at.session_state["nb_step"] == step  # a 2×2 input at scale 2: 16 steps, 0…15
    assert at.toggle(key="nb_step_all").value is False


# --- max unpooling ---------------------------------------------------------------------------------------------

REST = [[9.0, -3.0], [0.5, 7.0]]


def _mu_torch() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = torch.tensor(LECTURE, dtype=torch.float64)[None, None]
    pooled, idx = F.max_pool2d(x, 2, return_indices=True)
    unpooled = F.max_unpool2d(torch.tensor(REST, dtype=torch.float64)[None, None], idx, 2, output_size=(4, 4))
    return pooled[0, 0].numpy(), idx[0, 0].numpy().astype(float), unpooled[0, 0].numpy()


def _arrows(at: AppTest) -> int:
    return sum(1 for a in _spec(at, "mu_routing")["layout"].get("annotations", []) if a.get("showarrow"))


def _windows_shown(shown: np.ndarray) -> int:
    """How many 2×2 windows of the unpooled map are shown; asserts whole windows, in reading order."""
    blocks = ~np.isnan(shown).reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(4, 4)  # (window, cell)
    assert (blocks.all(axis=1) | ~blocks.any(axis=1)).all(), shown
    done = blocks.all(axis=1)
    n = int(done.sum())
    assert done[:n].all() and not done[n:].any()
    return n


@pytest.mark.parametrize("lang", LANGS)
def test_max_unpooling_reveals_window_by_window(lang):
    pooled, idx, unpooled = _mu_torch()
    n_pool = len(max_pool_trace(torch.tensor(LECTURE), 2))
    n_route = len(max_unpool_trace(torch.tensor(REST), torch.tensor(idx).long(), (4, 4)))
    for k in range(n_pool + n_route):
        at = _open("max_unpooling", lang, {"mu_rest": REST, "mu_step": k})
        windows = min(k + 1, n_pool)
        moved = max(k - n_pool + 1, 0)
        for key, ref in (("mu_pooled", pooled), ("mu_idx", idx)):
            shown = _grid(at, key)
            assert _reading_order(shown) == windows, (k, key)
            np.testing.assert_array_equal(shown[~np.isnan(shown)], ref[~np.isnan(shown)])
        assert _arrows(at) == moved
        big = _shown(_spec(at, "mu_routing")["data"][1])  # the routing's big grid: the unpooled map
        assert _windows_shown(big) == moved
        np.testing.assert_array_equal(big[~np.isnan(big)], unpooled[~np.isnan(big)])
        assert _windows_shown(_grid(at, "mu_cmp_unpool")) == moved
        assert len(at.success) == 2 and not at.error  # both torch checks stay on the page
    # the last step: the whole unpooled map, equal to F.max_unpool2d
    np.testing.assert_array_equal(big, unpooled)

    at = _open("max_unpooling", lang, {"mu_rest": REST, "mu_step": 0})
    at.toggle(key="mu_step_all").set_value(True).run()
    np.testing.assert_array_equal(_grid(at, "mu_pooled"), pooled)
    np.testing.assert_array_equal(_grid(at, "mu_idx"), idx)
    np.testing.assert_array_equal(_shown(_spec(at, "mu_routing")["data"][1]), unpooled)
    np.testing.assert_array_equal(_grid(at, "mu_cmp_unpool"), unpooled)
    assert _arrows(at) == n_route and _address(at, "mu_step_all") == "1"


@pytest.mark.parametrize("lang", LANGS)
def test_max_unpooling_step_from_a_shared_link(lang):
    T = lessons.texts("max_unpooling", lang)
    at = _open("max_unpooling", lang, address={"mu_step": "6"})  # the third route: (1, 0) of the small map
    assert at.session_state["mu_step"] == 6 and _arrows(at) == 3
    route = max_unpool_trace(torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor(_mu_torch()[1]).long(), (4, 4))[2]
    words = T("route_step", i=1, j=0, v="3", idx=route.index, r=route.dest[0], c=route.dest[1])
    assert words.replace("**", "") in steps.caption(at, "mu_step")
    at.session_state["mu_step"] = 7
    at.run()
    assert _address(at, "mu_step") == "7"


# --- bilinear and transposed convolution: the same control ----------------------------------------------------

@pytest.mark.parametrize("lang", LANGS)
def test_bilinear_output_fills_up_to_the_chosen_pixel(lang):
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    ref = F.interpolate(x[None, None], size=(4, 4), mode="bilinear", align_corners=False)[0, 0].numpy()
    at = _open("bilinear", lang)
    assert at.session_state["bl_step"] == 6 and "bl_step" not in at.query_params  # the page's own start, (1, 2)
    shown = _grid(at, "bl_pick")
    assert _reading_order(shown) == 7
    np.testing.assert_allclose(shown[~np.isnan(shown)], ref.ravel()[:7], atol=1e-12)
    at.toggle(key="bl_step_all").set_value(True).run()
    np.testing.assert_allclose(_grid(at, "bl_pick"), ref, atol=1e-12)
    at = _open("bilinear", lang, address={"bl_step": "15"})  # the last pixel: the whole output
    np.testing.assert_allclose(_grid(at, "bl_pick"), ref, atol=1e-12)
    at = _open("bilinear", lang, address={"bl_step": "x"})
    assert at.session_state["bl_step"] == 6


@pytest.mark.parametrize("lang", LANGS)
def test_transposed_convolution_step_from_the_address(lang):
    T = lessons.texts("transposed_convolution", lang)
    at = _open("transposed_convolution", lang, address={"tc_step": "2"})
    assert at.session_state["tc_step"] == 2 and steps.player(at, "tc_step")["step"] == 2
    assert not at.get("toggle") or all(t.key != "tc_step_all" for t in at.toggle)
    # step 2 of the default 2 × 2 input: x[1, 0] = 3 scatters its copy at row 2, column 0
    assert T("step_now", i=1, j=0, v="3", r=2, c=0, s=2).replace("**", "") in steps.caption(at, "tc_step")
    at.session_state["tc_step"] = 3  # where the browser settled
    at.run()
    assert _address(at, "tc_step") == "3"
    # the matrix view has a player of its own on the same step
    at.query_params["tc_view"] = "matrix"
    at.session_state["tc_view"] = "matrix"
    at.run()
    data = steps.player(at, "tc_step_matrix")
    assert data["step"] == 3 and data["n"] == 4
    for t in range(4):  # row t of C outlined at step t, in both panels of the matrix
        assert {(sh["y0"], sh["y1"]) for sh in steps.step_state(data, t)["figs"][0]["layout"]["shapes"]} == {
            (t - 0.5, t + 0.5)}
    at = _open("transposed_convolution", lang, address={"tc_step": "77"})  # clamped to the last input cell
    assert at.session_state["tc_step"] == 3
