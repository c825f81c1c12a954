"""Facebook Page video by ``file_url``: Graph (the sandbox) fetches the signed URL."""

from __future__ import annotations

import pytest

from sharecast.platforms.base import MemoryStepLog, PublishRequest
from sharecast.platforms.errors import PermanentPlatformError
from sharecast.platforms.facebook import FacebookConnector

PAGE = "112233445566"


@pytest.fixture
def fb(sandbox, media, http):
    return FacebookConnector(
        base_url=sandbox.base_url, timeout_s=5, graph_version="v24.0", session=http, media=media
    )


def test_video_by_url(fb, sandbox, media):
    video = media.put(b"\x00\x00\x00\x18ftypmp42" + b"v" * 4000)
    request = PublishRequest(
        account_id=PAGE, text="Our video", target_key="p/t", media=(video,), title="Title"
    )
    result = fb.publish(request, access_token="page-token", steps=MemoryStepLog())
    [post] = sandbox.ledger("facebook", PAGE)
    assert (post["id"], post["text"]) == (result.external_id, "Our video")
    assert result.external_url == f"https://www.facebook.com/{PAGE}/videos/{result.external_id}"


def test_unfetchable_video_is_refused(fb, sandbox, media):
    video = media.put(b"v" * 100)
    gone = video.__class__(video.media_id, "VIDEO", "video/mp4", 100, "media/test/gone.mp4")
    request = PublishRequest(account_id=PAGE, text="x", target_key="p/t", media=(gone,))
    with pytest.raises(PermanentPlatformError) as info:
        fb.publish(request, access_token="page-token", steps=MemoryStepLog())
    assert info.value.code == "INVALID_REQUEST"
    assert sandbox.ledger() == []
