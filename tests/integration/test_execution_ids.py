"""``LOG_EXECUTION_ID`` (set by terraform on every function) puts each execution's id on the
function's own structured log lines.

The functions framework adds ``logging.googleapis.com/labels.execution_id`` to JSON lines written
to ``sys.stdout`` while a request runs, taking the id from the ``Function-Execution-Id`` header
that Cloud Run functions send (or making one)
(https://cloud.google.com/functions/docs/monitoring/logging#execution_id). A real
functions-framework process of ``functions/main.py`` is started as deployed, with the setting.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import requests

from infra.localenv import DEV_INTERNAL_SECRET
from sharecast.tasks import INTERNAL_AUTH_HEADER

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serving(target: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``target`` of functions/main.py in its own functions-framework process, as deployed,
    with ``LOG_EXECUTION_ID``; yields its URL and log file."""
    port = _free_port()
    log_path = tmp_path / f"{target}.log"
    env = {
        **os.environ,
        "LOG_EXECUTION_ID": "true",
        "INTERNAL_AUTH_SECRET": DEV_INTERNAL_SECRET,
        "GOOGLE_CLOUD_PROJECT": "sharecast-local",
        "PYTHONPATH": f"{ROOT}:{ROOT / 'functions'}",
    }
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "functions_framework", "--source", "functions/main.py",
             "--target", target, "--host", "127.0.0.1", "--port", str(port)],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, log_path.read_text()
            try:
                requests.get(url, timeout=2)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, f"{target} did not start"
                time.sleep(0.2)
        yield url, log_path
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def logged(log_path: Path, wanted: Callable[[dict], bool]) -> dict:
    """The one JSON log line ``wanted`` accepts, waiting up to 30 s for it."""
    deadline = time.monotonic() + 30
    while True:
        lines = []
        for raw in log_path.read_text().splitlines():
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if isinstance(line, dict) and wanted(line):
                lines.append(line)
        if lines:
            (line,) = lines
            return line
        assert time.monotonic() < deadline, log_path.read_text()[-2000:]
        time.sleep(0.1)


def test_log_lines_carry_the_execution_id(tmp_path: Path):
    with serving("media_finalized", tmp_path) as (url, log_path):
        execution = f"exec-{uuid.uuid4().hex[:8]}"
        event = {
            "ce-id": uuid.uuid4().hex,
            "ce-specversion": "1.0",
            "ce-source": "//storage.googleapis.com/projects/_/buckets/b",
            "ce-type": "google.cloud.storage.object.v1.finalized",
            "Function-Execution-Id": execution,
            INTERNAL_AUTH_HEADER: DEV_INTERNAL_SECRET,
        }
        response = requests.post(url, json={}, headers=event, timeout=30)
        assert response.status_code == 200, response.text
        # The handler logs "finalize event without bucket/name" (a warning) for this event.
        line = logged(log_path, lambda x: x.get("message") == "finalize event without bucket/name")
        assert line["severity"] == "WARNING"
        assert line["logging.googleapis.com/labels"]["execution_id"] == execution
        assert line["logging.googleapis.com/labels"]["python_logger"] == "sharecast"


def test_the_api_an_asgi_function_logs_the_execution_id_from_its_threads(tmp_path: Path):
    """The api runs its routes in the front's thread pool (sharecast.api.front): the
    execution id still reaches their log lines."""
    with serving("api", tmp_path) as (url, log_path):
        execution = f"exec-{uuid.uuid4().hex[:8]}"
        response = requests.get(
            url + "healthz", headers={"Function-Execution-Id": execution}, timeout=30
        )
        assert response.status_code == 200, response.text
        line = logged(
            log_path,
            lambda x: (
                x.get("message") == "request"
                and x.get("logging.googleapis.com/labels", {}).get("execution_id") == execution
            ),
        )
        assert line["route"] == "/healthz"
