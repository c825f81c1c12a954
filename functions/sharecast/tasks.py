"""Cloud Tasks: one named task per target attempt on the ``publish`` queue
(docs/semantics.md#the-publisher), one per webhook delivery attempt on the ``webhooks`` queue
(docs/webhooks.md#delivery).

Task ids are deterministic (``{post_id}-{target_id}-{attempt}``, with ``-g{generation}``
appended once the user has rescheduled the target, and ``-s{step}`` for the continuation tasks
of multi-step platforms), so enqueueing the same attempt or step twice is refused by Cloud Tasks
with ``ALREADY_EXISTS`` and never delivers twice.
Production tasks carry an OIDC token for the publisher; locally a shared secret header.
See https://cloud.google.com/tasks/docs/creating-http-target-tasks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from google.api_core.exceptions import AlreadyExists
from google.cloud import tasks_v2
from google.protobuf import duration_pb2, timestamp_pb2

from sharecast.config import Settings
from sharecast.domain.models import TargetRecord

INTERNAL_AUTH_HEADER = "X-Sharecast-Internal-Auth"

#: Cloud Tasks refuses a ``schedule_time`` more than 30 days ahead ("Maximum schedule time for a
#: task: 30 days", https://cloud.google.com/tasks/docs/quotas). Targets due later than this
#: horizon (a day of margin) get no task when saved; the sweeper creates it once they come
#: within the horizon (``sweeper.steps.enqueue_upcoming_targets``).
SCHEDULE_HORIZON = timedelta(days=29)


def within_horizon(schedule_at: datetime | None, *, now: datetime) -> bool:
    """True when a task may be created now for ``schedule_at`` (UTC; None = now)."""
    return schedule_at is None or schedule_at <= now + SCHEDULE_HORIZON


@dataclass(frozen=True)
class PublishTask:
    """The body of a publish task: which attempt (1-based) of which target to run, and which
    continuation ``step`` of that attempt (0 = its first task; see ``platforms.base.Pending``).

    ``generation`` is the target's ``generation`` when the task was made: rescheduling,
    publishing now or retrying by hand bumps the target's generation, which supersedes every
    task made before (their deliveries answer 200 and do nothing).

    ``connection_id`` (optional, not part of the name) is the target's connection when the task
    was made: the claim reads it together with the target instead of one read more (a target
    whose connection changed since is read as usual).
    """

    post_id: str
    target_id: str
    attempt: int
    generation: int = 0
    step: int = 0
    connection_id: str | None = None

    @classmethod
    def next_for(cls, target: TargetRecord) -> PublishTask:
        """The task of ``target``'s next attempt, in its current generation."""
        return cls(
            post_id=target.post_id,
            target_id=target.id,
            attempt=target.attempts + 1,
            generation=target.generation,
            connection_id=target.connection_id,
        )

    @property
    def task_id(self) -> str:
        """Deterministic Cloud Tasks task id (letters, digits, hyphens, underscores)."""
        base = f"{self.post_id}-{self.target_id}-{self.attempt}"
        if self.generation:
            base = f"{base}-g{self.generation}"
        return base if self.step == 0 else f"{base}-s{self.step}"

    def body(self) -> bytes:
        """JSON body sent to the publisher."""
        body: dict[str, object] = {
            "post_id": self.post_id,
            "target_id": self.target_id,
            "attempt": self.attempt,
        }
        if self.generation:
            body["generation"] = self.generation
        if self.step:
            body["step"] = self.step
        if self.connection_id:
            body["connection_id"] = self.connection_id
        return json.dumps(body).encode()


def enqueue_publish(
    client: tasks_v2.CloudTasksClient,
    settings: Settings,
    task: PublishTask,
    *,
    schedule_at: datetime | None,
    task_id: str | None = None,
) -> bool:
    """Create the named task for ``task``, delivered at ``schedule_at`` (UTC; None = now).

    ``task_id`` replaces the default name ``task.task_id`` (the sweeper names the tasks it
    re-creates after the target's version, because Cloud Tasks keeps a used name reserved for
    about an hour after the task ran).

    Returns ``True`` when created, ``False`` when it already existed (a duplicate enqueue).
    Raises ``google.api_core.exceptions.GoogleAPICallError`` when Cloud Tasks is unavailable.
    """
    return create_task(
        client,
        settings,
        queue_path=settings.queue_path,
        url=settings.publisher_url,
        account=settings.tasks_invoker_service_account,
        task_id=task_id or task.task_id,
        body=task.body(),
        schedule_at=schedule_at,
    )


def create_task(
    client: tasks_v2.CloudTasksClient,
    settings: Settings,
    *,
    queue_path: str,
    url: str,
    account: str | None,
    task_id: str,
    body: bytes,
    schedule_at: datetime | None,
) -> bool:
    """Create the named HTTP task ``task_id`` on ``queue_path``: a JSON ``POST`` of ``body`` to
    ``url`` at ``schedule_at`` (UTC; None = now), with an OIDC token of ``account`` for ``url``
    (production) or the shared secret header (local stack).

    Returns ``True`` when created, ``False`` when it already existed. Raises
    ``google.api_core.exceptions.GoogleAPICallError`` when Cloud Tasks is unavailable.
    """
    headers = {"Content-Type": "application/json"}
    http_request = tasks_v2.HttpRequest(
        http_method=tasks_v2.HttpMethod.POST,
        url=url.rstrip("/") + "/",
        headers=headers,
        body=body,
    )
    if account:
        http_request.oidc_token = tasks_v2.OidcToken(service_account_email=account, audience=url)
    if settings.internal_auth_secret is not None:
        headers[INTERNAL_AUTH_HEADER] = settings.internal_auth_secret.get_secret_value()
        http_request.headers = headers
    proto = tasks_v2.Task(
        name=f"{queue_path}/tasks/{task_id}",
        http_request=http_request,
        dispatch_deadline=duration_pb2.Duration(seconds=settings.task_dispatch_deadline_s),
    )
    if schedule_at is not None:
        ts = timestamp_pb2.Timestamp()
        ts.FromDatetime(schedule_at)
        proto.schedule_time = ts
    try:
        client.create_task(parent=queue_path, task=proto, timeout=10.0)
    except AlreadyExists:
        return False
    return True


@dataclass(frozen=True)
class WebhookTask:
    """The body of a webhook delivery task (docs/webhooks.md#delivery): attempt ``attempt``
    (counted over every round) of delivery ``delivery_id`` to endpoint ``endpoint_id``, in
    round ``round`` (a redelivery starts a new round and supersedes the tasks of the last)."""

    endpoint_id: str
    delivery_id: str
    round: int
    attempt: int

    @property
    def task_id(self) -> str:
        """Deterministic task id: creating the same attempt twice is refused."""
        return f"{self.endpoint_id}-{self.delivery_id}-r{self.round}-a{self.attempt}"

    def body(self) -> bytes:
        """JSON body sent to the ``webhook_delivery`` function."""
        return json.dumps(
            {
                "endpoint_id": self.endpoint_id,
                "delivery_id": self.delivery_id,
                "round": self.round,
                "attempt": self.attempt,
            }
        ).encode()


def enqueue_webhook(
    client: tasks_v2.CloudTasksClient,
    settings: Settings,
    task: WebhookTask,
    *,
    schedule_at: datetime | None,
) -> bool:
    """Create ``task`` on the webhook queue (``WEBHOOK_QUEUE``) for ``WEBHOOK_DELIVERY_URL``,
    with a token of ``WEBHOOK_INVOKER_SERVICE_ACCOUNT``; see :func:`create_task`."""
    return create_task(
        client,
        settings,
        queue_path=settings.webhook_queue_path,
        url=settings.webhook_delivery_url,
        account=settings.webhook_invoker_service_account,
        task_id=task.task_id,
        body=task.body(),
        schedule_at=schedule_at,
    )
