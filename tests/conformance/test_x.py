"""XConnector against answers X really sent (tweepy cassettes, X's own Postman collection, bug
reports, docs.x.com examples)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sharecast.platforms.base import MemoryStepLog, Pending, PublishRequest, PublishResult
from sharecast.platforms.errors import (
    AuthExpiredError,
    BillingError,
    DuplicateContentError,
    PermanentPlatformError,
    TransientPlatformError,
)
from sharecast.platforms.x import XConnector

TOKEN = "recorded-token"


@pytest.fixture
def xc(player, http):
    return XConnector(base_url=player.base_url, timeout_s=5, session=http)


def req(text="Test Tweet", **kw):
    return PublishRequest(account_id="783214", text=text, target_key="p/t", **kw)


@pytest.mark.parametrize(
    ("name", "post_id"),
    [
        ("x/create_tweet_201_gzip", "1456012973835788293"),
        ("x/create_tweet_201_async_client", "1522929456142245888"),
    ],
)
def test_create_answers_the_post_id(player, xc, name, post_id):
    player.play(name)
    result = xc.publish(req(), access_token=TOKEN)
    assert result == PublishResult(post_id, f"https://x.com/i/web/status/{post_id}")
    [sent] = player.received
    assert json.loads(sent.body) == {"text": "Test Tweet"}
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    player.done()


@pytest.mark.parametrize(
    ("name", "cls", "code", "wait"),
    [
        # 294 s = x-rate-limit-reset 1593185073 minus the answer's Date (15:19:39 GMT).
        ("x/rate_limit_429_with_reset", TransientPlatformError, "RATE_LIMITED", 294.0),
        ("x/unauthorized_401", AuthExpiredError, "TOKEN_EXPIRED", None),
        ("x/client_forbidden_403", PermanentPlatformError, "PERMISSION_DENIED", None),
        ("x/invalid_request_400", PermanentPlatformError, "INVALID_REQUEST", None),
        ("x/duplicate_content_403", DuplicateContentError, "DUPLICATE_CONTENT", None),
        ("x/usage_capped_429", PermanentPlatformError, "USAGE_CAPPED", None),
        ("x/credits_depleted_402", BillingError, "BILLING", None),
    ],
)
def test_errors_are_classified(player, xc, name, cls, code, wait):
    fixture = player.play(name)
    with pytest.raises(cls) as info:
        xc.publish(req(), access_token=TOKEN)
    error = info.value
    assert (type(error), error.code, error.retry_after_s) == (cls, code, wait)
    assert error.http_status == fixture.response()["status"]
    assert TOKEN not in str(error)
    player.done()


def test_find_existing_follows_next_token_to_the_last_page(player, xc):
    first, second, _last = player.play("x/user_timeline_paginated").exchanges
    text = (
        "if you see an edited Tweet it's because we're testing the edit button\n\n"
        "this is happening and you'll be okay"
    )
    since = datetime(2022, 9, 1, tzinfo=UTC)
    found = xc.find_existing(req(text), access_token=TOKEN, since=since)
    assert found is not None
    assert found.external_id == "1565318587736285184"
    calls = player.received
    assert [c.path for c in calls] == ["/2/users/783214/tweets"] * 3
    assert calls[0].query["start_time"] == ["2022-09-01T00:00:00Z"]
    assert "pagination_token" not in calls[0].query
    tokens = [c.query["pagination_token"][0] for c in calls[1:]]
    assert tokens == [
        json.loads(_gunzip(first))["meta"]["next_token"],
        json.loads(_gunzip(second))["meta"]["next_token"],
    ]
    player.done()


def _gunzip(exchange):
    from tests.conformance.playback import response_bytes

    return response_bytes(exchange["response"], compress=False)


def test_media_upload_then_post(player, http, media):
    item = media.put(b"\x00\x00\x00\x18ftypmp42" + b"v" * 5000)
    xc = XConnector(base_url=player.base_url, timeout_s=5, session=http, media=media)
    player.play("x/media_upload_chunked", "x/create_tweet_201_gzip")
    steps = MemoryStepLog()
    first = xc.publish(req(media=(item,)), access_token=TOKEN, steps=steps)
    assert first == Pending(wait_s=1.0, reason="X is processing the media")
    second = xc.publish(req(media=(item,)), access_token=TOKEN, steps=steps)
    assert isinstance(second, PublishResult)
    assert second.external_id == "1456012973835788293"
    calls = player.received
    init = json.loads(calls[0].body)
    assert init == {
        "media_type": "video/mp4",
        "total_bytes": item.size,
        "media_category": "tweet_video",
    }
    assert b'name="segment_index"' in calls[1].body
    assert b'name="media"' in calls[1].body
    assert calls[3].query == {"command": ["STATUS"], "media_id": ["1880028106020515840"]}
    assert json.loads(calls[4].body)["media"] == {"media_ids": ["1880028106020515840"]}
    player.done()
