"""YouTubeConnector against the sandbox: resumable upload in chunks streamed from storage,
resume after an interruption (308 + Range), a lost final response, and Google's errors."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from sharecast.platforms.base import MemoryStepLog, PublishRequest, PublishResult
from sharecast.platforms.errors import (
    AuthExpiredError,
    PermanentPlatformError,
    TransientPlatformError,
)
from sharecast.platforms.youtube import YouTubeConnector
from tests.integration.networks.conftest import ACCOUNT, TOKEN, get
from tests.support.emulator_media import FlakyMedia

CHUNK = 256 * 1024
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"v" * (2 * CHUNK + 5000)  # three chunks


def connector(sandbox, media, http):
    return YouTubeConnector(
        base_url=sandbox.base_url, timeout_s=10, media=media, session=http, chunk_size=CHUNK
    )


@pytest.fixture
def video(media):
    return media.put(MP4)


def req(item, title="My video"):
    return PublishRequest(
        account_id=ACCOUNT,
        text="ignored",
        target_key="p/t",
        media=(item,),
        title=title,
        description="A description",
    )


def sessions(sandbox):
    return get(sandbox, "/_sandbox/youtube/uploads")["sessions"]


def test_upload_in_chunks(sandbox, media, http, video):
    steps = MemoryStepLog()
    result = connector(sandbox, media, http).publish(req(video), access_token=TOKEN, steps=steps)
    assert isinstance(result, PublishResult)
    [session] = sessions(sandbox)
    assert (session["received"], session["total"]) == (len(MP4), len(MP4))
    assert session["video_id"] == result.external_id
    assert result.external_url == f"https://www.youtube.com/watch?v={result.external_id}"
    assert sandbox.ledger("youtube")[0]["text"] == "My video"


def test_resume_after_interruption_starts_where_the_server_stands(sandbox, media, http, video):
    steps = MemoryStepLog()
    flaky = connector(sandbox, FlakyMedia(media, fail_after=1), http)
    with pytest.raises(TransientPlatformError):
        flaky.publish(req(video), access_token=TOKEN, steps=steps)
    assert steps.state["offset"] == CHUNK
    media.reads.clear()
    result = connector(sandbox, media, http).publish(req(video), access_token=TOKEN, steps=steps)
    assert isinstance(result, PublishResult)
    assert media.reads[0][0] == CHUNK  # resumed at the 308's Range, not from 0
    [session] = sessions(sandbox)
    assert session["received"] == len(MP4)
    assert len(sandbox.ledger("youtube")) == 1


def test_partial_commits_assemble_exactly_the_source(sandbox, media, http, video):
    """The sandbox keeps only 100,000 bytes of every 256 KiB chunk (308 + Range, as the protocol
    allows): the connector re-reads the source from each committed byte, and the hash of the
    assembled upload equals the source's."""
    sandbox.settings(youtube_commit_bytes=100_000)
    media.reads.clear()
    result = connector(sandbox, media, http).publish(
        req(video), access_token=TOKEN, steps=MemoryStepLog()
    )
    assert isinstance(result, PublishResult)
    [session] = sessions(sandbox)
    assert (session["received"], session["total"]) == (len(MP4), len(MP4))
    assert session["sha256"] == hashlib.sha256(MP4).hexdigest()
    starts = [start for start, _length in media.reads]
    assert starts[:3] == [0, 100_000, 200_000]  # each read starts at the committed byte


def test_lost_final_response_is_found_through_the_session(sandbox, media, http, video):
    sandbox.fault(platform="youtube", kind="accept_then_drop", times=1)
    steps = MemoryStepLog()
    yt = connector(sandbox, media, http)
    with pytest.raises(TransientPlatformError) as info:
        yt.publish(req(video), access_token=TOKEN, steps=steps)
    assert info.value.code == "NETWORK"
    found = yt.find_existing(req(video), access_token=TOKEN, since=datetime.now(UTC), steps=steps)
    assert found is not None
    assert [p["id"] for p in sandbox.ledger("youtube")] == [found.external_id]
    # Before any session, there is nothing to find.
    fresh = MemoryStepLog()
    now = datetime.now(UTC)
    assert yt.find_existing(req(video), access_token=TOKEN, since=now, steps=fresh) is None


@pytest.mark.parametrize(
    ("kind", "cls", "code"),
    [
        ("usage_capped", PermanentPlatformError, "QUOTA_EXCEEDED"),
        ("rate_limit", TransientPlatformError, "RATE_LIMITED"),
        ("server_error", TransientPlatformError, "PLATFORM_5XX"),
        ("token_expired", AuthExpiredError, "TOKEN_EXPIRED"),
        ("permission_denied", PermanentPlatformError, "PERMISSION_DENIED"),
    ],
)
def test_errors_are_classified(sandbox, media, http, video, kind, cls, code):
    sandbox.fault(platform="youtube", kind=kind, times=1)
    with pytest.raises(cls) as info:
        connector(sandbox, media, http).publish(
            req(video), access_token=TOKEN, steps=MemoryStepLog()
        )
    assert (type(info.value), info.value.code) == (cls, code)
    if code == "QUOTA_EXCEEDED":
        assert 0 < (info.value.retry_after_s or 0) <= 86400
    assert sandbox.ledger() == []


def test_invalid_title_is_permanent(sandbox, media, http, video):
    with pytest.raises(PermanentPlatformError) as info:
        connector(sandbox, media, http).publish(
            req(video, title="x" * 101), access_token=TOKEN, steps=MemoryStepLog()
        )
    assert info.value.code == "INVALID_REQUEST"
    assert "invalidTitle" in info.value.message
