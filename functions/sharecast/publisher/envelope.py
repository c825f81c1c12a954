"""Parsing a Cloud Tasks delivery into a :class:`PublishTask` (the publisher's envelope)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from flask import Request

from sharecast.config import Settings
from sharecast.errors import BadRequest
from sharecast.internal_auth import publisher_caller, verify_internal_caller
from sharecast.tasks import PublishTask


@dataclass(frozen=True)
class Delivery:
    """Cloud Tasks delivery metadata from the request headers (for logs)."""

    task_name: str | None
    retry_count: int
    execution_count: int


def check_internal_auth(request: Request, settings: Settings) -> None:
    """Verify the Cloud Tasks caller: in production its OIDC token (audience ``PUBLISHER_URL``,
    account ``TASKS_INVOKER_SERVICE_ACCOUNT``, the identity our tasks carry), locally the shared
    secret (:func:`sharecast.internal_auth.verify_internal_caller`). Raises Unauthenticated."""
    verify_internal_caller(request, settings, caller=publisher_caller(settings))


def parse_task(request: Request) -> tuple[PublishTask, Delivery]:
    """The task body and delivery headers. Raises :class:`BadRequest` for a malformed body."""
    try:
        body = json.loads(request.get_data(cache=False))
        task = PublishTask(
            post_id=str(body["post_id"]),
            target_id=str(body["target_id"]),
            attempt=int(body["attempt"]),
            generation=int(body.get("generation", 0)),
            step=int(body.get("step", 0)),
            connection_id=str(body["connection_id"]) if body.get("connection_id") else None,
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BadRequest(f"malformed task body: {type(exc).__name__}") from exc
    if (
        task.attempt < 1
        or task.generation < 0
        or task.step < 0
        or not task.post_id
        or not task.target_id
    ):
        raise BadRequest("malformed task body")

    def header_int(name: str) -> int:
        try:
            return int(request.headers.get(name, "0"))
        except ValueError:
            return 0

    return task, Delivery(
        task_name=request.headers.get("X-CloudTasks-TaskName"),
        retry_count=header_int("X-CloudTasks-TaskRetryCount"),
        execution_count=header_int("X-CloudTasks-TaskExecutionCount"),
    )
