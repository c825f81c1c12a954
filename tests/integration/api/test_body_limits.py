"""Request bodies against the running api (issue 14 item 3): a body announced larger than
``MAX_BODY_BYTES`` is refused at once, before it is read and before authentication; a chunked
body is cut at the cap; a body that does not arrive in ``BODY_READ_TIMEOUT_S`` gets 408; and
connections that trickle their bodies hold no thread, so ``GET /healthz`` still answers.

Raw sockets, because an HTTP client library would send the body it announces."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest

from infra.localenv import HOST
from sharecast.config import Settings
from tests.conftest import PORTS
from tests.support.api import ApiClient

pytestmark = pytest.mark.usefixtures("clean_stack")

#: Generous bounds: the machine may be busy. Before the fix these answers never came.
ANSWER_S = 30


def connect(timeout: float = ANSWER_S) -> socket.socket:
    return socket.create_connection((HOST, PORTS.api), timeout=timeout)


def head(path: str, *lines: str) -> bytes:
    return ("\r\n".join([f"POST {path} HTTP/1.1", f"Host: {HOST}", *lines]) + "\r\n\r\n").encode()


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body of one answer with a Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before an answer: {data!r}"
        data += chunk
    raw_head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = raw_head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    while len(body) < int(headers.get("content-length", "0")):
        chunk = sock.recv(65536)
        assert chunk, "connection closed in the middle of the body"
        body += chunk
    return int(status_line.split()[1]), headers, body


def assert_problem(answer: tuple[int, dict[str, str], bytes], status: int, code: str) -> None:
    got, headers, body = answer
    assert got == status, body
    assert headers["content-type"].startswith("application/problem+json")
    assert json.loads(body)["code"] == code


def test_an_oversized_announcement_is_refused_before_its_body_and_before_auth():
    with connect() as sock:
        # No token and not one byte of the 200 MiB: the answer must not wait for either.
        sock.sendall(
            head("/posts/multipost", "Content-Type: application/json", "Content-Length: 209715200")
        )
        answer = read_answer(sock)
        assert_problem(answer, 413, "PAYLOAD_TOO_LARGE")
        assert answer[1]["connection"] == "close"
        assert answer[1]["x-content-type-options"] == "nosniff"
        assert sock.recv(1) == b""  # closed: the body will never be read


def test_a_chunked_body_is_cut_at_the_cap():
    cap = Settings().max_body_bytes
    chunk = b"a" * 65536
    with connect() as sock:
        sock.sendall(
            head("/posts/multipost", "Content-Type: application/json", "Transfer-Encoding: chunked")
        )
        sent = 0
        try:
            while sent <= cap + len(chunk):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
        except OSError:
            pass  # the server may close while we still send
        assert_problem(read_answer(sock), 413, "PAYLOAD_TOO_LARGE")


@contextmanager
def trickling(count: int, announced: int) -> Iterator[list[socket.socket]]:
    """``count`` connections that announce ``announced`` bytes and send one."""
    with ExitStack() as stack:
        socks = []
        for _ in range(count):
            sock = stack.enter_context(connect(timeout=60))
            sock.sendall(
                head(
                    "/posts/multipost",
                    "Content-Type: application/json",
                    f"Content-Length: {announced}",
                )
                + b"{"
            )
            socks.append(sock)
        yield socks


def test_slow_senders_hold_no_thread_and_time_out(user_id):
    api = ApiClient(PORTS, user_id)
    with trickling(12, 100_000_000) as huge, trickling(12, 900) as slow:
        for _ in range(3):
            assert api.get("/healthz", timeout=ANSWER_S).status_code == 200
        assert api.get("/posts", timeout=ANSWER_S).status_code == 200
        for sock in huge:
            assert_problem(read_answer(sock), 413, "PAYLOAD_TOO_LARGE")
        for sock in slow:  # BODY_READ_TIMEOUT_S (10 s) after the headers
            answer = read_answer(sock)
            assert_problem(answer, 408, "REQUEST_TIMEOUT")
            assert answer[1]["connection"] == "close"


def test_a_body_within_the_cap_still_reaches_the_app(user_id):
    api = ApiClient(PORTS, user_id)
    draft = api.post(
        "/posts/multipost",
        json={"content": "é" * 1000, "platforms": [{"platform": "facebook"}], "draft": True},
    )
    assert draft.status_code == 201, draft.text
    assert api.get(f"/posts/{draft.json()['postId']}").json()["content"] == "é" * 1000
