"""Per-network request rules at their boundaries: exactly the limit passes, one over fails."""

from __future__ import annotations

import pytest

from sharecast.domain.rules import MEDIA_RULES
from sharecast.domain.statuses import Platform
from sharecast.domain.validation import (
    TargetSpec,
    hashtag_count,
    text_length,
    validate_targets,
)

ALL = ["facebook", "x", "instagram", "threads", "linkedin", "youtube"]


def check(*specs, hashtags=None):
    return validate_targets(list(specs), enabled=ALL, hashtag_limits=hashtags or {})[1]


def codes(problems):
    return [p.code for p in problems]


def ig(text="caption", kinds=("IMAGE",), media_type=None):
    return TargetSpec("instagram", None, text, media_type=media_type, media_kinds=tuple(kinds))


def yt(title="Title", kinds=("VIDEO",), text="", description=None):
    return TargetSpec(
        "youtube", None, text, title=title, description=description, media_kinds=tuple(kinds)
    )


def test_instagram_caption_2200():
    assert check(ig("a" * 2200)) == []
    assert codes(check(ig("a" * 2201))) == ["TEXT_TOO_LONG"]


def test_instagram_hashtag_cap_is_a_parameter():
    five = " ".join(f"#t{i}" for i in range(5))
    limits = {Platform.INSTAGRAM: 5}
    assert check(ig(five), hashtags=limits) == []
    bad = check(ig(five + " #six"), hashtags=limits)
    assert codes(bad) == ["TOO_MANY_HASHTAGS"]
    assert "allows 5 hashtags; this text has 6" in bad[0].message
    assert check(ig(five + " #six"), hashtags={Platform.INSTAGRAM: 30}) == []
    assert hashtag_count("a#b #c ##d #é") == 2  # "#c" and "#é"; "a#b" is not a tag


def test_instagram_needs_media_and_each_form_its_kinds():
    assert codes(check(ig(kinds=()))) == ["MEDIA_REQUIRED"]
    assert check(ig(kinds=("VIDEO",), media_type="reels")) == []
    assert codes(check(ig(kinds=("IMAGE",), media_type="REELS"))) == ["MEDIA_KIND_NOT_ALLOWED"]
    assert codes(check(ig(kinds=("IMAGE",), media_type="CAROUSEL"))) == ["MEDIA_REQUIRED"]
    assert check(ig(kinds=("IMAGE",) * 10, media_type="CAROUSEL")) == []
    assert codes(check(ig(kinds=("IMAGE",) * 11, media_type="CAROUSEL"))) == ["TOO_MANY_MEDIA"]
    assert codes(check(ig(media_type="GALLERY"))) == ["UNSUPPORTED_MEDIA_TYPE"]
    assert check(ig(text="", kinds=("VIDEO",), media_type="STORIES")) == []  # no caption needed


def test_threads_500_with_emoji_as_utf8_bytes():
    assert text_length(Platform.THREADS, "😀") == 4
    assert text_length(Platform.THREADS, "é") == 1
    assert check(TargetSpec("threads", None, "a" * 496 + "😀")) == []
    assert codes(check(TargetSpec("threads", None, "a" * 497 + "😀"))) == ["TEXT_TOO_LONG"]
    assert check(TargetSpec("threads", None, "t", media_kinds=("IMAGE",) * 20)) == []
    assert codes(check(TargetSpec("threads", None, "t", media_kinds=("IMAGE",) * 21))) == [
        "TOO_MANY_MEDIA"
    ]


def test_linkedin_3000_and_a_video_alone():
    assert check(TargetSpec("linkedin", None, "a" * 3000)) == []
    assert codes(check(TargetSpec("linkedin", None, "a" * 3001))) == ["TEXT_TOO_LONG"]
    assert check(TargetSpec("linkedin", None, "v", media_kinds=("VIDEO",))) == []
    assert codes(check(TargetSpec("linkedin", None, "v", media_kinds=("VIDEO", "IMAGE")))) == [
        "VIDEO_MUST_BE_ALONE"
    ]


def test_youtube_title_100_required_and_one_video():
    assert check(yt("t" * 100)) == []
    assert codes(check(yt("t" * 101))) == ["TITLE_TOO_LONG"]
    assert codes(check(yt(""))) == ["TITLE_REQUIRED"]
    assert codes(check(yt(None))) == ["TITLE_REQUIRED"]
    assert codes(check(yt("a <b>"))) == ["TITLE_INVALID"]
    assert codes(check(yt(kinds=()))) == ["MEDIA_REQUIRED"]
    assert codes(check(yt(kinds=("IMAGE",)))) == ["MEDIA_KIND_NOT_ALLOWED"]


def test_youtube_description_5000_bytes():
    assert check(yt(description="a" * 5000)) == []
    assert codes(check(yt(description="a" * 4999 + "é"))) == ["TEXT_TOO_LONG"]  # 5001 bytes


def test_problems_name_their_target():
    problems = check(TargetSpec("x", None, "fine"), yt(""), ig(kinds=()))
    assert [(p.target, p.field) for p in problems] == [
        (1, "platforms[1].title"),
        (2, "platforms[2].media"),
    ]


def test_whatsapp_is_share_link_only():
    assert codes(check(TargetSpec("whatsapp", None, "hi"))) == ["SHARE_LINK_ONLY"]


@pytest.mark.parametrize("rule", MEDIA_RULES, ids=lambda r: f"{r.platform.value}-{r.media_type}")
def test_rules_are_consistent(rule):
    assert 0 <= rule.min_items <= rule.max_items
    assert rule.kinds <= {"IMAGE", "VIDEO"}
