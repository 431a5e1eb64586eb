"""`needtoknow sar export CRSID --out DIR`: a subject access export (OPERATIONS.md,
"Records lifecycle"). Writes DIR/CRSID.json and DIR/CRSID.html for the student and
DIR/CRSID-review.json for the data protection officer; records each note given as shown
(NoteShown: the student may then add a statement of disagreement to it) and audits the
export by counts only.

All or nothing: the files are written to a folder beside (or inside an empty) DIR and
moved into place, then the database change commits; if that fails the files are
removed. Bad input (an unknown crsid, a DIR that exists and is not empty or cannot be
written) writes nothing at all."""

import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from sqlalchemy import func
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from app.audit_key import keyed
from app.sar_gather import Gathered, gather
from app.sar_html import render_html
from app.settings import Settings
from models.audit_chain import AuditDraft, commit_with_audit
from models.db import make_engine, utcnow
from models.tables import NoteShown, Student

ACTION = "SUBJECT_ACCESS_EXPORT"
SAFE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")


class ExportError(Exception):
    """Bad input: the message says what and how to put it right."""


def _refuse(message: str) -> int:
    print(f"needtoknow sar export: {message}", file=sys.stderr)
    return 1


def _check_out(out: Path) -> bool:
    """Whether `out` exists (then empty); raises ExportError if it cannot be used."""
    if out.exists():
        if not out.is_dir():
            raise ExportError(f"--out {out} exists and is not a folder: name a new or empty folder")
        if any(out.iterdir()):
            raise ExportError(f"--out {out} exists and is not empty: name a new or empty folder")
        return True
    if not out.parent.is_dir():
        raise ExportError(f"--out {out}: the folder {out.parent} does not exist")
    return False


def _find(session: Session, crsid: str) -> Student:
    given = crsid.strip()
    rows = list(session.exec(select(Student).where(func.lower(Student.crsid) == given.lower())))
    exact = [s for s in rows if s.crsid == given]
    if exact or len(rows) == 1:
        return (exact or rows)[0]
    raise ExportError(f"no student has the crsid {given!r}: nothing written")


def _file_stem(crsid: str) -> str:
    """The crsid as the files' name: refused unless it is a plain file name."""
    if not SAFE_NAME.fullmatch(crsid):
        raise ExportError(
            f"the crsid {crsid!r} cannot name a file (letters, digits, '.', '_' and '-' "
            "only, not first '.'): nothing written"
        )
    return crsid


def _files(
    gathered: Gathered, student: Student, settings: Settings, now_iso: str
) -> dict[str, str]:
    header = {
        "college": settings.college_name,
        "generatedAt": now_iso,
        "about": "A copy of the welfare records held about you (UK GDPR Article 15).",
    }
    review = {
        "college": settings.college_name,
        "generatedAt": now_iso,
        "about": "Held back from the student's files, each with the exemption relied on; "
        "for the data protection officer only. Not to be sent to the student.",
        **gathered.review,
    }
    now = utcnow()
    return {
        f"{student.crsid}.json": json.dumps(header | gathered.given, indent=2, ensure_ascii=False),
        f"{student.crsid}.html": render_html(gathered.given, settings.college_name, now),
        f"{student.crsid}-review.json": json.dumps(review, indent=2, ensure_ascii=False),
    }


def _stage(out: Path, existed: bool, files: dict[str, str]) -> Path:
    stage = Path(tempfile.mkdtemp(prefix=".sar-export-", dir=out if existed else out.parent))
    try:
        for name, text in files.items():
            (stage / name).write_text(text + "\n", encoding="utf-8")
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return stage


def _publish(stage: Path, out: Path, existed: bool) -> None:
    if not existed:
        os.rename(stage, out)
        return
    for item in stage.iterdir():
        os.replace(item, out / item.name)
    stage.rmdir()


def _unpublish(out: Path, existed: bool, names: list[str]) -> None:
    if not existed:
        shutil.rmtree(out, ignore_errors=True)
        return
    for name in names:
        (out / name).unlink(missing_ok=True)


def _record(session: Session, student: Student, gathered: Gathered, operator: str | None) -> None:
    now = utcnow()
    already = set(
        session.exec(
            select(NoteShown.note_id).where(col(NoteShown.note_id).in_(gathered.shown_note_ids))
        )
    )
    for note_id in gathered.shown_note_ids:
        if note_id not in already:
            session.add(NoteShown(note_id=note_id, student_id=student.id, shown_at=now))
    counts = gathered.counts
    wellbeing = len(gathered.review["checkBeforeSending"]["wellbeingNotes"])
    event = AuditDraft(
        at=now,
        actor_id=None,
        actor_username=operator,
        actor_roles=(),
        action=ACTION,
        decision="ALLOWED",
        student_id=student.id,
        field_names=tuple(f"count:{name}:{n}" for name, n in sorted(counts.items())),
        # The notes' count includes the Wellbeing tier: sealed, so that the event is kept
        # from the Senior Tutors' view of the trail (as every event naming that tier is),
        # always, whatever the count; the data protection officer's export shows it.
        sealed_fields=(f"count:wellbeingNotes:{wellbeing}",),
    )
    commit_with_audit(session, [event])


def sar_export(settings: Settings, crsid: str, out_dir: str, operator: str | None) -> int:
    out = Path(out_dir)
    try:
        existed = _check_out(out)
    except ExportError as exc:
        return _refuse(str(exc))
    engine = keyed(make_engine(settings.database_url), settings)
    try:
        with Session(engine) as session:
            try:
                student = _find(session, crsid)
                _file_stem(student.crsid)
            except ExportError as exc:
                return _refuse(str(exc))
            exported = student.crsid
            gathered = gather(session, student, settings.access_log_shows_wellbeing)
            files = _files(gathered, student, settings, utcnow().isoformat())
            try:
                stage = _stage(out, existed, files)
                _publish(stage, out, existed)
            except OSError as exc:
                return _refuse(f"cannot write to {out}: {exc.strerror or exc}; nothing written")
            try:
                _record(session, student, gathered, operator)
            except BaseException:
                _unpublish(out, existed, list(files))
                raise
    except SQLAlchemyError as exc:
        return _refuse(f"the database failed ({type(exc).__name__}); nothing written")
    finally:
        engine.dispose()
    print(
        f"exported {exported} to {out}: {', '.join(files)}; "
        f"{len(gathered.shown_note_ids)} note(s) given; {gathered.counts['heldBack']} record(s) "
        f"held back, and staff named by role only: see {exported}-review.json"
    )
    return 0
