"""Widgets several pages share: an editable number grid, a step control with play/pause, a quiz block.

Each keeps its state under keys that start with the key the page gives it, and mirrors what a teacher
would want in a shared link (the grid's numbers) in the page URL.
"""
from __future__ import annotations

import functools
import json
import random
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import streamlit as st

from app_pages.ui import classroom, common
from core import lessons
from core.quiz import Question, cell_text, is_correct, read_cells

# --- an editable grid of numbers ------------------------------------------------------------------

def _grid_from_url(key: str, shape: tuple[int, int]) -> np.ndarray | None:
    raw = st.query_params.get(key)
    if not raw:
        return None
    try:
        a = np.asarray(json.loads(raw), dtype=float)
    except (ValueError, TypeError):
        return None
    return a if a.shape == shape and np.isfinite(a).all() else None


def _as_grid(default, shape: tuple[int, int]) -> np.ndarray:
    a = np.asarray(default, dtype=float)
    if a.shape == shape:
        return a
    out = np.zeros(shape)  # a new size keeps what fits of the old grid and fills the rest with zeros
    h, w = min(shape[0], a.shape[0]), min(shape[1], a.shape[1])
    out[:h, :w] = a[:h, :w]
    return out


def _column_px(name: str) -> int:
    """A grid column as wide as its name needs beside the editor's icon (wider with a projector's larger text)."""
    scale = 1.45 if common.presentation() else 1.0
    return round(max(75, 8 * len(name) + 40) * scale)  # 75 px: Streamlit's "small"


def number_grid(key: str, default, label: str, shape: tuple[int, int] | None = None,
                digits: int = 2, names: tuple[list[str], list[str]] | None = None) -> np.ndarray:
    """A small matrix the student edits cell by cell; returns it as a float array.

    ``shape`` (rows, cols) may change between reruns (a size slider): the grid keeps the numbers that
    still fit. The values live in ``st.session_state[key]`` and in the URL query parameter ``key``.
    An emptied cell counts as 0, and the page says so.
    """
    default = np.asarray(default, dtype=float)
    shape = tuple(shape) if shape is not None else default.shape
    rev_key, base_key, seen_key, lang_key = f"{key}__rev", f"{key}__base", f"{key}__seen", f"{key}__lang"
    lang = common.lang()
    current = st.session_state.get(key)
    if current is not None and np.asarray(current).shape == shape and st.session_state.get(lang_key) != lang:
        start = np.asarray(current, dtype=float)  # the language changed: the editor is drawn again in its way
    elif current is None or np.asarray(current).shape != shape:
        start = _grid_from_url(key, shape)
        if start is None:
            start = _as_grid(current if current is not None else default, shape)
    elif current != st.session_state.get(seen_key):
        start = np.asarray(current, dtype=float)  # set from outside (a reset button, an example): adopt it
    else:
        start = None
    if start is not None:  # a new starting point: the editor is drawn afresh from it
        st.session_state[base_key] = start.tolist()
        st.session_state[rev_key] = st.session_state.get(rev_key, 0) + 1
    st.session_state[lang_key] = lang
    base = np.asarray(st.session_state[base_key], dtype=float)
    rows, cols = names or ([str(i) for i in range(shape[0])], [str(j) for j in range(shape[1])])  # shown names
    columns = [str(j) for j in range(shape[1])]
    st.caption(label)
    editor_key = f"{key}__editor{st.session_state[rev_key]}"
    if lang == "ro":  # the editor's numbers know only the decimal point: Romanian cells are texts with a comma
        shown = [[cell_text(v, lang) for v in row] for row in base.tolist()]
        config = {c: st.column_config.TextColumn(cols[j], width=_column_px(cols[j]), alignment="right")
                  for j, c in enumerate(columns)}
        edited = st.data_editor(pd.DataFrame(shown, index=rows, columns=columns), key=editor_key, hide_index=False,
                                column_config=config, num_rows="fixed", width="content")
        read, _, unreadable = read_cells(edited.to_numpy(dtype=object).tolist(), shown, base.tolist(), lang)
        values = np.asarray(read, dtype=float)
        if unreadable:
            st.warning(common.ui("grid_unreadable_cells", n=unreadable))
    else:
        config = {c: st.column_config.NumberColumn(cols[j], format=f"%.{digits}g", width=_column_px(cols[j]))
                  for j, c in enumerate(columns)}
        edited = st.data_editor(pd.DataFrame(base, index=rows, columns=columns), key=editor_key, hide_index=False,
                                column_config=config, num_rows="fixed", width="content")
        values = edited.to_numpy(dtype=float, na_value=np.nan)
    if np.isnan(values).any():
        st.warning(common.ui("grid_empty_cells"))
        values = np.nan_to_num(values, nan=0.0)
    st.session_state[key] = values.tolist()
    st.session_state[seen_key] = values.tolist()
    if np.array_equal(values, _as_grid(default, shape)):
        st.query_params.pop(key, None)
    else:
        st.query_params[key] = json.dumps(values.tolist(), separators=(",", ":"))
    return values


def reset_grid(key: str) -> None:
    """Forget a grid's edits (the next ``number_grid`` call starts again from its default)."""
    for k in (key, f"{key}__base", f"{key}__seen"):
        st.session_state.pop(k, None)
    st.query_params.pop(key, None)


# --- stepping through a computation -----------------------------------------------------------------

def _step_from_url(key: str, n_steps: int) -> int | None:
    """The step a shared link asks for, moved into ``0 … n_steps - 1``; None when it holds no whole number."""
    raw = st.query_params.get(key)
    try:
        asked = int(str(raw).strip())
    except (TypeError, ValueError):
        return None
    return min(max(asked, 0), n_steps - 1)


def _flag_from_url(key: str) -> bool:
    return str(st.query_params.get(key, "")).strip().lower() in ("1", "true", "yes", "on")


def current_step(key: str, n_steps: int, default: int = 0) -> int:
    """The step a step-through is on: this session's, else the address's (``?key=5``), else ``default``; kept in
    session state, moved into ``0 … n_steps - 1``."""
    try:
        step = int(st.session_state[key])
    except (KeyError, TypeError, ValueError):  # a new session: the address says where it was
        asked = _step_from_url(key, n_steps)
        step = default if asked is None else asked
    step = min(max(step, 0), n_steps - 1)
    st.session_state[key] = step
    return step


def keep_step(key: str, default: int) -> int:
    """Write the session's step into the address (``?key=k``; the default step left out) and return it."""
    step = int(st.session_state[key])
    if step == default:
        st.query_params.pop(key, None)
    else:
        st.query_params[key] = str(step)
    return step


def show_all_toggle(key: str, where=st) -> bool:
    """The "show all" toggle of step-through ``key`` (``?key_all=1``), drawn in ``where``; whether it is on."""
    all_key = f"{key}_all"
    if all_key not in st.session_state:
        st.session_state[all_key] = _flag_from_url(all_key)
    words = common.texts("common").table("step_control")
    where.toggle(words["show_all"], key=all_key, help=words["show_all_help"])
    if st.session_state[all_key]:
        st.query_params[all_key] = "1"
    else:
        st.query_params.pop(all_key, None)
    return bool(st.session_state[all_key])


def shows_all(key: str) -> bool:
    """Whether the "show all" toggle of step-through ``key`` is on (everything, not only the steps so far)."""
    return bool(st.session_state.get(f"{key}_all", False))


# --- check yourself ---------------------------------------------------------------------------------

@functools.lru_cache(maxsize=256)
def _questions(make_questions: Callable[[random.Random], Sequence[Question]], seed: int) -> tuple[Question, ...]:
    """A session's questions, drawn once per seed: a page draws them at every rerun, and some take a few ms."""
    return tuple(make_questions(random.Random(seed)))


def quiz(T, make_questions: Callable[[random.Random], Sequence[Question]], key: str) -> None:
    """A "check yourself" block: questions with random parameters, marked as the student answers.

    ``make_questions(rng)`` builds the questions; their words are ``[quiz.<question.key>]`` in the page's
    lesson file (``prompt`` and ``solution`` templates filled with the question's params and answer).
    """
    seed_key = f"{key}__seed"
    seed = st.session_state.setdefault(seed_key, random.randrange(1_000_000))
    questions = _questions(make_questions, seed)
    with st.container(border=True):
        head, button = st.columns([4, 1], vertical_alignment="center")
        head.subheader(common.ui("quiz_title"))

        def new_questions() -> None:
            st.session_state[seed_key] = random.randrange(1_000_000)
            for k in [k for k in st.session_state if str(k).startswith(f"{key}__a")]:
                del st.session_state[k]

        button.button(common.ui("quiz_new"), key=f"{key}__new", on_click=new_questions)
        for i, q in enumerate(questions):
            words = T.quiz(q.key)
            # filled as the lesson's own strings are: numbers written the page's way (0,25 in Romanian)
            st.markdown(f"**{i + 1}.** " + lessons.fill(words["prompt"], T.lang, **q.params))
            answer_key = f"{key}__a{i}_{seed}"
            if q.is_choice:
                given = st.radio(common.ui("quiz_answer"), list(q.choices), index=None, key=answer_key,
                                 format_func=lambda c: T(c), horizontal=True, label_visibility="collapsed")
                answered = given is not None
            else:
                given = st.text_input(common.ui("quiz_answer"), key=answer_key,
                                      placeholder=common.ui("quiz_placeholder"), label_visibility="collapsed")
                answered = bool(given.strip())
            if answered:
                if is_correct(q, given):
                    st.success(common.ui("quiz_right"))
                else:
                    st.error(common.ui("quiz_wrong"))
            with st.expander(common.ui("quiz_solution")):
                shown = T(q.answer) if q.is_choice else q.answer
                st.markdown(lessons.fill(words["solution"], T.lang, answer=shown, **q.params))
            classroom.ask_controls(T, q, i + 1, key=f"{key}__q{i}")  # a teacher's class: ask it, see its answers


# --- controlling a training run ---------------------------------------------------------------------------

def run_controls(T, prefix: str, history: list | None, start: Callable[[], None], *,
                 step: bool = True) -> str | None:
    """Start / pause or resume / one step / stop / forget-all buttons for the background run kept in
    ``st.session_state[f"{prefix}_run"]`` (a :class:`core.training.workers.WorkerRun`, or a
    :class:`core.training.runs.BackgroundRun`); ``history`` is the page's
    list of runs, or None on a page that keeps only its latest run (no forget-all button then); ``step=False``
    leaves out the one-step button. The words are the page's ``start pause resume step stop reset`` strings.
    Returns the run's status, or None before the first run."""
    run = st.session_state.get(f"{prefix}_run")

    def reset() -> None:
        for r in history:
            if hasattr(r, "abort"):
                r.abort()  # forgotten: no last validation needed
            else:
                r.stop(wait=0)
        history.clear()
        st.session_state[f"{prefix}_run"] = None

    status = run.snapshot().status if run else None
    active = status in ("running", "paused")  # a queued run can only be stopped (it leaves the queue)
    # One row of buttons, each as wide as its label; a row too narrow for them all (a projector's larger font)
    # continues on the next line rather than breaking a label in the middle of a word.
    row = st.container(horizontal=True, wrap=True, gap="small")
    b = {name: row for name in ("start", "pause", "step", "stop", "reset")}
    b["start"].button(T("start"), type="primary", key=f"{prefix}_start", on_click=start)
    if status == "running":
        b["pause"].button(T("pause"), key=f"{prefix}_pause", on_click=run.pause)
    else:
        b["pause"].button(T("resume"), key=f"{prefix}_resume", on_click=run.resume if run else None,
                          disabled=status != "paused")
    if step:
        b["step"].button(T("step"), key=f"{prefix}_step", on_click=run.step if run else None, disabled=not active)
    b["stop"].button(T("stop"), key=f"{prefix}_stop", on_click=run.stop if run else None,
                     disabled=not (active or status == "queued"))
    if history is not None:
        b["reset"].button(T("reset"), key=f"{prefix}_reset", on_click=reset, disabled=not history)
    return status


def until_first_run(T, run, lesson: str) -> None:
    """Before the first run: the invitation to press start, the lesson ``lesson``, and the page stops there."""
    if run is None:
        st.info(T("press_start"))
        st.markdown(T.md(lesson))
        st.stop()


def live(status: str | None):
    """A decorator for the part of a page that follows the run: a fragment redrawn every second while it trains
    or waits in the queue."""
    return common.timed_fragment(1.0 if status in ("running", "queued") else None)


def watch(T, run, status: str | None):
    """The run's snapshot, read inside the :func:`live` part. When a run that was training (or waiting) has
    paused, started or ended, the whole page reruns (its buttons change, the timer stops); a queued run says its
    place in the queue and the estimated wait; a failure is said with the page's ``failed``. Reading it counts
    as looking at the run (the registry stops runs nobody looks at)."""
    common.browser_runs()
    snap = run.snapshot()
    if status in ("running", "queued") and snap.status != status:
        st.rerun(scope="app")
    if snap.status == "queued":
        from core.training import remote

        wait = (common.ui("queue_wait", minutes=snap.wait_s / 60) if snap.wait_s is not None
                else common.ui("queue_wait_remote") if remote.url() else common.ui("queue_wait_unknown"))
        st.info(common.ui("queue_position", position=snap.queue_position or 1) + " " + wait)
    if snap.error:
        st.error(T("failed", error=snap.error))
    return snap


def run_metrics(T, snap, total: int, loss_format: str, *more: tuple) -> None:
    """A row of metrics — status, step of ``total``, loss — then ``more`` as ``(label, value[, help])``, and a
    progress bar. The labels are the page's ``m_status m_step m_loss`` strings."""
    last = snap.steps[-1] if snap.steps else None
    done = last["step"] if last else 0
    cells = [(T("m_status"), T(f"status_{snap.status}")), (T("m_step"), f"{done} / {total}"),
             (T("m_loss"), common.localized(format(last["loss"], loss_format)) if last else "–"), *more]
    for col, (label, value, *help_) in zip(st.columns(len(cells)), cells):
        col.metric(label, value, help=help_[0] if help_ else None)
    st.progress(min(1.0, done / total))


# --- what a session keeps, at its limit ----------------------------------------------------------------------

def session_store_full(store: dict, limit: int, key: str, what: str) -> None:
    """The session keeps ``limit`` entries of ``store`` (``what``: their name in the page's words, plural): say
    so, and offer to remove one (picked by its name), so the student chooses what goes (core/limits.py)."""
    st.warning(common.ui("limit_full", n=limit, what=what), icon=":material/inventory_2:")
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    name = c1.selectbox(common.ui("limit_pick"), list(store), key=f"{key}_pick")
    if c2.button(common.ui("limit_remove"), key=f"{key}_remove", icon=":material/delete:") and name in store:
        del store[name]
        st.rerun()

