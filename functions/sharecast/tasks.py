"""Cloud Tasks: one named task per target attempt on the ``publish`` queue (SPEC §5).

Task ids are deterministic (``{post_id}-{target_id}-{attempt}``, and
``{post_id}-{target_id}-{attempt}-s{step}`` for the continuation tasks of multi-step platforms),
so enqueueing the same attempt or step twice is refused by Cloud Tasks with
``ALREADY_EXISTS`` and never delivers twice.
Production tasks carry an OIDC token for the publisher; locally a shared secret header.
See https://cloud.google.com/tasks/docs/creating-http-target-tasks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from google.api_core.exceptions import AlreadyExists
from google.cloud import tasks_v2
from google.protobuf import duration_pb2, timestamp_pb2

from sharecast.config import Settings

INTERNAL_AUTH_HEADER = "X-Sharecast-Internal-Auth"


@dataclass(frozen=True)
class PublishTask:
    """The body of a publish task: which attempt (1-based) of which target to run, and which
    continuation ``step`` of that attempt (0 = its first task; see ``platforms.base.Pending``)."""

    post_id: str
    target_id: str
    attempt: int
    step: int = 0

    @property
    def task_id(self) -> str:
        """Deterministic Cloud Tasks task id (letters, digits, hyphens, underscores)."""
        base = f"{self.post_id}-{self.target_id}-{self.attempt}"
        return base if self.step == 0 else f"{base}-s{self.step}"

    def body(self) -> bytes:
        """JSON body sent to the publisher."""
        body: dict[str, object] = {
            "post_id": self.post_id,
            "target_id": self.target_id,
            "attempt": self.attempt,
        }
        if self.step:
            body["step"] = self.step
        return json.dumps(body).encode()


def enqueue_publish(
    client: tasks_v2.CloudTasksClient,
    settings: Settings,
    task: PublishTask,
    *,
    schedule_at: datetime | None,
) -> bool:
    """Create the named task for ``task``, delivered at ``schedule_at`` (UTC; None = now).

    Returns ``True`` when created, ``False`` when it already existed (a duplicate enqueue).
    Raises ``google.api_core.exceptions.GoogleAPICallError`` when Cloud Tasks is unavailable.
    """
    headers = {"Content-Type": "application/json"}
    http_request = tasks_v2.HttpRequest(
        http_method=tasks_v2.HttpMethod.POST,
        url=settings.publisher_url.rstrip("/") + "/",
        headers=headers,
        body=task.body(),
    )
    if settings.tasks_invoker_service_account:
        http_request.oidc_token = tasks_v2.OidcToken(
            service_account_email=settings.tasks_invoker_service_account,
            audience=settings.publisher_url,
        )
    if settings.internal_auth_secret is not None:
        headers[INTERNAL_AUTH_HEADER] = settings.internal_auth_secret.get_secret_value()
        http_request.headers = headers
    proto = tasks_v2.Task(
        name=f"{settings.queue_path}/tasks/{task.task_id}",
        http_request=http_request,
        dispatch_deadline=duration_pb2.Duration(seconds=settings.task_dispatch_deadline_s),
    )
    if schedule_at is not None:
        ts = timestamp_pb2.Timestamp()
        ts.FromDatetime(schedule_at)
        proto.schedule_time = ts
    try:
        client.create_task(parent=settings.queue_path, task=proto, timeout=10.0)
    except AlreadyExists:
        return False
    return True
