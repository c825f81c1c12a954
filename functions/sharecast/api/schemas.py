"""Request bodies of the HTTP API (JSON field names as in docs/api.md, unknown fields refused)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from sharecast.domain.statuses import Platform, PostStatus, TargetStatus
from sharecast.timeutil import to_utc

_TEXT_MAX = 100_000
#: Instants outside these bounds are refused (422): nothing Sharecast stores is older, and
#: converting extreme values between offsets would overflow ``datetime``.
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def bounded_utc(value: datetime | None) -> datetime | None:
    """``value`` in UTC; raises ``ValueError`` (a 422 field problem) outside 2000..2200."""
    if value is None:
        return None
    try:
        utc = value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("the date is out of range") from exc
    if not _EARLIEST <= utc <= _LATEST:
        raise ValueError("the date must be between 2000-01-01 and 2200-01-01 (UTC)")
    return utc


class ApiModel(BaseModel):
    """Strict request model: unknown fields are errors, strings are not coerced from numbers."""

    model_config = ConfigDict(extra="forbid", strict=False, str_strip_whitespace=False)


class MediaRef(ApiModel):
    """A reference to uploaded media."""

    mediaId: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


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

    _bounded = field_validator("scheduleAt")(classmethod(lambda cls, v: bounded_utc(v)))

    def schedule_utc(self) -> datetime | None:
        """``scheduleAt`` converted to UTC."""
        return to_utc(self.scheduleAt) if self.scheduleAt else None


# --- Post lifecycle (docs/api.md#posts): requests, query strings and responses
# -----------------------


class CreateQuery(ApiModel):
    """Query string of ``POST /posts/multipost``: ``wait`` seconds (0-25) for final results."""

    wait: int = Field(default=0, ge=0, le=25)


class PostPatchFields(ApiModel):
    """``PATCH /posts/{id}`` body: only the fields given change (while DRAFT or SCHEDULED).

    ``platforms`` replaces every target; ``scheduleAt: null`` removes the schedule (the post
    then publishes when it leaves draft, or at once); ``draft`` moves it to or from DRAFT.
    At least one field must be given (checked by :class:`PostPatchIn` after the post's
    ownership, so someone else's post is 404 whatever the body).
    """

    content: str | None = Field(default=None, max_length=_TEXT_MAX)
    platforms: list[TargetIn] | None = Field(default=None, min_length=1, max_length=20)
    scheduleAt: AwareDatetime | None = None
    draft: bool | None = None

    _bounded = field_validator("scheduleAt")(classmethod(lambda cls, v: bounded_utc(v)))

    def schedule_utc(self) -> datetime | None:
        """``scheduleAt`` converted to UTC."""
        return to_utc(self.scheduleAt) if self.scheduleAt else None


class PostPatchIn(PostPatchFields):
    """:class:`PostPatchFields` with at least one field given."""

    @model_validator(mode="after")
    def _something(self) -> PostPatchIn:
        if not self.model_fields_set:
            raise ValueError("nothing to change: give content, platforms, scheduleAt or draft")
        return self


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


# --- Responses (validated on the way out by ``api.routes``, documented in OpenAPI) -------------
# Timestamps are RFC 3339 strings in UTC with milliseconds (``2030-01-01T09:00:00.000Z``).

_ID_MAX = 128
_TS_MAX = 40


class ApiOut(BaseModel):
    """Response model: exactly these fields (a handler answering more is a server bug)."""

    model_config = ConfigDict(extra="forbid")


class HealthOut(ApiOut):
    """``GET /healthz``."""

    status: str = Field(max_length=16)


class TargetErrorOut(ApiOut):
    """Why a target failed or is being retried (docs/data-model.md ``error``)."""

    code: str = Field(max_length=64)
    message: str = Field(max_length=2000)
    retryable: bool
    retry_after_s: float | None = None
    attempts: int
    max_attempts: int


class TargetOut(ApiOut):
    """One target of a post (the same shape as ``target_status`` event data)."""

    post_id: str = Field(max_length=_ID_MAX)
    target_id: str = Field(max_length=_ID_MAX)
    platform: Platform
    account_id: str = Field(max_length=_ID_MAX)
    status: TargetStatus
    attempts: int
    max_attempts: int
    next_attempt_at: str | None = Field(max_length=_TS_MAX)
    external_id: str | None = Field(max_length=512)
    external_url: str | None = Field(max_length=2048)
    error: TargetErrorOut | None
    published_at: str | None = Field(max_length=_TS_MAX)
    version: int
    updated_at: str | None = Field(max_length=_TS_MAX)


class PostOut(ApiOut):
    """``GET /posts/{post_id}``: a post with its targets."""

    postId: str = Field(max_length=_ID_MAX)
    status: PostStatus
    content: str = Field(max_length=_TEXT_MAX)
    scheduledAt: str | None = Field(max_length=_TS_MAX)
    publishedAt: str | None = Field(max_length=_TS_MAX)
    createdAt: str | None = Field(max_length=_TS_MAX)
    updatedAt: str | None = Field(max_length=_TS_MAX)
    enqueuePending: bool
    allowLate: bool
    version: int
    targets: list[TargetOut]


class PostListOut(ApiOut):
    """``GET /posts``: a page of posts, newest first; ``nextCursor`` is null on the last page."""

    items: list[PostOut]
    nextCursor: str | None


class TargetResultOut(ApiOut):
    """One entry of ``results`` of a new post."""

    platform: Platform
    targetId: str = Field(max_length=_ID_MAX)
    accountId: str = Field(max_length=_ID_MAX)
    status: TargetStatus
    postId: str | None = Field(max_length=512, description="the platform's post id, once known")
    error: TargetErrorOut | None


class MultipostOut(ApiOut):
    """``POST /posts/multipost``: 202 (queued or scheduled) or 201 (draft)."""

    postId: str = Field(max_length=_ID_MAX)
    status: PostStatus
    results: list[TargetResultOut]
    scheduledAt: str | None = Field(max_length=_TS_MAX)
    createdAt: str | None = Field(max_length=_TS_MAX)
    enqueuePending: bool


class DeadLetterOut(ApiOut):
    """A target that finally failed; ``targetPath`` (``{postId}:{targetId}``) names it in
    ``POST /admin/dead-letters/{targetPath}/retry``."""

    targetPath: str
    userId: str
    target: TargetOut


class DeadLetterListOut(ApiOut):
    """``GET /admin/dead-letters``: most recently failed first."""

    items: list[DeadLetterOut]
    nextCursor: str | None


class AttemptOut(ApiOut):
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


class AttemptListOut(ApiOut):
    """``GET /admin/attempts``: newest first."""

    items: list[AttemptOut]
    nextCursor: str | None


# --- Video shares (docs/api.md#video-shares): requests and responses
# ------------------------------------------


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


class ShareErrorOut(ApiOut):
    """Why one platform of a share request was not shared."""

    code: str
    message: str


class ShareResultOut(ApiOut):
    """One platform's outcome. ``status`` is null when ``error`` says nothing was recorded."""

    platform: str
    status: Literal["pending", "success", "failed"] | None
    alreadyShared: bool
    record_id: str | None
    attempt_count: int = 0
    intent_url: str | None = None
    error: ShareErrorOut | None = None


class ShareOut(ApiOut):
    """``POST /videos/{videoId}/share`` (200) and ``.../share/{platform}/retry`` (202)."""

    video_id: str
    results: list[ShareResultOut]


class ShareStatusEntryOut(ApiOut):
    """The caller's share of a video to one allowlisted platform (``shared``: it succeeded)."""

    platform: str
    shared: bool
    status: Literal["pending", "success", "failed"] | None
    mode: Literal["track_only", "server_post"] | None = None
    lastSharedAt: str | None = None
    attempt_count: int = 0
    external_ref: str | None = None
    error_message: str | None = None


class ShareStatusOut(ApiOut):
    """``GET /videos/{videoId}/share-status``."""

    video_id: str
    platforms: list[ShareStatusEntryOut]


class ShareAuditQuery(ApiModel):
    """Query string of ``GET /videos/{videoId}/share-audit``."""

    limit: int = Field(default=100, ge=1, le=500)


class ShareAuditEntryOut(ApiOut):
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


class ShareAuditOut(ApiOut):
    """``GET /videos/{videoId}/share-audit``: newest first."""

    video_id: str
    entries: list[ShareAuditEntryOut]


class SseTokenOut(ApiOut):
    """``POST /auth/sse-token``: a relay token for ``GET /events?token=``."""

    token: str = Field(max_length=4096)
    expiresAt: str = Field(max_length=_TS_MAX)


class FieldProblemOut(ApiOut):
    """One entry of ``errors[]`` of a problem."""

    field: str
    code: str
    message: str
    target: int | None = None


class Problem(BaseModel):
    """RFC 9457 problem details (``application/problem+json``); may carry extension members."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldProblemOut] | None = None


class OpenApiDocument(BaseModel):
    """``GET /openapi.json``: an OpenAPI 3.1 document."""

    model_config = ConfigDict(extra="allow")

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]


class EventSchemaDocument(BaseModel):
    """``GET /events.schema.json``: a JSON Schema (draft 2020-12) of one SSE event."""

    model_config = ConfigDict(extra="allow")

    title: str
    type: str
    properties: dict[str, Any]


class AnalyticsQuery(ApiModel):
    """``GET /analytics/summary`` query: ``[from, to)``, RFC 3339 with an offset (``Z``).

    Defaults: ``to`` is now, ``from`` seven days before ``to``; at most
    ``ANALYTICS_MAX_RANGE_DAYS`` apart.
    """

    from_: AwareDatetime | None = Field(default=None, alias="from", description="range start")
    to: AwareDatetime | None = Field(default=None, description="range end (exclusive)")

    _bounded = field_validator("from_", "to")(classmethod(lambda cls, v: bounded_utc(v)))


class PercentilesOut(ApiOut):
    """Latency percentiles (nearest rank) of ``count`` values."""

    count: int
    p50: float
    p90: float
    p99: float
    max: float


class PlatformSummaryOut(ApiOut):
    """Figures of one platform."""

    platform: str = Field(max_length=32)
    targets: int
    byStatus: dict[str, int]
    successRate: float | None
    publishLatencyS: PercentilesOut | None
    attemptLatencyMs: PercentilesOut | None


class AnalyticsSummaryOut(ApiOut):
    """``GET /analytics/summary``: targets created and attempts started in ``[since, until)``.

    ``scope`` is ``own`` for the ``user`` role, ``all`` for viewers, monitors and admins;
    ``successRate`` is SUCCESS / (SUCCESS + FAILED); ``publishLatencyS`` is published_at -
    created_at of successful targets; ``attemptLatencyMs`` the attempt log's durations;
    ``truncated`` is true when ``ANALYTICS_MAX_RECORDS`` cut the data.
    """

    since: datetime
    until: datetime
    scope: Literal["own", "all"]
    truncated: bool
    targets: int
    byStatus: dict[str, int]
    successRate: float | None
    publishLatencyS: PercentilesOut | None
    attemptLatencyMs: PercentilesOut | None
    platforms: list[PlatformSummaryOut]


# --- media (docs/api.md#media)
# ----------------------------------------------------------------------


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

    mediaId: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


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
