"""The front of the ``api`` function: reading the request and waiting, on the event loop, so
that no thread is held by a connection, only by a handler while it runs.

How the API was served: Cloud Run functions (2nd gen) start the Python buildpack's web process,
the ``functions-framework`` command (GoogleCloudPlatform/buildpacks,
``cmd/python/functions_framework``). For a Flask function it runs gunicorn's threaded worker:
one process, ``THREADS`` threads (default four per CPU), a thread per request from its headers
to its last byte, reading the body in that thread; before answering, the framework also reads
whatever body is left (``functions_framework.read_request``), whatever its size. Google's front
end caps a request at 32 MB (https://cloud.google.com/functions/quotas) and forwards it as it
arrives, so neither protected the instance: 200 MiB without a token were read (RSS 122 → 296 MB)
before the 401, and 12 connections announcing 100 MB and sending one byte held every thread
(``GET /healthz`` timed out for everyone).

The ``api`` entry point is therefore an ASGI function (``@functions_framework.aio.http``), which
functions-framework serves with gunicorn's uvicorn worker: one event loop reads every
connection. :class:`ApiFront`

1. answers a body announced larger than ``MAX_BODY_BYTES`` with 413 at once, before reading a
   byte of it and before authentication, and closes the connection;
2. reads the body on the event loop: a chunked or lying body is cut at the cap (413), one not
   complete ``BODY_READ_TIMEOUT_S`` after the headers gets 408; a slow sender costs a coroutine;
3. runs the Flask app on the complete request in one of ``API_THREADS`` threads;
4. serves ``?wait`` (:mod:`sharecast.posts.wait`) with a timer between reads, not a thread, and
   at most ``WAIT_MAX_PER_USER`` waits per user on the instance (beyond, the answer comes at
   once).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace

import anyio
from flask import Flask, request
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from sharecast.api.headers import common_headers
from sharecast.api.wsgi import Answer, call_wsgi, wsgi_environ
from sharecast.app import AppContext
from sharecast.errors import (
    PROBLEM_JSON,
    BadRequest,
    PayloadTooLarge,
    RequestTimedOut,
    SharecastError,
    problem_body,
)
from sharecast.logs import fields
from sharecast.posts.wait import WaitRequest, WaitSlots, wait_for_settled

log = logging.getLogger(__name__)

#: Key of the environ entry holding the :class:`WaitBox` of the request.
WAIT_ENVIRON_KEY = "sharecast.wait"


@dataclass
class WaitBox:
    """Where a handler leaves its :class:`WaitRequest` for the front (the environ is copied on
    its way to the app; this box is shared)."""

    wait: WaitRequest | None = None


def defer_wait(wait: WaitRequest) -> None:
    """Ask the front, from a handler, to wait before answering (see :mod:`sharecast.posts.wait`).
    Served without the front (tests of the bare Flask app), the answer simply comes at once."""
    box = request.environ.get(WAIT_ENVIRON_KEY)
    if isinstance(box, WaitBox):
        box.wait = wait


async def read_body(req: Request, *, cap: int, timeout_s: float) -> bytes:
    """The whole body of ``req``, read on the event loop.

    Raises :class:`PayloadTooLarge` when ``Content-Length`` announces more than ``cap`` bytes
    (nothing is read) or more than ``cap`` bytes arrive, :class:`RequestTimedOut` when the
    body is not complete ``timeout_s`` seconds after the call, :class:`BadRequest` for a
    malformed ``Content-Length``, and Starlette's ``ClientDisconnect`` when the client left."""
    declared = req.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise BadRequest("Content-Length is not a number of bytes")
        if int(declared) > cap:
            raise PayloadTooLarge(f"the body announces {int(declared)} bytes; at most {cap}")
    body = bytearray()
    try:
        with anyio.fail_after(timeout_s):
            async for chunk in req.stream():
                body += chunk
                if len(body) > cap:
                    raise PayloadTooLarge(f"the body is larger than {cap} bytes")
    except TimeoutError:
        raise RequestTimedOut(f"the body did not arrive within {timeout_s:g} s") from None
    return bytes(body)


class ApiFront:
    """The ASGI front of the API's Flask ``app`` (module docstring). One per instance."""

    def __init__(self, ctx: AppContext, app: Flask) -> None:
        settings = ctx.settings
        self.ctx = ctx
        self.app = app
        self.max_body_bytes = settings.max_body_bytes
        self.body_timeout_s = settings.body_read_timeout_s
        self.threads = anyio.CapacityLimiter(settings.api_threads)
        self.waits = WaitSlots(per_user=settings.wait_max_per_user)
        self.origins = frozenset(settings.cors_allowed_origins)
        self.docs_base_url = settings.docs_base_url

    async def serve(self, req: Request) -> Response:
        """The answer to ``req``: a refusal of its body, or the app's answer (after a wait the
        handler asked for)."""
        try:
            body = await read_body(req, cap=self.max_body_bytes, timeout_s=self.body_timeout_s)
        except (PayloadTooLarge, RequestTimedOut, BadRequest) as refused:
            log.info(
                "request refused before the app",
                extra=fields(method=req.method, route=req.url.path, status=refused.status),
            )
            return self.refusal(req, refused)
        except ClientDisconnect:
            return Response(status_code=400, headers={"Connection": "close"})
        box = WaitBox()
        environ = {**wsgi_environ(dict(req.scope), body), WAIT_ENVIRON_KEY: box}
        answer = await anyio.to_thread.run_sync(call_wsgi, self.app, environ, limiter=self.threads)
        if box.wait is not None and 200 <= answer.status < 300:
            answer = await self.settle(req, box.wait, answer)
        return to_response(answer)

    async def settle(self, req: Request, wait: WaitRequest, answer: Answer) -> Answer:
        """``answer`` with the post as it is once settled or at the deadline; unchanged when
        the user already has ``WAIT_MAX_PER_USER`` waits here or the post cannot be read."""
        if not self.waits.take(wait.user_id):
            return answer
        try:
            post, targets = await wait_for_settled(
                self.ctx,
                post_id=wait.post_id,
                timeout_s=wait.timeout_s,
                limiter=self.threads,
                gone=req.is_disconnected,
            )
        except Exception:
            log.warning("waiting for a post failed; answering as created", exc_info=True)
            return answer
        finally:
            self.waits.give_back(wait.user_id)
        return replace(answer, body=wait.render(post, targets))

    def refusal(self, req: Request, error: SharecastError) -> Response:
        """``error`` as problem details, with the headers of every answer; the connection is
        closed (the rest of the body is never read)."""
        headers = {
            **common_headers(req.headers.get("origin"), self.origins),
            **error.headers,
            "Connection": "close",
        }
        problem = problem_body(error, docs_base_url=self.docs_base_url)
        body = json.dumps(problem, separators=(",", ":"))
        return Response(body, status_code=error.status, headers=headers, media_type=PROBLEM_JSON)


def to_response(answer: Answer) -> Response:
    """The Starlette response of a complete ``answer``."""
    response = Response(answer.body, status_code=answer.status)
    response.raw_headers = [
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers),
        (b"content-length", str(len(answer.body)).encode("ascii")),
    ]
    return response
