"""Parsing a Cloud Tasks delivery into a :class:`PublishTask` (the publisher's envelope)."""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass

from flask import Request

from sharecast.config import Settings
from sharecast.errors import BadRequest, Unauthenticated
from sharecast.tasks import INTERNAL_AUTH_HEADER, PublishTask


@dataclass(frozen=True)
class Delivery:
    """Cloud Tasks delivery metadata from the request headers (for logs)."""

    task_name: str | None
    retry_count: int
    execution_count: int


def check_internal_auth(request: Request, settings: Settings) -> None:
    """Require the shared secret when one is configured (locally); in production Cloud Run IAM
    verifies the task's OIDC token before the request reaches us. Raises Unauthenticated."""
    secret = settings.internal_auth_secret
    if secret is None:
        return
    given = request.headers.get(INTERNAL_AUTH_HEADER, "")
    if not hmac.compare_digest(given.encode(), secret.get_secret_value().encode()):
        raise Unauthenticated("internal caller not authenticated")


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
