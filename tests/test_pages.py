"""Every registered page runs in both languages: no exception, its title and its lesson intro shown."""
import pytest

from app_pages.ui.manifest import all_pages
from core import lessons
from tests.conftest import page_text, run_page

PAGES = [p.slug for p in all_pages()]


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
@pytest.mark.parametrize("slug", PAGES)
def test_page_runs(slug, lang):
    at = run_page(slug, lang)
    assert not at.exception, [e.value for e in at.exception]
    T = lessons.texts(slug, lang)
    assert [t.value for t in at.title][:1] == [T.title]
    first_line = T.md("intro").splitlines()[0]
    assert first_line[:40] in page_text(at)


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_sidebar_speaks_the_language(lang):
    at = run_page("start", lang)
    words = lessons.texts("common", lang)
    labels = [w.label for w in at.sidebar.selectbox] + [w.label for w in at.sidebar.toggle]
    assert words("device") in labels and words("presentation") in labels


def test_presentation_mode_runs():
    at = run_page("start", "en", state={"presentation": True})
    assert not at.exception


def test_every_page_has_its_files():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for slug in PAGES:
        assert (root / "app_pages" / f"{slug}.py").exists(), slug
        for lang in lessons.LANGUAGES:
            assert lessons.texts(slug, lang).title
