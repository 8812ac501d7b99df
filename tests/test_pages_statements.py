"""Pages say what is on screen: numbers in the text come from the code that makes the figures (issue 15)."""
import pytest

from core import lessons
from tests.conftest import page_text, run_page


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_scribbles_window_is_the_networks_own(lang):
    from core.training.scribbles import receptive_field

    at = run_page("scribbles", lang)
    assert not at.exception
    side = receptive_field()
    text = page_text(at)
    assert f"{side}×{side}" in text
    assert "31×31" not in text
