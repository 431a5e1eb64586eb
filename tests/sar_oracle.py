"""What the database holds about one student, read with plain SQL written for the tests
(independently of app/sar_gather.py), and the checks a subject access export must pass
against it."""

import html
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from sqlalchemy import Engine, text


def _list(value: Any) -> list[Any]:
    return list(json.loads(value) if isinstance(value, str) else value)


def mentioned(texts: list[str | None], words: list[str]) -> set[str]:
    """Which of `words` stand in any of `texts` as whole words, in any case."""
    if not words:
        return set()
    alternatives = "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))
    pattern = re.compile(r"(?<![A-Za-z0-9_])(?:" + alternatives + r")(?![A-Za-z0-9_])", re.I)
    found = {m.group(0).casefold() for t in texts for m in pattern.finditer(t or "")}
    return {w for w in words if w.casefold() in found}


def mentions(texts: list[str | None], word: str) -> bool:
    """`word` as a whole word, any case, in any of `texts`."""
    return bool(mentioned(texts, [word]))


@dataclass
class Held:
    id: str
    crsid: str
    row: dict[str, Any]
    ties: list[str]  # display names of the tutor, Directors of Studies and supervisors
    others: list[tuple[str, str]]  # (crsid, name) of every other student
    notes: dict[str, dict[str, Any]] = field(default_factory=dict)  # in created_at order
    consents: dict[str, str] = field(default_factory=dict)
    disclosures: dict[str, dict[str, Any]] = field(default_factory=dict)
    concerns: dict[str, dict[str, Any]] = field(default_factory=dict)
    legal_holds: dict[str, str] = field(default_factory=dict)
    alerts: int = 0
    reads: int = 0  # allowed reads of the record by anyone but the student alone
    events: int = 0  # every other event about them

    def names_another(self, texts: list[str | None]) -> bool:
        return bool(mentioned(texts, [w for pair in self.others for w in pair]))


def held(engine: Engine, crsid: str) -> Held:
    with engine.connect() as db:

        def rows(sql: str, **params: Any) -> list[dict[str, Any]]:
            return [dict(r._mapping) for r in db.execute(text(sql), params)]

        (row,) = rows("SELECT * FROM students WHERE crsid = :c", c=crsid)
        sid = row["id"]
        ties = [
            r["display_name"]
            for r in rows(
                "SELECT u.display_name FROM users u WHERE u.id = :t OR u.id IN "
                "(SELECT user_id FROM directors_of_studies WHERE student_id = :s) OR u.id IN "
                "(SELECT user_id FROM supervisions WHERE student_id = :s)",
                t=row["tutor_id"],
                s=sid,
            )
        ]
        others = [
            (r["crsid"], r["name"])
            for r in rows("SELECT crsid, name FROM students WHERE id <> :s", s=sid)
        ]
        found = Held(sid, crsid, row, ties, others)
        for n in rows(
            "SELECT id, summary, body, confidentiality FROM notes WHERE student_id = :s "
            "ORDER BY created_at, id",
            s=sid,
        ):
            amended = rows(
                "SELECT id, kind, text FROM note_amendments WHERE note_id = :n "
                "ORDER BY created_at, id",
                n=n["id"],
            )
            found.notes[n["id"]] = n | {"amendments": amended}
        for c in rows(
            "SELECT id, recipient_description FROM consents WHERE student_id = :s", s=sid
        ):
            found.consents[c["id"]] = c["recipient_description"]
        for d in rows("SELECT * FROM disclosures WHERE student_id = :s", s=sid):
            found.disclosures[d["id"]] = d
        for c in rows(
            "SELECT c.id, c.description, u.username, u.display_name FROM concerns c "
            "LEFT JOIN users u ON u.id = c.raised_by_id WHERE lower(c.crsid_given) = :c",
            c=crsid.lower(),
        ):
            found.concerns[c["id"]] = c
        for h in rows("SELECT id, reason FROM legal_holds WHERE student_id = :s", s=sid):
            found.legal_holds[h["id"]] = h["reason"]
        found.alerts = len(rows("SELECT id FROM alerts WHERE student_id = :s", s=sid))
        for e in rows(
            "SELECT action, decision, relationships FROM audit_events WHERE student_id = :s",
            s=sid,
        ):
            if e["action"] == "read":
                own = _list(e["relationships"]) == ["SELF"]
                found.reads += e["decision"] == "ALLOWED" and not own
            else:
                found.events += 1
        return found


class Page(HTMLParser):
    """The tags, headings and text of an HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[tuple[int, str | None]] = []
        self.text: list[str] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append((int(tag[1]), dict(attrs).get("id")))
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_title:
            self.title += data


def parse_page(document: str) -> Page:
    page = Page()
    page.feed(document)
    page.close()
    return page


def student_texts(given: dict[str, Any], document: str) -> list[str]:
    """The student's two files as text to search: the JSON's every string, and the
    HTML's text and attribute values (unescaped)."""
    strings: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                strings.append(k)
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(given)
    page = parse_page(document)
    strings += page.text
    strings += [html.unescape(v) for _, attrs in page.tags for v in attrs.values() if v]
    return strings
