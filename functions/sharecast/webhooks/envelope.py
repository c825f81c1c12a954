"""Parsing a Cloud Tasks delivery of the ``webhooks`` queue into a :class:`WebhookTask`."""

from __future__ import annotations

import json
import re

from flask import Request

from sharecast.config import Settings
from sharecast.errors import BadRequest
from sharecast.internal_auth import verify_internal_caller, webhook_delivery_caller
from sharecast.tasks import WebhookTask

_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def check_internal_auth(request: Request, settings: Settings) -> None:
    """Verify the Cloud Tasks caller: in production its OIDC token (audience
    ``WEBHOOK_DELIVERY_URL``, account ``WEBHOOK_INVOKER_SERVICE_ACCOUNT``, the identity our
    webhook tasks carry), locally the shared secret. Raises ``Unauthenticated``."""
    verify_internal_caller(request, settings, caller=webhook_delivery_caller(settings))


def parse_webhook_task(request: Request) -> WebhookTask:
    """The task body. Raises :class:`BadRequest` for a malformed one."""
    try:
        body = json.loads(request.get_data(cache=False))
        task = WebhookTask(
            endpoint_id=str(body["endpoint_id"]),
            delivery_id=str(body["delivery_id"]),
            round=int(body["round"]),
            attempt=int(body["attempt"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BadRequest(f"malformed task body: {type(exc).__name__}") from exc
    ids_ok = _ID.fullmatch(task.endpoint_id) and _ID.fullmatch(task.delivery_id)
    if not ids_ok or task.round < 1 or task.attempt < 1:
        raise BadRequest("malformed task body")
    return task
