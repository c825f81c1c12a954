"""Step 2 of an attempt: call the platform's connector for a claimed target
(docs/semantics.md#statuses-and-rules, docs/semantics.md#exactly-once-and-uncertain).

Exactly-once on the platform side: a call whose request may have reached the network without an
answer is an *unknown* outcome (:mod:`.outcome`), not a failure. The attempt then waits out the
network's settle window and its next delivery only *checks* (``find_existing``): found → the
attempt published; absent → it failed with its cause; the lookup erred → check again later; no
way to check → ``UNCERTAIN``. Every later attempt of a target that was ever uncertain looks for
the post once more before it sends. A duplicate answer after an unknown outcome means "already
posted": the post it names, or the one a lookup finds, is the result.
Nothing is written here except the connector's own step state (:mod:`.step_log`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sharecast.app import AppContext
from sharecast.domain.models import ConnectionRecord, TargetRecord
from sharecast.errors import NotFound
from sharecast.logs import fields
from sharecast.oauth.refresh import Credentials
from sharecast.platforms.base import Connector, MediaItem, Pending, PublishRequest, PublishResult
from sharecast.platforms.errors import AuthExpiredError, DuplicateContentError, PlatformError
from sharecast.publisher.outcome import Outcome
from sharecast.publisher.step_log import LeaseLost, TargetSteps
from sharecast.store import connections as connections_store
from sharecast.vault import VaultError

log = logging.getLogger(__name__)

#: How far before an uncertain attempt's start reconciliation looks (clock skew), seconds.
RECONCILE_SLACK_S = 120


def execute(
    ctx: AppContext,
    target: TargetRecord,
    steps: TargetSteps,
    *,
    connection: ConnectionRecord | None = None,
) -> Outcome:
    """Publish ``target`` (or check an unknown outcome) with a usable access token: refreshed
    first when it expires within ``OAUTH_REFRESH_SKEW_S``, and exactly once more after the
    platform rejects it (refreshes are serialized per connection, see
    :mod:`sharecast.oauth.refresh`). ``connection``: the target's connection when the claim
    already read it (else it is read here). Never raises."""
    connector = ctx.connectors.get(target.platform)
    if connector is None:
        return Outcome.failed(PlatformError("PLATFORM_NOT_SUPPORTED", target.platform.value))
    if target.settle_until is not None and ctx.now() < target.settle_until:
        # A resumed delivery came before the settle window ended: come back then.
        wait_s = (target.settle_until - ctx.now()).total_seconds()
        return Outcome.waiting(Pending(wait_s=wait_s, reason="settle window"))
    credentials = Credentials.of(ctx)
    try:
        conn = (
            connection
            if connection is not None and connection.id == target.connection_id
            else connections_store.get_connection(ctx.db, target.connection_id)
        )
        token = credentials.access_token(conn)
    except (NotFound, VaultError) as exc:
        return Outcome.failed(PlatformError("CONNECTION_INVALID", str(exc)))
    except PlatformError as exc:  # NEEDS_REAUTH, or a refresh that failed
        return Outcome.failed(exc)
    outcome = send(connector, target, token, steps)
    if isinstance(outcome.error, AuthExpiredError):
        try:
            token = credentials.force_refresh(conn, stale_token=token)
        except PlatformError as exc:
            return Outcome.failed(exc)
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
    """One call to ``connector``: the check of an unknown outcome, or (after looking first when
    the target was ever uncertain) the publication. Never raises: a connector bug becomes an
    unknown outcome (``UNKNOWN_OUTCOME``) so the attempt is still recorded and checked."""
    request = publish_request(target)
    try:
        if target.uncertain_cause is not None:
            return check(connector, target, request, token, steps)
        if target.uncertain_since is not None:
            found = _look_first(connector, target, request, token, steps)
            if found is not None:
                return found
        published = connector.publish(request, access_token=token, steps=steps)
        if isinstance(published, Pending):
            return Outcome.waiting(published)
        return Outcome.published(published)
    except DuplicateContentError as exc:
        if target.uncertain_since is not None:
            return _already_posted(connector, target, request, token, steps, exc)
        return Outcome.failed(exc)
    except PlatformError as exc:
        return Outcome.of_error(exc)
    except LeaseLost as exc:  # recording is refused too (the lease check in ``record``)
        return Outcome.failed(PlatformError("LEASE_LOST", str(exc)))
    except Exception as exc:  # a connector bug must not lose the attempt's record
        log.exception("connector raised an unexpected error", extra=fields(target=target.id))
        return Outcome.unknown(PlatformError("UNKNOWN_OUTCOME", type(exc).__name__))


def _since(target: TargetRecord) -> datetime:
    assert target.uncertain_since is not None
    return target.uncertain_since - timedelta(seconds=RECONCILE_SLACK_S)


def check(
    connector: Connector,
    target: TargetRecord,
    request: PublishRequest,
    token: str,
    steps: TargetSteps,
) -> Outcome:
    """The existence check of an attempt whose outcome is unknown (its settle window is over):
    ``PUBLISHED`` (found), ``ABSENT``, ``CHECK_FAILED`` (the lookup erred) or ``FAILED``
    ``UNCERTAIN`` (the platform cannot be asked)."""
    try:
        existing = connector.find_existing(
            request, access_token=token, since=_since(target), steps=steps
        )
    except NotImplementedError as exc:
        return Outcome.failed(
            PlatformError(
                "UNCERTAIN",
                "the attempt may have been published and "
                f"{target.platform.value} offers no way to check ({exc}); not sending again",
            )
        )
    except AuthExpiredError as exc:
        return Outcome.failed(exc)  # refreshed once by ``execute``, then checked again
    except PlatformError as exc:
        return Outcome.check_failed(exc)
    return Outcome.published(existing) if existing is not None else Outcome.absent()


def _look_first(
    connector: Connector,
    target: TargetRecord,
    request: PublishRequest,
    token: str,
    steps: TargetSteps,
) -> Outcome | None:
    """Before a new attempt of a target that was ever uncertain: the post found, an
    ``UNCERTAIN`` failure when the platform cannot be asked, a failed attempt when the lookup
    erred (nothing was sent), or ``None`` (nothing there: send)."""
    try:
        existing = connector.find_existing(
            request, access_token=token, since=_since(target), steps=steps
        )
    except NotImplementedError:
        return Outcome.failed(
            PlatformError(
                "UNCERTAIN",
                "an earlier attempt may have been published and "
                f"{target.platform.value} offers no way to check; not sending again",
            )
        )
    except PlatformError as exc:
        return Outcome.failed(exc)
    return Outcome.published(existing) if existing is not None else None


def _already_posted(
    connector: Connector,
    target: TargetRecord,
    request: PublishRequest,
    token: str,
    steps: TargetSteps,
    duplicate: DuplicateContentError,
) -> Outcome:
    """A duplicate answer after an unknown outcome: the network has the post. Its id is the one
    the answer names (LinkedIn), or the one a lookup finds now that it surely landed; without
    either the target fails ``UNCERTAIN`` ("already posted, id unknown")."""
    if duplicate.existing_id:
        return Outcome.published(
            PublishResult(external_id=duplicate.existing_id, external_url=duplicate.existing_url)
        )
    try:
        existing = connector.find_existing(
            request, access_token=token, since=_since(target), steps=steps
        )
    except (NotImplementedError, PlatformError):
        existing = None
    if existing is not None:
        return Outcome.published(existing)
    return Outcome.failed(
        PlatformError(
            "UNCERTAIN",
            f"already posted according to the platform, id unknown: {duplicate.message}",
        )
    )
