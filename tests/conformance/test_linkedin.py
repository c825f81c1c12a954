"""LinkedInConnector against answers LinkedIn really sent (bodies in bug reports, LinkedIn's own
client tests)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sharecast.platforms.base import MemoryStepLog, PublishRequest, PublishResult
from sharecast.platforms.errors import (
    AuthExpiredError,
    DuplicateContentError,
    PermanentPlatformError,
)
from sharecast.platforms.errors import PlatformError as PlatformErrorType
from sharecast.platforms.linkedin import LinkedInConnector

TOKEN = "recorded-linkedin-token"
URN = "urn:li:share:7141138937766391808"


@pytest.fixture
def li(player, http):
    return LinkedInConnector(base_url=player.base_url, version="202601", timeout_s=5, session=http)


def req(account="abc123"):
    return PublishRequest(account_id=account, text="Hello (LinkedIn)", target_key="p/t")


def test_create_answers_the_urn_in_x_restli_id(player, li):
    player.play("linkedin/create_post_201_restli_id")
    result = li.publish(req(), access_token=TOKEN, steps=MemoryStepLog())
    assert result == PublishResult(URN, f"https://www.linkedin.com/feed/update/{URN}/")
    [sent] = player.received
    assert sent.headers["LinkedIn-Version"] == "202601"
    assert sent.headers["X-Restli-Protocol-Version"] == "2.0.0"
    body = json.loads(sent.body)
    assert body["author"] == "urn:li:person:abc123"
    assert body["commentary"] == "Hello \\(LinkedIn\\)"
    player.done()


@pytest.mark.parametrize(
    ("name", "cls", "code"),
    [
        ("linkedin/version_inactive_426", PermanentPlatformError, "API_VERSION_INACTIVE"),
        ("linkedin/invalid_token_401", AuthExpiredError, "TOKEN_EXPIRED"),
        ("linkedin/not_enough_permissions_403", PermanentPlatformError, "PERMISSION_DENIED"),
        ("linkedin/access_denied_403_with_code", PermanentPlatformError, "PERMISSION_DENIED"),
    ],
)
def test_errors_are_classified(player, li, name, cls, code):
    fixture = player.play(name)
    with pytest.raises(PlatformErrorType) as info:
        li.publish(req(), access_token=TOKEN, steps=MemoryStepLog())
    assert (type(info.value), info.value.code) == (cls, code)
    assert info.value.http_status == fixture.response()["status"]
    player.done()


def test_duplicate_names_the_existing_post_and_reconciliation_uses_it(player, li):
    """LinkedIn's real duplicate answer puts DUPLICATE_POST under
    errorDetails.inputErrors[].code and names the existing post's URN in its message: the
    error carries that URN, and find_existing answers it without searching (which members'
    posts could not be: no r_member_social)."""
    player.play("linkedin/duplicate_post_422")
    steps = MemoryStepLog()
    with pytest.raises(DuplicateContentError) as info:
        li.publish(req(), access_token=TOKEN, steps=steps)
    error = info.value
    assert (error.code, error.http_status) == ("DUPLICATE_CONTENT", 422)
    assert error.existing_id == URN
    assert error.existing_url == f"https://www.linkedin.com/feed/update/{URN}/"
    found = li.find_existing(req(), access_token=TOKEN, since=datetime.now(UTC), steps=steps)
    assert found == PublishResult(URN, f"https://www.linkedin.com/feed/update/{URN}/")
    player.done()  # no finder call was made
