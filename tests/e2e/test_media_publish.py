"""The whole stack publishes media: a Facebook photo the sandbox fetches from a signed URL of
the Storage emulator, and an X video streamed in chunks through media upload v2 with a
processing wait (Pending → continuation task). The sandbox's ledger shows what each network
received, sizes included."""

from __future__ import annotations

import time

import pytest

from sharecast.domain.statuses import Platform
from sharecast.store.connections import sandbox_account_id
from tests.conftest import PORTS
from tests.support.api import ApiClient
from tests.support.media import upload
from tests.support.sandbox import Sandbox

pytestmark = pytest.mark.usefixtures("clean_stack")

PNG = b"\x89PNG\r\n\x1a\n" + b"i" * 3000
VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * (5 * 1024 * 4)  # 5 MiB + 12 bytes


def wait_terminal(api: ApiClient, post_id: str, timeout_s: float = 90.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        body = api.get(f"/posts/{post_id}").json()
        if all(t["status"] in ("SUCCESS", "FAILED") for t in body["targets"]):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.5)


def test_photos_and_a_video_reach_the_networks_with_every_byte(user_id: str):
    api = ApiClient(PORTS, user_id)
    sandbox = Sandbox.of_stack(PORTS)
    one_photo = upload(api, PNG)
    two = [upload(api, PNG + b"a"), upload(api, PNG + b"bb")]
    video = upload(api, VIDEO, "video/mp4", "VIDEO")

    posts = [
        api.post(
            "/posts/multipost",
            json={
                "content": content,
                "media": [{"mediaId": m} for m in media],
                "platforms": [{"platform": p} for p in platforms],
            },
        )
        for content, media, platforms in [
            ("One photo", [one_photo], ["facebook", "x"]),
            ("Two photos", two, ["facebook"]),
            ("A video", [video], ["x"]),
        ]
    ]
    assert [p.status_code for p in posts] == [202, 202, 202], [p.text for p in posts]
    for created in posts:
        final = wait_terminal(api, created.json()["postId"])
        assert [t["status"] for t in final["targets"]] == ["SUCCESS"] * len(final["targets"]), final

    page = sandbox_account_id(user_id, Platform.FACEBOOK)
    fb = {p["text"]: p for p in sandbox.ledger("facebook", page)}
    assert [m["size"] for m in fb["One photo"]["media"]] == [len(PNG)]
    assert fb["One photo"]["media"][0]["content_type"] == "image/png"
    assert [m["size"] for m in fb["Two photos"]["media"]] == [len(PNG) + 1, len(PNG) + 2]
    xs = {p["text"]: p for p in sandbox.ledger("x")}
    assert [m["size"] for m in xs["One photo"]["media"]] == [len(PNG)]
    [clip] = xs["A video"]["media"]
    assert (clip["type"], clip["size"], clip["segments"]) == ("video", len(VIDEO), 2)
    assert len(sandbox.ledger()) == 4  # each post exactly once
