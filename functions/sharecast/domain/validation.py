"""Per-platform rules checked at request time, before anything is stored (SPEC §4.2).

Text limits (sources: ``shared/reference/platform-apis.md``):
- Facebook Pages feed: 63,206 characters (https://developers.facebook.com/docs/pages-api/posts).
- X: 280 weighted characters, counted by twitter-text: URLs 23, emoji and CJK 2
  (https://docs.x.com/fundamentals/counting-characters).
- Instagram caption 2,200; Threads 500; LinkedIn commentary 3,000; YouTube title 100.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from twitter_text import parse_tweet

from sharecast.domain.statuses import Platform, normalise_platform
from sharecast.errors import FieldProblem

#: Maximum text length per platform, in that platform's own unit (see module docstring).
TEXT_LIMITS: dict[Platform, int] = {
    Platform.FACEBOOK: 63206,
    Platform.X: 280,
    Platform.INSTAGRAM: 2200,
    Platform.THREADS: 500,
    Platform.LINKEDIN: 3000,
    Platform.YOUTUBE: 5000,
}


@dataclass(frozen=True)
class TargetSpec:
    """One requested target after parsing: the platform name as given and its final text."""

    platform: str
    account_id: str | None
    text: str


def text_length(platform: Platform, text: str) -> int:
    """Length of ``text`` as ``platform`` counts it (X: weighted; others: code points)."""
    if platform is Platform.X:
        return int(parse_tweet(text).weightedLength)
    return len(text)


def validate_targets(
    targets: Sequence[TargetSpec], *, enabled: Sequence[str]
) -> tuple[list[Platform], list[FieldProblem]]:
    """Check every target; returns the canonical platforms and every problem found.

    Problems carry ``target`` (the index in ``platforms``) so a client can show them per target.
    """
    problems: list[FieldProblem] = []
    platforms: list[Platform] = []
    seen: set[tuple[Platform, str | None]] = set()
    for index, target in enumerate(targets):
        where = f"platforms[{index}]"
        platform = normalise_platform(target.platform)
        if platform is None:
            problems.append(
                FieldProblem(
                    f"{where}.platform",
                    "UNKNOWN_PLATFORM",
                    f"unknown platform {target.platform!r}",
                    index,
                )
            )
            continue
        platforms.append(platform)
        if platform is Platform.WHATSAPP:
            problems.append(
                FieldProblem(
                    f"{where}.platform",
                    "SHARE_LINK_ONLY",
                    "WhatsApp has no publishing API; use a share link (POST /videos/{id}/share)",
                    index,
                )
            )
            continue
        if platform.value not in enabled:
            problems.append(
                FieldProblem(
                    f"{where}.platform",
                    "PLATFORM_NOT_ENABLED",
                    f"publishing to {platform.value} is not enabled on this deployment",
                    index,
                )
            )
            continue
        key = (platform, target.account_id)
        if key in seen:
            problems.append(
                FieldProblem(
                    where, "DUPLICATE_TARGET", "the same platform and account twice", index
                )
            )
        seen.add(key)
        if not target.text.strip():
            problems.append(
                FieldProblem(f"{where}.content", "TEXT_REQUIRED", "text is required", index)
            )
            continue
        limit = TEXT_LIMITS[platform]
        length = text_length(platform, target.text)
        if length > limit:
            problems.append(
                FieldProblem(
                    f"{where}.content",
                    "TEXT_TOO_LONG",
                    f"{platform.value} allows {limit} characters; this text counts {length}",
                    index,
                )
            )
    return platforms, problems


def validate_schedule(
    schedule_at: datetime | None, *, now: datetime, max_ahead_days: int
) -> list[FieldProblem]:
    """``scheduleAt`` must be in the future and at most ``max_ahead_days`` days ahead (UTC)."""
    if schedule_at is None:
        return []
    if schedule_at <= now:
        return [FieldProblem("scheduleAt", "SCHEDULE_IN_PAST", "scheduleAt must be in the future")]
    if schedule_at > now + timedelta(days=max_ahead_days):
        return [
            FieldProblem(
                "scheduleAt",
                "SCHEDULE_TOO_FAR",
                f"scheduleAt must be at most {max_ahead_days} days ahead",
            )
        ]
    return []
