"""Opaque, encrypted pagination cursors. A cursor names a position in one actor's view;
it is bound to that actor, and an edited, forged or borrowed cursor is refused.

A cursor is base64url(version || nonce || AES-256-GCM(position)) with the actor's id as
associated data, so it reveals nothing (no id, no name; its length only says which
32-byte bucket the padded position falls in) and any change to it, or its use by another
actor, fails authentication."""

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = b"\x01"
NONCE_BYTES = 12
PAD_TO = 32
REFUSAL = "invalid cursor: use the endCursor of a previous page"


class CursorError(ValueError):
    pass


class CursorSigner:
    """Encrypts and authenticates cursors (the name is kept from when they were only
    signed). `key` is any secret; the AES and nonce keys are derived from it.

    Encryption is deterministic (a synthetic nonce: HMAC of the actor and the padded
    position), so one position always yields one cursor for one actor, as clients and
    tests expect of `endCursor` and the last edge's `cursor`. A nonce never repeats with
    a different plaintext, which is what AES-GCM needs."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(
            hmac.new(key, b"needtoknow cursor aes-256-gcm v1", hashlib.sha256).digest()
        )
        self._nonce_key = hmac.new(key, b"needtoknow cursor nonce v1", hashlib.sha256).digest()

    @staticmethod
    def _aad(actor_id: str) -> bytes:
        return VERSION + actor_id.encode()

    def encode(self, actor_id: str, position: dict[str, Any]) -> str:
        plain = json.dumps({"p": position}, separators=(",", ":"), sort_keys=True).encode()
        plain += b" " * (-len(plain) % PAD_TO)  # JSON ignores trailing whitespace
        aad = self._aad(actor_id)
        nonce = hmac.new(self._nonce_key, aad + b"\x00" + plain, hashlib.sha256).digest()
        nonce = nonce[:NONCE_BYTES]
        sealed = self._aead.encrypt(nonce, plain, aad)
        return base64.urlsafe_b64encode(VERSION + nonce + sealed).decode().rstrip("=")

    def decode(self, actor_id: str, cursor: str) -> dict[str, Any]:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (ValueError, TypeError, binascii.Error) as exc:
            raise CursorError(REFUSAL) from exc
        if len(raw) < 1 + NONCE_BYTES + 16 or raw[:1] != VERSION:
            raise CursorError(REFUSAL)
        nonce, sealed = raw[1 : 1 + NONCE_BYTES], raw[1 + NONCE_BYTES :]
        try:
            plain = self._aead.decrypt(nonce, sealed, self._aad(actor_id))
            envelope = json.loads(plain)
        except (InvalidTag, ValueError) as exc:
            raise CursorError(REFUSAL) from exc
        position = envelope.get("p") if isinstance(envelope, dict) else None
        if not isinstance(position, dict):
            raise CursorError(REFUSAL)
        return position
