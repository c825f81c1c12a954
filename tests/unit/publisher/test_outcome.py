"""How the publisher reads an error (pure): which codes leave a post possibly created on the
network, and how a billing refusal is worded for the user."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sharecast.config import Settings
from sharecast.domain.models import TargetRecord
from sharecast.domain.statuses import Platform, TargetStatus
from sharecast.platforms.errors import (
    BillingError,
    PermanentPlatformError,
    PlatformError,
    TransientPlatformError,
)
from sharecast.publisher.outcome import Outcome, OutcomeKind, error_message, maybe_posted

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("code", "posted"),
    [
        # No answer, or an answer that says nothing about the post: it may exist.
        ("NETWORK", True),
        ("TIMEOUT", True),
        ("UNKNOWN_OUTCOME", True),
        ("PLATFORM_5XX", True),
        # The network answered and created nothing (issue 13's new transient codes):
        # YouTube kept no new byte, so the video is not complete;
        ("UPLOAD_STALLED", False),
        # raised on reads, upload steps and session answers, never on the create call;
        ("BAD_RESPONSE", False),
        # the container never became ready: the publish call was not made (or said "not ready").
        ("CONTAINER_TIMEOUT", False),
        ("RATE_LIMITED", False),
        ("TOKEN_EXPIRED", False),
        ("MEDIA_NOT_READY", False),
        ("BILLING", False),
        ("DUPLICATE_CONTENT", False),
    ],
)
def test_maybe_posted_classification(code: str, posted: bool) -> None:
    error = TransientPlatformError(code, "x")
    assert maybe_posted(error) is posted
    assert Outcome.of_error(error).kind is (OutcomeKind.UNKNOWN if posted else OutcomeKind.FAILED)


def test_billing_is_worded_as_a_billing_problem() -> None:
    error = BillingError("BILLING", "Your enrolled account does not have any credits")
    message = error_message(error)
    assert message.startswith("billing:")
    assert "Your enrolled account does not have any credits" in message
    assert error_message(PermanentPlatformError("INVALID_REQUEST", "bad")) == "bad"


def test_a_billing_refusal_fails_the_target_for_good_with_that_message() -> None:
    from sharecast.app import AppContext
    from sharecast.clients import Clients
    from sharecast.publisher.record import outcome_state

    settings = Settings()
    ctx = AppContext(settings=settings, clients=Clients(settings))  # no client is built
    target = TargetRecord(
        id="x-0",
        post_id="p",
        user_id="u",
        platform=Platform.X,
        account_id="1",
        connection_id="c",
        text="hi",
        status=TargetStatus.PUBLISHING,
        attempts=1,
        max_attempts=4,
        created_at=NOW,
        updated_at=NOW,
    )
    error: PlatformError = BillingError("BILLING", "CreditsDepleted", http_status=402)
    new, name = outcome_state(ctx, target, Outcome.of_error(error), now=NOW)
    assert (new.status, name) == (TargetStatus.FAILED, "BILLING")
    assert new.error is not None
    assert (new.error.code, new.error.retryable) == ("BILLING", False)
    assert new.error.message.startswith("billing:")
