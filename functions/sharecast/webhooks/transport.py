"""One webhook POST, made safely (docs/webhooks.md#ssrf): to the address ``guard.resolve``
checked, never following a redirect, reading at most a few bytes of the answer, within a time
budget.

The connection goes to the checked IP address while TLS still names the URL's host: urllib3's
``server_hostname`` sends it as SNI and ``assert_hostname`` verifies the certificate against it
(https://urllib3.readthedocs.io/en/stable/reference/urllib3.connectionpool.html), with the CA
bundle requests uses (certifi). Connections are pooled per (scheme, address, port, host), so
consecutive deliveries to one endpoint reuse a connection, and only ever to a checked address.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

import urllib3
from certifi import where as ca_bundle
from urllib3.exceptions import HTTPError

from sharecast.webhooks.guard import Refused, Resolver, Target, check_url, resolve

#: Pools kept per process (least recently used dropped first).
MAX_POOLS = 64


@dataclass(frozen=True)
class Answer:
    """What one attempt got: the answer's ``status`` and ``headers`` (``None``/empty when none
    came), the first bytes of its body, the time taken (ms), and why it failed without an
    answer (``error``) or was never sent (``refused``: the URL or address is not allowed)."""

    status: int | None
    headers: Mapping[str, str]
    body: bytes
    latency_ms: float
    error: str | None = None
    refused: str | None = None


class Transport:
    """Sends webhook requests; one per process (thread-safe).

    ``allow_local``: ``WEBHOOK_ALLOW_LOCAL``; ``resolver`` and ``ca_certs`` are for tests (a
    name of their own, a test CA)."""

    def __init__(
        self,
        *,
        allow_local: bool,
        resolver: Resolver | None = None,
        ca_certs: str | None = None,
    ) -> None:
        self.allow_local = allow_local
        self._resolver = resolver
        self._ca_certs = ca_certs or ca_bundle()
        self._pools: OrderedDict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    def post(
        self,
        url: str,
        *,
        body: bytes,
        headers: Mapping[str, str],
        timeout_s: float,
        max_bytes: int,
    ) -> Answer:
        """POST ``body`` to ``url``; never raises for what the network or the receiver does.

        Refused URLs and addresses come back with ``refused`` set and nothing sent; a timeout,
        a failed connection or TLS verification with ``error`` set. ``timeout_s`` bounds the
        connection and each read; at most ``max_bytes`` of the answer are read."""
        started = time.monotonic()
        try:
            target = check_url(url, allow_local=self.allow_local)
            kwargs = {} if self._resolver is None else {"resolver": self._resolver}
            address = resolve(target, allow_local=self.allow_local, **kwargs)
        except Refused as exc:
            return Answer(None, {}, b"", _ms(started), refused=exc.reason)
        except OSError as exc:
            return Answer(None, {}, b"", _ms(started), error=f"DNS: {exc}")
        pool = self._pool(target, str(address))
        try:
            response = pool.urlopen(
                "POST",
                target.path,
                body=body,
                headers={**headers, "Host": target.host_header},
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
                timeout=urllib3.Timeout(total=timeout_s),
            )
        except HTTPError as exc:
            return Answer(None, {}, b"", _ms(started), error=_describe(exc))
        try:
            excerpt = _read_some(response, max_bytes, deadline=started + timeout_s)
        finally:
            if response.length_remaining != 0:  # unread bytes: this connection is not reusable
                response.close()
            response.release_conn()
        return Answer(response.status, dict(response.headers), excerpt, _ms(started))

    def _pool(self, target: Target, address: str) -> urllib3.HTTPConnectionPool:
        key = (target.scheme, address, target.port, target.host)
        with self._lock:
            pool = self._pools.get(key)
            if pool is not None:
                self._pools.move_to_end(key)
                return pool
            if target.scheme == "https":
                pool = urllib3.HTTPSConnectionPool(
                    address,
                    target.port,
                    server_hostname=target.host,
                    assert_hostname=target.host,
                    cert_reqs="CERT_REQUIRED",
                    ca_certs=self._ca_certs,
                    maxsize=4,
                    block=False,
                )
            else:
                pool = urllib3.HTTPConnectionPool(address, target.port, maxsize=4, block=False)
            self._pools[key] = pool
            while len(self._pools) > MAX_POOLS:
                _, old = self._pools.popitem(last=False)
                old.close()
            return pool


def _read_some(response: urllib3.BaseHTTPResponse, max_bytes: int, *, deadline: float) -> bytes:
    """Up to ``max_bytes`` of the raw body (not decompressed), stopping at ``deadline``."""
    chunks: list[bytes] = []
    size = 0
    try:
        while size < max_bytes and time.monotonic() < deadline:
            chunk = response.read1(max_bytes - size, decode_content=False)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except HTTPError:
        pass  # the status already tells the outcome; the excerpt is what arrived
    return b"".join(chunks)


def _describe(exc: HTTPError) -> str:
    reason = getattr(exc, "reason", None) or exc
    text = f"{type(exc).__name__}: {reason}"
    return text[:300]


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
