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
import time
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
    """``str.format`` that writes numbers as the language does, with two small additions for words.

    * Romanian writes "0,783" and "23 060": a decimal comma and a (no-break) space between thousands;
      English is unchanged. A number inside ``$…$`` (KaTeX) gets ``{,}``, the comma maths needs.
    * A float with no format spec that is a whole number prints as one ("51300", not "51300.0"), and
      others without their float noise.
    * A string value that carries numbers (``format_number``'s "0.25", "[0.5, 1.25]") is localised the same
      way (:func:`localize_numbers`); the template's own words are never touched.
    * ``{n:plural:pair|pairs}`` (English: one|other) and ``{n:plural:pereche|perechi|de perechi}``
      (Romanian: one|few|other, see :func:`plural`) print the word that agrees with ``n``;
      ``{n:a}`` prints the English article for the number ("an 8", "a 16", "an 11"); ``{n:A}`` starts a
      sentence with it.
    """

    def __init__(self, lang: str):
        super().__init__()
        self.lang = lang

    def format_field(self, value, format_spec: str, math: bool = False) -> str:
        if format_spec.startswith("plural:"):
            return plural(value, format_spec[len("plural:"):].split("|"), self.lang)
        if format_spec in ("a", "A"):
            word = article(value)
            return word.capitalize() if format_spec == "A" else word
        if isinstance(value, float) and not format_spec and math_is_finite(value):
            value = int(value) if value == int(value) and abs(value) < 1e15 else float(f"{value:.12g}")
        text = super().format_field(value, format_spec)
        if self.lang == "ro":
            if isinstance(value, numbers.Number) and not isinstance(value, bool):
                text = text.translate(_MATH_SWAP if math else _SWAP)
            elif isinstance(value, str):
                text = localize_numbers(text, self.lang, math=math)
        return text


def math_is_finite(v: float) -> bool:
    return v == v and v not in (float("inf"), float("-inf"))


NBSP = "\u00a0"  # between groups of thousands in Romanian: "23 060" does not break across lines
_SWAP = str.maketrans({".": ",", ",": NBSP})
_MATH_SWAP = {ord("."): "{,}", ord(","): r"\,"}
_FORMATTERS = {lang: _Numbers(lang) for lang in LANGUAGES}


def _format(lang: str, template: str, fmt: dict) -> str:
    """Fill ``template``; a field between ``$`` signs (inline or display maths) is written for KaTeX."""
    formatter = _FORMATTERS[lang]
    out: list[str] = []
    dollars = 0
    for literal, name, spec, conversion in formatter.parse(template):
        out.append(literal)
        dollars += literal.replace(r"\$", "").count("$")
        if name is None:
            continue
        value, _ = formatter.get_field(name, (), fmt)
        value = formatter.convert_field(value, conversion)
        if spec and "{" in spec:
            spec = formatter.vformat(spec, (), fmt)
        out.append(formatter.format_field(value, spec or "", math=dollars % 2 == 1))
    return "".join(out)


def fill(template: str, lang: str = "en", **fmt) -> str:
    """A template of the lessons (say a quiz's prompt) filled as ``T(...)`` fills its strings."""
    return _format(lang if lang in _FORMATTERS else "en", template, fmt)


def number(value: float, spec: str = "", lang: str = "en") -> str:
    """One number as ``lang`` writes it: ``number(0.7834, ".3f", "ro") == "0,783"``,
    ``number(23060, ",", "ro") == "23 060"`` (a no-break space)."""
    return _FORMATTERS.get(lang, _FORMATTERS["en"]).format_field(value, spec)


def plural(n, forms, lang: str = "en") -> str:
    """The form of a word that agrees with the number ``n``.

    English gives two forms (one, other): ``plural(1, ["pair", "pairs"]) == "pair"``. Romanian gives three
    (one, few, other): 1 → "pereche"; 0, 2–19 and numbers ending in 01–19 → "perechi"; 20, 21…, 100 → "de
    perechi" (as in "20 de perechi"). Fractions take the "few" form in Romanian ("1,5 perechi"), the other
    form in English ("1.5 pairs"). A missing form falls back to the last one given.
    """
    forms = list(forms)
    if isinstance(n, str):
        try:
            n = float(n.replace(",", ".").replace(NBSP, "").replace(" ", ""))
        except ValueError:
            n = 2  # not a number: the plural form
    if not forms:
        raise ValueError("plural() needs at least one form of the word")
    whole = isinstance(n, numbers.Integral) or (isinstance(n, numbers.Real) and float(n).is_integer())
    k = abs(int(n)) if whole else None
    if lang == "ro":
        index = 0 if k == 1 else 1 if k is None or k == 0 or 1 <= k % 100 <= 19 else 2
    else:
        index = 0 if k == 1 else 1
    return forms[min(index, len(forms) - 1)]


def article(n) -> str:
    """The English indefinite article before a number read aloud: "an 8 × 8", "an 11", "an 18", "a 16"."""
    digits = str(abs(int(n))) if isinstance(n, numbers.Real) and math_is_finite(float(n)) else str(n)
    if not digits.isdigit():
        return "a"
    # "eight…", "eleven…", "eighteen…" start with a vowel sound; so do 11 000 and 18 000 (read in thousands)
    if digits[0] == "8":
        return "an"
    group = len(digits) % 3 or 3  # the digits before the first thousands separator
    return "an" if group == 2 and digits[:2] in ("11", "18") else "a"


# --- numbers inside text -------------------------------------------------------------------------------

_CODE = re.compile(r"`[^`]*`")
# A version or a name that contains a point ("SAM 2.1", "sam2.1-hiera", "apache-2.0", "4.57.1", "v1.5"): not a number
_VERSION = re.compile(r"(?:\bSAM\s?|[A-Za-z_]-?|[vV])\d+(?:\.\d+)+|\d+(?:\.\d+){2,}")
_DECIMAL = re.compile(r"(?<![\w.,/\\])(\d+)\.(\d+)(?!(?![eE][-+]?\d)[\w/\\]|\.\d)")
_DECIMAL_MATH = re.compile(r"(?<![\w.,/\\])(\d+)\.(\d+)(?!(?![eE][-+]?\d)[\w/]|\.\d)")  # "0.25\cdot"
_THOUSANDS = re.compile(r"(?<![\w.,/\\])\d{1,3}(?:,\d{3})+(?![\w,]|\.\d)")
_BARE_LIST = re.compile(r"\s*[-−]?\d+(?:\.\d+)?(?:\s*,\s*[-−]?\d+(?:\.\d+)?)+\s*")
_MATH = re.compile(r"(\$\$.*?\$\$|\$[^$]*\$)", re.DOTALL)


def _outer_groups(text: str):
    """(start, end) of every outermost ``[…]`` or ``(…)`` group, brackets included."""
    depth, start = 0, 0
    for i, ch in enumerate(text):
        if ch in "[(":
            if depth == 0:
                start = i
            depth += 1
        elif ch in "])" and depth:
            depth -= 1
            if depth == 0:
                yield start, i + 1


def _localize_plain(text: str, math: bool) -> str:
    comma = "{,}" if math else ","
    protected: list[str] = []

    def protect(m: re.Match) -> str:
        protected.append(m.group(0))
        return f"\x00{len(protected) - 1}\x00"

    text = _VERSION.sub(protect, text)
    # In a bracketed list that holds a decimal number, the list's commas become semicolons, as Romanian
    # writes them ("[0,5; 1,25]"), so a decimal comma is never read as a separator. "(2, 3)" stays.
    pieces, last = [], 0
    for a, b in _outer_groups(text):
        group = text[a:b]
        if _DECIMAL.search(group):
            group = re.sub(r"(?<=[\d\])])\s*,\s*(?=[-−+\[(]?\s*\d)", "; ", group)
        pieces += [text[last:a], group]
        last = b
    text = "".join(pieces) + text[last:]
    if _BARE_LIST.fullmatch(text) and _DECIMAL.search(text):  # "104.0, 40.0" alone in a cell: a list too
        text = re.sub(r"\s*,\s*", "; ", text.strip())
    text = _THOUSANDS.sub(lambda m: m.group(0).replace(",", r"\," if math else NBSP), text)
    text = (_DECIMAL_MATH if math else _DECIMAL).sub(lambda m: f"{m.group(1)}{comma}{m.group(2)}", text)
    return re.sub(r"\x00(\d+)\x00", lambda m: protected[int(m.group(1))], text)


def localize_numbers(text: str, lang: str, math: bool = False) -> str:
    """Rewrite the numbers of a text written with a decimal point for ``lang`` (Romanian: "0.25" → "0,25",
    "23,060" → "23 060", "[0.5, 1]" → "[0,5; 1]"); English and every other language: unchanged.

    Code in backticks, versions and names ("SAM 2.1", "4.57.1", "layer1.0"), and lists of whole numbers
    ("x[0, 1]", "(2, 3)") are left as they are; between ``$`` signs the comma is KaTeX's ``{,}``.
    ``math=True`` says the whole text is maths (a field of a template inside ``$…$``).
    """
    if lang != "ro" or not text:
        return text
    if math:
        return _localize_plain(text, True)
    out, last = [], 0
    for m in list(_CODE.finditer(text)) + [None]:
        end = m.start() if m else len(text)
        chunk = text[last:end]
        parts = _MATH.split(chunk)
        out.append("".join(_localize_plain(p, p.startswith("$")) for p in parts))
        if m:
            out.append(m.group(0))
            last = m.end()
    return "".join(out)


# How often the lesson files' modification times are looked at again: a page asks for its words dozens of times per
# rerun, and each look is four system calls; a teacher's edit shows at the next rerun a second later.
RECHECK_S = 1.0
_checked: dict[tuple[str, str], tuple[float, Texts]] = {}


def texts(slug: str, lang: str = "en") -> Texts:
    """Load the words of ``slug`` in ``lang`` (re-read when a teacher edits the file, within ``RECHECK_S``)."""
    now = time.monotonic()
    hit = _checked.get((lang, slug))
    if hit is not None and now - hit[0] < RECHECK_S:
        return hit[1]
    if lang not in LANGUAGES:
        raise LessonError(f"unknown language '{lang}'; valid: {', '.join(LANGUAGES)}")
    folder = LESSONS_DIR / lang
    toml_path, md_path = folder / f"{slug}.toml", folder / f"{slug}.md"
    if not toml_path.exists() and not md_path.exists():
        raise LessonError(f"no lesson files for '{slug}' in lessons/{lang}/")
    data, sections = _read(lang, slug, (_mtime(toml_path), _mtime(md_path)))
    words = Texts(lang, slug, data, sections)
    _checked[(lang, slug)] = (now, words)
    return words


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


# --- numbers in tables ---------------------------------------------------------------------------------

_PRINTF = re.compile(r"%([-+ 0#]*)(\d*)(?:\.(\d+))?([dfegi])")


def _spec_of(printf: str | None) -> tuple[str, str, str]:
    """A column's printf-style format ("%.2f MB") as (prefix, Python spec, suffix); ``.4g`` without one."""
    m = _PRINTF.search(printf or "")
    if not m:
        return "", ".4g", ""
    flags, width, digits, kind = m.groups()
    kind = "d" if kind == "i" else kind
    spec = f"{flags}{width}" + (f".{digits}" if digits is not None and kind != "d" else "") + kind
    return printf[:m.start()].replace("%%", "%"), spec, printf[m.end():].replace("%%", "%")


def localize_frame(frame, lang: str, column_config: dict | None = None):
    """A table's numbers as ``lang`` writes them: ``(frame, column_config)`` to hand to the table widget.

    The browser writes a table's floats with a decimal point whatever the page's language, so in Romanian
    every float column becomes text ("0,453"), formatted by that column's own printf format when its
    configuration has one (``{"type_config": {"type": "number", "format": "%.3f"}}``, what a number column's
    configuration holds) and to four significant digits otherwise; its configuration becomes a right-aligned
    text column with the same label, help and width. Text cells have their numbers localised ("104,0; 40,0"). English
    tables come back unchanged. ``frame`` itself is never modified.
    """
    if lang != "ro":
        return frame, column_config
    frame = frame.copy()
    config = dict(column_config or {})
    for col in frame.columns:
        series = frame[col]
        entry = config.get(col) if isinstance(config.get(col), dict) else None
        type_config = (entry or {}).get("type_config") or {}
        if series.dtype.kind == "f" or (series.dtype.kind in "iu" and type_config.get("type") == "number"
                                        and "%" in str(type_config.get("format", "")) and "d" not in str(type_config.get("format", ""))):
            prefix, spec, suffix = _spec_of(type_config.get("format") if type_config.get("type") == "number" else None)
            frame[col] = [
                "" if v is None or (isinstance(v, float) and v != v) else prefix + number(float(v), spec, lang) + suffix
                for v in series.tolist()]
            entry = {k: v for k, v in (entry or {}).items() if k != "type_config"}
            entry["type_config"] = {"type": "text"}
            entry["alignment"] = entry.get("alignment") or "right"  # numbers stay aligned as numbers are
            config[col] = entry
        elif series.dtype.kind == "O":
            frame[col] = [localize_numbers(v, lang) if isinstance(v, str) else v for v in series.tolist()]
    return frame, (config or column_config)
