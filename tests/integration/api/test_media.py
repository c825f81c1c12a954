"""Media over real HTTP (docs/api.md#media): signed upload URLs checked with the signer's public
key, real bytes PUT to the Storage emulator, confirmation by the API and by a real GCS finalize
CloudEvent delivered to the ``media_finalized`` function, reads, deletes, bad input."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from infra.localenv import (
    DEV_INTERNAL_SECRET,
    DEV_MEDIA_SIGNER_EMAIL,
    DEV_MEDIA_SIGNER_KEY,
    MEDIA_BUCKET,
)
from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.media import uploads
from sharecast.tasks import INTERNAL_AUTH_HEADER
from tests.conftest import PORTS
from tests.support.api import ApiClient
from tests.support.media import put, request_upload, upload
from tests.support.signed_urls import public_pem, verify_v4

pytestmark = pytest.mark.usefixtures("clean_stack")

PUBLIC = public_pem(DEV_MEDIA_SIGNER_KEY)
FINALIZED = f"http://127.0.0.1:{PORTS.media_finalized}/"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@pytest.fixture
def api(user_id: str) -> ApiClient:
    return ApiClient(PORTS, user_id)


def bucket():
    return Clients(Settings()).storage.bucket(MEDIA_BUCKET)


def media_doc(media_id: str) -> dict:
    snap = Clients(Settings()).firestore.collection("media").document(media_id).get()
    return snap.to_dict() or {}


def finalize_event(name: str, *, content_type: str, size: int, structured: bool = False):
    """POST a GCS ``object.v1.finalized`` CloudEvent as Eventarc does (binary or structured),
    authenticated as the local stack's internal caller."""
    data = {
        "bucket": MEDIA_BUCKET,
        "name": name,
        "contentType": content_type,
        "size": str(size),
        "timeCreated": datetime.now(UTC).isoformat(),
    }
    attributes = {
        "id": uuid.uuid4().hex,
        "specversion": "1.0",
        "type": "google.cloud.storage.object.v1.finalized",
        "source": f"//storage.googleapis.com/projects/_/buckets/{MEDIA_BUCKET}",
        "subject": f"objects/{name}",
        "time": datetime.now(UTC).isoformat(),
    }
    auth = {INTERNAL_AUTH_HEADER: DEV_INTERNAL_SECRET}
    if structured:
        return requests.post(
            FINALIZED,
            json={**attributes, "datacontenttype": "application/json", "data": data},
            headers={"Content-Type": "application/cloudevents+json", **auth},
            timeout=30,
        )
    headers = {f"ce-{k}": v for k, v in attributes.items()} | auth
    return requests.post(FINALIZED, json=data, headers=headers, timeout=30)


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    return body


def test_upload_url_put_confirm_and_read_back(api: ApiClient, user_id: str):
    before = datetime.now(UTC).replace(microsecond=0)
    ticket = request_upload(api, len(PNG), "image/png", "IMAGE", name="../../etc/passwd.exe")
    assert ticket["method"] == "PUT"
    assert ticket["headers"] == {
        "Content-Type": "image/png",
        "x-goog-content-length-range": f"1,{len(PNG)}",
        "x-goog-if-generation-match": "0",
    }
    path = ticket["objectPath"]
    assert path.startswith(f"media/images/{user_id}/")
    assert path.endswith(".png")
    assert ticket["mediaId"] in path
    checked = verify_v4(
        ticket["uploadUrl"], method="PUT", headers=ticket["headers"], public_key_pem=PUBLIC
    )
    assert checked.path == f"/{MEDIA_BUCKET}/{path}"
    assert checked.credential == DEV_MEDIA_SIGNER_EMAIL
    assert set(checked.signed_headers) == {
        "content-type",
        "host",
        "x-goog-content-length-range",
        "x-goog-if-generation-match",
    }
    assert checked.expires_at - checked.signed_at == timedelta(hours=1)
    expires = datetime.fromisoformat(ticket["expiresAt"].replace("Z", "+00:00"))
    assert before + timedelta(minutes=59) <= expires <= datetime.now(UTC) + timedelta(hours=1)
    assert media_doc(ticket["mediaId"])["status"] == "UPLOADING"

    assert put(ticket, PNG).status_code == 200
    confirmed = api.post("/media/confirm", json={"mediaId": ticket["mediaId"]})
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    assert (body["status"], body["size"], body["fileName"]) == (
        "UPLOADED",
        len(PNG),
        "../../etc/passwd.exe",
    )
    again = api.post("/media/confirm", json={"mediaId": ticket["mediaId"]})
    assert again.status_code == 200
    assert again.json()["status"] == "UPLOADED"

    read = api.get(f"/media/{ticket['mediaId']}")
    assert read.status_code == 200
    url = read.json()["url"]
    checked = verify_v4(url, method="GET", headers={}, public_key_pem=PUBLIC)
    assert checked.expires_at - checked.signed_at == timedelta(minutes=15)
    assert requests.get(url, timeout=10).content == PNG


def test_an_upload_url_creates_the_object_once(api: ApiClient):
    """Issue 14 item 9: the URL is create-only (``x-goog-if-generation-match: 0`` signed in): a
    second PUT is refused with 412 and the checked object stays as it was; a PUT without the
    signed header is refused like a bad signature."""
    ticket = request_upload(api, len(PNG), "image/png", "IMAGE")
    bare = {k: v for k, v in ticket["headers"].items() if k != "x-goog-if-generation-match"}
    unsigned = requests.put(ticket["uploadUrl"], data=PNG, headers=bare, timeout=60)
    assert unsigned.status_code == 403, unsigned.text
    assert "<Code>SignatureDoesNotMatch</Code>" in unsigned.text
    assert put(ticket, PNG).status_code == 200
    confirmed = api.post("/media/confirm", json={"mediaId": ticket["mediaId"]})
    assert confirmed.status_code == 200, confirmed.text
    again = put(ticket, PNG[:10])
    assert again.status_code == 412, again.text
    assert again.headers["Content-Type"].startswith("application/xml")
    assert "<Code>PreconditionFailed</Code>" in again.text
    blob = bucket().get_blob(ticket["objectPath"])
    assert blob is not None
    assert blob.generation == media_doc(ticket["mediaId"])["generation"]
    assert blob.download_as_bytes() == PNG
    read = api.post("/media/confirm", json={"mediaId": ticket["mediaId"]})
    assert (read.status_code, read.json()["size"]) == (200, len(PNG))


def test_confirm_refuses_an_object_replaced_after_confirmation(api: ApiClient):
    """Whoever replaces the checked object (anyone with write access to the bucket, bypassing
    the create-only URL) gets it refused: the record becomes FAILED and the object is deleted."""
    ticket = request_upload(api, len(PNG), "image/png", "IMAGE")
    assert put(ticket, PNG).status_code == 200
    assert api.post("/media/confirm", json={"mediaId": ticket["mediaId"]}).status_code == 200
    bucket().blob(ticket["objectPath"]).upload_from_string(PNG[:20], content_type="image/png")
    refused = api.post("/media/confirm", json={"mediaId": ticket["mediaId"]})
    body = assert_problem(refused, 422, "MEDIA_REJECTED")
    assert body["mediaStatus"] == "FAILED"
    assert media_doc(ticket["mediaId"])["failure"] == uploads.REPLACED
    assert bucket().get_blob(ticket["objectPath"]) is None


def test_others_media_is_not_found(api: ApiClient):
    media_id = upload(api, PNG)
    mallory = ApiClient(PORTS, f"mallory-{uuid.uuid4().hex[:6]}")
    assert_problem(mallory.get(f"/media/{media_id}"), 404, "NOT_FOUND")
    assert_problem(mallory.post("/media/confirm", json={"mediaId": media_id}), 404, "NOT_FOUND")
    assert_problem(mallory.request("DELETE", f"/media/{media_id}"), 404, "NOT_FOUND")
    assert_problem(api.get(f"/media/{uuid.uuid4().hex}"), 404, "NOT_FOUND")
    assert api.get(f"/media/{media_id}").status_code == 200


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"mimeType": "application/x-msdownload"}, "mimeType", "MIME_TYPE_NOT_ALLOWED"),
        ({"mimeType": "video/mp4"}, "mimeType", "MIME_TYPE_NOT_ALLOWED"),  # not an IMAGE type
        ({"size": 10 * 1024 * 1024 + 1}, "size", "SIZE_TOO_LARGE"),
        ({"size": -1}, "size", "SIZE_INVALID"),
        ({"size": 0}, "size", "SIZE_INVALID"),
        ({"size": 1.5}, "size", "WRONG_TYPE"),
        ({"kind": "AUDIO"}, "kind", "UNKNOWN_KIND"),
        ({"extra": 1}, "extra", "UNKNOWN_FIELD"),
    ],
)
def test_bad_upload_requests_are_422_and_store_nothing(api: ApiClient, body, field, code):
    request = {"fileName": "a.png", "mimeType": "image/png", "size": 100, "kind": "IMAGE", **body}
    problem = assert_problem(api.post("/media/upload-url", json=request), 422, "VALIDATION_FAILED")
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [(field, code)]
    assert list(Clients(Settings()).firestore.collection("media").stream()) == []


def test_no_token_and_malformed_json(api: ApiClient):
    assert api.post("/media/upload-url", json={}, token="").status_code == 401
    bad = api.post("/media/upload-url", data="{", headers={"Content-Type": "application/json"})
    assert_problem(bad, 400, "BAD_REQUEST")


def test_confirm_before_upload_is_409_and_stays_uploading(api: ApiClient):
    ticket = request_upload(api, len(PNG), "image/png", "IMAGE")
    assert_problem(
        api.post("/media/confirm", json={"mediaId": ticket["mediaId"]}), 409, "UPLOAD_NOT_FOUND"
    )
    assert media_doc(ticket["mediaId"])["status"] == "UPLOADING"


@pytest.mark.parametrize(
    ("data", "content_type", "reason"),
    [
        (PNG + b"more", "image/png", "more than the declared"),  # larger than declared
        (PNG, "image/jpeg", "content type"),  # not what was declared
    ],
)
def test_confirm_refuses_a_mismatching_object_and_deletes_it(
    api: ApiClient, data, content_type, reason
):
    ticket = request_upload(api, len(PNG), "image/png", "IMAGE")
    # The emulator enforces neither the signature nor the signed headers; GCS would refuse
    # these PUTs, but a confirm must not rely on that.
    assert put(ticket, data, **{"Content-Type": content_type}).status_code == 200
    problem = assert_problem(
        api.post("/media/confirm", json={"mediaId": ticket["mediaId"]}), 422, "MEDIA_REJECTED"
    )
    assert reason in problem["detail"]
    assert problem["status"] == 422
    assert problem["mediaId"] == ticket["mediaId"]
    assert problem["mediaStatus"] == "FAILED"
    assert media_doc(ticket["mediaId"])["status"] == "FAILED"
    assert bucket().get_blob(ticket["objectPath"]) is None
    again = api.post("/media/confirm", json={"mediaId": ticket["mediaId"]})
    assert_problem(again, 422, "MEDIA_REJECTED")


@pytest.mark.parametrize("structured", [False, True])
def test_finalize_event_confirms_without_the_client_and_agrees_with_confirm(
    api: ApiClient, structured: bool
):
    ticket = request_upload(api, len(PNG), "image/png", "IMAGE")
    assert put(ticket, PNG).status_code == 200
    event = finalize_event(
        ticket["objectPath"], content_type="image/png", size=len(PNG), structured=structured
    )
    assert event.status_code == 200, event.text
    doc = media_doc(ticket["mediaId"])
    assert (doc["status"], doc["size"], doc["version"]) == ("UPLOADED", len(PNG), 2)
    # A redelivery and a late confirm change nothing.
    assert finalize_event(ticket["objectPath"], content_type="image/png", size=1).ok
    confirmed = api.post("/media/confirm", json={"mediaId": ticket["mediaId"]})
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "UPLOADED"
    assert media_doc(ticket["mediaId"])["version"] == 2


def test_finalize_event_of_a_larger_object_fails_it_and_deletes_the_object(api: ApiClient):
    ticket = request_upload(api, len(PNG), "image/png", "IMAGE")
    assert put(ticket, PNG * 2).status_code == 200
    event = finalize_event(ticket["objectPath"], content_type="image/png", size=len(PNG) * 2)
    assert event.status_code == 200, event.text
    doc = media_doc(ticket["mediaId"])
    assert doc["status"] == "FAILED"
    assert "more than the declared" in doc["failure"]
    assert bucket().get_blob(ticket["objectPath"]) is None
    assert_problem(
        api.post("/media/confirm", json={"mediaId": ticket["mediaId"]}), 422, "MEDIA_REJECTED"
    )


def test_finalize_event_of_a_foreign_object_is_ignored():
    bucket().blob("elsewhere/file.bin").upload_from_string(b"x")
    assert finalize_event("elsewhere/file.bin", content_type="text/plain", size=1).ok
    assert bucket().get_blob("elsewhere/file.bin") is not None


def test_delete_removes_the_object_and_the_media(api: ApiClient):
    media_id = upload(api, PNG)
    path = api.get(f"/media/{media_id}").json()["objectPath"]
    deleted = api.request("DELETE", f"/media/{media_id}")
    assert deleted.status_code == 200
    assert deleted.json()["status"] == "DELETED"
    assert bucket().get_blob(path) is None
    assert_problem(api.get(f"/media/{media_id}"), 404, "NOT_FOUND")
    assert_problem(api.request("DELETE", f"/media/{media_id}"), 404, "NOT_FOUND")
