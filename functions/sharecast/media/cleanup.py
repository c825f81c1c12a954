"""Daily media cleanup (docs/semantics.md#the-sweeper), called by the sweeper's daily sweep.

- Uploaded (or failed) media past ``expires_at`` that no pending post uses: the object is
  deleted, then the record becomes ``DELETED``. Media a pending post still uses get
  ``expires_at`` moved one retention period later instead, so they are looked at again.
- ``UPLOADING`` records whose signed PUT URL has expired: ``FAILED`` (``failure`` says why) and
  any object a late upload left is deleted.

Idempotent and batched: each run handles at most ``limit`` records of each kind through the
indexed queries of :mod:`sharecast.store.media`; a record changed by someone else in between is
left as it is.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from google.api_core.exceptions import NotFound as GcsNotFound
from google.cloud import firestore

from sharecast.app import AppContext
from sharecast.domain.media import MediaRecord, MediaStatus
from sharecast.logs import fields
from sharecast.media.uploads import mark_deleted, pending_post_ids
from sharecast.store import media as media_store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CleanupCounts:
    """What one run did: records ``deleted``, ``kept`` (a pending post uses them), stale
    uploads ``failed``."""

    deleted: int = 0
    kept: int = 0
    failed: int = 0


def cleanup_media(ctx: AppContext, *, now: datetime, limit: int = 200) -> CleanupCounts:
    """Run one cleanup pass (see the module docstring). ``limit``: records per kind. Raises
    ``google.api_core`` errors when Firestore or Storage fail (the next run resumes)."""
    db, bucket, settings = ctx.db, ctx.media_bucket, ctx.settings
    deleted = kept = failed = 0
    for record in media_store.expired(db, now=now, limit=limit):
        if pending_post_ids(db, record.post_ids):
            _extend(db, record, until=now + timedelta(days=settings.media_retention_days), now=now)
            kept += 1
            continue
        with contextlib.suppress(GcsNotFound):
            bucket.blob(record.object_path).delete()
        mark_deleted(db, media_id=record.id, now=now)
        deleted += 1
    for record in media_store.stale_uploads(db, now=now, limit=limit):
        if _fail_stale(db, record, now=now):
            with contextlib.suppress(GcsNotFound):
                bucket.blob(record.object_path).delete()
            failed += 1
    counts = CleanupCounts(deleted=deleted, kept=kept, failed=failed)
    log.info("media cleanup", extra=fields(deleted=deleted, kept=kept, failed=failed))
    return counts


def _extend(db: firestore.Client, record: MediaRecord, *, until: datetime, now: datetime) -> None:
    def extend(current: MediaRecord) -> tuple[MediaRecord | None, None]:
        if current.expires_at >= until:
            return None, None
        update = {"expires_at": until, "version": current.version + 1, "updated_at": now}
        return current.model_copy(update=update), None

    media_store.change_media(db, record.id, extend)


def _fail_stale(db: firestore.Client, record: MediaRecord, *, now: datetime) -> bool:
    def fail(current: MediaRecord) -> tuple[MediaRecord | None, None]:
        if current.status is not MediaStatus.UPLOADING or current.upload_expires_at > now:
            return None, None
        update = {
            "status": MediaStatus.FAILED,
            "failure": "the upload URL expired before the file was confirmed",
            "version": current.version + 1,
            "updated_at": now,
        }
        return current.model_copy(update=update), None

    _, changed, _ = media_store.change_media(db, record.id, fail)
    return changed
