"""`GET /analytics/summary` (docs/api.md#accounts-realtime-and-operations): see
:mod:`sharecast.analytics`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint

from sharecast import analytics
from sharecast.api.context import context
from sharecast.api.routes import ANY_ROLE, route
from sharecast.api.schemas import AnalyticsQuery, AnalyticsSummaryOut
from sharecast.auth import Principal
from sharecast.errors import FieldProblem, ValidationFailed
from sharecast.timeutil import to_utc, utcnow

bp = Blueprint("analytics", __name__)

DEFAULT_RANGE = timedelta(days=7)


@route(
    bp,
    "GET",
    "/analytics/summary",
    summary="Counts per platform and status, success rate and latency for a time range",
    roles=ANY_ROLE,
    rate="analytics",
    query=AnalyticsQuery,
    responses={200: AnalyticsSummaryOut},
)
def summary(user: Principal, query: AnalyticsQuery) -> dict[str, Any]:
    """A `user` gets figures of their own posts; viewers, monitors and admins everyone's."""
    settings = context().settings
    until = to_utc(query.to) if query.to else utcnow()
    since = to_utc(query.from_) if query.from_ else until - DEFAULT_RANGE
    if since >= until:
        raise ValidationFailed(
            "the range is empty",
            errors=[FieldProblem("from", "EMPTY_RANGE", "'from' must be before 'to'")],
        )
    if until - since > timedelta(days=settings.analytics_max_range_days):
        raise ValidationFailed(
            "the range is too long",
            errors=[
                FieldProblem(
                    "to",
                    "RANGE_TOO_LONG",
                    f"at most {settings.analytics_max_range_days} days between 'from' and 'to'",
                )
            ],
        )
    return analytics.summarize(
        context(),
        user_id=user.user_id if user.role == "user" else None,
        since=since,
        until=until,
        max_records=settings.analytics_max_records,
    )
