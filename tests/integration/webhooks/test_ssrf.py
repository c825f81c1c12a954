"""SSRF attempts against the delivery path itself (docs/webhooks.md#ssrf): run_delivery on the
emulators, with production's guard (``WEBHOOK_ALLOW_LOCAL`` off). Every attempt is refused
before anything is sent, recorded ``FAILED`` with the reason, never retried, and logged as
``webhook delivery refused`` with the reason; a redirect is recorded, not followed."""

from __future__ import annotations

import logging
import socket
import uuid
from datetime import timedelta

import pytest

from sharecast.app import AppContext
from sharecast.config import Settings
from sharecast.domain.webhooks import DeliveryRecord, EndpointRecord, user_audience
from sharecast.store import webhooks as store
from sharecast.tasks import WebhookTask
from sharecast.timeutil import utcnow
from sharecast.webhooks import signing
from sharecast.webhooks.delivery import run_delivery
from sharecast.webhooks.transport import Transport
from tests.support.receivers import handler, serve

pytestmark = pytest.mark.usefixtures("stack")

NAMES = {
    "internal.example": "10.0.0.5",
    "metadata.example": "169.254.169.254",
    "mapped.example": "::ffff:10.0.0.5",
    "loopback.example": "127.0.0.1",
    "localhost": "127.0.0.1",
}


def resolver(host, port, **_):
    address = NAMES[host]
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return [(family, socket.SOCK_STREAM, 6, "", (address, port))]


@pytest.fixture
def ctx() -> AppContext:
    return AppContext.build(Settings().model_copy(update={"webhook_allow_local": False}))


def stored(ctx: AppContext, url: str, user_id: str) -> WebhookTask:
    """An endpoint for ``url`` and one pending delivery, written straight to Firestore."""
    now = utcnow()
    endpoint_id = f"we_{uuid.uuid4().hex[:20]}"
    endpoint = EndpointRecord(
        id=endpoint_id,
        owner_id=user_id,
        audience=user_audience(user_id),
        url=url,
        secrets=[signing.seal(ctx.vault, signing.new_secret(), endpoint_id=endpoint_id, now=now)],
        created_at=now,
        updated_at=now,
    )
    store.create_endpoint(ctx.db, endpoint)
    delivery = DeliveryRecord.first(
        endpoint,
        delivery_id=f"{uuid.uuid4().int % 10**17:017d}-0a1b2c3d",
        type="ping",
        user_id=user_id,
        body='{"type":"ping"}',
        now=now,
        ttl=timedelta(days=1),
    )
    store.add_deliveries(ctx.db, [delivery])
    return WebhookTask(endpoint_id, delivery.id, round=1, attempt=1)


def refused_lines(caplog) -> list[str]:
    return [
        getattr(r, "json_fields", {})["refused"]
        for r in caplog.records
        if r.getMessage() == "webhook delivery refused"
    ]


def test_every_ssrf_attempt_is_refused_recorded_and_logged(ctx, user_id, caplog):
    receiving = handler()
    strict = Transport(allow_local=False, resolver=resolver)
    with serve(receiving) as port:
        cases = {
            f"https://127.0.0.1:{port}/": "loopback address 127.0.0.1",
            f"https://localhost:{port}/": "localhost resolves to loopback address",
            f"https://loopback.example:{port}/": "loopback.example resolves to loopback",
            f"http://example.com:{port}/": "the scheme must be https",
            "https://10.1.2.3/": "private address 10.1.2.3",
            "https://169.254.169.254/computeMetadata/v1/": "link-local",
            "https://[::1]/": "loopback address ::1",
            "https://[::ffff:169.254.169.254]/": "IPv4-mapped IPv6 address",
            "https://[fd00::1]/": "private address fd00::1",
            "https://internal.example/": "internal.example resolves to private address 10.0.0.5",
            "https://metadata.example/": "metadata.example resolves to link-local",
            "https://mapped.example/": "mapped.example resolves to IPv4-mapped",
        }
        with caplog.at_level(logging.WARNING, logger="sharecast.webhooks.delivery"):
            for url, reason in cases.items():
                task = stored(ctx, url, user_id)
                report = run_delivery(ctx, task=task, transport=strict)
                assert report.status == "FAILED", url
                record = store.get_delivery(ctx.db, task.endpoint_id, task.delivery_id)
                assert record.last_error is not None
                assert record.last_error.startswith("refused: "), record.last_error
                assert reason in record.last_error, (url, record.last_error)
                assert record.next_attempt_at is None
        assert receiving.seen == []
    logged = refused_lines(caplog)
    assert len(logged) == len(cases)
    for reason in cases.values():
        assert any(reason in line for line in logged), reason


def test_a_redirect_is_recorded_and_not_followed(ctx, user_id):
    redirecting = handler(status=307, headers_out={"Location": "http://169.254.169.254/"})
    with serve(redirecting) as port:
        task = stored(ctx, f"http://127.0.0.1:{port}/hook", user_id)
        report = run_delivery(ctx, task=task, transport=Transport(allow_local=True))
    assert report.status == "FAILED"
    assert report.status_code == 307
    record = store.get_delivery(ctx.db, task.endpoint_id, task.delivery_id)
    assert record.last_error == "HTTP 307: not retried"
    assert len(redirecting.seen) == 1
