"""Opaque, signed pagination cursors. A cursor names a position in one actor's view;
it is bound to that actor, and an edited or forged cursor is refused."""

import base64
import hashlib
import hmac
import json
from typing import Any


class CursorError(ValueError):
    pass


class CursorSigner:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, payload: bytes, actor_id: str) -> bytes:
        return hmac.new(self._key, actor_id.encode() + b"\x00" + payload, hashlib.sha256).digest()

    def encode(self, actor_id: str, position: dict[str, Any]) -> str:
        payload = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
        token = self._mac(payload, actor_id)[:16] + payload
        return base64.urlsafe_b64encode(token).decode().rstrip("=")

    def decode(self, actor_id: str, cursor: str) -> dict[str, Any]:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (ValueError, TypeError) as exc:
            raise CursorError("invalid cursor: use the endCursor of a previous page") from exc
        mac, payload = raw[:16], raw[16:]
        if len(mac) < 16 or not hmac.compare_digest(mac, self._mac(payload, actor_id)[:16]):
            raise CursorError("invalid cursor: use the endCursor of a previous page")
        position = json.loads(payload)
        if not isinstance(position, dict):
            raise CursorError("invalid cursor: use the endCursor of a previous page")
        return position
