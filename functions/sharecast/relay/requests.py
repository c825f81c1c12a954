"""Opening a stream: from an ASGI ``GET /events`` scope to a :class:`StreamRequest`, or the
error to answer instead (401 or 429, before any stream starts or anything is read)."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from starlette.types import Scope

from sharecast.config import Settings
from sharecast.errors import RateLimited, SharecastError, Unauthenticated
from sharecast.logs import fields
from sharecast.relay.auth import authenticate
from sharecast.relay.http import cors_headers, header, query_params
from sharecast.relay.limits import OpenRateLimiter

log = logging.getLogger(__name__)

#: A credential with less than this many seconds before its ``exp`` opens no stream (401): the
#: JWT leeway forgives clock skew, but a stream that would end at once only makes its client
#: reconnect in a loop.
MIN_STREAM_S = 1.0


@dataclass(slots=True)
class StreamRequest:
    """An authenticated ``GET /events``: whose stream, until when (``expires_at``: the
    credential's ``exp``, seconds since the epoch), from which ``last_event_id`` (``None``
    for a new stream), and the CORS response headers for its ``Origin``."""

    user_id: str
    expires_at: float
    last_event_id: str | None
    cors: list[tuple[bytes, bytes]]


def open_request(
    scope: Scope, settings: Settings, limiter: OpenRateLimiter
) -> StreamRequest | SharecastError:
    """Authenticate ``scope`` and take one opening from the user's rate (``limiter``); the
    :class:`StreamRequest`, or the error to answer (401, or 429 with ``Retry-After``)."""
    query = query_params(scope)
    try:
        credential = authenticate(
            authorization=header(scope, b"authorization"),
            query=query,
            cookie=header(scope, b"cookie"),
            settings=settings,
        )
        if credential.expires_at - time.time() < MIN_STREAM_S:
            raise Unauthenticated("token expired")
    except Unauthenticated as err:
        log.info("relay stream refused", extra=fields(reason=err.detail))
        return err
    user_id = credential.principal.user_id
    wait_s = limiter.take(user_id)
    if wait_s > 0:
        log.info("relay stream rate limited", extra=fields(user_id=user_id))
        return RateLimited(
            "too many new streams for this user; retry later",
            headers={"Retry-After": str(math.ceil(wait_s))},
        )
    last_event_id = header(scope, b"last-event-id") or query.get("lastEventId") or None
    return StreamRequest(
        user_id=user_id,
        expires_at=credential.expires_at,
        last_event_id=last_event_id,
        cors=cors_headers(scope, settings),
    )
