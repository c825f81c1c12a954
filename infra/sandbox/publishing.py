"""The request flow every network module shares: faults, in-band trigger, duplicates, ledger.

A network module parses and validates the request in its own API's shape, then hands an
:class:`Attempt` (create calls) or a read callback to :func:`publish` / :func:`read`, together
with its :class:`Dialect`, which renders faults in that network's error format.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

from infra.sandbox.faults import RESPONSE_LOSS_KINDS, FaultRule
from infra.sandbox.ledger import Post
from infra.sandbox.logs import LOGGER_NAME, fields, fingerprint
from infra.sandbox.state import SandboxState
from infra.sandbox.wire import drop_connection, json_response

log = logging.getLogger(LOGGER_NAME)


@dataclass(frozen=True)
class Attempt:
    """One create call, already validated: who posts what, with which token."""

    platform: str
    account_id: str
    text: str
    link: str | None
    token: str
    media: tuple[dict[str, Any], ...] = ()


@dataclass
class Ctx:
    """Per-request context a dialect renders with: the account and the headers every response
    of this request carries (X rate-limit headers, Meta usage headers...)."""

    account_id: str
    headers: dict[str, str] = field(default_factory=dict)


class Dialect(Protocol):
    """How one network spells its responses."""

    platform: str
    #: Fault kinds this network can render (``usage_capped`` is X-only, ``policy_blocked`` Meta).
    supported_kinds: frozenset[str]
    #: HTTP status of a successful create (``accept_then_garble`` answers it with ``{}``).
    created_status: int

    def fault_response(self, kind: str, *, ctx: Ctx, retry_after_s: int) -> Response:
        """The network's error response for ``kind`` (``server_error``, ``duplicate``...)."""
        ...

    def mint_id(self, account_id: str) -> str:
        """A new post id in the network's format."""
        ...

    def is_duplicate(self, earlier: Post, attempt: Attempt) -> bool:
        """Whether ``attempt`` repeats ``earlier`` in the network's eyes."""
        ...


async def publish(
    state: SandboxState,
    dialect: Dialect,
    attempt: Attempt,
    request: Request,
    ctx: Ctx,
    success: Callable[[Post], Response],
) -> Response:
    """Run a create call through faults, the in-band trigger and duplicate detection.

    Order: latency (every firing latency rule plus the error rule's own ``latency_ms``); the
    first firing error rule, unless it is ``accept_then_*``; the ``#sandbox-fail-transient-N``
    trigger; duplicate detection; then the post is recorded and, for ``accept_then_drop`` /
    ``accept_then_hang`` / ``accept_then_garble``, the response is lost, delayed or emptied.
    """
    if state.oauth.rejects(attempt.token):  # issued by the OAuth stand-in, expired or revoked
        log.info("publish refused: token expired", extra=fields(platform=attempt.platform))
        return dialect.fault_response("token_expired", ctx=ctx, retry_after_s=0)
    plan = state.faults.plan(
        platform=attempt.platform,
        account_id=attempt.account_id,
        text=attempt.text,
        operation="publish",
        supported=dialect.supported_kinds,
    )
    if plan.delay_s:
        await asyncio.sleep(plan.delay_s)
    base = {
        "platform": attempt.platform,
        "account_id": attempt.account_id,
        "caller_fp": fingerprint(attempt.token),  # "token" keys are redacted by the logger
        "rules": plan.fired,
    }
    rule = plan.error
    if rule is not None and rule.spec.kind not in RESPONSE_LOSS_KINDS:
        log.info("publish refused by fault rule", extra=fields(**base, outcome=rule.spec.kind))
        return dialect.fault_response(
            rule.spec.kind, ctx=ctx, retry_after_s=rule.spec.retry_after_s
        )
    if state.triggers.should_fail(attempt.platform, attempt.account_id, attempt.text):
        log.info("publish failed by in-band trigger", extra=fields(**base, outcome="server_error"))
        return dialect.fault_response("server_error", ctx=ctx, retry_after_s=0)
    now = datetime.now(UTC)
    earlier = _duplicate_of(state, dialect, attempt, now) if plan.duplicate_check else None
    if earlier is not None:
        log.info(
            "publish refused as duplicate",
            extra=fields(**base, outcome="duplicate", duplicate_of=earlier.id),
        )
        return dialect.fault_response("duplicate", ctx=ctx, retry_after_s=0)
    post = state.ledger.record(
        Post(
            platform=attempt.platform,
            account_id=attempt.account_id,
            id=dialect.mint_id(attempt.account_id),
            text=attempt.text,
            link=attempt.link,
            created_at=now,
            token_fingerprint=fingerprint(attempt.token),
            fault=rule.spec.kind if rule is not None else None,
            media=list(attempt.media),
        )
    )
    log.info("post accepted", extra=fields(**base, outcome=post.fault or "accepted", id=post.id))
    return await _respond(rule, dialect, request, ctx, lambda: success(post))


def _duplicate_of(
    state: SandboxState, dialect: Dialect, attempt: Attempt, now: datetime
) -> Post | None:
    """The earlier post ``attempt`` repeats within the duplicate window, if detection is on."""
    if not state.settings.duplicate_detection:
        return None
    window_start = now - timedelta(seconds=state.settings.duplicate_window_s)
    for earlier in state.ledger.since(attempt.platform, attempt.account_id, window_start):
        if dialect.is_duplicate(earlier, attempt):
            return earlier
    return None


async def _respond(
    rule: FaultRule | None,
    dialect: Dialect,
    request: Request,
    ctx: Ctx,
    success: Callable[[], Response],
) -> Response:
    """The answer to an accepted create: lost (``accept_then_drop``), late
    (``accept_then_hang``), emptied (``accept_then_garble``) or the network's success body."""
    kind = rule.spec.kind if rule is not None else None
    if kind == "accept_then_drop":
        await drop_connection(request)
        return json_response({"dropped": True}, 500)  # never reaches the client
    if rule is not None and kind == "accept_then_hang":
        await asyncio.sleep(rule.hang_s)
    if kind == "accept_then_garble":
        return json_response({}, dialect.created_status, ctx.headers)
    return success()


async def read(
    state: SandboxState,
    dialect: Dialect,
    request: Request,
    ctx: Ctx,
    answer: Callable[[], Response],
) -> Response:
    """Run a lookup through the fault rules whose ``operation`` is ``read`` or ``any``.

    ``accept_then_drop`` drops the connection; ``accept_then_hang`` delays the answer;
    ``accept_then_garble`` answers 200 ``{}``.
    """
    plan = state.faults.plan(
        platform=dialect.platform,
        account_id=ctx.account_id,
        text=None,
        operation="read",
        supported=dialect.supported_kinds,
    )
    if plan.delay_s:
        await asyncio.sleep(plan.delay_s)
    rule = plan.error
    if rule is not None:
        log.info(
            "read affected by fault rule",
            extra=fields(
                platform=dialect.platform,
                account_id=ctx.account_id,
                outcome=rule.spec.kind,
                rules=plan.fired,
            ),
        )
        if rule.spec.kind == "accept_then_drop":
            await drop_connection(request)
            return json_response({"dropped": True}, 500)
        if rule.spec.kind == "accept_then_garble":
            return json_response({}, 200, ctx.headers)
        if rule.spec.kind == "accept_then_hang":
            await asyncio.sleep(rule.hang_s)
        else:
            return dialect.fault_response(
                rule.spec.kind, ctx=ctx, retry_after_s=rule.spec.retry_after_s
            )
    return answer()
