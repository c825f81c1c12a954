"""Parsing a Cloud Scheduler call of the sweeper: body ``{"sweep": "minutely"|"daily"}``."""

from __future__ import annotations

import json

from flask import Request

from sharecast.config import Settings
from sharecast.errors import BadRequest
from sharecast.internal_auth import sweeper_caller, verify_internal_caller
from sharecast.sweeper.report import SweepKind


def check_internal_auth(request: Request, settings: Settings) -> None:
    """Verify the Cloud Scheduler caller: in production the OIDC token that
    ``terraform/scheduler.tf`` configures (audience the sweeper's own URL ``SWEEPER_URL``,
    account ``SCHEDULER_INVOKER_SERVICE_ACCOUNT``), locally the shared secret. Raises
    :class:`sharecast.errors.Unauthenticated`."""
    verify_internal_caller(request, settings, caller=sweeper_caller(settings))


def parse_sweep(request: Request) -> SweepKind:
    """The sweep named by the JSON body. Raises :class:`BadRequest` for anything else."""
    try:
        body = json.loads(request.get_data(cache=False) or b"null")
    except ValueError as exc:
        raise BadRequest('the body must be JSON: {"sweep": "minutely"|"daily"}') from exc
    if not isinstance(body, dict) or set(body) != {"sweep"}:
        raise BadRequest('the body must be {"sweep": "minutely"|"daily"}')
    try:
        return SweepKind(body["sweep"])
    except (ValueError, TypeError):
        raise BadRequest('sweep must be "minutely" or "daily"') from None
