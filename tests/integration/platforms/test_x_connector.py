"""XConnector against the sandbox over real HTTP."""

from __future__ import annotations

import hashlib
import json
import time
import unicodedata
from datetime import UTC, datetime, timedelta

import pytest

from sharecast.platforms.base import PublishRequest
from sharecast.platforms.errors import (
    AuthExpiredError,
    DuplicateContentError,
    PermanentPlatformError,
    TransientPlatformError,
)
from sharecast.platforms.x import XConnector

USER = "1450000000000000001"
TOKEN = f"sandbox:{USER}:secret-bearer-456"


def req(text="Hello from Sharecast", link=None, user=USER):
    return PublishRequest(account_id=user, text=text, target_key="post1/target2", link=link)


def ago(seconds=30):
    return datetime.now(UTC) - timedelta(seconds=seconds)


def test_publish_records_the_post(xc, sandbox):
    result = xc.publish(req(), access_token=TOKEN)

    assert result.external_id.isdigit()
    assert len(result.external_id) == 19
    assert result.external_url == f"https://x.com/i/web/status/{result.external_id}"
    [entry] = sandbox.ledger("x", USER)
    assert entry["id"] == result.external_id
    assert entry["text"] == "Hello from Sharecast"
    assert entry["token_fingerprint"] == hashlib.sha256(TOKEN.encode()).hexdigest()[:12]
    assert TOKEN not in json.dumps(sandbox.ledger())


def test_link_is_appended_to_the_text(xc, sandbox):
    xc.publish(req("Read this", link="https://example.com/a"), access_token=TOKEN)
    xc.publish(req("Also https://example.com/b", link="https://example.com/b"), access_token=TOKEN)
    texts = [p["text"] for p in sandbox.ledger("x")]
    assert texts == ["Read this\nhttps://example.com/a", "Also https://example.com/b"]
    found = xc.find_existing(
        req("Read this", link="https://example.com/a"), access_token=TOKEN, since=ago()
    )
    assert found is not None


@pytest.mark.parametrize(
    ("kind", "cls", "code", "status"),
    [
        ("server_error", TransientPlatformError, "PLATFORM_5XX", 503),
        ("duplicate", DuplicateContentError, "DUPLICATE_CONTENT", 403),
        ("token_expired", AuthExpiredError, "TOKEN_EXPIRED", 401),
        ("permanent", PermanentPlatformError, "INVALID_REQUEST", 400),
        ("permission_denied", PermanentPlatformError, "PERMISSION_DENIED", 403),
        ("usage_capped", PermanentPlatformError, "USAGE_CAPPED", 429),
    ],
)
def test_fault_kinds_map_to_errors(xc, sandbox, kind, cls, code, status):
    sandbox.fault(platform="x", kind=kind, times=1)

    with pytest.raises(cls) as info:
        xc.publish(req(), access_token=TOKEN)

    err = info.value
    assert type(err) is cls
    assert (err.code, err.http_status, err.retry_after_s) == (code, status, None)
    assert TOKEN not in str(err)
    assert sandbox.ledger() == []
    xc.publish(req(), access_token=TOKEN)
    assert len(sandbox.ledger()) == 1


def test_rate_limit_carries_the_reset_wait(xc, sandbox):
    sandbox.fault(platform="x", kind="rate_limit", retry_after_s=120, times=1)
    with pytest.raises(TransientPlatformError) as info:
        xc.publish(req(), access_token=TOKEN)
    assert info.value.code == "RATE_LIMITED"
    assert info.value.http_status == 429
    # Measured from the answer's Date header, which uvicorn refreshes once a second.
    assert info.value.retry_after_s is not None
    assert 118 <= info.value.retry_after_s <= 122


def test_same_text_twice_is_duplicate(xc, sandbox):
    xc.publish(req("Café crème"), access_token=TOKEN)
    with pytest.raises(DuplicateContentError):  # same text once NFC-normalized and trimmed
        xc.publish(req(unicodedata.normalize("NFD", "Café crème") + "  "), access_token=TOKEN)
    xc.publish(req("Café crème", user="42"), access_token="sandbox:42")  # another user
    assert len(sandbox.ledger()) == 2


def test_accept_then_drop_is_network_and_reconcilable(xc, sandbox):
    sandbox.fault(platform="x", account_id=USER, kind="accept_then_drop", times=1)
    started = ago(1)

    with pytest.raises(TransientPlatformError) as info:
        xc.publish(req(), access_token=TOKEN)

    assert info.value.code == "NETWORK"
    [entry] = sandbox.ledger("x", USER)
    assert entry["fault"] == "accept_then_drop"
    found = xc.find_existing(req(), access_token=TOKEN, since=started)
    assert found is not None
    assert found.external_id == entry["id"]
    with pytest.raises(DuplicateContentError):
        xc.publish(req(), access_token=TOKEN)


def test_accept_then_hang_times_out(sandbox):
    quick = XConnector(base_url=sandbox.base_url, timeout_s=0.3)
    sandbox.fault(platform="x", kind="accept_then_hang", latency_ms=1500, times=1)

    with pytest.raises(TransientPlatformError) as info:
        quick.publish(req(), access_token=TOKEN)

    assert info.value.code == "NETWORK"
    [entry] = sandbox.ledger("x")
    found = quick.find_existing(req(), access_token=TOKEN, since=ago())
    assert found is not None
    assert found.external_id == entry["id"]


def test_empty_success_is_unknown_outcome(xc, sandbox):
    sandbox.fault(platform="x", kind="accept_then_garble", times=1)
    with pytest.raises(TransientPlatformError) as info:
        xc.publish(req(), access_token=TOKEN)
    assert info.value.code == "UNKNOWN_OUTCOME"
    assert xc.find_existing(req(), access_token=TOKEN, since=ago()) is not None


def test_find_existing_none_when_absent(xc, sandbox):
    xc.publish(req("Something else"), access_token=TOKEN)
    xc.publish(req(user="42"), access_token="sandbox:42")
    assert xc.find_existing(req(), access_token=TOKEN, since=ago()) is None
    xc.publish(req(), access_token=TOKEN)
    assert xc.find_existing(req(), access_token=TOKEN, since=ago()) is not None
    future = datetime.now(UTC) + timedelta(seconds=5)
    assert xc.find_existing(req(), access_token=TOKEN, since=future) is None


def test_find_existing_matches_normalized_text(xc, sandbox):
    posted = xc.publish(req(unicodedata.normalize("NFD", "Ça démarre")), access_token=TOKEN)
    found = xc.find_existing(req("Ça démarre "), access_token=TOKEN, since=ago())
    assert found is not None
    assert found.external_id == posted.external_id


def test_find_existing_follows_pagination(xc, sandbox):
    target = xc.publish(req("The needle"), access_token=TOKEN)
    for i in range(120):
        xc.publish(req(f"Filler {i}"), access_token=TOKEN)
    found = xc.find_existing(req("The needle"), access_token=TOKEN, since=ago())
    assert found is not None
    assert found.external_id == target.external_id


def test_read_faults_reach_find_existing(xc, sandbox):
    sandbox.fault(platform="x", operation="read", kind="rate_limit", retry_after_s=60, times=1)
    xc.publish(req(), access_token=TOKEN)
    with pytest.raises(TransientPlatformError) as info:
        xc.find_existing(req(), access_token=TOKEN, since=ago())
    assert info.value.code == "RATE_LIMITED"
    sandbox.fault(platform="x", operation="read", kind="accept_then_drop", times=1)
    with pytest.raises(TransientPlatformError) as info:
        xc.find_existing(req(), access_token=TOKEN, since=ago())
    assert info.value.code == "NETWORK"
    assert xc.find_existing(req(), access_token=TOKEN, since=ago()) is not None


def test_latency_and_error_rules_combine(xc, sandbox):
    sandbox.fault(platform="x", kind="latency", latency_ms=200, times=1)
    first = sandbox.fault(platform="x", kind="server_error", times=1)
    second = sandbox.fault(platform="x", kind="permanent", times=1)
    started = time.monotonic()
    with pytest.raises(TransientPlatformError):
        xc.publish(req(), access_token=TOKEN)
    assert time.monotonic() - started >= 0.2
    states = {r["id"]: r for r in sandbox.faults()}
    assert states[first["id"]]["remaining"] == 0
    assert states[second["id"]]["remaining"] == 1  # not evaluated this time
    with pytest.raises(PermanentPlatformError):
        xc.publish(req(), access_token=TOKEN)
    xc.publish(req(), access_token=TOKEN)


def test_probability_is_seeded(xc, sandbox):
    def run():
        sandbox.reset(seed=1234)
        sandbox.fault(platform="x", kind="server_error", probability=0.5)
        outcomes = []
        for i in range(30):
            try:
                xc.publish(req(f"Post {i}"), access_token=TOKEN)
                outcomes.append(True)
            except TransientPlatformError:
                outcomes.append(False)
        return outcomes

    first = run()
    assert 5 <= first.count(False) <= 25
    assert run() == first


def test_in_band_transient_trigger(xc, sandbox):
    text = "Launch day #sandbox-fail-transient-1"
    with pytest.raises(TransientPlatformError) as info:
        xc.publish(req(text), access_token=TOKEN)
    assert info.value.code == "PLATFORM_5XX"
    xc.publish(req(text), access_token=TOKEN)
    assert [p["text"] for p in sandbox.ledger("x")] == [text]


def test_reset_clears_everything(xc, sandbox):
    xc.publish(req(), access_token=TOKEN)
    sandbox.fault(platform="x", kind="server_error")
    sandbox.reset()
    assert sandbox.ledger() == []
    assert sandbox.faults() == []
    xc.publish(req(), access_token=TOKEN)  # neither faulted nor a duplicate


def test_missing_token_is_auth_expired(xc, sandbox):
    with pytest.raises(AuthExpiredError):
        xc.publish(req(), access_token="")
