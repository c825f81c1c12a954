"""Plays recorded HTTP exchanges back over real HTTP, for the conformance suite.

A fixture file (``fixtures/<network>/<case>.json``) holds what a real platform answered, copied
from someone else's recording (an SDK cassette, a body quoted in a bug report, a documented
example), and where it came from::

    {
      "source": {"kind": "cassette" | "bug-report" | "documentation" | "library-fixture",
                 "repository": "owner/name", "path": "...", "commit": "...", "url": "..."},
      "filled_in": "what was added or changed, or 'nothing'",
      "exchanges": [
        {"request": {"method": "POST", "path": "/2/tweets"},
         "response": {"status": 201, "headers": {...},
                      "body_json": {...} | "body_text": "..." | "body_gzip_base64": "..."}}
      ]
    }

:class:`PlaybackServer` serves the exchanges of one fixture in order on ``127.0.0.1``: each
request must name the next exchange's method and path (``*`` matches one path segment),
otherwise it answers 599 and the test fails on the mismatch. Bodies go out as recorded:
``body_gzip_base64`` is sent as the recorded gzip bytes with its ``content-encoding``, the
others as UTF-8 (gzipped when the recorded headers say ``content-encoding: gzip``). Every
request received is kept in :attr:`PlaybackServer.received` (method, path, query, headers,
body) for the tests to inspect. A recorded header value may name the server itself as
``{base_url}`` (e.g. YouTube's session URI in ``Location``), replaced when served.
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).parent / "fixtures"
SOURCE_KINDS = frozenset({"cassette", "bug-report", "documentation", "library-fixture"})
#: Hop-by-hop and length headers: the server computes its own.
_SKIPPED_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "set-cookie"})


@dataclass
class Received:
    """One request as the playback server saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Fixture:
    """A loaded fixture file."""

    name: str
    source: dict[str, Any]
    filled_in: str
    exchanges: list[dict[str, Any]]

    @property
    def network(self) -> str:
        """The fixture's folder: ``x``, ``facebook``, ``instagram``..."""
        return self.name.split("/", 1)[0]

    def response(self, index: int = 0) -> dict[str, Any]:
        """The recorded response of exchange ``index``."""
        response: dict[str, Any] = self.exchanges[index]["response"]
        return response

    def body(self, index: int = 0) -> Any:
        """The decoded body of exchange ``index`` (JSON when it parses, else text)."""
        raw = response_bytes(self.response(index), compress=False)
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", errors="replace")


def load(name: str) -> Fixture:
    """Load ``fixtures/<name>.json`` (``name`` like ``x/create_tweet``)."""
    data = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return Fixture(name, data["source"], data["filled_in"], data["exchanges"])


def all_fixtures() -> list[str]:
    """Every fixture name, sorted."""
    return sorted(str(p.relative_to(FIXTURES).with_suffix("")) for p in FIXTURES.glob("*/*.json"))


def response_bytes(response: dict[str, Any], *, compress: bool = True) -> bytes:
    """The body bytes of a recorded response, gzipped if the recording was (``compress``)."""
    if "body_gzip_base64" in response:
        raw = base64.b64decode(response["body_gzip_base64"])
        return raw if compress else gzip.decompress(raw)
    if "body_json" in response:
        text = json.dumps(response["body_json"], ensure_ascii=False, separators=(",", ":"))
    else:
        text = response.get("body_text", "")
    data = text.encode("utf-8")
    gzipped = _header(response.get("headers", {}), "content-encoding") == "gzip"
    return gzip.compress(data) if compress and gzipped else data


def _header(headers: dict[str, Any], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return str(value)
    return None


def _matches(pattern: str, path: str) -> bool:
    want, got = pattern.strip("/").split("/"), path.strip("/").split("/")
    return len(want) == len(got) and all(w in ("*", g) for w, g in zip(want, got, strict=True))


@dataclass
class _Script:
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    position: int = 0
    received: list[Received] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests report mismatches themselves."""

    def _serve(self) -> None:
        script = self.server.script
        split = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        seen = Received(
            self.command, split.path, parse_qs(split.query), dict(self.headers.items()), body
        )
        with script.lock:
            script.received.append(seen)
            index = script.position
            exchange = script.exchanges[index] if index < len(script.exchanges) else None
            expected = exchange["request"] if exchange else None
            if (
                expected is None
                or expected["method"] != self.command
                or not _matches(expected["path"], split.path)
            ):
                problem = f"unexpected {self.command} {split.path} (next recorded: {expected})"
                script.mismatches.append(problem)
                self._send(599, {"content-type": "text/plain"}, problem.encode())
                return
            script.position += 1
        assert exchange is not None
        response = exchange["response"]
        base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        headers = {
            k: str(v).replace("{base_url}", base_url)
            for k, v in response.get("headers", {}).items()
            if k.lower() not in _SKIPPED_HEADERS
        }
        self._send(int(response["status"]), headers, response_bytes(response))

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.log_request(status)
        self.send_response_only(status)
        if not any(k.lower() == "date" for k in headers):  # a recorded Date is the server's clock
            self.send_header("date", self.date_time_string())
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    script: _Script


class PlaybackServer:
    """Serves one fixture's exchanges at :attr:`base_url` (a free port on 127.0.0.1)."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.script = _Script()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def play(self, *exchanges: dict[str, Any]) -> None:
        """Serve ``exchanges`` next, in order (replacing anything not yet served)."""
        script = self._server.script
        with script.lock:
            script.exchanges = list(exchanges)
            script.position = 0
            script.received = []
            script.mismatches = []

    @property
    def received(self) -> list[Received]:
        """The requests received since the last :meth:`play`."""
        return list(self._server.script.received)

    def assert_done(self) -> None:
        """Fail unless every exchange was asked for, in order, and nothing else."""
        script = self._server.script
        assert not script.mismatches, script.mismatches
        assert script.position == len(script.exchanges), (
            f"{len(script.exchanges) - script.position} recorded exchange(s) never requested"
        )

    def close(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()
