"""Request and response models of the HTTP API (docs/api.md), built on the conventions of
:mod:`sharecast.api.fields`: camelCase JSON, a Markdown description on every model and field,
an example per model, strict bodies, explicitly parsed query strings, bounded dates."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from sharecast.api.fields import (
    ApiModel,
    ApiOut,
    BoundedDatetime,
    OneOf,
    QueryDatetime,
    QueryInt,
    QueryModel,
    Timestamp,
    document_schema,
)
from sharecast.domain.media import MediaKind, MediaStatus
from sharecast.domain.rules import MEDIA_RULES
from sharecast.domain.statuses import PLATFORM_ALIASES, Platform, PostStatus, TargetStatus
from sharecast.errors import FIELD_CODES

_TEXT_MAX = 100_000
_ID_MAX = 128
_POST_ID = "8f14e45fceea467a9f2b0c1d2e3f4a5b"
_MEDIA_ID = "c9f0f895fb98ab9159f51fd0297e236d"
_AT = "2030-01-01T09:00:00.000Z"

#: Platform names a target may give: the canonical names and their aliases.
PLATFORM_NAMES: tuple[str, ...] = tuple(p.value for p in Platform) + tuple(PLATFORM_ALIASES)
#: Every ``mediaType`` some network has a row for (docs/networks.md#media-rules).
MEDIA_TYPES: tuple[str, ...] = tuple(
    sorted({r.media_type for r in MEDIA_RULES if r.media_type is not None})
)

PlatformName = Annotated[
    str, OneOf(PLATFORM_NAMES, code="UNKNOWN_PLATFORM", what="platform", any_case=True)
]
MediaTypeName = Annotated[str, OneOf(MEDIA_TYPES, code="UNSUPPORTED_MEDIA_TYPE", what="mediaType")]
KindName = Annotated[
    str, OneOf(tuple(k.value for k in MediaKind), code="UNKNOWN_KIND", what="kind")
]


# --- Posts (docs/api.md#posts) -----------------------------------------------------------------


class MediaRef(ApiModel):
    """A reference to one of your uploaded files (`UPLOADED`, see `POST /media/confirm`)."""

    example: ClassVar[dict[str, Any] | None] = {"mediaId": _MEDIA_ID}

    mediaId: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The `mediaId` answered by `POST /media/upload-url`.",
    )


class TargetIn(ApiModel):
    """One target of a post: a network, optionally the connected account, and overrides of
    the post's text for this network only."""

    example: ClassVar[dict[str, Any] | None] = {"platform": "x", "content": "Short for X"}

    platform: PlatformName = Field(
        max_length=32,
        description=(
            "The network: `facebook`, `instagram`, `threads`, `linkedin`, `x` or `youtube` "
            "(`twitter`, `fb`, `ig`, `yt` are accepted aliases; any letter case, as in 1.0). "
            "`whatsapp` is refused with "
            "`SHARE_LINK_ONLY`: it only has share links."
        ),
    )
    accountId: str | None = Field(
        default=None,
        min_length=1,
        max_length=_ID_MAX,
        description=(
            "The connected account to publish as (`GET /connections`); omitted: your account "
            "on that network. Two targets may not resolve to the same account."
        ),
    )
    mediaType: MediaTypeName | None = Field(
        default=None,
        max_length=32,
        description=(
            "The form of the post where the network has several (Instagram: `FEED`, `REELS`, "
            "`STORIES`, `CAROUSEL`); omitted: the network's default form."
        ),
    )
    content: str | None = Field(
        default=None,
        max_length=_TEXT_MAX,
        description="The text for this network instead of the post's `content`.",
    )
    title: str | None = Field(
        default=None,
        max_length=1000,
        description="The video title (YouTube: required, at most 100 characters, no `<` or `>`).",
    )
    description: str | None = Field(
        default=None,
        max_length=_TEXT_MAX,
        description="The video description (YouTube); omitted: the post's `content`.",
    )


class MultipostIn(ApiModel):
    """A post for several networks at once: now, at `scheduleAt`, or saved as a draft."""

    example: ClassVar[dict[str, Any] | None] = {
        "content": "Launch day! #news",
        "media": [{"mediaId": _MEDIA_ID}],
        "platforms": [{"platform": "facebook"}, {"platform": "x", "content": "Launch day!"}],
        "scheduleAt": "2030-01-01T09:00:00Z",
        "draft": False,
        "allowLate": False,
    }

    content: str = Field(
        max_length=_TEXT_MAX,
        description=(
            "The text of the post, used by every target without its own `content`; each "
            "network's limit applies (docs/networks.md)."
        ),
    )
    media: list[MediaRef] = Field(
        default_factory=list,
        max_length=20,
        description="Uploaded files attached to every target, in order.",
    )
    platforms: list[TargetIn] = Field(
        min_length=1, max_length=20, description="The targets: one per network and account."
    )
    scheduleAt: BoundedDatetime | None = Field(
        default=None,
        description=(
            "When to publish (RFC 3339 with an offset): in the future, at most "
            "`MAX_SCHEDULE_AHEAD_DAYS` (365) days ahead. Omitted or `null`: now."
        ),
    )
    draft: bool = Field(default=False, description="`true`: save without publishing (201).")
    allowLate: bool = Field(
        default=False,
        description=(
            "`true`: publish a scheduled post however late it can run; `false`: it fails "
            "`MISSED` after `MISSED_AFTER_S`."
        ),
    )


class CreateQuery(QueryModel):
    """Query string of `POST /posts/multipost`."""

    example: ClassVar[dict[str, Any] | None] = {"wait": 10}

    wait: QueryInt = Field(
        default=0,
        ge=0,
        le=25,
        description=(
            "Seconds (0-25) to wait for every target to finish before answering; the answer "
            "holds what is known at the deadline."
        ),
    )


class PostPatchFields(ApiModel):
    """A change to a `DRAFT` or `SCHEDULED` post whose publishing has not started: only the
    fields given change, at least one of them."""

    example: ClassVar[dict[str, Any] | None] = {
        "content": "Draft two",
        "scheduleAt": "2030-01-02T09:00:00Z",
    }

    content: str | None = Field(
        default=None, max_length=_TEXT_MAX, description="The new text of the post."
    )
    platforms: list[TargetIn] | None = Field(
        default=None,
        min_length=1,
        max_length=20,
        description="The new targets: they replace every target, validated like a create.",
    )
    scheduleAt: BoundedDatetime | None = Field(
        default=None,
        description=(
            "The new publication time (future, RFC 3339 with an offset); `null` removes the "
            "schedule: the post then publishes when it leaves draft, or at once."
        ),
    )
    draft: bool | None = Field(
        default=None, description="`true` moves the post to `DRAFT`, `false` out of it."
    )


class PostListQuery(QueryModel):
    """Query string of `GET /posts`."""

    example: ClassVar[dict[str, Any] | None] = {
        "status": "PUBLISHED",
        "from": "2030-01-01T00:00:00Z",
        "to": "2030-02-01T00:00:00Z",
        "limit": 20,
    }

    status: PostStatus | None = Field(default=None, description="Only posts in this status.")
    from_: QueryDatetime | None = Field(
        default=None, alias="from", description="Only posts created at or after this instant."
    )
    to: QueryDatetime | None = Field(
        default=None, description="Only posts created before this instant (excluded)."
    )
    cursor: str | None = Field(
        default=None,
        max_length=2000,
        description="`nextCursor` of the previous page (opaque); omitted: the first page.",
    )
    limit: QueryInt = Field(default=20, ge=1, le=100, description="Page size (1-100).")


class PageQuery(QueryModel):
    """Query string of the admin lists."""

    example: ClassVar[dict[str, Any] | None] = {"limit": 50}

    cursor: str | None = Field(
        default=None,
        max_length=2000,
        description="`nextCursor` of the previous page (opaque); omitted: the first page.",
    )
    limit: QueryInt = Field(default=50, ge=1, le=200, description="Page size (1-200).")


class AttemptQuery(PageQuery):
    """Query string of `GET /admin/attempts`."""

    example: ClassVar[dict[str, Any] | None] = {"postId": _POST_ID, "outcome": "FAILED"}

    postId: str | None = Field(
        default=None, min_length=1, max_length=64, description="Only attempts of this post."
    )
    targetId: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Only attempts of this target (with `postId`).",
    )
    outcome: TargetStatus | None = Field(
        default=None,
        description=(
            "Only attempts that left the target in this status (`SUCCESS`, `RETRYING`, `FAILED`)."
        ),
    )


# --- Responses of posts ---------------------------------------------------------------------------

_ERROR_EXAMPLE = {
    "code": "PLATFORM_5XX",
    "message": "the network answered 503",
    "retryable": True,
    "retryAfterS": 30.0,
    "attempts": 1,
    "maxAttempts": 5,
}


class TargetErrorOut(ApiOut):
    """Why a target failed or is being retried."""

    example: ClassVar[dict[str, Any] | None] = _ERROR_EXAMPLE
    deprecated_aliases: ClassVar[tuple[str, ...]] = ("retryAfterS", "maxAttempts")

    code: str = Field(
        max_length=64,
        description=(
            "A target error code (docs/problems.md#target-error-codes), e.g. `PLATFORM_5XX`."
        ),
    )
    message: str = Field(max_length=2000, description="What the network or Sharecast said.")
    retryable: bool = Field(description="`true`: Sharecast tries again by itself.")
    retryAfterS: float | None = Field(
        default=None, description="Seconds the network asked to wait before the next attempt."
    )
    attempts: int = Field(description="Attempts made so far.")
    maxAttempts: int = Field(description="Attempts allowed in the current budget.")


_TARGET_EXAMPLE = {
    "postId": _POST_ID,
    "targetId": "x-1",
    "platform": "x",
    "accountId": "sandbox-x-alice",
    "status": "SUCCESS",
    "attempts": 2,
    "maxAttempts": 5,
    "nextAttemptAt": None,
    "externalId": "1790000000000000000",
    "externalUrl": "https://x.com/i/web/status/1790000000000000000",
    "error": None,
    "publishedAt": _AT,
    "version": 5,
    "updatedAt": _AT,
}


class TargetOut(ApiOut):
    """One target of a post: a network and account, its status and attempts."""

    example: ClassVar[dict[str, Any] | None] = _TARGET_EXAMPLE
    deprecated_aliases: ClassVar[tuple[str, ...]] = (
        "postId",
        "targetId",
        "accountId",
        "maxAttempts",
        "nextAttemptAt",
        "externalId",
        "externalUrl",
        "publishedAt",
        "updatedAt",
    )

    postId: str = Field(max_length=_ID_MAX, description="The post this target belongs to.")
    targetId: str = Field(
        max_length=_ID_MAX, description="The target's id within its post (`x-1`)."
    )
    platform: Platform = Field(description="The network.")
    accountId: str = Field(max_length=_ID_MAX, description="The account it publishes as.")
    status: TargetStatus = Field(description="Where the target stands (docs/semantics.md).")
    attempts: int = Field(description="Attempts made so far.")
    maxAttempts: int = Field(description="Attempts allowed in the current budget.")
    nextAttemptAt: Timestamp | None = Field(
        description="When the next attempt is due; `null` when none is planned."
    )
    externalId: str | None = Field(
        max_length=512, description="The network's id of the published post, once known."
    )
    externalUrl: str | None = Field(
        max_length=2048, description="A link to the published post, once known."
    )
    error: TargetErrorOut | None = Field(description="The last failure; `null` when none.")
    publishedAt: Timestamp | None = Field(description="When the network accepted the post.")
    version: int = Field(
        description="Grows with every change; of two views, the higher version is newer."
    )
    updatedAt: Timestamp | None = Field(description="When the target last changed.")


_POST_EXAMPLE = {
    "postId": _POST_ID,
    "status": "PUBLISHED",
    "content": "Launch day! #news",
    "scheduledAt": None,
    "publishedAt": _AT,
    "createdAt": _AT,
    "updatedAt": _AT,
    "enqueuePending": False,
    "allowLate": False,
    "version": 4,
    "targets": [_TARGET_EXAMPLE],
}


class PostOut(ApiOut):
    """A post with its targets."""

    example: ClassVar[dict[str, Any] | None] = _POST_EXAMPLE

    postId: str = Field(max_length=_ID_MAX, description="The post's id.")
    status: PostStatus = Field(description="The post's status, rolled up from its targets.")
    content: str = Field(max_length=_TEXT_MAX, description="The post's text.")
    scheduledAt: Timestamp | None = Field(description="When it publishes; `null`: not scheduled.")
    publishedAt: Timestamp | None = Field(description="When its last target finished.")
    createdAt: Timestamp | None = Field(description="When it was created.")
    updatedAt: Timestamp | None = Field(description="When it last changed.")
    enqueuePending: bool = Field(
        description="`true` while Cloud Tasks was unavailable; the sweeper queues it."
    )
    allowLate: bool = Field(description="Published however late it can run.")
    version: int = Field(description="Grows with every change of the post itself.")
    targets: list[TargetOut] = Field(description="Its targets, in request order.")


class PostListOut(ApiOut):
    """A page of posts, newest first."""

    example: ClassVar[dict[str, Any] | None] = {"items": [_POST_EXAMPLE], "nextCursor": None}

    items: list[PostOut] = Field(description="The posts of this page.")
    nextCursor: str | None = Field(
        description="Pass as `cursor` for the next page; `null` on the last page."
    )


class TargetResultOut(ApiOut):
    """The outcome so far of one target of a new post."""

    example: ClassVar[dict[str, Any] | None] = {
        "platform": "x",
        "targetId": "x-1",
        "accountId": "sandbox-x-alice",
        "status": "PENDING",
        "postId": None,
        "error": None,
    }

    platform: Platform = Field(description="The network.")
    targetId: str = Field(max_length=_ID_MAX, description="The target's id within the post.")
    accountId: str = Field(max_length=_ID_MAX, description="The account it publishes as.")
    status: TargetStatus = Field(description="Where the target stands.")
    postId: str | None = Field(
        max_length=512,
        description="The network's id of the published post, once known (not Sharecast's).",
    )
    error: TargetErrorOut | None = Field(description="The last failure; `null` when none.")


class MultipostOut(ApiOut):
    """A new post: queued or scheduled (202), or saved as a draft (201)."""

    example: ClassVar[dict[str, Any] | None] = {
        "postId": _POST_ID,
        "status": "PUBLISHING",
        "results": [TargetResultOut.example],
        "scheduledAt": None,
        "createdAt": _AT,
        "enqueuePending": False,
    }

    postId: str = Field(max_length=_ID_MAX, description="The new post's id.")
    status: PostStatus = Field(
        description="`PUBLISHING`, `SCHEDULED` or `DRAFT` (or final with `?wait`)."
    )
    results: list[TargetResultOut] = Field(description="One result per target, in request order.")
    scheduledAt: Timestamp | None = Field(description="When it publishes; `null`: now.")
    createdAt: Timestamp | None = Field(description="When it was created.")
    enqueuePending: bool = Field(
        description="`true`: Cloud Tasks was unavailable; the sweeper queues the post."
    )


class DeadLetterOut(ApiOut):
    """A target that finally failed."""

    example: ClassVar[dict[str, Any] | None] = {
        "targetPath": f"{_POST_ID}:x-1",
        "userId": "alice",
        "target": {**_TARGET_EXAMPLE, "status": "FAILED", "error": _ERROR_EXAMPLE},
    }

    targetPath: str = Field(
        description="`{postId}:{targetId}`, for `POST /admin/dead-letters/{target_path}/retry`."
    )
    userId: str = Field(description="The owner of the post.")
    target: TargetOut = Field(description="The failed target.")


class DeadLetterListOut(ApiOut):
    """Dead letters, most recently failed first."""

    example: ClassVar[dict[str, Any] | None] = {
        "items": [DeadLetterOut.example],
        "nextCursor": None,
    }

    items: list[DeadLetterOut] = Field(description="The dead letters of this page.")
    nextCursor: str | None = Field(
        description="Pass as `cursor` for the next page; `null` on the last page."
    )


class AttemptOut(ApiOut):
    """One row of the attempt log."""

    example: ClassVar[dict[str, Any] | None] = {
        "id": f"{_POST_ID}-x-1-1",
        "postId": _POST_ID,
        "targetId": "x-1",
        "userId": "alice",
        "platform": "x",
        "attempt": 1,
        "outcome": "RETRYING",
        "error": _ERROR_EXAMPLE,
        "externalId": None,
        "startedAt": _AT,
        "finishedAt": _AT,
        "durationMs": 412,
    }

    id: str = Field(description="The row's id.")
    postId: str = Field(description="The post.")
    targetId: str = Field(description="The target.")
    userId: str = Field(description="The owner of the post.")
    platform: Platform = Field(description="The network.")
    attempt: int = Field(description="The attempt's number (1 for the first).")
    outcome: str = Field(
        description="The target status the attempt left (`SUCCESS`, `RETRYING`, `FAILED`)."
    )
    error: TargetErrorOut | None = Field(description="Why it failed; `null` on success.")
    externalId: str | None = Field(description="The network's id of the post, if it was made.")
    startedAt: Timestamp = Field(description="When the attempt started.")
    finishedAt: Timestamp = Field(description="When it was recorded.")
    durationMs: int = Field(description="How long it took, in milliseconds.")


class AttemptListOut(ApiOut):
    """The attempt log, newest first."""

    example: ClassVar[dict[str, Any] | None] = {"items": [AttemptOut.example], "nextCursor": None}

    items: list[AttemptOut] = Field(description="The rows of this page.")
    nextCursor: str | None = Field(
        description="Pass as `cursor` for the next page; `null` on the last page."
    )


# --- Video shares (docs/api.md#video-shares) ----------------------------------------------------

ShareStatusName = Literal["pending", "success", "failed"]
ShareModeName = Literal["track_only", "server_post"]
_VIDEO_ID = "dQw4w9WgXcQ"


class ShareIn(ApiModel):
    """Share a YouTube video to other networks: track it (`track_only`) or have Sharecast post
    it (`server_post`)."""

    example: ClassVar[dict[str, Any] | None] = {
        "platforms": ["facebook", "x"],
        "mode": "server_post",
        "hashtags": ["music"],
    }

    platforms: list[Annotated[str, Field(min_length=1, max_length=32)]] | None = Field(
        default=None,
        min_length=1,
        max_length=20,
        description=(
            "Networks to share to (`SHARE_PLATFORMS`; `twitter` is `x`); omitted: every "
            "allowed one. An unknown name is a 400 listing each."
        ),
    )
    mode: ShareModeName = Field(
        default="track_only",
        description=(
            "`track_only`: you share it yourself with the answered share link; "
            "`server_post`: Sharecast posts it for you."
        ),
    )
    force: bool = Field(default=False, description="Share again although already shared.")
    message: str | None = Field(
        default=None, max_length=2000, description="Your text, before the video's link."
    )
    hashtags: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list,
        max_length=10,
        description=(
            "Hashtags (with or without `#`) replacing the video's own tags in server posts."
        ),
    )


class ShareErrorOut(ApiOut):
    """Why one network of a share request was not shared."""

    example: ClassVar[dict[str, Any] | None] = {
        "code": "SERVER_POST_UNSUPPORTED",
        "message": "whatsapp has no API to post for you",
    }

    code: str = Field(description="A target error code (docs/problems.md#target-error-codes).")
    message: str = Field(description="What went wrong.")


_SHARE_RESULT = {
    "platform": "x",
    "status": "pending",
    "alreadyShared": False,
    "recordId": "alice:dQw4w9WgXcQ:x",
    "attemptCount": 1,
    "intentUrl": None,
    "error": None,
}


class ShareResultOut(ApiOut):
    """One network's outcome of a share request."""

    example: ClassVar[dict[str, Any] | None] = _SHARE_RESULT
    deprecated_aliases: ClassVar[tuple[str, ...]] = ("recordId", "attemptCount", "intentUrl")

    platform: str = Field(description="The network (canonical name).")
    status: ShareStatusName | None = Field(
        description="The share's state; `null` when `error` says nothing was recorded."
    )
    alreadyShared: bool = Field(description="It was shared before and `force` was not given.")
    recordId: str | None = Field(description="The share record's id.")
    attemptCount: int = Field(default=0, description="Publish attempts of a server post.")
    intentUrl: str | None = Field(
        default=None, description="The network's share link (`track_only`), where it has one."
    )
    error: ShareErrorOut | None = Field(default=None, description="Why it was not shared.")


class ShareOut(ApiOut):
    """The outcome of a share request, one result per network."""

    example: ClassVar[dict[str, Any] | None] = {"videoId": _VIDEO_ID, "results": [_SHARE_RESULT]}
    deprecated_aliases: ClassVar[tuple[str, ...]] = ("videoId",)

    videoId: str = Field(description="The YouTube video id.")
    results: list[ShareResultOut] = Field(description="One result per network.")


_SHARE_STATUS_ENTRY = {
    "platform": "x",
    "shared": True,
    "status": "success",
    "mode": "server_post",
    "lastSharedAt": _AT,
    "attemptCount": 1,
    "externalRef": "1790000000000000000",
    "errorMessage": None,
}


class ShareStatusEntryOut(ApiOut):
    """Your share of a video to one allowed network."""

    example: ClassVar[dict[str, Any] | None] = _SHARE_STATUS_ENTRY
    deprecated_aliases: ClassVar[tuple[str, ...]] = ("attemptCount", "externalRef", "errorMessage")

    platform: str = Field(description="The network.")
    shared: bool = Field(description="A share succeeded.")
    status: ShareStatusName | None = Field(description="The share's state; `null`: never shared.")
    mode: ShareModeName | None = Field(default=None, description="How it was shared.")
    lastSharedAt: Timestamp | None = Field(default=None, description="When it last succeeded.")
    attemptCount: int = Field(default=0, description="Publish attempts of a server post.")
    externalRef: str | None = Field(
        default=None, description="The network's id of the server post."
    )
    errorMessage: str | None = Field(default=None, description="Why the last attempt failed.")


class ShareStatusOut(ApiOut):
    """Your share state of a video on every allowed network."""

    example: ClassVar[dict[str, Any] | None] = {
        "videoId": _VIDEO_ID,
        "platforms": [_SHARE_STATUS_ENTRY],
    }
    deprecated_aliases: ClassVar[tuple[str, ...]] = ("videoId",)

    videoId: str = Field(description="The YouTube video id.")
    platforms: list[ShareStatusEntryOut] = Field(description="One entry per allowed network.")


class ShareAuditQuery(QueryModel):
    """Query string of `GET /videos/{video_id}/share-audit`."""

    example: ClassVar[dict[str, Any] | None] = {"limit": 100}

    limit: QueryInt = Field(
        default=100, ge=1, le=500, description="At most this many entries (1-500)."
    )


_AUDIT_ENTRY = {
    "id": "01J00000000000000000000000",
    "recordId": "alice:dQw4w9WgXcQ:x",
    "videoId": _VIDEO_ID,
    "platform": "x",
    "userId": "alice",
    "actor": "alice",
    "action": "share",
    "mode": "server_post",
    "outcome": "pending",
    "attemptCount": 0,
    "errorMessage": None,
    "externalRef": None,
    "createdAt": _AT,
}


class ShareAuditEntryOut(ApiOut):
    """One audit entry: who (`actor`; `system` for the publisher) did what to whose share."""

    example: ClassVar[dict[str, Any] | None] = _AUDIT_ENTRY
    deprecated_aliases: ClassVar[tuple[str, ...]] = (
        "recordId",
        "videoId",
        "userId",
        "attemptCount",
        "errorMessage",
        "externalRef",
        "createdAt",
    )

    id: str = Field(description="The entry's id.")
    recordId: str = Field(description="The share record it is about.")
    videoId: str = Field(description="The YouTube video id.")
    platform: str = Field(description="The network.")
    userId: str = Field(description="Whose share it is.")
    actor: str = Field(description="Who acted: a user id, or `system`.")
    action: str = Field(description="What was done (`share`, `retry`, `outcome`...).")
    mode: ShareModeName = Field(description="How it was shared.")
    outcome: ShareStatusName = Field(description="The share's state after the action.")
    attemptCount: int = Field(description="Publish attempts so far.")
    errorMessage: str | None = Field(default=None, description="Why it failed, if it did.")
    externalRef: str | None = Field(default=None, description="The network's id of the post.")
    createdAt: Timestamp = Field(description="When it happened.")


class ShareAuditOut(ApiOut):
    """The audit trail of a video's shares, newest first."""

    example: ClassVar[dict[str, Any] | None] = {"videoId": _VIDEO_ID, "entries": [_AUDIT_ENTRY]}
    deprecated_aliases: ClassVar[tuple[str, ...]] = ("videoId",)

    videoId: str = Field(description="The YouTube video id.")
    entries: list[ShareAuditEntryOut] = Field(description="The entries, newest first.")


# --- Session, meta, problems ---------------------------------------------------------------------


class SseTokenOut(ApiOut):
    """A relay token for `GET /events?token=` (browsers' `EventSource` cannot send headers)."""

    example: ClassVar[dict[str, Any] | None] = {
        "token": "eyJhbGciOiJIUzI1NiJ9.e30.sig",
        "expiresAt": _AT,
    }

    token: str = Field(max_length=4096, description="The token; valid on the relay only.")
    expiresAt: Timestamp = Field(description="When it expires (`SSE_TOKEN_TTL_S` after issue).")


class HealthOut(ApiOut):
    """The process serves requests."""

    example: ClassVar[dict[str, Any] | None] = {"status": "ok"}

    status: Literal["ok"] = Field(description="Always `ok`.")


class OpenApiDocument(BaseModel):
    """An OpenAPI 3.1 document (https://spec.openapis.org/oas/v3.1.0)."""

    model_config = ConfigDict(extra="allow", json_schema_extra=document_schema)
    example: ClassVar[dict[str, Any] | None] = {
        "openapi": "3.1.0",
        "info": {"title": "Sharecast API", "version": "1.1.0"},
        "paths": {},
    }

    openapi: str = Field(description="The OpenAPI version, `3.1.0`.")
    info: dict[str, Any] = Field(description="Title, version, licence.")
    paths: dict[str, Any] = Field(description="Every route.")


class EventSchemaDocument(BaseModel):
    """A JSON Schema (draft 2020-12) of the `data` of one SSE event type."""

    model_config = ConfigDict(extra="allow", json_schema_extra=document_schema)
    example: ClassVar[dict[str, Any] | None] = {
        "title": "post_status",
        "type": "object",
        "properties": {},
    }

    title: str = Field(description="The event type.")
    type: str = Field(description="`object`.")
    properties: dict[str, Any] = Field(description="The fields of the event's `data`.")


FieldCode = Annotated[str, Field(json_schema_extra={"enum": sorted(FIELD_CODES)})]


class FieldProblemOut(ApiOut):
    """One problem with one field of the request."""

    example: ClassVar[dict[str, Any] | None] = {
        "field": "content",
        "code": "TEXT_TOO_LONG",
        "message": "x allows 280 characters; this text counts 312",
        "target": 0,
    }

    field: str = Field(
        description=(
            "Where: a path into the body (`platforms[1].content`), a query parameter or header "
            "name, or `body` for the body as a whole."
        )
    )
    code: FieldCode = Field(description="What (docs/problems.md#field-problems).")
    message: str = Field(description="A sentence for people.")
    target: int | None = Field(
        default=None, description="The index in `platforms` of the target the problem is about."
    )


class Problem(BaseModel):
    """RFC 9457 problem details (`application/problem+json`); may carry extension members
    (`current`: the post as it is, on a refused transition)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "https://github.com/sharecast/sharecast/blob/main/docs/problems.md#validation-failed",
                    "title": "Validation failed",
                    "status": 422,
                    "detail": "the request is invalid",
                    "code": "VALIDATION_FAILED",
                    "errors": [FieldProblemOut.example],
                }
            ]
        },
    )

    type: str = Field(description="The problem's entry in docs/problems.md (a URI).")
    title: str = Field(description="A short summary of the problem type.")
    status: int = Field(description="The HTTP status.")
    detail: str = Field(description="What happened this time.")
    code: str = Field(description="The problem code (docs/problems.md#api-problem-codes).")
    errors: list[FieldProblemOut] | None = Field(
        default=None, description="Every problem with a field of the request, at once."
    )


# --- Analytics (docs/api.md#accounts-realtime-and-operations) ----------------------------------


class AnalyticsQuery(QueryModel):
    """Query string of `GET /analytics/summary`: the range `[from, to)`, at most
    `ANALYTICS_MAX_RANGE_DAYS` long."""

    example: ClassVar[dict[str, Any] | None] = {
        "from": "2030-01-01T00:00:00Z",
        "to": "2030-01-08T00:00:00Z",
    }

    from_: QueryDatetime | None = Field(
        default=None, alias="from", description="Range start; default: 7 days before `to`."
    )
    to: QueryDatetime | None = Field(
        default=None, description="Range end (excluded); default: now."
    )


_PERCENTILES = {"count": 12, "p50": 1.2, "p90": 3.4, "p99": 8.9, "max": 9.1}


class PercentilesOut(ApiOut):
    """Latency percentiles (nearest rank) of `count` values."""

    example: ClassVar[dict[str, Any] | None] = _PERCENTILES

    count: int = Field(description="How many values.")
    p50: float = Field(description="Median.")
    p90: float = Field(description="90th percentile.")
    p99: float = Field(description="99th percentile.")
    max: float = Field(description="Largest value.")


_PLATFORM_SUMMARY = {
    "platform": "x",
    "targets": 12,
    "byStatus": {"SUCCESS": 11, "FAILED": 1},
    "successRate": 0.9167,
    "publishLatencyS": _PERCENTILES,
    "attemptLatencyMs": _PERCENTILES,
}


class PlatformSummaryOut(ApiOut):
    """The figures of one network."""

    example: ClassVar[dict[str, Any] | None] = _PLATFORM_SUMMARY

    platform: str = Field(max_length=32, description="The network.")
    targets: int = Field(description="Targets created in the range.")
    byStatus: dict[str, int] = Field(description="Targets per target status.")
    successRate: float | None = Field(description="SUCCESS / (SUCCESS + FAILED); `null`: none.")
    publishLatencyS: PercentilesOut | None = Field(
        description="Seconds from creation to publication of successful targets."
    )
    attemptLatencyMs: PercentilesOut | None = Field(
        description="Milliseconds per attempt (the attempt log)."
    )


class AnalyticsSummaryOut(ApiOut):
    """Targets created and attempts started in `[since, until)`."""

    example: ClassVar[dict[str, Any] | None] = {
        "since": "2030-01-01T00:00:00.000Z",
        "until": "2030-01-08T00:00:00.000Z",
        "scope": "own",
        "truncated": False,
        "targets": 12,
        "byStatus": {"SUCCESS": 11, "FAILED": 1},
        "successRate": 0.9167,
        "publishLatencyS": _PERCENTILES,
        "attemptLatencyMs": _PERCENTILES,
        "platforms": [_PLATFORM_SUMMARY],
    }

    since: Timestamp = Field(description="Range start.")
    until: Timestamp = Field(description="Range end (excluded).")
    scope: Literal["own", "all"] = Field(
        description="`own` for the `user` role; `all` for viewers, monitors and admins."
    )
    truncated: bool = Field(description="`ANALYTICS_MAX_RECORDS` cut the data.")
    targets: int = Field(description="Targets created in the range.")
    byStatus: dict[str, int] = Field(description="Targets per target status.")
    successRate: float | None = Field(description="SUCCESS / (SUCCESS + FAILED); `null`: none.")
    publishLatencyS: PercentilesOut | None = Field(
        description="Seconds from creation to publication of successful targets."
    )
    attemptLatencyMs: PercentilesOut | None = Field(
        description="Milliseconds per attempt (the attempt log)."
    )
    platforms: list[PlatformSummaryOut] = Field(description="The same figures per network.")


# --- Media (docs/api.md#media) ------------------------------------------------------------------


class UploadUrlIn(ApiModel):
    """A file you are about to upload: checked against the allowlist of its kind first."""

    example: ClassVar[dict[str, Any] | None] = {
        "fileName": "photo.png",
        "mimeType": "image/png",
        "size": 48213,
        "kind": "IMAGE",
    }

    fileName: str = Field(
        min_length=1,
        max_length=255,
        description=(
            "The file's name, for display only (the object's extension comes from `mimeType`)."
        ),
    )
    mimeType: str = Field(
        min_length=3, max_length=100, description="Its MIME type, allowlisted per kind."
    )
    size: int = Field(description="Its size in bytes, at most the kind's cap.")
    kind: KindName = Field(
        max_length=16,
        description="What it is for: `IMAGE`, `VIDEO` or `REEL` (a short vertical video).",
    )


class UploadUrlOut(ApiOut):
    """Where and how to upload: `PUT` the bytes to `uploadUrl` with exactly `headers` before
    `expiresAt`, then `POST /media/confirm`."""

    example: ClassVar[dict[str, Any] | None] = {
        "mediaId": _MEDIA_ID,
        "uploadUrl": "https://storage.googleapis.com/bucket/media/images/alice/x.png?X-Goog-Signature=abc",
        "method": "PUT",
        "headers": {"Content-Type": "image/png", "x-goog-content-length-range": "1,48213"},
        "objectPath": f"media/images/alice/20300101T090000Z-{_MEDIA_ID}.png",
        "expiresAt": _AT,
    }

    mediaId: str = Field(description="The new file's id.")
    uploadUrl: str = Field(description="The V4 signed URL to `PUT` the bytes to.")
    method: Literal["PUT"] = Field(description="Always `PUT`.")
    headers: dict[str, str] = Field(description="The headers the `PUT` must send, exactly.")
    objectPath: str = Field(description="Where the object lands in the bucket.")
    expiresAt: Timestamp = Field(description="When the URL expires.")


class MediaConfirmIn(ApiModel):
    """The file you uploaded."""

    example: ClassVar[dict[str, Any] | None] = {"mediaId": _MEDIA_ID}

    mediaId: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The `mediaId` of `POST /media/upload-url`.",
    )


class MediaOut(ApiOut):
    """One of your files."""

    example: ClassVar[dict[str, Any] | None] = {
        "mediaId": _MEDIA_ID,
        "fileName": "photo.png",
        "kind": "IMAGE",
        "mimeType": "image/png",
        "size": 48213,
        "status": "UPLOADED",
        "objectPath": f"media/images/alice/20300101T090000Z-{_MEDIA_ID}.png",
        "createdAt": _AT,
        "uploadedAt": _AT,
        "expiresAt": "2030-01-31T09:00:00.000Z",
        "failure": None,
        "url": "https://storage.googleapis.com/bucket/media/images/alice/x.png?X-Goog-Signature=abc",
        "urlExpiresAt": "2030-01-01T09:15:00.000Z",
    }

    mediaId: str = Field(description="The file's id.")
    fileName: str = Field(description="The name you gave.")
    kind: MediaKind = Field(description="`IMAGE`, `VIDEO` or `REEL`.")
    mimeType: str = Field(description="Its MIME type.")
    size: int = Field(description="Bytes: declared until checked, then the object's real size.")
    status: MediaStatus = Field(description="`UPLOADING`, `UPLOADED`, `FAILED` or `DELETED`.")
    objectPath: str = Field(description="Where the object is in the bucket.")
    createdAt: Timestamp | None = Field(description="When the upload URL was issued.")
    uploadedAt: Timestamp | None = Field(description="When the object was checked.")
    expiresAt: Timestamp | None = Field(
        description="When cleanup may delete it (unless a pending post uses it)."
    )
    failure: str | None = Field(default=None, description="Why the object was refused.")
    url: str | None = Field(
        default=None,
        description="A signed read URL (`GET /media/{media_id}` of an `UPLOADED` file only).",
    )
    urlExpiresAt: Timestamp | None = Field(default=None, description="When `url` expires.")
