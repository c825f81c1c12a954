"""Upload flow of a media file (docs/api.md#media): request a signed PUT URL, then confirm the
object (by the client's ``POST /media/confirm`` or by the GCS finalize event), read it, delete it.

Confirmation is one function, :func:`verify_upload`, for both paths: it reads the object's
metadata from Cloud Storage and moves the record from ``UPLOADING`` to ``UPLOADED`` or to
``FAILED`` (deleting the object) in a transaction, so whichever path comes first decides and
the other finds the decision already made (both idempotent).
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import google.cloud.storage as storage
from google.api_core.exceptions import NotFound as GcsNotFound
from google.cloud import firestore

from sharecast.app import AppContext
from sharecast.config import Settings
from sharecast.domain.media import (
    KindPolicy,
    MediaKind,
    MediaRecord,
    MediaStatus,
    check_object,
    media_id_of_path,
    object_path,
    validate_upload,
)
from sharecast.domain.statuses import PostStatus
from sharecast.errors import Conflict, NotFound, ValidationFailed
from sharecast.logs import fields
from sharecast.store import media as media_store
from sharecast.store import posts as posts_store

log = logging.getLogger(__name__)

#: Post statuses that may still publish, so their media must be kept.
PENDING_POST_STATUSES = frozenset({PostStatus.DRAFT, PostStatus.SCHEDULED, PostStatus.PUBLISHING})
LENGTH_RANGE_HEADER = "x-goog-content-length-range"
#: Signed into every upload URL with the value ``0``: Cloud Storage creates the object only if
#: no live object has that name, so the URL uploads once and a second ``PUT`` is refused with
#: 412 (https://cloud.google.com/storage/docs/xml-api/reference-headers#xgoogifgenerationmatch,
#: https://cloud.google.com/storage/docs/request-preconditions).
GENERATION_MATCH_HEADER = "x-goog-if-generation-match"
#: ``failure`` of a record whose object changed after it was confirmed.
REPLACED = "the object was replaced after it was confirmed"


class UploadNotFound(Conflict):
    """``POST /media/confirm`` before the object exists: upload it first (the record stays
    ``UPLOADING`` until its URL expires)."""

    code = "UPLOAD_NOT_FOUND"


class MediaRejected(ValidationFailed):
    """The uploaded object does not match what was declared; the record is ``FAILED`` and the
    object deleted."""

    code = "MEDIA_REJECTED"


class MediaInUse(Conflict):
    """The media is attached to a post that may still publish."""

    code = "MEDIA_IN_USE"


def kind_policies(settings: Settings) -> dict[MediaKind, KindPolicy]:
    """Allowlisted MIME types and size caps per kind, from settings."""
    return {
        MediaKind.IMAGE: KindPolicy(
            frozenset(settings.media_image_types), settings.media_image_max_bytes
        ),
        MediaKind.VIDEO: KindPolicy(
            frozenset(settings.media_video_types), settings.media_video_max_bytes
        ),
        MediaKind.REEL: KindPolicy(
            frozenset(settings.media_reel_types), settings.media_reel_max_bytes
        ),
    }


@dataclass(frozen=True)
class UploadTicket:
    """What the client needs to upload: the record, the signed URL, the exact headers to send
    with the ``PUT``, and when the URL expires (UTC)."""

    record: MediaRecord
    url: str
    headers: dict[str, str]
    expires_at: datetime


def request_upload(
    ctx: AppContext,
    *,
    user_id: str,
    file_name: str,
    mime_type: str,
    size: int,
    kind: str,
    now: datetime,
) -> UploadTicket:
    """Check type and size first (:class:`ValidationFailed`, 422, before anything else), then
    store an ``UPLOADING`` record and sign a PUT URL bound to the content type, to
    ``x-goog-content-length-range: 1,{size}`` and to ``x-goog-if-generation-match: 0``
    (create-only: the URL cannot replace the object once it exists), valid
    ``media_upload_url_ttl_s`` seconds. The ticket lists every header the ``PUT`` must send."""
    settings = ctx.settings
    problems = validate_upload(
        kind=kind, mime_type=mime_type, size=size, policies=kind_policies(settings)
    )
    if problems:
        raise ValidationFailed("the upload is not accepted", errors=problems)
    media_kind = MediaKind(kind)
    media_id = uuid.uuid4().hex
    path = object_path(
        kind=media_kind, user_id=user_id, media_id=media_id, mime_type=mime_type, now=now
    )
    ttl = settings.media_upload_url_ttl_s
    signed = {LENGTH_RANGE_HEADER: f"1,{size}", GENERATION_MATCH_HEADER: "0"}
    url = ctx.signer.sign(path, method="PUT", ttl_s=ttl, content_type=mime_type, headers=signed)
    record = MediaRecord(
        id=media_id,
        user_id=user_id,
        file_name=file_name,
        kind=media_kind,
        object_path=path,
        mime_type=mime_type,
        size=size,
        upload_expires_at=now + timedelta(seconds=ttl),
        expires_at=now + timedelta(days=settings.media_retention_days),
        created_at=now,
        updated_at=now,
    )
    media_store.create_media(ctx.db, record)
    return UploadTicket(
        record=record,
        url=url,
        headers={"Content-Type": mime_type, **signed},
        expires_at=record.upload_expires_at,
    )


class Verdict(StrEnum):
    """Outcome of :func:`verify_upload`."""

    UPLOADED = "UPLOADED"
    FAILED = "FAILED"
    MISSING = "MISSING"  # no object (yet): nothing changed
    ALREADY = "ALREADY"  # decided before: nothing changed
    GONE = "GONE"  # DELETED record: nothing changed


def verify_upload(ctx: AppContext, *, media_id: str, now: datetime) -> tuple[MediaRecord, Verdict]:
    """Check the object of an ``UPLOADING`` record and record the outcome (idempotent).

    The object must exist with exactly the declared content type and 1..declared bytes; then
    the record becomes ``UPLOADED`` with the real size, the object's ``generation``,
    ``uploaded_at`` and a new ``expires_at``. Otherwise it becomes ``FAILED`` (with
    ``failure``) and the object is deleted. A record decided earlier is returned unchanged (a
    ``FAILED`` one has its object deleted again, in case that step was interrupted), unless it is
    ``UPLOADED`` and its object has another generation now: it was replaced after the check, so
    the record becomes ``FAILED`` (:data:`REPLACED`) and the object is deleted. Raises
    :class:`NotFound` for an unknown id and ``google.api_core`` errors when Storage is
    unavailable."""
    db, bucket = ctx.db, ctx.media_bucket
    record = media_store.get_media(db, media_id)
    if record.status is MediaStatus.DELETED:
        return record, Verdict.GONE
    if record.status is MediaStatus.FAILED:
        _delete_object(bucket, record.object_path)
        return record, Verdict.ALREADY
    blob = bucket.get_blob(record.object_path)
    if record.status is MediaStatus.UPLOADED:
        if blob is None or record.generation in (None, blob.generation):
            return record, Verdict.ALREADY
        decide = _replaced(record, now)
    elif blob is None:
        return record, Verdict.MISSING
    else:
        decide = _checked(ctx.settings, blob, now)
    record, _changed, verdict = media_store.change_media(db, media_id, decide)
    if record.status is MediaStatus.FAILED:
        _delete_object(bucket, record.object_path)
    log.info(
        "media verified",
        extra=fields(media_id=media_id, verdict=verdict.value, status=record.status.value),
    )
    return record, verdict


MediaDecision = Callable[[MediaRecord], tuple[MediaRecord | None, Verdict]]


def _checked(settings: Settings, blob: storage.Blob, now: datetime) -> MediaDecision:
    """The decision for an ``UPLOADING`` record whose object is ``blob``."""

    def decide(current: MediaRecord) -> tuple[MediaRecord | None, Verdict]:
        if current.status is not MediaStatus.UPLOADING:
            return None, Verdict.ALREADY
        reason = check_object(
            declared_type=current.mime_type,
            declared_size=current.size,
            content_type=blob.content_type,
            size=blob.size,
        )
        common = {"version": current.version + 1, "updated_at": now}
        if reason is not None:
            update = {"status": MediaStatus.FAILED, "failure": reason, **common}
            return current.model_copy(update=update), Verdict.FAILED
        update = {
            "status": MediaStatus.UPLOADED,
            "size": int(blob.size or 0),
            "generation": blob.generation,
            "uploaded_at": now,
            "expires_at": now + timedelta(days=settings.media_retention_days),
            **common,
        }
        return current.model_copy(update=update), Verdict.UPLOADED

    return decide


def _replaced(checked: MediaRecord, now: datetime) -> MediaDecision:
    """The decision for an ``UPLOADED`` record whose object no longer has the checked
    generation."""

    def decide(current: MediaRecord) -> tuple[MediaRecord | None, Verdict]:
        if current.status is not MediaStatus.UPLOADED or current.generation != checked.generation:
            return None, Verdict.ALREADY
        update = {
            "status": MediaStatus.FAILED,
            "failure": REPLACED,
            "version": current.version + 1,
            "updated_at": now,
        }
        return current.model_copy(update=update), Verdict.FAILED

    return decide


def confirm_upload(ctx: AppContext, *, user_id: str, media_id: str, now: datetime) -> MediaRecord:
    """``POST /media/confirm``: :func:`verify_upload` for the owner. Returns the ``UPLOADED``
    record; raises :class:`NotFound` (unknown, someone else's or deleted), :class:`UploadNotFound`
    (409, nothing uploaded yet) or :class:`MediaRejected` (422, ``FAILED``: the object did not
    match, or it was replaced after an earlier confirmation)."""
    owned(ctx, user_id=user_id, media_id=media_id)
    record, verdict = verify_upload(ctx, media_id=media_id, now=now)
    if verdict is Verdict.GONE:
        raise NotFound("media not found")
    if verdict is Verdict.MISSING:
        raise UploadNotFound("nothing was uploaded to the URL yet; PUT the file, then confirm")
    if record.status is MediaStatus.FAILED:
        raise MediaRejected(
            f"the uploaded file was refused and deleted: {record.failure}",
            extra={"mediaId": record.id, "mediaStatus": record.status.value},
        )
    return record


def object_finalized(
    ctx: AppContext, *, bucket_name: str, object_name: str, now: datetime
) -> Verdict | None:
    """The GCS finalize event of ``bucket_name/object_name``: :func:`verify_upload` of the
    record the object belongs to. ``None`` (ignored) for another bucket, an object that is not
    a media upload, or one whose record does not exist (a stale or foreign object)."""
    if bucket_name != ctx.settings.media_bucket:
        return None
    media_id = media_id_of_path(object_name)
    if media_id is None:
        return None
    try:
        record = media_store.get_media(ctx.db, media_id)
    except NotFound:
        return None
    if record.object_path != object_name:
        return None
    _, verdict = verify_upload(ctx, media_id=media_id, now=now)
    return verdict


def owned(ctx: AppContext, *, user_id: str, media_id: str) -> MediaRecord:
    """The caller's record; :class:`NotFound` for an unknown id, someone else's, or deleted
    (never revealed as 403)."""
    if len(media_id) > 64:
        raise NotFound("media not found")
    try:
        record = media_store.get_media(ctx.db, media_id)
    except NotFound:
        raise NotFound("media not found") from None
    if record.user_id != user_id or record.status is MediaStatus.DELETED:
        raise NotFound("media not found")
    return record


def pending_post_ids(db: firestore.Client, post_ids: Iterable[str]) -> list[str]:
    """The posts among ``post_ids`` that exist and may still publish."""
    refs = [posts_store.post_ref(db, p) for p in dict.fromkeys(post_ids)]
    if not refs:
        return []
    pending = []
    for snap in db.get_all(refs):
        data = (snap.to_dict() or {}) if snap.exists else {}
        if data.get("status") in {s.value for s in PENDING_POST_STATUSES}:
            pending.append(snap.id)
    return pending


def delete_media(ctx: AppContext, *, user_id: str, media_id: str, now: datetime) -> MediaRecord:
    """``DELETE /media/{id}``: delete the object, then mark the record ``DELETED``.

    Raises :class:`NotFound` (not the caller's) or :class:`MediaInUse` (409) while a post that
    may still publish uses it. Idempotent up to the record's deletion."""
    record = owned(ctx, user_id=user_id, media_id=media_id)
    pending = pending_post_ids(ctx.db, record.post_ids)
    if pending:
        raise MediaInUse(
            "the media is attached to a post that has not finished publishing",
            extra={"postIds": pending},
        )
    _delete_object(ctx.media_bucket, record.object_path)
    return mark_deleted(ctx.db, media_id=media_id, now=now)


def mark_deleted(db: firestore.Client, *, media_id: str, now: datetime) -> MediaRecord:
    """Move a record to ``DELETED`` (no-op when it already is)."""

    def delete(current: MediaRecord) -> tuple[MediaRecord | None, None]:
        if current.status is MediaStatus.DELETED:
            return None, None
        update = {
            "status": MediaStatus.DELETED,
            "version": current.version + 1,
            "updated_at": now,
        }
        return current.model_copy(update=update), None

    record, _, _ = media_store.change_media(db, media_id, delete)
    return record


def _delete_object(bucket: storage.Bucket, path: str) -> None:
    """Delete ``path`` from the bucket; an object already gone is fine."""
    with contextlib.suppress(GcsNotFound):
        bucket.blob(path).delete()
