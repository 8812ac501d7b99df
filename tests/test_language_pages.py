"""Every page in Romanian reads as Romanian: no number with a decimal point (text, metrics, tables, figures),
no English-only sentence of the English lesson, no lesson key shown instead of its words; and every choice
kept in the page address holds the same value in both languages.

Each page is run through AppTest once per language (the runs are shared by the tests of this module); what a
test reads is every string of every element the page sent, the way the browser would get it.
"""
from __future__ import annotations

import html
import json
import re
import tomllib
from functools import lru_cache

import pytest
from google.protobuf.message import Message

from app_pages.ui.manifest import all_pages
from core import lessons
from core.lessons import LESSONS_DIR, split_sections
from tests import steps
from tests.conftest import run_page

PAGES = [p.slug for p in all_pages()]

# proto fields that hold no words for the reader: ids, keys, icons, formats, component code and data
_NOT_SHOWN = {"id", "form_id", "query_param_key", "icon", "key", "element_hash", "type", "url", "src", "theme",
              "selection_mode", "format", "data_type", "tag", "columns", "config", "js_content", "json", "html",
              "component_name", "arrow_data", "data", "placeholder_text", "language"}
_COMPONENTS = {"ComponentInstance", "CustomComponent", "BidiComponent", "Html", "IFrame", "DeckGlJsonChart",
               "GraphVizChart", "ArrowVegaLiteChart", "Code", "Json"}


def _nodes(node):
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield from _nodes(child)


def _strings(msg: Message, where: str, out: list[tuple[str, str]]) -> None:
    for fd, value in msg.ListFields():
        if fd.name in _NOT_SHOWN:
            continue
        for v in (value if fd.is_repeated else [value]) if hasattr(fd, "is_repeated") else (
                value if fd.label == fd.LABEL_REPEATED else [value]):
            if isinstance(v, Message):
                _strings(v, f"{where}.{fd.name}", out)
            elif isinstance(v, str) and v:
                out.append((f"{where}.{fd.name}", v))


def _figure_strings(spec: str) -> tuple[list[str], str | None]:
    """What a plotly figure shows as text (cells, names, annotations, titles, tick labels), and its separators."""
    fig = json.loads(spec)
    out: list[str] = []

    def flat(v):
        if isinstance(v, list):
            for x in v:
                yield from flat(x)
        elif isinstance(v, str):
            yield v

    for trace in fig.get("data", []):
        for prop in ("text", "name", "hovertext", "texttemplate"):
            out += list(flat(trace.get(prop)))

    def walk(d):
        if isinstance(d, dict):
            for k, v in d.items():
                if k in ("text", "ticktext"):
                    out.extend(flat(v))
                elif k not in ("template",):
                    walk(v)
        elif isinstance(d, list):
            for x in d:
                walk(x)

    walk(fig.get("layout", {}))
    return out, fig.get("layout", {}).get("separators")


class Render:
    """One page in one language: what it shows, its figures' separators, its address and its bound widgets."""

    def __init__(self, slug: str, lang: str, state: dict | None = None):
        at = run_page(slug, lang, state)
        self.exceptions = [str(e.value) for e in at.exception]
        self.shown: list[tuple[str, str]] = []  # (element.field, text)
        self.separators: list[str | None] = []
        self.bound: dict[str, list[str]] = {}  # query-param key → the labels its value is written from
        for node in _nodes(at._tree):
            proto = getattr(node, "proto", None)
            if proto is None:
                continue
            kind = type(proto).__name__
            if kind == "PlotlyChart":
                texts, separators = _figure_strings(proto.spec)
                self.shown += [("figure", t) for t in texts]
                self.separators.append(separators)
                continue
            if kind == "BidiComponent" and proto.component_name == steps.COMPONENT:
                data = json.loads(proto.json)  # a step-through played in the browser: every step it can show
                for k in range(data["n"]):
                    state = steps.step_state(data, k)
                    for fig in state["figs"]:
                        texts, separators = _figure_strings(json.dumps(fig))
                        self.shown += [("step figure", t) for t in texts]
                        self.separators.append(separators)
                    self.shown.append(("step caption", html.unescape(re.sub(r"<[^>]+>", " ", state["caption"]))))
                self.shown += [("step labels", v) for v in data["labels"].values()]
                continue
            if kind in _COMPONENTS:
                continue
            if kind == "Block":
                which = proto.WhichOneof("type")
                sub = getattr(proto, which) if which else None
                if sub is not None and getattr(sub, "query_param_key", ""):
                    self.bound[sub.query_param_key] = [getattr(c, "label", "") for c in node.children.values()]
            elif getattr(proto, "query_param_key", "") and len(getattr(proto, "options", ())) > 0:
                self.bound[proto.query_param_key] = [o if isinstance(o, str) else getattr(o, "content", str(o))
                                                     for o in proto.options]
            _strings(proto, kind, self.shown)
        for frame in list(at.dataframe) + list(at.table):
            if getattr(frame, "editing_mode", "read_only") != "read_only":
                continue  # an editable grid: the student types numbers into it
            table = frame.value
            for col in table.columns:
                self.shown.append(("table header", str(col)))
                if table[col].dtype.kind == "f":  # the browser writes a float column with a decimal point
                    self.shown += [("table", repr(float(v))) for v in table[col].tolist()[:3]]
                elif table[col].dtype.kind == "O":
                    self.shown += [("table", str(v)) for v in table[col].tolist()]
        self.query = {k: v for k, v in at.query_params.items() if k != "lang"}


@lru_cache(maxsize=None)
def render(slug: str, lang: str) -> Render:
    return Render(slug, lang)


# --- a decimal point in Romanian ---------------------------------------------------------------------------------

_CODE = re.compile(r"`[^`]*`")
_NAME = re.compile(r"SAM \d+\.\d+|[A-Za-z_-]\d+(?:\.\d+)+|\d+(?:\.\d+){2,}")  # SAM 2.1, sam2.1-hiera, 4.57.1
_POINT = re.compile(r"(?<![\w.,/\\])\d+\.\d+(?![\w.])")


def decimal_points(text: str) -> list[str]:
    """The numbers written with a decimal point in a text (code spans, versions and names left out)."""
    return _POINT.findall(_NAME.sub(" ", _CODE.sub(" ", text)))


def test_the_detector_sees_points_and_not_names():
    assert decimal_points("rândul 0.25, $x = 2.5$ și 91.0%") == ["0.25", "2.5", "91.0"]
    assert decimal_points("rândul 0,25, SAM 2.1, `x = 2.5`, transformers 4.57.1, (2, 3)") == []


# pages away from their defaults: the other views of a page, parameters that give fractions
OTHER_STATES = [("transposed_convolution", {"tc_view": v, "tc_k": 4, "tc_s": 3, "tc_op": 1, "tc_d": 2, "tc_p": 1})
                for v in ("overlap", "zero", "matrix", "gallery")] + [
    ("bilinear", {"bl_ac": True, "bl_out_rows": 5, "bl_out_cols": 7}),
    ("segmentation_metrics", {"sm_dx": 2, "sm_miss": True}),
    ("max_unpooling", {"mu_step": 5}),
    ("pose_heatmaps", {"ph_noise": 0.05, "ph_sigma": 1.25}),
]


@pytest.mark.parametrize("slug, state", [(slug, None) for slug in PAGES] + OTHER_STATES,
                         ids=[*PAGES, *(f"{s}-{'-'.join(map(str, st.values()))}" for s, st in OTHER_STATES)])
def test_romanian_pages_write_decimal_commas(slug, state):
    page = render(slug, "ro") if state is None else Render(slug, "ro", state)
    assert not page.exceptions, page.exceptions
    found = [(where, text[:120]) for where, text in page.shown if decimal_points(text)]
    assert not found, f"numbers with a decimal point on the Romanian page {slug}: {found[:8]}"
    assert all(s and s.startswith(",") for s in page.separators), \
        f"a figure of {slug} writes its axes and hover numbers with a decimal point: {page.separators}"


# --- English left on a Romanian page -------------------------------------------------------------------------------

def _all_strings(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _all_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _all_strings(v)
    elif isinstance(value, str):
        yield value


def _lesson_texts(lang: str) -> tuple[list[str], set[str]]:
    """Every string and prose section of the lessons in ``lang``, and every [ui] key with an underscore."""
    texts, keys = [], set()
    for path in sorted((LESSONS_DIR / lang).glob("*")):
        raw = path.read_text(encoding="utf-8")
        if path.suffix == ".toml":
            data = tomllib.loads(raw)
            texts += list(_all_strings(data))
            keys |= {k for k in data.get("ui", {}) if "_" in k}
        elif path.suffix == ".md":
            texts += list(split_sections(raw).values())
    return texts, keys


@lru_cache(maxsize=1)
def english_only() -> tuple[list[str], set[str]]:
    """Sentences of the English lessons (cut at placeholders) that no Romanian lesson contains, and the keys."""
    en, keys = _lesson_texts("en")
    ro_corpus = "\n".join(_lesson_texts("ro")[0]).lower()
    fragments = set()
    for text in en:
        for piece in re.split(r"\{[^{}]*\}|(?<=[.!?:;])\s+|\n+|\*\*|`[^`]*`", _CODE.sub("\n", text)):
            piece = piece.strip(" *_-—–,.;:()")
            if len(piece) >= 24 and len(re.findall(r"[A-Za-z]{2,}", piece)) >= 4 and piece.lower() not in ro_corpus:
                fragments.add(piece.lower())
    return sorted(fragments), keys


_ENGLISH = {"the", "is", "and", "of", "with", "this", "that", "from", "yet", "not", "your", "you", "which", "has",
            "have", "there", "only", "threads", "cannot", "must", "was", "were", "will", "would", "should", "into",
            "than", "when", "where", "what", "how", "why", "nothing", "least", "draw", "each", "its", "it's"}


def english_words(text: str) -> set[str]:
    """The common English words of a text (code and model ids left out): three or more say it is English."""
    text = _CODE.sub(" ", text)
    text = re.sub(r"\b[\w.-]+/[\w.-]+\b", " ", text)  # hub ids such as facebook/sam2.1-hiera-tiny
    return {w for w in re.findall(r"[a-z']+", text.lower())} & _ENGLISH


def test_the_english_detectors_see_english_and_not_romanian():
    assert len(english_words("Nothing is painted yet: draw at least one stroke for each class you want.")) >= 3
    assert len(english_words("Nu ai desenat încă nimic: desenează cel puțin o trăsătură.")) == 0
    fragments, keys = english_only()
    assert "the transposed convolution's output size" in " ".join(fragments) and "tab_scatter" in keys


@pytest.mark.parametrize("slug", PAGES)
def test_romanian_pages_show_no_english_and_no_keys(slug):
    page = render(slug, "ro")
    fragments, keys = english_only()
    shown = [text for _, text in page.shown]
    corpus = "\n".join(shown).lower()
    left = [f for f in fragments if f in corpus]
    assert not left, f"English lesson sentences on the Romanian page {slug}: {left[:5]}"
    english = [(text[:100], sorted(english_words(text))) for text in shown if len(english_words(text)) >= 3]
    assert not english, f"English on the Romanian page {slug}: {english[:5]}"
    raw_keys = sorted({t for t in shown if t.strip() in keys} | {t[:80] for t in shown if "has no [ui] string" in t})
    assert not raw_keys, f"lesson keys shown instead of words on {slug}: {raw_keys}"


# --- the address speaks no language ------------------------------------------------------------------------------------

@pytest.mark.parametrize("slug", PAGES)
def test_choices_kept_in_the_address_are_the_same_in_both_languages(slug):
    en, ro = render(slug, "en"), render(slug, "ro")
    assert not en.exceptions and not ro.exceptions
    assert en.query == ro.query, f"{slug} writes a different address in each language"
    assert set(en.bound) == set(ro.bound)
    differ = {key: (en.bound[key], ro.bound[key]) for key in en.bound if en.bound[key] != ro.bound[key]}
    # Streamlit writes a bound widget's shown label into the address; a translated label would make an English
    # link open another choice in Romanian. Such a choice goes through common.choice, which keeps its value.
    assert not differ, f"{slug}: bound widgets whose address value would depend on the language: {differ}"


@pytest.mark.parametrize("view", ["overlap", "matrix", "gallery"])
def test_a_transposed_convolution_link_opens_the_same_tab_in_both_languages(view):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    opened = {}
    for lang in lessons.LANGUAGES:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.query_params["tc_view"] = view
        at.session_state["lang"] = lang
        at.switch_page("app_pages/transposed_convolution.py")
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        T = lessons.texts("transposed_convolution", lang)
        opened[lang] = at.session_state["tc_view"]
        assert at.session_state["tc_view__tab"] == T(f"tab_{view}")
        assert at.query_params.get("tc_view") in (view, [view])
    assert opened == {"en": view, "ro": view}
