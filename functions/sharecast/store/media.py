"""Media records ``media/{mediaId}`` in Firestore (docs/data-model.md). One document per uploaded
file, written by its owner's requests, the finalize event and the daily cleanup (a few writes per
file in its lifetime)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from google.cloud import firestore

from sharecast.domain.media import MediaRecord, MediaStatus
from sharecast.errors import NotFound
from sharecast.store import queries
from sharecast.store.optimistic import until_committed

MEDIA = queries.MEDIA_EXPIRED.collection_group

#: ``mutate(current)`` returns ``(new record or None for "no change", detail)``.
MediaMutation = Callable[[MediaRecord], tuple[MediaRecord | None, Any]]


def media_ref(db: firestore.Client, media_id: str) -> firestore.DocumentReference:
    """Reference of ``media/{media_id}``."""
    return db.collection(MEDIA).document(media_id)


def create_media(db: firestore.Client, record: MediaRecord) -> None:
    """Store a new record (fails with ``AlreadyExists`` if the id is taken)."""
    media_ref(db, record.id).create(record.to_doc())


def get_media(db: firestore.Client, media_id: str) -> MediaRecord:
    """A record by id. Raises :class:`NotFound`."""
    snap = media_ref(db, media_id).get()
    if not snap.exists:
        raise NotFound(f"media {media_id} not found")
    return MediaRecord.from_doc(snap.id, snap.to_dict() or {})


def get_many(db: firestore.Client, media_ids: Iterable[str]) -> dict[str, MediaRecord]:
    """The records that exist among ``media_ids``, by id (one batched read)."""
    refs = [media_ref(db, m) for m in dict.fromkeys(media_ids)]
    return {
        snap.id: MediaRecord.from_doc(snap.id, snap.to_dict() or {})
        for snap in db.get_all(refs)
        if snap.exists
    }


def change_media(
    db: firestore.Client, media_id: str, mutate: MediaMutation
) -> tuple[MediaRecord, bool, Any]:
    """Apply ``mutate`` to one record atomically; returns ``(record after, changed, detail)``.
    ``mutate`` must be pure (it runs again when the write lost a race: the record is written
    with its read ``update_time`` as precondition, :mod:`sharecast.store.optimistic`). Raises
    :class:`NotFound`, and ``Contention`` when concurrent changes of the record kept winning."""
    ref = media_ref(db, media_id)

    def attempt() -> tuple[MediaRecord, bool, Any]:
        snap = ref.get()
        if not snap.exists:
            raise NotFound(f"media {media_id} not found")
        current = MediaRecord.from_doc(snap.id, snap.to_dict() or {})
        new, detail = mutate(current)
        if new is None:
            return current, False, detail
        ref.update(new.to_doc(), option=db.write_option(last_update_time=snap.update_time))
        return new, True, detail

    return until_committed(attempt, what=f"media {media_id}")


def attach_to_post(db: firestore.Client, media_ids: Iterable[str], post_id: str) -> None:
    """Remember that ``post_id`` uses these media (cleanup keeps them while it is pending).

    Written before the post itself: a post that then fails to be stored leaves only a
    reference to a post that does not exist, which cleanup ignores."""
    batch = db.batch()
    for media_id in dict.fromkeys(media_ids):
        batch.update(media_ref(db, media_id), {"post_ids": firestore.ArrayUnion([post_id])})
    batch.commit()


def expired(db: firestore.Client, *, now: datetime, limit: int) -> list[MediaRecord]:
    """Uploaded or failed records whose ``expires_at`` has passed (at most ``limit``)."""
    query = queries.build(
        db,
        queries.MEDIA_EXPIRED,
        equal={"status": [MediaStatus.UPLOADED.value, MediaStatus.FAILED.value]},
        ranges=[("expires_at", "<=", now)],
        limit=limit,
    )
    return [MediaRecord.from_doc(s.id, s.to_dict() or {}) for s in query.stream()]


def stale_uploads(db: firestore.Client, *, now: datetime, limit: int) -> list[MediaRecord]:
    """``UPLOADING`` records whose signed PUT URL has expired (at most ``limit``)."""
    query = queries.build(
        db,
        queries.MEDIA_STALE_UPLOADS,
        equal={"status": MediaStatus.UPLOADING.value},
        ranges=[("upload_expires_at", "<=", now)],
        limit=limit,
    )
    return [MediaRecord.from_doc(s.id, s.to_dict() or {}) for s in query.stream()]
