"""Transport-level helpers: JSON responses and dropping a connection without answering."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse


def json_response(
    body: Any,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    media_type: str = "application/json",
) -> JSONResponse:
    """A JSON response (UTF-8, compact)."""
    return JSONResponse(body, status_code=status_code, headers=headers, media_type=media_type)


async def read_json(request: Request) -> tuple[Any, str | None]:
    """The request body parsed as JSON: ``(value, None)``, or ``(None, error)`` when invalid.

    An empty body parses as ``None``.
    """
    raw = await request.body()
    if not raw.strip():
        return None, None
    try:
        return json.loads(raw), None
    except (ValueError, UnicodeDecodeError) as exc:
        return None, f"request body is not valid JSON: {exc}"


async def drop_connection(request: Request) -> None:
    """Abort the client's TCP connection (RST) without writing any response.

    The client sees a connection error (``requests.ConnectionError``), never an HTTP status. Works
    with uvicorn's h11 and httptools protocols: the ASGI ``receive`` callable is a bound method of
    the request cycle, which holds the asyncio transport. Afterwards uvicorn marks the cycle
    disconnected and silently discards whatever the app still sends.
    """
    cycle = getattr(request.receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("accept_then_drop needs the sandbox to run under uvicorn")
    transport.abort()
    # connection_lost runs on a later loop iteration; wait for it so nothing is written.
    for _ in range(100):
        if getattr(cycle, "disconnected", True):
            return
        await asyncio.sleep(0)


def encode_offset(offset: int) -> str:
    """An opaque pagination cursor for a list offset."""
    return base64.urlsafe_b64encode(f"sbx:{offset}".encode()).decode().rstrip("=")


def decode_offset(cursor: str | None) -> int | None:
    """The offset of a cursor from :func:`encode_offset` (0 when absent, ``None`` if invalid)."""
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    prefix, _, value = raw.partition(":")
    if prefix != "sbx" or not value.isdigit():
        return None
    return int(value)
