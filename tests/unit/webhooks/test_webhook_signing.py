"""Signing in the Standard Webhooks format, checked against the specification's test vector and
verified with the ``standardwebhooks`` library, as a receiver would."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from sharecast.webhooks import signing

#: The test vector of the library's own tests: standard-webhooks/standard-webhooks,
#: libraries/python/tests/test_webhooks.py, test_sign_function (key, message id, timestamp,
#: payload and the expected signature, copied as recorded there).
VECTOR_KEY = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_PAYLOAD = '{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_headers_match_the_specification_vector():
    at = datetime.fromtimestamp(VECTOR_TIMESTAMP, tz=UTC)
    headers = signing.headers(
        message_id=VECTOR_MSG_ID, timestamp=at, body=VECTOR_PAYLOAD, secrets=[VECTOR_KEY]
    )
    assert headers == {
        "Content-Type": "application/json",
        "webhook-id": VECTOR_MSG_ID,
        "webhook-timestamp": str(VECTOR_TIMESTAMP),
        "webhook-signature": VECTOR_SIGNATURE,
    }


def test_new_secrets_have_the_whsec_format_and_verify():
    secret = signing.new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert secret != signing.new_secret()
    now = datetime.now(UTC)
    body = '{"id":"1","type":"ping","data":{}}'
    headers = signing.headers(message_id="msg_1", timestamp=now, body=body, secrets=[secret])
    assert Webhook(secret).verify(body, headers) == {"id": "1", "type": "ping", "data": {}}


def test_during_a_rotation_either_secret_verifies_and_no_other():
    old, new = signing.new_secret(), signing.new_secret()
    now = datetime.now(UTC)
    body = '{"a":1}'
    headers = signing.headers(message_id="msg_2", timestamp=now, body=body, secrets=[new, old])
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(body, headers) == {"a": 1}
    assert Webhook(new).verify(body, headers) == {"a": 1}
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify('{"a":2}', headers)  # altered body


def test_stale_attempts_fail_verification():
    secret = signing.new_secret()
    then = datetime.now(UTC) - timedelta(minutes=10)
    headers = signing.headers(message_id="msg_3", timestamp=then, body="{}", secrets=[secret])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify("{}", headers)


def test_a_delivery_needs_a_secret():
    with pytest.raises(ValueError, match="secret"):
        signing.headers(message_id="m", timestamp=datetime.now(UTC), body="{}", secrets=[])
