"""Signed checkpoints of the audit chain: the head (seq and hash) at a moment, signed
with the audit key. Kept outside the database (printed by `needtoknow audit checkpoint`,
stored on another system), a checkpoint proves later that the event it names still has
that hash, so that nothing up to it was changed or removed, and that the chain was not
cut back below it."""

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

VERSION = 1
FIELDS = ("version", "seq", "hash", "at")


class CheckpointError(ValueError):
    pass


def _signature(key: bytes, content: dict[str, object]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, b"checkpoint\x1f" + canonical, hashlib.sha256).hexdigest()


def sign(key: bytes, seq: int, event_hash: str, at: datetime) -> dict[str, object]:
    content: dict[str, object] = {
        "version": VERSION,
        "seq": seq,
        "hash": event_hash,
        "at": at.isoformat(),
    }
    return content | {"signature": _signature(key, content)}


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str


def read(key: bytes, text: str) -> Checkpoint:
    """The checkpoint in `text`, if its signature is good under `key`."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise CheckpointError(f"not a JSON document: {exc}") from None
    if not isinstance(document, dict) or set(document) != {*FIELDS, "signature"}:
        raise CheckpointError(f"expected a JSON object with {', '.join(FIELDS)} and signature")
    seq, event_hash, at = document["seq"], document["hash"], document["at"]
    signature = document["signature"]
    if (
        document["version"] != VERSION
        or not isinstance(seq, int)
        or isinstance(seq, bool)
        or seq < 1
        or not all(isinstance(v, str) for v in (event_hash, at, signature))
    ):
        raise CheckpointError("a field has the wrong type or value (seq: a positive integer)")
    content = {name: document[name] for name in FIELDS}
    if not hmac.compare_digest(_signature(key, content), signature):
        raise CheckpointError(
            "its signature does not match: it was altered or forged, or signed with another key"
        )
    return Checkpoint(seq, event_hash, at)
