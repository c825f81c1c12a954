"""Errors of the webhook routes (docs/problems.md)."""

from __future__ import annotations

from sharecast.errors import Conflict


class EndpointDisabled(Conflict):
    """A test ping or a redelivery to a disabled endpoint: enable it first (409)."""

    code = "WEBHOOK_ENDPOINT_DISABLED"
    title = "Webhook endpoint disabled"


class TooManyEndpoints(Conflict):
    """The owner has ``WEBHOOK_MAX_ENDPOINTS`` endpoints already (409)."""

    code = "TOO_MANY_WEBHOOK_ENDPOINTS"
    title = "Too many webhook endpoints"
