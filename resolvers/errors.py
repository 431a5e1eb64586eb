"""Errors a client may see. Anything else is masked as an internal error."""

from typing import ClassVar


class ClientError(Exception):
    code: ClassVar[str] = "BAD_USER_INPUT"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(ClientError):
    code = "BAD_USER_INPUT"


class Forbidden(ClientError):
    code = "FORBIDDEN"

    def __init__(self, message: str = "not allowed") -> None:
        super().__init__(message)
