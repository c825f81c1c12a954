"""Pure logic of the local stack's tools: log rendering for ``make run``, the Storage CORS
front's header rules, the local CORS origins."""

from __future__ import annotations

import io
import json

from infra.localenv import Ports, dev_origins
from infra.logtail import LogFollower, render, visible
from infra.storagecors import _allowed_request_headers


def test_structured_lines_render_as_severity_message_and_fields():
    line = json.dumps(
        {
            "message": "relay stream ended",
            "severity": "INFO",
            "user_id": "alice",
            "logging.googleapis.com/labels": {"python_logger": "x"},
            "httpRequest": {},
        }
    )
    severity, text = render(line)
    assert severity == "INFO"
    assert text == 'INFO    relay stream ended user_id="alice"'
    assert render("plain text\n") == ("", "plain text")
    assert render("{not json") == ("", "{not json")


def test_the_sweeper_is_quiet_unless_asked_but_never_hides_errors():
    assert not visible("sweeper", "INFO", show_all=False)
    assert visible("sweeper", "INFO", show_all=True)
    assert visible("sweeper", "ERROR", show_all=False)
    assert visible("api", "INFO", show_all=False)


def test_follower_prints_new_lines_with_a_prefix_per_service(tmp_path):
    (tmp_path / "api.log").write_text("old line\n")
    out = io.StringIO()
    follower = LogFollower(tmp_path, ["api", "sweeper"], out=out)
    with (tmp_path / "api.log").open("a") as f:
        f.write('{"message": "hello", "severity": "INFO"}\npartial')
    (tmp_path / "sweeper.log").write_text('{"message": "swept", "severity": "INFO"}\n')
    follower.poll()
    assert out.getvalue() == "api     | INFO    hello\n"
    with (tmp_path / "api.log").open("a") as f:
        f.write(" line\n")
    follower.poll()
    assert out.getvalue().endswith("api     | partial line\n")


def test_storage_front_allows_the_signed_headers_only():
    assert _allowed_request_headers("content-type, x-goog-content-length-range") == [
        "content-type",
        "x-goog-content-length-range",
    ]
    assert _allowed_request_headers("") == []
    assert _allowed_request_headers("content-type, authorization") is None


def test_local_origins_cover_the_console_and_common_dev_ports(monkeypatch):
    monkeypatch.setenv("CORS_EXTRA_ORIGINS", "http://devbox:1234, ")
    origins = dev_origins(Ports())
    for origin in (
        "http://127.0.0.1:8088",
        "http://localhost:8088",
        "http://localhost:5173",
        "http://127.0.0.1:3000",
        "http://devbox:1234",
    ):
        assert origin in origins
    assert len(origins) == len(set(origins))
