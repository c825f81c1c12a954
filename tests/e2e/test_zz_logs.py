"""Logs of the whole test session (named ``zz`` so it runs last, after every other test of the
session has written to the stack's service logs): trace ids reach Cloud Logging's trace field,
and no credential appears anywhere."""

from __future__ import annotations

import json
import secrets
import time

import requests

from infra.stack import Stack
from tests.conftest import PORTS
from tests.support.api import ApiClient
from tests.support.secrets_scan import find_secrets, scan_logs

TRACE_FIELD = "logging.googleapis.com/trace"


def records(stack: Stack, service: str) -> list[dict]:
    out = []
    for line in (stack.logs / f"{service}.log").read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def wait_for_trace(stack: Stack, trace: str) -> dict:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for record in records(stack, "api"):
            if record.get(TRACE_FIELD, "").endswith(f"/traces/{trace}"):
                return record
        time.sleep(0.2)
    raise AssertionError(f"no api log record with trace {trace}")


def test_trace_ids_from_both_headers_reach_the_trace_field(stack: Stack):
    api = ApiClient(PORTS, "trace-user")
    cloud = secrets.token_hex(16)
    api.get("/posts/not-there", headers={"X-Cloud-Trace-Context": f"{cloud}/123;o=1"})
    record = wait_for_trace(stack, cloud)
    assert record[TRACE_FIELD] == f"projects/{stack.project}/traces/{cloud}"
    assert record["severity"] == "INFO"
    assert record["message"] == "request"
    assert record["route"] == "/posts/{post_id}"
    w3c = secrets.token_hex(16)
    api.get("/posts/not-there", headers={"traceparent": f"00-{w3c}-{secrets.token_hex(8)}-01"})
    wait_for_trace(stack, w3c)


def test_the_scanner_finds_planted_credentials():
    token = ApiClient(PORTS, "scan-user").token
    found = find_secrets(
        f"a {token} b Authorization: Bearer abcdefghijklmnop sandbox:acct-1:{'x' * 32} "
        "https://storage/o?X-Goog-Signature=" + "ab" * 40
    )
    assert {name for name, _ in found} == {"jwt", "bearer", "sandbox_access_token", "signed_url"}


def test_no_credential_in_any_service_log(stack: Stack):
    # Offer credentials to every logging path once more: headers, query strings, bad tokens.
    api = ApiClient(PORTS, "leak-user")
    api.get("/posts/anything")
    api.get(f"/posts/anything?auth_token={api.token}")
    api.get("/posts/anything", token=api.token[:-4] + "AAAA")
    requests.get(f"http://127.0.0.1:{PORTS.relay}/events?auth_token=bad.{api.token}", timeout=10)
    time.sleep(0.5)
    found = scan_logs(stack.logs)
    assert not found, f"credentials in logs: {found}"
