"""Request bodies of the HTTP API (JSON field names as in SPEC §4, unknown fields refused)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from sharecast.domain.statuses import PostStatus, TargetStatus
from sharecast.timeutil import to_utc

_TEXT_MAX = 100_000


class ApiModel(BaseModel):
    """Strict request model: unknown fields are errors, strings are not coerced from numbers."""

    model_config = ConfigDict(extra="forbid", strict=False, str_strip_whitespace=False)


class MediaRef(ApiModel):
    """A reference to uploaded media."""

    mediaId: str = Field(min_length=1, max_length=64)


class TargetIn(ApiModel):
    """One target of a multipost: a platform, optionally an account and per-target overrides."""

    platform: str = Field(min_length=1, max_length=32)
    accountId: str | None = Field(default=None, min_length=1, max_length=128)
    mediaType: str | None = Field(default=None, max_length=32)
    content: str | None = Field(default=None, max_length=_TEXT_MAX)
    title: str | None = Field(default=None, max_length=1000)
    description: str | None = Field(default=None, max_length=_TEXT_MAX)


class MultipostIn(ApiModel):
    """``POST /posts/multipost`` body. ``scheduleAt`` needs a timezone offset (RFC 3339)."""

    content: str = Field(max_length=_TEXT_MAX)
    media: list[MediaRef] = Field(default_factory=list, max_length=20)
    platforms: list[TargetIn] = Field(min_length=1, max_length=20)
    scheduleAt: AwareDatetime | None = None
    draft: bool = False
    allowLate: bool = False

    def schedule_utc(self) -> datetime | None:
        """``scheduleAt`` converted to UTC."""
        return to_utc(self.scheduleAt) if self.scheduleAt else None


# --- Post lifecycle (SPEC §4.2): requests, query strings and responses -----------------------


class CreateQuery(ApiModel):
    """Query string of ``POST /posts/multipost``: ``wait`` seconds (0-25) for final results."""

    wait: int = Field(default=0, ge=0, le=25)


class PostPatchIn(ApiModel):
    """``PATCH /posts/{id}`` body: only the fields given change (while DRAFT or SCHEDULED).

    ``platforms`` replaces every target; ``scheduleAt: null`` removes the schedule (the post
    then publishes when it leaves draft, or at once); ``draft`` moves it to or from DRAFT.
    """

    content: str | None = Field(default=None, max_length=_TEXT_MAX)
    platforms: list[TargetIn] | None = Field(default=None, min_length=1, max_length=20)
    scheduleAt: AwareDatetime | None = None
    draft: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> PostPatchIn:
        if not self.model_fields_set:
            raise ValueError("nothing to change: give content, platforms, scheduleAt or draft")
        return self

    def schedule_utc(self) -> datetime | None:
        """``scheduleAt`` converted to UTC."""
        return to_utc(self.scheduleAt) if self.scheduleAt else None


class PostListQuery(ApiModel):
    """Query string of ``GET /posts``: ``status``, ``from``/``to`` (RFC 3339, on the creation
    time, ``to`` exclusive), an opaque ``cursor`` from the previous page and a page size."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    status: PostStatus | None = None
    from_: AwareDatetime | None = Field(default=None, alias="from")
    to: AwareDatetime | None = None
    cursor: str | None = Field(default=None, max_length=2000)
    limit: int = Field(default=20, ge=1, le=100)


class PageQuery(ApiModel):
    """Query string of admin lists: an opaque ``cursor`` and a page size."""

    cursor: str | None = Field(default=None, max_length=2000)
    limit: int = Field(default=50, ge=1, le=200)


class AttemptQuery(PageQuery):
    """Query string of ``GET /admin/attempts``: optional ``postId``, ``targetId`` (with its
    post) and ``outcome`` (the target status the attempt left: SUCCESS, RETRYING, FAILED)."""

    postId: str | None = Field(default=None, min_length=1, max_length=64)
    targetId: str | None = Field(default=None, min_length=1, max_length=64)
    outcome: TargetStatus | None = None


class ResponseModel(BaseModel):
    """A response body; unknown fields are errors so the model cannot drift from the code."""

    model_config = ConfigDict(extra="forbid")


class TargetErrorOut(ResponseModel):
    """Why a target failed or is being retried (SPEC §3)."""

    code: str
    message: str
    retryable: bool
    retry_after_s: float | None
    attempts: int
    max_attempts: int


class TargetOut(ResponseModel):
    """One target of a post, as in ``target_status`` events (timestamps RFC 3339 UTC)."""

    post_id: str
    target_id: str
    platform: str
    account_id: str
    status: TargetStatus
    attempts: int
    max_attempts: int
    next_attempt_at: str | None
    external_id: str | None
    external_url: str | None
    error: TargetErrorOut | None
    published_at: str | None
    version: int
    updated_at: str


class PostOut(ResponseModel):
    """A post with its targets (``GET /posts/{id}`` and every lifecycle route)."""

    postId: str
    status: PostStatus
    content: str
    scheduledAt: str | None
    publishedAt: str | None
    createdAt: str
    updatedAt: str
    enqueuePending: bool
    allowLate: bool
    version: int
    targets: list[TargetOut]


class PostListOut(ResponseModel):
    """``GET /posts``: a page of posts, newest first; ``nextCursor`` is null on the last page."""

    items: list[PostOut]
    nextCursor: str | None


class MultipostResultOut(ResponseModel):
    """One target in the answer to ``POST /posts/multipost``."""

    platform: str
    targetId: str
    accountId: str
    status: TargetStatus
    postId: str | None
    error: TargetErrorOut | None


class MultipostOut(ResponseModel):
    """``POST /posts/multipost`` answer (202, or 201 for a draft)."""

    postId: str
    status: PostStatus
    results: list[MultipostResultOut]
    scheduledAt: str | None
    createdAt: str
    enqueuePending: bool


class DeadLetterOut(ResponseModel):
    """A target that finally failed; ``targetPath`` (``{postId}:{targetId}``) names it in
    ``POST /admin/dead-letters/{targetPath}/retry``."""

    targetPath: str
    userId: str
    target: TargetOut


class DeadLetterListOut(ResponseModel):
    """``GET /admin/dead-letters``: most recently failed first."""

    items: list[DeadLetterOut]
    nextCursor: str | None


class AttemptOut(ResponseModel):
    """One row of the attempt log: ``outcome`` is the target status the attempt left."""

    id: str
    postId: str
    targetId: str
    userId: str
    platform: str
    attempt: int
    outcome: str
    error: TargetErrorOut | None
    externalId: str | None
    startedAt: str
    finishedAt: str
    durationMs: int


class AttemptListOut(ResponseModel):
    """``GET /admin/attempts``: newest first."""

    items: list[AttemptOut]
    nextCursor: str | None


# --- Video shares (SPEC §4.1): requests and responses ------------------------------------------


class ShareIn(ApiModel):
    """``POST /videos/{videoId}/share`` body. ``platforms`` omitted: every allowlisted one.
    ``hashtags`` (without or with ``#``) replace the video's own tags in server posts."""

    platforms: list[Annotated[str, Field(min_length=1, max_length=32)]] | None = Field(
        default=None, min_length=1, max_length=20
    )
    mode: Literal["track_only", "server_post"] = "track_only"
    force: bool = False
    message: str | None = Field(default=None, max_length=2000)
    hashtags: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=10
    )


class ShareErrorOut(ApiModel):
    """Why one platform of a share request was not shared."""

    code: str
    message: str


class ShareResultOut(ApiModel):
    """One platform's outcome. ``status`` is null when ``error`` says nothing was recorded."""

    platform: str
    status: Literal["pending", "success", "failed"] | None
    alreadyShared: bool
    record_id: str | None
    attempt_count: int = 0
    intent_url: str | None = None
    error: ShareErrorOut | None = None


class ShareOut(ApiModel):
    """``POST /videos/{videoId}/share`` (200) and ``.../share/{platform}/retry`` (202)."""

    video_id: str
    results: list[ShareResultOut]


class ShareStatusEntryOut(ApiModel):
    """The caller's share of a video to one allowlisted platform (``shared``: it succeeded)."""

    platform: str
    shared: bool
    status: Literal["pending", "success", "failed"] | None
    mode: Literal["track_only", "server_post"] | None = None
    lastSharedAt: str | None = None
    attempt_count: int = 0
    external_ref: str | None = None
    error_message: str | None = None


class ShareStatusOut(ApiModel):
    """``GET /videos/{videoId}/share-status``."""

    video_id: str
    platforms: list[ShareStatusEntryOut]


class ShareAuditQuery(ApiModel):
    """Query string of ``GET /videos/{videoId}/share-audit``."""

    limit: int = Field(default=100, ge=1, le=500)


class ShareAuditEntryOut(ApiModel):
    """One audit entry: who (``actor``; ``system`` for the publisher) did what to whose share."""

    id: str
    record_id: str
    video_id: str
    platform: str
    user_id: str
    actor: str
    action: str
    mode: Literal["track_only", "server_post"]
    outcome: Literal["pending", "success", "failed"]
    attempt_count: int
    error_message: str | None = None
    external_ref: str | None = None
    created_at: str


class ShareAuditOut(ApiModel):
    """``GET /videos/{videoId}/share-audit``: newest first."""

    video_id: str
    entries: list[ShareAuditEntryOut]


# --- media (SPEC §4.3) ----------------------------------------------------------------------


class UploadUrlIn(ApiModel):
    """``POST /media/upload-url`` body: the file's name (kept for display only; the object's
    extension comes from ``mimeType``), MIME type, size in bytes and kind."""

    fileName: str = Field(min_length=1, max_length=255)
    mimeType: str = Field(min_length=3, max_length=100)
    size: int
    kind: str = Field(min_length=1, max_length=16)


class UploadUrlOut(BaseModel):
    """Where and how to upload: ``PUT`` the bytes to ``uploadUrl`` with exactly ``headers``
    before ``expiresAt``, then ``POST /media/confirm``."""

    mediaId: str
    uploadUrl: str
    method: str
    headers: dict[str, str]
    objectPath: str
    expiresAt: str


class MediaConfirmIn(ApiModel):
    """``POST /media/confirm`` body."""

    mediaId: str = Field(min_length=1, max_length=64)


class MediaOut(BaseModel):
    """A media record. ``url`` (``GET /media/{id}`` of an ``UPLOADED`` file only) is a signed
    read URL valid until ``urlExpiresAt``."""

    mediaId: str
    fileName: str
    kind: str
    mimeType: str
    size: int
    status: str
    objectPath: str
    createdAt: str | None
    uploadedAt: str | None
    expiresAt: str | None
    failure: str | None = None
    url: str | None = None
    urlExpiresAt: str | None = None
