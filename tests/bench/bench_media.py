"""AppContext memory while publishing a 20 MiB and a 200 MiB video to X (media upload v2) through
the sandbox, reading the object from the Storage emulator in chunks (docs/api.md#media).

Each video is published by a fresh Python process running the publisher's own code path
(GcsMediaSource → XConnector: initialize, chunked append, finalize, status polls, create), so
its peak RSS (``VmHWM``) and Python's peak allocation (tracemalloc) belong to that upload
alone. Streaming means both must stay flat as the file grows ~10x. Prints numbers; asserts
nothing. Runs on ports offset by ``SHARECAST_BENCH_PORT_OFFSET`` (default 20000).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]

from infra.localenv import MEDIA_BUCKET, service_env  # noqa: E402
from infra.stack import Stack  # noqa: E402
from tests.support.bench import bench_ports  # noqa: E402

MIB = 1024 * 1024

PUBLISH = r"""
import json, resource, sys, time, tracemalloc
from sharecast.app import AppContext
from sharecast.config import Settings
from sharecast.bucket.source import GcsMediaSource
from sharecast.platforms.base import MediaItem, MemoryStepLog, Pending, PublishRequest
from sharecast.platforms.x import XConnector

def vm(name):
    for line in open("/proc/self/status"):
        if line.startswith(name):
            return int(line.split()[1]) * 1024
    return 0

path, size = sys.argv[1], int(sys.argv[2])
settings = Settings()
ctx = AppContext.build(settings)
source = GcsMediaSource(bucket=ctx.media_bucket, signer=ctx.signer)
connector = XConnector(base_url=settings.x_api_base_url, timeout_s=60, media=source,
                       media_chunk_bytes=settings.x_media_chunk_bytes)
item = MediaItem("bench", "VIDEO", "video/mp4", size, path)
request = PublishRequest(account_id="sandbox:bench", text=f"bench {size}", target_key="bench/x",
                         media=(item,))
_ = ctx.media_bucket.get_blob(path)  # warm the client before measuring
baseline = vm("VmRSS:")
tracemalloc.start()
steps = MemoryStepLog()
started = time.monotonic()
while True:
    outcome = connector.publish(request, access_token="sandbox:bench", steps=steps)
    if not isinstance(outcome, Pending):
        break
    time.sleep(outcome.wait_s)  # the real publisher schedules a continuation task instead
elapsed = time.monotonic() - started
_, traced_peak = tracemalloc.get_traced_memory()
print(json.dumps({"baseline_rss": baseline, "peak_rss": vm("VmHWM:"),
                  "traced_peak": traced_peak, "seconds": elapsed,
                  "segments": steps.state["x_media"][0]["segment"], "id": outcome.external_id}))
"""


def upload_video(size: int) -> str:
    """Write ``size`` bytes to the emulator (streamed from a temporary file)."""
    from google.cloud import storage

    path = f"media/videos/bench/{uuid.uuid4().hex}.mp4"
    with tempfile.TemporaryFile() as handle:
        block = os.urandom(MIB)
        for _ in range(size // MIB):
            handle.write(block)
        handle.seek(0)
        blob = storage.Client().bucket(MEDIA_BUCKET).blob(path, chunk_size=8 * MIB)
        blob.upload_from_file(handle, content_type="video/mp4", size=size)
    return path


def main() -> None:
    ports = bench_ports(20000)
    env = service_env(ports)
    os.environ.update(env)
    with tempfile.TemporaryDirectory() as workdir:
        stack = Stack(ports, workdir=Path(workdir), only=("storage", "sandbox"))
        stack.start()
        try:
            print("X video upload through the sandbox, one fresh publisher process per video")
            print(
                f"{'video':>9} {'segments':>8} {'peak RSS':>10} {'RSS growth':>11} "
                f"{'py peak':>9} {'seconds':>8}"
            )
            for size in (20 * MIB, 200 * MIB):
                path = upload_video(size)
                result = subprocess.run(
                    [sys.executable, "-c", PUBLISH, path, str(size)],
                    env={**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'functions'}"},
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=1800,
                )
                numbers = json.loads(result.stdout.strip().splitlines()[-1])
                print(
                    f"{size // MIB:>5} MiB {numbers['segments']:>8} "
                    f"{numbers['peak_rss'] / MIB:>7.1f} MiB "
                    f"{(numbers['peak_rss'] - numbers['baseline_rss']) / MIB:>8.1f} MiB "
                    f"{numbers['traced_peak'] / MIB:>6.1f} MiB {numbers['seconds']:>8.1f}"
                )
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
