"""A larger schemathesis round against the whole local stack (not part of ``make test``).

Starts the stack on ports offset by ``SHARECAST_BENCH_PORT_OFFSET`` or 21000, sends N generated
requests (default 20000) through ``tests/support/fuzz.py`` and prints the number of cases, the
time, the rate and the statuses.

    python tests/bench/bench_fuzz.py [--cases 20000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [
    str(Path(__file__).resolve().parents[2]),
    str(Path(__file__).resolve().parents[2] / "functions"),
]

from infra.localenv import service_env  # noqa: E402
from tests.support.bench import bench_ports  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=20000)
    args = parser.parse_args()
    ports = bench_ports(21000)
    os.environ.update(service_env(ports))
    from infra.stack import Stack
    from tests.support.fuzz import fuzz

    stack = Stack(ports, workdir=Path(tempfile.mkdtemp(prefix="sharecast-fuzz-")))
    started = time.monotonic()
    stack.start()
    print(f"stack started in {time.monotonic() - started:.1f} s")
    try:
        report = fuzz(f"http://127.0.0.1:{ports.api}", cases=args.cases, users=200)
    finally:
        stack.stop()
    print(
        f"cases: {report.cases} in {report.seconds:.1f} s ({report.cases / report.seconds:.0f}/s)"
    )
    print(f"statuses: {dict(sorted(report.by_status.items()))}")
    for label, count in sorted(report.by_operation.items()):
        print(f"  {label}: {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
