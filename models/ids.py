"""Row ids and import keys.

Public ids of records whose content is confidential (notes, consents, disclosures, duty
shifts) are random (`new_id`): an id derived from the content would let anyone who sees
the id confirm a guessed content. Only users and students, whose natural keys (username,
crsid) are visible to whoever can see them, have ids derived from those keys
(`natural_id`). The importer finds the rows it made before by `import_key`, a digest
kept in a column that the API never exposes."""

import hashlib
import os
import uuid

_NAMESPACE = uuid.UUID("6f1c3c5e-8f0e-4f7a-9a51-2a1e5b0d4c11")
_SEPARATOR = "\x1f"


def natural_id(kind: str, *parts: str) -> str:
    """A stable id for a record known by a natural key that is not itself confidential
    (users: username; students: crsid), so importing the same dataset twice finds the
    same rows instead of duplicating them. Never for notes, consents, disclosures or
    duty shifts: their ids are public, their natural keys are not."""
    return str(uuid.uuid5(_NAMESPACE, _SEPARATOR.join((kind, *parts))))


def import_key(kind: str, *parts: str) -> str:
    """The digest (SHA-256, 64 hex digits) of a record's natural key, stored in the row's
    `import_key` column so that importing the same dataset twice finds the same rows.
    The column is never exposed through the API."""
    return hashlib.sha256(_SEPARATOR.join((kind, *parts)).encode()).hexdigest()


def new_id() -> str:
    """A random (version 4) UUID, as `str(uuid.uuid4())` writes it, without building a
    UUID object (a large read appends one audit event per student, each with an id)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
