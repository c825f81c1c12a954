"""The Graph API error classifier, over each error family (bodies shaped per docs/networks.md)."""

from __future__ import annotations

import json

import pytest

from sharecast.platforms.errors import (
    AuthExpiredError,
    DuplicateContentError,
    PermanentPlatformError,
    TransientPlatformError,
)
from sharecast.platforms.facebook import buc_retry_after_s, classify_graph_error


def graph(code, message="error", *, subcode=None, is_transient=None, **extra):
    error = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AQt_hJ68vFybS4TnupatNtX",
        **extra,
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    if is_transient is not None:
        error["is_transient"] = is_transient
    return {"error": error}


def buc(minutes, page="112233445566", **usage):
    entry = {
        "type": "pages",
        "call_count": 100,
        "total_cputime": 22,
        "total_time": 31,
        "estimated_time_to_regain_access": minutes,
        **usage,
    }
    return {"X-Business-Use-Case-Usage": json.dumps({page: [entry]})}


# python-facebook testdata/base/error_data.json (a real-looking #100 OAuthException)
PERMISSION_100 = {
    "error": {
        "message": "(#100) Object does not exist, cannot be loaded due to missing permission or "
        "reviewable feature, or does not support this operation. This endpoint requires the "
        "'pages_read_engagement' permission or the 'Page Public Content Access' feature.",
        "type": "OAuthException",
        "code": 100,
        "fbtrace_id": "AQt_hJ68vFybS4TnupatNtX",
    }
}

DUPLICATE_506 = graph(
    506,
    "Duplicate status message",
    subcode=1455006,
    is_transient=False,
    error_user_title="Duplicate Status Update",
    error_user_msg="This status update is identical to the last one you posted.",
)


def test_duplicate_is_permanent_duplicate_content():
    err = classify_graph_error(400, DUPLICATE_506, {})
    assert isinstance(err, DuplicateContentError)
    assert (err.code, err.retryable, err.http_status) == ("DUPLICATE_CONTENT", False, 400)
    assert "Duplicate status message" in err.message
    assert "code 506" in err.message
    assert "AQt_hJ68vFybS4TnupatNtX" in err.message


def test_duplicate_wins_over_is_transient():
    err = classify_graph_error(400, graph(506, is_transient=True), {})
    assert isinstance(err, DuplicateContentError)


@pytest.mark.parametrize(
    ("code", "subcode"),
    [(190, 463), (190, 460), (190, None), (102, None), (104, None), (200, 458), (10, 467)],
)
def test_token_problems_are_auth_expired(code, subcode):
    err = classify_graph_error(400, graph(code, "Error validating access token", subcode=subcode))
    assert isinstance(err, AuthExpiredError)
    assert err.code == "TOKEN_EXPIRED"
    assert err.retryable


@pytest.mark.parametrize("code", [4, 17, 32, 341, 613, 80001, 80002, 80006, 80014])
def test_throttling_codes_are_transient_throttled(code):
    err = classify_graph_error(400, graph(code, "Too many calls", is_transient=True), {})
    assert isinstance(err, TransientPlatformError)
    assert err.code == "THROTTLED"
    assert err.retry_after_s is None


def test_throttle_wait_comes_from_buc_minutes():
    err = classify_graph_error(400, graph(80001, is_transient=True), buc(7))
    assert err.code == "THROTTLED"
    assert err.retry_after_s == 7 * 60


def test_throttle_code_stays_transient_when_flagged_not_transient():
    err = classify_graph_error(
        400, graph(4, "Application request limit reached", is_transient=False)
    )
    assert isinstance(err, TransientPlatformError)
    assert err.code == "THROTTLED"


def test_policy_block_waits_an_hour_at_least():
    body = graph(
        368,
        "It looks like you were misusing this feature by going too fast.",
        subcode=1390008,
        is_transient=False,
    )
    err = classify_graph_error(400, body, {})
    assert isinstance(err, TransientPlatformError)
    assert (err.code, err.retry_after_s) == ("POLICY_BLOCKED", 3600)
    longer = classify_graph_error(400, body, buc(120))
    assert longer.retry_after_s == 7200


@pytest.mark.parametrize("subcode", [1404082, None])
def test_already_posted_368_is_a_duplicate(subcode):
    # arsduo/koala#422 (recorded without a subcode: the message says it); newer answers carry
    # subcode 1404082. Not a policy block to retry hourly: the post is already there.
    body = graph(
        368,
        "You've already posted this. Posting the same content repeatedly on Facebook isn't "
        "allowed.",
        subcode=subcode,
    )
    err = classify_graph_error(400, body, {})
    assert isinstance(err, DuplicateContentError)
    assert (err.code, err.retryable) == ("DUPLICATE_CONTENT", False)


@pytest.mark.parametrize("code", [1, 2])
def test_codes_1_and_2_flagged_not_transient_under_500_are_validation(code):
    # Meta's Instagram error table lists code 1 (subcode 2207057, a thumbnail offset out of
    # range) under HTTP 400 as a user-facing validation error; is_transient: false says so.
    body = graph(
        code,
        "Invalid parameter",
        subcode=2207057,
        is_transient=False,
        error_user_msg="Thumbnail offset must be greater than or equal to 0",
    )
    err = classify_graph_error(400, body, {})
    assert type(err) is PermanentPlatformError
    assert err.code == "INVALID_REQUEST"
    assert "Thumbnail offset" in err.message
    # Flagged not transient but answered 5xx, or not flagged at all: still a server problem.
    assert classify_graph_error(500, body, {}).code == "PLATFORM_5XX"
    unflagged = graph(code, "An unknown error occurred", subcode=99)
    assert classify_graph_error(400, unflagged, {}).code == "PLATFORM_5XX"


@pytest.mark.parametrize(("status", "code"), [(500, 2), (500, 1), (400, 2), (503, 9999)])
def test_service_errors_are_platform_5xx(status, code):
    body = graph(
        code,
        "An unexpected error has occurred. Please retry your request later.",
        is_transient=True,
    )
    err = classify_graph_error(status, body)
    assert isinstance(err, TransientPlatformError)
    assert err.code == "PLATFORM_5XX"
    assert err.http_status == status


def test_unknown_code_marked_transient_is_throttled():
    err = classify_graph_error(400, graph(12345, "Please try again", is_transient=True), buc(3))
    assert isinstance(err, TransientPlatformError)
    assert (err.code, err.retry_after_s) == ("THROTTLED", 180)


@pytest.mark.parametrize("code", [3, 10, 200, 230, 299])
def test_permission_codes_are_permanent(code):
    err = classify_graph_error(403, graph(code, "(#200) Permissions error", is_transient=False))
    assert type(err) is PermanentPlatformError
    assert err.code == "PERMISSION_DENIED"
    assert not err.retryable


def test_invalid_parameter_is_invalid_request():
    err = classify_graph_error(400, PERMISSION_100)
    assert type(err) is PermanentPlatformError
    assert err.code == "INVALID_REQUEST"
    assert "pages_read_engagement" in err.message


@pytest.mark.parametrize(("code", "subcode"), [(803, None), (100, 33)])
def test_missing_objects_are_not_found(code, subcode):
    err = classify_graph_error(
        400, graph(code, "(#803) Some of the aliases do not exist", subcode=subcode)
    )
    assert (type(err), err.code) == (PermanentPlatformError, "NOT_FOUND")


def test_link_scrape_failure_is_permanent():
    err = classify_graph_error(400, graph(1609005, "Error posting link"))
    assert (type(err), err.code) == (PermanentPlatformError, "INVALID_REQUEST")


def test_string_codes_are_understood():
    err = classify_graph_error(400, graph("190", subcode="463"))
    assert isinstance(err, AuthExpiredError)


@pytest.mark.parametrize(
    ("status", "cls", "code"),
    [
        (502, TransientPlatformError, "PLATFORM_5XX"),
        (504, TransientPlatformError, "PLATFORM_5XX"),
        (429, TransientPlatformError, "RATE_LIMITED"),
        (401, AuthExpiredError, "TOKEN_EXPIRED"),
        (403, PermanentPlatformError, "PERMISSION_DENIED"),
        (404, PermanentPlatformError, "NOT_FOUND"),
        (400, PermanentPlatformError, "INVALID_REQUEST"),
    ],
)
def test_without_graph_error_the_status_decides(status, cls, code):
    for body in (None, "<html>Bad Gateway</html>", {"unexpected": True}, {"error": "text"}):
        err = classify_graph_error(status, body, {})
        assert type(err) is cls
        assert err.code == code
        assert err.http_status == status


def test_buc_header_parsing():
    assert buc_retry_after_s({}) is None
    assert buc_retry_after_s({"x-business-use-case-usage": "not json"}) is None
    assert buc_retry_after_s(buc(0)) is None
    assert buc_retry_after_s({"x-business-use-case-usage": json.dumps({"1": "nonsense"})}) is None
    two = {
        "1": [
            {"type": "pages", "estimated_time_to_regain_access": 2},
            {"type": "instagram", "estimated_time_to_regain_access": 9},
        ],
        "2": [{"type": "pages", "estimated_time_to_regain_access": 4}],
    }
    assert buc_retry_after_s({"X-BUSINESS-USE-CASE-USAGE": json.dumps(two)}) == 9 * 60
