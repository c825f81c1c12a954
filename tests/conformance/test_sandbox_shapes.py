"""The sandbox answers in the shapes the real services recorded.

For every case the sandbox simulates (errors, rate limits, success bodies, containers,
uploads), the sandbox's answer is produced over real HTTP and its structure (status, JSON keys
and value types at every level, the header names that carry meaning) is compared with the
recorded answer of the same case in ``fixtures/``. Values differ (ids, times); structure may
not, except the keys listed as optional for a case: documented fields a recording happens to
lack (``error_subcode``, ``is_transient``...) or fields the recording has and the sandbox has no
use for are named there, one by one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from infra.sandbox.server import SandboxServer
from tests.conformance.playback import load, response_bytes
from tests.support.sandbox import Sandbox

TOKEN = "sandbox:1784140000000001:shape-token"
X_USER = "1784140000000001"
#: Graph error fields Meta documents as optional (error-handling page); a recording may lack any.
GRAPH_OPTIONAL = {
    "error.error_subcode",
    "error.is_transient",
    "error.error_user_title",
    "error.error_user_msg",
    "error.fbtrace_id",
}


def shape(value: Any, path: str = "") -> dict[str, str]:
    """``{dotted path: JSON type}`` of every value; list items share the path ``[]``."""
    if isinstance(value, dict):
        out = {path or "$": "object"}
        for key, item in value.items():
            out.update(shape(item, f"{path}.{key}" if path else key))
        return out
    if isinstance(value, list):
        out = {path or "$": "array"}
        for item in value:
            out.update(shape(item, f"{path}[]"))
        return out
    if isinstance(value, bool):
        return {path or "$": "boolean"}
    if isinstance(value, int | float):
        return {path or "$": "number"}
    if value is None:
        return {path or "$": "null"}
    return {path or "$": "string"}


def body_of(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def assert_same_shape(
    sandbox: requests.Response,
    fixture: str,
    index: int = 0,
    *,
    optional: set[str] | frozenset[str] = frozenset(),
    headers: tuple[str, ...] = (),
    status: bool = True,
) -> None:
    recorded = load(fixture).response(index)
    if status:  # False only where the fixture says its status was filled in
        assert sandbox.status_code == recorded["status"], sandbox.text
    raw = response_bytes(recorded, compress=False)
    try:
        want = json.loads(raw)
    except ValueError:
        want = raw.decode()
    got, expected = shape(body_of(sandbox)), shape(want)
    missing = {k: v for k, v in expected.items() if k not in got and k not in optional}
    extra = {k: v for k, v in got.items() if k not in expected and k not in optional}
    differ = {k: (got[k], v) for k, v in expected.items() if k in got and got[k] != v}
    assert (missing, extra, differ) == ({}, {}, {}), f"{fixture}[{index}]"
    recorded_names = {k.lower() for k in recorded.get("headers", {})}
    for name in headers:
        assert name in recorded_names, f"{name} is not in the recording {fixture}"
        assert name in {k.lower() for k in sandbox.headers}, f"sandbox lacks {name}"


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer() as running:
        yield running


@pytest.fixture
def sbx(server: SandboxServer) -> Iterator[Sandbox]:
    control = Sandbox(server.base_url)
    control.reset()
    yield control
    control.http.close()


def url(sbx: Sandbox, path: str) -> str:
    return f"{sbx.base_url}{path}"


BEARER = {"Authorization": f"Bearer {TOKEN}"}

# -- X -----------------------------------------------------------------------------------------


def tweet(sbx: Sandbox, text: str = "Shape test") -> requests.Response:
    return requests.post(url(sbx, "/2/tweets"), json={"text": text}, headers=BEARER, timeout=5)


def test_x_create(sbx):
    assert_same_shape(
        tweet(sbx),
        "x/create_tweet_201_gzip",
        optional={"data.edit_history_tweet_ids", "data.edit_history_tweet_ids[]"},
        headers=("location", "x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"),
    )


@pytest.mark.parametrize(
    ("kind", "fixture", "headers"),
    [
        ("duplicate", "x/duplicate_content_403", ()),
        (
            "rate_limit",
            "x/rate_limit_429_with_reset",
            ("x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"),
        ),
        ("usage_capped", "x/usage_capped_429", ()),
        ("token_expired", "x/unauthorized_401", ()),
        ("permission_denied", "x/client_forbidden_403", ()),
    ],
)
def test_x_faults(sbx, kind, fixture, headers):
    sbx.fault(platform="x", kind=kind, times=1)
    assert_same_shape(tweet(sbx), fixture, headers=headers)


def test_x_invalid_request(sbx):
    sbx.fault(platform="x", kind="permanent", times=1)
    # The recording names the offending parameter; the sandbox's fault has none to name.
    optional = {"errors[].parameters", "errors[].parameters.ids", "errors[].parameters.ids[]"}
    assert_same_shape(tweet(sbx), "x/invalid_request_400", optional=optional)


def test_x_timeline_pages(sbx):
    for n in range(6):
        assert tweet(sbx, f"post {n}").status_code == 201
    timeline = url(sbx, f"/2/users/{X_USER}/tweets")
    first = requests.get(timeline, params={"max_results": "5"}, headers=BEARER, timeout=5)
    assert_same_shape(first, "x/user_timeline_paginated", 0)
    token = first.json()["meta"]["next_token"]
    params = {"max_results": "5", "pagination_token": token}
    second = requests.get(timeline, params=params, headers=BEARER, timeout=5)
    assert second.json()["meta"]["result_count"] == 1
    params["pagination_token"] = "c2J4OjEwMA"  # offset 100: past the end
    empty = requests.get(timeline, params=params, headers=BEARER, timeout=5)
    assert_same_shape(empty, "x/user_timeline_paginated", 2)


def test_x_media_upload(sbx):
    init = requests.post(
        url(sbx, "/2/media/upload/initialize"),
        json={"media_type": "video/mp4", "total_bytes": 10, "media_category": "tweet_video"},
        headers=BEARER,
        timeout=5,
    )
    assert_same_shape(init, "x/media_upload_chunked", 0)
    media_id = init.json()["data"]["id"]
    append = requests.post(
        url(sbx, f"/2/media/upload/{media_id}/append"),
        data={"segment_index": "0"},
        files={"media": ("chunk", b"0123456789", "application/octet-stream")},
        headers=BEARER,
        timeout=5,
    )
    assert_same_shape(append, "x/media_upload_chunked", 1)
    final = requests.post(
        url(sbx, f"/2/media/upload/{media_id}/finalize"), headers=BEARER, timeout=5
    )
    assert_same_shape(final, "x/media_upload_chunked", 2)
    status_url = url(sbx, "/2/media/upload")
    params = {"command": "STATUS", "media_id": media_id}
    assert requests.get(status_url, params=params, headers=BEARER, timeout=5).ok  # in_progress
    done = requests.get(status_url, params=params, headers=BEARER, timeout=5)
    assert done.json()["data"]["processing_info"]["state"] == "succeeded"
    assert_same_shape(done, "x/media_upload_chunked", 3)


# -- Facebook ----------------------------------------------------------------------------------


def fb_post(sbx: Sandbox, page: str = "4", message: str = "Shape test") -> requests.Response:
    return requests.post(
        url(sbx, f"/v24.0/{page}/feed"),
        data={"message": message, "access_token": TOKEN},
        timeout=5,
    )


def test_facebook_create(sbx):
    assert_same_shape(fb_post(sbx), "facebook/create_post_200")


@pytest.mark.parametrize(
    ("kind", "fixture"),
    [
        ("duplicate", "facebook/error_code506_duplicate"),
        ("token_expired", "facebook/token_190_460"),
        ("permission_denied", "facebook/error_code200_permission"),
        ("permanent", "facebook/error_100_missing_permission"),
        ("policy_blocked", "facebook/error_code368_policy_block"),
        ("server_error", "facebook/service_code2_transient"),
    ],
)
def test_facebook_faults(sbx, kind, fixture):
    sbx.fault(platform="facebook", kind=kind, times=1)
    # The documented table rows give no HTTP status (the fixtures fill in 400); the sandbox
    # answers #200 with 403.
    known_status = fixture != "facebook/error_code200_permission"
    assert_same_shape(fb_post(sbx), fixture, optional=GRAPH_OPTIONAL, status=known_status)


def test_facebook_rate_limit_and_its_usage_header(sbx):
    sbx.fault(platform="facebook", kind="rate_limit", times=1, retry_after_s=600)
    answer = fb_post(sbx, page="112130216863063")
    fixture = "facebook/throttle_80001_buc_header"
    assert_same_shape(
        answer, fixture, optional=GRAPH_OPTIONAL, headers=("x-business-use-case-usage",)
    )
    recorded = json.loads(load(fixture).response()["headers"]["x-business-use-case-usage"])
    got = json.loads(answer.headers["x-business-use-case-usage"])
    assert shape(list(got.values())) == shape(list(recorded.values()))


def test_facebook_feed_page(sbx):
    for n in range(3):
        assert fb_post(sbx, message=f"post {n}").ok
    page = requests.get(
        url(sbx, "/v24.0/4/feed"),
        params={"fields": "id,message,created_time", "limit": "2"},
        headers=BEARER,
        timeout=5,
    )
    # Graph adds cursors to cursor-paginated edges; the recorded (time-paginated) page has none.
    optional = {"paging.cursors", "paging.cursors.before", "paging.cursors.after"}
    assert_same_shape(page, "facebook/feed_paginated", 0, optional=optional)


# -- Instagram and Threads ---------------------------------------------------------------------

IG = "17841405822304914"


def image_server_url(sbx: Sandbox) -> str:
    """A URL the sandbox can fetch an image from: its own health route is no image, so the
    Meta stand-ins fetch a small PNG from the storage-free echo of the X media bytes... the
    simplest fetchable URL is the sandbox itself."""
    return url(sbx, "/_sandbox/healthz")


def test_instagram_container_flow(sbx):
    base = f"/instagram/v24.0/{IG}"
    quota = requests.get(
        url(sbx, f"{base}/content_publishing_limit"),
        params={"fields": "quota_usage,config"},
        headers=BEARER,
        timeout=5,
    )
    assert_same_shape(quota, "instagram/publish_photo_flow", 0)
    created = requests.post(
        url(sbx, f"{base}/media"),
        data={"image_url": image_server_url(sbx), "caption": "Hi", "access_token": TOKEN},
        timeout=5,
    )
    assert_same_shape(created, "instagram/publish_photo_flow", 1)
    container = created.json()["id"]
    status = requests.get(
        url(sbx, f"/instagram/v24.0/{container}"),
        params={"fields": "status_code,status"},
        headers=BEARER,
        timeout=5,
    )
    assert_same_shape(status, "instagram/publish_photo_flow", 2)
    published = requests.post(
        url(sbx, f"{base}/media_publish"),
        data={"creation_id": container, "access_token": TOKEN},
        timeout=5,
    )
    assert_same_shape(published, "instagram/publish_photo_flow", 3)
    permalink = requests.get(
        url(sbx, f"/instagram/v24.0/{published.json()['id']}"),
        params={"fields": "permalink"},
        headers=BEARER,
        timeout=5,
    )
    assert_same_shape(permalink, "instagram/publish_photo_flow", 4)


def test_threads_containers(sbx):
    base = "/threads/v1.0/17841401234567890"
    created = requests.post(
        url(sbx, f"{base}/threads"),
        data={"media_type": "TEXT", "text": "Hi", "access_token": TOKEN},
        timeout=5,
    )
    assert_same_shape(created, "threads/container_error_failed_download", 0)
    fields = {"fields": "status,error_message"}
    status = requests.get(
        url(sbx, f"/threads/v1.0/{created.json()['id']}"), params=fields, headers=BEARER, timeout=5
    )
    assert_same_shape(status, "threads/container_finished_then_media_not_found", 1)
    sbx.fault(platform="threads", kind="container_error", times=1)
    failed = requests.post(
        url(sbx, f"{base}/threads"),
        data={"media_type": "TEXT", "text": "Hi again", "access_token": TOKEN},
        timeout=5,
    )
    error = requests.get(
        url(sbx, f"/threads/v1.0/{failed.json()['id']}"), params=fields, headers=BEARER, timeout=5
    )
    assert_same_shape(error, "threads/container_error_failed_download", 1)


# -- LinkedIn ----------------------------------------------------------------------------------

LI_HEADERS = {**BEARER, "LinkedIn-Version": "202601", "X-Restli-Protocol-Version": "2.0.0"}


def li_post(sbx: Sandbox, text: str = "Shape test") -> requests.Response:
    body = {
        "author": f"urn:li:person:{X_USER}",
        "commentary": text,
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED"},
        "lifecycleState": "PUBLISHED",
    }
    return requests.post(url(sbx, "/linkedin/rest/posts"), json=body, headers=LI_HEADERS, timeout=5)


def test_linkedin_create_and_duplicate(sbx):
    assert_same_shape(li_post(sbx), "linkedin/create_post_201_restli_id", headers=("x-restli-id",))
    assert_same_shape(li_post(sbx), "linkedin/duplicate_post_422")


@pytest.mark.parametrize(
    ("kind", "fixture", "optional"),
    [
        ("token_expired", "linkedin/invalid_token_401", {"code"}),
        ("permission_denied", "linkedin/access_denied_403_with_code", set()),
    ],
)
def test_linkedin_faults(sbx, kind, fixture, optional):
    sbx.fault(platform="linkedin", kind=kind, times=1)
    assert_same_shape(li_post(sbx), fixture, optional=optional)


def test_linkedin_inactive_version(sbx):
    old = {**LI_HEADERS, "LinkedIn-Version": "202001"}
    answer = requests.get(
        url(sbx, "/linkedin/rest/posts"),
        params={"q": "author", "author": f"urn:li:person:{X_USER}"},
        headers=old,
        timeout=5,
    )
    assert_same_shape(answer, "linkedin/version_inactive_426")


# -- YouTube -----------------------------------------------------------------------------------

VIDEO = b"\x00\x00\x00\x18ftypmp42" + b"v" * 1000


def yt_start(sbx: Sandbox) -> requests.Response:
    return requests.post(
        url(sbx, "/upload/youtube/v3/videos"),
        params={"uploadType": "resumable", "part": "snippet,status"},
        json={
            "snippet": {"title": "Summer", "description": "Fun"},
            "status": {"privacyStatus": "private"},
        },
        headers={**BEARER, "X-Upload-Content-Length": str(len(VIDEO))},
        timeout=5,
    )


@pytest.mark.parametrize(
    ("kind", "fixture"),
    [
        ("server_error", "youtube/backend_error_503"),
        ("rate_limit", "youtube/user_rate_limit_403"),
        ("usage_capped", "youtube/quota_exceeded_403_2019"),
        ("permission_denied", "youtube/access_not_configured_403"),
    ],
)
def test_youtube_faults(sbx, kind, fixture):
    sbx.fault(platform="youtube", kind=kind, times=1)
    assert_same_shape(yt_start(sbx), fixture)


def test_youtube_resumable_exchanges(sbx):
    sbx.settings(youtube_commit_bytes=500)
    start = yt_start(sbx)
    assert_same_shape(start, "youtube/resumable_partial_commit", 0, headers=("location",))
    session = start.headers["location"]
    total = len(VIDEO)
    partial = requests.put(
        session, data=VIDEO, headers={"Content-Range": f"bytes 0-{total - 1}/{total}"}, timeout=5
    )
    assert_same_shape(partial, "youtube/resumable_partial_commit", 1, headers=("range",))
    assert partial.headers["range"] == "bytes=0-499"
    sbx.settings(youtube_commit_bytes=0)
    rest = VIDEO[500:]
    done = requests.put(
        session, data=rest, headers={"Content-Range": f"bytes 500-{total - 1}/{total}"}, timeout=5
    )
    # The sandbox echoes what the client sent (selfDeclaredMadeForKids when given).
    assert_same_shape(done, "youtube/resumable_partial_commit", 2)
    nothing = yt_start(sbx).headers["location"]
    status = requests.put(
        nothing, headers={"Content-Range": f"bytes */{total}", "Content-Length": "0"}, timeout=5
    )
    assert_same_shape(status, "youtube/resumable_status_without_range", 0)
    assert "range" not in {k.lower() for k in status.headers}
