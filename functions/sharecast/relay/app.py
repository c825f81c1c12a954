"""Routes of the relay (docs/semantics.md#events-and-replay).

- ``GET /events`` (``text/event-stream``): the caller's events (:mod:`sharecast.relay.stream`);
  401 ``application/problem+json`` with ``WWW-Authenticate`` before any stream starts.
- ``POST``/``DELETE /events/session``: set or clear the session cookie that EventSource sends
  on every reconnect (:mod:`sharecast.relay.session`).
- ``GET /healthz``: instance state, open streams, the relay's own delivery latency and its
  event loop's lag.

``GET``/``HEAD /events`` is served by a plain ASGI handler in front of Starlette, so an open
stream holds no middleware or request objects; everything else (CORS preflights included) goes
through Starlette with ``CORSMiddleware`` (credentials allowed for ``cors_allowed_origins``).

While the instance drains (SIGTERM), ``/events`` still answers 200 but ends the stream right
after the ``retry:`` frame: EventSource treats any non-200 answer as fatal and never reconnects,
whereas an ended stream is retried (and lands on a healthy instance).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.errors import error_for_status
from sharecast.relay import stream
from sharecast.relay.http import EXPOSED_HEADERS, problem_response
from sharecast.relay.runtime import Relay
from sharecast.relay.session import close_session, open_session


class RelayApp:
    """The relay's ASGI app: ``GET``/``HEAD /events`` go straight to the stream handler, every
    other request to the Starlette app (``self.starlette``, which also runs the lifespan)."""

    def __init__(self, relay: Relay, starlette: Starlette) -> None:
        self.relay = relay
        self.starlette = starlette
        self.state = starlette.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch one ASGI connection scope."""
        if (
            scope["type"] == "http"
            and scope["path"] == "/events"
            and scope["method"] in ("GET", "HEAD")
        ):
            await stream.handle(self.relay, scope, receive, send)
            return
        await self.starlette(scope, receive, send)


def health(relay: Relay) -> dict[str, Any]:
    """The body of ``GET /healthz``: state, streams, users, limit counters, Pub/Sub message
    counters and the relay's own latency histograms (milliseconds): ``delivery_latency``
    (message received → frame written), ``handoff_latency`` (received → picked up by the event
    loop) and ``loop_lag`` (how late each heartbeat tick ran, since start)."""
    return {
        "status": "ok" if relay.healthy else "unavailable",
        "instance": relay.instance_id,
        "streams": len(relay.hub),
        "users": relay.hub.users,
        "limits": {
            "superseded": relay.hub.stats.superseded,
            "rate_limited": relay.open_limiter.refused,
        },
        "messages": {
            "received": relay.subscription.received,
            "batches": relay.subscription.batches,
            "largest_batch": relay.subscription.largest_batch,
            "skipped": relay.subscription.skipped,
            "malformed": relay.subscription.malformed,
        },
        "delivery_latency": relay.latency.summary(),
        "handoff_latency": relay.handoff.summary(),
        "loop_lag": relay.loop_lag.summary(),
        "gc_pauses": relay.gc_pauses.summary(),
    }


def create_app(settings: Settings, clients: Clients) -> RelayApp:
    """The relay ASGI app; its lifespan creates and deletes the instance's subscription.

    The :class:`~sharecast.relay.runtime.Relay` is exposed as ``app.state.relay``.
    """
    relay = Relay(settings, clients)

    async def session(request: Request) -> Response:
        if request.method == "DELETE":
            return close_session()
        return open_session(request, settings)

    async def healthz(request: Request) -> Response:
        return JSONResponse(health(relay), status_code=200 if relay.healthy else 503)

    async def method_not_allowed(request: Request) -> Response:
        return problem_response(error_for_status(405, "use GET /events"))

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

    starlette = Starlette(
        routes=[
            # GET/HEAD never get here (RelayApp); other methods get 405 problem details.
            Route("/events", method_not_allowed, methods=["GET"]),
            Route("/events/session", session, methods=["POST", "DELETE"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_problem},
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_allowed_origins,
                allow_methods=["GET", "POST", "DELETE"],
                allow_headers=["Authorization", "Last-Event-ID"],
                allow_credentials=True,
                expose_headers=EXPOSED_HEADERS.split(", "),
                max_age=600,
            )
        ],
        lifespan=lifespan,
    )
    starlette.state.relay = relay
    return RelayApp(relay, starlette)
