"""``POST /posts/multipost`` with ``media: [{mediaId}]``: only the owner's UPLOADED media, the
platform rules checked before anything is stored, media copied into every target."""

from __future__ import annotations

import uuid

import pytest

from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.store.posts import get_post
from tests.conftest import PORTS
from tests.support.api import ApiClient
from tests.support.media import request_upload, upload

pytestmark = pytest.mark.usefixtures("clean_stack")

PNG = b"\x89PNG\r\n\x1a\n" + b"p" * 500


@pytest.fixture
def api(user_id: str) -> ApiClient:
    return ApiClient(PORTS, user_id)


def draft(api: ApiClient, media_ids: list[str], platforms: list[str], content: str = "hi"):
    return api.post(
        "/posts/multipost",
        json={
            "content": content,
            "media": [{"mediaId": m} for m in media_ids],
            "platforms": [{"platform": p} for p in platforms],
            "draft": True,
        },
    )


def count_posts() -> int:
    return len(list(Clients(Settings()).firestore.collection("posts").stream()))


def errors(response) -> list[tuple[str, str, int | None]]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "VALIDATION_FAILED"
    return [(e["field"], e["code"], e.get("target")) for e in body["errors"]]


def test_media_is_copied_into_every_target_and_remembers_the_post(api: ApiClient):
    first, second = upload(api, PNG), upload(api, PNG + b"2")
    created = draft(api, [first, second], ["facebook", "x"])
    assert created.status_code == 201, created.text
    db = Clients(Settings()).firestore
    post, targets = get_post(db, created.json()["postId"])
    assert post.media_ids == [first, second]
    for target in targets:
        assert [m.media_id for m in target.media] == [first, second]
        assert [m.size for m in target.media] == [len(PNG), len(PNG) + 1]
        assert all(m.mime_type == "image/png" and m.kind == "IMAGE" for m in target.media)
    doc = db.collection("media").document(first).get().to_dict() or {}
    assert doc["post_ids"] == [post.id]


def test_someone_elses_media_is_not_found_without_saying_whose(api: ApiClient):
    theirs = upload(ApiClient(PORTS, f"other-{uuid.uuid4().hex[:6]}"), PNG)
    unknown = uuid.uuid4().hex
    response = draft(api, [theirs, unknown], ["facebook"])
    assert errors(response) == [
        ("media[0].mediaId", "MEDIA_NOT_FOUND", None),
        ("media[1].mediaId", "MEDIA_NOT_FOUND", None),
    ]
    assert {e["message"] for e in response.json()["errors"]} == {"media not found"}
    assert count_posts() == 0


def test_unconfirmed_and_repeated_media_are_refused(api: ApiClient):
    ticket = request_upload(api, 100, "image/png", "IMAGE")
    ready = upload(api, PNG)
    response = draft(api, [ticket["mediaId"], ready, ready], ["x"])
    assert errors(response) == [
        ("media[0].mediaId", "MEDIA_NOT_READY", None),
        ("media[2].mediaId", "DUPLICATE_MEDIA", None),
    ]
    assert count_posts() == 0


def test_platform_rules_are_checked_per_target(api: ApiClient):
    images = [upload(api, PNG + bytes([i])) for i in range(5)]
    response = draft(api, images, ["facebook", "x"])
    assert errors(response) == [("media", "MEDIA_NOT_ACCEPTED", 1)]  # X takes at most 4
    assert "4" in response.json()["errors"][0]["message"]
    video = upload(api, b"\x00\x00\x00\x18ftypmp42" + b"v" * 100, "video/mp4", "VIDEO")
    assert errors(draft(api, [video], ["facebook", "x"])) == [
        ("media", "MEDIA_NOT_ACCEPTED", 0)  # Facebook: photos only here
    ]
    assert count_posts() == 0
    assert draft(api, [video], ["x"]).status_code == 201


def test_deleting_media_of_a_pending_post_is_409(api: ApiClient):
    media_id = upload(api, PNG)
    assert draft(api, [media_id], ["facebook"]).status_code == 201
    response = api.request("DELETE", f"/media/{media_id}")
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "MEDIA_IN_USE"
