r"""The words of the app: lesson prose, UI strings and quizzes, read from ``lessons/<lang>/``.

Each page ``slug`` has two files per language:

* ``<slug>.toml`` — ``title = "..."`` and a ``[ui]`` table of short strings (widget labels, messages),
  optionally a ``[quiz.<key>]`` table per quiz question with ``prompt`` and ``solution`` templates.
* ``<slug>.md`` — the prose, cut into named sections by lines ``<!-- name -->``; the text before the first
  marker is the section ``intro``.

Strings are ``str.format`` templates: ``T("stride_is", s=2)``. A teacher edits these files without
touching Python, and ``check_parity`` makes sure both languages say the same things.
"""
from __future__ import annotations

import numbers
import re
import string
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

LESSONS_DIR = Path(__file__).resolve().parent.parent / "lessons"
LANGUAGES = ("en", "ro")  # English first: the fallback nobody should ever need
_SECTION = re.compile(r"^<!--\s*([a-z0-9_]+)\s*-->\s*$", re.MULTILINE)


class LessonError(KeyError):
    """A lesson file or string is missing: the message names the file and the key."""

    def __str__(self) -> str:  # KeyError quotes its message; this one reads as a sentence
        return str(self.args[0]) if self.args else ""


def split_sections(markdown: str) -> dict[str, str]:
    """Cut a lesson's markdown at ``<!-- name -->`` markers; text before the first one is ``intro``."""
    parts = _SECTION.split(markdown)
    sections = {"intro": parts[0].strip()} if parts[0].strip() else {}
    for name, body in zip(parts[1::2], parts[2::2]):
        if name in sections:
            raise LessonError(f"section '{name}' appears twice")
        sections[name] = body.strip()
    return sections


@lru_cache(maxsize=256)
def _read(lang: str, slug: str, mtimes: tuple[float, float]) -> tuple[dict, dict[str, str]]:
    folder = LESSONS_DIR / lang
    toml_path, md_path = folder / f"{slug}.toml", folder / f"{slug}.md"
    data = tomllib.loads(toml_path.read_text(encoding="utf-8")) if toml_path.exists() else {}
    sections = split_sections(md_path.read_text(encoding="utf-8")) if md_path.exists() else {}
    return data, sections


def _mtime(path: Path) -> float:
    return path.stat().st_mtime if path.exists() else 0.0


@dataclass(frozen=True)
class Texts:
    """The words of one page in one language. ``T("key", **fmt)`` is a UI string, ``T.md(name)`` prose."""

    lang: str
    slug: str
    data: dict = field(repr=False)
    sections: dict[str, str] = field(repr=False)

    @property
    def title(self) -> str:
        try:
            return self.data["title"]
        except KeyError:
            raise LessonError(f"lessons/{self.lang}/{self.slug}.toml has no title") from None

    def __call__(self, key: str, **fmt) -> str:
        try:
            template = self.data["ui"][key]
        except KeyError:
            raise LessonError(f"lessons/{self.lang}/{self.slug}.toml has no [ui] string '{key}'") from None
        return _format(self.lang, template, fmt) if fmt else template

    def has(self, key: str) -> bool:
        return key in self.data.get("ui", {})

    def md(self, name: str = "intro", **fmt) -> str:
        try:
            text = self.sections[name]
        except KeyError:
            raise LessonError(f"lessons/{self.lang}/{self.slug}.md has no section '{name}'") from None
        return _format(self.lang, text, fmt) if fmt else text

    def quiz(self, key: str) -> dict[str, str]:
        try:
            return self.data["quiz"][key]
        except KeyError:
            raise LessonError(f"lessons/{self.lang}/{self.slug}.toml has no [quiz.{key}]") from None

    def table(self, name: str) -> dict:
        """Another top-level table of the page's TOML (class names, option labels...)."""
        try:
            return self.data[name]
        except KeyError:
            raise LessonError(f"lessons/{self.lang}/{self.slug}.toml has no table [{name}]") from None


class _Numbers(string.Formatter):
    """``str.format`` that writes numbers as the language does: Romanian "0,783" and "23.060" (the comma and
    the point swap places), English unchanged. Strings and other values pass through untouched."""

    def __init__(self, lang: str):
        super().__init__()
        self.lang = lang

    def format_field(self, value, format_spec: str) -> str:
        text = super().format_field(value, format_spec)
        if self.lang == "ro" and isinstance(value, numbers.Number) and not isinstance(value, bool):
            text = text.translate(_SWAP)
        return text


_SWAP = str.maketrans({".": ",", ",": "."})
_FORMATTERS = {lang: _Numbers(lang) for lang in LANGUAGES}


def _format(lang: str, template: str, fmt: dict) -> str:
    return _FORMATTERS[lang].vformat(template, (), fmt)


def number(value: float, spec: str = "", lang: str = "en") -> str:
    """One number as ``lang`` writes it: ``number(0.7834, ".3f", "ro") == "0,783"``."""
    return _FORMATTERS.get(lang, _FORMATTERS["en"]).format_field(value, spec)


def texts(slug: str, lang: str = "en") -> Texts:
    """Load the words of ``slug`` in ``lang`` (re-read when a teacher edits the file)."""
    if lang not in LANGUAGES:
        raise LessonError(f"unknown language '{lang}'; valid: {', '.join(LANGUAGES)}")
    folder = LESSONS_DIR / lang
    toml_path, md_path = folder / f"{slug}.toml", folder / f"{slug}.md"
    if not toml_path.exists() and not md_path.exists():
        raise LessonError(f"no lesson files for '{slug}' in lessons/{lang}/")
    data, sections = _read(lang, slug, (_mtime(toml_path), _mtime(md_path)))
    return Texts(lang, slug, data, sections)


def _shape(value, prefix: str = "") -> set[str]:
    """The set of key paths of a nested TOML table (values' placeholders included)."""
    paths: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            paths |= _shape(v, f"{prefix}.{k}" if prefix else k)
    elif isinstance(value, list):
        paths.add(f"{prefix}[{len(value)}]")
    else:
        paths.add(prefix)
        if isinstance(value, str):
            for name in sorted(set(re.findall(r"(?<!\{)\{([a-zA-Z_][a-zA-Z0-9_]*)[^{}]*\}", value))):
                paths.add(f"{prefix}{{{name}}}")
    return paths


def check_parity(root: Path = LESSONS_DIR) -> list[str]:
    """Every difference between the languages, as sentences; an empty list means they match.

    Compares the file names, every TOML key (and the ``{placeholders}`` each string uses) and the
    markdown section names, so a string or a section added in one language alone is caught.
    """
    problems: list[str] = []
    files = {lang: {p.relative_to(root / lang).as_posix() for p in (root / lang).rglob("*") if p.is_file()}
             for lang in LANGUAGES}
    base, *others = LANGUAGES
    for other in others:
        for name in sorted(files[base] ^ files[other]):
            where = base if name in files[base] else other
            problems.append(f"lessons/{where}/{name} has no counterpart in the other language")
    for name in sorted(set.intersection(*files.values())):
        paths = {lang: root / lang / name for lang in LANGUAGES}
        if name.endswith(".toml"):
            shapes = {lang: _shape(tomllib.loads(p.read_text(encoding="utf-8"))) for lang, p in paths.items()}
        elif name.endswith(".md"):
            shapes = {lang: {f"section {s}" for s in split_sections(p.read_text(encoding="utf-8"))}
                      for lang, p in paths.items()}
        else:
            continue
        for other in others:
            for key in sorted(shapes[base] - shapes[other]):
                problems.append(f"lessons/{other}/{name} lacks {key}")
            for key in sorted(shapes[other] - shapes[base]):
                problems.append(f"lessons/{base}/{name} lacks {key}")
    return problems
