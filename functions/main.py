"""Cloud Functions entry points. Each parses its envelope and calls typed domain code.

Deployed from this directory (``functions/``) with ``--entry-point`` ``api``, ``publisher``,
``sweeper``, ``media_finalized`` or ``webhook_delivery``. Each instance builds one
:class:`~sharecast.app.AppContext` (settings, lazily built Google clients, vault, clock,
outbox...) and passes it to the service it calls; this module is also where the consumers are
wired in: the share sync reacts to every recorded target outcome, the webhook fan-out takes
every committed event from the outbox.
"""

from __future__ import annotations

import functools
import logging

import flask
import functions_framework
import functions_framework.aio
import starlette.requests
import starlette.responses
from cloudevents.http import CloudEvent
from werkzeug.exceptions import Unauthorized

from sharecast.api import create_app
from sharecast.api.front import ApiFront
from sharecast.api.problems import problem_response
from sharecast.app import AppContext
from sharecast.clients import get_clients
from sharecast.config import get_settings
from sharecast.errors import DependencyUnavailable, SharecastError, Unauthenticated
from sharecast.internal_auth import media_finalized_caller, verify_internal_caller
from sharecast.logs import fields, reclaim_logging, setup_logging
from sharecast.media.uploads import object_finalized
from sharecast.publisher.envelope import check_internal_auth as check_tasks_caller
from sharecast.publisher.envelope import parse_task
from sharecast.publisher.pipeline import run_attempt
from sharecast.shares.outcome import sync_share_target
from sharecast.sweeper.envelope import check_internal_auth as check_scheduler_caller
from sharecast.sweeper.envelope import parse_sweep
from sharecast.sweeper.run import run_sweep
from sharecast.webhooks import fanout
from sharecast.webhooks.delivery import run_delivery
from sharecast.webhooks.envelope import check_internal_auth as check_webhook_caller
from sharecast.webhooks.envelope import parse_webhook_task

setup_logging()
log = logging.getLogger("sharecast")


@functools.cache
def _ctx() -> AppContext:
    """The process's context, built on first use; its members are built lazily too."""
    return AppContext(
        settings=get_settings(),
        clients=get_clients(),
        outcome_consumers=(sync_share_target,),
        event_consumers=(fanout.consumer,),
    )


@functools.cache
def _api_front() -> ApiFront:
    # Built on the first request, after functions-framework configured logging for an ASGI
    # function (which silences ours when LOG_EXECUTION_ID is set).
    reclaim_logging()
    ctx = _ctx()
    ctx.vault  # noqa: B018 - a missing TOKEN_ENCRYPTION_KEYS fails at start, not per request
    return ApiFront(ctx, create_app(ctx))


@functions_framework.aio.http
async def api(request: starlette.requests.Request) -> starlette.responses.Response:
    """The public HTTP API (docs/api.md): an ASGI function, so that functions-framework serves
    it on an event loop (gunicorn's uvicorn worker) rather than a thread per connection. The
    front (``sharecast.api.front``) refuses oversized, slow or lying bodies before the app, runs
    the Flask app's routes in its thread pool and serves ``?wait`` without a thread."""
    return await _api_front().serve(request)


@functions_framework.http
def publisher(request: flask.Request) -> flask.typing.ResponseReturnValue:
    """Cloud Tasks target: one attempt of one target (docs/semantics.md#the-publisher).

    2xx for every outcome recorded (including permanent failures and no-ops); 4xx for a
    malformed or unauthenticated delivery; 5xx only when nothing could be recorded, so the
    queue's own retry is the safety net.
    """
    try:
        ctx = _ctx()
        check_tasks_caller(request, ctx.settings)
        task, delivery = parse_task(request)
        ctx.vault  # noqa: B018 - a missing TOKEN_ENCRYPTION_KEYS fails before any claim
        report = run_attempt(ctx, task=task)
    except SharecastError as exc:
        return problem_response(exc)
    except Exception:
        log.exception("publish attempt could not be recorded")
        return problem_response(DependencyUnavailable("attempt not recorded; retry"))
    log.info(
        "task handled",
        extra=fields(
            task=delivery.task_name,
            retry_count=delivery.retry_count,
            action=report.action,
            status=report.status,
            detail=report.detail,
        ),
    )
    body = {"action": report.action, "status": report.status, "detail": report.detail}
    return flask.jsonify(body), (503 if report.redeliver else 200)


@functions_framework.cloud_event
def media_finalized(event: CloudEvent) -> None:
    """Eventarc ``google.cloud.storage.object.v1.finalized``: check the uploaded object and mark
    its media record ``UPLOADED`` or ``FAILED`` (docs/api.md#media), like ``POST /media/confirm``.

    ``event.data`` is the object resource (``bucket``, ``name``, ``contentType``, ``size``...);
    the object's metadata is read again from Storage. Idempotent (redeliveries find the record
    decided). The caller must be the Eventarc trigger (its OIDC token; locally the shared
    secret), else 401 problem+json. A malformed event is logged and acknowledged; a Storage or
    Firestore failure raises, so Eventarc retries the delivery.
    """
    ctx = _ctx()
    try:
        verify_internal_caller(
            flask.request, ctx.settings, caller=media_finalized_caller(ctx.settings)
        )
    except Unauthenticated as exc:
        raise Unauthorized(response=problem_response(exc)) from exc
    data = event.data if isinstance(event.data, dict) else {}
    bucket_name, name = data.get("bucket"), data.get("name")
    if not isinstance(bucket_name, str) or not isinstance(name, str):
        log.warning("finalize event without bucket/name", extra=fields(event_id=event["id"]))
        return
    verdict = object_finalized(ctx, bucket_name=bucket_name, object_name=name, now=ctx.now())
    log.info(
        "object finalized",
        extra=fields(
            event_id=event["id"],
            object=name,
            verdict=verdict.value if verdict is not None else "IGNORED",
        ),
    )


@functions_framework.http
def sweeper(request: flask.Request) -> flask.typing.ResponseReturnValue:
    """Cloud Scheduler target (docs/semantics.md#the-sweeper): body ``{"sweep":
    "minutely"|"daily"}``.

    The caller must be the Scheduler job (production: its OIDC token for the sweeper's own URL,
    of the scheduler-invoker account; locally the shared secret). Answers 200 with the report,
    or 503 when a step failed (the next run repeats it; every step is idempotent).
    """
    try:
        ctx = _ctx()
        check_scheduler_caller(request, ctx.settings)
        kind = parse_sweep(request)
        report = run_sweep(ctx, kind=kind, now=ctx.now())
    except SharecastError as exc:
        return problem_response(exc)
    except Exception:
        log.exception("sweep could not run")
        return problem_response(DependencyUnavailable("sweep failed; the next run retries"))
    return flask.jsonify(report.to_json()), (503 if report.errors else 200)


@functions_framework.http
def webhook_delivery(request: flask.Request) -> flask.typing.ResponseReturnValue:
    """Cloud Tasks target of the ``webhooks`` queue: one attempt of one webhook delivery
    (docs/webhooks.md#delivery).

    200 once the attempt is recorded (whatever the customer's server answered: the next attempt
    is a task of its own) or found done, superseded or gone; 4xx for a malformed or
    unauthenticated task; 5xx only when nothing could be recorded, so the queue retries.
    """
    try:
        ctx = _ctx()
        check_webhook_caller(request, ctx.settings)
        task = parse_webhook_task(request)
        report = run_delivery(ctx, task=task)
    except SharecastError as exc:
        return problem_response(exc)
    except Exception:
        log.exception("webhook attempt could not be recorded")
        return problem_response(DependencyUnavailable("attempt not recorded; retry"))
    body = {"action": report.action, "status": report.status, "status_code": report.status_code}
    return flask.jsonify(body), 200
