"""The student page shows "Left the College" (leftAt) to those who read it and "Legal
hold" (with its reason) to the Senior Tutors only (docs/ACCESS.md, "The records'
lifecycle"); for everyone else the HTML holds neither, not even the words."""

from datetime import UTC, datetime
from typing import Any

import pytest

from app.demo import demo_dataset
from tests.test_mutations_support import student_id
from tests.web_support import Site

REASON = "Litigation hold zk55: claim before the county court"
HOLD = "mutation($id: ID!, $r: String!) { setLegalHold(studentId: $id, reason: $r) { id } }"
# The staff personas whose page of A. Bee (ab123) exists, and what each reads.
LEFT_AT = {"st100", "dst100", "jt101", "wb200", "to300"}  # SENIOR, TUTOR, WELLBEING, OFFICE
HOLD_READERS = {"st100", "dst100"}  # SENIOR
PERSONAS = ["st100", "dst100", "jt101", "dt102", "wb200", "to300"]


@pytest.fixture
def lifecycle_site(site_for: Any) -> Site:
    data = demo_dataset(datetime.now(UTC), generated=0)
    bee = next(s for s in data["students"] if s["crsid"] == "ab123")
    bee["leftAt"] = "2025-06-30"
    site: Site = site_for(data)
    sid = student_id(site.service.engine, "ab123")
    site.service.data("st100", HOLD, {"id": sid, "r": REASON})
    return site


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_leaving_date_and_the_hold_show_to_their_readers(
    lifecycle_site: Site, persona: str
) -> None:
    sid = student_id(lifecycle_site.service.engine, "ab123")
    page = lifecycle_site.browser(persona).get(f"/students/{sid}")
    assert page.status_code == 200, page.text
    html = page.text
    shows_left = "<dt>Left the College</dt><dd>30 June 2025</dd>" in html
    assert shows_left == (persona in LEFT_AT), persona
    assert ("2025-06-30" in html or "30 June 2025" in html) == (persona in LEFT_AT)
    assert ("<dt>Legal hold</dt>" in html) == (persona in HOLD_READERS), persona
    assert (REASON in html) == (persona in HOLD_READERS), persona
    assert ("legal hold" in html.lower()) == (persona in HOLD_READERS), persona
