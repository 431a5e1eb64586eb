"""The SQL row filter agrees with the policy: for generated colleges and callers, the
students a page returns, and each one's relationships, are exactly those the policy
gives when asked about each real student on its own (relationships.polar)."""

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from authz.decisions import Decisions
from authz.engine import build_oso
from authz.facts import Caller, StudentTies
from models.db import create_schema
from models.tables import DirectorOfStudies, Student, Supervision, User
from resolvers.context import RequestContext
from resolvers.cursors import CursorSigner
from resolvers.students import StudentFilterSpec, student_page
from tests.conftest import keyed_engine

OSO = build_oso()
USERS = ["u0", "u1", "u2"]
ROLE_SETS = st.sets(
    st.sampled_from(
        [
            "STUDENT",
            "TUTOR",
            "SENIOR_TUTOR",
            "PORTER",
            "DUTY_TUTOR",
            "DIRECTOR_OF_STUDIES",
            "ANALYST",
        ]
    ),
    max_size=3,
)
STUDENT = st.fixed_dictionaries(
    {
        "crsid": st.sampled_from(["u0", "u1", "s1", "s2"]),
        "tutor": st.none() | st.sampled_from(USERS),
        "directors": st.sets(st.sampled_from(USERS)),
        "supervisors": st.sets(st.sampled_from(USERS)),
    }
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    students=st.lists(STUDENT, max_size=5, unique_by=lambda s: s["crsid"]),
    caller_name=st.sampled_from(USERS),
    roles=ROLE_SETS,
    on_duty=st.booleans(),
)
def test_sql_ties_match_the_policy(
    students: list[dict[str, object]], caller_name: str, roles: set[str], on_duty: bool
) -> None:
    engine = keyed_engine("sqlite://")
    create_schema(engine)
    with Session(engine) as session:
        for name in USERS:
            session.add(User(id=f"id-{name}", username=name, display_name=name, roles=[]))
        session.flush()
        for i, s in enumerate(students):
            sid = f"st-{i}"
            tutor = s["tutor"]
            session.add(
                Student(
                    id=sid,
                    crsid=str(s["crsid"]),
                    name=f"Student {i}",
                    tutor_id=None if tutor is None else f"id-{tutor}",
                )
            )
            session.flush()
            for d in sorted(s["directors"]):  # type: ignore[call-overload]
                session.add(DirectorOfStudies(student_id=sid, user_id=f"id-{d}"))
            for v in sorted(s["supervisors"]):  # type: ignore[call-overload]
                session.add(Supervision(student_id=sid, user_id=f"id-{v}"))
        session.commit()

        caller = Caller(
            f"id-{caller_name}", caller_name, caller_name, tuple(sorted(roles)), on_duty
        )
        decisions = Decisions(OSO, caller)
        ctx = RequestContext(session, caller, decisions, datetime.now(UTC), CursorSigner(b"k"))
        page = student_page(ctx, 100, None, StudentFilterSpec())
        got = {r.row.id: r.standing.relationships for r in page.records}

        expected: dict[str, frozenset[str]] = {}
        for row in session.exec(select(Student)):
            directors = session.exec(
                select(DirectorOfStudies.user_id).where(DirectorOfStudies.student_id == row.id)
            ).all()
            supervisors = session.exec(
                select(Supervision.user_id).where(Supervision.student_id == row.id)
            ).all()
            ties = StudentTies(row.crsid, row.tutor_id, tuple(directors), tuple(supervisors))
            relationships = Decisions(OSO, caller).relationships(ties)
            if relationships:
                expected[row.id] = relationships
    engine.dispose()
    assert got == expected
