"""Routes of media (docs/api.md#media): `POST /media/upload-url`, `POST /media/confirm`,
`GET /media/{id}` and `DELETE /media/{id}`; owner only (others get 404)."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint

from sharecast.api.context import context
from sharecast.api.routes import AUTHORS, route
from sharecast.api.schemas import MediaConfirmIn, MediaOut, UploadUrlIn, UploadUrlOut
from sharecast.auth import Principal
from sharecast.domain.media import MediaRecord, MediaStatus
from sharecast.media import uploads
from sharecast.timeutil import isoformat, utcnow

bp = Blueprint("media", __name__)


def media_out(record: MediaRecord, **extra: str | None) -> MediaOut:
    """The response model of a record."""
    return MediaOut.model_validate({**record.to_json(), **extra})


@route(
    bp,
    "POST",
    "/media/upload-url",
    summary="A signed PUT URL for a new file",
    roles=AUTHORS,
    rate="write",
    idempotent=True,
    body=UploadUrlIn,
    responses={201: UploadUrlOut},
)
def upload_url(user: Principal, body: UploadUrlIn) -> tuple[UploadUrlOut, int, dict[str, str]]:
    """Issue a signed PUT URL for a new file (type and size checked first: 422)."""
    ticket = uploads.request_upload(
        context(),
        user_id=user.user_id,
        file_name=body.fileName,
        mime_type=body.mimeType,
        size=body.size,
        kind=body.kind,
        now=utcnow(),
    )
    out = UploadUrlOut(
        mediaId=ticket.record.id,
        uploadUrl=ticket.url,
        method="PUT",
        headers=ticket.headers,
        objectPath=ticket.record.object_path,
        expiresAt=ticket.expires_at,
    )
    return out, 201, {"Location": f"/media/{ticket.record.id}"}


@route(
    bp,
    "POST",
    "/media/confirm",
    summary="Check an uploaded file and mark it UPLOADED",
    roles=AUTHORS,
    rate="write",
    body=MediaConfirmIn,
    errors={404, 409},
    responses={200: MediaOut},
)
def confirm(user: Principal, body: MediaConfirmIn) -> MediaOut:
    """Check the uploaded object and mark the file `UPLOADED` (422 and `FAILED` when it
    does not match what was declared; 409 when nothing was uploaded yet)."""
    record = uploads.confirm_upload(
        context(),
        user_id=user.user_id,
        media_id=body.mediaId,
        now=utcnow(),
    )
    return media_out(record)


@route(
    bp,
    "GET",
    "/media/{media_id}",
    summary="One of the caller's files, with a signed read URL once uploaded",
    roles=AUTHORS,
    rate="read",
    responses={200: MediaOut},
)
def get_media(user: Principal, media_id: str) -> MediaOut:
    """The caller's file; an `UPLOADED` one comes with a short-lived signed read URL."""
    ctx = context()
    record = uploads.owned(ctx, user_id=user.user_id, media_id=media_id)
    extra: dict[str, str | None] = {}
    if record.status is MediaStatus.UPLOADED:
        ttl = ctx.settings.media_read_url_ttl_s
        extra["url"] = ctx.signer.sign(record.object_path, method="GET", ttl_s=ttl)
        extra["urlExpiresAt"] = isoformat(utcnow() + timedelta(seconds=ttl))
    return media_out(record, **extra)


@route(
    bp,
    "DELETE",
    "/media/{media_id}",
    summary="Delete one of the caller's files",
    roles=AUTHORS,
    rate="write",
    errors={409},
    responses={200: MediaOut},
)
def delete_media(user: Principal, media_id: str) -> MediaOut:
    """Delete the caller's file (409 while a post that may still publish uses it)."""
    record = uploads.delete_media(
        context(),
        user_id=user.user_id,
        media_id=media_id,
        now=utcnow(),
    )
    return media_out(record)
