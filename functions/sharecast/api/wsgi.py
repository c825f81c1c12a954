"""Running the Flask app on a request the front has already read: the WSGI environ of an ASGI
request whose body is in memory, and the app's answer collected as bytes.

The environ follows the ASGI specification's WSGI compatibility rules
(https://asgi.readthedocs.io/en/latest/specs/www.html#wsgi-compatibility) and PEP 3333
(https://peps.python.org/pep-3333/#environ-variables): paths and header values are byte
strings decoded as latin-1, repeated headers are joined with commas, ``wsgi.input`` holds the
whole body and ``CONTENT_LENGTH`` its real length (a ``Transfer-Encoding`` is dropped: the body
is no longer chunked).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Response

#: Request headers that describe the framing of the body the front has already read.
FRAMING = frozenset({"content-length", "transfer-encoding"})


@dataclass(frozen=True)
class Answer:
    """A complete HTTP answer: ``status``, ``headers`` (name, value; without
    ``Content-Length``, which follows ``body``) and ``body``."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def wsgi_environ(scope: dict[str, Any], body: bytes) -> dict[str, Any]:
    """The WSGI environ of the ASGI HTTP ``scope`` with ``body`` already read."""
    server = scope.get("server") or ("localhost", 80)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode("utf-8").decode("latin-1"),
        "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    client = scope.get("client")
    if client:
        environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = str(client[0]), str(client[1])
    for raw_name, raw_value in scope.get("headers", []):
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name in FRAMING:
            continue
        key = "CONTENT_TYPE" if name == "content-type" else "HTTP_" + name.upper().replace("-", "_")
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def call_wsgi(app: Callable[..., Any], environ: dict[str, Any]) -> Answer:
    """Run the WSGI ``app`` on ``environ`` to completion (blocking: call it in a thread)."""
    response = Response.from_app(app, environ, buffered=True)
    headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
    return Answer(status=response.status_code, headers=headers, body=response.get_data())
