"""Reports: a grouping chosen twice is the form's error, in plain words, at the field."""

import logging

import pytest

from tests.web_support import Site


@pytest.mark.parametrize("dimension", ["CATEGORY", "COURSE", "MONTH"])
def test_a_grouping_chosen_twice_is_a_form_error(
    site: Site, dimension: str, caplog: pytest.LogCaptureFixture
) -> None:
    browser = site.browser("st100")
    with caplog.at_level(logging.WARNING):
        page = browser.get(
            f"/reports?measure=NOTES&by={dimension}&then_by={dimension}"
            "&from=2026-01-01&to=2026-06-30"
        )
    assert page.status_code == 400
    assert "Choose a second grouping that differs from the first" in page.text
    assert 'href="#then_by"' in page.text
    assert "groupBy" not in page.text
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
