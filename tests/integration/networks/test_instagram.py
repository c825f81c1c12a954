"""InstagramConnector against the sandbox over real HTTP, media fetched from the storage
emulator: each form, polls as Pending, quota, errors, and resuming from saved steps."""

from __future__ import annotations

import pytest

from sharecast.platforms.base import MemoryStepLog, Pending, PublishRequest, PublishResult
from sharecast.platforms.errors import (
    AuthExpiredError,
    PermanentPlatformError,
    TransientPlatformError,
)
from sharecast.platforms.instagram import InstagramConnector
from tests.integration.networks.conftest import ACCOUNT, TOKEN, get

JPEG = b"\xff\xd8\xff\xe0" + b"j" * 3000
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"v" * 20000


@pytest.fixture
def ig(sandbox, media, http):
    return InstagramConnector(
        base_url=f"{sandbox.base_url}/instagram",
        version="v24.0",
        timeout_s=5,
        poll_s=0.5,
        max_polls=3,
        media=media,
        session=http,
    )


def req(*items, media_type=None, text="Sunset #sharecast"):
    return PublishRequest(
        account_id=ACCOUNT, text=text, target_key="p/t", media=items, media_type=media_type
    )


def run(connector, request, steps, limit=10):
    """Call publish until it returns a result, counting the Pending answers."""
    for pendings in range(limit):
        outcome = connector.publish(request, access_token=TOKEN, steps=steps)
        if isinstance(outcome, PublishResult):
            return outcome, pendings
        assert isinstance(outcome, Pending)
        assert outcome.wait_s == 0.5
    raise AssertionError("never finished")


def test_image_publishes_at_once_and_media_is_fetched(ig, sandbox, media):
    image = media.put(JPEG, kind="IMAGE", mime_type="image/jpeg")
    steps = MemoryStepLog()
    result, pendings = run(ig, req(image), steps)
    assert pendings == 0
    [post] = sandbox.ledger("instagram", ACCOUNT)
    assert (post["id"], post["text"]) == (result.external_id, "Sunset #sharecast")
    assert result.external_url == f"https://www.instagram.com/p/{result.external_id}/"
    [container] = get(sandbox, "/_sandbox/containers?platform=instagram")["containers"]
    assert container["media_bytes"] == len(JPEG)
    assert container["status"] == "PUBLISHED"
    assert steps.state["container"] == container["id"]


def test_reel_is_pending_while_processing_then_published(ig, sandbox, media):
    sandbox.settings(processing_polls=2)
    video = media.put(MP4)
    steps = MemoryStepLog()
    result, pendings = run(ig, req(video), steps)
    assert pendings == 2
    [container] = get(sandbox, "/_sandbox/containers?platform=instagram")["containers"]
    assert (container["media_type"], container["media_bytes"]) == ("REELS", len(MP4))
    assert sandbox.ledger("instagram")[0]["id"] == result.external_id


def test_story_and_carousel(ig, sandbox, media):
    image = media.put(JPEG, kind="IMAGE", mime_type="image/jpeg")
    video = media.put(MP4)
    run(ig, req(image, media_type="STORIES"), MemoryStepLog())
    steps = MemoryStepLog()
    run(ig, req(image, video, image), steps)
    containers = get(sandbox, "/_sandbox/containers?platform=instagram")["containers"]
    kinds = [c["media_type"] for c in containers]
    assert kinds == ["STORIES", "IMAGE", "VIDEO", "IMAGE", "CAROUSEL"]
    assert containers[-1]["children"] == steps.state["children"]
    assert len(sandbox.ledger("instagram")) == 2


def test_a_crash_after_the_container_was_saved_reuses_it(ig, sandbox, media):
    sandbox.settings(processing_polls=1)
    video = media.put(MP4)
    steps = MemoryStepLog()
    assert isinstance(ig.publish(req(video), access_token=TOKEN, steps=steps), Pending)
    saved = dict(steps.state)
    # The process dies here; a new process resumes from the saved state only.
    fresh = MemoryStepLog(saved)
    result, _ = run(ig, req(video), fresh)
    assert fresh.state["container"] == saved["container"]
    assert len(get(sandbox, "/_sandbox/containers")["containers"]) == 1
    assert [p["id"] for p in sandbox.ledger("instagram")] == [result.external_id]


def test_lost_publish_response_is_found_by_reconciliation(ig, sandbox, media):
    image = media.put(JPEG, kind="IMAGE", mime_type="image/jpeg")
    sandbox.fault(platform="instagram", kind="accept_then_drop", times=1)
    steps = MemoryStepLog()
    with pytest.raises(TransientPlatformError) as info:
        ig.publish(req(image), access_token=TOKEN, steps=steps)
    assert info.value.code == "NETWORK"
    from datetime import UTC, datetime, timedelta

    since = datetime.now(UTC) - timedelta(minutes=2)
    found = ig.find_existing(req(image), access_token=TOKEN, since=since, steps=steps)
    assert found is not None
    assert [p["id"] for p in sandbox.ledger("instagram")] == [found.external_id]


def test_nothing_to_find_before_the_publish_call(ig, sandbox, media):
    from datetime import UTC, datetime

    steps = MemoryStepLog({"container": "1781", "publishing": False})
    assert ig.find_existing(req(), access_token=TOKEN, since=datetime.now(UTC), steps=steps) is None


def test_quota_is_read_from_the_api(ig, sandbox, media):
    sandbox.settings(instagram_quota_total=1)
    image = media.put(JPEG, kind="IMAGE", mime_type="image/jpeg")
    run(ig, req(image), MemoryStepLog())
    with pytest.raises(TransientPlatformError) as info:
        ig.publish(req(image, text="second"), access_token=TOKEN, steps=MemoryStepLog())
    assert info.value.code == "QUOTA_EXCEEDED"
    assert "1 of 1" in info.value.message
    assert len(get(sandbox, "/_sandbox/containers")["containers"]) == 1


def test_container_error_forgets_the_container_and_the_retry_makes_a_new_one(ig, sandbox, media):
    image = media.put(JPEG, kind="IMAGE", mime_type="image/jpeg")
    sandbox.fault(platform="instagram", kind="container_error", times=1)
    steps = MemoryStepLog()
    with pytest.raises(TransientPlatformError) as info:
        ig.publish(req(image), access_token=TOKEN, steps=steps)
    assert info.value.code == "CONTAINER_FAILED"
    assert steps.state["container"] is None
    result, _ = run(ig, req(image), steps)
    containers = get(sandbox, "/_sandbox/containers")["containers"]
    assert [c["status"] for c in containers] == ["ERROR", "PUBLISHED"]
    assert sandbox.ledger("instagram")[0]["id"] == result.external_id


def test_unfetchable_media_is_rejected_permanently(ig, sandbox, media):
    image = media.put(JPEG, kind="IMAGE", mime_type="image/jpeg")
    missing = image.__class__(
        image.media_id, "IMAGE", "image/jpeg", image.size, "media/test/missing.jpg"
    )
    with pytest.raises(PermanentPlatformError) as info:
        ig.publish(req(missing), access_token=TOKEN, steps=MemoryStepLog())
    assert info.value.code == "MEDIA_REJECTED"
    assert sandbox.ledger() == []


@pytest.mark.parametrize(
    ("kind", "cls", "code", "retry_after_s"),
    [
        ("server_error", TransientPlatformError, "PLATFORM_5XX", None),
        ("rate_limit", TransientPlatformError, "THROTTLED", 180.0),
        ("token_expired", AuthExpiredError, "TOKEN_EXPIRED", None),
        ("permission_denied", PermanentPlatformError, "PERMISSION_DENIED", None),
        ("policy_blocked", TransientPlatformError, "POLICY_BLOCKED", 3600.0),
    ],
)
def test_publish_errors_are_classified(ig, sandbox, media, kind, cls, code, retry_after_s):
    image = media.put(JPEG, kind="IMAGE", mime_type="image/jpeg")
    sandbox.fault(platform="instagram", kind=kind, times=1, retry_after_s=150)
    with pytest.raises(cls) as info:
        ig.publish(req(image), access_token=TOKEN, steps=MemoryStepLog())
    assert type(info.value) is cls
    assert info.value.code == code
    assert info.value.retry_after_s == retry_after_s
    assert TOKEN not in str(info.value)
    assert sandbox.ledger() == []
