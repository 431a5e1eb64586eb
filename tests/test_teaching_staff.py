"""`Student.directorsOfStudies` and `Student.supervisors` (docs/ACCESS.md, "The project's
additions", "Who teaches a student"): readable by the student and by the relationships
that read all of a student's consents (TUTOR, SENIOR, WELLBEING, OFFICE); null for
PORTER, DUTY, DOS and SUPERVISOR; the student does not exist for anyone else."""

from tests.web_support import Site

TEACHING = """{ a: studentByCrsid(crsid: "ab123") { directorsOfStudies { username displayName }
  supervisors { username } }
  c: studentByCrsid(crsid: "cd456") {
    directorsOfStudies { username } supervisors { username } } }"""

BEE = {
    "directorsOfStudies": [{"username": "dd201", "displayName": "Dr D. Studies (DoS Law)"}],
    "supervisors": [{"username": "sv202"}],
}
DEE = {"directorsOfStudies": [], "supervisors": [{"username": "dd201"}]}
HIDDEN = {"directorsOfStudies": None, "supervisors": None}


def test_who_teaches_a_student_is_shown_to_self_and_the_consent_readers_only(site: Site) -> None:
    expected = {
        "ab123": (BEE, None),  # SELF; C. Dee does not exist for her
        "cd456": (None, DEE),
        "jt101": (BEE, None),  # TUTOR of A. Bee only
        "dst100": (BEE, DEE),  # SENIOR (and C. Dee's tutor)
        "st100": (BEE, DEE),  # SENIOR
        "wb200": (BEE, DEE),  # WELLBEING
        "to300": (BEE, DEE),  # OFFICE
        "pl400": (HIDDEN, HIDDEN),  # PORTER
        "dd201": (HIDDEN, HIDDEN),  # DOS of A. Bee, SUPERVISOR of C. Dee
        "sv202": (HIDDEN, None),  # SUPERVISOR of A. Bee
        "hu500": (None, None),  # no relationship
        "an600": (None, None),
    }
    for persona, (bee, dee) in expected.items():
        data = site.service.data(persona, TEACHING)
        assert (data["a"], data["c"]) == (bee, dee), persona
    # the duty tutor on shift: DUTY to A. Bee and C. Dee
    data = site.service.data("dt102", TEACHING)
    assert (data["a"], data["c"]) == (HIDDEN, HIDDEN)


def test_a_page_of_students_gets_each_their_own_teachers(site: Site) -> None:
    page = site.service.data(
        "st100",
        "{ students(first: 10) { edges { node { crsid directorsOfStudies { username } "
        "supervisors { username } } } } }",
    )
    got = {e["node"]["crsid"]: e["node"] for e in page["students"]["edges"]}
    assert got["ab123"]["directorsOfStudies"] == [{"username": "dd201"}]
    assert got["cd456"]["supervisors"] == [{"username": "dd201"}]
    assert got["ef789"] == {"crsid": "ef789", "directorsOfStudies": [], "supervisors": []}
