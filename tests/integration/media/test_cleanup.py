"""Daily media cleanup (sharecast.media.cleanup) against the real emulators: expired media are
deleted unless a pending post uses them, stale uploads fail (and are retired on the next run),
and then a run does nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from infra.localenv import MEDIA_BUCKET
from sharecast.app import AppContext
from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.media.cleanup import CleanupCounts, cleanup_media
from tests.conftest import PORTS
from tests.support.api import ApiClient
from tests.support.media import put, request_upload, upload

pytestmark = pytest.mark.usefixtures("clean_stack")

PNG = b"\x89PNG\r\n\x1a\n" + b"c" * 100


def doc(clients: Clients, media_id: str) -> dict:
    return clients.firestore.collection("media").document(media_id).get().to_dict() or {}


def test_cleanup_deletes_expired_media_keeps_pending_ones_and_fails_stale_uploads(user_id: str):
    api = ApiClient(PORTS, user_id)
    settings = Settings()
    clients = Clients(settings)
    bucket = clients.storage.bucket(MEDIA_BUCKET)
    unused = upload(api, PNG)
    in_draft = upload(api, PNG + b"d")
    published_post = upload(api, PNG + b"p")
    stale = request_upload(api, 50, "image/png", "IMAGE")
    assert put(stale, b"x" * 50).status_code == 200  # uploaded but never confirmed
    created = api.post(
        "/posts/multipost",
        json={
            "content": "kept while a draft",
            "media": [{"mediaId": in_draft}],
            "platforms": [{"platform": "facebook"}],
            "draft": True,
        },
    )
    assert created.status_code == 201, created.text
    done = api.post(
        "/posts/multipost",
        json={
            "content": "finished",
            "media": [{"mediaId": published_post}],
            "platforms": [{"platform": "facebook"}],
            "draft": True,
        },
    )
    clients.firestore.collection("posts").document(done.json()["postId"]).update(
        {"status": "PUBLISHED"}
    )
    paths = {m: doc(clients, m)["object_path"] for m in (unused, in_draft, published_post)}

    ctx = AppContext(settings=settings, clients=clients)
    early = cleanup_media(ctx, now=datetime.now(UTC))
    assert early == CleanupCounts()

    later = datetime.now(UTC) + timedelta(days=settings.media_retention_days, hours=1)
    counts = cleanup_media(ctx, now=later)
    assert counts == CleanupCounts(deleted=2, kept=1, failed=1)
    for media_id in (unused, published_post):
        assert doc(clients, media_id)["status"] == "DELETED"
        assert bucket.get_blob(paths[media_id]) is None
    kept = doc(clients, in_draft)
    assert kept["status"] == "UPLOADED"
    assert kept["expires_at"] > later
    assert bucket.get_blob(paths[in_draft]) is not None
    failed = doc(clients, stale["mediaId"])
    assert failed["status"] == "FAILED"
    assert "expired" in failed["failure"]
    assert bucket.get_blob(stale["objectPath"]) is None

    # The failed upload is itself past expires_at: the next run retires its record.
    again = cleanup_media(ctx, now=later)
    assert again == CleanupCounts(deleted=1)
    assert doc(clients, stale["mediaId"])["status"] == "DELETED"
    last = cleanup_media(ctx, now=later)
    assert last == CleanupCounts()
