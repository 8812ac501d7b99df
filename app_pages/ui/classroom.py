"""Classroom mode in the app: a teacher's explorable followed live by the class, and questions to the class.

The teacher's session publishes the page it is on and its explorable state after every run. That state is
what the page already keeps in its address (``st.query_params``), plus the typed session value of every key
that has been in the address on that page, so a slider moved back to its default (which leaves the address)
is followed too. A following student's session checks the class once a second (a fragment) and, when the
version grew, reruns the app: :func:`begin` then switches to the teacher's page and sets those values
before the page draws its widgets. Language and presentation mode stay each person's own.

The class store itself is :mod:`core.classroom` (in this process, or Redis with ``CLASS_STORE``).
"""
from __future__ import annotations

import html
import io
import time
from urllib.parse import urlsplit

import streamlit as st

from app_pages.ui import common
from core import classroom as cls
from core import lessons
from core.quiz import Question, is_correct, readings

ROLE, CODE, SECRET, STUDENT, MODE = "class_role", "class_code", "class_secret", "class_student", "class_mode"
APPLIED, SEEN, SENT, PAGE, NOTE = "class_applied", "class_seen", "class_sent", "class_page", "class_note"
JOIN_PARAM = "join"
OWN_PARAMS = {common.LANG_KEY, common.PRESENT_PARAM, JOIN_PARAM, common.RUN_PARAM}  # never published, never followed
POLL_SECONDS = 1.0  # a follower looks for a new version this often ...
BEAT_SECONDS = 5.0  # ... and says it is still there this often (core.classroom.SEEN_SECONDS counts it gone)
BEAT, ASKED = "class_beat", "class_asked"  # when we last said we are here; the question we last drew
DRAWN = "class_drawn"  # the question (id, revealed) whose card was drawn to its end; None while one is drawn


@st.cache_resource
def store() -> cls.ClassStore:
    """The app's class store (one per server process; shared by its sessions, holding no per-user state)."""
    return cls.store_from_env()


def role() -> str | None:
    return st.session_state.get(ROLE)


def is_teacher() -> bool:
    return role() == "teacher"


def _client() -> str:
    """Who is joining, for the limit on wrong codes: the address the request came from (and the one a
    proxy names), or the session when neither is known (tests)."""
    ip = getattr(st.context, "ip_address", None) or ""
    forwarded = (st.context.headers.get("X-Forwarded-For") or "").split(",")[0].strip()
    return f"{ip}|{forwarded}" if ip or forwarded else f"session:{id(st.session_state)}"


def _end(note: str | None) -> None:
    for key in (ROLE, CODE, SECRET, STUDENT, MODE, APPLIED, SEEN, SENT, BEAT, ASKED):
        st.session_state.pop(key, None)
    if note:
        st.session_state[NOTE] = note


def join(text: str) -> bool:
    """Join the class whose code is ``text``; on failure the reason is kept for the sidebar to say."""
    try:
        code = cls.normalize_code(text)
        store().join(code, _client())
    except cls.ClassError as err:
        st.session_state[NOTE] = f"class_err_{err.code}"
        return False
    _end(None)
    st.session_state.update({ROLE: "student", CODE: code, STUDENT: cls.new_student_id(), MODE: "follow",
                             APPLIED: -1})
    st.session_state.pop(NOTE, None)
    return True


def _open() -> None:
    opened = store().open()
    _end(None)
    st.session_state.update({ROLE: "teacher", CODE: opened.code, SECRET: opened.secret, SEEN: {}})


# --- the teacher's side: what is published --------------------------------------------------------------

def _bound_keys() -> set[str]:
    """The keys of the widgets bound to the address (``bind="query-params"``) on this page, at their default
    value too (the address then leaves them out). Read from Streamlit's own binding table."""
    from streamlit.runtime.state.session_state_proxy import get_session_state

    try:
        with get_session_state().query_params() as qp:
            return set(qp._bindings_by_param)
    except (AttributeError, RuntimeError):  # another Streamlit: the keys seen in the address still travel
        return set()


def _switch(page) -> None:
    """Go to ``page`` from the script. Streamlit refuses to leave a page whose address still holds bound widgets'
    values from code (its switch clears the address), so the bindings of the page being left are dropped
    first; the next page's widgets bind again as they are drawn."""
    from streamlit.runtime.state.session_state_proxy import get_session_state

    try:
        with get_session_state().query_params() as qp:
            for widget_id in list(qp._bindings_by_widget):
                qp.unbind_widget(widget_id)
    except (AttributeError, RuntimeError):
        pass
    st.switch_page(page, query_params={k: v for k, v in st.query_params.to_dict().items() if k in OWN_PARAMS})


def explorable_state(page: str) -> dict:
    """The page's state as the address keeps it, and the typed values of its bound widgets and of every key
    seen in the address on this page (a grid, the step, a tab: written there only when not at the default)."""
    params = {k: st.query_params.get_all(k) for k in st.query_params if k not in OWN_PARAMS}
    params = {k: v[0] if len(v) == 1 else v for k, v in params.items()}
    seen = st.session_state.setdefault(SEEN, {}).setdefault(page, set())
    seen.update(params)
    seen.update(k for k in _bound_keys() if k not in OWN_PARAMS)
    values = {k: st.session_state[k] for k in sorted(seen)
              if k in st.session_state and cls.storable(st.session_state[k])}
    return {"params": params, "values": values}


def publish(page: str | None = None) -> None:
    """Send the teacher's page and state to the class when they changed (cheap to call after every run)."""
    if not is_teacher():
        return
    page = st.session_state.get(PAGE) if page is None else page
    if page is None:
        return
    state = explorable_state(page)
    sent = cls.dumps([page, state])
    if sent == st.session_state.get(SENT):
        return
    try:
        store().publish(st.session_state[CODE], st.session_state[SECRET], page, state)
    except cls.ClassError:
        _end("class_err_no_class")
        return
    st.session_state[SENT] = sent


# --- the student's side: following --------------------------------------------------------------------------

def _apply(state: dict) -> None:
    """Set the teacher's values before the page draws its widgets, and the teacher's address (but our own
    language and presentation mode); keys of ours the teacher does not have go back to their defaults."""
    params, values = state.get("params", {}), state.get("values", {})
    bound = _bound_keys()  # a bound widget writes its own address; the script may not
    for key in [k for k in st.query_params if k not in OWN_PARAMS | bound and k not in params and k not in values]:
        st.query_params.pop(key, None)
        st.session_state.pop(key, None)
    for key, value in values.items():
        st.session_state[key] = value
    for key, value in params.items():
        if key not in OWN_PARAMS | bound:
            st.query_params[key] = value


def begin(current_path: str, pages: dict) -> None:
    """At the start of every run, before the page: join from ``?join=CODE``; when following, go to the
    teacher's page and take the teacher's state. ``pages`` maps each page's address path to its st.Page."""
    st.session_state[PAGE] = current_path
    if is_teacher():  # the widget the teacher just moved already holds its value: the class need not wait for the page
        publish(current_path)
    asked = st.query_params.get(JOIN_PARAM)
    if asked is not None:
        st.query_params.pop(JOIN_PARAM, None)
        if not (role() == "student" and st.session_state.get(CODE) == asked.strip().upper()):
            join(asked)
    if role() != "student" or st.session_state.get(MODE) != "follow":
        return
    try:
        snap = store().latest(st.session_state[CODE])
    except cls.ClassError:
        _end("class_ended")
        return
    if snap.page is None or snap.version <= st.session_state.get(APPLIED, -1):
        return
    if snap.page != current_path and snap.page in pages:
        _switch(pages[snap.page])  # the next run lands there and takes the state
    _apply(snap.state)
    st.session_state[APPLIED] = snap.version


def _try_alone() -> None:
    st.session_state[MODE] = "try"


def _back_to_teacher() -> None:
    st.session_state[MODE] = "follow"
    st.session_state[APPLIED] = -1  # the teacher's current state, whatever its version


def _leave() -> None:
    try:
        store().leave(st.session_state[CODE], st.session_state[STUDENT])
    except cls.ClassError:
        pass
    _end(None)


def _asked_now(asked: cls.Asked | None) -> tuple | None:
    return None if asked is None else (asked.id, asked.revealed)


def banner() -> None:
    """Above the page, for a student in a class: following or trying, and the teacher's question.

    A small fragment checks the class once a second and reruns the app when the teacher moved on or asked,
    or revealed, something. The question's answer box is a fragment of its own that the clock never redraws,
    so a student typing an answer never loses a keystroke to a refresh."""
    if role() != "student":
        return
    code = st.session_state[CODE]
    try:
        asked = store().asked(code)
    except cls.ClassError:
        _end("class_ended")
        return
    st.session_state[ASKED] = _asked_now(asked)
    if asked is None:
        st.session_state[DRAWN] = None

    @common.timed_fragment(POLL_SECONDS)
    def watch() -> None:
        if role() != "student":
            return
        following = st.session_state.get(MODE) == "follow"
        try:
            now = time.monotonic()
            if now - st.session_state.get(BEAT, (0.0, None))[0] > BEAT_SECONDS or \
                    st.session_state[BEAT][1] != following:
                store().heartbeat(code, st.session_state[STUDENT], following)
                st.session_state[BEAT] = (now, following)
            snap = store().latest(code)
            latest_question = _asked_now(store().asked(code))
        except cls.ClassError:
            _end("class_ended")
            st.rerun(scope="app")
        if following and snap.page is not None and snap.version > st.session_state.get(APPLIED, -1):
            st.rerun(scope="app")
        if latest_question != st.session_state.get(ASKED) or latest_question != st.session_state.get(DRAWN):
            st.rerun(scope="app")  # a new or revealed question, or a card whose run another rerun cut short
        left, right = st.columns([5, 1.4], vertical_alignment="center")
        if following:
            left.caption(":material/cast_for_education: " + common.ui("class_following", code=code))
            right.button(common.ui("class_try"), key="class_try_btn", on_click=_try_alone, width="stretch")
        else:
            left.caption(":material/edit: " + common.ui("class_trying", code=code))
            right.button(common.ui("class_back"), key="class_back_btn", on_click=_back_to_teacher,
                         type="primary", width="stretch")

    line = st.container()  # the banner's line, above the card but drawn after it: the clock compares what the card drew
    if asked is not None:
        st.fragment(_question_card)(code, asked)
    with line:
        watch()


def _question(data: dict) -> Question:
    return Question(key=data["key"], params=dict(data.get("params", {})), answer=data["answer"],
                    choices=tuple(data.get("choices", ())), tolerance=float(data.get("tolerance", 1e-6)))


def _answer_label(text: str, question: Question, T, lang: str) -> str:
    """How an answer is shown: a choice by its words, a number written the page's way; never what was typed."""
    if question.is_choice:
        return T(text) if text in question.choices else "?"
    if text == "?":
        return common.ui("class_unreadable")
    return lessons.localize_numbers(text, lang)


def _canonical(question: Question, given: str) -> str:
    """What is kept of a student's answer: the choice, or the number read from it (``?`` when none is)."""
    if question.is_choice:
        return given if given in question.choices else "?"
    values = readings(given)
    if not values:
        return "?"
    right = [v for v in values if abs(v - float(question.answer)) <= question.tolerance]
    return format(right[0] if right else values[0], ".6g")


def _question_card(code: str, asked: cls.Asked) -> None:
    data = asked.question
    T = common.texts(data["page"])
    q = _question(data)
    words = T.quiz(q.key)
    student = st.session_state[STUDENT]
    st.session_state[DRAWN] = None  # until this run reaches the end: a run cut short is redrawn by the clock
    with st.container(border=True, key="class_question"):
        st.markdown(f"**{common.ui('class_asks')}** " + lessons.fill(words["prompt"], T.lang, **q.params))
        mine = store().my_answer(code, asked.id, student)
        if mine is None and not asked.revealed:
            slot = st.empty()  # the form, until the answer is sent; then what was sent, in the same run
            with slot.form(key=f"class_answer_{asked.id}", border=False):
                if q.is_choice:
                    given = st.radio(common.ui("quiz_answer"), list(q.choices), index=None, horizontal=True,
                                     format_func=lambda c: T(c), label_visibility="collapsed")
                else:
                    given = st.text_input(common.ui("quiz_answer"), placeholder=common.ui("quiz_placeholder"),
                                          label_visibility="collapsed")
                sent = st.form_submit_button(common.ui("class_send"), type="primary")
            if sent:
                if given is None or not str(given).strip():
                    st.warning(common.ui("class_answer_empty"))
                else:
                    store().answer(code, asked.id, student, _canonical(q, str(given)), is_correct(q, str(given)))
                    mine = store().my_answer(code, asked.id, student)
                    slot.empty()
        if mine is not None:
            shown = _answer_label(mine[0], q, T, T.lang)
            if asked.revealed:
                (st.success if mine[1] else st.error)(common.ui("class_yours_right" if mine[1] else "class_yours_wrong",
                                                                 answer=shown))
            else:
                st.info(common.ui("class_answer_in", answer=shown))
        if asked.revealed:
            shown = T(q.answer) if q.is_choice else q.answer
            st.markdown(lessons.fill(words["solution"], T.lang, answer=shown, **q.params))
    st.session_state[DRAWN] = _asked_now(asked)


# --- the sidebar ------------------------------------------------------------------------------------

def join_link(code: str) -> str:
    """The address that joins the class: this app's root with ``?join=CODE``."""
    url = getattr(st.context, "url", None) or ""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    path = parts.path
    for p in [st.session_state.get(PAGE) or ""]:  # the app may live under a path prefix (a proxy's /studio)
        if p and path.rstrip("/").endswith("/" + p):
            path = path.rstrip("/")[: -len(p) - 1]
    return f"{origin}{path.rstrip('/')}/?{JOIN_PARAM}={code}"


def qr_png(text: str, scale: int = 10) -> bytes:
    """A QR code of ``text`` as a PNG (black on white, with its quiet zone), drawn from segno's matrix."""
    import numpy as np
    import segno
    from PIL import Image

    matrix = np.array([list(row) for row in segno.make(text, error="m", micro=False).matrix], dtype=bool)
    matrix = np.pad(matrix, 4)
    pixels = np.where(np.kron(matrix, np.ones((scale, scale), dtype=bool)), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(out, format="PNG")
    return out.getvalue()


def _show_large(code: str, link: str) -> None:
    st.dialog(common.ui("class_title"), width="large")(_large)(code, link)


def _large(code: str, link: str) -> None:
    left, right = st.columns([1, 1], vertical_alignment="center")
    left.markdown(f"<div style='font-size:5rem;font-weight:700;letter-spacing:0.3rem'>{html.escape(code)}</div>",
                  unsafe_allow_html=True)
    left.markdown(common.ui("class_large_hint"))
    left.code(link, language=None)
    right.image(qr_png(link), width="stretch")


def _end_class() -> None:
    try:
        store().close(st.session_state[CODE], st.session_state[SECRET])
    except cls.ClassError:
        pass
    _end(None)


def sidebar() -> None:
    """The class panel in the sidebar: teach a class or join one; while teaching, the code, link, QR and counts."""
    note = st.session_state.pop(NOTE, None)  # why a join failed, or that the class ended: open, so it is read
    with st.expander(common.ui("class_title"), expanded=role() is not None or note is not None,
                     icon=":material/cast_for_education:"):
        if note:
            (st.info if note == "class_ended" else st.warning)(common.ui(note))
        if role() is None:
            st.button(common.ui("class_teach"), key="class_teach_btn", on_click=_open, width="stretch")
            with st.form("class_join_form", border=False):
                typed = st.text_input(common.ui("class_code_label"), max_chars=12,
                                      placeholder=common.ui("class_code_placeholder"))
                if st.form_submit_button(common.ui("class_join"), width="stretch") and join(typed):
                    st.rerun()
        elif is_teacher():
            code = st.session_state[CODE]
            link = join_link(code)
            st.markdown(common.ui("class_teaching", code=code))
            st.code(link, language=None)
            st.image(qr_png(link, scale=4), width=160)
            if st.button(common.ui("class_show_large"), key="class_large_btn", width="stretch"):
                _show_large(code, link)
            _teacher_counts()
            st.button(common.ui("class_end"), key="class_end_btn", on_click=_end_class, width="stretch")
        else:
            st.markdown(common.ui("class_in", code=st.session_state[CODE]))
            st.button(common.ui("class_leave"), key="class_leave_btn", on_click=_leave, width="stretch")


@common.timed_fragment(2.0)
def _teacher_counts() -> None:
    """The class's counts, every two seconds; also publishes a change made inside a page's own fragment."""
    if not is_teacher():
        return
    publish()
    try:
        counts = store().counts(st.session_state[CODE])
    except cls.ClassError:
        _end("class_err_no_class")
        st.rerun(scope="app")
    st.caption(common.ui("class_counts", n=counts.connected, following=counts.following, trying=counts.trying))


# --- asking the class (the quiz block calls these on the teacher's page) ---------------------------------

def question_data(T, q: Question, number: int) -> dict:
    return {"page": T.slug, "number": number, "key": q.key, "params": q.params, "answer": q.answer,
            "choices": q.choices, "tolerance": q.tolerance}


def ask_controls(T, q: Question, number: int, key: str) -> None:
    """Under a question on the teacher's page: "Ask the class", and for the question asked, the live answers."""
    if not is_teacher():
        return
    data = question_data(T, q, number)
    code, secret = st.session_state[CODE], st.session_state[SECRET]
    try:
        asked = store().asked(code)
    except cls.ClassError:
        return
    if asked is None or cls.dumps(asked.question) != cls.dumps(data):
        if st.button(common.ui("class_ask"), key=f"{key}__ask", icon=":material/campaign:"):
            store().ask(code, secret, data)
            st.rerun()
        return

    @common.timed_fragment(1.0)
    def answers() -> None:
        from core.figures.classroom import answers_chart

        try:
            tally = store().tally(code, secret, asked.id)
            revealed = store().asked(code).revealed
        except (cls.ClassError, AttributeError):
            return
        labels = {a: _answer_label(a, q, T, T.lang) for a in tally.answers}
        st.caption(common.ui("class_tally", n=tally.total, right=tally.right, wrong=tally.wrong))
        if tally.total:
            common.show_figure(answers_chart(tally, labels, common.ui("class_right"), common.ui("class_wrong")),
                               key=f"{key}__tally")
        if not revealed:
            if st.button(common.ui("class_reveal"), key=f"{key}__reveal", icon=":material/visibility:"):
                store().reveal(code, secret, asked.id)
                st.rerun(scope="fragment")
        else:
            st.caption(common.ui("class_revealed"))

    answers()
