"""Train live: a segmentation network learns in front of the class; curves, predictions, runs compared."""
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from app_pages.ui import common, widgets
from core import limits, models
from core.data.datasets import DOWNLOAD_MB, DatasetError, open_pairs, split_holdout
from core.data.streets import CLASSES, SyntheticStreets, to_image
from core.figures.training import confusion, curves, iou_bars
from core.images import colorize, enlarge, palette
from core.metrics import largest_confusion
from core.training import workers
from core.training.loop import (
    TrainConfig,
    build_model,
    checkpoint_meta,
    first_validation,
    segmentation_job,
    upsampling_options,
)
from core.zoo.checkpoints import checkpoint_bytes

T = common.texts("train_live")
common.header(T)
STREET_NAMES = [T(f"class_{i}") for i in range(len(CLASSES))]


def validation_images(run, n: int = 4):
    """The first validation images of a run (the same ones its mIoU is measured on)."""
    x, y = run.val_data
    return [to_image(im) for im in x[:n]], y[:n].numpy()


def open_dataset(kind: str, size: int, where: str, download: bool):
    """(training data, fixed validation batch, class names) for the chosen dataset."""
    if kind == "synthetic":
        return None, SyntheticStreets(32, size, seed=10_000).batch(range(32)), STREET_NAMES
    data = open_pairs(kind, where, size, download)
    if len(data) < 2:
        raise DatasetError(T("too_few"))
    train_part, val_part = split_holdout(data)  # the last fifth (at most 32 images) is held out
    return train_part, val_part.batch(range(len(val_part))), list(data.classes)


# --- the run's settings ---------------------------------------------------------------------------------
cols = st.columns(6)
choices = list(models.SEGMENTATION)
model_name = cols[0].selectbox(T("model"), choices, index=choices.index("unet"), key="tl_model",
                               bind="query-params")
ups = upsampling_options(model_name)
upsampling = (common.choice(cols[1].selectbox, T("upsampling"), ups, key="tl_up",
                             format_func=lambda o: T(f"up_{o}")) if ups else None)
if not ups:
    cols[1].caption(T("upsampling_fixed"))
size = cols[2].select_slider(T("size"), [32, 48, 64, 96, 128], value=64, key="tl_size", bind="query-params")
batch = cols[3].select_slider(T("batch"), [2, 4, 8, 16, 32], value=8, key="tl_batch", bind="query-params")
# kept in the address by the number itself (?tl_lr=0.003), shown as the language writes it (0,003)
lr = common.choice(cols[4].select_slider, T("lr"), [3e-4, 1e-3, 3e-3, 1e-2], key="tl_lr", default=3e-3,
                   format_func=lambda v: common.localized(f"{v:g}"))
steps = cols[5].number_input(T("steps"), 20, 5000, value=300, step=20, key="tl_steps", bind="query-params")
dcols = st.columns([1, 2, 1])
dataset = common.choice(dcols[0].selectbox, T("dataset"), ["synthetic", "folder", "oxford_pet", "voc2012"],
                        key="tl_data", format_func=lambda d: T(f"data_{d}"))
where, allow_download = "", False
if dataset == "folder":
    where = dcols[1].text_input(T("folder_path"), key="tl_folder", placeholder=T("folder_hint"))
elif dataset != "synthetic":
    where = dcols[1].text_input(T("data_root"), value=str(Path(torch.hub.get_dir()).parent / "datasets"),
                                key="tl_root")
    allow_download = dcols[2].checkbox(T("download_ok", mb=DOWNLOAD_MB[dataset]), key="tl_download_ok")

common.browser_runs("tl_run", "tl_history")  # the runs of this browser: a reload finds them again
run = st.session_state.get("tl_run")  # a core.training.workers.WorkerRun (or None before the first run)
history: list = st.session_state.setdefault("tl_history", [])


def start() -> None:
    try:
        with st.spinner(T("opening_data")):
            data, val_data, class_names = open_dataset(dataset, size, where, allow_download)
    except DatasetError as err:
        st.session_state["tl_error"] = str(err)
        return
    st.session_state["tl_error"] = None
    old = st.session_state.get("tl_run")
    if old is not None:
        old.stop(wait=0)  # it ends with a last validation in its worker, and frees its slot
    kwargs = {"upsampling": upsampling} if upsampling else {}
    cfg = TrainConfig(model=model_name, model_kwargs=kwargs, dataset=dataset, size=size, batch_size=batch, lr=lr,
                      steps=int(steps), val_every=max(10, int(steps) // 10), device=str(common.device()),
                      classes=tuple(class_names))
    model = build_model(cfg)
    label = T("run_label", n=len(history) + 1, model=model_name,
              up=T(f"up_{upsampling}") if upsampling else "", size=size)
    job = workers.Job(segmentation_job, {"cfg": cfg, "model": model, "data": data, "val_data": val_data})
    new = workers.start(job, model, name=label, cfg=cfg, val_data=val_data, class_names=class_names)
    history.append(new)
    del history[:-limits.TRAIN_RUNS_COMPARED]  # the latest runs are kept for comparison (core/limits.py)
    st.session_state["tl_run"] = new


status = widgets.run_controls(T, "tl", history, start)

if st.session_state.get("tl_error"):
    st.error(T("data_error", reason=st.session_state["tl_error"]))
widgets.until_first_run(T, run, "what_you_see")


# --- live view: redrawn every second while the run trains -------------------------------------------------
@widgets.live(status)
def live_view() -> None:
    snap = widgets.watch(T, run, status)
    widgets.run_metrics(T, snap, run.cfg.steps, ".3f",
                        (T("m_miou"), f"{snap.vals[-1]['miou']:.3f}" if snap.vals else "–"),
                        (T("m_speed"), f"{np.median([s['images_per_s'] for s in snap.steps[-20:]]):.0f}"
                         if snap.steps else "–"))
    common.show_figure(curves([(run.name, snap.steps, snap.vals)], T("loss_title"), T("miou_title"), T("step_axis")))
    if snap.last_val is None:
        st.caption(T("first_val", every=first_validation(run.cfg)))
        return
    images, truths = validation_images(run)
    colours = palette(len(run.class_names))
    st.subheader(T("val_title", step=snap.last_val["step"]))
    pred = snap.last_val["pred"].numpy()
    grid = st.columns(len(images))
    for col, img, truth, p in zip(grid, images, truths, pred):
        col.image(enlarge(img), caption=T("val_image"), width="stretch")
        col.image(enlarge(colorize(truth, colours)), caption=T("val_truth"), width="stretch")
        col.image(enlarge(colorize(p, colours)), caption=T("val_pred"), width="stretch")
    left, right = st.columns(2)
    with left:
        common.show_figure(iou_bars(run.class_names, snap.last_val["iou_per_class"], colours, T("iou_title")))
    if snap.status in ("finished", "stopped"):
        with right:
            common.show_figure(confusion(snap.last_val["confusion"], run.class_names, T("cm_true"), T("cm_pred")))
            worst = largest_confusion(snap.last_val["confusion"])  # the sentence is read from this matrix
            st.caption(T("cm_largest", true=run.class_names[worst[0]], pred=run.class_names[worst[1]],
                         share=100 * worst[2]) if worst else T("cm_none"))


live_view()

# --- keep the model, compare runs -----------------------------------------------------------------------
snap = run.snapshot()
if snap.status in ("finished", "stopped", "paused") and snap.last_val is not None:
    meta = checkpoint_meta(run.cfg, snap.last_val)
    meta["name"] = run.name
    c1, c2 = st.columns(2)
    c1.download_button(T("download"), checkpoint_bytes(run.model, meta), file_name=f"{run.cfg.model}.safetensors",
                       mime="application/octet-stream", key="tl_download")
    kept = st.session_state["trained_models"]
    room = limits.has_room(kept, run.name, limits.KEPT_MODELS)
    if c2.button(T("keep"), key="tl_keep", disabled=not room):
        kept[run.name] = checkpoint_bytes(run.model, meta)
        st.success(T("kept", name=run.name))
    if not room:  # the session keeps as many as it may: the student picks one to remove, nothing goes unasked
        widgets.session_store_full(kept, limits.KEPT_MODELS, "tl_kept", T("kept_what"))

done = [r for r in history if r.snapshot().steps]
if len(done) > 1:
    st.header(T("compare_title"))
    st.markdown(T.md("compare"))
    picked = st.multiselect(T("compare_pick"), [r.name for r in done], default=[r.name for r in done[-2:]],
                            key="tl_compare")
    chosen = [r for r in done if r.name in picked]
    common.show_figure(curves([(r.name, r.snapshot().steps, r.snapshot().vals) for r in chosen],
                              T("loss_title"), T("miou_title"), T("step_axis")))
    same = ([r for r in chosen if r.snapshot().last_val and r.cfg.size == chosen[0].cfg.size
             and r.cfg.dataset == chosen[0].cfg.dataset and torch.equal(r.val_data[1], chosen[0].val_data[1])]
            if chosen else [])
    if same:  # the same validation images: predictions can be set side by side
        images, truths = validation_images(same[0])
        colours = palette(len(same[0].class_names))
        cols = st.columns(len(same) + 2)
        cols[0].image(enlarge(images[0]), caption=T("val_image"), width="stretch")
        cols[1].image(enlarge(colorize(truths[0], colours)), caption=T("val_truth"), width="stretch")
        for col, r in zip(cols[2:], same):
            v = r.snapshot().last_val
            col.image(enlarge(colorize(v["pred"][0].numpy(), colours)), width="stretch",
                      caption=T("compare_pred", name=r.name, miou=v["miou"]))

st.markdown(T.md("what_you_see"))
