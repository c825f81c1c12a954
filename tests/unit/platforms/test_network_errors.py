"""Error classifiers of Instagram, Threads, LinkedIn and Google (YouTube), family by family
(bodies shaped as in docs/networks.md#meta-graph-api-errors, docs/networks.md#linkedin,
docs/networks.md#youtube, docs/networks.md#recorded-shapes)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sharecast.platforms.errors import (
    AuthExpiredError,
    DuplicateContentError,
    PermanentPlatformError,
    TransientPlatformError,
)
from sharecast.platforms.instagram import classify_instagram_error
from sharecast.platforms.linkedin import classify_linkedin_error, escape_little_text
from sharecast.platforms.threads import classify_threads_error
from sharecast.platforms.youtube import (
    _next_offset,
    classify_google_error,
    seconds_until_quota_reset,
)


def graph(code, subcode=None, is_transient=None, message="error"):
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "A1"}
    if subcode is not None:
        error["error_subcode"] = subcode
    if is_transient is not None:
        error["is_transient"] = is_transient
    return {"error": error}


def buc(minutes):
    usage = [{"type": "instagram", "call_count": 100, "estimated_time_to_regain_access": minutes}]
    return {"X-Business-Use-Case-Usage": json.dumps({"1784": usage})}


@pytest.mark.parametrize(
    ("body", "headers", "cls", "code", "wait"),
    [
        (graph(36000, 2207004, False), {}, PermanentPlatformError, "MEDIA_REJECTED", None),
        (graph(36000, 2207057), {}, PermanentPlatformError, "MEDIA_REJECTED", None),
        (graph(-1, 2207001, True), {}, TransientPlatformError, "MEDIA_PROCESSING", None),
        (graph(-2, 2207003), {}, TransientPlatformError, "MEDIA_PROCESSING", None),
        (graph(-2, 2207032), {}, TransientPlatformError, "MEDIA_PROCESSING", None),
        (graph(-2, 2207020), {}, TransientPlatformError, "CONTAINER_FAILED", None),
        (graph(-2, 2207053), {}, TransientPlatformError, "CONTAINER_FAILED", None),
        (graph(80002, is_transient=True), buc(7), TransientPlatformError, "THROTTLED", 420.0),
        (graph(4), {}, TransientPlatformError, "THROTTLED", None),
        (graph(190, 463), {}, AuthExpiredError, "TOKEN_EXPIRED", None),
        (graph(10), {}, PermanentPlatformError, "PERMISSION_DENIED", None),
        (graph(100), {}, PermanentPlatformError, "INVALID_REQUEST", None),
        (graph(368), {}, TransientPlatformError, "POLICY_BLOCKED", 3600.0),
    ],
)
def test_instagram(body, headers, cls, code, wait):
    error = classify_instagram_error(400, body, headers)
    assert (type(error), error.code, error.retry_after_s) == (cls, code, wait)


def test_instagram_media_not_ready_is_its_own_code():
    error = classify_instagram_error(400, graph(9007, 2207027), {})
    assert (type(error), error.code) == (TransientPlatformError, "MEDIA_NOT_READY")


def test_instagram_quota_subcode_is_transient():
    error = classify_instagram_error(400, graph(9, 2207042), {})
    assert (type(error), error.code) == (TransientPlatformError, "QUOTA_EXCEEDED")


def test_threads_media_not_found_means_not_ready():
    # fbsamples/threads_api#70: threads_publish answers 24/4279009 right after FINISHED.
    body = graph(24, 4279009, False, message="The requested resource does not exist")
    error = classify_threads_error(400, body, {})
    assert (type(error), error.code) == (TransientPlatformError, "MEDIA_NOT_READY")


def test_threads_uses_the_graph_table():
    assert classify_threads_error(500, graph(2, is_transient=True)).code == "PLATFORM_5XX"
    assert isinstance(classify_threads_error(400, graph(506)), DuplicateContentError)
    assert classify_threads_error(400, graph(1, is_transient=True)).retryable


@pytest.mark.parametrize(
    ("status", "body", "headers", "cls", "code", "wait"),
    [
        (
            422,
            {
                "message": "Content is a duplicate of urn:li:share:7141138937766391808",
                "status": 422,
                "code": "DUPLICATE_POST",
            },
            {},
            DuplicateContentError,
            "DUPLICATE_CONTENT",
            None,
        ),
        (
            422,
            {  # Arisamiga/Linkedin-RSS#5: the code under errorDetails, none at the top
                "errorDetailType": "com.linkedin.common.error.BadRequest",
                "message": "com.linkedin.content.common.exception.BadRequestResponseException: "
                "Content is a duplicate of urn:li:share:7141138937766391808",
                "errorDetails": {
                    "inputErrors": [
                        {
                            "description": "Duplicate post is detected",
                            "input": {},
                            "code": "DUPLICATE_POST",
                        }
                    ]
                },
                "status": 422,
            },
            {},
            DuplicateContentError,
            "DUPLICATE_CONTENT",
            None,
        ),
        (
            426,
            {
                "status": 426,
                "code": "NONEXISTENT_VERSION",
                "message": "Requested version 20250201 is not active",
            },
            {},
            PermanentPlatformError,
            "API_VERSION_INACTIVE",
            None,
        ),
        (
            429,
            {"message": "throttle", "status": 429},
            {"Retry-After": "60"},
            TransientPlatformError,
            "RATE_LIMITED",
            60.0,
        ),
        (
            429,
            {"message": "throttle", "status": 429},
            {},
            TransientPlatformError,
            "RATE_LIMITED",
            None,
        ),
        (
            401,
            {"serviceErrorCode": 65601, "status": 401},
            {},
            AuthExpiredError,
            "TOKEN_EXPIRED",
            None,
        ),
        (
            403,
            {"message": "no", "status": 403},
            {},
            PermanentPlatformError,
            "PERMISSION_DENIED",
            None,
        ),
        (503, None, {}, TransientPlatformError, "PLATFORM_5XX", None),
        (
            400,
            {"message": "bad", "status": 400},
            {},
            PermanentPlatformError,
            "INVALID_REQUEST",
            None,
        ),
    ],
)
def test_linkedin(status, body, headers, cls, code, wait):
    error = classify_linkedin_error(status, body, headers)
    assert (type(error), error.code, error.retry_after_s) == (cls, code, wait)


def test_linkedin_duplicate_names_the_existing_post():
    body = {
        "message": "com.linkedin.content.common.exception.BadRequestResponseException: "
        "Content is a duplicate of urn:li:share:7141138937766391808",
        "errorDetails": {"inputErrors": [{"code": "DUPLICATE_POST", "input": {}}]},
        "status": 422,
    }
    error = classify_linkedin_error(422, body, {})
    assert isinstance(error, DuplicateContentError)
    assert error.existing_id == "urn:li:share:7141138937766391808"
    assert (
        error.existing_url
        == "https://www.linkedin.com/feed/update/urn:li:share:7141138937766391808/"
    )


def test_little_text_escaping():
    assert escape_little_text("a (b) #c @d _e_ *f* ~g~ [h] {i|j} <k> \\l") == (
        "a \\(b\\) \\#c \\@d \\_e\\_ \\*f\\* \\~g\\~ \\[h\\] \\{i\\|j\\} \\<k\\> \\\\l"
    )
    assert escape_little_text("plain, text. ok!") == "plain, text. ok!"


def google(status, reason):
    return {
        "error": {"code": status, "message": reason, "errors": [{"domain": "d", "reason": reason}]}
    }


NOON_UTC = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # 04:00 in Los Angeles (PST)


@pytest.mark.parametrize(
    ("status", "reason", "cls", "code"),
    [
        (403, "rateLimitExceeded", TransientPlatformError, "RATE_LIMITED"),
        (403, "userRateLimitExceeded", TransientPlatformError, "RATE_LIMITED"),
        (429, "rateLimitExceeded", TransientPlatformError, "RATE_LIMITED"),
        (403, "quotaExceeded", PermanentPlatformError, "QUOTA_EXCEEDED"),
        (403, "dailyLimitExceeded", PermanentPlatformError, "QUOTA_EXCEEDED"),
        (400, "uploadLimitExceeded", PermanentPlatformError, "UPLOAD_LIMIT"),
        (401, "authError", AuthExpiredError, "TOKEN_EXPIRED"),
        (403, "forbidden", PermanentPlatformError, "PERMISSION_DENIED"),
        (400, "invalidTitle", PermanentPlatformError, "INVALID_REQUEST"),
        (500, "internalError", TransientPlatformError, "PLATFORM_5XX"),
        (503, "backendError", TransientPlatformError, "PLATFORM_5XX"),
    ],
)
def test_google(status, reason, cls, code):
    error = classify_google_error(status, google(status, reason), {}, now=NOON_UTC)
    assert (type(error), error.code) == (cls, code)
    assert reason in error.message


def test_quota_exceeded_says_when_the_pacific_day_ends():
    error = classify_google_error(403, google(403, "quotaExceeded"), {}, now=NOON_UTC)
    assert error.retry_after_s == 20 * 3600
    assert seconds_until_quota_reset(datetime(2026, 7, 1, 6, 59, tzinfo=UTC)) == 60  # PDT


def test_daily_limit_waits_for_the_pacific_midnight_like_quota():
    # tokland/youtube-upload#165: domain usageLimits, "The quota will be reset at midnight
    # Pacific Time (PT)".
    error = classify_google_error(403, google(403, "dailyLimitExceeded"), {}, now=NOON_UTC)
    assert error.retry_after_s == 20 * 3600


def test_quota_wait_is_measured_from_the_answers_date():
    headers = {"Date": "Wed, 06 Nov 2019 09:27:24 GMT"}  # ShareX/ShareX#4477
    error = classify_google_error(403, google(403, "quotaExceeded"), headers)
    assert error.retry_after_s == 81156


@pytest.mark.parametrize(
    ("value", "offset"),
    [("bytes=0-999999", 1_000_000), ("0-999999", 1_000_000), ("bytes 0-42", 43), (None, 0)],
)
def test_committed_offset_from_range(value, offset):
    headers = {} if value is None else {"Range": value}
    assert _next_offset(headers) == offset


@pytest.mark.parametrize("value", ["bytes=5-10", "items=0-3", "bytes=0-"])
def test_unreadable_range_is_not_taken_as_zero(value):
    with pytest.raises(TransientPlatformError) as info:
        _next_offset({"Range": value})
    assert info.value.code == "BAD_RESPONSE"
