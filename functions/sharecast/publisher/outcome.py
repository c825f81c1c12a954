"""What one delivery learned from the network, and how errors are read
(docs/semantics.md#exactly-once-and-uncertain).

:class:`Outcome` is what :mod:`.execute` hands to :mod:`.record`: published (or found), still
processing, failed, *unknown* (the request may have reached the network), or, for a delivery
that checks an unknown outcome, *absent* (no post after the settle window) or *check failed*
(the lookup itself erred). Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sharecast.platforms.base import Pending, PublishResult
from sharecast.platforms.errors import BillingError, PlatformError

#: Error codes after which the request may have reached the network and been stored there:
#: the connection failed or timed out after sending (``NETWORK``, ``TIMEOUT``), a success answer
#: without the post's id or a connector bug (``UNKNOWN_OUTCOME``), a 5xx (the network may have
#: stored the post before failing to answer). Not in it, because the network answered and
#: nothing was created: ``UPLOAD_STALLED`` (YouTube kept no new byte; the video exists only once
#: the last chunk is answered 200/201), ``BAD_RESPONSE`` (raised on reads, upload steps and
#: session answers, never on the call that creates the post: an id-less create answer is
#: ``UNKNOWN_OUTCOME``), ``CONTAINER_TIMEOUT`` (the container never became ready, so the publish
#: call was not made, or answered "not ready"), rate limits, auth and validation errors.
MAYBE_POSTED_CODES = frozenset({"NETWORK", "TIMEOUT", "UNKNOWN_OUTCOME", "PLATFORM_5XX"})


def maybe_posted(error: PlatformError) -> bool:
    """Whether ``error`` leaves the post possibly created on the network (see
    :data:`MAYBE_POSTED_CODES`)."""
    return error.code in MAYBE_POSTED_CODES


class OutcomeKind(StrEnum):
    """The kinds of :class:`Outcome`; the value is the outcome's name in reports and logs."""

    PUBLISHED = "published"
    PENDING = "PENDING"
    FAILED = "failed"
    UNKNOWN = "unknown"
    ABSENT = "absent"
    CHECK_FAILED = "check_failed"


@dataclass(frozen=True)
class Outcome:
    """What the network said. ``result`` is set for ``PUBLISHED``, ``pending`` for ``PENDING``,
    ``error`` for ``FAILED``, ``UNKNOWN`` (what ended the call) and ``CHECK_FAILED`` (what the
    lookup answered); ``ABSENT`` carries nothing (the cause is on the target)."""

    kind: OutcomeKind
    result: PublishResult | None = None
    error: PlatformError | None = None
    pending: Pending | None = None

    @classmethod
    def published(cls, result: PublishResult) -> Outcome:
        """The post exists: published now, or found by a check."""
        return cls(OutcomeKind.PUBLISHED, result=result)

    @classmethod
    def waiting(cls, pending: Pending) -> Outcome:
        """The network (or the settle window) asks to come back later."""
        return cls(OutcomeKind.PENDING, pending=pending)

    @classmethod
    def failed(cls, error: PlatformError) -> Outcome:
        """The attempt failed and nothing was published."""
        return cls(OutcomeKind.FAILED, error=error)

    @classmethod
    def unknown(cls, error: PlatformError) -> Outcome:
        """The request may have reached the network (``error``: what ended the call)."""
        return cls(OutcomeKind.UNKNOWN, error=error)

    @classmethod
    def absent(cls) -> Outcome:
        """The check found no post after the settle window."""
        return cls(OutcomeKind.ABSENT)

    @classmethod
    def check_failed(cls, error: PlatformError) -> Outcome:
        """The existence check could not be made (the lookup answered ``error``)."""
        return cls(OutcomeKind.CHECK_FAILED, error=error)

    @classmethod
    def of_error(cls, error: PlatformError) -> Outcome:
        """``UNKNOWN`` when ``error`` may have left a post behind, else ``FAILED``."""
        return cls.unknown(error) if maybe_posted(error) else cls.failed(error)


def error_message(error: PlatformError) -> str:
    """The message recorded on the target: the network's own, except for billing, which says so
    first (the user must see a billing problem as such, not an invalid request)."""
    if isinstance(error, BillingError) or error.code == "BILLING":
        return (
            "billing: the network refuses to publish until the account's billing is sorted out"
            f" (top up or change the plan, then retry the target): {error.message}"
        )
    return error.message
