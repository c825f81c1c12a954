"""A webhook receiver (docs/webhooks.md#local-receiver): what a customer's server does with
Sharecast's deliveries, locally.

``POST /_sandbox/webhooks/{name}`` receives a delivery for receiver ``name`` (any name; it exists
once it is configured or receives something), verifies it with the ``standardwebhooks`` library
against the receiver's secrets (a forged, altered or stale delivery is answered 401, as a real
receiver would), and answers as configured. The control routes:

- ``PUT /_sandbox/webhooks/{name}`` ``{"secrets": ["whsec_..."], "fail_rate": 0.0, "status": 200,
  "delay_s": 0.0, "retry_after": null}``: the secrets to verify with; ``fail_rate`` the share of
  deliveries answered ``503`` (with ``Retry-After: retry_after`` when set); ``status`` the answer
  otherwise; ``delay_s`` how long to wait before answering;
- ``GET /_sandbox/webhooks/{name}`` → ``{"settings": {...}, "deliveries": [...]}``, oldest first:
  each with ``webhook_id``, ``webhook_timestamp``, ``webhook_signature``, ``verified`` (``null``
  without secrets), ``verified_with`` (the index of the secret that matched), ``body`` (parsed
  JSON), ``raw`` (the body as received), ``answered`` (the status it gave) and ``received_at``;
- ``DELETE /_sandbox/webhooks/{name}``: forget the receiver.

The headers and their signature scheme are the Standard Webhooks specification's
(https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md);
``tests/unit/webhooks/test_signing.py`` checks the library against the specification's test
vector.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from infra.sandbox.wire import json_response, read_json

#: Deliveries kept per receiver (the oldest are dropped first).
MAX_KEPT = 20_000


class ReceiverSettings(BaseModel):
    """How one receiver answers (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    secrets: list[str] = Field(default_factory=list, max_length=5)
    fail_rate: float = Field(default=0.0, ge=0, le=1)
    status: int = Field(default=200, ge=200, le=599)
    delay_s: float = Field(default=0.0, ge=0, le=60)
    retry_after: str | None = Field(default=None, max_length=64)


class Receiver:
    """One receiver's settings and what it received."""

    def __init__(self, settings: ReceiverSettings) -> None:
        self.settings = settings
        self.deliveries: list[dict[str, Any]] = []

    def verify(self, body: bytes, headers: dict[str, str]) -> tuple[bool | None, int | None]:
        """``(verified, index of the secret that matched)``; ``(None, None)`` without
        secrets."""
        if not self.settings.secrets:
            return None, None
        for index, secret in enumerate(self.settings.secrets):
            try:
                Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            return True, index
        return False, None


class WebhookReceivers:
    """Every receiver of a sandbox, by name; ``rng`` draws the failures of ``fail_rate``."""

    def __init__(self, seed: int | None = None) -> None:
        self.receivers: dict[str, Receiver] = {}
        self.rng = random.Random(seed)

    def get(self, name: str) -> Receiver:
        """The receiver ``name`` (created with default settings on first use)."""
        return self.receivers.setdefault(name, Receiver(ReceiverSettings()))

    def clear(self, seed: int | None = None) -> None:
        """Forget every receiver."""
        self.receivers.clear()
        self.rng = random.Random(seed)


class WebhookRoutes:
    """The receiver and its control routes, bound to ``receivers``."""

    def __init__(self, receivers: WebhookReceivers) -> None:
        self.receivers = receivers

    async def receive(self, request: Request) -> Response:
        receiver = self.receivers.get(request.path_params["name"])
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        verified, index = receiver.verify(body, headers)
        settings = receiver.settings
        if verified is False:
            status, extra = 401, {}
        elif self.receivers.rng.random() < settings.fail_rate:
            status = 503
            extra = {"Retry-After": settings.retry_after} if settings.retry_after else {}
        else:
            status, extra = settings.status, {}
        if settings.delay_s:
            await asyncio.sleep(settings.delay_s)
        receiver.deliveries.append(
            {
                "webhook_id": headers.get("webhook-id"),
                "webhook_timestamp": headers.get("webhook-timestamp"),
                "webhook_signature": headers.get("webhook-signature"),
                "verified": verified,
                "verified_with": index,
                "body": _parsed(body),
                "raw": body.decode("utf-8", "replace"),
                "answered": status,
                "received_at": time.time(),
            }
        )
        del receiver.deliveries[:-MAX_KEPT]
        answer = {"received": status < 300, "verified": verified}
        return Response(json.dumps(answer), status, extra, media_type="application/json")

    async def configure(self, request: Request) -> Response:
        body, error = await read_json(request)
        if error is not None or not isinstance(body, dict):
            return json_response({"error": {"message": error or "a JSON object"}}, 400)
        try:
            settings = ReceiverSettings.model_validate(body)
        except ValidationError as exc:
            details = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
            return json_response({"error": {"message": "invalid", "details": details}}, 400)
        self.receivers.get(request.path_params["name"]).settings = settings
        return json_response({"settings": settings.model_dump()})

    async def show(self, request: Request) -> Response:
        receiver = self.receivers.get(request.path_params["name"])
        return json_response(
            {"settings": receiver.settings.model_dump(), "deliveries": receiver.deliveries}
        )

    async def forget(self, request: Request) -> Response:
        found = self.receivers.receivers.pop(request.path_params["name"], None)
        return json_response({"deleted": int(found is not None)})

    def routes(self) -> list[BaseRoute]:
        """The routes, bound to this instance."""
        path = "/_sandbox/webhooks/{name}"
        return [
            Route(path, self.receive, methods=["POST"]),
            Route(path, self.configure, methods=["PUT"]),
            Route(path, self.show, methods=["GET"]),
            Route(path, self.forget, methods=["DELETE"]),
        ]


def _parsed(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")
