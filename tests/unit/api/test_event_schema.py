"""The SSE event contract (``/events.schema.json``) against the domain's own event data."""

from __future__ import annotations

from datetime import UTC, datetime

import jsonschema
import pytest

from sharecast.api.event_schema import build_event_schema
from sharecast.domain.models import PostRecord, TargetError, TargetRecord
from sharecast.domain.statuses import Platform, PostStatus, TargetStatus
from sharecast.domain.user_transitions import failure_notification

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
EVENT_ID = "01767323045000000-0a1b2c3d"


@pytest.fixture(scope="module")
def validator():
    document = build_event_schema()
    jsonschema.Draft202012Validator.check_schema(document)
    return jsonschema.Draft202012Validator(document)


def target(**changes) -> TargetRecord:
    fields = {
        "id": "x-0",
        "post_id": "p1",
        "user_id": "alice",
        "platform": Platform.X,
        "account_id": "acc",
        "connection_id": "conn",
        "text": "hi",
        "status": TargetStatus.FAILED,
        "attempts": 4,
        "max_attempts": 4,
        "version": 7,
        "created_at": NOW,
        "updated_at": NOW,
        "error": TargetError(
            code="PLATFORM_5XX", message="down", retryable=True, attempts=4, max_attempts=4
        ),
    }
    return TargetRecord.model_validate({**fields, **changes})


def test_what_the_domain_emits_is_valid(validator):
    post = PostRecord.model_validate(
        {
            "id": "p1",
            "user_id": "alice",
            "content": "hi",
            "target_ids": ["x-0"],
            "status": PostStatus.PUBLISHED,
            "version": 3,
            "created_at": NOW,
            "updated_at": NOW,
        }
    )
    failed = target()
    cases = [
        {"event": "post_status", "id": EVENT_ID, "data": post.snapshot()},
        {"event": "target_status", "id": EVENT_ID, "data": failed.snapshot()},
        {"event": "notification", "id": EVENT_ID, "data": failure_notification(failed)},
        {
            "event": "snapshot",
            "id": "01767323045000000-snapshot",
            "data": {
                "reason": "unknown_last_event_id",
                "posts": [post.snapshot() | {"targets": [failed.snapshot()]}],
                "more": False,
            },
        },
    ]
    cases.append({"event": "snapshot", "data": {"reason": "replay_truncated", "replayed": 1000}})
    for case in cases:
        validator.validate(case)


def test_drift_is_caught(validator):
    data = target().snapshot()
    assert not validator.is_valid(
        {"event": "target_status", "id": EVENT_ID, "data": {**data, "new": 1}}
    )
    del data["version"]
    assert not validator.is_valid({"event": "target_status", "id": EVENT_ID, "data": data})
    bad_status = {**target().snapshot(), "status": "DONE"}
    assert not validator.is_valid({"event": "target_status", "id": EVENT_ID, "data": bad_status})
    assert not validator.is_valid({"event": "unknown", "data": {}})
    assert not validator.is_valid({"event": "post_status", "id": "nope", "data": {}})


def test_the_webhook_disabled_notification_is_valid(validator):
    """What `webhooks.delivery` sends the owner of an endpoint it disables, on the SSE stream
    and to their other webhook endpoints."""
    from sharecast.domain.webhooks import EndpointRecord, SigningSecret
    from sharecast.webhooks.delivery import _disabled_notification

    endpoint = EndpointRecord(
        id="we_0123456789abcdef0123",
        owner_id="alice",
        audience="user:alice",
        url="https://example.com/hooks",
        secrets=[SigningSecret(ciphertext="x", created_at=NOW)],
        version=3,
        created_at=NOW,
        updated_at=NOW,
    )
    event = _disabled_notification(endpoint, "every delivery failed since 2026-01-01")
    validator.validate({"event": "notification", "id": EVENT_ID, "data": event.data})
    broken = {**event.data, "status": "enabled"}
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"event": "notification", "id": EVENT_ID, "data": broken})
