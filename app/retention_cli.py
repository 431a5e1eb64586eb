"""`needtoknow retention plan|apply [--as-of T]` (OPERATIONS.md, "Records lifecycle")."""

import sys
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from app.audit_key import audit_key
from app.settings import Settings
from models.audit_chain import bind_audit_key
from models.db import make_engine
from models.erasure import KINDS, Counts
from models.retention import Due, Plan, RetentionRefused, apply, make_plan


def _counts(counts: Counts) -> str:
    combined = counts.combined()
    return " ".join(f"{kind}={combined[kind]}" for kind in KINDS)


def _students(dues: list[Due]) -> str:
    return ", ".join(f"{d.crsid} (left {d.left_at.isoformat()})" for d in dues)


def _report(plan: Plan, applied: bool) -> None:
    verb = "erased" if applied else "would erase"
    print(
        f"retention {'apply' if applied else 'plan'} as of {plan.as_of.isoformat()}: records "
        f"are kept {plan.years} year(s) after a student's leftAt (NEEDTOKNOW_RETENTION_YEARS)"
    )
    for item in plan.erase:
        due = item.due
        print(
            f"  {verb} {due.crsid}: left {due.left_at.isoformat()}, kept until "
            f"{due.due.isoformat()}; {_counts(item.counts)}"
        )
    if plan.erase:
        print(f"{verb} the records of {len(plan.erase)} student(s): {_counts(plan.total())}")
    else:
        print(f"nothing to erase: no student past retention has records left ({verb} nothing)")
    if plan.held:
        print(f"kept under a legal hold: {len(plan.held)} student(s): {_students(plan.held)}")
    if plan.already_erased:
        print(f"already erased earlier (nothing left): {len(plan.already_erased)} student(s)")
    if applied and plan.erase:
        print("the names, crsids, courses, tutors and teaching ties of these students remain")


def _as_of(given: datetime | None) -> datetime:
    return datetime.now(UTC) if given is None else given


def retention(
    settings: Settings, command: str, as_of: datetime | None, operator: str | None
) -> int:
    """Runs `retention plan` or `retention apply`; 0 on success, 1 when refused."""
    key = audit_key(settings)
    engine = bind_audit_key(make_engine(settings.database_url), key)
    moment = _as_of(as_of)
    try:
        with Session(engine) as session:
            if command == "plan":
                plan = make_plan(session, moment, settings.retention_years)
            else:
                plan = apply(session, moment, settings.retention_years, operator)
    except RetentionRefused as exc:
        print(
            f"needtoknow retention {command}: refused: {exc}; nothing was written", file=sys.stderr
        )
        return 1
    except SQLAlchemyError as exc:
        print(
            f"needtoknow retention {command}: the database refused ({type(exc).__name__}); "
            "run `needtoknow db upgrade` first if it is not at the newest revision",
            file=sys.stderr,
        )
        return 1
    finally:
        engine.dispose()
    _report(plan, applied=command == "apply")
    return 0
