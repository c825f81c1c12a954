"""LinkedInConnector against the sandbox: headers, little-text escaping, image and video
uploads (resumed part by part), error mapping and reconciliation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sharecast.platforms.base import MemoryStepLog, Pending, PublishRequest, PublishResult
from sharecast.platforms.errors import (
    AuthExpiredError,
    DuplicateContentError,
    PermanentPlatformError,
    TransientPlatformError,
)
from sharecast.platforms.linkedin import LinkedInConnector
from tests.integration.networks.conftest import ACCOUNT, TOKEN, get
from tests.support.emulator_media import FlakyMedia

JPEG = b"\xff\xd8\xff\xe0" + b"j" * 5000
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"v" * 20000  # 3 parts of 8 KiB


def connector(sandbox, media, http, version="202510"):
    return LinkedInConnector(
        base_url=f"{sandbox.base_url}/linkedin",
        version=version,
        timeout_s=5,
        poll_s=0.5,
        media=media,
        session=http,
    )


@pytest.fixture
def li(sandbox, media, http):
    return connector(sandbox, media, http)


def req(*items, text="Plain text", account=ACCOUNT):
    return PublishRequest(account_id=account, text=text, target_key="p/t", media=items)


def run(li, request, steps):
    pendings = 0
    while True:
        outcome = li.publish(request, access_token=TOKEN, steps=steps)
        if isinstance(outcome, PublishResult):
            return outcome, pendings
        assert isinstance(outcome, Pending)
        pendings += 1
        assert pendings < 5


def test_text_post_keeps_reserved_characters_and_decodes_the_id(li, sandbox):
    text = "Launch (beta) #news @team_x *bold* [1] {a|b} <ok> ~ \\ done"
    result, _ = run(li, req(text=text), MemoryStepLog())
    [post] = sandbox.ledger("linkedin")
    assert post["text"] == text  # unescaped reserved characters would have truncated it
    assert result.external_id == post["id"]
    assert result.external_id.startswith("urn:li:share:")
    assert result.external_url == f"https://www.linkedin.com/feed/update/{post['id']}/"


def test_images_are_uploaded_then_posted(li, sandbox, media):
    one = media.put(JPEG, kind="IMAGE", mime_type="image/jpeg")
    two = media.put(JPEG[:3000], kind="IMAGE", mime_type="image/jpeg")
    steps = MemoryStepLog()
    run(li, req(one, two), steps)
    uploaded = get(sandbox, "/_sandbox/linkedin/uploads")["bytes"]
    assert [uploaded[urn] for urn in steps.state["images"]] == [len(JPEG), 3000]
    assert len(sandbox.ledger("linkedin")) == 1


def test_video_upload_resumes_after_an_interruption_without_resending_parts(sandbox, media, http):
    sandbox.settings(linkedin_part_bytes=8192, processing_polls=1)
    video = media.put(MP4)
    steps = MemoryStepLog()
    flaky = connector(sandbox, FlakyMedia(media, fail_after=1), http)
    with pytest.raises(TransientPlatformError) as info:
        flaky.publish(req(video), access_token=TOKEN, steps=steps)
    assert info.value.code == "MEDIA_READ"
    assert len(steps.state["etags"]) == 1
    # A new process resumes from the saved steps: two parts left, then processing, then post.
    result, pendings = run(connector(sandbox, media, http), req(video), steps)
    assert pendings == 1
    assert get(sandbox, "/_sandbox/linkedin/uploads")["bytes"] == {steps.state["video"]: len(MP4)}
    assert [p["id"] for p in sandbox.ledger("linkedin")] == [result.external_id]


def test_inactive_version_is_a_permanent_configuration_error(sandbox, media, http):
    old = connector(sandbox, media, http, version="202001")
    with pytest.raises(PermanentPlatformError) as info:
        old.publish(req(), access_token=TOKEN, steps=MemoryStepLog())
    assert info.value.code == "API_VERSION_INACTIVE"
    assert info.value.http_status == 426


def test_duplicate_post_names_the_first_and_reconciliation_answers_it(li, sandbox):
    first, _ = run(li, req(text="same"), MemoryStepLog())
    steps = MemoryStepLog()
    with pytest.raises(DuplicateContentError) as info:
        li.publish(req(text="same"), access_token=TOKEN, steps=steps)
    assert info.value.http_status == 422
    assert info.value.existing_id == first.external_id
    # A member's posts cannot be searched; the URN the duplicate answer named is the answer.
    found = li.find_existing(
        req(text="same"),
        access_token=TOKEN,
        since=datetime.now(UTC) - timedelta(minutes=5),
        steps=steps,
    )
    assert found is not None
    assert found.external_id == first.external_id


@pytest.mark.parametrize(
    ("kind", "cls", "code", "retry_after_s"),
    [
        ("rate_limit", TransientPlatformError, "RATE_LIMITED", 30.0),
        ("server_error", TransientPlatformError, "PLATFORM_5XX", None),
        ("token_expired", AuthExpiredError, "TOKEN_EXPIRED", None),
        ("permission_denied", PermanentPlatformError, "PERMISSION_DENIED", None),
    ],
)
def test_errors_are_classified(li, sandbox, kind, cls, code, retry_after_s):
    sandbox.fault(platform="linkedin", kind=kind, times=1, retry_after_s=30)
    with pytest.raises(cls) as info:
        li.publish(req(), access_token=TOKEN, steps=MemoryStepLog())
    assert (type(info.value), info.value.code, info.value.retry_after_s) == (
        cls,
        code,
        retry_after_s,
    )
    assert TOKEN not in str(info.value)


def test_reconciliation(li, sandbox):
    since = datetime.now(UTC) - timedelta(minutes=1)
    # Before the post call nothing can exist.
    assert li.find_existing(req(), access_token=TOKEN, since=since, steps=MemoryStepLog()) is None
    # Members cannot be read back: the target must fail UNCERTAIN rather than post twice.
    with pytest.raises(NotImplementedError):
        li.find_existing(
            req(), access_token=TOKEN, since=since, steps=MemoryStepLog({"posting": True})
        )
    # Organizations can.
    org = "urn:li:organization:5515715"
    sandbox.fault(platform="linkedin", kind="accept_then_drop", times=1)
    steps = MemoryStepLog()
    with pytest.raises(TransientPlatformError):
        li.publish(req(text="Org (news)", account=org), access_token=TOKEN, steps=steps)
    found = li.find_existing(
        req(text="Org (news)", account=org), access_token=TOKEN, since=since, steps=steps
    )
    assert found is not None
    assert [p["id"] for p in sandbox.ledger("linkedin")] == [found.external_id]
