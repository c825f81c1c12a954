"""``LOG_EXECUTION_ID`` (set by terraform on every function) puts each execution's id on the
function's own structured log lines.

The functions framework adds ``logging.googleapis.com/labels.execution_id`` to JSON lines written
to ``sys.stdout`` while a request runs, taking the id from the ``Function-Execution-Id`` header
that Cloud Run functions send (or making one)
(https://cloud.google.com/functions/docs/monitoring/logging#execution_id). A real
functions-framework process of ``functions/main.py`` is started as deployed, with the setting.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

from infra.localenv import DEV_INTERNAL_SECRET
from sharecast.tasks import INTERNAL_AUTH_HEADER

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_log_lines_carry_the_execution_id(tmp_path: Path):
    port = _free_port()
    log_path = tmp_path / "media_finalized.log"
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
             "--target", "media_finalized", "--host", "127.0.0.1", "--port", str(port)],
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
                assert time.monotonic() < deadline, "media_finalized did not start"
                time.sleep(0.2)
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
        deadline = time.monotonic() + 30
        lines: list[dict] = []
        while not lines:
            assert time.monotonic() < deadline, log_path.read_text()[-2000:]
            for raw in log_path.read_text().splitlines():
                try:
                    line = json.loads(raw)
                except ValueError:
                    continue
                if line.get("message") == "finalize event without bucket/name":
                    lines.append(line)
            time.sleep(0.1)
        (line,) = lines
        assert line["severity"] == "WARNING"
        assert line["logging.googleapis.com/labels"]["execution_id"] == execution
        assert line["logging.googleapis.com/labels"]["python_logger"] == "sharecast"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
