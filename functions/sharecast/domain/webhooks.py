"""Webhooks, the pure part (docs/webhooks.md): endpoint and delivery records, the event-type
filter, the payload, and what an answer of the customer's server means.

A delivery is one event (or a test ping) for one endpoint. Its ``message_id`` is the
``webhook-id`` header of the Standard Webhooks specification
(https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md): the
same on every retry and redelivery, so receivers can use it as an idempotency key. Attempts run
in *rounds*: the first round starts when the event is fanned out, each manual redelivery starts
a new one (with its own retry window); a task of an older round is superseded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel

from sharecast.domain.events import Event
from sharecast.domain.models import Record
from sharecast.domain.shares import ShareStatus
from sharecast.domain.statuses import EventType, PostStatus, TargetStatus
from sharecast.timeutil import isoformat

#: ``audience`` of org-wide endpoints (every user's events); a user's endpoints have
#: ``user:{uid}``, so no user id can collide with it.
ORG_AUDIENCE = "org"
#: The payload ``type`` of a test ping (never an event of the event log).
PING_TYPE = "ping"
#: Kinds of ``notification`` events (``data.kind``).
NOTIFICATION_KINDS = ("target_failed", "connection_needs_reauth", "webhook_endpoint_disabled")

#: Event types an endpoint can subscribe to, each with the qualifiers ``type:qualifier`` may
#: name (``data.status``, or ``data.kind`` for notifications).
FILTERS: dict[str, frozenset[str]] = {
    EventType.POST_STATUS.value: frozenset(s.value for s in PostStatus),
    EventType.TARGET_STATUS.value: frozenset(s.value for s in TargetStatus),
    EventType.SHARE_STATUS.value: frozenset(s.value for s in ShareStatus),
    EventType.NOTIFICATION.value: frozenset(NOTIFICATION_KINDS),
}
#: At most this many attempts are kept in a delivery's ``history`` (the newest).
HISTORY_KEPT = 20


def user_audience(user_id: str) -> str:
    """The ``audience`` of ``user_id``'s own endpoints."""
    return f"user:{user_id}"


def check_filter(entry: str) -> str | None:
    """Why ``entry`` is not a valid event-type filter (``None`` when it is): ``type`` or
    ``type:qualifier`` with a type of :data:`FILTERS` and one of its qualifiers."""
    kind, sep, qualifier = entry.partition(":")
    if kind not in FILTERS:
        return f"unknown event type {kind!r}; known: {sorted(FILTERS)}"
    if sep and qualifier not in FILTERS[kind]:
        return f"{kind} has no {qualifier!r}; known: {sorted(FILTERS[kind])}"
    return None


def matches(filters: list[str], event: Event) -> bool:
    """True when an endpoint with ``filters`` (empty: every type) wants ``event``."""
    if event.type.value not in FILTERS:
        return False
    if not filters:
        return True
    qualifier = event.data.get("kind" if event.type is EventType.NOTIFICATION else "status")
    return event.type.value in filters or f"{event.type.value}:{qualifier}" in filters


def payload(*, id: str, type: str, user_id: str, created_at: datetime, data: dict[str, Any]) -> str:
    """The body of a delivery, compact JSON: ``{"id", "type", "timestamp", "user_id", "data"}``.

    ``data`` is exactly the SSE ``data:`` of the event (one client model serves both); ``id`` is
    the event id (the SSE ``id:``), ``timestamp`` when the event happened (RFC 3339, UTC).
    """
    body = {
        "id": id,
        "type": type,
        "timestamp": isoformat(created_at),
        "user_id": user_id,
        "data": data,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str)


def event_payload(event: Event) -> str:
    """:func:`payload` of ``event``."""
    return payload(
        id=event.id,
        type=event.type.value,
        user_id=event.user_id,
        created_at=event.created_at,
        data=event.data,
    )


class SigningSecret(BaseModel):
    """One signing secret of an endpoint, encrypted at rest (``ciphertext``, see
    ``sharecast.vault``). ``expires_at`` is ``None`` for the current secret; a rotated-out one
    keeps signing until then (UTC)."""

    ciphertext: str
    created_at: datetime
    expires_at: datetime | None = None


class EndpointRecord(Record):
    """``webhook_endpoints/{id}``: where and what to deliver for ``owner_id``.

    ``audience`` is ``user:{owner}`` or :data:`ORG_AUDIENCE` (every user's events, admins
    only). ``event_types`` are filters (:func:`matches`; empty: all). ``failing_since`` and
    ``last_success_at`` track its health, each written at most about once a minute
    (:func:`health_change`): failures since ``failing_since`` with no success after it make a
    failing episode; one lasting ``WEBHOOK_DISABLE_AFTER_S`` (or a 410 answer) disables the
    endpoint with ``disabled_reason``.
    """

    id: str
    owner_id: str
    audience: str
    url: str
    description: str = ""
    event_types: list[str] = []
    enabled: bool = True
    disabled_reason: str | None = None
    secrets: list[SigningSecret]
    failing_since: datetime | None = None
    last_success_at: datetime | None = None
    version: int = 1
    created_at: datetime
    updated_at: datetime

    @property
    def org_wide(self) -> bool:
        """True for an org-wide endpoint."""
        return self.audience == ORG_AUDIENCE

    @property
    def failing_episode_start(self) -> datetime | None:
        """When the current run of failures began (``None``: no failure since the last
        success)."""
        if self.failing_since is None:
            return None
        if self.last_success_at is not None and self.last_success_at >= self.failing_since:
            return None
        return self.failing_since

    def signing_secrets(self, now: datetime) -> list[SigningSecret]:
        """The secrets that sign at ``now``: the current one and those still in grace."""
        return [s for s in self.secrets if s.expires_at is None or s.expires_at > now]


class DeliveryStatus(StrEnum):
    """Where a delivery stands."""

    PENDING = "PENDING"
    RETRYING = "RETRYING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class DeliveryAttempt(BaseModel):
    """One attempt of a delivery: when, the answer's status (``None``: none came), how long it
    took (ms), the outcome it led to, why it failed and the first bytes of the answer."""

    attempt: int
    at: datetime
    status_code: int | None = None
    latency_ms: float
    outcome: DeliveryStatus
    error: str | None = None
    response_excerpt: str = ""


class DeliveryRecord(Record):
    """``webhook_endpoints/{endpointId}/deliveries/{id}``: one event for one endpoint.

    ``id`` is the event id (or the ping's). ``payload`` is the exact body, kept so a redelivery
    sends what was signed first even after the event log expired. ``attempts`` counts every
    attempt of every round, ``round_attempts`` those of the current round, whose retry window
    starts at ``round_started_at``;
    ``expire_at`` is the Firestore TTL field (``WEBHOOK_LOG_TTL_DAYS``).
    """

    id: str
    endpoint_id: str
    owner_id: str
    message_id: str
    event_type: str
    user_id: str
    payload: str
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    round: int = 1
    round_attempts: int = 0
    round_started_at: datetime
    next_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_latency_ms: float | None = None
    last_error: str | None = None
    response_excerpt: str = ""
    history: list[DeliveryAttempt] = []
    created_at: datetime
    updated_at: datetime
    expire_at: datetime

    @classmethod
    def first(
        cls,
        endpoint: EndpointRecord,
        *,
        delivery_id: str,
        type: str,
        user_id: str,
        body: str,
        now: datetime,
        ttl: timedelta,
    ) -> DeliveryRecord:
        """A new PENDING delivery of ``body`` to ``endpoint``."""
        return cls(
            id=delivery_id,
            endpoint_id=endpoint.id,
            owner_id=endpoint.owner_id,
            message_id=f"msg_{delivery_id}",
            event_type=type,
            user_id=user_id,
            payload=body,
            round_started_at=now,
            created_at=now,
            updated_at=now,
            expire_at=now + ttl,
        )

    def recorded(self, attempt: DeliveryAttempt, *, next_attempt_at: datetime | None) -> Self:
        """This delivery after ``attempt`` (its outcome becomes the status)."""
        return self.model_copy(
            update={
                "status": attempt.outcome,
                "attempts": attempt.attempt,
                "round_attempts": self.round_attempts + 1,
                "next_attempt_at": next_attempt_at,
                "last_status_code": attempt.status_code,
                "last_latency_ms": attempt.latency_ms,
                "last_error": attempt.error,
                "response_excerpt": attempt.response_excerpt,
                "history": [*self.history, attempt][-HISTORY_KEPT:],
                "updated_at": attempt.at,
            }
        )

    def redelivered(self, now: datetime, ttl: timedelta) -> Self:
        """This delivery starting a new round now (a manual redelivery)."""
        return self.model_copy(
            update={
                "status": DeliveryStatus.PENDING,
                "round": self.round + 1,
                "round_attempts": 0,
                "round_started_at": now,
                "next_attempt_at": now,
                "updated_at": now,
                "expire_at": now + ttl,
            }
        )


class Verdict(StrEnum):
    """What an attempt's result means: delivered, try again later, give up, or give up and
    disable the endpoint (410 Gone)."""

    DELIVERED = "DELIVERED"
    RETRY = "RETRY"
    GIVE_UP = "GIVE_UP"
    DISABLE = "DISABLE"


def judge(status_code: int | None) -> Verdict:
    """The :class:`Verdict` of an answer (``None``: no answer: timeout, connection error).

    Per the Standard Webhooks "Delivery success and failure" section: 2xx is success; timeouts,
    408, 429 and 5xx are retried; 410 Gone disables the endpoint; redirects (3xx, never
    followed) and every other 4xx fail without retry.
    """
    if status_code is None:
        return Verdict.RETRY
    if 200 <= status_code < 300:
        return Verdict.DELIVERED
    if status_code in (408, 429) or status_code >= 500:
        return Verdict.RETRY
    if status_code == 410:
        return Verdict.DISABLE
    return Verdict.GIVE_UP


class HealthChange(StrEnum):
    """What an attempt changes in its endpoint's health record: nothing, ``last_success_at``,
    ``failing_since`` (a failing episode starts), or the endpoint is disabled."""

    NONE = "NONE"
    SUCCESS = "SUCCESS"
    FAILING = "FAILING"
    DISABLE = "DISABLE"


def health_change(
    endpoint: EndpointRecord, verdict: Verdict, *, now: datetime, disable_after_s: float
) -> HealthChange:
    """The health write an attempt of ``verdict`` calls for.

    Each field is rewritten at most once per ``min(60 s, disable_after_s / 10)`` (an endpoint
    taking many deliveries would otherwise be written by every one of them, and concurrent
    attempts would contend on it); the disabling delay is therefore exact to within that.
    410 Gone disables at once (Standard Webhooks: "Sender should disable the webhook
    endpoint")."""
    every = timedelta(seconds=min(60.0, disable_after_s / 10))
    episode = endpoint.failing_episode_start
    if verdict is Verdict.DELIVERED:
        stale = endpoint.last_success_at is None or now - endpoint.last_success_at >= every
        return HealthChange.SUCCESS if stale or episode is not None else HealthChange.NONE
    if verdict is Verdict.DISABLE:
        return HealthChange.DISABLE
    if episode is not None:
        late = now - episode >= timedelta(seconds=disable_after_s)
        return HealthChange.DISABLE if late else HealthChange.NONE
    if endpoint.failing_since is None or now - endpoint.failing_since >= every:
        return HealthChange.FAILING
    return HealthChange.NONE


def retry_after_s(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or an HTTP-date,
    https://www.rfc-editor.org/rfc/rfc9110#field.retry-after); ``None`` when absent or
    unreadable, 0 for a date already past."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


@dataclass(frozen=True)
class Backoff:
    """When to try a failed delivery again: ``base_s * 2**(attempt-1)`` capped at ``max_s``,
    ±``jitter``, or the receiver's ``Retry-After``; never past ``window_s`` after the round
    started (seconds)."""

    base_s: float
    max_s: float
    jitter: float
    window_s: float

    def next_attempt_at(
        self,
        attempt_in_round: int,
        *,
        round_started_at: datetime,
        now: datetime,
        retry_after: float | None,
        factor: float,
    ) -> datetime | None:
        """When attempt ``attempt_in_round + 1`` runs, or ``None`` when the window is spent.

        ``factor`` is a random number in ``[-1, 1]`` scaling the jitter (the caller draws it,
        so this stays pure)."""
        if retry_after is not None:
            delay = retry_after
        else:
            delay = min(self.base_s * 2 ** (attempt_in_round - 1), self.max_s)
            delay = min(delay * (1 + self.jitter * factor), self.max_s)
        at = now + timedelta(seconds=max(0.0, delay))
        if at > round_started_at + timedelta(seconds=self.window_s):
            return None
        return at
