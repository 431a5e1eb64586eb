"""The JSON of a page's students, written by the database: one SQL expression per
picked object, with the policy's masks (compiled_masks.py) as conditions. A field the
tables below do not know is declined, and the reference path answers the document.

Each builder mirrors one API type's `of` (schema/types/*.py): the same columns, the same
conversions (a year of study outside its range reads null, times as isoformat), the
same rows and order as resolvers/batches.py."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count

from authz.decisions import Decisions
from authz.facts import Carrier, Standing
from models.audit_chain import api_field_name
from models.fields import YEAR_OF_STUDY
from resolvers.compiled_masks import (
    Masks,
    consent_masks,
    disclosure_masks,
    note_masks,
    student_masks,
)
from resolvers.json_sql import JsonSql
from resolvers.picks import Declined, Pick

LOW, HIGH = YEAR_OF_STUDY
MAX_LISTS = 2  # record lists nested in one another (node.notes, then one back-reference)


def _columns(*names: str) -> dict[str, str]:
    """API field name -> column, for columns sent as they are stored."""
    return {api_field_name(name): name for name in names}


STUDENT_PLAIN = _columns(
    "id", "crsid", "name", "course", "room", "emergency_contact", "lodge_alert", "risk_level"
)
STAFF = _columns("username", "display_name")
NOTE_PLAIN = _columns("id", "category", "summary", "body", "confidentiality")
AMENDMENT = _columns("id", "kind", "text", "created_at")
CONSENT_TIMES = _columns("granted_at", "expires_at", "revoked_at")
DISCLOSURE_PLAIN = _columns("id", "recipient", "basis", "justification", "information_shared")


@dataclass
class Objects:
    sql: JsonSql
    decisions: Decisions
    standings: list[Standing]
    fields: list[frozenset[str]]  # per standing: the Student fields granted
    students: Masks = field(init=False)
    _aliases: Iterator[int] = field(default_factory=lambda: count(1))
    _depth: int = 0

    def __post_init__(self) -> None:
        self.students = student_masks(self.fields)

    def alias(self, prefix: str) -> str:
        return f"{prefix}{next(self._aliases)}"

    def _granting(self, name: str) -> list[int]:
        return [k for k, f in enumerate(self.fields) if name in f]

    # ---- Student (over `p`, the student; `t`, their tutor) ----
    def student(self, picks: tuple[Pick, ...], p: str = "p", t: str = "t") -> str:
        pairs = []
        for pick in picks:
            if pick.name == "__typename":
                pairs.append((pick.key, "'Student'"))
                continue
            python, value = self._student_value(pick, p, t)
            condition = self.students.condition(python, non_null=pick.non_null)
            pairs.append((pick.key, self.sql.when(condition, value)))
        return self.sql.obj(*pairs)

    def _student_value(self, pick: Pick, p: str, t: str) -> tuple[str, str]:
        s = self.sql
        column = STUDENT_PLAIN.get(pick.name)
        if column is not None:
            return column, f"{p}.{column}"
        if pick.name == "yearOfStudy":
            year = f"{p}.year_of_study"
            return "year_of_study", f"CASE WHEN {year} BETWEEN {LOW} AND {HIGH} THEN {year} END"
        if pick.name == "welfareFlag":
            return "welfare_flag", s.boolean(f"{p}.welfare_flag")
        if pick.name == "leftAt":
            return "left_at", s.day(f"{p}.left_at")
        if pick.name == "tutor":
            return "tutor", self.staff(pick.picks, t)
        if pick.name == "notes":
            return "notes", self.notes(pick.picks, p, t)
        if pick.name == "consents":
            return "consents", self.consents(pick.picks, p, t)
        if pick.name == "disclosures":
            return "disclosures", self.disclosures(pick.picks, p, t)
        raise Declined(f"Student.{pick.name}")

    # ---- StaffContact (a users row; null when there is none) ----
    def staff(self, picks: tuple[Pick, ...], u: str) -> str:
        granted = self.decisions.fields(Carrier("StaffContact"))
        pairs = []
        for pick in picks:
            if pick.name == "__typename":
                pairs.append((pick.key, "'StaffContact'"))
                continue
            python = STAFF.get(pick.name)
            if python is None:
                raise Declined(f"StaffContact.{pick.name}")
            if python not in granted and pick.non_null:
                raise Declined(f"non-null StaffContact.{pick.name} withheld")
            pairs.append((pick.key, f"{u}.{python}" if python in granted else "NULL"))
        missing = f"{u}.username IS NULL OR {u}.display_name IS NULL"
        return f"(CASE WHEN {missing} THEN NULL ELSE {self.sql.obj(*pairs)} END)"

    # ---- shared by the record types ----
    def _record(
        self,
        type_name: str,
        picks: tuple[Pick, ...],
        masks: Masks,
        value_of: Callable[[Pick], tuple[str, str]],
    ) -> str:
        pairs = []
        for pick in picks:
            if pick.name == "__typename":
                pairs.append((pick.key, f"'{type_name}'"))
                continue
            python, value = value_of(pick)
            condition = masks.condition(python, non_null=pick.non_null)
            pairs.append((pick.key, self.sql.when(condition, value)))
        return self.sql.obj(*pairs)

    def _list_of(
        self,
        type_name: str,
        picks: tuple[Pick, ...],
        masks: Masks,
        value_of: Callable[[Pick], tuple[str, str]],
        rows: str,
        order: str,
    ) -> str:
        """The JSON array of a student's records: `rows` (FROM ... WHERE, over the
        student) narrowed to those the reader may see, each written by `_record`."""
        with self._list():
            element = self._record(type_name, picks, masks, value_of)
        return self.sql.array(element, f"{rows} AND {masks.listed()}", order)

    def _back(self, pick: Pick, p: str, t: str) -> tuple[str, str] | None:
        """`student` of a note, consent or disclosure: the page's own student. Notes read
        through it are declined: which of them the reference records as read depends on
        the records the path runs through, which the audit column does not follow."""
        if pick.name != "student":
            return None
        if any(sub.name == "notes" for sub in pick.picks):
            raise Declined("notes read through a back-reference")
        return "student", self.student(pick.picks, p, t)

    @contextmanager
    def _list(self) -> Iterator[None]:
        """One record list deeper: SQLite's parser refuses subqueries nested much deeper
        than MAX_LISTS lists, so deeper documents are declined."""
        self._depth += 1
        try:
            if self._depth > MAX_LISTS:
                raise Declined(f"records nested {self._depth} lists deep")
            yield
        finally:
            self._depth -= 1

    # ---- Note ----
    def notes(self, picks: tuple[Pick, ...], p: str, t: str) -> str:
        n, a = self.alias("n"), self.alias("a")
        masks = note_masks(self.decisions, self.standings, self._granting("notes"), n)

        def value_of(pick: Pick) -> tuple[str, str]:
            column = NOTE_PLAIN.get(pick.name)
            if column is not None:
                return column, f"{n}.{column}"
            if pick.name == "createdAt":
                return "created_at", self.sql.ts(f"{n}.created_at")
            if pick.name == "author":
                return "author", self.staff(pick.picks, a)
            if pick.name == "amendments":
                return "amendments", self.amendments(pick.picks, n)
            back = self._back(pick, p, t)
            if back is None:
                raise Declined(f"Note.{pick.name}")
            return back

        rows = (
            f"FROM notes {n} LEFT JOIN users {a} ON {a}.id = {n}.author_id "
            f"WHERE {n}.student_id = {p}.id"
        )
        return self._list_of("Note", picks, masks, value_of, rows, f"{n}.created_at DESC, {n}.id")

    def amendments(self, picks: tuple[Pick, ...], n: str) -> str:
        """A note's corrections and statements, oldest first (resolvers/amendments.py);
        the note's mask decides whether they are shown at all."""
        m = self.alias("m")
        with self._list():
            element = self._amendment(picks, m)
        rows = f"FROM note_amendments {m} WHERE {m}.note_id = {n}.id"
        return self.sql.array(element, rows, f"{m}.created_at, {m}.id")

    def _amendment(self, picks: tuple[Pick, ...], m: str) -> str:
        granted = self.decisions.fields(Carrier("NoteAmendment"))
        pairs = []
        for pick in picks:
            if pick.name == "__typename":
                pairs.append((pick.key, "'NoteAmendment'"))
                continue
            column = AMENDMENT.get(pick.name)
            if column is None:
                raise Declined(f"NoteAmendment.{pick.name}")
            if column not in granted and pick.non_null:
                raise Declined(f"non-null NoteAmendment.{pick.name} withheld")
            value = self.sql.ts(f"{m}.created_at") if column == "created_at" else f"{m}.{column}"
            pairs.append((pick.key, value if column in granted else "NULL"))
        return self.sql.obj(*pairs)

    def note_marks(self, p: str) -> str:
        """[[id, tier], ...] of the notes `notes` lists: what the audit records."""
        n = self.alias("n")
        masks = note_masks(self.decisions, self.standings, self._granting("notes"), n)
        element = (
            f"json_build_array({n}.id, {n}.confidentiality)"
            if self.sql.postgresql
            else f"json_array({n}.id, {n}.confidentiality)"
        )
        rows = f"FROM notes {n} WHERE {n}.student_id = {p}.id AND {masks.listed()}"
        listed = self.students.condition("notes")
        return self.sql.when(listed, self.sql.array(element, rows, f"{n}.id"))

    # ---- Consent ----
    def _consent_value(self, pick: Pick, c: str, r: str, p: str, t: str) -> tuple[str, str]:
        s = self.sql
        if pick.name == "id":
            return "id", f"{c}.id"
        if pick.name == "recipient":
            return "recipient", self.staff(pick.picks, r)
        if pick.name == "recipientDescription":
            return "recipient_description", f"{c}.recipient_description"
        if pick.name == "categories":
            return "categories", s.json_column(f"{c}.categories")
        if pick.name in CONSENT_TIMES:
            column = CONSENT_TIMES[pick.name]
            return column, s.ts(f"{c}.{column}")
        if pick.name == "active":
            active = (
                f"{c}.granted_at <= :now AND {c}.revoked_at IS NULL AND "
                f"({c}.expires_at IS NULL OR {c}.expires_at > :now)"
            )
            return "active", s.boolean(active)
        back = self._back(pick, p, t)
        if back is None:
            raise Declined(f"Consent.{pick.name}")
        return back

    def consents(self, picks: tuple[Pick, ...], p: str, t: str) -> str:
        c, r = self.alias("c"), self.alias("r")
        masks = consent_masks(self.decisions, self.standings, self._granting("consents"), c)
        rows = (
            f"FROM consents {c} LEFT JOIN users {r} ON {r}.id = {c}.recipient_id "
            f"WHERE {c}.student_id = {p}.id"
        )
        return self._list_of(
            "Consent",
            picks,
            masks,
            lambda pick: self._consent_value(pick, c, r, p, t),
            rows,
            f"{c}.granted_at DESC, {c}.id",
        )

    # ---- Disclosure ----
    def disclosures(self, picks: tuple[Pick, ...], p: str, t: str) -> str:
        x, by, auth = self.alias("x"), self.alias("b"), self.alias("u")
        xc, xr = self.alias("c"), self.alias("r")
        granting = self._granting("disclosures")
        masks = disclosure_masks(self.decisions, self.standings, granting, x)
        of_consent = consent_masks(self.decisions, self.standings, granting, xc)
        s = self.sql

        def value_of(pick: Pick) -> tuple[str, str]:
            column = DISCLOSURE_PLAIN.get(pick.name)
            if column is not None:
                return column, f"{x}.{column}"
            if pick.name == "occurredAt":
                return "occurred_at", s.ts(f"{x}.occurred_at")
            if pick.name == "withheldFromStudent":
                return "withheld_from_student", s.boolean(f"{x}.withheld_from_student")
            if pick.name == "disclosedBy":
                return "disclosed_by", self.staff(pick.picks, by)
            if pick.name == "authorisedBy":
                return "authorised_by", self.staff(pick.picks, auth)
            if pick.name == "consent":
                # the reference: null unless the consent exists and its class grants `id`
                consent = self._record(
                    "Consent",
                    pick.picks,
                    of_consent,
                    lambda sub: self._consent_value(sub, xc, xr, p, t),
                )
                shown = f"{xc}.id IS NOT NULL AND {of_consent.listed()}"
                return "consent", s.when(shown, consent)
            back = self._back(pick, p, t)
            if back is None:
                raise Declined(f"Disclosure.{pick.name}")
            return back

        rows = (
            f"FROM disclosures {x} LEFT JOIN users {by} ON {by}.id = {x}.disclosed_by_id "
            f"LEFT JOIN users {auth} ON {auth}.id = {x}.authorised_by_id "
            f"LEFT JOIN consents {xc} ON {xc}.id = {x}.consent_id "
            f"LEFT JOIN users {xr} ON {xr}.id = {xc}.recipient_id "
            f"WHERE {x}.student_id = {p}.id"
        )
        return self._list_of(
            "Disclosure", picks, masks, value_of, rows, f"{x}.occurred_at DESC, {x}.id"
        )
