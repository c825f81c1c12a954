"""Share records of videos and their audit trail (docs/data-model.md, docs/api.md#video-shares), as
pure state transitions.

A share record ``shares/{videoId}:{platform}:{userId}`` holds the latest state of one user's
share of one video to one platform: ``status`` (``pending | success | failed``), ``mode``,
``attempt_count`` (every publish attempt ever made for it, retries included),
``external_ref`` (the network's post id) and ``error_message``. For ``server_post`` it also
links the internal post target that publishes it (``post_id``, ``target_id``) and the last
target ``version`` it reflected, which makes applying publisher outcomes idempotent.
Every change also appends a :class:`ShareAuditEntry` (``share_audit/{id}``, never updated).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from enum import StrEnum
from typing import Any

from sharecast.domain.models import Record
from sharecast.domain.statuses import Platform, TargetStatus
from sharecast.timeutil import isoformat

#: Video ids accepted in paths: YouTube ids are 11 characters of ``[A-Za-z0-9_-]``
#: (https://developers.google.com/youtube/v3/docs/videos#id); other catalogues may be longer.
VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

#: Actor recorded in the audit trail for changes made by the publisher.
SYSTEM_ACTOR = "system"


class ShareStatus(StrEnum):
    """State of a share record (docs/data-model.md)."""

    PENDING = "pending"
    SUCCESS = "success"
    FAILED = "failed"


class ShareMode(StrEnum):
    """`track_only`: the user shared it themselves (share link); `server_post`: we publish."""

    TRACK_ONLY = "track_only"
    SERVER_POST = "server_post"


def share_record_id(video_id: str, platform: Platform, user_id: str) -> str:
    """The deterministic record id ``{videoId}:{platform}:{userId}`` (one record per triple)."""
    return f"{video_id}:{platform.value}:{user_id}"


class ShareRecord(Record):
    """``shares/{videoId}:{platform}:{userId}``.

    ``attempt_base`` is ``attempt_count`` when the current publishing round started, so the
    count after an attempt is ``attempt_base + target.attempts`` however often an outcome is
    applied. ``round_id`` identifies the round (a new share, a forced share or a retry);
    ``text`` is the composed message of a server post (reused by a retry). ``shared_at`` is
    the time of the last success (UTC).
    """

    id: str
    video_id: str
    platform: Platform
    user_id: str
    status: ShareStatus
    mode: ShareMode
    attempt_count: int = 0
    attempt_base: int = 0
    external_ref: str | None = None
    external_url: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    text: str | None = None
    round_id: str | None = None
    post_id: str | None = None
    target_id: str | None = None
    target_version: int = 0
    shared_at: datetime | None = None
    version: int = 1
    created_at: datetime
    updated_at: datetime

    def snapshot(self) -> dict[str, Any]:
        """JSON-compatible ``share_status`` event data."""
        return {
            "record_id": self.id,
            "video_id": self.video_id,
            "platform": self.platform.value,
            "status": self.status.value,
            "mode": self.mode.value,
            "attempt_count": self.attempt_count,
            "external_ref": self.external_ref,
            "error_message": self.error_message,
            "shared_at": isoformat(self.shared_at),
            "version": self.version,
            "updated_at": isoformat(self.updated_at),
        }


class ShareAuditEntry(Record):
    """``share_audit/{id}``: one change of one share record; written once, never updated.

    ``user_id`` owns the record; ``actor`` made the change (the user, or ``system`` for the
    publisher). ``action`` is ``share``, ``force``, ``retry`` or ``attempt``; ``outcome`` the
    record status after the change.
    """

    id: str
    record_id: str
    video_id: str
    platform: Platform
    user_id: str
    actor: str
    action: str
    mode: ShareMode
    outcome: ShareStatus
    attempt_count: int
    error_message: str | None = None
    external_ref: str | None = None
    created_at: datetime

    @classmethod
    def of(cls, record: ShareRecord, *, actor: str, action: str, at: datetime) -> ShareAuditEntry:
        """The entry describing ``record`` as it is after a change made by ``actor``."""
        return cls(
            id=f"{at.strftime('%Y%m%dT%H%M%S%fZ')}-{secrets.token_hex(6)}",
            record_id=record.id,
            video_id=record.video_id,
            platform=record.platform,
            user_id=record.user_id,
            actor=actor,
            action=action,
            mode=record.mode,
            outcome=record.status,
            attempt_count=record.attempt_count,
            error_message=record.error_message,
            external_ref=record.external_ref,
            created_at=at,
        )


def new_record(
    *, video_id: str, platform: Platform, user_id: str, mode: ShareMode, now: datetime
) -> ShareRecord:
    """A record that does not exist yet (version 0: the first change makes it 1)."""
    return ShareRecord(
        id=share_record_id(video_id, platform, user_id),
        video_id=video_id,
        platform=platform,
        user_id=user_id,
        status=ShareStatus.PENDING,
        mode=mode,
        version=0,
        created_at=now,
        updated_at=now,
    )


def _bump(record: ShareRecord, now: datetime, **changes: Any) -> ShareRecord:
    return record.model_copy(update={**changes, "version": record.version + 1, "updated_at": now})


def track(record: ShareRecord, *, now: datetime) -> ShareRecord:
    """``track_only``: the user shared it themselves; a success at once (one more attempt)."""
    return _bump(
        record,
        now,
        status=ShareStatus.SUCCESS,
        mode=ShareMode.TRACK_ONLY,
        attempt_count=record.attempt_count + 1,
        attempt_base=record.attempt_count + 1,
        error_code=None,
        error_message=None,
        external_ref=None,
        external_url=None,
        round_id=None,
        post_id=None,
        target_id=None,
        target_version=0,
        shared_at=now,
    )


def start_round(record: ShareRecord, *, text: str, now: datetime) -> ShareRecord:
    """``server_post`` (new, forced or retried): ``pending`` with a fresh round, no post yet."""
    return _bump(
        record,
        now,
        status=ShareStatus.PENDING,
        mode=ShareMode.SERVER_POST,
        attempt_base=record.attempt_count,
        error_code=None,
        error_message=None,
        text=text,
        round_id=secrets.token_hex(8),
        post_id=None,
        target_id=None,
        target_version=0,
    )


def link_post(record: ShareRecord, *, post_id: str, target_id: str, now: datetime) -> ShareRecord:
    """The round's internal post exists: remember which target publishes this share."""
    return _bump(record, now, post_id=post_id, target_id=target_id)


def fail_round(record: ShareRecord, *, code: str, message: str, now: datetime) -> ShareRecord:
    """The round could not even be queued (no connection, text invalid...): ``failed``."""
    return _bump(record, now, status=ShareStatus.FAILED, error_code=code, error_message=message)


#: Target status -> share status.
_BY_TARGET: dict[TargetStatus, ShareStatus] = {
    TargetStatus.PENDING: ShareStatus.PENDING,
    TargetStatus.PUBLISHING: ShareStatus.PENDING,
    TargetStatus.RETRYING: ShareStatus.PENDING,
    TargetStatus.SUCCESS: ShareStatus.SUCCESS,
    TargetStatus.FAILED: ShareStatus.FAILED,
    TargetStatus.CANCELLED: ShareStatus.FAILED,
}


def apply_target(
    record: ShareRecord,
    *,
    post_id: str,
    target_id: str,
    target_version: int,
    target_status: TargetStatus,
    attempts: int,
    external_id: str | None,
    external_url: str | None,
    error_code: str | None,
    error_message: str | None,
    now: datetime,
) -> ShareRecord | None:
    """The record after the publisher recorded an attempt of its target, or ``None``.

    ``None`` (nothing to write) when the target belongs to another round, when this or a newer
    target version was already applied (redeliveries, replays), or when nothing the record
    shows changed. Only terminal outcomes and failed attempts matter here; a claim
    (``PUBLISHING``) changes nothing visible.
    """
    if record.post_id != post_id or record.target_id != target_id:
        return None
    if target_version <= record.target_version:
        return None
    status = _BY_TARGET[target_status]
    count = record.attempt_base + attempts
    success = status is ShareStatus.SUCCESS
    changes: dict[str, Any] = {
        "status": status,
        "attempt_count": max(count, record.attempt_count),
        "external_ref": external_id if success else record.external_ref,
        "external_url": external_url if success else record.external_url,
        "error_code": None if success else error_code,
        "error_message": None if success else error_message,
        "shared_at": now if success else record.shared_at,
    }
    if {k: getattr(record, k) for k in changes} == changes:
        return None
    return _bump(record, now, target_version=target_version, **changes)
