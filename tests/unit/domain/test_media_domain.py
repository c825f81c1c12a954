"""Media domain rules: upload checks, object paths, object checks, per-platform media rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sharecast.config import Settings
from sharecast.domain.media import (
    MediaKind,
    check_object,
    media_id_of_path,
    object_path,
    validate_upload,
)
from sharecast.domain.models import TargetMedia
from sharecast.domain.rules import MEDIA_RULES, validate_target_media
from sharecast.domain.statuses import Platform
from sharecast.media.uploads import kind_policies

POLICIES = kind_policies(Settings())
MID = "0123456789abcdef0123456789abcdef"


def codes(problems) -> list[str]:
    return [p.code for p in problems]


@pytest.mark.parametrize(
    ("kind", "mime", "size", "expected"),
    [
        ("IMAGE", "image/png", 1000, []),
        ("VIDEO", "video/mp4", 500 * 1024 * 1024, []),
        ("IMAGE", "video/mp4", 1000, ["MIME_TYPE_NOT_ALLOWED"]),
        ("IMAGE", "application/x-msdownload", 1000, ["MIME_TYPE_NOT_ALLOWED"]),
        ("IMAGE", "image/png", 0, ["SIZE_INVALID"]),
        ("IMAGE", "image/png", -5, ["SIZE_INVALID"]),
        ("IMAGE", "image/png", 10 * 1024 * 1024 + 1, ["SIZE_TOO_LARGE"]),
        ("REEL", "image/png", -1, ["MIME_TYPE_NOT_ALLOWED", "SIZE_INVALID"]),
        ("AUDIO", "audio/mpeg", 10, ["UNKNOWN_KIND"]),
    ],
)
def test_validate_upload(kind, mime, size, expected):
    assert codes(validate_upload(kind=kind, mime_type=mime, size=size, policies=POLICIES)) == (
        expected
    )


def test_allowlisted_type_without_a_known_extension_is_refused():
    settings = Settings(media_image_types=["image/png", "image/x-evil"])
    problems = validate_upload(
        kind="IMAGE", mime_type="image/x-evil", size=10, policies=kind_policies(settings)
    )
    assert codes(problems) == ["MIME_TYPE_NOT_ALLOWED"]


def test_object_path_takes_the_extension_from_the_type_and_round_trips():
    now = datetime(2026, 11, 21, 17, 8, 9, tzinfo=UTC)
    path = object_path(
        kind=MediaKind.REEL, user_id="alice", media_id=MID, mime_type="video/quicktime", now=now
    )
    assert path == f"media/reels/alice/20261121T170809Z-{MID}.mov"
    assert media_id_of_path(path) == MID
    assert media_id_of_path("media/reels/alice/other.mov") is None
    assert media_id_of_path(f"uploads/{MID}.mov") is None


@pytest.mark.parametrize(
    ("content_type", "size", "ok"),
    [
        ("image/png", 10, True),
        ("image/png", 1, True),
        ("image/png; charset=binary", 10, True),
        ("image/jpeg", 10, False),
        ("image/png", 11, False),
        ("image/png", 0, False),
        (None, 10, False),
    ],
)
def test_check_object(content_type, size, ok):
    reason = check_object(
        declared_type="image/png", declared_size=10, content_type=content_type, size=size
    )
    assert (reason is None) is ok


def media(kind: str, mime: str, size: int = 1000) -> TargetMedia:
    return TargetMedia(media_id=MID, kind=kind, mime_type=mime, size=size, object_path="p")


@pytest.mark.parametrize(
    ("platform", "items", "expected"),
    [
        (Platform.FACEBOOK, [media("IMAGE", "image/jpeg")] * 3, []),
        (Platform.FACEBOOK, [media("IMAGE", "image/jpeg", 5_000_000)], ["MEDIA_NOT_ACCEPTED"]),
        (Platform.FACEBOOK, [media("VIDEO", "video/mp4")], ["MEDIA_NOT_ACCEPTED"]),
        (Platform.X, [media("IMAGE", "image/png")] * 4, []),
        (Platform.X, [media("IMAGE", "image/png")] * 5, ["MEDIA_NOT_ACCEPTED"]),
        (Platform.X, [media("VIDEO", "video/mp4", 200 * 1024 * 1024)], []),
        (
            Platform.X,
            [media("VIDEO", "video/mp4"), media("IMAGE", "image/png")],
            ["MEDIA_NOT_ACCEPTED"],
        ),
        (Platform.X, [media("IMAGE", "image/gif")] * 2, ["MEDIA_NOT_ACCEPTED"]),
        (Platform.X, [], []),
        (Platform.LINKEDIN, [media("IMAGE", "image/png")], ["MEDIA_NOT_SUPPORTED"])
        if Platform.LINKEDIN not in {rule.platform for rule in MEDIA_RULES}
        else (Platform.X, [], []),
    ],
)
def test_platform_media_rules(platform, items, expected):
    problems = validate_target_media(platform, None, items, index=2)
    assert codes(problems) == expected
    assert all(p.target == 2 for p in problems)
