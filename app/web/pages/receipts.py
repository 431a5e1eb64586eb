"""Receipts after a write-only form (an incident, a concern): the form redirects (PRG) to
a receipt page whose address carries the reference, the time and a seal. The seal is
keyed with the session's own secret, so a receipt opens only in the session that sent
the form: a link to a receipt for a report never sent shows "page not found"."""

import hashlib
import hmac
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from app.web.view import View

REFERENCE = re.compile(r"[A-Za-z0-9-]{1,64}")
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)")


@dataclass(frozen=True)
class Receipt:
    reference: str
    at: str


def _seal(view: View, kind: str, reference: str, at: str) -> str:
    key = view.session.csrf_token.encode()
    message = f"{kind}\n{reference}\n{at}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def receipt_path(view: View, path: str, kind: str, reference: str, at: str) -> str:
    query = urlencode({"ref": reference, "at": at, "seal": _seal(view, kind, reference, at)})
    return f"{path}?{query}"


def opened_receipt(view: View, kind: str) -> Receipt | None:
    """The receipt in the address, if this session sealed it; else None."""
    params = view.request.query_params
    reference, at, seal = params.get("ref", ""), params.get("at", ""), params.get("seal", "")
    if not REFERENCE.fullmatch(reference) or not TIME.fullmatch(at):
        return None
    if not hmac.compare_digest(seal, _seal(view, kind, reference, at)):
        return None
    return Receipt(reference, at)
