"""YouTubeConnector against answers Google really sent (google-api-python-client's test data,
bodies and headers in bug reports, the resumable-upload guide's documented exchanges)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from sharecast.platforms.base import MediaItem, MemoryStepLog, PublishRequest, PublishResult
from sharecast.platforms.errors import (
    AuthExpiredError,
    PermanentPlatformError,
    TransientPlatformError,
)
from sharecast.platforms.errors import PlatformError as PlatformErrorType
from sharecast.platforms.http import server_clock
from sharecast.platforms.youtube import YouTubeConnector, seconds_until_quota_reset

TOKEN = "recorded-google-token"
CHUNK = 4 * 256 * 1024
SOURCE = hashlib.sha256(b"seed").digest() * (2_000_000 // 32) + b"\x01" * (2_000_000 % 32)
assert len(SOURCE) == 2_000_000


def req(item):
    return PublishRequest(
        account_id="UC1", text="ignored", target_key="p/t", media=(item,), title="Summer"
    )


@pytest.mark.parametrize(
    ("name", "cls", "code"),
    [
        ("youtube/internal_error_500", TransientPlatformError, "PLATFORM_5XX"),
        ("youtube/backend_error_503", TransientPlatformError, "PLATFORM_5XX"),
        ("youtube/user_rate_limit_403", TransientPlatformError, "RATE_LIMITED"),
        ("youtube/user_rate_limit_403_with_status", TransientPlatformError, "RATE_LIMITED"),
        ("youtube/rate_limit_403", TransientPlatformError, "RATE_LIMITED"),
        ("youtube/too_many_requests_429_empty", TransientPlatformError, "RATE_LIMITED"),
        ("youtube/access_not_configured_403", PermanentPlatformError, "PERMISSION_DENIED"),
        ("youtube/upload_limit_exceeded_400", PermanentPlatformError, "UPLOAD_LIMIT"),
        ("youtube/quota_exceeded_403_2019", PermanentPlatformError, "QUOTA_EXCEEDED"),
        ("youtube/quota_exceeded_403_2022", PermanentPlatformError, "QUOTA_EXCEEDED"),
        ("youtube/daily_limit_exceeded_403", PermanentPlatformError, "QUOTA_EXCEEDED"),
    ],
)
def test_errors_are_classified(player, http, url_media, name, cls, code):
    fixture = player.play(name)
    yt = YouTubeConnector(base_url=player.base_url, timeout_s=5, media=url_media, session=http)
    item = MediaItem("v1", "VIDEO", "video/mp4", 1000, "media/test/v.mp4")
    with pytest.raises(PlatformErrorType) as info:
        yt.publish(req(item), access_token=TOKEN, steps=MemoryStepLog())
    error = info.value
    assert (type(error), error.code) == (cls, code)
    assert error.http_status == fixture.response()["status"]
    if code == "QUOTA_EXCEEDED":  # until midnight Pacific, by the answer's own clock
        headers = fixture.response()["headers"]
        if "date" in headers:
            now = datetime.fromtimestamp(server_clock(headers), UTC)
            assert error.retry_after_s == seconds_until_quota_reset(now)
        else:
            assert 0 < (error.retry_after_s or 0) <= 86400
    player.done()


def test_quota_waits_are_exact_from_the_recorded_dates():
    # 09:27:24 GMT on 2019-11-06 is 01:27:24 PST: 22 h 32 min 36 s to midnight.
    assert seconds_until_quota_reset(datetime(2019, 11, 6, 9, 27, 24, tzinfo=UTC)) == 81156
    # 06:12:31 GMT on 2022-04-29 is 23:12:31 PDT the day before: 47 min 29 s to midnight.
    assert seconds_until_quota_reset(datetime(2022, 4, 29, 6, 12, 31, tzinfo=UTC)) == 2849


def test_resume_after_a_partial_commit_rereads_from_the_committed_offset(player, http, media):
    """The server kept 1,000,000 of the 1,048,576 bytes sent (308, Range: bytes=0-999999): the
    next PUT carries bytes 1,000,000-1,999,999 of the source under that Content-Range."""
    item = media.put(SOURCE)
    player.play("youtube/resumable_partial_commit")
    yt = YouTubeConnector(
        base_url=player.base_url, timeout_s=10, media=media, session=http, chunk_size=CHUNK
    )
    steps = MemoryStepLog()
    result = yt.publish(req(item), access_token=TOKEN, steps=steps)
    assert result == PublishResult("GvvO3mrNaX0", "https://www.youtube.com/watch?v=GvvO3mrNaX0")
    start, first, second = player.received
    assert start.query == {"uploadType": ["resumable"], "part": ["snippet,status"]}
    assert start.headers["X-Upload-Content-Length"] == "2000000"
    assert first.headers["Content-Range"] == f"bytes 0-{CHUNK - 1}/2000000"
    assert first.body == SOURCE[:CHUNK]
    assert second.headers["Content-Range"] == "bytes 1000000-1999999/2000000"
    assert second.body == SOURCE[1_000_000:]
    player.done()


def test_a_308_without_range_means_nothing_was_committed(player, http, media):
    item = media.put(SOURCE)
    player.play("youtube/resumable_status_without_range")
    yt = YouTubeConnector(
        base_url=player.base_url, timeout_s=10, media=media, session=http, chunk_size=8 * CHUNK
    )
    session = f"{player.base_url}/upload/youtube/v3/videos?uploadType=resumable&upload_id=xa298sd_f"
    steps = MemoryStepLog({"session": session, "offset": 1_000_000})
    result = yt.publish(req(item), access_token=TOKEN, steps=steps)
    assert isinstance(result, PublishResult)
    assert result.external_id == "GvvO3mrNaX0"
    query, upload = player.received
    assert (query.headers["Content-Range"], query.body) == ("bytes */2000000", b"")
    assert upload.headers["Content-Range"] == "bytes 0-1999999/2000000"
    assert upload.body == SOURCE
    player.done()


def test_token_refused_is_auth_expired_shape():
    # Google's 401 answer to a stale token (google-api-python-client BATCH_RESPONSE_WITH_401):
    # {"error": {"message": "Authorizaton failed."}} → TOKEN_EXPIRED.
    from sharecast.platforms.youtube import classify_google_error

    error = classify_google_error(401, {"error": {"message": "Authorizaton failed."}}, {})
    assert isinstance(error, AuthExpiredError)
