"""Per-platform rules checked at request time, before anything is stored (docs/api.md#posts).

Text limits (each network's rules: docs/networks.md; sources):
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

Media rules are data (:data:`MEDIA_RULES`): one row per platform and ``mediaType`` giving the
media kinds and counts allowed, whether text is required and whether a video must be alone.
A platform without rows (today: Facebook, X) is not checked here; rows are added beside these.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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


#: YouTube's title limit in characters and the characters it refuses in titles.
YOUTUBE_TITLE_MAX = 100
YOUTUBE_TITLE_FORBIDDEN = "<>"
#: A hashtag as Instagram links it: ``#`` after a non-word character, then word characters.
HASHTAG = re.compile(r"(?<![\w#])#\w+")

IMAGE, VIDEO = "IMAGE", "VIDEO"


@dataclass(frozen=True)
class MediaRule:
    """What one platform accepts for one ``mediaType`` (``None``: no mediaType given).

    ``kinds``: media kinds allowed (``IMAGE``/``VIDEO``); ``min_items``/``max_items``: how many;
    ``text_required``: whether the post needs text; ``video_alone``: a video must be the only
    item; ``title_required``: the target needs ``title`` (YouTube)."""

    platform: Platform
    media_type: str | None
    kinds: frozenset[str]
    min_items: int
    max_items: int
    text_required: bool = True
    video_alone: bool = False
    title_required: bool = False


_BOTH = frozenset({IMAGE, VIDEO})
#: Sources: docs/networks.md#media-rules (Instagram forms, carousel 10 items, unverified: 10
#: or 20; Threads: text, image, video, carousel up to 20; LinkedIn: images or one video;
#: YouTube: one video per ``videos.insert``).
MEDIA_RULES: tuple[MediaRule, ...] = (
    MediaRule(Platform.INSTAGRAM, None, _BOTH, 1, 10, text_required=False),
    MediaRule(Platform.INSTAGRAM, "FEED", frozenset({IMAGE}), 1, 1, text_required=False),
    MediaRule(Platform.INSTAGRAM, "REELS", frozenset({VIDEO}), 1, 1, text_required=False),
    MediaRule(Platform.INSTAGRAM, "STORIES", _BOTH, 1, 1, text_required=False),
    MediaRule(Platform.INSTAGRAM, "CAROUSEL", _BOTH, 2, 10, text_required=False),
    MediaRule(Platform.THREADS, None, _BOTH, 0, 20),
    MediaRule(Platform.LINKEDIN, None, _BOTH, 0, 20, video_alone=True),
    MediaRule(
        Platform.YOUTUBE,
        None,
        frozenset({VIDEO}),
        1,
        1,
        text_required=False,
        title_required=True,
    ),
)


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


def has_network_rules(platform: Platform) -> bool:
    """Whether :data:`MEDIA_RULES` covers ``platform`` (the others use
    :mod:`sharecast.domain.media_rules`)."""
    return any(rule.platform is platform for rule in MEDIA_RULES)


def media_rule(platform: Platform, media_type: str | None) -> MediaRule | None:
    """The rule row of ``platform`` and ``media_type`` (case-insensitive), or ``None``."""
    wanted = media_type.upper() if media_type else None
    for rule in MEDIA_RULES:
        if rule.platform is platform and rule.media_type == wanted:
            return rule
    return None


def _kind(kind: str) -> str:
    return VIDEO if kind.upper() in (VIDEO, "REEL") else kind.upper()


def network_problems(
    platform: Platform,
    target: TargetSpec,
    index: int,
    *,
    hashtag_limits: Mapping[Platform, int],
) -> list[FieldProblem]:
    """Media, title and hashtag problems of one target (text length is checked apart)."""
    where = f"platforms[{index}]"
    problems: list[FieldProblem] = []
    limit = hashtag_limits.get(platform)
    if limit is not None and hashtag_count(target.text) > limit:
        problems.append(
            FieldProblem(
                f"{where}.content",
                "TOO_MANY_HASHTAGS",
                f"{platform.value} allows {limit} hashtags; "
                f"this text has {hashtag_count(target.text)}",
                index,
            )
        )
    if not any(rule.platform is platform for rule in MEDIA_RULES):
        return problems
    rule = media_rule(platform, target.media_type)
    if rule is None:
        allowed = sorted(
            r.media_type for r in MEDIA_RULES if r.platform is platform and r.media_type
        )
        problems.append(
            FieldProblem(
                f"{where}.mediaType",
                "UNSUPPORTED_MEDIA_TYPE",
                f"{platform.value} media types: {', '.join(allowed) or 'none'}",
                index,
            )
        )
        return problems
    kinds = [_kind(k) for k in target.media_kinds]
    count = len(kinds)
    form = f"{platform.value} {rule.media_type or 'posts'}"
    if count < rule.min_items or count > rule.max_items:
        code = "MEDIA_REQUIRED" if count < rule.min_items else "TOO_MANY_MEDIA"
        span = (
            f"exactly {rule.min_items}"
            if rule.min_items == rule.max_items
            else f"{rule.min_items} to {rule.max_items}"
        )
        problems.append(
            FieldProblem(
                f"{where}.media",
                code,
                f"{form} take {span} media items; this target has {count}",
                index,
            )
        )
    wrong = sorted({k for k in kinds if k not in rule.kinds})
    if wrong:
        problems.append(
            FieldProblem(
                f"{where}.media",
                "MEDIA_KIND_NOT_ALLOWED",
                f"{form} accept {', '.join(sorted(rule.kinds))}, not {', '.join(wrong)}",
                index,
            )
        )
    if rule.video_alone and VIDEO in kinds and count > 1:
        problems.append(
            FieldProblem(
                f"{where}.media",
                "VIDEO_MUST_BE_ALONE",
                f"{platform.value} takes one video alone, or images",
                index,
            )
        )
    if rule.title_required:
        title = (target.title or "").strip()
        if not title:
            problems.append(
                FieldProblem(
                    f"{where}.title", "TITLE_REQUIRED", f"{platform.value} needs a title", index
                )
            )
        elif len(target.title or "") > YOUTUBE_TITLE_MAX:
            problems.append(
                FieldProblem(
                    f"{where}.title",
                    "TITLE_TOO_LONG",
                    f"{platform.value} titles allow {YOUTUBE_TITLE_MAX} characters; "
                    f"this one has {len(target.title or '')}",
                    index,
                )
            )
        elif any(ch in (target.title or "") for ch in YOUTUBE_TITLE_FORBIDDEN):
            problems.append(
                FieldProblem(
                    f"{where}.title",
                    "TITLE_INVALID",
                    f"{platform.value} titles cannot contain < or >",
                    index,
                )
            )
    return problems


def text_required(platform: Platform, media_type: str | None) -> bool:
    """Whether a target of ``platform``/``media_type`` needs text (default: yes)."""
    rule = media_rule(platform, media_type)
    return rule.text_required if rule is not None else True


def validate_targets(
    targets: Sequence[TargetSpec],
    *,
    enabled: Sequence[str],
    hashtag_limits: Mapping[Platform, int] | None = None,
) -> tuple[list[Platform], list[FieldProblem]]:
    """Check every target; returns the canonical platforms and every problem found.

    ``hashtag_limits``: the maximum hashtags per platform that caps them (Instagram, from the
    setting ``instagram_hashtag_limit``). Problems carry ``target`` (the index in ``platforms``)
    so a client can show them per target.
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
        problems += network_problems(platform, target, index, hashtag_limits=hashtag_limits or {})
        text = target.text
        if platform is Platform.YOUTUBE and target.description is not None:
            text = target.description  # YouTube's text is the video description
        if not text.strip():
            if text_required(platform, target.media_type):
                problems.append(
                    FieldProblem(f"{where}.content", "TEXT_REQUIRED", "text is required", index)
                )
            continue
        limit = TEXT_LIMITS[platform]
        length = text_length(platform, text)
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
