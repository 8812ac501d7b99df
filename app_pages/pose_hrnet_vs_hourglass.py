"""HRNet against an encoder–decoder: the same parameter budget, the same batches, compared on decoded joints."""
import pandas as pd
import streamlit as st
from torch import nn

from app_pages.ui import common, widgets
from core import pose_questions
from core.data.streets import to_image
from core.figures.pose import MODEL_COLOURS, comparison_bars, draw_pose, pose_curves
from core.models import pose as pose_nets
from core.training import pose as pose_training
from core.training import pose_race, workers
from core.training.loop import first_validation

T = common.texts("pose_hrnet_vs_hourglass")
common.header(T)
RACE = pose_race.DEFAULT  # the settings the page starts with, and those its lesson's numbers were measured at
N_SHOWN, VAL_SIZE, SIGMA = 3, RACE.val_size, RACE.sigma


@st.cache_data(max_entries=8, show_spinner=False)
def contenders_table(budget: str, lang: str) -> pd.DataFrame:
    rows = []
    for kind in pose_nets.KINDS:
        n = pose_nets.count_parameters(pose_nets.build_pose_model(kind, budget=budget))
        rows.append({T("col_model"): T(f"kind_{kind}"), T("col_params"): f"{n:,}".replace(",", "\u2009"),
                     T("col_path"): T(f"path_{kind}"), T("col_output"): T(f"output_{kind}")})
    return pd.DataFrame(rows)


@st.cache_data(max_entries=8, show_spinner=False)
def validation_images(size: int, seed: int):
    x, target = pose_training.validation_set(size, SIGMA, seed, VAL_SIZE)
    joints = target["joints"].numpy()
    shown = pose_training.showcase(joints, N_SHOWN)  # whole, large figures read best
    return shown, [to_image(x[i]) for i in shown], joints[shown]


# --- the contenders and the race's settings ------------------------------------------------------------------
c = st.columns([1.2, 1, 1, 1.6])
budget = common.choice(c[0].segmented_control, T("budget"), list(pose_nets.BUDGETS), key="pv_budget",
                       format_func=lambda b: T(f"budget_{b}"))
size = c[1].select_slider(T("size"), [48, 64, 96], value=RACE.size, key="pv_size", bind="query-params")
steps = c[2].number_input(T("steps"), 20, 5000, value=RACE.steps, step=20, key="pv_steps", bind="query-params")
with_regression = c[3].toggle(T("with_regression"), value=True, key="pv_regression", bind="query-params")
common.table(contenders_table(budget, common.lang()).set_index(T("col_model")))
st.markdown(T.md("measured", **pose_race.lesson_numbers()))
kinds = [k for k in pose_nets.KINDS if with_regression or k != "regression"]

common.browser_runs("pv_run")  # the race of this browser: a reload finds it again
run = st.session_state.get("pv_run")  # a core.training.workers.WorkerRun (or None before the first race)


def start() -> None:
    old = st.session_state.get("pv_run")
    if old is not None:
        old.stop(wait=0)  # it ends with a last validation in its worker, and frees its slot
    cfg = RACE.config(steps=int(steps), size=size, device=str(common.device()))
    contenders = nn.ModuleDict({kind: pose_nets.build_pose_model(kind, budget=budget) for kind in kinds})
    job = workers.Job(pose_training.race_job, {"contenders": contenders, "cfg": cfg, "sigma": SIGMA,
                                               "val_size": VAL_SIZE})
    new = workers.start(job, contenders, name="race", cfg=cfg, kinds=list(contenders),
                        total_steps=cfg.steps * len(contenders))
    st.session_state["pv_run"] = new


status = widgets.run_controls(T, "pv", None, start, step=False)  # one race at a time: nothing to forget


def check_yourself() -> None:
    widgets.quiz(T, pose_questions.contender_questions, key="pv_quiz")


if run is None:  # the page stops below until the first run; the questions need no run
    check_yourself()
widgets.until_first_run(T, run, "what_to_watch")


# --- the race, redrawn every second while it runs --------------------------------------------------------------
@widgets.live(status)
def race_view() -> None:
    snap = widgets.watch(T, run, status)
    steps_of = {k: [s for s in snap.steps if s["model"] == k] for k in run.kinds}
    vals_of = {k: [v for v in snap.vals if v["model"] == k] for k in run.kinds}
    done = sum(len(s) for s in steps_of.values())
    st.progress(min(1.0, done / (run.cfg.steps * len(run.kinds))),
                text=T("progress", status=T(f"status_{snap.status}"), done=done, total=run.cfg.steps * len(run.kinds)))
    m = st.columns(len(run.kinds))
    for col, k in zip(m, run.kinds):
        last = vals_of[k][-1] if vals_of[k] else None
        col.metric(T(f"kind_{k}"), common.localized(f"{last['mean_error']:.1f} px") if last else "–",
                   help=T("metric_help"))
        col.caption(T("metric_caption", step=last["step"], pck=last["pck"]) if last else T("no_val_yet"))
    common.show_figure(pose_curves([(T(f"kind_{k}"), MODEL_COLOURS[k], steps_of[k], vals_of[k]) for k in run.kinds],
                                   (T("loss_title"), T("error_title"), T("pck_title")), T("step_axis")))
    if not any(vals_of.values()):
        st.caption(T("first_val", every=first_validation(run.cfg)))
        return
    shown, images, joints = validation_images(run.cfg.size, run.cfg.seed)
    st.subheader(T("pred_title"))
    st.caption(T("pred_caption"))
    scale = max(2, 224 // run.cfg.size)
    for k in run.kinds:
        if not vals_of[k]:
            continue
        v = vals_of[k][-1]
        row = st.columns([1] + [2] * N_SHOWN, vertical_alignment="center")
        row[0].markdown(f"**{T(f'kind_{k}')}**  \n{T('after_step', step=v['step'])}")
        coords = v["coords"].numpy()[shown]
        errors = pose_training.figure_errors(coords, joints)
        for col, i in zip(row[1:], range(N_SHOWN)):
            col.image(draw_pose(images[i], joints[i], coords[i], scale), caption=T("fig_error", err=errors[i]),
                      width="stretch")
    if snap.status in ("finished", "stopped"):
        final = {k: vals_of[k][-1] for k in run.kinds if vals_of[k]}
        names = [T(f"kind_{k}") for k in final]
        colours = [MODEL_COLOURS[k] for k in final]
        left, right = st.columns(2)
        with left:
            common.show_figure(comparison_bars(names, [v["mean_error"] for v in final.values()], colours,
                                               T("final_error"), "{:.2f} px"))
        with right:
            common.show_figure(comparison_bars(names, [v["pck"] for v in final.values()], colours,
                                               T("final_pck"), "{:.0%}", (0, 1)))
        best = min(final, key=lambda k: final[k]["mean_error"])
        st.success(T("winner", model=T(f"kind_{best}"), err=final[best]["mean_error"], step=final[best]["step"]))


race_view()
st.markdown(T.md("what_to_watch"))
check_yourself()
