"""``GET /analytics/summary``: counts, success rate and latency of publishing
(docs/api.md#accounts-realtime-and-operations).

Computed from Sharecast's own records in a time range ``[since, until)``: the targets created
in it (counts per platform and status, success rate, publish latency = ``published_at -
created_at`` of successful targets, which for a scheduled post includes its wait) and the
attempts started in it (attempt latency = the attempt log's ``duration_ms``). Each source is
one indexed query with a limit (``ANALYTICS_MAX_RECORDS``); ``truncated`` says when a limit was
reached, in which case the figures cover the oldest records of the range only.

Scope: a ``user`` sees their own records; ``viewer``, ``monitor`` and ``admin`` see everyone's.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from google.cloud import firestore

from sharecast.app import AppContext
from sharecast.domain.statuses import TargetStatus
from sharecast.store import queries

PERCENTILES = (50, 90, 99)


def percentiles(values: Iterable[float]) -> dict[str, float] | None:
    """``{count, p50, p90, p99, max}`` by the nearest-rank method, or None without values."""
    ordered = sorted(values)
    if not ordered:
        return None
    out: dict[str, float] = {"count": len(ordered)}
    for p in PERCENTILES:
        out[f"p{p}"] = round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)], 3)
    out["max"] = round(ordered[-1], 3)
    return out


def success_rate(by_status: Counter[str]) -> float | None:
    """SUCCESS / (SUCCESS + FAILED), or None before any target finished either way."""
    done = by_status[TargetStatus.SUCCESS] + by_status[TargetStatus.FAILED]
    return round(by_status[TargetStatus.SUCCESS] / done, 4) if done else None


@dataclass
class _Bucket:
    by_status: Counter[str] = field(default_factory=Counter)
    publish_s: list[float] = field(default_factory=list)
    attempt_ms: list[float] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "targets": sum(self.by_status.values()),
            "byStatus": dict(sorted(self.by_status.items())),
            "successRate": success_rate(self.by_status),
            "publishLatencyS": percentiles(self.publish_s),
            "attemptLatencyMs": percentiles(self.attempt_ms),
        }


def summarize(
    ctx: AppContext,
    *,
    user_id: str | None,
    since: datetime,
    until: datetime,
    max_records: int,
) -> dict[str, Any]:
    """The summary (``AnalyticsSummaryOut`` shape) of ``user_id``'s records, or everyone's when
    ``user_id`` is None, for ``since <= t < until`` (aware UTC datetimes)."""
    total = _Bucket()
    platforms: dict[str, _Bucket] = defaultdict(_Bucket)
    truncated = False

    spec = queries.ANALYTICS_TARGETS if user_id is None else queries.ANALYTICS_USER_TARGETS
    rows = _rows(ctx.db, spec, "created_at", user_id, since, until, max_records)
    truncated |= len(rows) > max_records
    for doc in rows[:max_records]:
        platform, status = str(doc.get("platform")), str(doc.get("status"))
        created, published = doc.get("created_at"), doc.get("published_at")
        for bucket in (total, platforms[platform]):
            bucket.by_status[status] += 1
            if status == TargetStatus.SUCCESS and created and published:
                bucket.publish_s.append(max(0.0, (published - created).total_seconds()))

    spec = queries.ANALYTICS_ATTEMPTS if user_id is None else queries.ANALYTICS_USER_ATTEMPTS
    rows = _rows(ctx.db, spec, "started_at", user_id, since, until, max_records)
    truncated |= len(rows) > max_records
    for doc in rows[:max_records]:
        duration = doc.get("duration_ms")
        if isinstance(duration, int | float):
            total.attempt_ms.append(float(duration))
            platforms[str(doc.get("platform"))].attempt_ms.append(float(duration))

    return {
        "since": since,
        "until": until,
        "scope": "all" if user_id is None else "own",
        "truncated": truncated,
        **total.to_json(),
        "platforms": [
            {"platform": name, **bucket.to_json()} for name, bucket in sorted(platforms.items())
        ],
    }


def _rows(
    db: firestore.Client,
    spec: queries.QuerySpec,
    field_name: str,
    user_id: str | None,
    since: datetime,
    until: datetime,
    max_records: int,
) -> list[dict[str, Any]]:
    query = queries.build(
        db,
        spec,
        equal={} if user_id is None else {"user_id": user_id},
        ranges=[(field_name, ">=", since), (field_name, "<", until)],
        limit=max_records + 1,
    )
    return [snap.to_dict() or {} for snap in query.stream()]
