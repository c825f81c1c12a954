"""ThreadsConnector against the sandbox: text, image, video, carousel, errors, reconciliation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sharecast.platforms.base import MemoryStepLog, Pending, PublishRequest, PublishResult
from sharecast.platforms.errors import TransientPlatformError
from sharecast.platforms.threads import ThreadsConnector
from tests.integration.networks.conftest import ACCOUNT, TOKEN, get

JPEG = b"\xff\xd8\xff\xe0" + b"j" * 2000
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"v" * 9000


@pytest.fixture
def th(sandbox, media, http):
    return ThreadsConnector(
        base_url=f"{sandbox.base_url}/threads",
        version="v1.0",
        timeout_s=5,
        poll_s=1.5,
        media=media,
        session=http,
    )


def req(*items, text="Hello Threads", link=None):
    return PublishRequest(account_id=ACCOUNT, text=text, target_key="p/t", media=items, link=link)


def run(connector, request, steps):
    pendings = 0
    while True:
        outcome = connector.publish(request, access_token=TOKEN, steps=steps)
        if isinstance(outcome, PublishResult):
            return outcome, pendings
        assert isinstance(outcome, Pending)
        pendings += 1
        assert pendings < 5


def test_text_post_with_link(th, sandbox):
    result, pendings = run(th, req(link="https://example.com/x"), MemoryStepLog())
    assert pendings == 0
    [post] = sandbox.ledger("threads", ACCOUNT)
    assert (post["id"], post["text"]) == (
        result.external_id,
        "Hello Threads\nhttps://example.com/x",
    )
    assert result.external_url
    assert result.external_id in result.external_url
    [container] = get(sandbox, "/_sandbox/containers?platform=threads")["containers"]
    assert container["media_type"] == "TEXT"


def test_image_video_and_carousel(th, sandbox, media):
    image = media.put(JPEG, kind="IMAGE", mime_type="image/jpeg")
    video = media.put(MP4)
    assert run(th, req(image, text="one"), MemoryStepLog())[1] == 0
    assert run(th, req(video, text="two"), MemoryStepLog())[1] == 1  # processing_polls=1
    run(th, req(image, video, text="three"), MemoryStepLog())
    kinds = [c["media_type"] for c in get(sandbox, "/_sandbox/containers")["containers"]]
    assert kinds == ["IMAGE", "VIDEO", "IMAGE", "VIDEO", "CAROUSEL"]
    assert [p["text"] for p in sandbox.ledger("threads")] == ["one", "two", "three"]


def test_failed_download_makes_a_new_container(th, sandbox, media):
    video = media.put(MP4)
    sandbox.fault(platform="threads", kind="container_error", times=1)
    steps = MemoryStepLog()
    with pytest.raises(TransientPlatformError) as info:
        th.publish(req(video), access_token=TOKEN, steps=steps)
    assert info.value.code == "CONTAINER_FAILED"
    assert "FAILED_DOWNLOADING_VIDEO" in info.value.message
    run(th, req(video), steps)
    statuses = [c["status"] for c in get(sandbox, "/_sandbox/containers")["containers"]]
    assert statuses == ["ERROR", "PUBLISHED"]


def test_rate_limit_carries_the_usage_wait(th, sandbox):
    sandbox.fault(platform="threads", kind="rate_limit", times=1, retry_after_s=600)
    with pytest.raises(TransientPlatformError) as info:
        th.publish(req(), access_token=TOKEN, steps=MemoryStepLog())
    assert (info.value.code, info.value.retry_after_s) == ("THROTTLED", 600.0)


def test_lost_response_then_reconciliation_finds_the_post(th, sandbox):
    sandbox.fault(platform="threads", kind="accept_then_garble", times=1)
    steps = MemoryStepLog()
    with pytest.raises(TransientPlatformError) as info:
        th.publish(req(), access_token=TOKEN, steps=steps)
    assert info.value.code == "UNKNOWN_OUTCOME"
    since = datetime.now(UTC) - timedelta(minutes=2)
    found = th.find_existing(req(), access_token=TOKEN, since=since, steps=steps)
    assert found is not None
    assert [p["id"] for p in sandbox.ledger("threads")] == [found.external_id]
