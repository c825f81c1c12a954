"""Which webhook URLs and addresses Sharecast may call: server-side request forgery
(docs/webhooks.md#ssrf).

A customer chooses the URL, so a delivery must never reach Sharecast's own network: the
metadata server (169.254.169.254, which hands out the function's credentials), loopback,
private ranges, and anything else that is not a public unicast address. :func:`check_url`
checks the URL's form (https, no credentials, a host); :func:`resolve` resolves the host *once*
at delivery time and checks every address it got: the connection is then made to the checked
address (``webhooks.transport``), so a name cannot answer a public address to the check and a
private one to the connection (DNS rebinding).

``allow_local`` (``WEBHOOK_ALLOW_LOCAL``, the local stack only) admits ``http://`` and loopback
addresses; every other refused range stays refused.

Ranges: Python's :mod:`ipaddress` flags (IANA special-purpose registries,
https://www.iana.org/assignments/iana-ipv4-special-registry and
https://www.iana.org/assignments/iana-ipv6-special-registry); IPv6 forms that embed an IPv4
address (IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96`` (RFC 6052), 6to4 ``2002::/16``,
Teredo) are judged by that IPv4 address too.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

#: ``socket.getaddrinfo``'s signature (tests pass a resolver of their own names).
Resolver = Callable[..., list[tuple[Any, ...]]]

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
MAX_URL_LENGTH = 2048
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(Exception):
    """A URL or address Sharecast will not call; ``reason`` says why (logged, kept in the
    delivery log, shown in the API's 422)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Target:
    """A checked URL: ``scheme`` (``https``, or ``http`` locally), ``host`` (a name or an
    address, without brackets), ``port`` and the request target ``path`` (with its query)."""

    scheme: str
    host: str
    port: int
    path: str

    @property
    def host_header(self) -> str:
        """The ``Host`` header: the host, bracketed when IPv6, with a non-default port."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def check_url(url: str, *, allow_local: bool) -> Target:
    """The :class:`Target` of ``url``. Raises :class:`Refused` for another scheme than https
    (http too when ``allow_local``), credentials in the URL, a missing host, a bad port, a
    fragment, or a literal address :func:`check_address` refuses."""
    if len(url) > MAX_URL_LENGTH:
        raise Refused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(f"not a URL: {exc}") from None
    schemes = ("https", "http") if allow_local else ("https",)
    if parts.scheme not in schemes:
        raise Refused(f"the scheme must be {' or '.join(schemes)}")
    if parts.username is not None or parts.password is not None:
        raise Refused("the URL may not carry credentials")
    if not parts.hostname:
        raise Refused("the URL has no host")
    if parts.fragment:
        raise Refused("the URL may not have a fragment")
    host = parts.hostname
    literal = _literal(host)
    if literal is not None:
        check_address(literal, allow_local=allow_local)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path)


def _literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 form carries, with the form's name."""
    if address.ipv4_mapped is not None:
        return "IPv4-mapped", address.ipv4_mapped
    if address in _NAT64:
        return "NAT64", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return "6to4", address.sixtofour
    if address.teredo is not None:
        return "Teredo", address.teredo[1]
    return None


def check_address(address: IpAddress, *, allow_local: bool) -> None:
    """Raise :class:`Refused` unless ``address`` is a public unicast address (or loopback
    when ``allow_local``)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            form, inner = embedded
            try:
                check_address(inner, allow_local=allow_local)
            except Refused as exc:
                raise Refused(f"{form} IPv6 address {address} of {exc.reason}") from None
            return
    if address.is_loopback:
        if allow_local:
            return
        raise Refused(f"loopback address {address}")
    for flag, name in (
        ("is_unspecified", "unspecified"),
        ("is_link_local", "link-local (the metadata server's range)"),
        ("is_multicast", "multicast"),
        ("is_reserved", "reserved"),
        ("is_private", "private"),
    ):
        if getattr(address, flag):
            raise Refused(f"{name} address {address}")
    if not address.is_global:
        raise Refused(f"address {address} is not globally routable")


def resolve(
    target: Target, *, allow_local: bool, resolver: Resolver = socket.getaddrinfo
) -> IpAddress:
    """The address to connect to for ``target``: its literal address, or the first address
    its name resolves to. Every resolved address must pass :func:`check_address` (a name with
    one private answer among public ones is refused). Raises :class:`Refused`, or ``OSError``
    when the name does not resolve (a transient failure: the delivery is retried)."""
    literal = _literal(target.host)
    if literal is not None:
        check_address(literal, allow_local=allow_local)
        return literal
    infos = resolver(target.host, target.port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    if not addresses:
        raise OSError(f"{target.host} has no address")
    for address in addresses:
        try:
            check_address(address, allow_local=allow_local)
        except Refused as exc:
            raise Refused(f"{target.host} resolves to {exc.reason}") from None
    return addresses[0]
