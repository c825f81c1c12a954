"""The api's front in-process (``sharecast.api.front``, ``sharecast.api.wsgi``): bodies refused
before they are read, cut at the cap or timed out; the WSGI environ of a read request; the
per-user waiting slots. Requests are real Starlette requests fed by a scripted ASGI ``receive``;
the app behind the front is the real API app (these routes touch no dependency)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import pytest
from pydantic import SecretStr
from starlette.requests import Request

from sharecast.api import SECURITY_HEADERS, create_app
from sharecast.api.front import ApiFront, read_body
from sharecast.api.wsgi import wsgi_environ
from sharecast.app import AppContext
from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.errors import BadRequest, PayloadTooLarge, RequestTimedOut
from sharecast.posts.wait import WaitSlots

ORIGIN = "https://app.example"
Receive = Callable[[], Awaitable[dict]]
T = TypeVar("T")


def scope(method: str, path: str, headers: dict[str, str], query: bytes = b"") -> dict:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "server": ("127.0.0.1", 8080),
        "client": ("127.0.0.1", 50000),
    }


def chunks(*parts: bytes, then_stall: bool = False) -> tuple[Receive, list[int]]:
    """A ``receive`` sending ``parts`` (then waiting forever if ``then_stall``), and the list
    of calls it got."""
    calls: list[int] = []

    async def receive() -> dict:
        calls.append(1)
        n = len(calls) - 1
        if n < len(parts):
            more = n < len(parts) - 1 or then_stall
            return {"type": "http.request", "body": parts[n], "more_body": more}
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    return receive, calls


def run(coro: Callable[[], Awaitable[T]]) -> T:
    return anyio.run(coro)


def test_an_announced_oversize_is_refused_without_reading():
    receive, calls = chunks(b"x" * 10)
    request = Request(scope("POST", "/p", {"content-length": "209715200"}), receive)
    with pytest.raises(PayloadTooLarge):
        run(lambda: read_body(request, cap=1000, timeout_s=5))
    assert calls == []


def test_a_chunked_body_is_cut_at_the_cap():
    receive, _ = chunks(*[b"x" * 400] * 10)
    request = Request(scope("POST", "/p", {"transfer-encoding": "chunked"}), receive)
    with pytest.raises(PayloadTooLarge):
        run(lambda: read_body(request, cap=1000, timeout_s=5))


def test_a_stalled_body_times_out():
    receive, _ = chunks(b"{", then_stall=True)
    request = Request(scope("POST", "/p", {"content-length": "900"}), receive)
    with pytest.raises(RequestTimedOut):
        run(lambda: read_body(request, cap=1000, timeout_s=0.05))


def test_a_malformed_length_is_a_bad_request():
    receive, _ = chunks(b"")
    request = Request(scope("POST", "/p", {"content-length": "12abc"}), receive)
    with pytest.raises(BadRequest):
        run(lambda: read_body(request, cap=1000, timeout_s=5))


def test_a_body_in_parts_is_joined():
    receive, _ = chunks(b'{"a":', b" 1}")
    request = Request(scope("POST", "/p", {"content-length": "8"}), receive)
    assert run(lambda: read_body(request, cap=1000, timeout_s=5)) == b'{"a": 1}'


def test_the_environ_of_a_read_request():
    environ = wsgi_environ(
        scope(
            "POST",
            "/posts/é",
            {
                "content-type": "application/json",
                "content-length": "999",
                "transfer-encoding": "chunked",
                "x-thing": "a",
                "authorization": "Bearer t",
            },
            query=b"wait=3",
        )
        | {"headers": [(b"x-thing", b"a"), (b"x-thing", b"b"), (b"content-length", b"999")]},
        b'{"a": 1}',
    )
    assert environ["PATH_INFO"] == "/posts/é".encode().decode("latin-1")
    assert environ["QUERY_STRING"] == "wait=3"
    assert environ["CONTENT_LENGTH"] == "8"
    assert environ["HTTP_X_THING"] == "a,b"
    assert "HTTP_TRANSFER_ENCODING" not in environ
    assert environ["wsgi.input"].read() == b'{"a": 1}'
    assert (environ["REMOTE_ADDR"], environ["SERVER_PORT"]) == ("127.0.0.1", "8080")


def test_wait_slots_per_user():
    slots = WaitSlots(per_user=2)
    assert slots.take("a")
    assert slots.take("a")
    assert not slots.take("a")
    assert slots.take("b")
    slots.give_back("a")
    assert slots.held("a") == 1
    assert slots.take("a")


@pytest.fixture(scope="module")
def front() -> ApiFront:
    settings = Settings(
        jwt_secret=SecretStr("x" * 40), cors_allowed_origins=[ORIGIN], max_body_bytes=2048
    )
    ctx = AppContext(settings=settings, clients=Clients(settings))
    return ApiFront(ctx, create_app(ctx))


def test_the_front_refuses_before_the_app_with_every_header(front: ApiFront):
    receive, calls = chunks(b"")
    headers = {"content-length": "5000", "origin": ORIGIN, "content-type": "application/json"}
    response = run(
        lambda: front.serve(Request(scope("POST", "/posts/multipost", headers), receive))
    )
    assert calls == []
    assert response.status_code == 413
    got = dict(response.headers)
    assert got["connection"] == "close"
    assert got["access-control-allow-origin"] == ORIGIN
    assert got["content-type"] == "application/problem+json"
    for name, value in SECURITY_HEADERS.items():
        assert got[name.lower()] == value
    assert json.loads(bytes(response.body))["code"] == "PAYLOAD_TOO_LARGE"


def test_the_front_runs_the_app_on_the_read_request(front: ApiFront):
    receive, _ = chunks(b"")
    request = Request(scope("GET", "/healthz", {"origin": ORIGIN}), receive)
    response = run(lambda: front.serve(request))
    assert response.status_code == 200
    got = dict(response.headers)
    assert got["access-control-allow-origin"] == ORIGIN
    assert int(got["content-length"]) == len(response.body)
