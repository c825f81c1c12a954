"""One publish attempt: claim with a lease, publish, record, emit events, schedule the next.

Exactly-once on the platform side (docs/semantics.md#statuses-and-rules): once an attempt may have
reached the platform without Sharecast learning the outcome (``uncertain_since``), every later
attempt first asks the connector for the existing post (``find_existing``) and only sends when there
is none; a platform that cannot tell fails the target as ``UNCERTAIN`` instead of posting twice.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import google.cloud.pubsub_v1 as pubsub_v1
import requests
from google.cloud import firestore, tasks_v2

from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.domain.backoff import RetryPolicy
from sharecast.domain.events import Event
from sharecast.domain.models import AttemptRecord, TargetRecord
from sharecast.domain.statuses import Platform, TargetStatus
from sharecast.domain.transitions import (
    ClaimAction,
    ClaimDecision,
    claimed,
    decide_claim,
    waiting,
)
from sharecast.domain.transitions import failed as failed_state
from sharecast.domain.transitions import succeeded as succeeded_state
from sharecast.errors import NotFound
from sharecast.events import publish_events
from sharecast.logs import fields
from sharecast.oauth.providers import build_providers
from sharecast.oauth.refresh import Credentials
from sharecast.platforms.base import (
    Connector,
    MediaItem,
    MediaSource,
    Pending,
    PublishRequest,
    PublishResult,
)
from sharecast.platforms.errors import AuthExpiredError, DuplicateContentError, PlatformError
from sharecast.platforms.registry import build_connectors
from sharecast.publisher.steps import LeaseLost, TargetSteps
from sharecast.shares.outcome import sync_share_target
from sharecast.store import connections as connections_store
from sharecast.store.posts import change_target, rollup_post
from sharecast.tasks import PublishTask, enqueue_publish
from sharecast.timeutil import utcnow
from sharecast.vault import TokenVault, VaultError

log = logging.getLogger(__name__)

#: Error codes after which the request may have reached the platform (outcome unknown).
MAYBE_POSTED_CODES = frozenset({"NETWORK", "TIMEOUT", "UNKNOWN_OUTCOME", "PLATFORM_5XX"})
#: No-ops that must not end the task: a live lease may belong to a publisher that died (once it
#: expires, the redelivery resumes the attempt), and an early task must still run. Nothing was
#: recorded, so answering 5xx keeps the queue retrying (docs/semantics.md#the-publisher).
COME_BACK_LATER = frozenset({ClaimAction.NOOP_LEASED, ClaimAction.NOOP_EARLY})
#: Actions that take the lease and call the connector.
CLAIMING = frozenset({ClaimAction.START, ClaimAction.RESUME, ClaimAction.CONTINUE})
#: How far before an uncertain attempt's start reconciliation looks (clock skew), seconds.
RECONCILE_SLACK_S = 120


@dataclass(frozen=True)
class Publisher:
    """Everything an attempt needs, built once per process by the entry point."""

    settings: Settings
    db: firestore.Client
    tasks: tasks_v2.CloudTasksClient
    pubsub: pubsub_v1.PublisherClient
    vault: TokenVault
    connectors: Mapping[Platform, Connector]
    #: Access tokens with proactive/forced refresh (built by :meth:`build`; see oauth.refresh).
    credentials: Credentials | None = None

    @classmethod
    def build(
        cls, settings: Settings, clients: Clients, *, media: MediaSource | None = None
    ) -> Publisher:
        """A publisher on ``clients`` with every platform's connector and its own HTTP session.
        ``media`` gives connectors access to media objects (signed URLs, chunked reads).
        Raises ``ValueError`` when ``TOKEN_ENCRYPTION_KEYS`` is missing or malformed."""
        session = requests.Session()
        pub = cls(
            settings=settings,
            db=clients.firestore,
            tasks=clients.tasks,
            pubsub=clients.publisher,
            vault=TokenVault.from_settings(settings),
            connectors=build_connectors(settings, session, media=media),
        )
        credentials = Credentials(
            db=pub.db,
            vault=pub.vault,
            providers=build_providers(settings, session),
            skew_s=settings.oauth_refresh_skew_s,
            lease_s=settings.oauth_refresh_lease_s,
            event_ttl=timedelta(days=settings.event_ttl_days),
            emit=lambda events: _emit(pub, events),
        )
        return dataclasses.replace(pub, credentials=credentials)

    def policy(self, platform: Platform) -> RetryPolicy:
        """The retry policy of ``platform`` from settings (``RETRY_POLICIES`` overrides the
        defaults; the target's own ``max_attempts`` bounds the count)."""
        return self.settings.retry_policy(platform.value)


@dataclass(frozen=True)
class AttemptReport:
    """What the delivery did: ``action`` (a :class:`ClaimAction` value), the target status
    after it, and whether the caller must answer 5xx so Cloud Tasks redelivers: only when
    nothing was recorded (a live lease, an early task), or when the outcome is recorded but the
    post's status could not be rolled up (the redelivery changes nothing on the target and
    repairs the rollup)."""

    action: str
    status: str | None
    detail: str
    redeliver: bool = False


@dataclass(frozen=True)
class _Outcome:
    result: PublishResult | None = None
    error: PlatformError | None = None
    pending: Pending | None = None


def run_attempt(pub: Publisher, *, task: PublishTask) -> AttemptReport:
    """Run the delivery of ``task``. Raises only when nothing could be recorded.

    Returns a report for every recorded outcome (success, retry scheduled, permanent failure)
    and for every no-op (terminal, leased, stale); ``redeliver`` is set when the next task could
    not be enqueued, so the queue retries this delivery, which then re-ensures the next task.
    """
    now = utcnow()
    lease_id = uuid.uuid4().hex
    ttl = timedelta(days=pub.settings.event_ttl_days)

    def claim(target: TargetRecord) -> tuple[TargetRecord | None, ClaimDecision]:
        decision = decide_claim(
            target, attempt=task.attempt, step=task.step, now=now, generation=task.generation
        )
        if decision.action in CLAIMING:
            return (
                claimed(
                    target,
                    action=decision.action,
                    lease_id=lease_id,
                    lease_s=pub.settings.lease_s,
                    now=now,
                ),
                decision,
            )
        return None, decision

    try:
        change = change_target(
            pub.db,
            post_id=task.post_id,
            target_id=task.target_id,
            mutate=claim,
            event_ttl=ttl,
        )
    except NotFound as exc:
        return AttemptReport("NOOP_MISSING", None, str(exc))
    _emit(pub, change.events)
    try:
        _emit(pub, _rollup(pub, task.post_id))
    except Exception:  # not fatal: the rollup after recording brings the post up to date
        log.warning("post rollup failed", exc_info=True, extra=fields(post_id=task.post_id))
    decision: ClaimDecision = change.detail
    target = change.target
    if decision.action is ClaimAction.ENSURE_NEXT:
        return _schedule_next(pub, target, decision)
    if decision.action is ClaimAction.ENSURE_CONTINUATION:
        return _schedule_continuation(pub, target, decision)
    if decision.action is ClaimAction.NOOP_TERMINAL:  # a share may have missed the outcome
        _sync_share(pub, target)
    if decision.action not in CLAIMING:
        return AttemptReport(
            decision.action.value,
            target.status.value,
            decision.reason,
            redeliver=decision.action in COME_BACK_LATER,
        )

    started = time.monotonic()
    steps = TargetSteps(
        pub.db, target=target, lease_id=lease_id, lease_s=pub.settings.lease_s, event_ttl=ttl
    )
    outcome = _publish(pub, target, steps)
    duration_ms = int((time.monotonic() - started) * 1000)
    finished = utcnow()

    def record(current: TargetRecord) -> tuple[TargetRecord | None, str]:
        if current.lease_id != lease_id or current.status is not TargetStatus.PUBLISHING:
            return None, "lease lost before recording"
        if outcome.pending is not None:
            return waiting(current, wait_s=outcome.pending.wait_s, now=finished), "PENDING"
        if outcome.result is not None:
            return (
                succeeded_state(
                    current,
                    external_id=outcome.result.external_id,
                    external_url=outcome.result.external_url,
                    now=finished,
                ),
                "published",
            )
        error = outcome.error
        assert error is not None
        return (
            failed_state(
                current,
                code=error.code,
                message=error.message,
                retryable=_retryable(error),
                retry_after_s=error.retry_after_s,
                maybe_posted=error.code in MAYBE_POSTED_CODES,
                policy=pub.policy(current.platform),
                now=finished,
            ),
            error.code,
        )

    def attempt_log(new: TargetRecord) -> AttemptRecord | None:
        if new.status is TargetStatus.PUBLISHING:  # a step of a continuing attempt
            return None
        return AttemptRecord(
            id=f"{new.post_id}-{new.id}-{new.attempts}",
            post_id=new.post_id,
            target_id=new.id,
            user_id=new.user_id,
            platform=new.platform,
            attempt=new.attempts,
            outcome=new.status.value,
            error=new.error,
            external_id=new.external_id,
            started_at=now,
            finished_at=finished,
            duration_ms=duration_ms,
        )

    change = change_target(
        pub.db,
        post_id=task.post_id,
        target_id=task.target_id,
        mutate=record,
        event_ttl=ttl,
        attempt_log=attempt_log,
    )
    _emit(pub, change.events)
    try:
        _emit(pub, _rollup(pub, task.post_id))
    except Exception:  # recorded, but the post status lags: the redelivery repairs the rollup
        log.warning("post rollup failed", exc_info=True, extra=fields(post_id=task.post_id))
        return AttemptReport(
            decision.action.value,
            change.target.status.value,
            "post rollup pending",
            redeliver=True,
        )
    if change.changed and not _sync_share(pub, change.target):
        return AttemptReport(
            decision.action.value, change.target.status.value, "share sync pending", True
        )
    final = change.target
    log.info(
        "publish attempt finished",
        extra=fields(
            post_id=task.post_id,
            target_id=task.target_id,
            attempt=final.attempts,
            platform=final.platform.value,
            status=final.status.value,
            outcome=change.detail,
            duration_ms=duration_ms,
            external_id=final.external_id,
        ),
    )
    if not change.changed:
        return AttemptReport("LEASE_LOST", final.status.value, str(change.detail))
    if final.status is TargetStatus.RETRYING:
        return _schedule_next(pub, final, decision)
    if final.status is TargetStatus.PUBLISHING and final.continue_at is not None:
        return _schedule_continuation(pub, final, decision)
    return AttemptReport(decision.action.value, final.status.value, str(change.detail))


def _retryable(error: PlatformError) -> bool:
    # An auth error reaching here survived the one forced refresh (_publish): final
    # (docs/semantics.md#statuses-and-rules).
    return error.retryable and not isinstance(error, AuthExpiredError)


def _publish(pub: Publisher, target: TargetRecord, steps: TargetSteps) -> _Outcome:
    connector = pub.connectors.get(target.platform)
    if connector is None:
        return _Outcome(error=PlatformError("PLATFORM_NOT_SUPPORTED", target.platform.value))
    credentials = pub.credentials
    if credentials is None:
        return _Outcome(error=PlatformError("CONNECTION_INVALID", "publisher has no credentials"))
    try:
        conn = connections_store.get_connection(pub.db, target.connection_id)
        # Proactive refresh when the token expires within oauth_refresh_skew_s.
        token = credentials.access_token(conn)
    except (NotFound, VaultError) as exc:
        return _Outcome(error=PlatformError("CONNECTION_INVALID", str(exc)))
    except PlatformError as exc:  # NEEDS_REAUTH, or a refresh that failed
        return _Outcome(error=exc)
    outcome = _send(connector, target, token, steps)
    if isinstance(outcome.error, AuthExpiredError):
        # Exactly one forced refresh and retry (serialized per connection, see oauth.refresh).
        try:
            token = credentials.force_refresh(conn, stale_token=token)
        except PlatformError as exc:
            return _Outcome(error=exc)
        outcome = _send(connector, target, token, steps)
    return outcome


def _send(connector: Connector, target: TargetRecord, token: str, steps: TargetSteps) -> _Outcome:
    request = PublishRequest(
        account_id=target.account_id,
        text=target.text,
        target_key=f"{target.post_id}/{target.id}",
        media=tuple(
            MediaItem(
                media_id=m.media_id,
                kind=m.kind,
                mime_type=m.mime_type,
                size=m.size,
                object_path=m.object_path,
            )
            for m in target.media
        ),
        media_type=target.media_type,
        title=target.title,
        description=target.description,
    )
    try:
        if target.uncertain_since is not None:
            since = target.uncertain_since - timedelta(seconds=RECONCILE_SLACK_S)
            try:
                existing = connector.find_existing(
                    request, access_token=token, since=since, steps=steps
                )
            except NotImplementedError:
                return _Outcome(
                    error=PlatformError(
                        "UNCERTAIN",
                        "an earlier attempt may have been published and "
                        f"{target.platform.value} offers no way to check; not sending again",
                    )
                )
            if existing is not None:
                return _Outcome(result=existing)
        published = connector.publish(request, access_token=token, steps=steps)
        if isinstance(published, Pending):
            return _Outcome(pending=published)
        return _Outcome(result=published)
    except DuplicateContentError as exc:
        if target.uncertain_since is not None:
            return _Outcome(
                error=PlatformError(
                    "UNCERTAIN",
                    f"already posted according to the platform, id unknown: {exc.message}",
                )
            )
        return _Outcome(error=exc)
    except PlatformError as exc:
        return _Outcome(error=exc)
    except LeaseLost as exc:  # recording is refused too (the lease check in ``record``)
        return _Outcome(error=PlatformError("LEASE_LOST", str(exc)))
    except Exception as exc:  # a connector bug must not lose the attempt's record
        log.exception("connector raised an unexpected error", extra=fields(target=target.id))
        return _Outcome(error=PlatformError("UNKNOWN_OUTCOME", type(exc).__name__))


def _schedule_next(pub: Publisher, target: TargetRecord, decision: ClaimDecision) -> AttemptReport:
    next_task = PublishTask.next_for(target)
    try:
        enqueue_publish(pub.tasks, pub.settings, next_task, schedule_at=target.next_attempt_at)
    except Exception:
        log.warning(
            "next attempt not enqueued",
            exc_info=True,
            extra=fields(post_id=target.post_id, target_id=target.id),
        )
        # The outcome is recorded, so the answer is 2xx (docs/semantics.md#the-publisher): the
        # sweeper creates the missing task once the target is overdue
        # (sweeper.steps.resume_due_targets).
        return AttemptReport(
            decision.action.value, target.status.value, "next task not queued; left to the sweeper"
        )
    return AttemptReport(decision.action.value, target.status.value, "next attempt scheduled")


def _schedule_continuation(
    pub: Publisher, target: TargetRecord, decision: ClaimDecision
) -> AttemptReport:
    """Queue the task of the step the target waits for (idempotent: the task name is fixed)."""
    task = PublishTask(
        post_id=target.post_id,
        target_id=target.id,
        attempt=target.attempts,
        generation=target.generation,
        step=target.step,
    )
    try:
        enqueue_publish(pub.tasks, pub.settings, task, schedule_at=target.continue_at)
    except Exception:
        log.warning(
            "continuation not enqueued",
            exc_info=True,
            extra=fields(post_id=target.post_id, target_id=target.id, step=target.step),
        )
        # Recorded: 2xx; the sweeper re-creates it (sweeper.steps.resume_due_continuations).
        return AttemptReport(
            decision.action.value,
            target.status.value,
            "continuation not queued; left to the sweeper",
        )
    return AttemptReport(decision.action.value, target.status.value, "continuation scheduled")


def _rollup(pub: Publisher, post_id: str) -> list[Event]:
    return rollup_post(
        pub.db,
        post_id=post_id,
        now=utcnow(),
        event_ttl=timedelta(days=pub.settings.event_ttl_days),
    )


def _sync_share(pub: Publisher, target: TargetRecord) -> bool:
    return sync_share_target(db=pub.db, pubsub=pub.pubsub, settings=pub.settings, target=target)


def _emit(pub: Publisher, events: list[Event]) -> None:
    if events:
        publish_events(
            publisher=pub.pubsub, db=pub.db, topic_path=pub.settings.topic_path, events=events
        )
