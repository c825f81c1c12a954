"""Per-platform rules checked at request time, before anything is stored (docs/api.md#posts).

Text limits (sources: each network's documentation, linked below):
- Facebook Pages feed: 63,206 characters (https://developers.facebook.com/docs/pages-api/posts).
- X: 280 weighted characters, counted by twitter-text: URLs 23, emoji and CJK 2
  (https://docs.x.com/fundamentals/counting-characters).
- Instagram caption 2,200 (https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media);
  hashtags capped by the setting ``instagram_hashtag_limit`` (sources disagree: 30 or 5).
- Threads 500, emoji counted as their UTF-8 bytes
  (https://developers.facebook.com/documentation/threads/posts).
- LinkedIn commentary 3,000 (third-party sources; LinkedIn's docs do not state it).
- YouTube: ``title`` required, at most 100 characters, no ``<``/``>``; description 5,000 bytes
  (https://developers.google.com/youtube/v3/docs/videos#snippet.title).

Media, title and text-required rules are rows of one table (:mod:`sharecast.domain.rules`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from twitter_text import parse_tweet

from sharecast.domain import rules
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


#: A hashtag as Instagram links it: ``#`` after a non-word character, then word characters.
HASHTAG = re.compile(r"(?<![\w#])#\w+")


@dataclass(frozen=True)
class TargetSpec:
    """One requested target after parsing: the platform name as given, its final text, and
    the per-target fields the network rules look at. ``media_kinds``: the kind (``IMAGE``,
    ``VIDEO``, ``REEL``) of each attached media item, in order (filled by the media lookup)."""

    platform: str
    account_id: str | None
    text: str
    media_type: str | None = None
    title: str | None = None
    description: str | None = None
    media_kinds: tuple[str, ...] = field(default_factory=tuple)
    #: Where the user wrote ``text``: ``content`` (the post's) or ``platforms[i].content`` (an
    #: override); ``None``: the target's own ``content``. Text problems are reported there.
    text_field: str | None = None


def _is_emoji(ch: str) -> bool:
    return unicodedata.category(ch) == "So" or 0x1F000 <= ord(ch) <= 0x1FAFF


def text_length(platform: Platform, text: str) -> int:
    """Length of ``text`` as ``platform`` counts it: X weighted (twitter-text); Threads code
    points with each emoji counted as its UTF-8 bytes; YouTube UTF-8 bytes; others code points."""
    if platform is Platform.X:
        return int(parse_tweet(text).weightedLength)
    if platform is Platform.THREADS:
        return sum(len(ch.encode()) if _is_emoji(ch) else 1 for ch in text)
    if platform is Platform.YOUTUBE:
        return len(text.encode())
    return len(text)


def hashtag_count(text: str) -> int:
    """How many hashtags ``text`` carries."""
    return len(HASHTAG.findall(text))


def text_field(target: TargetSpec, index: int) -> str:
    """The field the user filled with ``target``'s text (see :attr:`TargetSpec.text_field`)."""
    return target.text_field or f"platforms[{index}].content"


def hashtag_problems(
    platform: Platform,
    text: str,
    index: int,
    *,
    hashtag_limits: Mapping[Platform, int],
    where: str | None = None,
) -> list[FieldProblem]:
    """``TOO_MANY_HASHTAGS`` when ``platform`` caps hashtags and ``text`` has more (reported at
    ``where``, by default the target's ``content``)."""
    limit = hashtag_limits.get(platform)
    if limit is None or hashtag_count(text) <= limit:
        return []
    message = f"{platform.value} allows {limit} hashtags; this text has {hashtag_count(text)}"
    field_name = where or f"platforms[{index}].content"
    return [FieldProblem(field_name, "TOO_MANY_HASHTAGS", message, index)]


def validate_targets(
    targets: Sequence[TargetSpec],
    *,
    enabled: Sequence[str],
    hashtag_limits: Mapping[Platform, int] | None = None,
) -> tuple[list[Platform], list[FieldProblem]]:
    """Check every target; returns the canonical platforms and every problem found.

    ``hashtag_limits``: the maximum hashtags per platform that caps them (Instagram, from the
    setting ``instagram_hashtag_limit``). Problems carry ``target`` (the index in ``platforms``)
    so a client can show them per target. The file rules of :attr:`rules.Report.AS_ONE`
    platforms need the media records and are checked by the caller
    (:func:`sharecast.domain.rules.validate_target_media`).
    """
    problems: list[FieldProblem] = []
    platforms: list[Platform] = []
    seen: dict[tuple[Platform, str | None], int] = {}
    for index, target in enumerate(targets):
        platform = normalise_platform(target.platform)
        if platform is None:
            message = f"unknown platform {target.platform!r}"
            where = f"platforms[{index}].platform"
            problems.append(FieldProblem(where, "UNKNOWN_PLATFORM", message, index))
            continue
        platforms.append(platform)
        refused = _refused(platform, index, enabled=enabled)
        if refused is not None:
            problems.append(refused)
            continue
        first = seen.setdefault((platform, target.account_id), index)
        if first != index:
            message = (
                f"platforms[{first}] and platforms[{index}] name the same platform and account"
            )
            problems.append(FieldProblem(f"platforms[{index}]", "DUPLICATE_TARGET", message, index))
        problems += hashtag_problems(
            platform,
            target.text,
            index,
            hashtag_limits=hashtag_limits or {},
            where=text_field(target, index),
        )
        if rules.reported_each(platform):
            problems += rules.shape_problems(
                platform,
                media_type=target.media_type,
                kinds=target.media_kinds,
                title=target.title,
                index=index,
            )
        problems += _text_problems(platform, target, index)
    return platforms, problems


def _refused(platform: Platform, index: int, *, enabled: Sequence[str]) -> FieldProblem | None:
    """Why no target of ``platform`` can be published here, if so."""
    where = f"platforms[{index}].platform"
    if platform is Platform.WHATSAPP:
        message = "WhatsApp has no publishing API; use a share link (POST /videos/{id}/share)"
        return FieldProblem(where, "SHARE_LINK_ONLY", message, index)
    if platform.value not in enabled:
        message = f"publishing to {platform.value} is not enabled on this deployment"
        return FieldProblem(where, "PLATFORM_NOT_ENABLED", message, index)
    return None


def _text_problems(platform: Platform, target: TargetSpec, index: int) -> list[FieldProblem]:
    """``TEXT_REQUIRED`` or ``TEXT_TOO_LONG`` (YouTube's text is the video description), at
    the field the user filled (:func:`text_field`)."""
    where = text_field(target, index)
    text = target.text
    if platform is Platform.YOUTUBE and target.description is not None:
        text = target.description
        where = f"platforms[{index}].description"
    if not text.strip():
        if rules.text_required(platform, target.media_type):
            return [FieldProblem(where, "TEXT_REQUIRED", "text is required", index)]
        return []
    limit = TEXT_LIMITS[platform]
    length = text_length(platform, text)
    if length > limit:
        message = f"{platform.value} allows {limit} characters; this text counts {length}"
        return [FieldProblem(where, "TEXT_TOO_LONG", message, index)]
    return []


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
