"""Which media each platform accepts on one post, checked at request time (docs/api.md#posts).

The rules are a table: each :class:`MediaRule` row describes one accepted combination for a
platform (which kinds, how many files, MIME types and size caps, for which target
``mediaType``). A target's media are valid when at least one row of its platform accepts all of
them; a platform without rows publishes text only. Adding a platform is adding rows.

Sources (each network's rules: docs/networks.md):
- Facebook Pages photos: ``POST /{page}/photos`` by URL, JPEG/PNG/GIF up to 4 MB; several photos
  become one post through unpublished photos and ``attached_media``
  (https://developers.facebook.com/docs/graph-api/reference/page/photos/).
- X: at most 4 photos, or 1 GIF, or 1 video per post; images ≤ 5 MB, animated GIF ≤ 15 MB,
  video ≤ 512 MB (https://docs.x.com/x-api/media/introduction, best-practices).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sharecast.domain.media import MediaKind
from sharecast.domain.models import TargetMedia
from sharecast.domain.statuses import Platform
from sharecast.errors import FieldProblem

MB = 1_000_000
MIB = 1024 * 1024


@dataclass(frozen=True)
class MediaRule:
    """One accepted combination of media on one platform.

    ``kinds``: kinds allowed together; ``max_items``: files per post; ``mime_types``: accepted
    types (``None``: any allowlisted type); ``max_bytes``: cap per file of each kind;
    ``media_types``: target ``mediaType`` values the row applies to (``None`` in the set means
    "no mediaType given")."""

    platform: Platform
    kinds: frozenset[MediaKind]
    max_items: int
    max_bytes: dict[MediaKind, int]
    mime_types: frozenset[str] | None = None
    media_types: frozenset[str | None] = frozenset({None})
    label: str = ""

    def accepts(self, media_type: str | None, items: Sequence[TargetMedia]) -> bool:
        """Whether this row allows ``items`` on a target with ``media_type``."""
        if media_type not in self.media_types or len(items) > self.max_items:
            return False
        for item in items:
            kind = MediaKind(item.kind)
            if kind not in self.kinds or item.size > self.max_bytes.get(kind, 0):
                return False
            if self.mime_types is not None and item.mime_type not in self.mime_types:
                return False
        return True


_IMAGES = frozenset({"image/jpeg", "image/png", "image/gif"})
_X_IMAGES = frozenset({"image/jpeg", "image/png", "image/webp"})
_VIDEO_KINDS = frozenset({MediaKind.VIDEO, MediaKind.REEL})

#: Every row, per platform (a platform missing here publishes text only).
MEDIA_RULES: dict[Platform, tuple[MediaRule, ...]] = {
    Platform.FACEBOOK: (
        MediaRule(
            Platform.FACEBOOK,
            kinds=frozenset({MediaKind.IMAGE}),
            max_items=10,
            max_bytes={MediaKind.IMAGE: 4 * MB},
            mime_types=_IMAGES,
            label="1 to 10 JPEG/PNG/GIF photos of at most 4 MB",
        ),
    ),
    Platform.X: (
        MediaRule(
            Platform.X,
            kinds=frozenset({MediaKind.IMAGE}),
            max_items=4,
            max_bytes={MediaKind.IMAGE: 5 * MB},
            mime_types=_X_IMAGES,
            label="up to 4 JPEG/PNG/WEBP photos of at most 5 MB",
        ),
        MediaRule(
            Platform.X,
            kinds=frozenset({MediaKind.IMAGE}),
            max_items=1,
            max_bytes={MediaKind.IMAGE: 15 * MB},
            mime_types=frozenset({"image/gif"}),
            label="1 GIF of at most 15 MB",
        ),
        MediaRule(
            Platform.X,
            kinds=_VIDEO_KINDS,
            max_items=1,
            max_bytes={MediaKind.VIDEO: 512 * MB, MediaKind.REEL: 512 * MB},
            mime_types=frozenset({"video/mp4", "video/quicktime"}),
            label="1 MP4/MOV video of at most 512 MB",
        ),
    ),
}


def validate_target_media(
    platform: Platform, media_type: str | None, items: Sequence[TargetMedia], *, index: int
) -> list[FieldProblem]:
    """Problems with ``items`` on one target (``index`` in ``platforms``); none for no media."""
    if not items:
        return []
    rules = MEDIA_RULES.get(platform, ())
    where = f"platforms[{index}]"
    if not rules:
        return [
            FieldProblem(
                f"{where}.platform",
                "MEDIA_NOT_SUPPORTED",
                f"{platform.value} posts cannot carry media here",
                index,
            )
        ]
    if any(rule.accepts(media_type, items) for rule in rules):
        return []
    accepted = "; or ".join(rule.label for rule in rules if media_type in rule.media_types)
    return [
        FieldProblem(
            "media",
            "MEDIA_NOT_ACCEPTED",
            f"{platform.value} accepts {accepted or 'no media for this mediaType'}",
            index,
        )
    ]
