"""Which URLs and addresses a webhook may reach (docs/webhooks.md#ssrf): every refused form
says why."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from sharecast.webhooks.guard import Refused, check_url, resolve


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/hook", "loopback address 127.0.0.1"),
        ("https://127.8.9.10/", "loopback"),
        ("https://10.1.2.3/", "private address 10.1.2.3"),
        ("https://172.16.0.1/", "private"),
        ("https://192.168.1.1:8443/x", "private"),
        ("https://169.254.169.254/computeMetadata/v1/", "link-local"),
        ("https://0.0.0.0/", "unspecified"),
        ("https://224.0.0.1/", "multicast"),
        ("https://240.0.0.1/", "reserved"),
        ("https://100.64.0.1/", "not globally routable"),
        ("https://198.18.0.1/", "private"),
        ("https://[::1]/", "loopback address ::1"),
        ("https://[::]/", "unspecified"),
        ("https://[fe80::1]/", "link-local"),
        ("https://[fc00::1]/", "private"),
        ("https://[ff02::1]/", "multicast"),
        ("https://[::ffff:10.0.0.1]/", "IPv4-mapped IPv6 address ::ffff:a00:1 of private"),
        ("https://[::ffff:127.0.0.1]/", "IPv4-mapped IPv6 address ::ffff:7f00:1 of loopback"),
        ("https://[::ffff:169.254.169.254]/", "of link-local"),
        ("https://[64:ff9b::a00:1]/", "NAT64 IPv6 address 64:ff9b::a00:1 of private"),
        ("https://[2002:a00:1::]/", "6to4 IPv6 address 2002:a00:1:: of private"),
        ("http://example.com/", "the scheme must be https"),
        ("ftp://example.com/", "the scheme must be https"),
        ("https://user:pw@example.com/", "credentials"),
        ("https:///path", "no host"),
        ("https://example.com/#frag", "fragment"),
        ("https://example.com:99999/", "not a URL"),
    ],
)
def test_refused_urls(url, reason):
    with pytest.raises(Refused) as refused:
        check_url(url, allow_local=False)
    assert reason in refused.value.reason


def test_public_https_urls_pass_with_their_target():
    target = check_url("https://hooks.example.com/a/b?x=1", allow_local=False)
    assert (target.scheme, target.host, target.port, target.path) == (
        "https",
        "hooks.example.com",
        443,
        "/a/b?x=1",
    )
    assert target.host_header == "hooks.example.com"
    v6 = check_url("https://[2001:4860:4860::8888]:8443/", allow_local=False)
    assert v6.host_header == "[2001:4860:4860::8888]:8443"
    assert check_url("https://8.8.8.8", allow_local=False).path == "/"


def test_local_development_admits_http_and_loopback_only():
    target = check_url("http://127.0.0.1:8099/_sandbox/webhooks/a", allow_local=True)
    assert target.scheme == "http"
    assert target.port == 8099
    check_url("http://[::1]:80/", allow_local=True)
    for url in ("http://10.0.0.1/", "http://169.254.169.254/", "http://[::ffff:192.168.0.1]/"):
        with pytest.raises(Refused):
            check_url(url, allow_local=True)


def fake_resolver(table: dict[str, list[str]]):
    calls: list[str] = []

    def resolver(host, port, **_):
        calls.append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in table[host]]

    resolver.calls = calls  # type: ignore[attr-defined]
    return resolver


def test_a_name_that_resolves_to_a_private_address_is_refused():
    resolver = fake_resolver(
        {
            "internal.example": ["10.0.0.5"],
            "metadata.example": ["169.254.169.254"],
            "mixed.example": ["93.184.215.14", "192.168.0.10"],
            "public.example": ["93.184.215.14"],
        }
    )
    for host, reason in (
        ("internal.example", "internal.example resolves to private address 10.0.0.5"),
        ("metadata.example", "resolves to link-local"),
        ("mixed.example", "resolves to private address 192.168.0.10"),
    ):
        with pytest.raises(Refused) as refused:
            resolve(
                check_url(f"https://{host}/", allow_local=False),
                allow_local=False,
                resolver=resolver,
            )
        assert reason in refused.value.reason
    public = check_url("https://public.example/", allow_local=False)
    assert resolve(public, allow_local=False, resolver=resolver) == ipaddress.ip_address(
        "93.184.215.14"
    )


def test_real_resolution_of_loopback_spellings_is_refused():
    """The system resolver turns these into 127.0.0.1; the check sees the address."""
    for host in ("localhost", "2130706433", "0x7f000001", "0177.0.0.1", "127.1"):
        target = check_url(f"https://{host}/", allow_local=False)
        with pytest.raises(Refused) as refused:
            resolve(target, allow_local=False)
        assert "loopback" in refused.value.reason


def test_an_unknown_name_is_a_transient_error():
    resolver = fake_resolver({})
    with pytest.raises(OSError):
        resolve(
            check_url("https://nowhere.example/", allow_local=False),
            allow_local=False,
            resolver=resolver,
        )
