"""The application context: members built once and shared, connectors replaceable, the clock
injectable, and outcome consumers run one after the other whatever one of them does."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime

from sharecast.app import AppContext
from sharecast.config import Settings
from sharecast.domain.models import TargetRecord
from sharecast.domain.statuses import Platform

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def target() -> TargetRecord:
    return TargetRecord(
        id="x-0",
        post_id="p1",
        user_id="u1",
        platform=Platform.X,
        account_id="a",
        connection_id="c",
        text="hi",
        max_attempts=4,
        created_at=AT,
        updated_at=AT,
    )


def test_members_are_built_once_and_shared_between_threads() -> None:
    ctx = AppContext.build(Settings())
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(ctx.outbox)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(o) for o in seen}) == 1
    assert ctx.outbox.ttl.days == ctx.settings.event_ttl_days
    assert ctx.vault is ctx.vault
    assert ctx.http is ctx.http


def test_connectors_are_every_publishing_platform_unless_given() -> None:
    ctx = AppContext.build(Settings())
    assert set(ctx.connectors) == set(Platform) - {Platform.WHATSAPP}
    only_x = {Platform.X: ctx.connectors[Platform.X]}
    replaced = dataclasses.replace(ctx, platform_connectors=only_x)
    assert replaced.connectors == only_x
    assert replaced.clients is ctx.clients


def test_the_clock_is_injected() -> None:
    ctx = AppContext(settings=Settings(), clients=AppContext.build(Settings()).clients)
    assert ctx.now().tzinfo is not None
    assert dataclasses.replace(ctx, clock=lambda: AT).now() == AT


def test_every_consumer_runs_and_any_failure_asks_for_a_redelivery() -> None:
    calls: list[str] = []

    def ok(ctx: AppContext, t: TargetRecord) -> bool:
        calls.append(f"ok:{t.id}")
        return True

    def refuses(ctx: AppContext, t: TargetRecord) -> bool:
        calls.append("refuses")
        return False

    def raises(ctx: AppContext, t: TargetRecord) -> bool:
        calls.append("raises")
        raise RuntimeError("boom")

    base = AppContext.build(Settings())
    assert dataclasses.replace(base, outcome_consumers=(ok,)).notify_outcome(target()) is True
    assert dataclasses.replace(base, outcome_consumers=()).notify_outcome(target()) is True
    calls.clear()
    both = dataclasses.replace(base, outcome_consumers=(raises, refuses, ok))
    assert both.notify_outcome(target()) is False
    assert calls == ["raises", "refuses", "ok:x-0"]
