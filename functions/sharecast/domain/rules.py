"""Which media each network accepts on one target: one table of rows keyed by platform and
target ``mediaType``, checked at request time before anything is stored (docs/api.md#posts).

Each :class:`MediaRule` row says, for one platform and one ``mediaType`` (``None``: none given),
which media kinds and how many items a post takes, whether it needs text or a title, whether a
video must be alone and, where the network's file limits are known, which MIME types and sizes
per kind. A platform publishes media only through its rows.

How a row's problems are reported is data too (``report``): :attr:`Report.EACH` names every
problem with its own code (``MEDIA_REQUIRED``, ``TOO_MANY_MEDIA``, ``MEDIA_KIND_NOT_ALLOWED``,
``VIDEO_MUST_BE_ALONE``, ``TITLE_*``; an unknown ``mediaType`` is ``UNSUPPORTED_MEDIA_TYPE``);
:attr:`Report.AS_ONE` is for networks whose rows are alternative combinations of files (X: up to
4 photos, or one GIF, or one video): the media are accepted when one row accepts them all, else
one ``MEDIA_NOT_ACCEPTED`` lists the rows' ``label``.

Sources (``docs`` of each network; see also ``platforms/``):
- Instagram forms (FEED, REELS, STORIES, CAROUSEL of 2-10 items):
  https://developers.facebook.com/docs/instagram-platform/content-publishing
- Threads: text, image, video, carousel of up to 20:
  https://developers.facebook.com/docs/threads/posts
- LinkedIn: up to 20 images, or one video (Posts API, ``content.multiImage``/``media``):
  https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api
- YouTube: one video per ``videos.insert``; ``snippet.title`` required, at most 100 characters,
  no ``<``/``>``: https://developers.google.com/youtube/v3/docs/videos#snippet.title
- Facebook Pages photos: ``POST /{page}/photos`` by URL, JPEG/PNG/GIF up to 4 MB; several photos
  become one post through ``attached_media``:
  https://developers.facebook.com/docs/graph-api/reference/page/photos/
- X: at most 4 photos, or 1 GIF, or 1 video per post; images ≤ 5 MB, animated GIF ≤ 15 MB,
  video ≤ 512 MB: https://docs.x.com/x-api/media/introduction
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from sharecast.domain.models import TargetMedia
from sharecast.domain.statuses import Platform
from sharecast.errors import FieldProblem

IMAGE, VIDEO = "IMAGE", "VIDEO"
MB = 1_000_000
#: YouTube's title limit in characters and the characters it refuses in titles.
YOUTUBE_TITLE_MAX = 100
YOUTUBE_TITLE_FORBIDDEN = "<>"


class Report(StrEnum):
    """How the problems of a platform's rows are reported (module docstring)."""

    EACH = "EACH"
    AS_ONE = "AS_ONE"


@dataclass(frozen=True)
class MediaRule:
    """What ``platform`` accepts on a target with ``media_type`` (``None``: none given).

    ``kinds``: media kinds allowed (``IMAGE``/``VIDEO``; a ``REEL`` upload counts as a video);
    ``min_items``/``max_items``: how many; ``text_required``: the post needs text;
    ``video_alone``: a video must be the only item; ``title_required``: the target needs
    ``title``; ``mime_types``: accepted types (``None``: any the upload allowlist takes);
    ``max_bytes``: cap per file by kind, bytes (``None``: the upload caps only); ``label``:
    how the row reads in ``MEDIA_NOT_ACCEPTED``; ``report``: see :class:`Report`.
    """

    platform: Platform
    media_type: str | None
    kinds: frozenset[str]
    min_items: int
    max_items: int
    text_required: bool = True
    video_alone: bool = False
    title_required: bool = False
    mime_types: frozenset[str] | None = None
    max_bytes: Mapping[str, int] | None = field(default=None, hash=False)
    label: str = ""
    report: Report = Report.EACH

    def accepts(self, media_type: str | None, items: Sequence[TargetMedia]) -> bool:
        """Whether this row takes ``items`` on a target with ``media_type`` (all checks)."""
        if media_type != self.media_type or not self.min_items <= len(items) <= self.max_items:
            return False
        for item in items:
            kind = media_kind(item.kind)
            if kind not in self.kinds:
                return False
            if self.max_bytes is not None and item.size > self.max_bytes.get(kind, 0):
                return False
            if self.mime_types is not None and item.mime_type not in self.mime_types:
                return False
        return not (self.video_alone and VIDEO in map(media_kind, (i.kind for i in items)))


_BOTH = frozenset({IMAGE, VIDEO})
_PHOTOS = frozenset({"image/jpeg", "image/png", "image/gif"})

#: Every row. A platform without rows publishes text only.
MEDIA_RULES: tuple[MediaRule, ...] = (
    MediaRule(Platform.INSTAGRAM, None, _BOTH, 1, 10, text_required=False),
    MediaRule(Platform.INSTAGRAM, "FEED", frozenset({IMAGE}), 1, 1, text_required=False),
    MediaRule(Platform.INSTAGRAM, "REELS", frozenset({VIDEO}), 1, 1, text_required=False),
    MediaRule(Platform.INSTAGRAM, "STORIES", _BOTH, 1, 1, text_required=False),
    MediaRule(Platform.INSTAGRAM, "CAROUSEL", _BOTH, 2, 10, text_required=False),
    MediaRule(Platform.THREADS, None, _BOTH, 0, 20),
    MediaRule(Platform.LINKEDIN, None, _BOTH, 0, 20, video_alone=True),
    MediaRule(
        Platform.YOUTUBE, None, frozenset({VIDEO}), 1, 1, text_required=False, title_required=True
    ),
    MediaRule(
        Platform.FACEBOOK,
        None,
        frozenset({IMAGE}),
        1,
        10,
        mime_types=_PHOTOS,
        max_bytes={IMAGE: 4 * MB},
        label="1 to 10 JPEG/PNG/GIF photos of at most 4 MB",
        report=Report.AS_ONE,
    ),
    MediaRule(
        Platform.X,
        None,
        frozenset({IMAGE}),
        1,
        4,
        mime_types=frozenset({"image/jpeg", "image/png", "image/webp"}),
        max_bytes={IMAGE: 5 * MB},
        label="up to 4 JPEG/PNG/WEBP photos of at most 5 MB",
        report=Report.AS_ONE,
    ),
    MediaRule(
        Platform.X,
        None,
        frozenset({IMAGE}),
        1,
        1,
        mime_types=frozenset({"image/gif"}),
        max_bytes={IMAGE: 15 * MB},
        label="1 GIF of at most 15 MB",
        report=Report.AS_ONE,
    ),
    MediaRule(
        Platform.X,
        None,
        frozenset({VIDEO}),
        1,
        1,
        mime_types=frozenset({"video/mp4", "video/quicktime"}),
        max_bytes={VIDEO: 512 * MB},
        label="1 MP4/MOV video of at most 512 MB",
        report=Report.AS_ONE,
    ),
)


def media_kind(kind: str) -> str:
    """``IMAGE`` or ``VIDEO`` for an upload kind (``REEL`` is a video)."""
    return VIDEO if kind.upper() in (VIDEO, "REEL") else kind.upper()


def rules_of(platform: Platform) -> tuple[MediaRule, ...]:
    """The rows of ``platform``, in table order."""
    return tuple(rule for rule in MEDIA_RULES if rule.platform is platform)


def reported_each(platform: Platform) -> bool:
    """Whether ``platform``'s rows report every problem on its own (:attr:`Report.EACH`)."""
    return any(rule.report is Report.EACH for rule in rules_of(platform))


def media_rule(platform: Platform, media_type: str | None) -> MediaRule | None:
    """The first row of ``platform`` and ``media_type`` (case-insensitive), or ``None``."""
    wanted = media_type.upper() if media_type else None
    return next((r for r in rules_of(platform) if r.media_type == wanted), None)


def text_required(platform: Platform, media_type: str | None) -> bool:
    """Whether a target of ``platform``/``media_type`` needs text (default: yes)."""
    rule = media_rule(platform, media_type)
    return rule.text_required if rule is not None else True


def shape_problems(
    platform: Platform,
    *,
    media_type: str | None,
    kinds: Sequence[str],
    title: str | None,
    index: int,
) -> list[FieldProblem]:
    """The problems of one target of a :attr:`Report.EACH` platform: its ``mediaType``, the
    number and ``kinds`` of its media, a video not alone, its ``title``."""
    where = f"platforms[{index}]"
    rule = media_rule(platform, media_type)
    if rule is None:
        allowed = sorted(r.media_type for r in rules_of(platform) if r.media_type)
        message = f"{platform.value} media types: {', '.join(allowed) or 'none'}"
        return [FieldProblem(f"{where}.mediaType", "UNSUPPORTED_MEDIA_TYPE", message, index)]
    found = [media_kind(k) for k in kinds]
    problems = _count_problems(rule, found, where, index)
    if rule.video_alone and VIDEO in found and len(found) > 1:
        message = f"{platform.value} takes one video alone, or images"
        problems.append(FieldProblem(f"{where}.media", "VIDEO_MUST_BE_ALONE", message, index))
    if rule.title_required:
        problems += _title_problems(platform, title, where, index)
    return problems


def _count_problems(
    rule: MediaRule, kinds: list[str], where: str, index: int
) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    count = len(kinds)
    form = f"{rule.platform.value} {rule.media_type or 'posts'}"
    if count < rule.min_items or count > rule.max_items:
        code = "MEDIA_REQUIRED" if count < rule.min_items else "TOO_MANY_MEDIA"
        span = (
            f"exactly {rule.min_items}"
            if rule.min_items == rule.max_items
            else f"{rule.min_items} to {rule.max_items}"
        )
        message = f"{form} take {span} media items; this target has {count}"
        problems.append(FieldProblem(f"{where}.media", code, message, index))
    wrong = sorted({k for k in kinds if k not in rule.kinds})
    if wrong:
        message = f"{form} accept {', '.join(sorted(rule.kinds))}, not {', '.join(wrong)}"
        problems.append(FieldProblem(f"{where}.media", "MEDIA_KIND_NOT_ALLOWED", message, index))
    return problems


def _title_problems(
    platform: Platform, title: str | None, where: str, index: int
) -> list[FieldProblem]:
    text = title or ""
    if not text.strip():
        message = f"{platform.value} needs a title"
        return [FieldProblem(f"{where}.title", "TITLE_REQUIRED", message, index)]
    if len(text) > YOUTUBE_TITLE_MAX:
        message = (
            f"{platform.value} titles allow {YOUTUBE_TITLE_MAX} characters; "
            f"this one has {len(text)}"
        )
        return [FieldProblem(f"{where}.title", "TITLE_TOO_LONG", message, index)]
    if any(ch in text for ch in YOUTUBE_TITLE_FORBIDDEN):
        message = f"{platform.value} titles cannot contain < or >"
        return [FieldProblem(f"{where}.title", "TITLE_INVALID", message, index)]
    return []


def validate_target_media(
    platform: Platform, media_type: str | None, items: Sequence[TargetMedia], *, index: int
) -> list[FieldProblem]:
    """The problems of ``items`` on one target (``index`` in ``platforms``) of a
    :attr:`Report.AS_ONE` platform: none for no media or when a row accepts them all."""
    if not items:
        return []
    rules = rules_of(platform)
    if not rules:
        message = f"{platform.value} posts cannot carry media here"
        return [FieldProblem(f"platforms[{index}].platform", "MEDIA_NOT_SUPPORTED", message, index)]
    if any(rule.accepts(media_type, items) for rule in rules):
        return []
    accepted = "; or ".join(rule.label for rule in rules if rule.media_type == media_type)
    message = f"{platform.value} accepts {accepted or 'no media for this mediaType'}"
    return [FieldProblem("media", "MEDIA_NOT_ACCEPTED", message, index)]
