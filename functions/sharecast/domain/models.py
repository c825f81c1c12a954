"""Stored records of posts, targets, attempts and connections (docs/data-model.md).

Records are pydantic models; ``to_doc()`` gives the Firestore fields and ``from_doc()`` reads
them back. Every timestamp is an aware UTC datetime; every mutable record has ``version``
(incremented on each change, in the same transaction) and ``created_at``/``updated_at``.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict

from sharecast.domain.statuses import Platform, PostStatus, TargetStatus
from sharecast.timeutil import isoformat


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: (v.value if isinstance(v, Enum) else v) for k, v in value.items()}
    return value


class Record(BaseModel):
    """Base of stored records: converts to and from Firestore documents."""

    model_config = ConfigDict(validate_assignment=True)

    def to_doc(self) -> dict[str, Any]:
        """Firestore fields (enums as strings, also as the values of a map; datetimes native)."""
        doc = self.model_dump(mode="python", exclude={"id"})
        return {k: _plain(v) for k, v in doc.items()}

    @classmethod
    def from_doc(cls, doc_id: str, doc: dict[str, Any]) -> Self:
        """Rebuild the record from a Firestore document."""
        return cls.model_validate({**doc, "id": doc_id})


class TargetMedia(BaseModel):
    """A media file attached to a target, copied from its ``media/{id}`` record when the post is
    created (so publishing needs no extra read). ``size`` in bytes; ``object_path`` in the media
    bucket; ``kind`` ``IMAGE``/``VIDEO``/``REEL``."""

    media_id: str
    kind: str
    mime_type: str
    size: int
    object_path: str


class TargetError(BaseModel):
    """Why a target failed or is being retried (docs/data-model.md ``error``)."""

    code: str
    message: str
    retryable: bool
    retry_after_s: float | None = None
    attempts: int
    max_attempts: int


class PostRecord(Record):
    """``posts/{postId}``. ``enqueue_pending`` is true until every target's first task exists;
    ``allow_late`` lets the sweeper publish a post whose time passed long ago (else ``MISSED``)."""

    id: str
    user_id: str
    content: str
    media_ids: list[str] = []
    schedule_at: datetime | None = None
    status: PostStatus
    target_ids: list[str]
    enqueue_pending: bool = True
    #: Publish even when the sweeper finds the post overdue beyond ``missed_after_s``.
    allow_late: bool = False
    published_at: datetime | None = None
    #: Who asked for this post when it was not the user directly, e.g. a video share:
    #: ``{"kind": "share", "record_id", "round_id"}`` (see ``sharecast.shares.outcome``).
    origin: dict[str, str] | None = None
    #: The terminal status of each target that has one (target id → ``SUCCESS``, ``FAILED`` or
    #: ``CANCELLED``), kept in the commit that changes the target: the post's status is rolled
    #: up from it without reading the targets (``domain.rollup.rollup_after``). ``None`` on a
    #: post stored before it existed (rebuilt from the targets on its next change).
    target_outcomes: dict[str, TargetStatus] | None = None
    version: int = 1
    created_at: datetime
    updated_at: datetime

    def snapshot(self) -> dict[str, Any]:
        """JSON-compatible ``post_status`` event data."""
        return {
            "post_id": self.id,
            "status": self.status.value,
            "version": self.version,
            "schedule_at": isoformat(self.schedule_at),
            "published_at": isoformat(self.published_at),
            "updated_at": isoformat(self.updated_at),
        }


class TargetRecord(Record):
    """``posts/{postId}/targets/{targetId}``: one platform/account of a post.

    ``text`` is the final text (per-target override or the post's content). ``lease_id`` and
    ``lease_until`` identify the attempt that holds the target while ``PUBLISHING``;
    ``uncertain_since`` is set once an attempt may have reached the platform without Sharecast
    learning the outcome (a crash, a timeout, a lost response): every later attempt first looks
    for the post on the platform instead of sending it again (docs/semantics.md#statuses-and-rules).
    While the outcome of the attempt in flight is unknown, ``uncertain_cause`` holds what ended
    it (the timeout, the 5xx...) and ``settle_until`` the earliest time its existence check may
    run (the network's settle window); ``checks`` counts checks whose lookup itself failed.
    Both are cleared once the check decides (docs/semantics.md#exactly-once-and-uncertain).

    ``generation`` counts the user's reschedules of this target (publish now, a new schedule,
    new targets, a manual retry). Every task carries the generation it was made for; a task of
    an older generation is superseded and its delivery is a no-op (see ``tasks.PublishTask``).

    Multi-step platforms: ``step_state`` keeps each step's result (container id, upload session,
    byte offset) across continuations and retries; while the platform processes, the target
    stays ``PUBLISHING`` without a lease and ``continue_at`` says when continuation task number
    ``step`` of the current attempt is due.
    """

    id: str
    post_id: str
    user_id: str
    platform: Platform
    account_id: str
    connection_id: str
    media_type: str | None = None
    content: str | None = None
    title: str | None = None
    description: str | None = None
    text: str
    status: TargetStatus = TargetStatus.PENDING
    attempts: int = 0
    max_attempts: int
    next_attempt_at: datetime | None = None
    generation: int = 0
    lease_id: str | None = None
    lease_until: datetime | None = None
    attempt_started_at: datetime | None = None
    uncertain_since: datetime | None = None
    uncertain_cause: TargetError | None = None
    settle_until: datetime | None = None
    checks: int = 0
    media: list[TargetMedia] = []
    step: int = 0
    step_state: dict[str, Any] = {}
    continue_at: datetime | None = None
    external_id: str | None = None
    external_url: str | None = None
    error: TargetError | None = None
    published_at: datetime | None = None
    #: The post's ``origin`` copied at creation, so whoever consumes the target's outcome (the
    #: share sync) needs no read of the post.
    origin: dict[str, str] | None = None
    version: int = 1
    created_at: datetime
    updated_at: datetime

    def snapshot(self) -> dict[str, Any]:
        """JSON-compatible ``target_status`` event data (and API representation)."""
        return {
            "post_id": self.post_id,
            "target_id": self.id,
            "platform": self.platform.value,
            "account_id": self.account_id,
            "status": self.status.value,
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "next_attempt_at": isoformat(self.next_attempt_at),
            "external_id": self.external_id,
            "external_url": self.external_url,
            "error": self.error.model_dump() if self.error else None,
            "published_at": isoformat(self.published_at),
            "version": self.version,
            "updated_at": isoformat(self.updated_at),
        }


class ConnectionRecord(Record):
    """``connections/{id}``: OAuth credentials of one user on one platform account.

    Tokens are stored only encrypted (:mod:`sharecast.vault`), bound to the connection id.
    ``status`` is ``ACTIVE`` or ``NEEDS_REAUTH`` (a refresh was refused: the user must authorize
    again). ``expires_at`` is the access token's expiry (UTC; ``None``: none known).
    ``refresh_lease_id``/``refresh_lease_until`` mark the one refresher allowed at a time.
    """

    id: str
    user_id: str
    platform: Platform
    account_id: str
    account_name: str
    status: str = "ACTIVE"
    access_token_enc: str
    refresh_token_enc: str | None = None
    expires_at: datetime | None = None
    scopes: list[str] = []
    refresh_lease_id: str | None = None
    refresh_lease_until: datetime | None = None
    refreshed_at: datetime | None = None
    sandbox: bool = False
    version: int = 1
    created_at: datetime
    updated_at: datetime


class AttemptRecord(Record):
    """``attempts/{postId}-{targetId}-{n}``: one publish attempt (the job log)."""

    id: str
    post_id: str
    target_id: str
    user_id: str
    platform: Platform
    attempt: int
    outcome: str
    error: TargetError | None = None
    external_id: str | None = None
    started_at: datetime
    finished_at: datetime
    duration_ms: int
