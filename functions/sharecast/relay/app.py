"""Routes of the relay (SPEC §7): ``GET /events`` (``text/event-stream``) and ``GET /healthz``.

``GET /events`` authenticates first (401 ``application/problem+json`` before any stream starts),
then streams the caller's events: ``retry:``, the replay after ``Last-Event-ID`` (header, or
``?lastEventId=`` for a new EventSource), then live events, with a ``: ping`` comment every
``relay_heartbeat_s`` seconds. See :mod:`sharecast.relay.sse` for the frame format and
https://html.spec.whatwg.org/multipage/server-sent-events.html for the client side.

While the instance drains (SIGTERM), ``/events`` still answers 200 but ends the stream right
after the ``retry:`` frame: EventSource treats any non-200 answer as fatal and never reconnects,
whereas an ended stream is retried (and lands on a healthy instance).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.errors import Unauthenticated, error_for_status
from sharecast.logs import fields
from sharecast.relay.auth import authenticate, problem_response
from sharecast.relay.runtime import Relay
from sharecast.relay.stream import RelayStream

log = logging.getLogger(__name__)


def create_app(settings: Settings, clients: Clients) -> Starlette:
    """The relay ASGI app; its lifespan creates and deletes the instance's subscription.

    The :class:`~sharecast.relay.runtime.Relay` is exposed as ``app.state.relay``.
    """
    relay = Relay(settings, clients)

    async def events(request: Request) -> Response:
        try:
            principal = authenticate(request, settings)
        except Unauthenticated as err:
            log.info("relay stream refused", extra=fields(reason=err.detail))
            return problem_response(err)
        last_event_id = request.headers.get("last-event-id") or request.query_params.get(
            "lastEventId"
        )
        return RelayStream(relay, user_id=principal.user_id, last_event_id=last_event_id)

    async def healthz(request: Request) -> Response:
        body = {
            "status": "ok" if relay.healthy else "unavailable",
            "instance": relay.instance_id,
            "streams": len(relay.hub),
        }
        return JSONResponse(body, status_code=200 if relay.healthy else 503)

    async def http_problem(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        detail = str(getattr(exc, "detail", "")) or "request failed"
        return problem_response(error_for_status(status, detail))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await relay.start()
        try:
            yield
        finally:
            await relay.stop()

    app = Starlette(
        routes=[
            Route("/events", events, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_problem},
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_allowed_origins,
                allow_methods=["GET"],
                allow_headers=["Authorization", "Last-Event-ID"],
                max_age=600,
            )
        ],
        lifespan=lifespan,
    )
    app.state.relay = relay
    return app
