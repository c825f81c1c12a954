"""FacebookConnector against the sandbox over real HTTP."""

from __future__ import annotations

import hashlib
import json
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from sharecast.platforms.base import MediaItem, PublishRequest
from sharecast.platforms.errors import (
    AuthExpiredError,
    DuplicateContentError,
    PermanentPlatformError,
    TransientPlatformError,
)
from sharecast.platforms.facebook import FacebookConnector

PAGE_ID = "112233445566"
TOKEN = "EAAG-page-token-secret-123"


def req(text="Hello from Sharecast", link=None, page=PAGE_ID):
    return PublishRequest(account_id=page, text=text, target_key="post1/target1", link=link)


def ago(seconds=30):
    return datetime.now(UTC) - timedelta(seconds=seconds)


def test_publish_records_the_post(fb, sandbox):
    result = fb.publish(req(link="https://example.com/a"), access_token=TOKEN)

    page, _, post = result.external_id.partition("_")
    assert page == PAGE_ID
    assert post.isdigit()
    assert result.external_url == f"https://www.facebook.com/{result.external_id}"
    [entry] = sandbox.ledger("facebook", PAGE_ID)
    assert entry["id"] == result.external_id
    assert entry["text"] == "Hello from Sharecast"
    assert entry["link"] == "https://example.com/a"
    assert entry["token_fingerprint"] == hashlib.sha256(TOKEN.encode()).hexdigest()[:12]
    assert entry["fault"] is None
    assert TOKEN not in json.dumps(sandbox.ledger())


def test_publish_link_only(fb, sandbox):
    result = fb.publish(req(text="", link="https://example.com/b"), access_token=TOKEN)
    assert sandbox.ledger("facebook")[0]["id"] == result.external_id


def test_media_is_refused_before_calling(fb, sandbox):
    request = PublishRequest(
        account_id=PAGE_ID,
        text="x",
        target_key="k",
        media=(MediaItem("m1", "IMAGE", "image/jpeg", 10, "media/images/u/a.jpg"),),
    )
    with pytest.raises(PermanentPlatformError) as info:
        fb.publish(request, access_token=TOKEN)  # built without access to media files
    assert info.value.code == "MEDIA_UNAVAILABLE"
    assert sandbox.ledger() == []


@pytest.mark.parametrize(
    ("kind", "cls", "code", "retry_after_s", "status"),
    [
        ("server_error", TransientPlatformError, "PLATFORM_5XX", None, 500),
        ("rate_limit", TransientPlatformError, "THROTTLED", 120, 400),  # 90 s → 2 min → 120 s
        ("duplicate", DuplicateContentError, "DUPLICATE_CONTENT", None, 400),
        ("token_expired", AuthExpiredError, "TOKEN_EXPIRED", None, 400),
        ("permanent", PermanentPlatformError, "INVALID_REQUEST", None, 400),
        ("permission_denied", PermanentPlatformError, "PERMISSION_DENIED", None, 403),
        ("policy_blocked", TransientPlatformError, "POLICY_BLOCKED", 3600, 400),
    ],
)
def test_fault_kinds_map_to_errors(fb, sandbox, kind, cls, code, retry_after_s, status):
    sandbox.fault(platform="facebook", kind=kind, retry_after_s=90, times=1)

    with pytest.raises(cls) as info:
        fb.publish(req(), access_token=TOKEN)

    err = info.value
    assert type(err) is cls
    assert (err.code, err.retry_after_s, err.http_status) == (code, retry_after_s, status)
    assert TOKEN not in str(err)
    assert sandbox.ledger() == []
    fb.publish(req(), access_token=TOKEN)  # the rule is consumed
    assert len(sandbox.ledger()) == 1


def test_same_message_twice_is_duplicate(fb, sandbox):
    fb.publish(req(), access_token=TOKEN)
    with pytest.raises(DuplicateContentError):
        fb.publish(req(), access_token=TOKEN)
    fb.publish(req(link="https://example.com/other"), access_token=TOKEN)  # not identical
    fb.publish(req(page="999"), access_token=TOKEN)  # another page
    assert len(sandbox.ledger()) == 3


def test_duplicate_detection_can_be_switched_off(fb, sandbox):
    sandbox.settings(duplicate_detection=False)
    fb.publish(req(), access_token=TOKEN)
    fb.publish(req(), access_token=TOKEN)
    sandbox.settings(duplicate_detection=True)
    sandbox.fault(
        platform="facebook",
        kind="latency",
        latency_ms=0,
        duplicate_check=False,
        text_contains="Hello",
    )
    fb.publish(req(), access_token=TOKEN)
    assert len(sandbox.ledger()) == 3


def test_accept_then_drop_is_network_and_reconcilable(fb, sandbox):
    sandbox.fault(platform="facebook", kind="accept_then_drop", times=1)
    started = ago(1)

    with pytest.raises(TransientPlatformError) as info:
        fb.publish(req(), access_token=TOKEN)

    assert info.value.code == "NETWORK"
    assert info.value.http_status is None
    [entry] = sandbox.ledger("facebook", PAGE_ID)
    assert entry["fault"] == "accept_then_drop"
    found = fb.find_existing(req(), access_token=TOKEN, since=started)
    assert found is not None
    assert found.external_id == entry["id"]
    assert found.external_url == f"https://www.facebook.com/{entry['id']}"
    with pytest.raises(DuplicateContentError):  # a blind retry would be refused
        fb.publish(req(), access_token=TOKEN)


def test_accept_then_hang_times_out(sandbox):
    quick = FacebookConnector(base_url=sandbox.base_url, timeout_s=0.3)
    sandbox.fault(platform="facebook", kind="accept_then_hang", latency_ms=1500, times=1)

    with pytest.raises(TransientPlatformError) as info:
        quick.publish(req(), access_token=TOKEN)

    assert info.value.code == "NETWORK"
    assert "timed out" in info.value.message
    [entry] = sandbox.ledger("facebook")
    found = quick.find_existing(req(), access_token=TOKEN, since=ago())
    assert found is not None
    assert found.external_id == entry["id"]


def test_empty_success_is_unknown_outcome(fb, sandbox):
    sandbox.fault(platform="facebook", kind="accept_then_garble", times=1)
    with pytest.raises(TransientPlatformError) as info:
        fb.publish(req(), access_token=TOKEN)
    assert info.value.code == "UNKNOWN_OUTCOME"
    assert fb.find_existing(req(), access_token=TOKEN, since=ago()) is not None


def test_find_existing_none_when_absent(fb, sandbox):
    fb.publish(req("Something else"), access_token=TOKEN)
    fb.publish(req(page="999"), access_token=TOKEN)  # same text, other page
    assert fb.find_existing(req(), access_token=TOKEN, since=ago()) is None
    fb.publish(req(), access_token=TOKEN)
    assert fb.find_existing(req(), access_token=TOKEN, since=ago()) is not None
    future = datetime.now(UTC) + timedelta(seconds=5)
    assert fb.find_existing(req(), access_token=TOKEN, since=future) is None


def test_find_existing_follows_paging(fb, sandbox):
    target = fb.publish(req("The needle"), access_token=TOKEN)
    for i in range(130):
        fb.publish(req(f"Filler {i}"), access_token=TOKEN)
    found = fb.find_existing(req("The needle"), access_token=TOKEN, since=ago())
    assert found is not None
    assert found.external_id == target.external_id


def test_find_existing_of_link_only_post_is_not_possible(fb):
    with pytest.raises(NotImplementedError):
        fb.find_existing(req(text="", link="https://e.x"), access_token=TOKEN, since=ago())


def test_read_faults_reach_find_existing(fb, sandbox):
    sandbox.fault(platform="facebook", operation="read", kind="server_error", times=1)
    fb.publish(req(), access_token=TOKEN)  # publish is not affected
    with pytest.raises(TransientPlatformError) as info:
        fb.find_existing(req(), access_token=TOKEN, since=ago())
    assert info.value.code == "PLATFORM_5XX"
    sandbox.fault(platform="facebook", operation="read", kind="accept_then_garble", times=1)
    with pytest.raises(TransientPlatformError) as info:
        fb.find_existing(req(), access_token=TOKEN, since=ago())
    assert info.value.code == "BAD_RESPONSE"
    assert fb.find_existing(req(), access_token=TOKEN, since=ago()) is not None


def test_latency_fault_delays_but_succeeds(fb, sandbox):
    sandbox.fault(platform="facebook", kind="latency", latency_ms=300, times=1)
    started = time.monotonic()
    fb.publish(req(), access_token=TOKEN)
    assert time.monotonic() - started >= 0.3


def test_rules_filter_by_account_and_text(fb, sandbox):
    sandbox.fault(platform="facebook", account_id="999", kind="server_error")
    sandbox.fault(platform="facebook", text_contains="[fail]", kind="permanent")
    fb.publish(req(), access_token=TOKEN)
    with pytest.raises(TransientPlatformError):
        fb.publish(req(page="999"), access_token=TOKEN)
    with pytest.raises(PermanentPlatformError):
        fb.publish(req("This one should [fail]"), access_token=TOKEN)
    sandbox.fault(platform="x", kind="server_error")  # another platform: no effect
    fb.publish(req("Second"), access_token=TOKEN)


def test_times_consumes_the_rule(fb, sandbox):
    rule = sandbox.fault(platform="facebook", kind="server_error", times=2)
    for _ in range(2):
        with pytest.raises(TransientPlatformError):
            fb.publish(req(), access_token=TOKEN)
    fb.publish(req(), access_token=TOKEN)
    [state] = [r for r in sandbox.faults() if r["id"] == rule["id"]]
    assert (state["remaining"], state["fired"]) == (0, 2)


def test_in_band_transient_trigger(fb, sandbox):
    text = "Launch day #sandbox-fail-transient-2"
    for _ in range(2):
        with pytest.raises(TransientPlatformError) as info:
            fb.publish(req(text), access_token=TOKEN)
        assert info.value.code == "PLATFORM_5XX"
    fb.publish(req(text), access_token=TOKEN)
    with pytest.raises(TransientPlatformError):  # counted per account
        fb.publish(req(text, page="999"), access_token=TOKEN)


def test_reset_clears_ledger_faults_and_counters(fb, sandbox):
    text = "Reset me #sandbox-fail-transient-1"
    with pytest.raises(TransientPlatformError):
        fb.publish(req(text), access_token=TOKEN)
    fb.publish(req(text), access_token=TOKEN)
    sandbox.fault(kind="server_error")
    sandbox.reset()
    assert sandbox.ledger() == []
    assert sandbox.faults() == []
    with pytest.raises(TransientPlatformError):  # the counter restarted
        fb.publish(req(text), access_token=TOKEN)
    fb.publish(req(text), access_token=TOKEN)


def test_connection_refused_is_network():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = FacebookConnector(base_url=f"http://127.0.0.1:{port}", timeout_s=1.0)
    with pytest.raises(TransientPlatformError) as info:
        dead.publish(req(), access_token=TOKEN)
    assert info.value.code == "NETWORK"
    assert TOKEN not in str(info.value)


def test_wrong_graph_version_is_a_permanent_error(sandbox):
    bad = FacebookConnector(
        base_url=sandbox.base_url, timeout_s=2.0, graph_version="latest", session=requests.Session()
    )
    with pytest.raises(PermanentPlatformError) as info:
        bad.publish(req(), access_token=TOKEN)
    assert info.value.code == "INVALID_REQUEST"
