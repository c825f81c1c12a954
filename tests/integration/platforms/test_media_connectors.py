"""Media connectors against the sandbox over real HTTP, reading real objects from the Storage
emulator (GcsMediaSource): X media upload resumes after a crash mid-upload from the saved step
state and waits for processing with Pending; Facebook multi-photo posts reuse saved photo ids."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests

from infra.localenv import MEDIA_BUCKET
from sharecast.app import AppContext
from sharecast.bucket.source import GcsMediaSource
from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.platforms.base import MediaItem, MemoryStepLog, Pending, PublishRequest
from sharecast.platforms.errors import PermanentPlatformError, TransientPlatformError
from sharecast.platforms.facebook import FacebookConnector
from sharecast.platforms.x import XConnector

CHUNK = 64 * 1024


class CrashingSource:
    """The real source, except that the first read dies after ``after`` chunks (a publisher
    crash or a storage failure mid-upload)."""

    def __init__(self, real: GcsMediaSource, after: int) -> None:
        self.real = real
        self.after = after
        self.starts: list[int] = []

    def signed_url(self, item: MediaItem, *, ttl_s: int) -> str:
        return self.real.signed_url(item, ttl_s=ttl_s)

    def chunks(self, item: MediaItem, *, chunk_size: int, start: int = 0) -> Iterator[bytes]:
        self.starts.append(start)
        for index, chunk in enumerate(self.real.chunks(item, chunk_size=chunk_size, start=start)):
            if len(self.starts) == 1 and index == self.after:
                raise TransientPlatformError("MEDIA_READ", "simulated crash")
            yield chunk


@pytest.fixture
def source(stack) -> GcsMediaSource:
    ctx = AppContext.build(Settings())
    return GcsMediaSource(bucket=ctx.media_bucket, signer=ctx.signer)


def stored(data: bytes, mime: str, kind: str) -> MediaItem:
    path = f"media/test/{uuid.uuid4().hex}"
    bucket = Clients(Settings()).storage.bucket(MEDIA_BUCKET)
    bucket.blob(path).upload_from_string(data, content_type=mime)
    return MediaItem(
        media_id=uuid.uuid4().hex, kind=kind, mime_type=mime, size=len(data), object_path=path
    )


def test_chunks_are_ranged_reads_of_the_object(source: GcsMediaSource):
    data = bytes(range(256)) * 1000
    item = stored(data, "video/mp4", "VIDEO")
    parts = list(source.chunks(item, chunk_size=CHUNK, start=CHUNK))
    assert [len(p) for p in parts] == [CHUNK, CHUNK, len(data) - 3 * CHUNK]
    assert b"".join(parts) == data[CHUNK:]
    assert requests.get(source.signed_url(item, ttl_s=60), timeout=10).content == data
    gone = MediaItem("m", "VIDEO", "video/mp4", 10, "media/test/missing")
    with pytest.raises(PermanentPlatformError) as excinfo:
        list(source.chunks(gone, chunk_size=CHUNK))
    assert excinfo.value.code == "MEDIA_MISSING"


def test_x_video_upload_resumes_after_a_crash_and_waits_for_processing(
    source: GcsMediaSource, sandbox, sandbox_server
):
    data = bytes(range(256)) * 1200  # 307,200 bytes: 5 chunks of 64 KiB
    item = stored(data, "video/mp4", "VIDEO")
    crashing = CrashingSource(source, after=2)
    with requests.Session() as session:
        xc = XConnector(
            base_url=sandbox.base_url,
            timeout_s=5.0,
            session=session,
            media=crashing,
            media_chunk_bytes=CHUNK,
        )
        request = PublishRequest(
            account_id="sandbox:u1", text="a clip", target_key="p/x-0", media=(item,)
        )
        steps = MemoryStepLog()
        with pytest.raises(TransientPlatformError):
            xc.publish(request, access_token="sandbox:u1", steps=steps)
        [entry] = steps.state["x_media"]
        assert (entry["segment"], entry["offset"], entry["state"]) == (2, 2 * CHUNK, "appending")

        outcomes = []
        for _ in range(4):
            outcome = xc.publish(request, access_token="sandbox:u1", steps=steps)
            outcomes.append(outcome)
            if not isinstance(outcome, Pending):
                break
    assert crashing.starts == [0, 2 * CHUNK]  # resumed at the saved offset, not from zero
    assert [type(o).__name__ for o in outcomes] == ["Pending", "Pending", "PublishResult"]
    assert all(isinstance(o, Pending) and o.wait_s == 1 for o in outcomes[:2])
    uploads = sandbox_server.app.state.sandbox.media.x_uploads
    assert len(uploads) == 1  # initialized once
    [post] = sandbox.ledger("x")
    assert post["media"] == [
        {
            "type": "video",
            "id": entry["media_id"],
            "media_type": "video/mp4",
            "size": len(data),
            "segments": 5,
        }
    ]


def test_facebook_photos_are_not_uploaded_twice_after_a_failed_feed_call(
    source: GcsMediaSource, sandbox, sandbox_server
):
    photos = tuple(stored(b"\x89PNG" + bytes([i]) * 500, "image/png", "IMAGE") for i in range(3))
    with requests.Session() as session:
        fb = FacebookConnector(
            base_url=sandbox.base_url, timeout_s=5.0, session=session, media=source
        )
        request = PublishRequest(
            account_id="page-1", text="three photos", target_key="p/f", media=photos
        )
        steps = MemoryStepLog()
        sandbox.fault(platform="facebook", kind="server_error", times=1, text_contains="three")
        with pytest.raises(TransientPlatformError):
            fb.publish(request, access_token="tok", steps=steps)
        saved = list(steps.state["fb_photo_ids"])
        assert len(saved) == 3
        result = fb.publish(request, access_token="tok", steps=steps)
    assert len(sandbox_server.app.state.sandbox.media.fb_photos) == 3  # no photo uploaded twice
    [post] = sandbox.ledger("facebook", "page-1")
    assert post["id"] == result.external_id
    assert [m["id"] for m in post["media"]] == saved
    assert [m["size"] for m in post["media"]] == [504, 504, 504]
