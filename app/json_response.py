"""A JSON response sent in chunks from a result holding `Serialised` pieces: the
document is never joined into one byte string, and each piece is released once sent."""

from collections.abc import Mapping
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from schema.serialised import json_chunks, json_size


class ChunkedJSONResponse(Response):
    media_type = "application/json"

    def __init__(
        self, content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(None, status_code, headers, self.media_type)
        self.headers["content-length"] = str(json_size(content))
        self.content: Any = content

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        chunks, self.content = json_chunks(self.content), None
        previous: bytes | None = None
        for chunk in chunks:
            if previous is not None:
                await send({"type": "http.response.body", "body": previous, "more_body": True})
            previous = chunk
        await send({"type": "http.response.body", "body": previous or b"", "more_body": False})
