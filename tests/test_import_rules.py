"""Issue 12, item 3: consents are matched on re-import by their `ref`, and the one
relaxation for legacy data (`needtoknow load --historical`) relaxes only the writer's tie
to the student, never the roles, and is recorded in the load's audit event."""

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app import cli
from app.importer import HISTORICAL, DatasetError, KindCounts, load_dataset
from models.db import create_schema
from models.ids import import_key
from models.tables import AuditEvent, Consent
from tests.conftest import TEST_AUDIT_KEY, keyed_engine
from tests.test_importer import BASE

Data = dict[str, Any]


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = keyed_engine(database_url)
    create_schema(made)
    yield made
    made.dispose()


def base() -> Data:
    return copy.deepcopy(BASE)


# --------------------------------------------------------------------------- consents by ref


def twin_consents() -> Data:
    """Two distinct consents given at one moment to one recipient: other categories and
    expiry, the same student, recipient, description and grant time."""
    data = base()
    data["consents"].append(
        {**data["consents"][0], "ref": "c1-health", "categories": ["HEALTH"], "expiresAt": None}
    )
    return data


def test_two_consents_given_at_one_moment_to_one_recipient_both_load(engine: Engine) -> None:
    assert load_dataset(engine, twin_consents()).consents == KindCounts(created=3)
    assert load_dataset(engine, twin_consents()).consents == KindCounts(unchanged=3)
    with Session(engine) as session:
        rows = session.exec(select(Consent).where(col(Consent.recipient_id).is_not(None))).all()
        assert sorted(r.categories[0] for r in rows) == ["ACADEMIC", "HEALTH"]
        assert sorted(str(r.import_key) for r in rows) == sorted(
            import_key("consent_ref", ref) for ref in ("c1", "c1-health")
        )


def test_a_later_file_revokes_the_consent_its_ref_names(engine: Engine) -> None:
    load_dataset(engine, twin_consents())
    later = {"consents": [{**twin_consents()["consents"][2], "revokedAt": BASE_REVOKE}]}
    assert load_dataset(engine, later).consents == KindCounts(updated=1)
    with Session(engine) as session:
        revoked = session.exec(select(Consent).where(col(Consent.revoked_at).is_not(None))).one()
        assert revoked.categories == ["HEALTH"]


BASE_REVOKE = "2026-11-20T09:00:00+00:00"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("student", "ab123"),
        ("recipientDescription", "Someone else"),
        ("grantedAt", "2026-11-03T11:00:00+00:00"),
    ],
)
def test_a_ref_cannot_be_moved_to_another_consent(engine: Engine, key: str, value: str) -> None:
    load_dataset(engine, base())
    moved = {**BASE["consents"][1], key: value}
    with pytest.raises(DatasetError) as caught:
        load_dataset(engine, {"consents": [moved]})
    assert caught.value.field == key
    assert "already recorded under ref 'c2'" in str(caught.value)


def test_consents_loaded_before_refs_are_found_by_their_old_key(engine: Engine) -> None:
    """A consent loaded when consents were matched on (student, recipient, description,
    grantedAt) is found again by that key and given its ref key: nothing is duplicated."""
    load_dataset(engine, base())
    with Session(engine) as session:
        for row in session.exec(select(Consent)):
            recipient = "dd201" if row.recipient_id is not None else ""
            crsid = "ab123" if recipient else "cd456"
            row.import_key = import_key(
                "consent",
                crsid,
                recipient,
                row.recipient_description,
                row.granted_at.isoformat(),
            )
            session.add(row)
        session.commit()

    assert load_dataset(engine, base()).consents == KindCounts(unchanged=2)
    with Session(engine) as session:
        keys = sorted(str(k) for k in session.exec(select(Consent.import_key)))
    assert keys == sorted(import_key("consent_ref", ref) for ref in ("c1", "c2"))


# --------------------------------------------------------------------------- --historical


def former_tutor_note() -> Data:
    """A note by jt102, the student's tutor once; the file now names jt101 as tutor."""
    data = base()
    data["users"].append({"username": "jt102", "displayName": "Dr Former", "roles": ["TUTOR"]})
    data["notes"].append({**BASE["notes"][0], "author": "jt102", "summary": "Old note"})
    return data


def test_a_former_tutors_note_needs_historical(engine: Engine) -> None:
    with pytest.raises(DatasetError) as caught:
        load_dataset(engine, former_tutor_note())
    assert (caught.value.record.split(" ")[0], caught.value.field) == ("notes[2]", "author")

    summary = load_dataset(engine, former_tutor_note(), "st001", historical=True)

    assert summary.notes == KindCounts(created=3)
    with Session(engine) as session:
        events = session.exec(select(AuditEvent).where(col(AuditEvent.student_id).is_(None)))
        assert [HISTORICAL in e.field_names for e in events] == [True]


@pytest.mark.parametrize(
    ("roles", "field"),
    [(["HUS_WELFARE_OFFICER"], "author"), (["DIRECTOR_OF_STUDIES"], "author"), ([], "author")],
)
def test_historical_never_relaxes_roles(engine: Engine, roles: list[str], field: str) -> None:
    data = former_tutor_note()
    data["users"][-1]["roles"] = roles
    with pytest.raises(DatasetError) as caught:
        load_dataset(engine, data, historical=True)
    assert caught.value.field == field


def test_historical_never_relaxes_a_tie_without_its_role(engine: Engine) -> None:
    data = base()
    data["users"].append(
        {"username": "hu901", "displayName": "H", "roles": ["HUS_WELFARE_OFFICER"]}
    )
    data["students"][0]["tutor"] = "hu901"
    with pytest.raises(DatasetError) as caught:
        load_dataset(engine, data, historical=True)
    assert caught.value.field == "tutor"


def test_a_duty_tutors_note_outside_the_recorded_shifts_needs_historical(engine: Engine) -> None:
    data = base()
    data["users"].append({"username": "du703", "displayName": "D", "roles": ["DUTY_TUTOR"]})
    data["notes"].append({**BASE["notes"][0], "author": "du703", "summary": "Night call"})
    with pytest.raises(DatasetError):
        load_dataset(engine, data)
    inside = copy.deepcopy(data)
    inside["dutyShifts"].append(
        {
            "username": "du703",
            "startsAt": "2026-11-02T09:00:00+00:00",
            "endsAt": "2026-11-02T11:00:00+00:00",
        }
    )
    assert load_dataset(engine, inside).notes.created == 3


def test_the_cli_takes_historical(
    engine: Engine,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("NEEDTOKNOW_DATABASE_URL", database_url)
    monkeypatch.setenv("NEEDTOKNOW_AUDIT_KEY", TEST_AUDIT_KEY)
    path = tmp_path / "legacy.json"
    path.write_text(json.dumps(former_tutor_note()), encoding="utf-8")

    assert cli.main(["load", str(path)]) == 1
    assert "notes[2]" in capsys.readouterr().err
    assert cli.main(["load", str(path), "--historical"]) == 0, capsys.readouterr().err
