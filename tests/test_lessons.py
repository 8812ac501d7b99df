"""The words: both languages say the same things, Romanian is spelled properly, files parse."""
import tomllib

import pytest

from core import lessons
from core.lessons import LESSONS_DIR, LessonError, check_parity, split_sections


def test_languages_match():
    assert check_parity() == []


def test_parity_catches_a_missing_string_and_section(tmp_path):
    for lang, extra in (("en", 'extra = "x {n}"\n'), ("ro", "")):
        (tmp_path / lang).mkdir()
        (tmp_path / lang / "p.toml").write_text(f'title = "t"\n[ui]\na = "b"\n{extra}', encoding="utf-8")
        body = "intro\n<!-- more -->\ntext" if lang == "en" else "intro"
        (tmp_path / lang / "p.md").write_text(body, encoding="utf-8")
    (tmp_path / "en" / "only.md").write_text("x", encoding="utf-8")
    problems = "\n".join(check_parity(tmp_path))
    assert "lessons/en/only.md has no counterpart" in problems
    assert "lessons/ro/p.toml lacks ui.extra" in problems
    assert "lessons/ro/p.toml lacks ui.extra{n}" in problems
    assert "lessons/ro/p.md lacks section more" in problems


def test_parity_catches_a_changed_placeholder(tmp_path):
    for lang, s in (("en", "{count} cells"), ("ro", "{numar} celule")):
        (tmp_path / lang).mkdir()
        (tmp_path / lang / "p.toml").write_text(f'title = "t"\n[ui]\nn = "{s}"\n', encoding="utf-8")
    assert any("{count}" in p for p in check_parity(tmp_path))


@pytest.mark.parametrize("path", sorted(LESSONS_DIR.rglob("*.toml")), ids=lambda p: p.name)
def test_toml_parses_and_has_a_title(path):
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert data.get("title"), f"{path} needs a title"


def test_romanian_uses_comma_below():
    # ş and ţ (cedilla) are the old, wrong forms; Romanian writes ș and ț (comma below).
    for path in (LESSONS_DIR / "ro").rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert not set("şţŞŢ") & set(text), f"{path} uses a cedilla form; use ș ț Ș Ț"


def test_romanian_has_diacritics():
    text = "".join(p.read_text(encoding="utf-8") for p in (LESSONS_DIR / "ro").glob("*.md"))
    assert set("ăâîșț") <= set(text)


def test_sections_and_formatting():
    assert split_sections("a\n<!-- b -->\nc\n<!-- d_2 -->\ne") == {"intro": "a", "b": "c", "d_2": "e"}
    with pytest.raises(LessonError):
        split_sections("<!-- x -->\n1\n<!-- x -->\n2")
    T = lessons.texts("common", "en")
    assert T("device_memory", name="GPU", free=1.5, total=8) == "GPU: 1.5 GiB free of 8.0 GiB"
    with pytest.raises(LessonError, match="no \\[ui\\] string 'nope'"):
        T("nope")
    with pytest.raises(LessonError, match="unknown language"):
        lessons.texts("common", "fr")
