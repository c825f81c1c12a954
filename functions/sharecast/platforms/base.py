"""The connector interface every network implements.

A connector turns one :class:`PublishRequest` into a post on its network. Single-call networks
(a Facebook feed post, an X text post) return a :class:`PublishResult` at once. Multi-step
networks (containers, resumable uploads, media processing; docs/semantics.md#statuses-and-rules)
persist each step's result through :class:`StepLog` so a retry resumes instead of starting over, and
return
:class:`Pending` when the platform needs time: the publisher then schedules a continuation task
(same attempt, next step) instead of sleeping in the function.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class MediaItem:
    """One uploaded, confirmed media file attached to a target (a ``media/{id}`` record).

    ``kind``: ``IMAGE``, ``VIDEO`` or ``REEL``; ``mime_type``: e.g. ``video/mp4``; ``size``:
    bytes; ``object_path``: the Cloud Storage object name in the media bucket.
    """

    media_id: str
    kind: str
    mime_type: str
    size: int
    object_path: str


class MediaSource(Protocol):
    """Read access to media objects for connectors (docs/api.md#media).

    Platforms that fetch by URL (Instagram, Threads, Facebook photos) get a signed GET URL valid
    for hours; platforms that need the bytes (X, LinkedIn, YouTube) stream them in chunks, so
    a publisher never holds a whole video in memory.
    """

    def signed_url(self, item: MediaItem, *, ttl_s: int) -> str:
        """A V4 signed GET URL of ``item`` valid for ``ttl_s`` seconds."""
        ...

    def chunks(self, item: MediaItem, *, chunk_size: int, start: int = 0) -> Iterator[bytes]:
        """The object's bytes from offset ``start`` in chunks of at most ``chunk_size`` bytes.

        Raises ``sharecast.platforms.errors.TransientPlatformError`` (code ``MEDIA_READ``) when
        storage is unavailable and ``PermanentPlatformError`` (``MEDIA_MISSING``) when the
        object is gone."""
        ...


@dataclass(frozen=True)
class PublishRequest:
    """What to publish on one account.

    ``account_id``: the platform's id of the page/user posting; ``text``: final text after
    per-target overrides; ``link``: optional URL to attach where the platform supports it;
    ``target_key``: Sharecast's ``{post_id}/{target_id}``, for logs and reconciliation only;
    ``media``: attached media in order; ``media_type``: the target's requested form where the
    platform has several (e.g. Instagram ``FEED``/``REELS``/``STORIES``/``CAROUSEL``);
    ``title``/``description``: per-target fields (YouTube title and description).
    """

    account_id: str
    text: str
    target_key: str
    link: str | None = None
    media: tuple[MediaItem, ...] = field(default_factory=tuple)
    media_type: str | None = None
    title: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class PublishResult:
    """The platform's id and public URL of what was published."""

    external_id: str
    external_url: str | None = None


@dataclass(frozen=True)
class Pending:
    """The platform is still working (a container or an upload is processing).

    The publisher records the target as waiting, keeps the attempt (a poll is not an attempt),
    and schedules a continuation task ``wait_s`` seconds later; the connector is then called
    again with the same :class:`StepLog` state. ``reason`` is for logs and the event stream.
    """

    wait_s: float
    reason: str


class StepLog(Protocol):
    """The persisted intermediate state of one target's publication
    (docs/semantics.md#statuses-and-rules, multi-step).

    ``state`` holds what earlier steps saved (container id, upload session URL, uploaded byte
    offset, media id...), across continuations and retries of the target. ``save`` merges values
    into it durably before returning, so a crash after ``save`` resumes from there. Values must
    be JSON-compatible. Raises ``sharecast.publisher.step_log.LeaseLost`` when the attempt no longer
    holds the target's lease (another delivery took over): the connector must stop.
    """

    @property
    def state(self) -> Mapping[str, Any]:
        """The saved state (read-only view)."""
        ...

    def save(self, **values: Any) -> None:
        """Merge ``values`` into the state and persist them."""
        ...


class MemoryStepLog:
    """A :class:`StepLog` that lives for one call: for callers without a stored target (the
    single-step connectors ignore it; direct connector tests exercise resume logic with it)."""

    def __init__(self, state: Mapping[str, Any] | None = None) -> None:
        self._state: dict[str, Any] = dict(state or {})

    @property
    def state(self) -> Mapping[str, Any]:
        """The saved state."""
        return dict(self._state)

    def save(self, **values: Any) -> None:
        """Merge ``values`` into the state."""
        self._state.update(values)


class Connector(Protocol):
    """Publishes to one network. Implementations raise only :mod:`sharecast.platforms.errors`.

    Every connector reads its base URL from settings, so the local sandbox can stand in for the
    network with the same request and response shapes. Connectors that need media bytes or URLs
    receive a :class:`MediaSource` when built (see :mod:`sharecast.platforms.registry`).
    """

    platform: str

    def publish(
        self, request: PublishRequest, *, access_token: str, steps: StepLog
    ) -> PublishResult | Pending:
        """Create the post, or advance it one step. Raises ``PlatformError`` subclasses,
        classified (docs/semantics.md#statuses-and-rules)."""
        ...

    def find_existing(
        self, request: PublishRequest, *, access_token: str, since: datetime, steps: StepLog
    ) -> PublishResult | None:
        """Look for a post of ``request.text`` on the account created at or after ``since``
        (multi-step connectors may use ``steps.state`` instead, e.g. a container's status).

        Used after an attempt whose outcome is unknown (a crash or a lost response) so a retry
        does not post twice. Returns the existing post or ``None`` when there is none; raises
        ``NotImplementedError`` when the platform offers no way to tell (the target then fails
        as ``UNCERTAIN``), or ``PlatformError`` when the lookup itself failed.
        """
        ...
