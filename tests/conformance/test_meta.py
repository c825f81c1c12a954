"""Facebook, Instagram and Threads connectors against answers Meta really sent or documents
(python-facebook's recorded bodies, developers.facebook.com examples, bug reports)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs

import pytest

from sharecast.platforms.base import MediaItem, MemoryStepLog, Pending, PublishRequest
from sharecast.platforms.errors import (
    AuthExpiredError,
    DuplicateContentError,
    PermanentPlatformError,
    TransientPlatformError,
)
from sharecast.platforms.errors import PlatformError as PlatformErrorType
from sharecast.platforms.facebook import FacebookConnector
from sharecast.platforms.instagram import InstagramConnector
from sharecast.platforms.threads import ThreadsConnector
from tests.conformance.playback import load

TOKEN = "recorded-page-token"
IMAGE = MediaItem("m1", "IMAGE", "image/jpeg", 1234, "media/test/photo.jpg")


@pytest.fixture
def fb(player, http):
    return FacebookConnector(base_url=player.base_url, timeout_s=5, session=http)


def page_req(text="Hello", account="4"):
    return PublishRequest(account_id=account, text=text, target_key="p/t")


def test_facebook_create_answers_page_post_id(player, fb):
    player.play("facebook/create_post_200")
    result = fb.publish(page_req(account="1647395831"), access_token=TOKEN)
    assert result.external_id == "1647395831_130068550371568"
    assert result.external_url == "https://www.facebook.com/1647395831_130068550371568"
    [sent] = player.received
    assert parse_qs(sent.body.decode())["message"] == ["Hello"]
    player.done()


@pytest.mark.parametrize(
    ("name", "cls", "code", "wait"),
    [
        ("facebook/error_100_missing_permission", PermanentPlatformError, "INVALID_REQUEST", None),
        ("facebook/error_100_app_secret_proof", PermanentPlatformError, "INVALID_REQUEST", None),
        ("facebook/duplicate_368_already_posted", DuplicateContentError, "DUPLICATE_CONTENT", None),
        ("facebook/unknown_error_code1_http500", TransientPlatformError, "PLATFORM_5XX", None),
        ("facebook/unknown_error_code1_subcode99", TransientPlatformError, "PLATFORM_5XX", None),
        ("facebook/service_code2_transient", TransientPlatformError, "PLATFORM_5XX", None),
        ("facebook/token_190_460", AuthExpiredError, "TOKEN_EXPIRED", None),
        ("facebook/error_code4_app_throttle", TransientPlatformError, "THROTTLED", None),
        ("facebook/error_code17_user_throttle", TransientPlatformError, "THROTTLED", None),
        ("facebook/error_code341_app_limit", TransientPlatformError, "THROTTLED", None),
        ("facebook/error_code10_permission", PermanentPlatformError, "PERMISSION_DENIED", None),
        ("facebook/error_code200_permission", PermanentPlatformError, "PERMISSION_DENIED", None),
        ("facebook/error_code3_method", PermanentPlatformError, "PERMISSION_DENIED", None),
        ("facebook/error_code506_duplicate", DuplicateContentError, "DUPLICATE_CONTENT", None),
        ("facebook/error_code1609005_link", PermanentPlatformError, "INVALID_REQUEST", None),
        ("facebook/error_code368_policy_block", TransientPlatformError, "POLICY_BLOCKED", 3600.0),
        # 17 minutes in X-Business-Use-Case-Usage.
        ("facebook/throttle_80001_buc_header", TransientPlatformError, "THROTTLED", 1020.0),
    ],
)
def test_facebook_errors_are_classified(player, fb, name, cls, code, wait):
    fixture = player.play(name)
    account = fixture.exchanges[0]["request"]["path"].split("/")[2]
    with pytest.raises(PlatformErrorType) as info:
        fb.publish(page_req(account=account), access_token=TOKEN)
    error = info.value
    assert (type(error), error.code, error.retry_after_s) == (cls, code, wait)
    assert error.http_status == fixture.response()["status"]
    player.done()


def test_facebook_find_existing_follows_paging_next(player, fb):
    player.play("facebook/feed_paginated")
    text = "I'm grateful to get to build things that so many people find meaningful in their lives."
    found = fb.find_existing(
        page_req(text=text), access_token=TOKEN, since=datetime(2021, 6, 1, tzinfo=UTC)
    )
    assert found is not None
    assert found.external_id == "4_10113400535556121"
    first, second = player.received
    assert first.query["fields"] == ["id,message,created_time"]
    assert first.query["since"] == [str(int(datetime(2021, 6, 1, tzinfo=UTC).timestamp()))]
    # The cursor of paging.next, without the token Graph echoed into it.
    assert second.query["until"] == ["1624385168"]
    assert second.query["__paging_token"] == ["__paging_token"]
    assert "access_token" not in second.query
    assert second.headers["Authorization"] == f"Bearer {TOKEN}"
    player.done()


# -- Instagram ---------------------------------------------------------------------------------

IG_USER = "17841405822304914"


@pytest.fixture
def ig(player, http, url_media):
    return InstagramConnector(
        base_url=player.base_url, version="v24.0", timeout_s=5, session=http, media=url_media
    )


def ig_req():
    return PublishRequest(account_id=IG_USER, text="Caption", target_key="p/t", media=(IMAGE,))


def test_instagram_publishes_through_a_container(player, ig):
    player.play("instagram/publish_photo_flow")
    result = ig.publish(ig_req(), access_token=TOKEN, steps=MemoryStepLog())
    assert result.external_id == "17920238422030506"
    assert result.external_url == "https://www.instagram.com/p/CRyZpmrjYC4/"
    quota, create, status, publish, _permalink = player.received
    assert quota.query["fields"] == ["quota_usage,config"]
    assert parse_qs(create.body.decode())["caption"] == ["Caption"]
    assert status.query["fields"] == ["status_code,status"]
    assert parse_qs(publish.body.decode())["creation_id"] == ["17889455560051444"]
    player.done()


@pytest.mark.parametrize(
    ("name", "cls", "code", "wait"),
    [
        ("instagram/error_2207004_image_too_large", PermanentPlatformError, "MEDIA_REJECTED", None),
        (
            "instagram/error_2207003_download_timeout",
            TransientPlatformError,
            "MEDIA_PROCESSING",
            None,
        ),
        ("instagram/error_2207020_expired", TransientPlatformError, "CONTAINER_FAILED", None),
        ("instagram/error_2207001_server", TransientPlatformError, "MEDIA_PROCESSING", None),
        ("instagram/error_2207032_create_failed", TransientPlatformError, "MEDIA_PROCESSING", None),
        (
            "instagram/error_2207053_unknown_upload",
            TransientPlatformError,
            "CONTAINER_FAILED",
            None,
        ),
        ("instagram/error_2207057_thumb_offset", PermanentPlatformError, "MEDIA_REJECTED", None),
        ("instagram/error_2207051_spam", PermanentPlatformError, "MEDIA_REJECTED", None),
        ("instagram/error_2207042_publish_limit", TransientPlatformError, "QUOTA_EXCEEDED", 3600.0),
    ],
)
def test_instagram_publish_errors_are_classified(player, ig, name, cls, code, wait):
    flow = load("instagram/publish_photo_flow").exchanges
    error = load(name)
    at_create = error.exchanges[0]["request"]["path"].endswith("/media")
    if at_create:  # the quota read, then the container creation fails
        player.server.play(flow[0], *error.exchanges)
        steps = MemoryStepLog()
    else:  # the container is FINISHED, then media_publish fails
        player.server.play(flow[2], *error.exchanges)
        steps = MemoryStepLog({"container": "17889455560051444", "polls": 0, "publishing": False})
    with pytest.raises(PlatformErrorType) as info:
        ig.publish(ig_req(), access_token=TOKEN, steps=steps)
    assert (type(info.value), info.value.code, info.value.retry_after_s) == (cls, code, wait)
    assert steps.state.get("publishing") is (None if at_create else True)
    player.done()


# -- Threads -----------------------------------------------------------------------------------

THREADS_USER = "17841401234567890"


@pytest.fixture
def th(player, http):
    return ThreadsConnector(
        base_url=player.base_url, version="v1.0", timeout_s=5, session=http, poll_s=30
    )


def th_req():
    return PublishRequest(account_id=THREADS_USER, text="Hello Threads", target_key="p/t")


def test_threads_media_not_found_after_finished_polls_again(player, th):
    """Meta answers 24/4279009 "Media Not Found" to threads_publish right after the container
    reported FINISHED (a known race): poll again, do not fail the target."""
    player.play("threads/container_finished_then_media_not_found")
    steps = MemoryStepLog()
    result = th.publish(th_req(), access_token=TOKEN, steps=steps)
    assert isinstance(result, Pending)
    assert result.wait_s == 30
    assert steps.state["container"] == "17889615691921648"
    player.done()


def test_threads_container_error_is_made_again(player, th):
    player.play("threads/container_error_failed_download")
    steps = MemoryStepLog()
    with pytest.raises(TransientPlatformError) as info:
        th.publish(th_req(), access_token=TOKEN, steps=steps)
    assert info.value.code == "CONTAINER_FAILED"
    assert "FAILED_DOWNLOADING_VIDEO" in info.value.message
    assert steps.state["container"] is None  # a fresh container next attempt
    player.done()
