"""The X API v2 error classifier and text helpers (bodies per docs/networks.md#x,
docs/networks.md#recorded-shapes)."""

from __future__ import annotations

import unicodedata
from email.utils import formatdate

import pytest

from sharecast.platforms.base import PublishRequest
from sharecast.platforms.errors import (
    AuthExpiredError,
    BillingError,
    DuplicateContentError,
    PermanentPlatformError,
    TransientPlatformError,
)
from sharecast.platforms.x import classify_x_error, compose_text, normalize_text, retry_after_s

NOW = 1_635_975_518.0  # 900 s before the reset in tweepy's recorded cassette

# akrherz/iembot#163 (headers as in plhery/node-twitter-api-v2#469)
DUPLICATE = {
    "detail": "You are not allowed to create a Tweet with duplicate content.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}
DUPLICATE_HEADERS = {
    "x-rate-limit-limit": "40000",
    "x-rate-limit-remaining": "39999",
    "x-rate-limit-reset": "1635976418",
    "api-version": "2.62",
}
TOO_MANY = {
    "title": "Too Many Requests",
    "detail": "Too Many Requests",
    "type": "about:blank",
    "status": 429,
}
LEGACY_429 = {"errors": [{"code": 88, "message": "Rate limit exceeded"}]}
USAGE_CAPPED = {
    "title": "UsageCapExceeded",
    "detail": "Usage cap exceeded: Monthly product cap",
    "type": "https://api.x.com/2/problems/usage-capped",
    "period": "Monthly",
    "scope": "Product",
}
UNAUTHORIZED = {
    "title": "Unauthorized",
    "type": "about:blank",
    "status": 401,
    "detail": "Unauthorized",
}
CLIENT_FORBIDDEN = {
    "title": "Client Forbidden",
    "reason": "client-not-enrolled",
    "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use keys "
    "and tokens from a Twitter developer App that is attached to a Project.",
    "type": "https://api.twitter.com/2/problems/client-forbidden",
    "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
}
INVALID = {
    "errors": [
        {
            "message": "$.foo: is not defined in the schema and the schema does not "
            "allow additional properties"
        }
    ],
    "title": "Invalid Request",
    "detail": "One or more parameters to your request was invalid.",
    "type": "https://api.x.com/2/problems/invalid-request",
}
NOT_FOUND = {
    "title": "Not Found Error",
    "detail": "Could not find tweet with id: [1].",
    "type": "https://api.x.com/2/problems/resource-not-found",
}


def test_duplicate_content():
    err = classify_x_error(403, DUPLICATE, DUPLICATE_HEADERS, now=NOW)
    assert isinstance(err, DuplicateContentError)
    assert (err.code, err.retryable, err.http_status) == ("DUPLICATE_CONTENT", False, 403)
    assert "duplicate content" in err.message


def test_legacy_duplicate_code_187():
    body = {"errors": [{"code": 187, "message": "Status is a duplicate."}]}
    assert isinstance(classify_x_error(403, body), DuplicateContentError)


def test_rate_limited_waits_until_reset():
    headers = {
        "x-rate-limit-limit": "100",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": "1635976418",
    }
    err = classify_x_error(429, TOO_MANY, headers, now=NOW)
    assert isinstance(err, TransientPlatformError)
    assert (err.code, err.retry_after_s) == ("RATE_LIMITED", 900)


def test_legacy_rate_limit_body():
    headers = {"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": str(int(NOW) + 60)}
    err = classify_x_error(429, LEGACY_429, headers, now=NOW)
    assert (err.code, err.retry_after_s) == ("RATE_LIMITED", 60)
    assert "Rate limit exceeded (code 88)" in err.message


def test_retry_after_header_wins():
    headers = {
        "retry-after": "30",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(int(NOW) + 900),
    }
    assert classify_x_error(429, TOO_MANY, headers, now=NOW).retry_after_s == 30


def test_retry_after_http_date():
    headers = {"Retry-After": formatdate(NOW + 120, usegmt=True)}
    assert retry_after_s(headers, now=NOW) == pytest.approx(120)


def test_daily_cap_exhausted_waits_for_its_reset():
    headers = {
        "x-rate-limit-remaining": "57",
        "x-rate-limit-reset": str(int(NOW) + 600),
        "x-app-limit-24hour-limit": "10000",
        "x-app-limit-24hour-remaining": "0",
        "x-app-limit-24hour-reset": str(int(NOW) + 3600),
    }
    assert classify_x_error(429, TOO_MANY, headers, now=NOW).retry_after_s == 3600


def test_rate_limit_without_headers_has_no_wait():
    err = classify_x_error(429, TOO_MANY, {}, now=NOW)
    assert (err.code, err.retry_after_s, err.retryable) == ("RATE_LIMITED", None, True)


def test_reset_in_the_past_means_no_wait():
    headers = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(NOW) - 5)}
    assert retry_after_s(headers, now=NOW) == 0


def test_usage_capped_is_permanent():
    err = classify_x_error(429, USAGE_CAPPED, {"x-rate-limit-remaining": "0"}, now=NOW)
    assert type(err) is PermanentPlatformError
    assert (err.code, err.retryable) == ("USAGE_CAPPED", False)


def test_credits_depleted_is_a_billing_problem():
    # The 402 body X sends when the developer account has no credits left (pay-per-use);
    # recorded status and headers: tests/conformance/fixtures/x/credits_depleted_402.json.
    body = {
        "title": "CreditsDepleted",
        "detail": "Your enrolled account [2059529979700846592] does not have any credits to "
        "fulfill this request.",
        "type": "https://api.twitter.com/2/problems/credits",
    }
    err = classify_x_error(402, body, {}, now=NOW)
    assert isinstance(err, BillingError)
    assert (err.code, err.retryable, err.http_status) == ("BILLING", False, 402)
    assert "does not have any credits" in err.message


def test_reset_is_measured_from_the_answers_date():
    # x-rate-limit-reset is the server's epoch second: the wait is taken from its Date header,
    # so a skewed local clock changes nothing.
    headers = {
        "date": "Fri, 26 Jun 2020 15:19:39 GMT",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": "1593185073",
    }
    assert retry_after_s(headers) == 294


def test_unauthorized_is_auth_expired():
    err = classify_x_error(401, UNAUTHORIZED)
    assert isinstance(err, AuthExpiredError)
    assert (err.code, err.retryable) == ("TOKEN_EXPIRED", True)


@pytest.mark.parametrize(("status", "body"), [(401, UNAUTHORIZED), (429, TOO_MANY)])
def test_a_detail_that_repeats_the_title_is_said_once(status, body):
    assert body["title"] == body["detail"]  # as X sends them
    assert classify_x_error(status, body, {}, now=NOW).message == body["title"]


def test_title_and_a_different_detail_are_both_kept():
    assert classify_x_error(403, DUPLICATE, DUPLICATE_HEADERS, now=NOW).message == (
        "Forbidden: You are not allowed to create a Tweet with duplicate content."
    )


@pytest.mark.parametrize(
    "body",
    [
        CLIENT_FORBIDDEN,
        {
            "title": "Forbidden",
            "type": "about:blank",
            "status": 403,
            "detail": "You are not permitted to perform this action.",
        },
    ],
)
def test_other_forbidden_is_permission_denied(body):
    err = classify_x_error(403, body)
    assert type(err) is PermanentPlatformError
    assert err.code == "PERMISSION_DENIED"


def test_forbidden_too_long_is_invalid_request():
    body = {
        "title": "Forbidden",
        "type": "about:blank",
        "status": 403,
        "detail": "Your Tweet text is too long.",
    }
    assert classify_x_error(403, body).code == "INVALID_REQUEST"


def test_invalid_request():
    err = classify_x_error(400, INVALID)
    assert (type(err), err.code) == (PermanentPlatformError, "INVALID_REQUEST")
    assert "$.foo" in err.message


def test_not_found():
    err = classify_x_error(404, NOT_FOUND)
    assert (type(err), err.code) == (PermanentPlatformError, "NOT_FOUND")


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_transient(status):
    body = {
        "title": "Service Unavailable",
        "detail": "Service Unavailable",
        "type": "about:blank",
        "status": status,
    }
    err = classify_x_error(status, body, {"x-rate-limit-reset": str(int(NOW) + 900)}, now=NOW)
    assert isinstance(err, TransientPlatformError)
    assert (err.code, err.retry_after_s, err.http_status) == ("PLATFORM_5XX", None, status)


def test_server_error_honours_retry_after():
    err = classify_x_error(503, None, {"Retry-After": "10"}, now=NOW)
    assert (err.code, err.retry_after_s) == ("PLATFORM_5XX", 10)
    assert err.message == "HTTP 503"


def test_request_timeout_is_network():
    err = classify_x_error(408, None)
    assert isinstance(err, TransientPlatformError)
    assert err.code == "NETWORK"


def test_compose_text_appends_missing_link_only():
    req = PublishRequest(
        account_id="1", text="Read this", target_key="p/t", link="https://example.com/a"
    )
    assert compose_text(req) == "Read this\nhttps://example.com/a"
    inline = PublishRequest(
        account_id="1",
        text="See https://example.com/a now",
        target_key="p/t",
        link="https://example.com/a",
    )
    assert compose_text(inline) == "See https://example.com/a now"
    assert (
        compose_text(PublishRequest(account_id="1", text="", target_key="p/t", link="https://e.x"))
        == "https://e.x"
    )


def test_normalize_text_expands_tco_and_unescapes():
    entities = {
        "urls": [
            {
                "start": 10,
                "end": 33,
                "url": "https://t.co/abcdefghij",
                "expanded_url": "https://example.com/a",
                "display_url": "example.com/a",
            }
        ]
    }
    returned = "Q&amp;A at https://t.co/abcdefghij "
    assert normalize_text(returned, entities) == "Q&A at https://example.com/a"
    nfd = unicodedata.normalize("NFD", "Café crème")
    assert normalize_text(nfd) == unicodedata.normalize("NFC", "Café crème")
