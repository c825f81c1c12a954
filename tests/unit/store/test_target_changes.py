"""``store.posts.changed_fields``: a target update guarded by the stored document's
``update_time`` writes only what changed, and clearing a field is a change."""

from datetime import UTC, datetime, timedelta

from sharecast.domain.models import TargetError, TargetRecord
from sharecast.domain.statuses import Platform
from sharecast.domain.statuses import TargetStatus as T
from sharecast.store.posts import changed_fields

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def target(**changes: object) -> TargetRecord:
    base = TargetRecord(
        id="t",
        post_id="p",
        user_id="u",
        platform=Platform.X,
        account_id="1",
        connection_id="c",
        text="hi",
        status=T.RETRYING,
        max_attempts=4,
        created_at=NOW,
        updated_at=NOW,
    )
    return base.model_copy(update=changes)


def test_only_the_changed_fields_are_written():
    later = NOW + timedelta(seconds=5)
    current = target(
        error=TargetError(
            code="TIMEOUT", message="slow", retryable=True, attempts=1, max_attempts=4
        )
    )
    new = target(status=T.SUCCESS, external_id="42", error=None, updated_at=later)
    fields = changed_fields(current, new)
    assert fields == {"status": "SUCCESS", "external_id": "42", "error": None, "updated_at": later}


def test_an_unchanged_target_still_writes_its_update_time():
    assert changed_fields(target(), target()) == {"updated_at": NOW}
