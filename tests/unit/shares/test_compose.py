"""Message composition for server posts: every part when it fits, the right order of giving
way when it does not, and the platform's own way of counting (X weighted)."""

from __future__ import annotations

import pytest

from sharecast.domain.statuses import Platform
from sharecast.domain.validation import TEXT_LIMITS, text_length
from sharecast.shares.compose import ELLIPSIS, VideoInfo, compose_message, hashtag, hashtags
from sharecast.shares.intents import watch_url

URL = watch_url("abcDEF12345")


def test_everything_fits_in_order():
    video = VideoInfo(title="  My title  ", description="\n Line one\n\n\n\nLine two \n")
    text = compose_message(
        Platform.FACEBOOK, url=URL, message="Watch this", video=video, tags=["#a", "#b"]
    )
    assert text == f"Watch this\n\nMy title\n\nLine one\n\nLine two\n\n#a #b\n\n{URL}"


def test_without_enrichment_only_message_tags_and_url():
    text = compose_message(Platform.X, url=URL, message=None, video=None, tags=["#x"])
    assert text == f"#x\n\n{URL}"


@pytest.mark.parametrize("platform", [Platform.X, Platform.THREADS, Platform.INSTAGRAM])
def test_long_description_is_cut_first_with_an_ellipsis(platform: Platform):
    video = VideoInfo(title="Title 🎬", description="word " * 2000)
    text = compose_message(platform, url=URL, message="Hi & welcome", video=video, tags=["#t"])
    assert text_length(platform, text) <= TEXT_LIMITS[platform]
    assert text.startswith("Hi & welcome\n\nTitle 🎬\n\nword")
    assert text.endswith(f"{ELLIPSIS}\n\n#t\n\n{URL}")
    assert f"word{ELLIPSIS}" in text  # cut at a word boundary


def test_x_counts_weighted_length_emoji_two_and_urls_23():
    video = VideoInfo(title="🎉" * 200)
    text = compose_message(Platform.X, url=URL, video=video)
    assert text_length(Platform.X, text) <= 280
    # 2 per emoji, 2 for the ellipsis (U+2026 is outside X's weight-1 ranges), 2 newlines,
    # 23 for any URL: 126 emoji fill 279 of 280
    assert text.count("🎉") == 126
    assert text.endswith(URL)


def test_tags_give_way_before_the_title_and_the_url_never_does():
    video = VideoInfo(title="T" * 240, description="Q" * 500)
    tags = [f"#tag{i}" * 5 for i in range(5)]
    text = compose_message(Platform.X, url=URL, video=video, tags=tags)
    assert text_length(Platform.X, text) <= 280
    assert "Q" not in text
    assert "#tag" not in text
    assert text.startswith("T" * 240)
    assert text.endswith(URL)


def test_title_is_cut_when_alone_it_is_too_long():
    text = compose_message(Platform.X, url=URL, message="m", video=VideoInfo(title="T" * 500))
    assert text.startswith("m\n\nT")
    assert ELLIPSIS in text
    assert text_length(Platform.X, text) <= 280


@pytest.mark.parametrize(
    ("raw", "tag"),
    [
        ("music", "#music"),
        ("#New Music!", "#NewMusic"),
        ("  ", None),
        ("2026", None),
        ("café-bar", "#cafébar"),
    ],
)
def test_hashtag_normalisation(raw: str, tag: str | None):
    assert hashtag(raw) == tag


def test_hashtags_prefer_requested_then_video_tags_deduplicated_and_capped():
    assert hashtags(["a", "#A", "b"], ["video"]) == ["#a", "#b"]
    assert hashtags([], ["one", "two"]) == ["#one", "#two"]
    assert len(hashtags([f"t{i}" for i in range(20)], [])) == 5
