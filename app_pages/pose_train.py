"""Train a pose network live: a small HRNet learns the joints of stick figures; curves, skeletons, heatmaps."""
import streamlit as st

from app_pages.ui import common, widgets
from core import limits, pose_questions
from core.data.poses import JOINTS
from core.data.streets import to_image
from core.figures.pose import (
    MODEL_COLOURS,
    comparison_bars,
    draw_pose,
    heatmap_tiles,
    pose_curves,
)
from core.models import pose as pose_nets
from core.training import pose as pose_training
from core.training import workers
from core.training.loop import first_validation

T = common.texts("pose_train")
common.header(T)
joint_names = [T(f"joint_{name}") for name in JOINTS]
N_SHOWN = 4  # validation figures drawn on the page (the metrics use all of them)
VAL_SIZE = 16


@st.cache_data(max_entries=8, show_spinner=False)
def validation_images(size: int, sigma: float, seed: int):
    """The validation figures of a run (the ones its error is measured on): images, joints, target heatmaps."""
    x, target = pose_training.validation_set(size, sigma, seed, VAL_SIZE)
    shown = pose_training.showcase(target["joints"], N_SHOWN)  # whole, large figures read best
    return shown, [to_image(x[i]) for i in shown], target["joints"].numpy()[shown], target["heatmaps"].numpy()[shown]


@st.cache_data(max_entries=16, show_spinner=False)
def parameters(kind: str, budget: str) -> int:
    return pose_nets.count_parameters(pose_nets.build_pose_model(kind, budget=budget))


# --- the run's settings ---------------------------------------------------------------------------------
# one row on a laptop; two on a projector, where seven settings side by side leave the budget's options no room
c = st.columns([1.6, 1.6, 1, 1]) + st.columns(3) if common.presentation() else st.columns([1.6, 1.2, 1, 1, 1, 1, 1])
kind = common.choice(c[0].selectbox, T("model"), pose_nets.KINDS, key="pt_model", format_func=lambda o: T(f"kind_{o}"))
budget = common.choice(c[1].segmented_control, T("budget"), list(pose_nets.BUDGETS), key="pt_budget", default="small",
                       format_func=lambda b: T(f"budget_{b}"))
size = c[2].select_slider(T("size"), [48, 64, 96, 128], value=64, key="pt_size", bind="query-params")
sigma = common.choice(c[3].select_slider, T("sigma"), [1.0, 1.5, 2.0, 3.0], key="pt_sigma", default=2.0,
                      format_func=lambda v: common.localized(f"{v:g}"))
batch = c[4].select_slider(T("batch"), [4, 8, 16], value=8, key="pt_batch", bind="query-params")
lr = common.choice(c[5].select_slider, T("lr"), [1e-3, 3e-3, 1e-2], key="pt_lr", default=1e-2,
                   format_func=lambda v: common.localized(f"{v:g}"))
steps = c[6].number_input(T("steps"), 20, 5000, value=1500, step=20, key="pt_steps", bind="query-params")
n_params = parameters(kind, budget)
st.caption(T("model_caption", params=f"{n_params:,}".replace(",", "\u2009")))  # a thin space between thousands

common.browser_runs("pt_run", "pt_history")  # the runs of this browser: a reload finds them again
run = st.session_state.get("pt_run")  # a core.training.workers.WorkerRun (or None before the first run)
history: list = st.session_state.setdefault("pt_history", [])


def start() -> None:
    old = st.session_state.get("pt_run")
    if old is not None:
        old.stop(wait=0)  # it ends with a last validation in its worker, and frees its slot
    cfg = pose_training.pose_config(size=size, batch_size=batch, lr=lr, steps=int(steps),
                           val_every=max(10, int(steps) // 20), device=str(common.device()))
    model = pose_nets.build_pose_model(kind, budget=budget)
    label = T("run_label", n=len(history) + 1, model=T(f"kind_{kind}"), size=size, sigma=sigma)
    job = workers.Job(pose_training.pose_job, {"cfg": cfg, "model": model, "kind": kind, "sigma": sigma,
                                               "val_size": VAL_SIZE})
    new = workers.start(job, model, name=label, cfg=cfg, kind=kind, sigma=sigma)
    history.append(new)
    del history[:-limits.POSE_RUNS_COMPARED]  # the latest runs are kept for comparison (core/limits.py)
    st.session_state["pt_run"] = new


status = widgets.run_controls(T, "pt", history, start)

def check_yourself() -> None:
    widgets.quiz(T, pose_questions.training_questions, key="pt_quiz")


if run is None:  # the page stops below until the first run; the questions need no run
    check_yourself()
widgets.until_first_run(T, run, "what_you_see")


# --- live view: redrawn every second while the run trains -------------------------------------------------
@widgets.live(status)
def live_view() -> None:
    snap = widgets.watch(T, run, status)
    val = snap.vals[-1] if snap.vals else None
    widgets.run_metrics(T, snap, run.cfg.steps, ".4f", (T("m_error"), f"{val['mean_error']:.1f} px" if val else "–"),
                        (T("m_pck"), f"{val['pck']:.0%}" if val else "–", T("pck_help")))
    common.show_figure(pose_curves([(run.name, MODEL_COLOURS[run.kind], snap.steps, snap.vals)],
                                   (T("loss_title"), T("error_title"), T("pck_title")), T("step_axis")))
    if snap.last_val is None:
        st.caption(T("first_val", every=first_validation(run.cfg)))
        return
    shown, images, joints, targets = validation_images(run.cfg.size, run.sigma, run.cfg.seed)
    v = snap.last_val
    coords = v["coords"].numpy()[shown]
    st.subheader(T("val_title", step=v["step"]))
    st.caption(T("val_caption"))
    scale = max(2, 256 // run.cfg.size)
    errors = pose_training.figure_errors(coords, joints)
    for col, i in zip(st.columns(N_SHOWN), range(N_SHOWN)):
        col.image(draw_pose(images[i], joints[i], coords[i], scale), caption=T("val_image", i=i + 1, err=errors[i]),
                  width="stretch")
    left, right = st.columns([2.2, 1])
    with left:
        if "pred" in v:
            st.markdown(T("heat_intro"))
            i = st.radio(T("which_figure"), list(range(N_SHOWN)), key="pt_figure", horizontal=True,
                         format_func=lambda k: str(k + 1)) or 0
            cell = max(2, 96 // targets.shape[-1])  # tiles of about 96 pixels whatever the heatmap size
            st.image(heatmap_tiles(targets[i], v["pred"][shown[i]].numpy(), joint_names,
                                   (T("row_target"), T("row_pred")), cell=cell))
        else:
            st.info(T("no_heatmaps"))
    with right:
        per_joint = [e if e is not None else 0.0 for e in v["per_joint_error"]]
        common.show_figure(comparison_bars(joint_names, per_joint, [MODEL_COLOURS[run.kind]] * len(per_joint),
                                           T("per_joint_title")))


live_view()

done = [r for r in history if r.snapshot().vals]
if len(done) > 1:
    st.header(T("compare_title"))
    palette = ["#c2410c", "#1d4ed8", "#15803d", "#7c3aed"]
    common.show_figure(pose_curves([(r.name, palette[i % 4], r.snapshot().steps, r.snapshot().vals)
                                    for i, r in enumerate(done)],
                                   (T("loss_title"), T("error_title"), T("pck_title")), T("step_axis")))

st.markdown(T.md("what_you_see"))
st.page_link("app_pages/pose_hrnet_vs_hourglass.py", label=T("next_compare"), icon=":material/arrow_forward:")
check_yourself()
