"""Step 2 of an attempt: call the platform's connector for a claimed target
(docs/semantics.md#statuses-and-rules).

Exactly-once on the platform side: once an attempt may have reached the platform without
Sharecast learning the outcome (``uncertain_since``), every later attempt first asks the
connector for the existing post (``find_existing``) and only sends when there is none; a
platform that cannot tell fails the target as ``UNCERTAIN`` instead of posting twice.
Nothing is written here except the connector's own step state (:mod:`.step_log`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sharecast.app import AppContext
from sharecast.domain.models import TargetRecord
from sharecast.errors import NotFound
from sharecast.logs import fields
from sharecast.oauth.refresh import Credentials
from sharecast.platforms.base import Connector, MediaItem, Pending, PublishRequest, PublishResult
from sharecast.platforms.errors import AuthExpiredError, DuplicateContentError, PlatformError
from sharecast.publisher.step_log import LeaseLost, TargetSteps
from sharecast.store import connections as connections_store
from sharecast.vault import VaultError

log = logging.getLogger(__name__)

#: How far before an uncertain attempt's start reconciliation looks (clock skew), seconds.
RECONCILE_SLACK_S = 120


@dataclass(frozen=True)
class Outcome:
    """What the platform said: a ``result`` (published or found), an ``error``, or ``pending``
    (a multi-step platform asks to come back later). Exactly one is set."""

    result: PublishResult | None = None
    error: PlatformError | None = None
    pending: Pending | None = None


def execute(ctx: AppContext, target: TargetRecord, steps: TargetSteps) -> Outcome:
    """Publish ``target`` with a usable access token: refreshed first when it expires within
    ``OAUTH_REFRESH_SKEW_S``, and exactly once more after the platform rejects it (refreshes
    are serialized per connection, see :mod:`sharecast.oauth.refresh`). Never raises."""
    connector = ctx.connectors.get(target.platform)
    if connector is None:
        return Outcome(error=PlatformError("PLATFORM_NOT_SUPPORTED", target.platform.value))
    credentials = Credentials.of(ctx)
    try:
        conn = connections_store.get_connection(ctx.db, target.connection_id)
        token = credentials.access_token(conn)
    except (NotFound, VaultError) as exc:
        return Outcome(error=PlatformError("CONNECTION_INVALID", str(exc)))
    except PlatformError as exc:  # NEEDS_REAUTH, or a refresh that failed
        return Outcome(error=exc)
    outcome = send(connector, target, token, steps)
    if isinstance(outcome.error, AuthExpiredError):
        try:
            token = credentials.force_refresh(conn, stale_token=token)
        except PlatformError as exc:
            return Outcome(error=exc)
        outcome = send(connector, target, token, steps)
    return outcome


def publish_request(target: TargetRecord) -> PublishRequest:
    """What the connector gets for ``target``."""
    return PublishRequest(
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


def send(connector: Connector, target: TargetRecord, token: str, steps: TargetSteps) -> Outcome:
    """One call to ``connector`` (reconciling first after an uncertain attempt). Never raises:
    a connector bug becomes ``UNKNOWN_OUTCOME`` so the attempt is still recorded."""
    request = publish_request(target)
    try:
        if target.uncertain_since is not None:
            found = _reconcile(connector, target, request, token, steps)
            if found is not None:
                return found
        published = connector.publish(request, access_token=token, steps=steps)
        if isinstance(published, Pending):
            return Outcome(pending=published)
        return Outcome(result=published)
    except DuplicateContentError as exc:
        if target.uncertain_since is not None:
            return Outcome(
                error=PlatformError(
                    "UNCERTAIN",
                    f"already posted according to the platform, id unknown: {exc.message}",
                )
            )
        return Outcome(error=exc)
    except PlatformError as exc:
        return Outcome(error=exc)
    except LeaseLost as exc:  # recording is refused too (the lease check in ``record``)
        return Outcome(error=PlatformError("LEASE_LOST", str(exc)))
    except Exception as exc:  # a connector bug must not lose the attempt's record
        log.exception("connector raised an unexpected error", extra=fields(target=target.id))
        return Outcome(error=PlatformError("UNKNOWN_OUTCOME", type(exc).__name__))


def _reconcile(
    connector: Connector,
    target: TargetRecord,
    request: PublishRequest,
    token: str,
    steps: TargetSteps,
) -> Outcome | None:
    """The post an uncertain earlier attempt made, an ``UNCERTAIN`` failure when the platform
    cannot be asked, or ``None`` (nothing there: send)."""
    assert target.uncertain_since is not None
    since = target.uncertain_since - timedelta(seconds=RECONCILE_SLACK_S)
    try:
        existing = connector.find_existing(request, access_token=token, since=since, steps=steps)
    except NotImplementedError:
        return Outcome(
            error=PlatformError(
                "UNCERTAIN",
                "an earlier attempt may have been published and "
                f"{target.platform.value} offers no way to check; not sending again",
            )
        )
    return Outcome(result=existing) if existing is not None else None
