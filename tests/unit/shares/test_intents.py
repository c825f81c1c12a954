"""Share-intent URLs: the right endpoint per network and percent-encoding of awkward text."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from sharecast.domain.statuses import Platform
from sharecast.shares.intents import intent_url, watch_url

URL = watch_url("dQw4w9WgXcQ")
AWKWARD = "Tom & Jerry #1: 100% fun? a=b / c + 🎉 end"


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True, strict_parsing=True)


def test_watch_url():
    assert URL == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


def test_whatsapp_carries_text_and_link_in_one_encoded_parameter():
    url = intent_url(Platform.WHATSAPP, url=URL, text=AWKWARD)
    assert url is not None
    assert url.startswith("https://wa.me/?text=")
    assert query(url) == {"text": [f"{AWKWARD} {URL}"]}
    raw = url.split("?", 1)[1]
    # encodeURIComponent semantics: nothing that would split or end the parameter survives
    for char in "&#?/ =+🎉":
        assert char not in raw.removeprefix("text=")
    assert "%20" in raw
    assert "%26" in raw
    assert "%23" in raw
    assert "%F0%9F%8E%89" in raw


def test_x_intent_has_text_and_url_parameters():
    url = intent_url(Platform.X, url=URL, text=AWKWARD)
    assert url is not None
    assert url.startswith("https://x.com/intent/tweet?")
    assert query(url) == {"text": [AWKWARD], "url": [URL]}
    assert "+" not in url.split("?", 1)[1]  # spaces are %20, a '+' would be a literal plus


def test_x_intent_without_text_has_only_the_url():
    url = intent_url(Platform.X, url=URL, text="   ")
    assert url is not None
    assert query(url) == {"url": [URL]}


@pytest.mark.parametrize(
    ("platform", "prefix", "param"),
    [
        (Platform.FACEBOOK, "https://www.facebook.com/sharer/sharer.php?", "u"),
        (Platform.LINKEDIN, "https://www.linkedin.com/sharing/share-offsite/?", "url"),
    ],
)
def test_link_only_sharers(platform: Platform, prefix: str, param: str):
    url = intent_url(platform, url=URL, text=AWKWARD)
    assert url is not None
    assert url.startswith(prefix)
    assert query(url) == {param: [URL]}
    assert "watch%3Fv%3DdQw4w9WgXcQ" in url  # the link's own ? and = are encoded


@pytest.mark.parametrize("platform", [Platform.INSTAGRAM, Platform.THREADS, Platform.YOUTUBE])
def test_platforms_without_a_share_link(platform: Platform):
    assert intent_url(platform, url=URL, text="hi") is None
