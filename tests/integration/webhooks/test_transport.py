"""The webhook transport over real sockets (docs/webhooks.md#ssrf): TLS to the checked address
with SNI and certificate verification for the URL's host, no redirects, a read cap, a time
budget, and nothing sent to a refused address."""

from __future__ import annotations

import socket
import time

from sharecast.webhooks.transport import Transport
from tests.support.receivers import certificate_authority, handler, serve

HEADERS = {"Content-Type": "application/json", "webhook-id": "msg_t"}


def pinned(table: dict[str, str]):
    """A resolver of test names to loopback; counts its calls."""
    calls: list[str] = []

    def resolver(host, port, **_):
        calls.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (table[host], port))]

    resolver.calls = calls  # type: ignore[attr-defined]
    return resolver


def post(transport: Transport, url: str, **kw):
    return transport.post(
        url,
        body=kw.pop("body", b'{"a":1}'),
        headers=HEADERS,
        timeout_s=kw.pop("timeout_s", 10.0),
        max_bytes=kw.pop("max_bytes", 64),
    )


def test_tls_goes_to_the_checked_address_with_sni_and_verification(tmp_path):
    receiving = handler(body=b'{"ok":true}')
    with (
        certificate_authority(tmp_path, "hooks.test") as (ca, tls),
        serve(receiving, tls=tls) as port,
    ):
        resolver = pinned({"hooks.test": "127.0.0.1", "other.test": "127.0.0.1"})
        transport = Transport(allow_local=True, resolver=resolver, ca_certs=ca)
        answer = post(transport, f"https://hooks.test:{port}/in?x=1")
        assert answer.status == 200, answer.error
        assert answer.body == b'{"ok":true}'
        assert receiving.seen[0]["path"] == "/in?x=1"
        assert receiving.seen[0]["headers"]["Host"] == f"hooks.test:{port}"
        assert receiving.seen[0]["body"] == b'{"a":1}'
        # A certificate for another name fails verification: nothing is accepted blindly.
        wrong = post(transport, f"https://other.test:{port}/in")
        assert wrong.status is None
        assert "SSL" in (wrong.error or "") or "certificate" in (wrong.error or "").lower()
        # And without the test CA, the system's CAs do not trust it.
        untrusted = post(
            Transport(allow_local=True, resolver=resolver), f"https://hooks.test:{port}/"
        )
        assert untrusted.status is None
        assert len(receiving.seen) == 1


def test_the_name_is_resolved_once_per_attempt_and_the_answer_used():
    """DNS rebinding: the check and the connection use one resolution."""
    receiving = handler()
    with serve(receiving) as port:
        answers = iter(["127.0.0.1", "10.0.0.1"])

        def rebinding(host, port, **_):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

        transport = Transport(allow_local=True, resolver=rebinding)
        first = post(transport, f"http://rebind.test:{port}/")
        assert first.status == 200
        second = post(transport, f"http://rebind.test:{port}/")
        assert second.status is None
        assert second.refused == "rebind.test resolves to private address 10.0.0.1"
        assert len(receiving.seen) == 1


def test_redirects_are_not_followed_and_the_answer_is_capped():
    redirecting = handler(status=302, headers_out={"Location": "http://169.254.169.254/"})
    with serve(redirecting) as port:
        answer = post(Transport(allow_local=True), f"http://127.0.0.1:{port}/")
        assert answer.status == 302
        assert len(redirecting.seen) == 1
    big = handler(body=b"x" * 100_000)
    with serve(big) as port:
        answer = post(Transport(allow_local=True), f"http://127.0.0.1:{port}/", max_bytes=50)
        assert answer.status == 200
        assert answer.body == b"x" * 50


def test_a_slow_receiver_times_out():
    slow = handler(delay_s=5.0)
    with serve(slow) as port:
        started = time.monotonic()
        answer = post(Transport(allow_local=True), f"http://127.0.0.1:{port}/", timeout_s=1.0)
        assert answer.status is None
        assert "Timeout" in (answer.error or "")
        assert time.monotonic() - started < 4.5


def test_refused_addresses_are_never_contacted_and_say_why():
    receiving = handler()
    with serve(receiving) as port:
        strict = Transport(allow_local=False)
        for url in (
            f"https://127.0.0.1:{port}/",
            f"https://localhost:{port}/",
            f"https://[::ffff:127.0.0.1]:{port}/",
            f"http://127.0.0.1:{port}/",
        ):
            answer = post(strict, url)
            assert answer.status is None
            assert answer.refused, url
        assert receiving.seen == []
        refused = post(strict, f"https://localhost:{port}/").refused or ""
        assert refused.startswith("localhost resolves to loopback address")
